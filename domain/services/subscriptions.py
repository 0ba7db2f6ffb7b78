"""Use cases of CSP and reseller SaaS subscriptions, shared by the API and the renewal job."""

from __future__ import annotations

import copy
import json
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from domain.calendar import BERLIN, CATCH_UP_DAYS, berlin_date, days_to_catch_up
from domain.catalogue import Billing, Catalogue, LicenceProgram, Term, assert_add_on_base_present
from domain.errors import AlreadyExists, Conflict, NotFound, ValidationFailed
from domain.ids import new_id
from domain.money import Money
from domain.organisations import Organisation, OrganisationKind
from domain.policy import (
    Principal,
    can_cancel_legacy_with_credit_note,
    can_change_subscription,
    can_confirm_tenant_link,
    can_grant_eligibility,
    can_manage_saas_subscription,
    can_manage_catalogue,
    can_order_csp,
    can_order_saas,
    can_record_customer_agreement,
    can_view_partner_sales,
    can_view_subscription,
    require,
)
from domain.ports import EmailMessage, Mailer, Page, SubscriptionFilter, UnitOfWork
from domain.services.idempotency import run_idempotent
from domain.services.job_runs import due_item, summary_dict
from domain.services.organisations import get_visible_organisation, page_size
from domain.services.resave import ResaveSummary, resave_all
from domain.services.retry import retry_on_concurrent_update
from domain.subscriptions import (
    CancelSubscription,
    ChangeOutcome,
    Charge,
    ChargeKind,
    CspReadiness,
    IncreaseSeats,
    InvitationNotDelivered,
    PreviewResult,
    ProductAccess,
    ReduceSeats,
    RenewalOutcome,
    SaasInvitationStatus,
    SaasStatus,
    SaasSubscription,
    ScheduleChange,
    ScheduledChange,
    SetHostedDesktop,
    Subscription,
    SubscriptionChange,
    SubscriptionEvent,
    SubscriptionEventKind,
    SubscriptionStatus,
    TenantState,
    UpgradeSeats,
    apply_change,
    as_of,
    assert_csp_order_ready,
    assert_importable_as_legacy,
    assert_orderable_as_subscription,
    charge_due_cycles,
    import_legacy_subscription as import_legacy,
    new_saas_subscription,
    open_subscription,
    preview_change,
    refused_preview,
    renew_due as renew_due_with,
    renewal_checks_a_switch,
    renewal_due,
)
from domain.tenants import (
    InstitutionType,
    MicrosoftTenant,
    agreement_accepted,
    created_tenant,
    eligibility_granted,
    link_confirmed,
    link_email_failed,
    link_requested,
    prefix_taken,
    tenant_domain_claim,
)

log = logging.getLogger(__name__)

MAX_PLANNER_DAYS = 92


@dataclass(frozen=True)
class SubscriptionOrder:
    customer_id: str
    product_id: str
    term: Term
    billing: Billing
    quantity: int
    auto_renew: bool = True
    partner_id: str | None = None  # the distributor orders on behalf of a partner
    hosted_desktop: bool = False  # to run on a hosted desktop: only plans with that right


def load_catalogue(uow: UnitOfWork) -> Catalogue:
    catalogue = uow.catalogue.get()
    if catalogue is None:
        raise NotFound("The product catalogue is empty.", hint="The distributor must load the catalogue first.")
    return catalogue


def _require_customer(uow: UnitOfWork, principal: Principal, customer_id: str, field: str = "customerId") -> Organisation:
    customer = get_visible_organisation(uow, principal, customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER:
        raise NotFound(f"No customer with id '{customer_id}'.", field=field)
    return customer


def _readiness(partner: Organisation, customer: Organisation) -> CspReadiness:
    profile = partner.partner_profile
    tenant = customer.microsoft or MicrosoftTenant()
    return CspReadiness(
        partner_mpn_id=profile.microsoft_partner_network_id if profile else None,
        partner_microsoft_id=profile.microsoft_id if profile else None,
        tenant_state=tenant.state,
        tenant_domain=tenant.domain if tenant.state in (TenantState.CREATED, TenantState.LINKED) else None,
        mca_accepted_at=tenant.agreement.accepted_at if tenant.agreement else None,
        eligibility=tenant.eligible_programs,
    )


def _holds_active(uow: UnitOfWork, customer_id: str, product_id: str, *, excluding: str | None = None) -> bool:
    """Whether the customer has an active subscription of the product (other than ``excluding``): every page of its
    subscriptions of that product, until one is found."""
    flt = SubscriptionFilter(status=SubscriptionStatus.ACTIVE, product_id=product_id)
    cursor: str | None = None
    while True:
        page = uow.subscriptions.list_for_customer(customer_id, flt, limit=100, cursor=cursor)
        if any(s.id != excluding and s.product_id == product_id and s.is_active for s in page.items):
            return True
        if page.next_cursor is None:
            return False
        cursor = page.next_cursor


def _product_access(
    uow: UnitOfWork, subscription: Subscription, product, *, customer: Organisation | None = None,
    partner: Organisation | None = None, leaves_product: bool = True,
) -> ProductAccess:
    """What decides whether the subscription's customer may switch to ``product``, as ordering it would.
    ``leaves_product``: the subscription no longer holds its product after the switch, so it does not count as the
    base product of an add-on. ``customer`` and ``partner``: already read (read here otherwise)."""
    customer = customer or uow.organisations.get(subscription.customer_id)
    partner = partner or uow.organisations.get(subscription.partner_id)
    if customer is None or partner is None:
        raise NotFound(f"The customer or partner of subscription {subscription.id} no longer exists.", field="subscriptionId")
    holds_base = product.add_on_of is None or _holds_active(
        uow, customer.id, product.add_on_of, excluding=subscription.id if leaves_product else None,
    )
    return ProductAccess(_readiness(partner, customer), holds_base)


# --- reads -------------------------------------------------------------------------------


def get_visible_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str) -> Subscription | None:
    return visible_subscription(principal, uow.subscriptions.get(subscription_id))


def visible_subscription(principal: Principal, subscription: Subscription | None) -> Subscription | None:
    """The subscription, if the principal may see it."""
    if subscription is None or not can_view_subscription(
        principal, customer_id=subscription.customer_id, partner_id=subscription.partner_id
    ):
        return None
    return subscription


def subscription_history(uow: UnitOfWork, subscription: Subscription) -> list[SubscriptionEvent]:
    """The full history of a subscription already shown to the caller: the events the store moved to its history pages
    (``Subscription.history_pages``), then those kept on it."""
    return [*uow.subscriptions.history_pages(subscription), *subscription.history]


