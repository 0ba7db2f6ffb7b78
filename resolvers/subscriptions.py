"""Resolvers for the catalogue, CSP subscriptions, tenants and reseller SaaS subscriptions."""

import strawberry

from domain.calendar import berlin_date
from domain.errors import DomainError, ValidationFailed
from domain.policy import can_view_subscription
from domain.ports import Page, SubscriptionFilter
from domain.services.organisations import page_size
from domain.services import subscriptions as service
from domain.services.retry import retry_on_concurrent_update
from domain.subscriptions import (
    CancelSubscription,
    CancellationWindowClosed,
    IncreaseSeats,
    InvitationNotDelivered,
    ReduceSeats,
    RemoveScheduledChange,
    ScheduleChange,
    ScheduledChange,
    SetAutoRenew,
    SetQuantity,
    renewal_due,
)
from resolvers.context import Info
from resolvers.errors import payload_errors, to_errors
from schema import organisations as org_types
from schema import subscriptions as t
from schema.common import Money
from schema.pagination import Connection

# --- mapping -----------------------------------------------------------------------------


def _scheduled(quantity, term, billing, product_id) -> ScheduledChange:
    return ScheduledChange(quantity=quantity, term=term, billing=billing, product_id=str(product_id) if product_id else None)


async def change_of(info: Info, subscription_id: str, change: t.SubscriptionChangeInput) -> service.ChangeRequest:
    """The change as named in the input: products by id only, resolved by the service against the subscription as it
    is after a renewal that is due (which may switch its product)."""
    kind = t.SubscriptionChangeKind
    if change.kind in (kind.INCREASE_SEATS, kind.REDUCE_SEATS) and change.seats is None:
        raise ValidationFailed("Name the number of seats.", field="change.seats")
    if change.kind is kind.INCREASE_SEATS:
        return IncreaseSeats(change.seats)
    if change.kind is kind.REDUCE_SEATS:
        return ReduceSeats(change.seats)
    if change.kind is kind.SET_QUANTITY:
        if change.quantity is None:
            raise ValidationFailed("Name the quantity.", field="change.quantity")
        return SetQuantity(change.quantity)
    if change.kind is kind.CANCEL:
        return CancelSubscription()
    if change.kind is kind.SET_AUTO_RENEW:
        if change.auto_renew is None:
            raise ValidationFailed("Say whether auto-renew is on.", field="change.autoRenew")
        return SetAutoRenew(change.auto_renew)
    if change.kind is kind.REMOVE_SCHEDULED_CHANGE:
        return RemoveScheduledChange()
    if change.kind is kind.SCHEDULE_FOR_RENEWAL:
        return ScheduleChange(_scheduled(change.quantity, change.term, change.billing, change.product_id))
    if change.kind is kind.SET_HOSTED_DESKTOP:
        if change.hosted_desktop is None:
            raise ValidationFailed("Say whether the licences run on a hosted desktop.", field="change.hostedDesktop")
        return service.HostedDesktopRequest(change.hosted_desktop)
    if change.product_id is None:
        raise ValidationFailed("Name the product to upgrade to.", field="change.productId")
    return service.UpgradeRequest(str(change.product_id), change.seats)


# The domain names the fields of its own operations (``reduce_seats(quantity …)``, ``upgrade(target_product …)``,
# ``ScheduledChange.quantity``); each mutation reports them under the names of its input.
SEATS_REDUCE_FIELDS = {"quantity": "seats"}
UPGRADE_FIELDS = {"targetProductId": "toProductId", "productId": "toProductId"}
SCHEDULE_FIELDS = {
    "scheduledChange.quantity": "quantity", "scheduledChange.term": "term", "scheduledChange.billing": "billing",
    "scheduledChange.productId": "productId", "scheduledChange": None, "autoRenew": "subscriptionId",
}
AUTO_RENEW_FIELDS = {"autoRenew": "enabled"}
HOSTED_DESKTOP_FIELDS = {"productId": "hostedDesktop", "scheduledChange.productId": "hostedDesktop"}


