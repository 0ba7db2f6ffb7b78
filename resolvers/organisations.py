"""Resolvers for organisations, partnership links and users: input -> service -> result."""

import strawberry

from domain import organisations as d
from domain.organisations import Address, Branch, CustomerOnboarding, OnboardingChanges
from domain.policy import can_view_organisation, can_view_partner_link
from domain.services import organisations as service
from resolvers.context import Info
from resolvers.errors import payload_errors, to_errors
from schema import organisations as t
from schema.pagination import Connection

# --- input mapping -----------------------------------------------------------------------


def address_of(a: t.AddressInput, field: str = "address") -> Address:
    return Address.create(a.street, a.postal_code, a.city, a.country, field_prefix=field)


def branch_of(b: t.BranchInput, field: str) -> Branch:
    return Branch.create(
        b.name, address_of(b.address, f"{field}.address"), receives_goods=b.receives_goods,
        receives_services=b.receives_services, field_prefix=field, key=b.key,
    )


def onboarding_changes_of(o: t.CustomerOnboardingInput) -> OnboardingChanges:
    """Every field the input sets; one left out (null) is left as it is."""
    return OnboardingChanges(
        branches=None if o.branches is None else tuple(branch_of(b, f"onboarding.branches[{i}]") for i, b in enumerate(o.branches)),
        branch_billing=o.branch_billing,
        service_report_email=o.service_report_email,
        notify_on_new_ticket=None if o.notify_on_new_ticket is None else tuple(o.notify_on_new_ticket),
        notify_on_ticket_status_change=None if o.notify_on_ticket_status_change is None else tuple(o.notify_on_ticket_status_change),
        initial_inventory_wanted=o.initial_inventory_wanted,
        existing_documentation=o.existing_documentation,
        datev_consultant_number=o.datev_consultant_number,
    )


def onboarding_of(o: t.CustomerOnboardingInput | None) -> CustomerOnboarding | None:
    """A new customer's onboarding data: what the input leaves out takes the defaults."""
    if o is None:
        return None
    return CustomerOnboarding().with_changes(onboarding_changes_of(o))


# --- shared lookups ----------------------------------------------------------------------


async def visible_organisation(info: Info, organisation_id: str, kind: d.OrganisationKind | None = None):
    organisation = await info.context.loaders.organisation_by_id.load(organisation_id)
    if organisation is None or not can_view_organisation(info.context.principal, organisation):
        return None
    if kind is not None and organisation.kind is not kind:
        return None
    return t.organisation_of(organisation)


def visible_partner_links(info: Info, customer: d.Organisation) -> list[t.PartnerLink]:
    principal = info.context.principal
    return [
        t.PartnerLink.of(customer.id, link)
        for link in customer.partner_links
        if principal is not None and can_view_partner_link(principal, customer, link)
    ]


# --- queries -----------------------------------------------------------------------------


async def me(info: Info) -> t.Viewer:
    ctx = info.context
    user = await ctx.loaders.user_by_id.load(ctx.principal.user_id)
    organisation = await ctx.loaders.organisation_by_id.load(ctx.principal.organisation_id)
    return t.Viewer(user=t.User.of(user), organisation=t.organisation_of(organisation))


async def customer(info: Info, id: strawberry.ID) -> t.Customer | None:
    return await visible_organisation(info, id, d.OrganisationKind.CUSTOMER)


async def partner(info: Info, id: strawberry.ID) -> t.Partner | None:
    return await visible_organisation(info, id, d.OrganisationKind.PARTNER)


async def customers(info: Info, first: int | None = 20, after: str | None = None) -> Connection[t.Customer]:
    ctx = info.context
    page = await ctx.run(service.list_customers, ctx.uow(), ctx.principal, first=first, after=after)
    ctx.loaders.prime_organisations(page.items)
    if ctx.principal.is_partner:  # its own customer list, in id order: their subscriptions are one Query
        ctx.loaders.note_customer_page(ctx.principal.organisation_id, [o.id for o in page.items])
    return Connection.of(page, t.organisation_of)