def _with_seats_paid_from_pages(uow: UnitOfWork, subscription: Subscription, *, now: datetime) -> None:
    """A legacy subscription billed monthly stored before it kept the seats removed and paid for in the running month
    (``Subscription.removed_seats_paid_for``), whose events of that month may be on history pages: the figure is read
    from the full history once (one BatchGetItem) and kept from this change on. Any other subscription reads nothing."""
    if subscription.month_events_paged(now):
        subscription.seats_paid_from_history(subscription_history(uow, subscription), now)


def _require_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str) -> Subscription:
    subscription = get_visible_subscription(uow, principal, subscription_id)
    if subscription is None:
        raise NotFound(f"No subscription with id '{subscription_id}'.", field="subscriptionId")
    return subscription


def list_subscriptions(
    uow: UnitOfWork, principal: Principal, flt: SubscriptionFilter, *, customer_id: str | None, partner_id: str | None,
    first: int | None, after: str | None,
) -> Page[Subscription]:
    """Per customer or per partner; partners see what they sold, customers (extended) their own."""
    limit = page_size(first)
    if principal.is_partner:
        if partner_id not in (None, principal.organisation_id):
            return Page([], None)
        partner_id = principal.organisation_id
    if principal.is_customer:
        customer_id, partner_id = principal.organisation_id, None
    if customer_id is not None:
        page = uow.subscriptions.list_for_customer(customer_id, flt, limit=limit, cursor=after)
    elif partner_id is not None:
        page = uow.subscriptions.list_for_partner(partner_id, flt, limit=limit, cursor=after)
    else:
        raise ValidationFailed("Name a customer or a partner.", field="customerId")
    visible = [s for s in page.items if can_view_subscription(principal, customer_id=s.customer_id, partner_id=s.partner_id)]
    return Page(visible, page.next_cursor)


def renewal_planner(
    uow: UnitOfWork, principal: Principal, *, days: int, now: datetime, partner_id: str | None, first: int | None, after: str | None,
) -> Page[Subscription]:
    """What renews (or ends) within ``days`` days from now, in order of term end."""
    if not 1 <= days <= MAX_PLANNER_DAYS:
        raise ValidationFailed(f"Plan 1 to {MAX_PLANNER_DAYS} days ahead.", field="days")
    if principal.is_partner:
        partner_id = principal.organisation_id
    if partner_id is None and principal.is_distributor:
        raise ValidationFailed("Name the partner whose renewals to plan.", field="partnerId")
    if partner_id is None or not can_view_partner_sales(principal, partner_id):
        return Page([], None)
    return uow.subscriptions.list_partner_renewals(partner_id, now, now + timedelta(days=days), limit=page_size(first), cursor=after)


def preview(uow: UnitOfWork, principal: Principal, subscription_id: str, change: ChangeRequest, *, now: datetime) -> PreviewResult:
    subscription = _require_subscription(uow, principal, subscription_id)
    catalogue = load_catalogue(uow)
    renew_due(uow, subscription, catalogue, now=now)  # a due renewal happens first, as in a real change
    _with_seats_paid_from_pages(uow, subscription, now=now)
    change = _as_principal(uow, principal, subscription, change)
    try:
        resolved = _resolve_change(uow, subscription, change, catalogue)
    except NotFound as refusal:  # an unknown product: refused as the change would be
        return refused_preview(subscription, refusal, catalogue)
    return preview_change(subscription, resolved, now, catalogue, actor_id=principal.user_id)


# --- changes named by ids, resolved after a due renewal --------------------------------------


@dataclass(frozen=True)
class UpgradeRequest:
    """Upgrade ``seats`` (default all) to ``to_product_id``, from whatever product the subscription has once a due
    renewal (and a product switch scheduled for it) is applied."""

    to_product_id: str
    seats: int | None = None


@dataclass(frozen=True)
class HostedDesktopRequest:
    """Assign the licences to a hosted desktop or take them off, checked against the product (and a scheduled switch)
    the subscription has once a due renewal is applied."""

    assigned: bool


ChangeRequest = SubscriptionChange | UpgradeRequest | HostedDesktopRequest


def _resolve_change(uow: UnitOfWork, subscription: Subscription, change: ChangeRequest, catalogue: Catalogue,
                    customer: Organisation | None = None) -> SubscriptionChange:
    """The domain change for ``subscription`` as it is now (a due renewal applied): products from its current product
    and the catalogue, and for a switch to another product whether the customer may have it, as an order would
    check (eligibility, tenant domain, an add-on's base product)."""
    if isinstance(change, HostedDesktopRequest):
        scheduled = subscription.scheduled_change.product_id if subscription.scheduled_change else None
        return SetHostedDesktop(change.assigned, catalogue.product(subscription.product_id),
                                catalogue.product(scheduled) if scheduled else None)
    if isinstance(change, UpgradeRequest):
        change = UpgradeSeats(catalogue.product(subscription.product_id), catalogue.product(change.to_product_id), change.seats)
    if isinstance(change, UpgradeSeats) and change.access is None:
        moves_all = change.seats is None or change.seats >= subscription.quantity
        access = _product_access(uow, subscription, change.to_product, customer=customer, leaves_product=moves_all)
        return replace(change, access=access)
    if isinstance(change, ScheduleChange) and change.change.product_id is not None and change.access is None:
        product = change.product or catalogue.product(change.change.product_id)
        return replace(change, product=product, access=_product_access(uow, subscription, product, customer=customer))
    return change


def _as_principal(uow: UnitOfWork, principal: Principal, subscription: Subscription, change: ChangeRequest) -> ChangeRequest:
    """A cancellation as the principal may make it: the distributor cancels a legacy subscription billed annually at any
    time, with a credit note for the rest of the term (``domain.policy``); what the previous provider billed is read
    from the full history (its first event, on a history page once the store moved older events)."""
    if not (isinstance(change, CancelSubscription) and subscription.cancellable_by_distributor_with_credit_note
            and can_cancel_legacy_with_credit_note(principal)):
        return change
    history = subscription_history(uow, subscription) if subscription.history_pages else subscription.history
    return CancelSubscription(by_distributor=True, full_history=tuple(history))


def _access_of(
    uow: UnitOfWork, subscription: Subscription, *, customer: Organisation | None = None, partner: Organisation | None = None,
):
    """``access_to`` for the domain's ``renew_due``: reads the customer (and partner) only when a switch is checked."""
    return lambda product: _product_access(uow, subscription, product, customer=customer, partner=partner)


def renew_due(
    uow: UnitOfWork, subscription: Subscription, catalogue: Catalogue, *, now: datetime, customer: Organisation | None = None,
) -> RenewalOutcome:
    """Process a renewal that is due (no-op otherwise) with the domain's ``renew_due``, which the renewal job, every
    change and preview and every read (``subscriptions_as_of``) share: a product switch scheduled for it that can no
    longer happen (eligibility revoked, an add-on's base product gone, the product retired or unpriced) is dropped
    and the subscription renews on its current product."""
    return renew_due_with(subscription, catalogue, now=now, access_to=_access_of(uow, subscription, customer=customer))