def preview_fields(kind: t.SubscriptionChangeKind) -> dict[str, str | None]:
    """``subscriptionPreview`` reports them under the names of its ``change`` input."""
    k = t.SubscriptionChangeKind
    by_kind = {
        k.INCREASE_SEATS: {"seats": "change.seats"},
        k.REDUCE_SEATS: {"seats": "change.seats", "quantity": "change.seats"},
        k.SET_QUANTITY: {"seats": "change.quantity", "quantity": "change.quantity"},
        k.SET_AUTO_RENEW: {"autoRenew": "change.autoRenew"},
        k.SCHEDULE_FOR_RENEWAL: {domain: name and (name if name == "subscriptionId" else f"change.{name}") for domain, name in SCHEDULE_FIELDS.items()},
        k.UPGRADE: {"seats": "change.seats", "targetProductId": "change.productId", "productId": "change.productId"},
        k.SET_HOSTED_DESKTOP: {domain: "change.hostedDesktop" for domain in HOSTED_DESKTOP_FIELDS},
    }
    return by_kind.get(kind, {})


def window_of(error: DomainError) -> t.CancellationWindow | None:
    if not isinstance(error, CancellationWindowClosed):
        return None
    return t.CancellationWindow(
        next_window_opens_at=error.next_window_opens_at, reducible_seats_now=error.reducible_seats_now, alternatives=list(error.alternatives),
    )


async def _change(
    info: Info, subscription_id: str, change: service.ChangeRequest, idempotency_key: str | None = None,
    fields: dict[str, str | None] | None = None,
) -> t.SubscriptionChangePayload:
    ctx = info.context

    def change_once() -> service.ChangeResult:
        return service.change_subscription(ctx.uow(), ctx.principal, subscription_id, change, now=ctx.now, idempotency_key=idempotency_key)

    try:
        # Concurrent changes of one subscription (seat increases from two browsers) both succeed, one after the other.
        result = await ctx.run(retry_on_concurrent_update, change_once)
    except DomainError as error:
        return t.SubscriptionChangePayload(errors=to_errors(error, fields), window=window_of(error))
    outcome = result.outcome
    charges = [*(result.renewal.charges if result.renewal else ()), *outcome.cycle_charges, *outcome.charges]
    return t.SubscriptionChangePayload(
        subscription=t.Subscription.of(result.subscription, ctx.now),
        new_subscription=t.Subscription.of(outcome.new_subscription, ctx.now) if outcome.new_subscription else None,
        charges=[t.Charge.of(c) for c in charges],
        scheduled_change_deleted=outcome.scheduled_change_deleted,
        deleted_scheduled_change=t.scheduled_change_of(outcome.deleted_scheduled_change),
    )


# --- queries -----------------------------------------------------------------------------


async def full_history(info: Info, subscription) -> list:
    """``Subscription.history``: the events kept on the subscription, after those moved to its history pages (read
    only for a subscription that has some, batched: a list reads the pages of all its subscriptions at once)."""
    if not subscription.history_pages:
        return subscription.history
    moved = await info.context.loaders.history_pages.load((subscription.id, subscription.history_pages))
    return [*moved, *subscription.history]


async def _as_of_now(info: Info, page: Page) -> Page:
    """The page's subscriptions as the renewal job would leave them now (and a change now would find them): a renewal
    due but not yet processed by the job is applied to copies by the job's own function (product, windows, term end,
    price of the new term; a scheduled switch the customer may no longer have dropped). The catalogue is read only
    when one is due (and then shared with the fields that need it anyway)."""
    ctx = info.context
    if not any(renewal_due(subscription, ctx.now) for subscription in page.items):
        return page
    catalogue = await ctx.loaders.catalogue()
    return Page(await ctx.run(service.subscriptions_as_of, ctx.uow(), page.items, catalogue, now=ctx.now), page.next_cursor)



async def products(info: Info, category: t.ProductCategory | None = None) -> list[t.Product]:
    catalogue = await info.context.loaders.catalogue()
    return [
        t.Product.of(p, catalogue)
        for p in sorted(catalogue.products.values(), key=lambda p: p.name)
        if category is None or p.category is category
    ]


