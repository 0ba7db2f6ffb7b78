"""Use cases for organisations, partnership links and users."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Callable, Iterator

from domain.calendar import berlin_date
from domain.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from domain.ids import new_id
from domain.organisations import (
    ID_PREFIX,
    AccessLevel,
    Address,
    BillingMode,
    CustomerOnboarding,
    OnboardingChanges,
    Organisation,
    OrganisationKind,
    PartnerNoticeNotDelivered,
    PartnerPermission,
    PartnerProfile,
    PermissionLevel,
    Role,
    User,
    new_organisation,
    new_user,
    remaining_administrator,
)
from domain.policy import (
    Principal,
    can_create_customer,
    can_create_partner,
    can_link_partner,
    can_list_partners,
    can_manage_customer,
    can_manage_sepa_mandates,
    can_resend_billing_mode_notice,
    can_switch_billing_mode,
    can_view_organisation,
    can_view_users,
    require,
    require_microsoft_ids_settable,
    require_not_own_login,
    require_user_administration,
)
from domain.ports import EmailMessage, Mailer, Page, UnitOfWork
from domain.sepa import SepaMandate, mandate_claim
from domain.services.idempotency import run_idempotent
from domain.services.retry import retry_on_concurrent_update

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class NewPartner:
    name: str
    address: Address
    billing_email: str
    vat_id: str | None = None


@dataclass(frozen=True)
class NewCustomer:
    name: str
    address: Address
    billing_email: str
    vat_id: str | None = None
    onboarding: CustomerOnboarding = CustomerOnboarding()
    # A partner creating a customer is linked to it at once; the distributor may name one.
    partner_id: str | None = None
    billing_mode: BillingMode = BillingMode.PARTNER_PAYS
    access_level: AccessLevel = AccessLevel.FULL


@dataclass(frozen=True)
class CustomerChanges:
    """What an update sets; ``None`` leaves a field (or, in ``onboarding``, a field of the onboarding data) as it is."""

    name: str | None = None
    address: Address | None = None
    billing_email: str | None = None
    vat_id: str | None = None
    onboarding: OnboardingChanges | None = None


@dataclass(frozen=True)
class NewUser:
    organisation_id: str
    email: str
    name: str
    role: Role
    permissions: frozenset[PartnerPermission] = frozenset()
    permission_level: PermissionLevel | None = None


def page_size(first: int | None) -> int:
    if first is None:
        return 20
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"'first' must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    return first


def _email_claim(email: str) -> str:
    return f"user-email#{email.casefold()}"


# --- reads -------------------------------------------------------------------------------


def get_visible_organisation(uow: UnitOfWork, principal: Principal, organisation_id: str) -> Organisation | None:
    organisation = uow.organisations.get(organisation_id)
    if organisation is None or not can_view_organisation(principal, organisation):
        return None
    return organisation


def _require_visible(uow: UnitOfWork, principal: Principal, organisation_id: str, kind: OrganisationKind, field: str) -> Organisation:
    organisation = get_visible_organisation(uow, principal, organisation_id)
    if organisation is None or organisation.kind is not kind:
        raise NotFound(f"No {kind.value.lower()} with id '{organisation_id}'.", field=field)
    return organisation


def list_customers(uow: UnitOfWork, principal: Principal, *, first: int | None, after: str | None) -> Page[Organisation]:
    limit = page_size(first)
    if principal.is_distributor:
        return uow.organisations.list_by_kind(OrganisationKind.CUSTOMER, limit=limit, cursor=after)
    if principal.is_partner and principal.has(PartnerPermission.GENERAL_ACCESS):
        return uow.organisations.list_customers_of_partner(principal.organisation_id, limit=limit, cursor=after)
    if principal.is_customer and after is None:
        own = uow.organisations.get(principal.organisation_id)
        return Page([own] if own else [], None)
    return Page([], None)


def list_partners(uow: UnitOfWork, principal: Principal, *, first: int | None, after: str | None) -> Page[Organisation]:
    limit = page_size(first)
    if can_list_partners(principal):
        return uow.organisations.list_by_kind(OrganisationKind.PARTNER, limit=limit, cursor=after)
    if principal.is_partner and after is None:
        own = uow.organisations.get(principal.organisation_id)
        return Page([own] if own else [], None)
    return Page([], None)


def list_users(uow: UnitOfWork, principal: Principal, organisation_id: str, *, first: int | None, after: str | None) -> Page[User]:
    limit = page_size(first)
    organisation = get_visible_organisation(uow, principal, organisation_id)
    if organisation is None or not can_view_users(principal, organisation):
        return Page([], None)
    return uow.users.list_by_organisation(organisation_id, limit=limit, cursor=after)


# --- writes ------------------------------------------------------------------------------


def create_partner(uow: UnitOfWork, principal: Principal, command: NewPartner, *, now: datetime, idempotency_key: str | None = None) -> Organisation:
    require(can_create_partner(principal), "create partners")

    def perform(uow: UnitOfWork) -> tuple[str, Organisation]:
        partner = new_organisation(
            id=new_id(ID_PREFIX[OrganisationKind.PARTNER]),
            kind=OrganisationKind.PARTNER,
            name=command.name,
            address=command.address,
            billing_email=command.billing_email,
            vat_id=command.vat_id,
            now=now,
        )
        uow.organisations.add(partner)
        return partner.id, partner

    return run_idempotent(
        uow, principal=principal, operation="partnerCreate", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, id: uow.organisations.get(id),
    )


def create_customer(
    uow: UnitOfWork, principal: Principal, command: NewCustomer, *, now: datetime, idempotency_key: str | None = None,
    on_created: Callable[[UnitOfWork, Organisation], None] | None = None,
) -> Organisation:
    """``on_created`` registers further writes in the same transaction (e.g. the referral attribution)."""
    require(can_create_customer(principal), "create customers")
    partner_id = principal.organisation_id if principal.is_partner else command.partner_id

    def perform(uow: UnitOfWork) -> tuple[str, Organisation]:
        customer = new_organisation(
            id=new_id(ID_PREFIX[OrganisationKind.CUSTOMER]),
            kind=OrganisationKind.CUSTOMER,
            name=command.name,
            address=command.address,
            billing_email=command.billing_email,
            vat_id=command.vat_id,
            onboarding=command.onboarding,
            now=now,
        )
        if partner_id is not None:
            partner = uow.organisations.get(partner_id)
            if partner is None or partner.kind is not OrganisationKind.PARTNER:
                raise NotFound(f"No partner with id '{partner_id}'.", field="partnerId")
            customer = customer.with_link(partner, command.access_level, command.billing_mode, now, principal.user_id)
        uow.organisations.add(customer)
        if on_created is not None:
            on_created(uow, customer)
        return customer.id, customer

    return run_idempotent(
        uow, principal=principal, operation="customerCreate", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, id: uow.organisations.get(id),
    )


def update_customer(uow: UnitOfWork, principal: Principal, customer_id: str, changes: CustomerChanges, *, now: datetime) -> Organisation:
    with uow:
        customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "id")
        require(can_manage_customer(principal, customer), "change this customer")
        onboarding = customer.onboarding or CustomerOnboarding()
        if changes.onboarding is not None:
            onboarding = onboarding.with_changes(changes.onboarding)  # one field changed keeps the others
            _check_branches_left(uow, principal, customer, onboarding, today=berlin_date(now))
        probe = new_organisation(  # re-validates the changed master data with the creation rules
            id=customer.id,
            kind=customer.kind,
            name=changes.name if changes.name is not None else customer.name,
            address=changes.address or customer.address,
            billing_email=changes.billing_email if changes.billing_email is not None else customer.billing_email,
            vat_id=changes.vat_id if changes.vat_id is not None else customer.vat_id,
            onboarding=onboarding,
            now=customer.created_at,
        )
        updated = replace(
            customer,
            name=probe.name,
            address=probe.address,
            billing_email=probe.billing_email,
            vat_id=probe.vat_id,
            onboarding=probe.onboarding,
        )
        uow.organisations.update(updated)
        uow.commit()
        return replace(updated, version=updated.version + 1)


def _check_branches_left(
    uow: UnitOfWork, principal: Principal, customer: Organisation, onboarding: CustomerOnboarding, *, today: date,
) -> None:
    """Decided: a branch receiving services is not removed (nor set to receive none) while an open contract (not ended
    before today) names it, or a ticket naming it is not closed or has time not reported (a closed ticket may still):
    work still to come or to report there would name a site the customer no longer has. A closed ticket whose time is
    all reported does not count: its items not billed yet (and any made later from it) go, once the branch is removed,
    on the head office's invoice naming the branch key (``domain.billing``), a key never given again (retired).
    Refused (``Conflict`` on ``onboarding.branches``) naming them; move them to another branch (contractBranchSet,
    ticketBranchSet, which closed tickets take too), report their time, or end the contracts first. Items made before a
    move keep the branch they were made for. Reads the customer's contracts and tickets (one Query each) only when such
    a branch goes.

    Decided: the refusal names contracts only to whom may view them (staff, the customer's EXTENDED users:
    ``can_view_contract_status``) and tickets only to whom may view each (``can_view_ticket``). A partner managing the
    customer gets the branch and the tickets it sees, else a neutral message, and the hint to ask the service desk."""
    before = {b.key: b for b in (customer.onboarding.branches if customer.onboarding else ()) if b.receives_services}
    still = {b.key for b in onboarding.branches if b.receives_services}
    gone = {key: branch for key, branch in before.items() if key not in still}
    if not gone:
        return
    from domain.services.tickets import all_tickets_of  # the ticket services import this module
    from domain.tickets import can_view_contract_status, can_view_ticket

    contracts = [c for c in uow.contracts.list_for_customer(customer.id) if c.branch_key in gone and c.open_on(today)]
    tickets = [t for t in all_tickets_of(uow, customer.id)
               if t.branch_key in gone and (not t.is_closed or t.unreported_entries)]
    if not contracts and not tickets:
        return
    named = sorted({c.branch_key for c in contracts} | {t.branch_key for t in tickets})
    branches = ", ".join(gone[key].name for key in named)
    staff_view = can_view_contract_status(principal, customer)
    visible = ([f"contract {c.id}" for c in sorted(contracts, key=lambda c: c.id)] if staff_view else []) + [
        f"ticket {t.number}" for t in sorted(tickets, key=lambda t: t.number) if can_view_ticket(principal, t, customer)]
    hidden = len(contracts) + len(tickets) - len(visible)
    if visible:
        shown = ", ".join(visible[:5]) + (f" and {len(visible) - 5} more" if len(visible) > 5 else "")
        message = f"The branch {branches} still receives services: {shown}" + (
            ", and others the service desk manages." if hidden else ".")
    else:
        message = f"The branch {branches} still receives services the service desk manages."
    if principal.is_distributor:
        hint = ("Move them to another branch or the head office first (contractBranchSet, ticketBranchSet: closed tickets "
                "too), or end the contracts; then remove the branch.")
    else:
        hint = ("Ask the service desk to move what is delivered at the branch (contracts and tickets) to another branch or "
                "the head office, or to end it; then remove the branch.")
    raise Conflict(message, field="onboarding.branches", hint=hint)


@dataclass(frozen=True)
class MandateDetails:
    """A signed SEPA mandate as the distributor enters it from the form (validated by ``SepaMandate.create``)."""

    reference: str
    iban: str
    account_holder: str
    signed_on: date
    bic: str | None = None


def set_sepa_mandate(uow: UnitOfWork, principal: Principal, customer_id: str, details: MandateDetails, *, now: datetime) -> Organisation:
    """Put the customer's signed direct-debit mandate on file (replacing one there): its rental and hosting invoices are
    collected by SEPA direct debit from the next billing run on. A new reference is claimed for good (unique per
    creditor, never reused); the same reference again amends the mandate (e.g. a new account)."""
    require(can_manage_sepa_mandates(principal), "record SEPA direct-debit mandates")
    mandate = SepaMandate.create(
        reference=details.reference, iban=details.iban, account_holder=details.account_holder, signed_on=details.signed_on,
        bic=details.bic, today=berlin_date(now),
    )
    with uow:
        customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "customerId")
        on_file = customer.sepa_mandate
        if on_file is None or mandate_claim(on_file.reference) != mandate_claim(mandate.reference):
            uow.uniques.claim(
                mandate_claim(mandate.reference), customer.id,
                AlreadyExists(
                    f"The mandate reference {mandate.reference} is used already.", field="reference",
                    hint="Each mandate has a reference of its own, never used before (case is ignored).",
                ),
            )
        updated = customer.with_sepa_mandate(mandate)
        uow.organisations.update(updated)
        uow.commit()
        return replace(updated, version=updated.version + 1)


def revoke_sepa_mandate(uow: UnitOfWork, principal: Principal, customer_id: str) -> Organisation:
    """Take the mandate off file (the customer revoked it): its next invoices are paid by transfer. Without a mandate
    on file nothing changes. Its reference stays claimed: a later mandate needs a new one."""
    require(can_manage_sepa_mandates(principal), "revoke SEPA direct-debit mandates")
    with uow:
        customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "customerId")
        if customer.sepa_mandate is None:
            return customer
        updated = customer.with_sepa_mandate(None)
        uow.organisations.update(updated)
        uow.commit()
        return replace(updated, version=updated.version + 1)


def link_partner(
    uow: UnitOfWork, principal: Principal, *, partner_id: str, customer_id: str,
    access_level: AccessLevel, billing_mode: BillingMode, now: datetime,
) -> Organisation:
    require(can_link_partner(principal), "link partners to customers")
    with uow:
        customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "customerId")
        partner = _require_visible(uow, principal, partner_id, OrganisationKind.PARTNER, "partnerId")
        updated = customer.with_link(partner, access_level, billing_mode, now, principal.user_id)
        uow.organisations.update(updated)
        uow.commit()
        return replace(updated, version=updated.version + 1)


def set_access_level(uow: UnitOfWork, principal: Principal, *, partner_id: str, customer_id: str, access_level: AccessLevel) -> Organisation:
    require(can_link_partner(principal), "change partnership access levels")
    with uow:
        customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "customerId")
        updated = customer.with_access_level(partner_id, access_level)
        uow.organisations.update(updated)
        uow.commit()
        return replace(updated, version=updated.version + 1)


def switch_billing_mode(
    uow: UnitOfWork, mailer: Mailer, principal: Principal, *, customer_id: str, partner_id: str,
    billing_mode: BillingMode, now: datetime,
) -> tuple[Organisation, bool]:
    """The customer chooses who pays; the partner learns of it by e-mail.

    The new mode applies to invoices issued from ``now`` on; issued invoices never move.
    Returns the customer and whether the partner was notified (only when the mode changed and the mail went out).
    The notice is sent after the switch is stored: when the mail service refuses it, the switch stands, the failure
    is logged and recorded on the switch (``partner_notice_failed``), and the answer is the switched customer.
    """
    with uow:
        customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "customerId")
        require(can_switch_billing_mode(principal, customer), "switch this customer's billing mode")
        updated, changed = customer.with_billing_mode(partner_id, billing_mode, now, principal.user_id)
        if not changed:
            return customer, False
        partner = uow.organisations.get(partner_id)
        uow.organisations.update(updated)
        uow.commit()
    switched = replace(updated, version=updated.version + 1)
    if partner is None:
        return switched, False
    if _send_billing_mode_notice(mailer, customer, partner, billing_mode, since=now):
        return switched, True
    return _record_partner_notice(uow, switched, partner_id=partner_id, mode=billing_mode, since=now, failed=True), False


def resend_billing_mode_notice(uow: UnitOfWork, mailer: Mailer, principal: Principal, *, customer_id: str, partner_id: str) -> Organisation:
    """Send the partner's notice of the customer's latest billing-mode switch again, the one the mail service refused
    (``partner_notice_failed``); once sent, the mark is cleared. Refused (``PreconditionFailed``) when there is nothing
    to re-send; ``PartnerNoticeNotDelivered`` (logged) when the mail service refuses it again, the mark left as it is.

    The customer's users who may switch, the distributor, and the partner the notice is for may ask for it. Nothing
    else changes: the switch stands as stored, and the notice names it as it was made (mode and time)."""
    customer = _require_visible(uow, principal, customer_id, OrganisationKind.CUSTOMER, "customerId")
    require(can_resend_billing_mode_notice(principal, customer, partner_id), "re-send this billing-mode notice")
    switch = customer.notice_to_resend(partner_id)
    partner = uow.organisations.get(partner_id)
    if partner is None:
        raise NotFound(f"No partner with id '{partner_id}'.", field="partnerId")
    if not _send_billing_mode_notice(mailer, customer, partner, switch.mode, since=switch.since):
        raise PartnerNoticeNotDelivered(customer, partner.billing_email)
    return _record_partner_notice(uow, customer, partner_id=partner_id, mode=switch.mode, since=switch.since, failed=False)


def _send_billing_mode_notice(mailer: Mailer, customer: Organisation, partner: Organisation, mode: BillingMode, *, since: datetime) -> bool:
    """E-mail the partner that ``customer`` switched to ``mode`` at ``since``; False (logged) when the mail service refuses."""
    payer = "the customer" if mode is BillingMode.CUSTOMER_PAYS else "you (the partner)"
    try:
        mailer.send(
            EmailMessage(
                to=(partner.billing_email,),
                subject=f"Billing mode changed for {customer.name}",
                body=(
                    f"{customer.name} switched its billing mode on {since:%Y-%m-%d %H:%M} UTC. "
                    f"From now on {payer} will be invoiced for its orders and renewals. "
                    "Invoices issued before the switch are unchanged."
                ),
            )
        )
        return True
    except Exception:  # noqa: BLE001 - a failed notice must not turn the stored switch into an error (a retry would switch again)
        log.exception(
            "could not e-mail partner %s (%s) that customer %s (%s) switched its billing mode to %s at %s; tell the partner by hand",
            partner.id, partner.billing_email, customer.id, customer.name, mode.value, since.isoformat(),
        )
        return False


def _record_partner_notice(
    uow: UnitOfWork, customer: Organisation, *, partner_id: str, mode: BillingMode, since: datetime, failed: bool,
) -> Organisation:
    """Mark the switch to ``mode`` made at ``since`` as not notified (``failed``) or notified; never raises. Returns the
    customer as recorded (or, when recording fails too, as read with the mark applied, the failure logged)."""

    def mark(organisation: Organisation) -> Organisation:
        if failed:
            return organisation.with_partner_notice_failed(partner_id, mode, since)
        return organisation.with_partner_notified(partner_id, mode, since)

    def record() -> Organisation:
        with uow:
            stored = uow.organisations.get(customer.id)
            if stored is None:
                raise NotFound(f"No customer with id '{customer.id}'.", field="customerId")
            marked = mark(stored)
            if marked == stored:
                return stored
            uow.organisations.update(marked)
            uow.commit()
            return replace(marked, version=marked.version + 1)

    try:
        return retry_on_concurrent_update(record)
    except Exception:  # noqa: BLE001 - the switch stands; the log above names the notice to send by hand
        log.exception("could not record the %s billing-mode notice of customer %s to partner %s",
                      "failed" if failed else "re-sent", customer.id, partner_id)
        return mark(customer)


def set_microsoft_ids(
    uow: UnitOfWork, principal: Principal, *, partner_id: str, microsoft_partner_network_id: str, microsoft_id: str,
) -> Organisation:
    with uow:
        partner = _require_visible(uow, principal, partner_id, OrganisationKind.PARTNER, "partnerId")
        require_microsoft_ids_settable(principal, partner)
        mpn = (microsoft_partner_network_id or "").strip()
        if not mpn.isdigit():
            raise ValidationFailed(
                "The Microsoft Partner Network ID is a number.", field="microsoftPartnerNetworkId",
                hint="Find it in Partner Center under Account settings > Identifiers.",
            )
        ms_id = (microsoft_id or "").strip()
        if not ms_id:
            raise ValidationFailed("The Microsoft ID must not be empty.", field="microsoftId")
        profile = replace(partner.partner_profile or PartnerProfile(), microsoft_partner_network_id=mpn, microsoft_id=ms_id)
        updated = replace(partner, partner_profile=profile)
        uow.organisations.update(updated)
        uow.commit()
        return replace(updated, version=updated.version + 1)


def create_user(uow: UnitOfWork, principal: Principal, command: NewUser, *, now: datetime, idempotency_key: str | None = None) -> User:
    """A partner acting for its customer creates REPORT_ONLY users only (``PartnerManagesReportOnlyUsers``)."""

    def perform(uow: UnitOfWork) -> tuple[str, User]:
        organisation = get_visible_organisation(uow, principal, command.organisation_id)
        if organisation is None:
            raise NotFound(f"No organisation with id '{command.organisation_id}'.", field="organisationId")
        require_user_administration(
            principal, organisation, level_before=None, level_after=command.permission_level, what="add users to this organisation",
        )
        user = new_user(
            id=new_id("usr"),
            organisation=organisation,
            email=command.email,
            name=command.name,
            role=command.role,
            permissions=command.permissions,
            permission_level=command.permission_level,
            now=now,
        )
        uow.uniques.claim(
            _email_claim(user.email), user.id,
            AlreadyExists(
                f"A user with e-mail {user.email} exists already.", field="email",
                hint="An address has one login; if that login was deactivated, reactivate it (userReactivate) instead.",
            ),
        )
        uow.users.add(user)
        return user.id, user

    return run_idempotent(
        uow, principal=principal, operation="userCreate", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, id: uow.users.get(id),
    )


def _require_visible_user(uow: UnitOfWork, principal: Principal, user_id: str) -> tuple[User, Organisation]:
    """The user and its organisation, if ``principal`` may see the organisation's users (or it is the principal itself)."""
    user = uow.users.get(user_id)
    organisation = get_visible_organisation(uow, principal, user.organisation_id) if user is not None else None
    if user is None or organisation is None or not (user.id == principal.user_id or can_view_users(principal, organisation)):
        raise NotFound(f"No user with id '{user_id}'.", field="userId")
    return user, organisation