def subscriptions_as_of(uow: UnitOfWork, subscriptions: list[Subscription], catalogue: Catalogue, *, now: datetime) -> list[Subscription]:
    """The subscriptions as the renewal job would leave them at ``now`` (for reads; nothing is written): a renewal due
    but not yet processed is applied to copies by the job's own function. Reads nothing unless a due renewal has a
    product switch scheduled: then the customers and partners of those, in one batch (and for an add-on, whether the
    customer holds its base product)."""
    switching = [s for s in subscriptions if renewal_checks_a_switch(s, now)]
    organisations = uow.organisations.get_many({o for s in switching for o in (s.customer_id, s.partner_id)}) if switching else {}
    return [
        as_of(s, now, catalogue, access_to=_access_of(
            uow, s, customer=organisations.get(s.customer_id), partner=organisations.get(s.partner_id),
        ))
        for s in subscriptions
    ]


def dropped_product_switch(outcome: RenewalOutcome) -> bool:
    return any(event.kind is SubscriptionEventKind.SCHEDULED_PRODUCT_SWITCH_DROPPED for event in outcome.events)


# --- writes ------------------------------------------------------------------------------


def order_subscription(
    uow: UnitOfWork, principal: Principal, order: SubscriptionOrder, *, now: datetime, idempotency_key: str | None = None,
) -> ChangeOutcome:
    def perform(uow: UnitOfWork) -> tuple[str, ChangeOutcome]:
        customer = _require_customer(uow, principal, order.customer_id)
        require(can_order_csp(principal, customer), "order licences for this customer")
        partner_id = principal.organisation_id if principal.is_partner else order.partner_id
        if partner_id is None or customer.link_to(partner_id) is None:
            raise ValidationFailed(
                "The subscription must be ordered through a partner linked to the customer.", field="partnerId",
                hint="Name one of the customer's partners.",
            )
        partner = uow.organisations.get(partner_id)
        catalogue = load_catalogue(uow)
        product = catalogue.product(order.product_id)
        assert_orderable_as_subscription(product)
        assert_csp_order_ready(_readiness(partner, customer), product)
        if product.is_add_on:
            holds_base = _holds_active(uow, customer.id, product.add_on_of)
            assert_add_on_base_present(product, {product.add_on_of} if holds_base else set())
        outcome = open_subscription(
            customer_id=customer.id, partner_id=partner_id, product=product, term=order.term, billing=order.billing,
            quantity=order.quantity, now=now, actor_id=principal.user_id, price_lookup=catalogue, auto_renew=order.auto_renew,
            hosted_desktop=order.hosted_desktop,
        )
        uow.subscriptions.add(outcome.new_subscription)
        for charge in outcome.charges:
            uow.charges.add(charge)
        return _receipt(outcome.new_subscription.id, charges=outcome.charges), outcome

    def load(uow: UnitOfWork, receipt: str) -> ChangeOutcome:
        """A retry with the same key: the subscription as it is now and the charges the order booked (the first cycle)."""
        recorded = _read_receipt(receipt)
        subscription = uow.subscriptions.get(recorded["subscription_id"])
        if subscription is None:
            raise NotFound(f"No subscription with id '{recorded['subscription_id']}'.", field="subscriptionId")
        return ChangeOutcome(subscription.id, True, charges=_charges_of(recorded["charges"]), new_subscription=subscription)

    return run_idempotent(uow, principal=principal, operation="subscriptionOrder", key=idempotency_key, payload=order,
                          now=now, perform=perform, load=load)


@dataclass(frozen=True)
class LegacySubscriptionImport:
    """A legacy (pre-New-Commerce) subscription the distributor takes over, as its previous provider records it."""

    customer_id: str
    partner_id: str  # the customer's partner that sells it (a partner link of the customer)
    product_id: str
    term: Term
    billing: Billing
    quantity: int
    started_at: datetime  # its original start at Microsoft: its terms and cycles count from it
    renews_on: date  # its next renewal date (Berlin), checked against the start and term
    charged_through: date  # the previous provider billed up to this date: the end of the running cycle
    previous_subscription_id: str
    auto_renew: bool = True


def import_legacy_subscription(
    uow: UnitOfWork, principal: Principal, command: LegacySubscriptionImport, *, now: datetime,
    idempotency_key: str | None = None,
) -> ChangeOutcome:
    """The distributor brings in a legacy subscription when it takes over a customer's existing licences: held at
    Microsoft through the distributor and billed so far by a previous provider (licences of another distributor are
    never transferred; they are re-booked as New Commerce, ``order_subscription``). Checked as an order of the product
    would be (a partner of the customer, the partner's Microsoft IDs, the customer's tenant and agreement); priced at
    the price list's price on the day the running term began; no charge (the previous provider billed the running
    cycle) and no 168-hour window for its seats (``domain.subscriptions``). The renewal job renews it on its own
    renewal date at the price list's price of that day. A retry with the same key writes nothing again; the same
    previous subscription imported a second time is refused."""
    require(principal.is_distributor, "import legacy subscriptions")

    def perform(uow: UnitOfWork) -> tuple[str, ChangeOutcome]:
        customer = _require_customer(uow, principal, command.customer_id)
        if customer.link_to(command.partner_id) is None:
            raise ValidationFailed(
                f"Partner '{command.partner_id}' is not a partner of customer {customer.id}.", field="partnerId",
                hint="Name the partner that sells the customer's licences, one of its partner links (partnershipCreate "
                     "links another).",
            )
        partner = uow.organisations.get(command.partner_id)
        if partner is None:
            raise NotFound(f"No partner with id '{command.partner_id}'.", field="partnerId")
        catalogue = load_catalogue(uow)
        product = catalogue.product(command.product_id)
        assert_importable_as_legacy(product)
        assert_csp_order_ready(_readiness(partner, customer), product)
        outcome = import_legacy(
            customer_id=customer.id, partner_id=partner.id, product=product, term=command.term, billing=command.billing,
            quantity=command.quantity, started_at=command.started_at, auto_renew=command.auto_renew, now=now,
            actor_id=principal.user_id, price_lookup=catalogue, renews_on=command.renews_on,
            charged_through=command.charged_through, previous_subscription_id=command.previous_subscription_id,
        )
        previous_id = outcome.events[0].details["previous_subscription_id"]
        # Each previous subscription is imported once, whatever became of its import since (cancelled, switched to
        # another product at a renewal): claimed for good in the import's transaction, so two imports of it at the
        # same instant cannot both be stored either.
        claim = f"legacy-import#{previous_id.casefold()}"
        earlier_id = uow.uniques.owner_of(claim)
        if earlier_id is not None:
            raise AlreadyExists(
                f"Subscription {previous_id} of the previous provider was imported already, as {earlier_id}.",
                field="previousSubscriptionId",
                hint=f"Change that subscription ({earlier_id}) instead of importing it again.",
            )
        uow.uniques.claim(
            claim, outcome.new_subscription.id,
            AlreadyExists(
                f"Subscription {previous_id} of the previous provider was imported at the same time.",
                field="previousSubscriptionId",
                hint="Find it among the customer's subscriptions (its history names the previous provider's id) and "
                     "change that one instead of importing it again.",
            ),
        )
        uow.subscriptions.add(outcome.new_subscription)
        return _receipt(outcome.new_subscription.id), outcome

    def load(uow: UnitOfWork, receipt: str) -> ChangeOutcome:
        """A retry with the same key: the subscription as it is now; the import booked no charge."""
        subscription_id = _read_receipt(receipt)["subscription_id"]
        subscription = uow.subscriptions.get(subscription_id)
        if subscription is None:
            raise NotFound(f"No subscription with id '{subscription_id}'.", field="subscriptionId")
        return ChangeOutcome(subscription.id, True, new_subscription=subscription)

    return run_idempotent(uow, principal=principal, operation="legacySubscriptionImport", key=idempotency_key,
                          payload=command, now=now, perform=perform, load=load)