async def subscription(info: Info, id: strawberry.ID) -> t.Subscription | None:
    ctx = info.context
    found = await ctx.loaders.subscription_by_id.load(str(id))  # started while signing in (resolvers/sign_in.py)
    visible = service.visible_subscription(ctx.principal, found)
    if visible is None:
        return None
    return t.Subscription.of((await _as_of_now(info, Page([visible], None))).items[0], ctx.now)


async def subscriptions(
    info: Info, customer_id: strawberry.ID | None = None, partner_id: strawberry.ID | None = None,
    filter: t.SubscriptionFilterInput | None = None, first: int | None = 20, after: str | None = None,
) -> Connection[t.Subscription]:
    ctx = info.context
    f = filter or t.SubscriptionFilterInput()
    flt = SubscriptionFilter(status=f.status, product_id=f.product_id, renewal_from=f.renewal_from, renewal_to=f.renewal_to)
    page = await ctx.run(
        service.list_subscriptions, ctx.uow(), ctx.principal, flt, customer_id=customer_id, partner_id=partner_id, first=first, after=after,
    )
    return Connection.of(await _as_of_now(info, page), lambda sub: t.Subscription.of(sub, ctx.now))


async def customer_subscriptions(info: Info, customer_id: str, *, first: int | None, after: str | None) -> Connection[t.Subscription]:
    """``Customer.subscriptions``: a page cut and filtered by the policy before anything is read (batched per page)."""
    ctx = info.context
    principal = ctx.principal
    limit = page_size(first)
    if principal.is_distributor or principal.is_customer:
        seller = None  # all of them, if the principal may see the customer's contracts at all
        allowed = can_view_subscription(principal, customer_id=customer_id, partner_id="")
    else:  # a partner sees what it sells
        seller = principal.organisation_id
        allowed = can_view_subscription(principal, customer_id=customer_id, partner_id=seller)
    if not allowed:
        return Connection.of(Page([], None), lambda sub: t.Subscription.of(sub, ctx.now))
    subscriptions, more = await ctx.loaders.subscription_pages.load((customer_id, seller, after, limit))
    page = await _as_of_now(info, Page(subscriptions, subscriptions[-1].id if more and subscriptions else None))
    return Connection.of(page, lambda sub: t.Subscription.of(sub, ctx.now))


async def renewal_planner(
    info: Info, days: int = 30, partner_id: strawberry.ID | None = None, first: int | None = 50, after: str | None = None,
) -> Connection[t.Subscription]:
    ctx = info.context
    page = await ctx.run(service.renewal_planner, ctx.uow(), ctx.principal, days=days, now=ctx.now, partner_id=partner_id, first=first, after=after)
    return Connection.of(await _as_of_now(info, page), lambda sub: t.Subscription.of(sub, ctx.now))


async def subscription_preview(info: Info, subscription_id: strawberry.ID, change: t.SubscriptionChangeInput) -> t.SubscriptionPreview:
    ctx = info.context
    domain_change = await change_of(info, subscription_id, change)
    result = await ctx.run(service.preview, ctx.uow(), ctx.principal, subscription_id, domain_change, now=ctx.now)
    return t.SubscriptionPreview(
        allowed=result.allowed,
        errors=to_errors(result.refusal, preview_fields(change.kind)) if result.refusal else [],
        amount=Money.of(result.amount) if result.amount else None,
        charges=[t.Charge.of(c) for c in result.charges],
        cancellation_window_deadlines=list(result.cancellation_window_deadlines),
        next_window_opens_at=result.next_window_opens_at,
        scheduled_change_would_be_deleted=result.scheduled_change_would_be_deleted,
        price_after_next_renewal=Money.of(result.price_after_next_renewal) if result.price_after_next_renewal else None,
        next_renewal_at=result.next_renewal_at,
        quantity_after=result.quantity_after,
    )