def _users_of(uow: UnitOfWork, organisation_id: str) -> Iterator[User]:
    cursor: str | None = None
    while True:
        page = uow.users.list_by_organisation(organisation_id, limit=MAX_PAGE_SIZE, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _administer_user(
    uow: UnitOfWork, principal: Principal, user_id: str, change: Callable[[User], User], *,
    what: str, own: str | None, new_level: PermissionLevel | None = None,
) -> User:
    """Apply ``change`` to a user, under the rules of user administration: who may (``require_user_administration``;
    ``new_level`` is the level asked for, None: the user's stays), never one's own login (``own`` names the change; None:
    no such rule), never the organisation's last administrator (``LastAdministrator``). A change to the state the user is
    in writes nothing. The write rests on the organisation's remaining administrator as read, and is made again from a
    fresh read when either was changed meanwhile."""

    def attempt() -> User:
        with uow:
            user, organisation = _require_visible_user(uow, principal, user_id)
            if own is not None:
                require_not_own_login(principal, user, own)
            require_user_administration(
                principal, organisation, level_before=user.permission_level, level_after=new_level or user.permission_level, what=what,
            )
            updated = change(user)
            if updated == user:
                return user
            remaining = remaining_administrator(organisation, user, updated, _users_of(uow, organisation.id))
            uow.users.update(updated, unchanged=(remaining,) if remaining is not None else ())
            uow.commit()
            return replace(updated, version=updated.version + 1)

    return retry_on_concurrent_update(attempt)


def set_permission_level(uow: UnitOfWork, principal: Principal, user_id: str, level: PermissionLevel, *, now: datetime) -> User:
    """A customer user becomes REPORT_ONLY or EXTENDED (from its next request on); access to credentials granted before
    no longer counts. A partner acting for its customer neither promotes nor demotes (``PartnerManagesReportOnlyUsers``)."""
    return _administer_user(
        uow, principal, user_id, lambda user: user.with_permission_level(level, now=now),
        what="change the permission levels of this organisation's users", own="change the permission level of", new_level=level,
    )


def deactivate_user(uow: UnitOfWork, principal: Principal, user_id: str, *, now: datetime) -> User:
    """Someone who left: the login is refused from its next request on (tokens issued before included); its tickets and
    e-mail address stay with it, and ``reactivate_user`` gives it back."""
    return _administer_user(
        uow, principal, user_id, lambda user: user.deactivated(now), what="deactivate this organisation's users", own="deactivate",
    )


def reactivate_user(uow: UnitOfWork, principal: Principal, user_id: str, *, now: datetime) -> User:
    """A deactivated login signs in again, with the role, permissions and level it had, but not with its access to
    credentials: grants made before count no more (``User.standing_changed_at``)."""
    return _administer_user(
        uow, principal, user_id, lambda user: user.reactivated(now=now), what="reactivate this organisation's users", own=None,
    )


def bootstrap_distributor(uow: UnitOfWork, *, name: str, address: Address, billing_email: str, admin_email: str, admin_name: str, now: datetime) -> tuple[Organisation, User]:
    """Create the platform operator and its first staff user (set-up only, not exposed in the API)."""
    with uow:
        distributor = new_organisation(
            id=new_id(ID_PREFIX[OrganisationKind.DISTRIBUTOR]), kind=OrganisationKind.DISTRIBUTOR,
            name=name, address=address, billing_email=billing_email, now=now,
        )
        admin = new_user(
            id=new_id("usr"), organisation=distributor, email=admin_email, name=admin_name,
            role=Role.DISTRIBUTOR_STAFF, now=now,
        )
        uow.organisations.add(distributor)
        uow.uniques.claim(_email_claim(admin.email), admin.id, AlreadyExists(f"A user with e-mail {admin.email} exists already.", field="email"))
        uow.users.add(admin)
        uow.commit()
        return distributor, admin