# An order or change with an idempotency key stores a receipt as the idempotency record's resource id: the ids of the
# subscriptions it wrote and what it reported (its charges and credits, the scheduled change it deleted). A retry with
# the same key and input answers from it (the subscriptions read as they are now) and writes nothing; the charges are
# booked once. Records of orders from before receipts hold the bare subscription id.


def _receipt(subscription_id: str, *, charges=(), earlier_charges=(), new_subscription_id: str | None = None,
             deleted_scheduled_change: ScheduledChange | None = None) -> str:
    return json.dumps({
        "subscription_id": subscription_id, "new_subscription_id": new_subscription_id,
        "charges": [_charge_data(c) for c in charges], "earlier_charges": [_charge_data(c) for c in earlier_charges],
        "deleted_scheduled_change": None if deleted_scheduled_change is None else {
            "quantity": deleted_scheduled_change.quantity,
            "term": deleted_scheduled_change.term.value if deleted_scheduled_change.term else None,
            "billing": deleted_scheduled_change.billing.value if deleted_scheduled_change.billing else None,
            "product_id": deleted_scheduled_change.product_id,
        },
    }, separators=(",", ":"))


def _read_receipt(receipt: str) -> dict:
    if not receipt.startswith("{"):  # an order recorded before receipts: its subscription id
        return {"subscription_id": receipt, "new_subscription_id": None, "charges": [], "earlier_charges": [],
                "deleted_scheduled_change": None}
    return json.loads(receipt)


def _charge_data(charge: Charge) -> dict:
    return {
        "id": charge.charge_id, "subscription_id": charge.subscription_id, "customer_id": charge.customer_id,
        "partner_id": charge.partner_id, "kind": charge.kind.value, "period_start": charge.period_start.isoformat(),
        "period_end": charge.period_end.isoformat(), "quantity": charge.quantity,
        "unit_price": [str(charge.unit_price.amount), charge.unit_price.currency],
        "amount": [str(charge.amount.amount), charge.amount.currency], "description": charge.description,
        "changed_at": charge.changed_at.isoformat() if charge.changed_at else None, "billed_to_partner": charge.billed_to_partner,
    }


def _charges_of(data: list[dict]) -> tuple[Charge, ...]:
    return tuple(
        Charge(
            charge_id=c["id"], subscription_id=c["subscription_id"], customer_id=c["customer_id"], partner_id=c["partner_id"],
            kind=ChargeKind(c["kind"]), period_start=date.fromisoformat(c["period_start"]),
            period_end=date.fromisoformat(c["period_end"]), quantity=c["quantity"], unit_price=Money.of(*c["unit_price"]),
            amount=Money.of(*c["amount"]), description=c["description"],
            changed_at=datetime.fromisoformat(c["changed_at"]) if c["changed_at"] else None,
            billed_to_partner=c["billed_to_partner"],
        )
        for c in data
    )


@dataclass(frozen=True)
class ChangeResult:
    subscription: Subscription
    outcome: ChangeOutcome
    renewal: RenewalOutcome | None  # a renewal that was due and ran first


# The operation (mutation) whose idempotency keys a change uses: keys are scoped per operation, as for orders.
_CHANGE_OPERATIONS = {
    IncreaseSeats: "subscriptionSeatsIncrease", ReduceSeats: "subscriptionSeatsReduce", CancelSubscription: "subscriptionCancel",
    UpgradeRequest: "subscriptionUpgrade", ScheduleChange: "subscriptionRenewalChangeSchedule",
}


def change_subscription(
    uow: UnitOfWork, principal: Principal, subscription_id: str, change: ChangeRequest, *, now: datetime,
    idempotency_key: str | None = None,
) -> ChangeResult:
    """Apply one change in one transaction: the subscription, any new one (upgrade) and all charges. A due renewal is
    processed first, and the change is resolved against the subscription as renewed (its product may have switched).

    With an idempotency key (seat changes, cancellation, upgrade, a change scheduled for the renewal): a retry with the
    same key and input changes and books nothing again and returns what the first call reported (its charges and
    credits, the scheduled change it deleted) with the subscriptions as they are now; the same key with other input
    is refused (IDEMPOTENCY_KEY_REUSED)."""

    def perform(uow: UnitOfWork) -> tuple[str, ChangeResult]:
        subscription, customer = _require_changeable_subscription(uow, principal, subscription_id)
        catalogue = load_catalogue(uow)
        renewal = renew_due(uow, subscription, catalogue, now=now, customer=customer)
        _with_seats_paid_from_pages(uow, subscription, now=now)
        resolved = _resolve_change(uow, subscription, _as_principal(uow, principal, subscription, change), catalogue,
                                   customer=customer)
        outcome = apply_change(subscription, resolved, now=now, actor_id=principal.user_id, price_lookup=catalogue)
        uow.subscriptions.update(subscription)
        if outcome.new_subscription is not None:
            uow.subscriptions.add(outcome.new_subscription)
        for charge in (*renewal.charges, *outcome.cycle_charges, *outcome.charges):
            uow.charges.add(charge)
        receipt = _receipt(
            subscription.id, charges=outcome.charges, earlier_charges=(*renewal.charges, *outcome.cycle_charges),
            new_subscription_id=outcome.new_subscription.id if outcome.new_subscription else None,
            deleted_scheduled_change=outcome.deleted_scheduled_change,
        )
        changed = replace(subscription, version=subscription.version + 1)
        return receipt, ChangeResult(changed, outcome, None if renewal.nothing_to_do else renewal)

    def load(uow: UnitOfWork, receipt: str) -> ChangeResult:
        recorded = _read_receipt(receipt)
        subscription, _ = _require_changeable_subscription(uow, principal, recorded["subscription_id"])
        upgraded_id = recorded["new_subscription_id"]
        shown = [subscription, *filter(None, [uow.subscriptions.get(upgraded_id) if upgraded_id else None])]
        if any(renewal_due(s, now) for s in shown):
            shown = subscriptions_as_of(uow, shown, load_catalogue(uow), now=now)
        deleted = recorded["deleted_scheduled_change"]
        outcome = ChangeOutcome(
            subscription.id, True, charges=_charges_of(recorded["charges"]), cycle_charges=_charges_of(recorded["earlier_charges"]),
            scheduled_change_deleted=deleted is not None,
            deleted_scheduled_change=None if deleted is None else ScheduledChange(
                quantity=deleted["quantity"], term=Term(deleted["term"]) if deleted["term"] else None,
                billing=Billing(deleted["billing"]) if deleted["billing"] else None, product_id=deleted["product_id"],
            ),
            new_subscription=shown[1] if len(shown) > 1 else None,
        )
        return ChangeResult(shown[0], outcome, None)

    operation = _CHANGE_OPERATIONS.get(type(change), type(change).__name__)
    return run_idempotent(uow, principal=principal, operation=operation, key=idempotency_key,
                          payload={"subscription_id": subscription_id, "change": change}, now=now, perform=perform, load=load)