async def saas_subscriptions(info: Info, first: int | None = 20, after: str | None = None) -> Connection[t.SaasSubscription]:
    ctx = info.context
    page = await ctx.run(service.list_saas_subscriptions, ctx.uow(), ctx.principal, first=first, after=after)
    today = berlin_date(ctx.now)
    return Connection.of(page, lambda sub: t.SaasSubscription.of(sub, today))


# --- mutations ---------------------------------------------------------------------------


@payload_errors(t.SubscriptionPayload)
async def subscription_order(info: Info, input: t.SubscriptionOrderInput, idempotency_key: str | None = None) -> t.SubscriptionPayload:
    ctx = info.context
    order = service.SubscriptionOrder(
        customer_id=input.customer_id, product_id=input.product_id, term=input.term, billing=input.billing,
        quantity=input.quantity, auto_renew=input.auto_renew, partner_id=input.partner_id, hosted_desktop=input.hosted_desktop,
    )
    outcome = await ctx.run(service.order_subscription, ctx.uow(), ctx.principal, order, now=ctx.now, idempotency_key=idempotency_key)
    return t.SubscriptionPayload(
        subscription=t.Subscription.of(outcome.new_subscription, ctx.now), charges=[t.Charge.of(c) for c in outcome.charges]
    )


@payload_errors(t.SubscriptionPayload)
async def legacy_subscription_import(
    info: Info, input: t.LegacySubscriptionImportInput, idempotency_key: str | None = None,
) -> t.SubscriptionPayload:
    ctx = info.context
    command = service.LegacySubscriptionImport(
        customer_id=str(input.customer_id), partner_id=str(input.partner_id), product_id=str(input.product_id), term=input.term,
        billing=input.billing, quantity=input.quantity, started_at=input.started_at, renews_on=input.renews_on,
        charged_through=input.charged_through, previous_subscription_id=input.previous_subscription_id, auto_renew=input.auto_renew,
    )
    outcome = await ctx.run(service.import_legacy_subscription, ctx.uow(), ctx.principal, command, now=ctx.now, idempotency_key=idempotency_key)
    return t.SubscriptionPayload(subscription=t.Subscription.of(outcome.new_subscription, ctx.now))


@payload_errors(t.SubscriptionChangePayload)
async def subscription_seats_increase(
    info: Info, input: t.SubscriptionSeatsInput, idempotency_key: str | None = None,
) -> t.SubscriptionChangePayload:
    return await _change(info, input.subscription_id, IncreaseSeats(input.seats), idempotency_key)


@payload_errors(t.SubscriptionChangePayload, fields=SEATS_REDUCE_FIELDS)
async def subscription_seats_reduce(
    info: Info, input: t.SubscriptionSeatsInput, idempotency_key: str | None = None,
) -> t.SubscriptionChangePayload:
    return await _change(info, input.subscription_id, ReduceSeats(input.seats), idempotency_key, SEATS_REDUCE_FIELDS)


@payload_errors(t.SubscriptionChangePayload)
async def subscription_cancel(info: Info, input: t.SubscriptionIdInput, idempotency_key: str | None = None) -> t.SubscriptionChangePayload:
    return await _change(info, input.subscription_id, CancelSubscription(), idempotency_key)


@payload_errors(t.SubscriptionChangePayload, fields=AUTO_RENEW_FIELDS)
async def subscription_auto_renew_set(info: Info, input: t.SubscriptionAutoRenewInput) -> t.SubscriptionChangePayload:
    return await _change(info, input.subscription_id, SetAutoRenew(input.enabled), fields=AUTO_RENEW_FIELDS)


@payload_errors(t.SubscriptionChangePayload, fields=HOSTED_DESKTOP_FIELDS)
async def subscription_hosted_desktop_set(info: Info, input: t.SubscriptionHostedDesktopInput) -> t.SubscriptionChangePayload:
    change = t.SubscriptionChangeInput(kind=t.SubscriptionChangeKind.SET_HOSTED_DESKTOP, hosted_desktop=input.hosted_desktop)
    return await _change(info, input.subscription_id, await change_of(info, input.subscription_id, change), fields=HOSTED_DESKTOP_FIELDS)