async def partners(info: Info, first: int | None = 20, after: str | None = None) -> Connection[t.Partner]:
    ctx = info.context
    page = await ctx.run(service.list_partners, ctx.uow(), ctx.principal, first=first, after=after)
    ctx.loaders.prime_organisations(page.items)
    return Connection.of(page, t.organisation_of)


async def users(info: Info, organisation_id: strawberry.ID, first: int | None = 20, after: str | None = None) -> Connection[t.User]:
    ctx = info.context
    page = await ctx.run(service.list_users, ctx.uow(), ctx.principal, organisation_id, first=first, after=after)
    return Connection.of(page, t.User.of)


# --- mutations ---------------------------------------------------------------------------


@payload_errors(t.PartnerPayload)
async def partner_create(info: Info, input: t.PartnerCreateInput, idempotency_key: str | None = None) -> t.PartnerPayload:
    ctx = info.context
    command = service.NewPartner(input.name, address_of(input.address), input.billing_email, input.vat_id)
    created = await ctx.run(service.create_partner, ctx.uow(), ctx.principal, command, now=ctx.now, idempotency_key=idempotency_key)
    return t.PartnerPayload(partner=t.organisation_of(created))


@payload_errors(t.CustomerPayload)
async def customer_create(info: Info, input: t.CustomerCreateInput, idempotency_key: str | None = None) -> t.CustomerPayload:
    ctx = info.context
    command = service.NewCustomer(
        name=input.name,
        address=address_of(input.address),
        billing_email=input.billing_email,
        vat_id=input.vat_id,
        onboarding=onboarding_of(input.onboarding) or CustomerOnboarding(),
        partner_id=input.partner_id,
        billing_mode=input.billing_mode,
        access_level=input.access_level,
    )
    created = await ctx.run(service.create_customer, ctx.uow(), ctx.principal, command, now=ctx.now, idempotency_key=idempotency_key)
    return t.CustomerPayload(customer=t.organisation_of(created))


@payload_errors(t.CustomerPayload)
async def customer_update(info: Info, id: strawberry.ID, input: t.CustomerUpdateInput) -> t.CustomerPayload:
    ctx = info.context
    changes = service.CustomerChanges(
        name=input.name,
        address=address_of(input.address) if input.address else None,
        billing_email=input.billing_email,
        vat_id=input.vat_id,
        onboarding=onboarding_changes_of(input.onboarding) if input.onboarding is not None else None,
    )
    updated = await ctx.run(service.update_customer, ctx.uow(), ctx.principal, id, changes, now=ctx.now)
    return t.CustomerPayload(customer=t.organisation_of(updated))


@payload_errors(t.CustomerPayload)
async def customer_sepa_mandate_set(info: Info, input: t.CustomerSepaMandateSetInput) -> t.CustomerPayload:
    ctx = info.context
    details = service.MandateDetails(
        reference=input.reference, iban=input.iban, account_holder=input.account_holder, signed_on=input.signed_on, bic=input.bic
    )
    updated = await ctx.run(service.set_sepa_mandate, ctx.uow(), ctx.principal, input.customer_id, details, now=ctx.now)
    return t.CustomerPayload(customer=t.organisation_of(updated))


@payload_errors(t.CustomerPayload)
async def customer_sepa_mandate_revoke(info: Info, customer_id: strawberry.ID) -> t.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(service.revoke_sepa_mandate, ctx.uow(), ctx.principal, customer_id)
    return t.CustomerPayload(customer=t.organisation_of(updated))


@payload_errors(t.CustomerPayload)
async def partnership_create(info: Info, input: t.PartnershipCreateInput) -> t.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(
        service.link_partner, ctx.uow(), ctx.principal, partner_id=input.partner_id, customer_id=input.customer_id,
        access_level=input.access_level, billing_mode=input.billing_mode, now=ctx.now,
    )
    return t.CustomerPayload(customer=t.organisation_of(updated))