def _require_changeable_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str) -> tuple[Subscription, Organisation]:
    """The subscription and its customer, if the principal may change it."""
    subscription = _require_subscription(uow, principal, subscription_id)
    customer = uow.organisations.get(subscription.customer_id)
    require(
        customer is not None and can_change_subscription(principal, customer, partner_id=subscription.partner_id),
        "change this subscription",
    )
    return subscription, customer


def schedule_price_change(
    uow: UnitOfWork, principal: Principal, *, currency: str, percent, effective_from: date, product_ids: list[str] | None, today: date,
) -> Catalogue:
    require(can_manage_catalogue(principal), "change prices")
    if effective_from <= today:
        raise ValidationFailed("A price change is announced ahead: its date must be in the future.", field="effectiveFrom")
    with uow:
        catalogue = load_catalogue(uow).with_price_change(
            currency=currency, percent=percent, effective_from=effective_from, product_ids=product_ids
        )
        uow.catalogue.save(catalogue)
        uow.commit()
        return catalogue


# --- the customer's Microsoft side ---------------------------------------------------------


def _update_tenant(uow: UnitOfWork, customer: Organisation, tenant: MicrosoftTenant) -> Organisation:
    updated = replace(customer, microsoft=tenant)
    uow.organisations.update(updated)
    return updated


@dataclass(frozen=True)
class CreatedTenant:
    customer: Organisation
    admin_login: str
    initial_password: str  # shown once, never stored


def create_tenant(uow: UnitOfWork, principal: Principal, *, customer_id: str, prefix: str) -> CreatedTenant:
    with uow:
        customer = _require_customer(uow, principal, customer_id)
        require(can_order_csp(principal, customer), "create a Microsoft tenant for this customer")
        tenant = created_tenant(customer.microsoft or MicrosoftTenant(), prefix)
        if uow.uniques.is_claimed(tenant_domain_claim(tenant.domain)):
            raise prefix_taken(tenant.domain)
        uow.uniques.claim(tenant_domain_claim(tenant.domain), customer.id, prefix_taken(tenant.domain))
        updated = _update_tenant(uow, customer, tenant)
        uow.commit()
    password = secrets.token_urlsafe(12) + "!7a"  # meets Microsoft's complexity rules: upper/lower, digit, symbol
    return CreatedTenant(updated, tenant.admin_login, password)


def _tenant_registered_elsewhere(domain: str, field: str) -> AlreadyExists:
    return AlreadyExists(
        f"The tenant {domain} is registered for another customer already.", field=field,
        hint="Check the tenant's default domain with the customer: a tenant belongs to one customer.",
    )


def request_tenant_link(
    uow: UnitOfWork, mailer: Mailer, principal: Principal, *, customer_id: str, default_domain: str, contact_email: str,
    now: datetime, confirmation_url: str,
) -> Organisation:
    """Store the pending link, then e-mail the confirmation code to the customer's contact. When the mail service
    refuses it, the pending link stands (no error), the failure is logged and shown on the tenant
    (``link_email_failed_at``); requesting the link again sends a new code."""
    token = secrets.token_urlsafe(24)
    with uow:
        customer = _require_customer(uow, principal, customer_id)
        require(can_order_csp(principal, customer), "link a Microsoft tenant for this customer")
        tenant = link_requested(customer.microsoft or MicrosoftTenant(), default_domain, contact_email, token, now)
        # Early answer only: the claim itself is written when the customer confirms (confirm_tenant_link).
        if uow.uniques.is_claimed(tenant_domain_claim(tenant.domain)):
            raise _tenant_registered_elsewhere(tenant.domain, "defaultDomain")
        updated = _update_tenant(uow, customer, tenant)
        uow.commit()
    try:
        mailer.send(EmailMessage(
            to=(tenant.link_contact_email,),
            subject=f"Please confirm the link of your Microsoft tenant {tenant.domain}",
            body=(
                f"Your IT partner asked to link the Microsoft tenant {tenant.domain} of {customer.name}. "
                f"Open {confirmation_url}?customer={customer.id}&code={token} to confirm. "
                "Until you confirm, no licences can be ordered for this tenant."
            ),
        ))
    except Exception:  # noqa: BLE001 - a failed mail must not turn the stored request into an error
        # The code itself stays out of the log: it confirms the link. A new request sends a new one.
        log.exception(
            "could not e-mail the tenant link confirmation for %s of customer %s (%s) to %s; request the link again",
            tenant.domain, customer.id, customer.name, tenant.link_contact_email,
        )
        return _record_link_email_failed(uow, updated, token, now=now)
    return replace(updated, version=updated.version + 1)


def _record_link_email_failed(uow: UnitOfWork, requested: Organisation, token: str, *, now: datetime) -> Organisation:
    """Show on the pending link that its confirmation e-mail failed; never raises. Returns the customer as recorded
    (or, when recording fails too, as requested with the failure applied, logged)."""

    def record() -> Organisation:
        with uow:
            stored = uow.organisations.get(requested.id)
            if stored is None:
                raise NotFound(f"No customer with id '{requested.id}'.", field="customerId")
            marked = _update_tenant(uow, stored, link_email_failed(stored.microsoft or MicrosoftTenant(), token, now))
            uow.commit()
            return replace(marked, version=marked.version + 1)

    try:
        return retry_on_concurrent_update(record)
    except Exception:  # noqa: BLE001 - the request stands; the log above says what to do
        log.exception("could not record the failed tenant link e-mail of customer %s", requested.id)
        return replace(requested, microsoft=link_email_failed(requested.microsoft or MicrosoftTenant(), token, now),
                       version=requested.version + 1)