@payload_errors(t.SubscriptionChangePayload, fields=SCHEDULE_FIELDS)
async def subscription_renewal_change_schedule(
    info: Info, input: t.SubscriptionRenewalChangeInput, idempotency_key: str | None = None,
) -> t.SubscriptionChangePayload:
    change = t.SubscriptionChangeInput(
        kind=t.SubscriptionChangeKind.SCHEDULE_FOR_RENEWAL, quantity=input.quantity, term=input.term, billing=input.billing,
        product_id=input.product_id,
    )
    return await _change(info, input.subscription_id, await change_of(info, input.subscription_id, change), idempotency_key, SCHEDULE_FIELDS)


@payload_errors(t.SubscriptionChangePayload)
async def subscription_renewal_change_remove(info: Info, input: t.SubscriptionIdInput) -> t.SubscriptionChangePayload:
    return await _change(info, input.subscription_id, RemoveScheduledChange())


@payload_errors(t.SubscriptionChangePayload, fields=UPGRADE_FIELDS)
async def subscription_upgrade(
    info: Info, input: t.SubscriptionUpgradeInput, idempotency_key: str | None = None,
) -> t.SubscriptionChangePayload:
    change = t.SubscriptionChangeInput(kind=t.SubscriptionChangeKind.UPGRADE, product_id=input.to_product_id, seats=input.seats)
    return await _change(info, input.subscription_id, await change_of(info, input.subscription_id, change), idempotency_key, UPGRADE_FIELDS)


@payload_errors(t.TenantCreatePayload)
async def customer_tenant_create(info: Info, input: t.TenantCreateInput) -> t.TenantCreatePayload:
    ctx = info.context
    created = await ctx.run(service.create_tenant, ctx.uow(), ctx.principal, customer_id=input.customer_id, prefix=input.prefix)
    return t.TenantCreatePayload(
        customer=org_types.organisation_of(created.customer), admin_login=created.admin_login, initial_password=created.initial_password
    )


@payload_errors(org_types.CustomerPayload)
async def customer_tenant_link(info: Info, input: t.TenantLinkInput) -> org_types.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(
        service.request_tenant_link, ctx.uow(), ctx.services.mailer, ctx.principal, customer_id=input.customer_id,
        default_domain=input.default_domain, contact_email=input.contact_email, now=ctx.now,
        confirmation_url=ctx.services.settings.portal_url + "/tenant-link",
    )
    return org_types.CustomerPayload(customer=org_types.organisation_of(updated))


@payload_errors(org_types.CustomerPayload)
async def customer_tenant_link_confirm(info: Info, input: t.TenantLinkConfirmInput) -> org_types.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(service.confirm_tenant_link, ctx.uow(), ctx.principal, customer_id=input.customer_id, token=input.code, now=ctx.now)
    return org_types.CustomerPayload(customer=org_types.organisation_of(updated))


@payload_errors(org_types.CustomerPayload)
async def customer_agreement_accept(info: Info, input: t.AgreementAcceptInput) -> org_types.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(
        service.accept_customer_agreement, ctx.uow(), ctx.principal, customer_id=input.customer_id,
        name=input.accepted_by_name, email=input.accepted_by_email, now=ctx.now,
    )
    return org_types.CustomerPayload(customer=org_types.organisation_of(updated))


@payload_errors(org_types.CustomerPayload)
async def customer_eligibility_grant(info: Info, input: t.EligibilityGrantInput) -> org_types.CustomerPayload:
    ctx = info.context
    updated = await ctx.run(
        service.grant_eligibility, ctx.uow(), ctx.principal, customer_id=input.customer_id, program=input.program, now=ctx.now,
        institution_type=input.institution_type, microsoft_reference=input.microsoft_reference,
    )
    return org_types.CustomerPayload(customer=org_types.organisation_of(updated))