@payload_errors(t.CustomerPayload)
async def partnership_access_level_set(info: Info, input: t.PartnershipAccessLevelSetInput) -> t.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(
        service.set_access_level, ctx.uow(), ctx.principal, partner_id=input.partner_id,
        customer_id=input.customer_id, access_level=input.access_level,
    )
    return t.CustomerPayload(customer=t.organisation_of(updated))


@payload_errors(t.BillingModeSwitchPayload)
async def customer_billing_mode_switch(info: Info, input: t.BillingModeSwitchInput) -> t.BillingModeSwitchPayload:
    ctx = info.context
    updated, notified = await ctx.run(
        service.switch_billing_mode, ctx.uow(), ctx.services.mailer, ctx.principal, customer_id=input.customer_id,
        partner_id=input.partner_id, billing_mode=input.billing_mode, now=ctx.now,
    )
    return t.BillingModeSwitchPayload(customer=t.organisation_of(updated), partner_notified=notified)


@payload_errors(t.BillingModeSwitchPayload)
async def customer_billing_mode_notice_resend(info: Info, input: t.BillingModeNoticeResendInput) -> t.BillingModeSwitchPayload:
    ctx = info.context
    try:
        customer = await ctx.run(
            service.resend_billing_mode_notice, ctx.uow(), ctx.services.mailer, ctx.principal, customer_id=input.customer_id,
            partner_id=input.partner_id,
        )
    except d.PartnerNoticeNotDelivered as refused:  # still marked partnerNoticeFailed: the payload shows it
        return t.BillingModeSwitchPayload(customer=t.organisation_of(refused.customer), partner_notified=False, errors=to_errors(refused))
    return t.BillingModeSwitchPayload(customer=t.organisation_of(customer), partner_notified=True)


@payload_errors(t.PartnerPayload)
async def partner_microsoft_ids_set(info: Info, input: t.PartnerMicrosoftIdsSetInput) -> t.PartnerPayload:
    ctx = info.context
    updated = await ctx.run(
        service.set_microsoft_ids, ctx.uow(), ctx.principal, partner_id=input.partner_id,
        microsoft_partner_network_id=input.microsoft_partner_network_id, microsoft_id=input.microsoft_id,
    )
    return t.PartnerPayload(partner=t.organisation_of(updated))


@payload_errors(t.UserPayload)
async def user_create(info: Info, input: t.UserCreateInput, idempotency_key: str | None = None) -> t.UserPayload:
    ctx = info.context
    command = service.NewUser(
        organisation_id=input.organisation_id,
        email=input.email,
        name=input.name,
        role=input.role,
        permissions=frozenset(input.permissions),
        permission_level=input.permission_level,
    )
    created = await ctx.run(service.create_user, ctx.uow(), ctx.principal, command, now=ctx.now, idempotency_key=idempotency_key)
    return t.UserPayload(user=t.User.of(created))


@payload_errors(t.UserPayload)
async def user_permission_level_set(info: Info, input: t.UserPermissionLevelSetInput) -> t.UserPayload:
    ctx = info.context
    updated = await ctx.run(service.set_permission_level, ctx.uow(), ctx.principal, input.user_id, input.permission_level,
                            now=ctx.now)
    return t.UserPayload(user=t.User.of(updated))


@payload_errors(t.UserPayload)
async def user_deactivate(info: Info, input: t.UserDeactivateInput) -> t.UserPayload:
    ctx = info.context
    updated = await ctx.run(service.deactivate_user, ctx.uow(), ctx.principal, input.user_id, now=ctx.now)
    return t.UserPayload(user=t.User.of(updated))


@payload_errors(t.UserPayload)
async def user_reactivate(info: Info, input: t.UserReactivateInput) -> t.UserPayload:
    ctx = info.context
    updated = await ctx.run(service.reactivate_user, ctx.uow(), ctx.principal, input.user_id, now=ctx.now)
    return t.UserPayload(user=t.User.of(updated))