def confirm_tenant_link(uow: UnitOfWork, principal: Principal, *, customer_id: str, token: str, now: datetime) -> Organisation:
    """The confirmed link claims the tenant's domain, in the transaction that stores it, as creating a tenant does:
    one tenant, one customer, and no tenant created later under a linked <prefix>.onmicrosoft.com. A pending link
    claims nothing: it is unverified, and anyone could otherwise hold a domain by requesting a link."""
    with uow:
        customer = _require_customer(uow, principal, customer_id)
        require(can_confirm_tenant_link(principal, customer), "confirm this tenant link")
        tenant = link_confirmed(customer.microsoft or MicrosoftTenant(), token, now)
        uow.uniques.claim(tenant_domain_claim(tenant.domain), customer.id, _tenant_registered_elsewhere(tenant.domain, "customerId"))
        updated = _update_tenant(uow, customer, tenant)
        uow.commit()
        return updated


def accept_customer_agreement(uow: UnitOfWork, principal: Principal, *, customer_id: str, name: str, email: str, now: datetime) -> Organisation:
    with uow:
        customer = _require_customer(uow, principal, customer_id)
        require(can_record_customer_agreement(principal, customer), "record the Microsoft Customer Agreement")
        tenant = agreement_accepted(customer.microsoft or MicrosoftTenant(), name=name, email=email, now=now, recorded_by=principal.user_id)
        updated = _update_tenant(uow, customer, tenant)
        uow.commit()
        return updated


def grant_eligibility(
    uow: UnitOfWork, principal: Principal, *, customer_id: str, program: LicenceProgram, now: datetime,
    institution_type: InstitutionType | None = None, microsoft_reference: str | None = None,
) -> Organisation:
    require(can_grant_eligibility(principal), "grant licence eligibility")
    with uow:
        customer = _require_customer(uow, principal, customer_id)
        tenant = eligibility_granted(
            customer.microsoft or MicrosoftTenant(), program, now=now, granted_by=principal.user_id,
            institution_type=institution_type, microsoft_reference=microsoft_reference,
        )
        updated = _update_tenant(uow, customer, tenant)
        uow.commit()
        return updated


# --- reseller SaaS subscriptions ------------------------------------------------------------


@dataclass(frozen=True)
class NewSaasSubscription:
    product_id: str
    customer_company_name: str
    users: int
    customer_id: str | None = None
    invite_contact_name: str | None = None
    invite_email: str | None = None


def create_saas_subscription(
    uow: UnitOfWork, mailer: Mailer, principal: Principal, command: NewSaasSubscription, *, now: datetime,
    idempotency_key: str | None = None,
) -> SaasSubscription:
    """Store the subscription, then send the invitation: a mail failure after the commit leaves the subscription
    in place with its invitation FAILED (no error; ``resend_saas_invitation`` sends it again). A retry with the same
    idempotency key sends a FAILED invitation again and never creates a second subscription."""
    require(can_order_saas(principal, None), "create reseller subscriptions (partner staff with ordering permission)")
    created: list[SaasSubscription] = []

    def perform(uow: UnitOfWork) -> tuple[str, SaasSubscription]:
        if command.customer_id is not None:
            customer = _require_customer(uow, principal, command.customer_id)
            require(can_order_saas(principal, customer), "sell to this customer")
        catalogue = load_catalogue(uow)
        subscription = new_saas_subscription(
            partner_id=principal.organisation_id, product=catalogue.product(command.product_id),
            customer_company_name=command.customer_company_name, users=command.users, now=now, actor_id=principal.user_id,
            customer_id=command.customer_id, invite_contact_name=command.invite_contact_name, invite_email=command.invite_email,
        )
        uow.saas_subscriptions.save(subscription)
        uow.charges.add(subscription.opening_charge(catalogue))  # the first month, billed to the partner
        created.append(subscription)
        return subscription.id, replace(subscription, version=subscription.version + 1)

    result = run_idempotent(uow, principal=principal, operation="saasSubscriptionCreate", key=idempotency_key, payload=command,
                            now=now, perform=perform, load=lambda uow, id: uow.saas_subscriptions.get(id))
    if (created and result.invitation is not None) or _failed_invitation_to_retry(result):
        result, _ = _send_invitation(uow, mailer, result, now=now, actor_id=principal.user_id)
    return result


def resend_saas_invitation(
    uow: UnitOfWork, mailer: Mailer, principal: Principal, subscription_id: str, *, now: datetime,
    idempotency_key: str | None = None,
) -> SaasSubscription:
    """Send the invitation e-mail of an active subscription again (lost, or FAILED); raises ``InvitationNotDelivered``
    when the mail service refuses it, after recording that. A retry with the same key sends again only a FAILED one."""
    fresh: list[bool] = []

    def perform(uow: UnitOfWork) -> tuple[str, SaasSubscription]:
        subscription = _require_manageable_saas(uow, principal, subscription_id)
        subscription.assert_invitation_can_be_sent()
        fresh.append(True)
        return subscription.id, subscription

    result = run_idempotent(uow, principal=principal, operation="saasSubscriptionInvitationResend", key=idempotency_key,
                            payload={"saas_subscription_id": subscription_id}, now=now, perform=perform,
                            load=lambda uow, id: uow.saas_subscriptions.get(id))
    if not fresh and not _failed_invitation_to_retry(result):
        return result
    result, sent = _send_invitation(uow, mailer, result, now=now, actor_id=principal.user_id)
    if not sent:
        raise InvitationNotDelivered(result)
    return result


def _failed_invitation_to_retry(subscription: SaasSubscription) -> bool:
    """On a retry with the same idempotency key: the invitation whose sending failed, of a subscription still active.
    One still PENDING may be on its way (the first request is still sending it), so it is not sent twice."""
    invitation = subscription.invitation
    return invitation is not None and invitation.status is SaasInvitationStatus.FAILED and subscription.status is SaasStatus.ACTIVE


def _invitation_email(subscription: SaasSubscription) -> EmailMessage:
    invitation = subscription.invitation
    assert invitation is not None
    return EmailMessage(
        to=(invitation.email,),
        subject=f"You are invited to manage your e-mail signatures ({subscription.customer_company_name})",
        body=(
            f"Hello {invitation.contact_name}, your IT partner has set up e-mail signatures for "
            f"{subscription.customer_company_name}. Accept the invitation to manage your designs. "
            "Billing stays with your partner."
        ),
    )