@payload_errors(t.CataloguePayload, fields={"productId": "productIds"})
async def price_change_schedule(info: Info, input: t.PriceChangeScheduleInput) -> t.CataloguePayload:
    ctx = info.context
    catalogue = await ctx.run(
        service.schedule_price_change, ctx.uow(), ctx.principal, currency=input.currency, percent=input.percent,
        effective_from=input.effective_from, product_ids=[str(p) for p in input.product_ids] if input.product_ids else None,
        today=berlin_date(ctx.now),
    )
    return t.CataloguePayload(products=[t.Product.of(p, catalogue) for p in sorted(catalogue.products.values(), key=lambda p: p.name)])


@payload_errors(t.SaasSubscriptionPayload, fields={"invitation.email": "inviteEmail", "invitation.contactName": "inviteContactName"})
async def saas_subscription_create(info: Info, input: t.SaasSubscriptionCreateInput, idempotency_key: str | None = None) -> t.SaasSubscriptionPayload:
    ctx = info.context
    command = service.NewSaasSubscription(
        product_id=input.product_id, customer_company_name=input.customer_company_name, users=input.users,
        customer_id=input.customer_id, invite_contact_name=input.invite_contact_name, invite_email=input.invite_email,
    )
    created = await ctx.run(
        service.create_saas_subscription, ctx.uow(), ctx.services.mailer, ctx.principal, command, now=ctx.now, idempotency_key=idempotency_key,
    )
    return t.SaasSubscriptionPayload(saas_subscription=t.SaasSubscription.of(created, berlin_date(ctx.now)))


async def _saas_change(info: Info, subscription_id: str, change: service.SaasChange, idempotency_key: str | None) -> t.SaasSubscriptionPayload:
    ctx = info.context

    def change_once():
        return service.change_saas_subscription(ctx.uow(), ctx.principal, subscription_id, change, now=ctx.now, idempotency_key=idempotency_key)

    # Two changes of one subscription at once (two browser tabs) both apply, one after the other.
    changed = await ctx.run(retry_on_concurrent_update, change_once)
    return t.SaasSubscriptionPayload(saas_subscription=t.SaasSubscription.of(changed, berlin_date(ctx.now)))


@payload_errors(t.SaasSubscriptionPayload)
async def saas_subscription_users_change(
    info: Info, input: t.SaasSubscriptionUsersChangeInput, idempotency_key: str | None = None,
) -> t.SaasSubscriptionPayload:
    return await _saas_change(info, input.saas_subscription_id, service.ChangeSaasUsers(input.users), idempotency_key)


@payload_errors(t.SaasSubscriptionPayload)
async def saas_subscription_deactivate(info: Info, input: t.SaasSubscriptionIdInput, idempotency_key: str | None = None) -> t.SaasSubscriptionPayload:
    return await _saas_change(info, input.saas_subscription_id, service.DeactivateSaas(), idempotency_key)


@payload_errors(t.SaasSubscriptionPayload)
async def saas_subscription_activate(info: Info, input: t.SaasSubscriptionIdInput, idempotency_key: str | None = None) -> t.SaasSubscriptionPayload:
    return await _saas_change(info, input.saas_subscription_id, service.ActivateSaas(), idempotency_key)


@payload_errors(t.SaasSubscriptionPayload)
async def saas_subscription_invitation_resend(
    info: Info, input: t.SaasSubscriptionIdInput, idempotency_key: str | None = None,
) -> t.SaasSubscriptionPayload:
    ctx = info.context
    today = berlin_date(ctx.now)
    try:
        sent = await ctx.run(
            service.resend_saas_invitation, ctx.uow(), ctx.services.mailer, ctx.principal, input.saas_subscription_id,
            now=ctx.now, idempotency_key=idempotency_key,
        )
    except InvitationNotDelivered as refused:  # recorded as FAILED: the payload shows it
        return t.SaasSubscriptionPayload(saas_subscription=t.SaasSubscription.of(refused.subscription, today), errors=to_errors(refused))
    return t.SaasSubscriptionPayload(saas_subscription=t.SaasSubscription.of(sent, today))