def _send_invitation(
    uow: UnitOfWork, mailer: Mailer, subscription: SaasSubscription, *, now: datetime, actor_id: str,
) -> tuple[SaasSubscription, bool]:
    """Send the invitation after the subscription is stored and record the outcome; never raises. Returns the
    subscription as recorded (or, when recording fails, with the outcome applied) and whether the mail went out."""
    try:
        mailer.send(_invitation_email(subscription))
        sent = True
    except Exception:  # noqa: BLE001 - a failed mail must not turn the stored subscription into an error
        log.exception("could not send the invitation of SaaS subscription %s", subscription.id)
        sent = False

    def record() -> SaasSubscription:
        with uow:
            stored = uow.saas_subscriptions.get(subscription.id)
            if stored is None:
                raise NotFound(f"No SaaS subscription with id '{subscription.id}'.")
            stored.record_invitation_delivery(sent=sent, now=now, actor_id=actor_id)
            uow.saas_subscriptions.save(stored)
            uow.commit()
            return replace(stored, version=stored.version + 1)

    try:
        return retry_on_concurrent_update(record), sent
    except Exception:  # noqa: BLE001 - the mail's outcome stands; the stored state stays as it was (PENDING at creation)
        log.exception("could not record the invitation outcome (sent=%s) of SaaS subscription %s", sent, subscription.id)
        shown = replace(subscription, history=list(subscription.history))
        shown.record_invitation_delivery(sent=sent, now=now, actor_id=actor_id)
        return shown, sent


# --- changing a reseller SaaS subscription --------------------------------------------------


@dataclass(frozen=True)
class ChangeSaasUsers:
    users: int


@dataclass(frozen=True)
class DeactivateSaas:
    pass


@dataclass(frozen=True)
class ActivateSaas:
    pass


SaasChange = ChangeSaasUsers | DeactivateSaas | ActivateSaas

_SAAS_CHANGE_OPERATIONS = {
    ChangeSaasUsers: "saasSubscriptionUsersChange", DeactivateSaas: "saasSubscriptionDeactivate", ActivateSaas: "saasSubscriptionActivate",
}


def change_saas_subscription(
    uow: UnitOfWork, principal: Principal, subscription_id: str, change: SaasChange, *, now: datetime,
    idempotency_key: str | None = None,
) -> SaasSubscription:
    """Change the number of users or the status in one transaction with what it costs the partner (the months due
    before it, charged as they were; added users pro rata; a month a reactivation starts); a refused change writes
    nothing. A retry with the same idempotency key returns the subscription as it is, changing nothing again."""

    def perform(uow: UnitOfWork) -> tuple[str, SaasSubscription]:
        subscription = _require_manageable_saas(uow, principal, subscription_id)
        catalogue = load_catalogue(uow)
        charges = subscription.settle(catalogue, now=now)
        if isinstance(change, ChangeSaasUsers):
            subscription.change_users(change.users, now=now, actor_id=principal.user_id)
        elif isinstance(change, DeactivateSaas):
            subscription.deactivate(now=now, actor_id=principal.user_id)
        else:
            subscription.activate(now=now, actor_id=principal.user_id)
        charges += subscription.settle(catalogue, now=now, actor_id=principal.user_id)
        uow.saas_subscriptions.save(subscription)
        for charge in charges:
            uow.charges.add(charge, bill_date=berlin_date(now))  # a month settled late is billed by the next run too
        return subscription.id, replace(subscription, version=subscription.version + 1)

    return run_idempotent(uow, principal=principal, operation=_SAAS_CHANGE_OPERATIONS[type(change)], key=idempotency_key,
                          payload={"saas_subscription_id": subscription_id, "change": change}, now=now, perform=perform,
                          load=lambda uow, id: uow.saas_subscriptions.get(id))


def _require_manageable_saas(uow: UnitOfWork, principal: Principal, subscription_id: str) -> SaasSubscription:
    """The subscription if the caller may change it; not found if the caller may not see it (as in the list)."""
    subscription = get_visible_saas_subscription(uow, principal, subscription_id)
    if subscription is None:
        raise NotFound(f"No SaaS subscription with id '{subscription_id}'.", field="saasSubscriptionId")
    customer = uow.organisations.get(subscription.customer_id) if subscription.customer_id else None
    require(
        can_manage_saas_subscription(principal, partner_id=subscription.partner_id, customer=customer),
        "change this reseller subscription (the selling partner's staff with ordering permission)",
    )
    return subscription


def get_visible_saas_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str) -> SaasSubscription | None:
    """One reseller SaaS subscription, for whoever sees its partner's sales (as in the list); else ``None``."""
    found = uow.saas_subscriptions.get(subscription_id)
    return found if found is not None and can_view_partner_sales(principal, found.partner_id) else None


def list_saas_subscriptions(uow: UnitOfWork, principal: Principal, *, first: int | None, after: str | None) -> Page[SaasSubscription]:
    """The distributor sees every partner's; a partner its own."""
    if principal.is_distributor:
        return uow.saas_subscriptions.list_all(limit=page_size(first), cursor=after)
    if not (principal.is_partner and can_view_partner_sales(principal, principal.organisation_id)):
        return Page([], None)
    return uow.saas_subscriptions.list_for_partner(principal.organisation_id, limit=page_size(first), cursor=after)


# --- the renewal job -----------------------------------------------------------------------


@dataclass
class RenewalRunSummary:
    run_date: date
    renewed: int = 0
    expired: int = 0
    skipped: int = 0  # read but nothing to do (renewed concurrently, or not yet due)
    conflicts: int = 0
    charges: int = 0
    cycles_charged: int = 0  # subscriptions whose monthly cycle charge was booked
    # Renewed on their current product: the customer could no longer have the product switch scheduled for the renewal.
    product_switches_dropped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()  # refused by a business rule (``job_runs.due_item``): left as they were, still due

    def as_dict(self) -> dict:
        return summary_dict(self)


def end_of_berlin_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=BERLIN) - timedelta(microseconds=1)


def renew_due_subscriptions(
    uow_factory, *, run_date: date, now: datetime, page_limit: int = 50, catch_up_days: int = CATCH_UP_DAYS,
) -> RenewalRunSummary:
    """Renew (or end) every subscription whose term ends on ``run_date`` or up to ``catch_up_days`` days before (what a
    missed run left), up to ``now``; then book the monthly cycles due over the same days.

    Reads only due items (the renewal index, keyed by Berlin date and term end). Each
    subscription is its own conditional write, so a crash half-way loses nothing and a
    re-run continues where it stopped: renewed subscriptions have left the due partition.
    One that a business rule refuses (its product has no price on the renewal date) is left
    as it was and reported in ``failed``; the run goes on with the others (``job_runs``).
    """
    from domain.errors import Conflict

    summary = RenewalRunSummary(run_date)
    catalogue = load_catalogue(uow_factory())
    cutoff = min(now, end_of_berlin_day(run_date))
    for day in days_to_catch_up(run_date, catch_up_days):  # the days before: what a late or missed run left
        cursor: str | None = None
        while True:
            page = uow_factory().subscriptions.list_due_for_renewal(day, cutoff, limit=page_limit, cursor=cursor)
            for subscription in page.items:
                with due_item(summary, subscription.id) as item:
                    uow = uow_factory()
                    with uow:
                        outcome = renew_due(uow, subscription, catalogue, now=now)
                        if outcome.nothing_to_do:
                            summary.skipped += 1
                            continue
                        uow.subscriptions.update(subscription)
                        for charge in outcome.charges:
                            uow.charges.add(charge)
                        try:
                            uow.commit()
                        except Conflict:
                            summary.conflicts += 1  # changed concurrently: its next due date is re-read next run
                            continue
                if item.failed:
                    continue
                if outcome.result.value == "EXPIRED":
                    summary.expired += 1
                else:
                    summary.renewed += 1
                if dropped_product_switch(outcome):
                    summary.product_switches_dropped += (subscription.id,)
                    log.warning("renewal of %s: the scheduled product switch was dropped (%s)", subscription.id,
                                next(e.details.get("reason") for e in outcome.events
                                     if e.kind is SubscriptionEventKind.SCHEDULED_PRODUCT_SWITCH_DROPPED))
                summary.charges += len(outcome.charges)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    _charge_due_cycles(uow_factory, summary, run_date=run_date, cutoff=cutoff, page_limit=page_limit, catch_up_days=catch_up_days)
    return summary


def _charge_due_cycles(
    uow_factory, summary: RenewalRunSummary, *, run_date: date, cutoff: datetime, page_limit: int, catch_up_days: int,
) -> None:
    """Book the monthly charges of annual terms whose next cycle starts on the run date or the days before.

    Same shape as the renewals: only due items are read (the cycle index), each subscription
    is one transaction (its charges plus its moved cycle pointer), and a re-run finds the
    booked ones gone from the due partition.
    """
    from domain.errors import Conflict

    for day in days_to_catch_up(run_date, catch_up_days):
        cursor: str | None = None
        while True:
            page = uow_factory().subscriptions.list_due_cycles(day, cutoff, limit=page_limit, cursor=cursor)
            for subscription in page.items:
                with due_item(summary, subscription.id) as item:
                    booked, charges = charge_due_cycles(subscription, cutoff)
                    if booked.charged_through == subscription.charged_through:
                        summary.skipped += 1
                        continue
                    uow = uow_factory()
                    with uow:
                        uow.subscriptions.update(booked)
                        for charge in charges:
                            uow.charges.add(charge)
                        try:
                            uow.commit()
                        except Conflict:
                            summary.conflicts += 1
                            continue
                if item.failed:
                    continue
                summary.cycles_charged += 1
                summary.charges += len(charges)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor


# --- billing reseller SaaS subscriptions (the daily job) --------------------------------------


@dataclass
class SaasBillingRunSummary:
    run_date: date
    subscriptions: int = 0  # read: active subscriptions with a payment date due
    months_charged: int = 0  # handed to billing (the partner's invoice)
    conflicts: int = 0  # changed meanwhile (by the reseller or an overlapping run); the next run reads it again
    failed: tuple[str, ...] = ()  # a month refused by a business rule (``job_runs.due_item``): it and later ones still due

    def as_dict(self) -> dict:
        return summary_dict(self)


def bill_saas_subscriptions(uow_factory, *, run_date: date, now: datetime, page_limit: int = 50) -> SaasBillingRunSummary:
    """The daily job of reseller SaaS subscriptions: each month whose payment date is on or before ``run_date`` is
    charged to the partner once, for the users at the time, and the next payment date moves on a month.

    Reads only due subscriptions (the sparse payment index: active ones keyed by their next payment date, up to the
    run date, so a missed run is caught up: every missed month of a subscription, oldest first), in pages, and the
    catalogue once. Each month is one transaction: the charge (its id derived from subscription and period, refused
    if it exists) and the advanced subscription under its version. A crash loses nothing and a re-run continues
    where it stopped; a month is never charged twice. The charges are billed by the next billing run (``run_date``).
    A month a business rule refuses (no price on its payment date) is not charged; the subscription is reported in
    ``failed`` and stays due from that month, the run goes on with the others (``job_runs``)."""
    summary = SaasBillingRunSummary(run_date)
    catalogue: Catalogue | None = None
    cursor: str | None = None
    while True:
        page = uow_factory().saas_subscriptions.list_payments_due(run_date, limit=page_limit, cursor=cursor)
        for subscription in page.items:
            summary.subscriptions += 1
            catalogue = catalogue or load_catalogue(uow_factory())
            with due_item(summary, subscription.id):
                _charge_due_saas_months(uow_factory, subscription, catalogue, run_date, now, summary)
        if page.next_cursor is None:
            return summary
        cursor = page.next_cursor


def _charge_due_saas_months(
    uow_factory, subscription: SaasSubscription, catalogue: Catalogue, run_date: date, now: datetime, summary: SaasBillingRunSummary,
) -> None:
    while True:
        advanced = copy.deepcopy(subscription)
        charge = advanced.charge_next_month(catalogue, today=run_date, now=now)
        if charge is None:
            return
        uow = uow_factory()
        try:
            with uow:
                uow.saas_subscriptions.save(advanced)  # first: a changed subscription is a plain conflict
                uow.charges.add(charge, bill_date=run_date)
                uow.commit()
        except Conflict:
            summary.conflicts += 1
            return  # its later months wait for the next run, which reads it again
        summary.months_charged += 1
        subscription = replace(advanced, version=advanced.version + 1)
        if copy.deepcopy(subscription).charge_next_month(catalogue, today=run_date, now=now) is not None:
            # Another month is due (a run was missed): go on from the subscription as stored, as the save may have moved
            # its oldest history to a page (a save of the copy would write that page again and be refused).
            subscription = uow_factory().saas_subscriptions.get(subscription.id)


def index_saas_subscriptions(uow_factory, *, page_limit: int = 50) -> ResaveSummary:
    """Once, after the deploy that brought the payment index: subscriptions saved before are not on it, so the daily
    job would never charge them. Each active one is saved again unchanged (but its version), which puts it on the
    index under its stored next payment date: the job then charges the months due from that date on (the first month
    of those created before SaaS billing existed is not charged). Reads every SaaS subscription (kind-index): a
    one-off, never scheduled; running it again changes nothing the job relies on."""

    def save(uow, subscription: SaasSubscription) -> bool:
        if subscription.status is not SaasStatus.ACTIVE:
            return False  # off the index anyway; reactivating saves it there
        uow.saas_subscriptions.save(subscription)
        return True

    return resave_all(uow_factory, lambda uow, cursor: uow.saas_subscriptions.list_all(limit=page_limit, cursor=cursor), save)


