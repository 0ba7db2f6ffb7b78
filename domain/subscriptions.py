"""Microsoft CSP (New Commerce) subscriptions and reseller SaaS subscriptions.

The CSP ``Subscription`` is a mutable aggregate: each operation validates everything
first, then changes the object, appends a ``SubscriptionEvent`` and returns an outcome
with the charges or credits billing must book. A refused operation leaves the object
untouched. ``preview_change`` runs the very same operation on a deep copy, so a preview
and the real change can never disagree.

Time model (see ``domain.calendar``): terms and billing cycles are anchored on an
instant (UTC) and computed as ``anchor + n × months``; pro-rata days are counted on the
Europe/Berlin calendar dates of the instants involved.

Decided here, where ``DOMAIN.md`` leaves room:

* The 168-hour window is half-open: seats bought at 2023-01-15 10:00 may be removed
  while ``now < 2023-01-22 10:00``; at 10:00 exactly it has closed.
* Cancelling removes every seat, so it is allowed only while *every* seat lot's window
  is open (within 168 hours of the start or renewal and of every later addition).
* A pro-rata amount counts the day of the change as part of the new state: a seat added
  or removed on 2023-01-20 in the cycle 2023-01-15..2023-02-15 is charged or credited
  for 26 of 31 days.
* Seats whose windows have closed can never be removed again in the term, so an increase
  keeps their lots as one (``_merge_closed_lots``), and at most ``MAX_OPEN_SEAT_LOTS``
  additions may be inside their windows at once (more are refused until the oldest
  window closes): however often seats are added, a subscription holds few lots.
* ``history`` holds the newer events; the store moves the oldest to history pages of
  their own once the subscription's item grows large (``history_pages`` counts them), so
  no sequence of changes outgrows DynamoDB's item limit and the full history stays readable.
  Reseller SaaS subscriptions keep theirs the same way (without, two user changes a day
  outgrew the limit in under three years).
* Operations (other than ``renew``) are refused while a renewal is due but not yet
  processed; the service calls ``renew_due`` first (it is a no-op when nothing is due), the
  function the renewal job uses, and reads show its result on a copy (``as_of``).

Legacy (pre-New-Commerce, ``ProductKind.CSP_LEGACY``) subscriptions follow the legacy CSP model the distributor's
own help pages describe (seeds: terra-cloud-microsoft-csp, the legacy ("current") model and the April 2023 letter), not
New Commerce's 168-hour windows. At Microsoft a legacy subscription is always an annual subscription with a fixed start
and end and price protection for additions; what can be removed depends on how it is paid:

* **Billed monthly**: the quantity can be adjusted down at any time, and the subscription cancelled at any time
  (``reducible_any_time``). Removed seats stop at once; the month already started is billed at the highest volume
  reached in it, so nothing is credited for it, and the next months are billed at the new quantity (20 seats at
  EUR 12.00 in the month 2026-11-01..2026-12-01, 5 removed on 2026-11-18: November 240.00, December 180.00). Seats
  added back in the same month are paid for it already: only those beyond its highest volume are charged (the seats
  removed and paid for are kept on the subscription, ``RemovedSeatsPaidFor``, as its events may move to history pages).
  Decided: "the calendar month that started" is the subscription's billing month (anchored on its start, as every
  cycle here), the month its regular charge covers.
* **Billed annually**: reductions and cancellation follow the windows as before (seats added here have their own, the
  renewal opens one for every seat; imported seats none, ``import_legacy_subscription``). The distributor, and only
  it, may cancel one at any time with a credit note for the rest of the term, pro rata by day and rounded half-up like
  every credit (the distributor cancels legacy orders paid annually, e.g. to re-book them as New Commerce, and credits
  the remaining period): unit price × seats × days left (the day of the cancellation included) ÷ days of the term.
  Seats the previous provider billed for the term running at their import are not credited here, where they were
  never charged (``PreviousProviderBilling``); seats added here are.
* Renewals keep the subscription's own renewal date and take the price list's price of that day, as before.

Reseller SaaS subscriptions are billed to the selling partner, never to the customer (who
may not even be an organisation here: only a company name; "the reseller keeps billing"):

* **Creation** charges the first month at once: creation date (Berlin) up to the first
  payment date, users × the catalogue's monthly price per user in force that day (created
  2026-11-23 with 12 users at EUR 1.25: 15.00 for 2026-11-23..2026-12-23).
* **Each payment date** charges the next month for the users at that moment, at the price in
  force on the payment date, and moves the next payment date on by one anchored month
  (anchored on the creation day, Berlin calendar: created 2024-01-31 → 02-29, 03-31, 04-30).
  A late run charges every missed month in order, each for the users of its run, never a
  month twice (the charge id is derived from subscription and period).
* **More users** in a paid month are charged at once, pro rata for the rest of it (the day of
  the change included, ``prorated_between``, rounded half-up like CSP seat additions): +3
  users on 2026-12-08 in 2026-11-23..2026-12-23 → 3 × 1.25 × 15/30 = 1.88. **Fewer users**
  take effect at the next payment date: nothing is refunded, and users added back in the
  same month cost nothing until the number paid for (``paid_users``) is exceeded.
* **Deactivating** refunds nothing and stops the charges from the next payment date on.
  **Reactivating** while the paid month runs charges nothing (pro rata only for users beyond
  those paid for); once it has ended, a new month starts on the day of reactivation: it is
  charged at once and becomes the new anchor (reactivated 2027-01-02 after the month that
  ended 2026-12-23: 2027-01-02..2027-02-02 charged, next payment 2027-02-02). Reactivating on
  the payment date itself keeps the anchor and charges that day's month.
* Before any change, the months whose payment date has come are charged for the users and
  status as they were (``settle``), so a change on a payment date the daily job has not
  reached yet neither skips nor re-prices that month.
* **On the partner's invoice** (``Charge.billed_to_partner``): the partner pays whatever its
  partnership link with the customer says; the catalogue price is the reseller's price, so
  neither reseller discount nor cashback applies. Lines name product, customer company,
  users and period.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Callable, Mapping, Union

from domain import ids
from domain.calendar import (
    add_months,
    anchored_period,
    berlin_date,
    days_between,
    ensure_utc,
    format_utc,
    next_anchored_after,
    period_index_containing,
)
from domain.catalogue import (
    Billing,
    Catalogue,
    LicenceProgram,
    NotEligible,
    PriceLookup,
    Product,
    ProductKind,
    Term,
    assert_hosted_desktop_allowed,
    validate_term_billing,
)
from domain.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from domain.money import Money, round_cents
from domain.validation import require_email, require_text

CANCELLATION_WINDOW = timedelta(hours=168)
# What a partner is told it can do with a legacy subscription billed annually outside every window.
_DISTRIBUTOR_CANCELS_LEGACY = (
    "As a legacy subscription billed annually, it can be cancelled at any time by the distributor (subscriptionCancel "
    "by distributor staff), with a credit note for the rest of the term: ask the distributor (an e-mail to its support "
    "address opens a ticket), e.g. to re-book the licences as New Commerce (subscriptionOrder)."
)
# Seat additions of one subscription inside their 168-hour windows at once (each keeps its own window). Decided: a
# reseller adding seats one by one for every new hire stays far below it; it bounds the subscription's size.
MAX_OPEN_SEAT_LOTS = 250
SYSTEM_ACTOR_ID = "system"  # the actor of scheduled jobs such as renewals

IdFactory = Callable[[str], str]


def new_id(prefix: str, id_factory: IdFactory | None = None) -> str:
    """An opaque id such as ``lot_3f…``; tests inject ``id_factory`` for deterministic ids."""
    return (id_factory or ids.new_id)(prefix)


# --- errors -------------------------------------------------------------------------------


class CancellationWindowClosed(DomainError):
    """Seats can no longer be removed: their 168-hour windows have closed.

    ``next_window_opens_at`` is the next renewal (``None`` when auto-renew is off and the
    subscription simply ends); ``reducible_seats_now`` is how many seats could still go.
    """

    code = ErrorCode.CANCELLATION_WINDOW_CLOSED

    def __init__(
        self,
        message: str,
        *,
        next_window_opens_at: datetime | None,
        reducible_seats_now: int,
        requested_seats: int,
        field: str | None = "quantity",
        hint: str | None = None,
        alternatives: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, field=field, hint=hint)
        self.next_window_opens_at = next_window_opens_at
        self.reducible_seats_now = reducible_seats_now
        self.requested_seats = requested_seats
        self.alternatives = alternatives  # what can be done instead, each naming the operation that does it


class CspOrderNotReady(PreconditionFailed):
    """Every missing precondition for a CSP order at once; ``errors`` lists each of them."""

    def __init__(self, errors: list[PreconditionFailed]) -> None:
        super().__init__(
            " ".join(error.message for error in errors),
            field=errors[0].field if len(errors) == 1 else None,
            hint=errors[0].hint if len(errors) == 1 else None,
        )
        self.errors = errors


# --- value objects ------------------------------------------------------------------------


class SubscriptionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"  # stopped at once by a cancellation or by upgrading every seat
    EXPIRED = "EXPIRED"  # reached its term end with auto-renew off


class EndReason(str, Enum):
    CANCELLED = "CANCELLED"
    UPGRADED = "UPGRADED"
    NOT_RENEWED = "NOT_RENEWED"


class SubscriptionEventKind(str, Enum):
    CREATED = "CREATED"
    IMPORTED = "IMPORTED"
    SEATS_ADDED = "SEATS_ADDED"
    SEATS_REDUCED = "SEATS_REDUCED"
    CANCELLED = "CANCELLED"
    AUTO_RENEW_CHANGED = "AUTO_RENEW_CHANGED"
    CHANGE_SCHEDULED = "CHANGE_SCHEDULED"
    SCHEDULED_CHANGE_REMOVED = "SCHEDULED_CHANGE_REMOVED"  # the user withdrew it
    SCHEDULED_CHANGE_DELETED = "SCHEDULED_CHANGE_DELETED"  # a mid-term change wiped it, as at Microsoft
    SCHEDULED_PRODUCT_SWITCH_DROPPED = "SCHEDULED_PRODUCT_SWITCH_DROPPED"  # at the renewal the customer no longer may have it
    UPGRADED = "UPGRADED"
    RENEWED = "RENEWED"
    EXPIRED = "EXPIRED"
    USERS_CHANGED = "USERS_CHANGED"
    ACTIVATED = "ACTIVATED"
    DEACTIVATED = "DEACTIVATED"
    NEXT_PAYMENT_DATE_ADVANCED = "NEXT_PAYMENT_DATE_ADVANCED"
    HOSTED_DESKTOP_CHANGED = "HOSTED_DESKTOP_CHANGED"
    INVITATION_SENT = "INVITATION_SENT"
    INVITATION_NOT_DELIVERED = "INVITATION_NOT_DELIVERED"


@dataclass(frozen=True)
class SubscriptionEvent:
    event_id: str
    kind: SubscriptionEventKind
    at: datetime  # when the change took effect (a late renewal job still records the renewal instant)
    actor_id: str
    details: Mapping[str, str] = field(default_factory=dict)


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _details(**values: object) -> dict[str, str]:
    return {key: _text(value) for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class SeatLot:
    """Seats bought together; they share one 168-hour cancellation window."""

    lot_id: str
    quantity: int
    added_at: datetime

    @property
    def cancellation_window_closes_at(self) -> datetime:
        return self.added_at + CANCELLATION_WINDOW

    def window_open_at(self, now: datetime) -> bool:
        return self.added_at <= now < self.cancellation_window_closes_at


@dataclass(frozen=True)
class ScheduledChange:
    """What changes at the next renewal; ``None`` keeps the current value."""

    quantity: int | None = None
    term: Term | None = None
    billing: Billing | None = None
    product_id: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.quantity is None and self.term is None and self.billing is None and self.product_id is None


class ChargeKind(str, Enum):
    RECURRING = "RECURRING"
    PRORATA_INCREASE = "PRORATA_INCREASE"
    CREDIT = "CREDIT"


@dataclass(frozen=True)
class Charge:
    """An amount billing must book; ``charge_id`` is deterministic so booking it twice is detectable."""

    charge_id: str
    subscription_id: str
    customer_id: str
    partner_id: str
    kind: ChargeKind
    period_start: date
    period_end: date  # exclusive
    quantity: int
    unit_price: Money
    amount: Money  # negative for credits
    description: str
    # When the seats it charges were added or those it credits removed: orders the seat changes of one day, which the
    # period alone cannot. None for a regular charge (the seats held since its cycle began) and on charges stored before
    # it was kept.
    changed_at: datetime | None = None
    # A reseller SaaS charge: the partner pays it whatever its partnership link with the customer says, without
    # reseller discount or cashback; ``customer_id`` is the partner itself when the customer is only a company name.
    billed_to_partner: bool = False


def charge_id_for(subscription_id: str, kind: ChargeKind, period_start: date, period_end: date, reference: str) -> str:
    """Same subscription, kind, period and reference (lot, event or cycle) → same id."""
    key = "|".join([subscription_id, kind.value, period_start.isoformat(), period_end.isoformat(), reference])
    return "chg_" + hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class BillingCycle:
    """One billing period of a term: a month for monthly billing, the whole term for annual upfront."""

    index: int  # 0-based within the term
    starts_at: datetime
    ends_at: datetime  # exclusive

    @property
    def start_date(self) -> date:
        return berlin_date(self.starts_at)

    @property
    def end_date(self) -> date:
        return berlin_date(self.ends_at)

    @property
    def days(self) -> int:
        return days_between(self.start_date, self.end_date)


def prorated_amount(unit_price: Money, seats: int, change_on: date, cycle: BillingCycle) -> Money:
    """unit price × seats × days left in the cycle (the change day included) ÷ days in the cycle, half-up."""
    return prorated_between(unit_price, seats, change_on, cycle.start_date, cycle.end_date)


def prorated_between(unit_price: Money, seats: int, change_on: date, period_start: date, period_end: date) -> Money:
    """unit price × seats × days left in the period [start, end) (the change day included) ÷ days in it, half-up."""
    days_left = days_between(change_on, period_end)
    exact = unit_price.amount * seats * days_left / days_between(period_start, period_end)
    return Money(round_cents(exact), unit_price.currency)


@dataclass(frozen=True)
class ChangeOutcome:
    subscription_id: str
    changed: bool
    events: tuple[SubscriptionEvent, ...] = ()
    charges: tuple[Charge, ...] = ()  # credits have negative amounts
    scheduled_change_deleted: bool = False
    deleted_scheduled_change: ScheduledChange | None = None
    affected_lots: tuple[SeatLot, ...] = ()  # the seats added, removed or moved, as they were
    new_subscription: "Subscription | None" = None  # the opened or upgrade-created subscription
    # Regular charges of billing cycles that had started but were not booked yet (the nightly job books a cycle hours
    # after it starts), booked before the seats changed. Not part of what the change costs (``net_amount``).
    cycle_charges: tuple[Charge, ...] = ()

    @property
    def net_amount(self) -> Money | None:
        """Sum of every charge and credit of the outcome, or ``None`` if there is none."""
        if not self.charges:
            return None
        total = Money(Decimal("0.00"), self.charges[0].amount.currency)
        for charge in self.charges:
            total = total + charge.amount
        return total


class RenewalResult(str, Enum):
    RENEWED = "RENEWED"
    EXPIRED = "EXPIRED"
    NOT_DUE = "NOT_DUE"  # the term end is still ahead: nothing to do
    NOT_ACTIVE = "NOT_ACTIVE"  # cancelled or already expired: nothing to do


@dataclass(frozen=True)
class RenewalOutcome:
    subscription_id: str
    result: RenewalResult
    renewals: int = 0  # terms started by this call (more than one if the job was late)
    events: tuple[SubscriptionEvent, ...] = ()
    charges: tuple[Charge, ...] = ()
    applied_scheduled_change: ScheduledChange | None = None
    previous_unit_price: Money | None = None
    unit_price: Money | None = None

    @property
    def nothing_to_do(self) -> bool:
        return self.result in (RenewalResult.NOT_DUE, RenewalResult.NOT_ACTIVE)


# --- the CSP subscription aggregate -------------------------------------------------------


def _require_count(value: int, field_name: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed(f"{label} must be a whole number of at least 1, not {value!r}.", field=field_name)
    return value


def _take_newest_first(
    lots: list[SeatLot], seats: int, eligible: Callable[[SeatLot], bool]
) -> tuple[list[SeatLot], list[SeatLot]]:
    """Split ``seats`` off the newest eligible lots; returns (remaining lots, taken parts)."""
    newest_first = sorted(range(len(lots)), key=lambda i: (lots[i].added_at, i), reverse=True)
    left_in_lot = [lot.quantity for lot in lots]
    taken: list[SeatLot] = []
    still_needed = seats
    for i in newest_first:
        if still_needed == 0:
            break
        if not eligible(lots[i]):
            continue
        take = min(still_needed, left_in_lot[i])
        left_in_lot[i] -= take
        still_needed -= take
        taken.append(replace(lots[i], quantity=take))
    remaining = [replace(lot, quantity=left_in_lot[i]) for i, lot in enumerate(lots) if left_in_lot[i] > 0]
    return remaining, taken


@dataclass(frozen=True)
class PreviousProviderBilling:
    """What the previous provider billed for a legacy subscription imported here (its ``IMPORTED`` event): ``seats``
    seats up to ``billed_through`` (exclusive), the end of the cycle running at the import. No credit is given here for
    them up to that date: the money was never charged here."""

    seats: int
    billed_through: date

    @classmethod
    def of(cls, events: "list[SubscriptionEvent] | tuple[SubscriptionEvent, ...]") -> "PreviousProviderBilling | None":
        """From the subscription's full history (its first event is ``IMPORTED`` for an imported subscription)."""
        for event in events:
            if event.kind is SubscriptionEventKind.IMPORTED and "previous_provider_billed_through" in event.details:
                return cls(int(event.details["quantity"]), date.fromisoformat(event.details["previous_provider_billed_through"]))
        return None


@dataclass(frozen=True)
class RemovedSeatsPaidFor:
    """Legacy billed monthly: ``seats`` removed without credit in the billing month that ends on ``month_ends_on``
    (Berlin, exclusive) and not added back since. The month is billed at its highest volume, so they are paid for it:
    adding them back in it costs nothing more. Kept on the subscription rather than read from its events, because the
    store moves the oldest events to history pages (a busy month's reductions too) and a change reads only the item."""

    seats: int
    month_ends_on: date

    def in_month(self, cycle: "BillingCycle") -> int:
        """The seats removed and paid for in ``cycle``; none for any other month."""
        return self.seats if self.month_ends_on == cycle.end_date else 0


def _removed_seats_paid_for_in(events: "list[SubscriptionEvent] | tuple[SubscriptionEvent, ...]", cycle: "BillingCycle") -> int:
    """``RemovedSeatsPaidFor`` of the month ``cycle`` as the events record it: its reductions without credit, less the
    seats added back free since. Complete only with every event of the month (see ``Subscription.month_events_paged``)."""
    end = cycle.end_date.isoformat()
    free = 0
    for event in events:
        if event.at < cycle.starts_at:
            continue
        if event.kind is SubscriptionEventKind.SEATS_REDUCED and event.details.get("month_billed_at_highest_volume_until") == end:
            free += int(event.details["seats"])
        elif event.kind is SubscriptionEventKind.SEATS_ADDED:
            free -= int(event.details.get("seats_billed_for_the_month_already", "0"))
    return max(free, 0)


@dataclass
class Subscription:
    """A CSP subscription of one product for one customer, ordered by one partner.

    ``started_at`` is when the subscription was created; ``term_anchor_at`` is the instant
    terms and billing cycles are counted from (the start, or for an upgrade-created
    subscription its parent's anchor so it shares the parent's term end and windows). Term 0
    starts ``term_month_offset`` months after the anchor (0 until the term length changes at a
    renewal); the current term is number ``term_index`` from there. Every boundary is the
    anchor plus whole months, never a chained (possibly clamped) date: started 2024-01-31 with
    the term changed to P1Y at the renewal of 2024-02-29, the cycles still end 03-31, 04-30.
    """

    id: str
    customer_id: str
    partner_id: str
    product_id: str
    product_kind: ProductKind
    term: Term
    billing: Billing
    status: SubscriptionStatus
    auto_renew: bool
    unit_price: Money  # per seat per billing period, locked for the current term
    started_at: datetime
    term_anchor_at: datetime
    term_index: int
    seat_lots: list[SeatLot]
    scheduled_change: ScheduledChange | None = None
    history: list[SubscriptionEvent] = field(default_factory=list)
    parent_subscription_id: str | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    # Start of the latest billing cycle whose recurring charge was booked (None: only the cycle in which the
    # subscription or its current term began, which opening, renewal or upgrade charge themselves).
    charged_through: datetime | None = None
    # The licences run on a hosted desktop (terminal server, cloud desktop): only plans with that right (the catalogue
    # marks them) may, and a switch to another plan (upgrade, scheduled product change) must keep the right.
    hosted_desktop: bool = False
    # Months from ``term_anchor_at`` to the start of term 0. Subscriptions stored before it was kept have 0 (and, if
    # their term length changed at a renewal, that renewal instant as their anchor).
    term_month_offset: int = 0
    # Pages of older events the store moved out of ``history`` (oldest first), read only for the full history.
    history_pages: int = 0
    # Legacy billed monthly: the seats removed in the running billing month that are paid for it (``RemovedSeatsPaidFor``),
    # set by every seat change of such a subscription. None on subscriptions stored before it was kept (read from the
    # events then, ``seats_paid_from_history``).
    removed_seats_paid_for: RemovedSeatsPaidFor | None = None
    version: int = 0  # optimistic locking; infra increments it, the domain only carries it

    def __post_init__(self) -> None:
        validate_term_billing(self.term, self.billing)

    # -- reading --------------------------------------------------------------------------

    @property
    def quantity(self) -> int:
        return sum(lot.quantity for lot in self.seat_lots)

    @property
    def currency(self) -> str:
        return self.unit_price.currency

    @property
    def is_active(self) -> bool:
        return self.status is SubscriptionStatus.ACTIVE

    @property
    def is_legacy(self) -> bool:
        return self.product_kind is ProductKind.CSP_LEGACY

    @property
    def reducible_any_time(self) -> bool:
        """A legacy subscription billed monthly: seats can be removed, and the subscription cancelled, at any time,
        without credit for the month started (billed at its highest volume)."""
        return self.is_legacy and self.billing is Billing.MONTHLY

    @property
    def cancellable_by_distributor_with_credit_note(self) -> bool:
        """A legacy subscription billed annually: the distributor may cancel it at any time, crediting the rest of the
        term."""
        return self.is_legacy and self.billing is Billing.ANNUAL

    def _anchored(self, months_into_term: int) -> datetime:
        """The anchor plus the months to the current term's start plus ``months_into_term`` (never chained)."""
        return add_months(self.term_anchor_at, self.term_month_offset + self.term_index * self.term.months + months_into_term)

    @property
    def term_started_at(self) -> datetime:
        return self._anchored(0)

    @property
    def term_ends_at(self) -> datetime:
        return self._anchored(self.term.months)

    @property
    def next_renewal_at(self) -> datetime | None:
        """The next renewal instant, or ``None`` if the subscription will not renew."""
        return self.term_ends_at if self.is_active and self.auto_renew else None

    @property
    def next_window_opens_at(self) -> datetime | None:
        """When seats can next be removed after today's windows: the next renewal."""
        return self.next_renewal_at

    @property
    def cycles_per_term(self) -> int:
        return self.term.months // self.billing.months

    def billing_cycles(self) -> list[BillingCycle]:
        """The billing cycles of the current term: 12 for annual term billed monthly, else 1."""
        months = self.billing.months
        return [
            BillingCycle(index, self._anchored(index * months), self._anchored((index + 1) * months))
            for index in range(self.cycles_per_term)
        ]

    def billing_cycle_at(self, instant: datetime) -> BillingCycle:
        instant = ensure_utc(instant)
        for cycle in self.billing_cycles():
            if cycle.starts_at <= instant < cycle.ends_at:
                return cycle
        raise ValidationFailed(
            f"{format_utc(instant)} is outside the current term "
            f"({format_utc(self.term_started_at)} to {format_utc(self.term_ends_at)}).",
            field="at",
        )

    def open_lots(self, now: datetime) -> list[SeatLot]:
        now = ensure_utc(now)
        return [lot for lot in self.seat_lots if lot.window_open_at(now)]

    def reducible_seats(self, now: datetime) -> int:
        """Seats that can be removed at ``now``: those inside their 168-hour windows; every seat of a legacy
        subscription billed monthly (the last one by cancelling)."""
        if self.reducible_any_time and self.is_active:
            return self.quantity
        return sum(lot.quantity for lot in self.open_lots(now))

    def _book_started_cycles(self, now: datetime) -> tuple[Charge, ...]:
        """Book the regular charge of every billing cycle that started by ``now`` and is not booked yet, before seats
        are added, removed or moved: a cycle is charged for the seats held at its start. Without this, seats removed
        between a cycle's start and the nightly booking were credited for a month never charged, and seats added at
        the very start of a cycle were charged twice (pro rata and again by the booking)."""
        booked, charges = charge_due_cycles(self, now)
        self.charged_through = booked.charged_through
        return tuple(charges)

    # -- guards and helpers ---------------------------------------------------------------

    def _require_changeable(self, now: datetime) -> datetime:
        now = ensure_utc(now)
        if self.status is SubscriptionStatus.CANCELLED:
            how = "had all its seats upgraded" if self.end_reason is EndReason.UPGRADED else "was cancelled"
            ended = f" at {format_utc(self.ended_at)}" if self.ended_at else ""
            raise Conflict(
                f"Subscription {self.id} {how}{ended}; it cannot be changed or restored.",
                field="subscriptionId",
                hint="Order a new subscription instead.",
            )
        if self.status is SubscriptionStatus.EXPIRED:
            raise Conflict(
                f"Subscription {self.id} expired at {format_utc(self.ended_at or self.term_ends_at)} "
                "and cannot be changed.",
                field="subscriptionId",
                hint="Order a new subscription instead.",
            )
        if now >= self.term_ends_at:
            raise Conflict(
                f"The term of subscription {self.id} ended at {format_utc(self.term_ends_at)} and the renewal "
                "has not been processed yet.",
                field="subscriptionId",
                hint="Renew the subscription first, then retry the change.",
            )
        if now < self.started_at or now < self.term_started_at:
            raise ValidationFailed(
                f"A change at {format_utc(now)} would predate the current term of subscription {self.id}.",
                field="at",
            )
        return now

    def _record(
        self,
        kind: SubscriptionEventKind,
        at: datetime,
        actor_id: str,
        details: dict[str, str],
        id_factory: IdFactory | None,
    ) -> SubscriptionEvent:
        event = SubscriptionEvent(new_id("evt", id_factory), kind, at, actor_id, details)
        self.history.append(event)
        return event

    def _delete_scheduled_change(
        self, reason: SubscriptionEventKind, now: datetime, actor_id: str, id_factory: IdFactory | None
    ) -> tuple[ScheduledChange | None, list[SubscriptionEvent]]:
        """A mid-term change wipes the change scheduled for the renewal, as Microsoft does."""
        deleted = self.scheduled_change
        if deleted is None:
            return None, []
        self.scheduled_change = None
        event = self._record(
            SubscriptionEventKind.SCHEDULED_CHANGE_DELETED,
            now,
            actor_id,
            _details(reason=reason, **_scheduled_details(deleted)),
            id_factory,
        )
        return deleted, [event]

    def _charge(
        self,
        kind: ChargeKind,
        *,
        period_start: date,
        period_end: date,
        quantity: int,
        amount: Money,
        reference: str,
        description: str,
        subscription: "Subscription | None" = None,
        changed_at: datetime | None = None,
    ) -> Charge:
        owner = subscription or self
        return Charge(
            charge_id=charge_id_for(owner.id, kind, period_start, period_end, reference),
            subscription_id=owner.id,
            customer_id=owner.customer_id,
            partner_id=owner.partner_id,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            quantity=quantity,
            unit_price=owner.unit_price,
            amount=amount,
            description=description,
            changed_at=changed_at,
        )

    def _window_closed(self, *, requested: int, reducible: int, cancelling: bool) -> CancellationWindowClosed:
        """The refusal of a reduction or cancellation outside the windows, with what can be done instead. A cancellation
        cannot be scheduled: ending the subscription is turning auto-renew off (or letting it end when it is off)."""
        renewal = self.next_window_opens_at
        if cancelling:
            what = (
                f"Subscription {self.id} cannot be cancelled now: {self.quantity - reducible} of its "
                f"{self.quantity} seats are past their 168-hour cancellation window."
            )
        else:
            what = (
                f"{requested} seat(s) cannot be removed now: only {reducible} seat(s) are still inside "
                "their 168-hour cancellation window."
            )
        if reducible and cancelling:
            what += f" Up to {reducible} seat(s) can still be removed now."
        ends = format_utc(self.term_ends_at)
        remove_now = f"Remove up to {reducible} seat(s) now, the ones still inside their window (subscriptionSeatsReduce)."
        if renewal is not None:
            message = f"{what} The next window opens with the renewal at {format_utc(renewal)}."
            end = f"Turn auto-renew off so the subscription ends at {ends} (subscriptionAutoRenewSet)."
            if cancelling:
                hint = f"Turn auto-renew off (subscriptionAutoRenewSet) so the subscription ends at {ends} instead of renewing."
                alternatives = (end,)
                if self.quantity > 1:
                    alternatives += (f"Schedule fewer seats for the renewal at {format_utc(renewal)} (subscriptionRenewalChangeSchedule).",)
            else:
                hint = (
                    f"Schedule the change for the renewal at {format_utc(renewal)} (subscriptionRenewalChangeSchedule), or "
                    "turn auto-renew off (subscriptionAutoRenewSet) so the subscription ends then."
                )
                alternatives = (f"Schedule the new quantity for the renewal at {format_utc(renewal)} (subscriptionRenewalChangeSchedule).", end)
        else:
            message = f"{what} Auto-renew is off, so the subscription ends at {ends}."
            let_end = f"Let the subscription end at {ends}: auto-renew is off, nothing else to do."
            if cancelling:
                hint = f"Nothing to do: auto-renew is off, so the subscription ends at {ends}."
                alternatives = (let_end,)
            else:
                hint = (f"Let it end at {ends}, or turn auto-renew on (subscriptionAutoRenewSet) and schedule the change for the "
                        "renewal (subscriptionRenewalChangeSchedule).")
                alternatives = (
                    let_end,
                    f"Turn auto-renew on (subscriptionAutoRenewSet), then schedule the change for the renewal at {ends} "
                    "(subscriptionRenewalChangeSchedule).",
                )
        if reducible:
            alternatives += (remove_now,)
            if cancelling:
                hint += f" Up to {reducible} seat(s) can be removed now (subscriptionSeatsReduce)."
        if self.cancellable_by_distributor_with_credit_note:
            if cancelling:
                hint += " " + _DISTRIBUTOR_CANCELS_LEGACY
            alternatives += (_DISTRIBUTOR_CANCELS_LEGACY,)
        return CancellationWindowClosed(
            message,
            next_window_opens_at=renewal,
            reducible_seats_now=reducible,
            requested_seats=requested,
            field="subscriptionId" if cancelling else "quantity",
            hint=hint,
            alternatives=alternatives,
        )

    def _how_to_end(self, now: datetime) -> str:
        """What ends the subscription instead of removing every seat, as accepted at ``now``: a cancellation while every
        seat is inside its window; else turning auto-renew off (or nothing, when it is off already)."""
        if self.reducible_any_time:
            return ("Cancel the subscription instead (subscriptionCancel): a legacy subscription billed monthly can be "
                    f"cancelled at any time; the month started (to {format_utc(self.billing_cycle_at(now).ends_at)}) stays "
                    "billed.")
        reducible = self.reducible_seats(now)
        if reducible == self.quantity:
            closes = min(lot.cancellation_window_closes_at for lot in self.seat_lots)
            return (f"Cancel the subscription instead (subscriptionCancel), possible until {format_utc(closes)} while "
                    "every seat is inside its 168-hour window.")
        ends = format_utc(self.term_ends_at)
        past = f"{self.quantity - reducible} of its {self.quantity} seats are past their 168-hour window, so it cannot be cancelled"
        if self.auto_renew:
            hint = f"To end it, turn auto-renew off (subscriptionAutoRenewSet): it then ends at {ends} ({past})."
        else:
            hint = f"Auto-renew is off, so it ends at {ends}; nothing else to do ({past})."
        if reducible:
            hint += f" Up to {reducible} seat(s) can be removed now (subscriptionSeatsReduce)."
        if self.cancellable_by_distributor_with_credit_note:
            hint += " " + _DISTRIBUTOR_CANCELS_LEGACY
        return hint

    # -- hosted desktop ---------------------------------------------------------------------

    def set_hosted_desktop(
        self, assigned: bool, *, product: Product, scheduled_product: Product | None = None, now: datetime, actor_id: str,
        id_factory: IdFactory | None = None,
    ) -> ChangeOutcome:
        """Assign the licences to a hosted desktop (terminal server, cloud desktop), or take them off it.

        Only a plan whose licence terms carry that right may be assigned; so must the product a switch scheduled for
        the renewal names (``scheduled_product``). Taking licences off is always allowed.
        """
        now = self._require_changeable(now)
        if product.id != self.product_id:
            raise ValidationFailed(f"Subscription {self.id} is for {self.product_id}, not {product.id}.", field="productId")
        if assigned == self.hosted_desktop:
            return ChangeOutcome(self.id, False)
        if assigned:
            assert_hosted_desktop_allowed(product)
            if scheduled_product is not None and not scheduled_product.allows_hosted_desktop:
                raise NotEligible(
                    f"The switch to {scheduled_product.name} scheduled for the renewal at {format_utc(self.term_ends_at)} "
                    "does not include the right to run on a hosted desktop.",
                    field="scheduledChange.productId",
                    hint="Remove the scheduled switch, or schedule a plan with that right, then assign the hosted desktop.",
                )
        self.hosted_desktop = assigned
        event = self._record(SubscriptionEventKind.HOSTED_DESKTOP_CHANGED, now, actor_id, _details(hosted_desktop=assigned), id_factory)
        return ChangeOutcome(self.id, True, events=(event,))

    def _require_hosted_desktop_right(self, product: Product, *, field: str, what: str) -> None:
        if self.hosted_desktop and not product.allows_hosted_desktop:
            raise NotEligible(
                f"Subscription {self.id} runs on a hosted desktop, and {product.name} does not include that right.",
                field=field,
                hint=f"{what} a plan with the right, or take the licences off the hosted desktop first "
                     "(subscriptionHostedDesktopSet).",
            )

    # -- quantity ---------------------------------------------------------------------------

    def increase_seats(
        self, seats: int, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> ChangeOutcome:
        """Add seats now, as a new lot with its own 168-hour window.

        Charged pro rata for the rest of the current billing cycle: the rest of the month
        for monthly billing (later months are billed by the recurring charge), the rest of
        the term for annual upfront billing. The term's locked unit price applies.
        """
        now = self._require_changeable(now)
        _require_count(seats, "seats", "The number of seats to add")
        open_lots = self.open_lots(now)
        if len(open_lots) >= MAX_OPEN_SEAT_LOTS:
            oldest_closes = min(lot.cancellation_window_closes_at for lot in open_lots)
            raise Conflict(
                f"Subscription {self.id} has {len(open_lots)} seat additions inside their 168-hour windows, the most it "
                "keeps apart.",
                field="seats",
                hint=f"Add seats again from {format_utc(oldest_closes)}, when the window of the oldest of them closes; "
                     "adding several seats at once counts as one addition.",
            )
        cycle_charges = self._book_started_cycles(now)
        self._merge_closed_lots(now)
        lot = SeatLot(new_id("lot", id_factory), seats, now)
        cycle = self.billing_cycle_at(now)
        today = berlin_date(now)
        removed_and_paid = self._seats_billed_in_month_and_removed(cycle)
        already_billed = min(seats, removed_and_paid)
        charged_seats = seats - already_billed
        amount = prorated_amount(self.unit_price, charged_seats, today, cycle)
        charges = []
        if amount.amount:
            charges.append(
                self._charge(
                    ChargeKind.PRORATA_INCREASE,
                    period_start=today,
                    period_end=cycle.end_date,
                    quantity=charged_seats,
                    amount=amount,
                    reference=lot.lot_id,
                    description=(
                        f"{seats} seat(s) added on {today.isoformat()}: {self.unit_price} × {charged_seats} × "
                        f"{days_between(today, cycle.end_date)}/{cycle.days} days"
                        + (f" ({already_billed} of them billed for the month already)" if already_billed else "")
                    ),
                    changed_at=now,
                )
            )
        self.seat_lots.append(lot)
        if self.reducible_any_time:
            self.removed_seats_paid_for = RemovedSeatsPaidFor(removed_and_paid - already_billed, cycle.end_date)
        event = self._record(
            SubscriptionEventKind.SEATS_ADDED,
            now,
            actor_id,
            _details(
                seats=seats,
                lot_id=lot.lot_id,
                quantity=self.quantity,
                cancellation_window_closes_at=lot.cancellation_window_closes_at,
                charged=amount,
                seats_billed_for_the_month_already=already_billed or None,
            ),
            id_factory,
        )
        deleted, deletion_events = self._delete_scheduled_change(event.kind, now, actor_id, id_factory)
        return ChangeOutcome(
            self.id,
            True,
            events=(event, *deletion_events),
            charges=tuple(charges),
            scheduled_change_deleted=deleted is not None,
            deleted_scheduled_change=deleted,
            affected_lots=(lot,),
            cycle_charges=cycle_charges,
        )

    def _seats_billed_in_month_and_removed(self, cycle: BillingCycle) -> int:
        """Legacy billed monthly: seats removed in the month ``cycle`` without credit and not added back since. The month
        is billed at its highest volume, so adding them back in it costs nothing more (20 seats, 5 removed and 5 added
        back in November: November stays 20 × the price). Kept on the subscription (``removed_seats_paid_for``); for a
        subscription stored before, read from its events (completed from its history pages by the service when some of
        the month's events were moved there, ``month_events_paged``)."""
        if not self.reducible_any_time:
            return 0
        if self.removed_seats_paid_for is not None:
            return self.removed_seats_paid_for.in_month(cycle)
        return _removed_seats_paid_for_in(self.history, cycle)

    def month_events_paged(self, now: datetime) -> bool:
        """A legacy subscription billed monthly stored before ``removed_seats_paid_for`` was kept, some of whose events of
        the billing month running at ``now`` may be on history pages (no event older than the month is left on it): the
        figure must then be read from the full history once (``seats_paid_from_history``)."""
        if not (self.reducible_any_time and self.is_active and self.removed_seats_paid_for is None and self.history_pages):
            return False
        now = ensure_utc(now)
        if not self.term_started_at <= now < self.term_ends_at:
            return False
        return not self.history or self.history[0].at >= self.billing_cycle_at(now).starts_at

    def seats_paid_from_history(self, full_history: "list[SubscriptionEvent] | tuple[SubscriptionEvent, ...]", now: datetime) -> None:
        """Keep ``removed_seats_paid_for`` of the billing month running at ``now``, read from ``full_history`` (the events
        of the history pages, then those kept on the subscription); see ``month_events_paged``."""
        cycle = self.billing_cycle_at(now)
        self.removed_seats_paid_for = RemovedSeatsPaidFor(_removed_seats_paid_for_in(full_history, cycle), cycle.end_date)

    def _merge_closed_lots(self, now: datetime) -> None:
        """Keep the lots whose windows have closed as one, with the oldest one's id and time: their seats can no longer
        be removed this term, so nothing tells them apart but when they were added. Only after the started billing
        cycles are booked (``_book_started_cycles``): a regular charge counts the seats held at its cycle's start,
        and every cycle still to be booked starts after all of them."""
        closed = [lot for lot in self.seat_lots if lot.cancellation_window_closes_at <= now]
        if len(closed) < 2:
            return
        oldest = min(closed, key=lambda lot: lot.added_at)
        merged = replace(oldest, quantity=sum(lot.quantity for lot in closed))
        self.seat_lots = [merged, *(lot for lot in self.seat_lots if lot.cancellation_window_closes_at > now)]

    def reduce_seats(
        self, seats: int, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> ChangeOutcome:
        """Remove seats whose 168-hour window is still open, newest lots first, with a pro-rata credit.

        A legacy subscription billed monthly (``reducible_any_time``) gives up any of its seats at any time, at once and
        without credit: the month started stays billed at its highest volume, the next months at the new quantity.
        Removing every seat is not a reduction: use ``cancel``.
        """
        now = self._require_changeable(now)
        _require_count(seats, "seats", "The number of seats to remove")
        if seats > self.quantity:
            raise ValidationFailed(
                f"Cannot remove {seats} seats: subscription {self.id} has only {self.quantity}.",
                field="quantity",
            )
        if seats == self.quantity:
            raise ValidationFailed("A reduction cannot leave 0 seats.", field="quantity", hint=self._how_to_end(now))
        reducible = self.reducible_seats(now)
        if seats > reducible:
            raise self._window_closed(requested=seats, reducible=reducible, cancelling=False)
        cycle_charges = self._book_started_cycles(now)
        any_time = self.reducible_any_time
        removable = (lambda lot: True) if any_time else (lambda lot: lot.window_open_at(now))
        remaining, removed = _take_newest_first(self.seat_lots, seats, removable)
        cycle = self.billing_cycle_at(now)
        today = berlin_date(now)
        # Legacy billed monthly: the month started is billed at its highest volume, so nothing of it is credited.
        credit = Money(Decimal("0.00"), self.currency) if any_time else -prorated_amount(self.unit_price, seats, today, cycle)
        if any_time:
            self.removed_seats_paid_for = RemovedSeatsPaidFor(self._seats_billed_in_month_and_removed(cycle) + seats, cycle.end_date)
        self.seat_lots = remaining
        event = self._record(
            SubscriptionEventKind.SEATS_REDUCED,
            now,
            actor_id,
            _details(
                seats=seats,
                quantity=self.quantity,
                lot_ids=",".join(lot.lot_id for lot in removed),
                credited=credit,
                month_billed_at_highest_volume_until=cycle.end_date if any_time else None,
            ),
            id_factory,
        )
        charges = []
        if credit.amount:
            charges.append(
                self._charge(
                    ChargeKind.CREDIT,
                    period_start=today,
                    period_end=cycle.end_date,
                    quantity=seats,
                    amount=credit,
                    reference=event.event_id,
                    description=(
                        f"{seats} seat(s) removed on {today.isoformat()}: {self.unit_price} × {seats} × "
                        f"{days_between(today, cycle.end_date)}/{cycle.days} unused days credited"
                    ),
                    changed_at=now,
                )
            )
        deleted, deletion_events = self._delete_scheduled_change(event.kind, now, actor_id, id_factory)
        return ChangeOutcome(
            self.id,
            True,
            events=(event, *deletion_events),
            charges=tuple(charges),
            scheduled_change_deleted=deleted is not None,
            deleted_scheduled_change=deleted,
            affected_lots=tuple(removed),
            cycle_charges=cycle_charges,
        )

    def change_quantity(
        self, quantity: int, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> ChangeOutcome:
        """Set the seat count: more seats is an increase, fewer a reduction, the same count a no-op."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValidationFailed(f"The quantity must be a whole number, not {quantity!r}.", field="quantity")
        if quantity == 0:
            now = self._require_changeable(now)
            raise ValidationFailed("The quantity cannot be set to 0.", field="quantity", hint=self._how_to_end(now))
        if quantity > self.quantity:
            return self.increase_seats(quantity - self.quantity, now=now, actor_id=actor_id, id_factory=id_factory)
        if quantity < self.quantity:
            return self.reduce_seats(self.quantity - quantity, now=now, actor_id=actor_id, id_factory=id_factory)
        self._require_changeable(now)
        return ChangeOutcome(self.id, False)

    def cancel(
        self, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None, by_distributor: bool = False,
        full_history: "list[SubscriptionEvent] | tuple[SubscriptionEvent, ...] | None" = None,
    ) -> ChangeOutcome:
        """Stop the subscription at once, crediting the unused part of the current billing cycle.

        Allowed only while every seat lot is inside its 168-hour window (cancelling removes all
        seats, and seats past their window cannot be removed). A cancelled subscription can
        never be changed or restored.

        Legacy subscriptions: billed monthly, at any time and without credit (the month started is billed at its highest
        volume); billed annually, also at any time when the distributor cancels (``by_distributor``, decided by
        ``domain.policy``), with a credit note for the rest of the term except for the seats the previous provider
        billed for it (read from ``full_history``, the subscription's history including its moved pages; default
        ``history``).
        """
        now = self._require_changeable(now)
        reducible = self.reducible_seats(now)
        credit_note = False
        if reducible < self.quantity:
            if not (by_distributor and self.cancellable_by_distributor_with_credit_note):
                raise self._window_closed(requested=self.quantity, reducible=reducible, cancelling=True)
            credit_note = True
        cycle_charges = self._book_started_cycles(now)
        cycle = self.billing_cycle_at(now)
        today = berlin_date(now)
        seats = self.quantity
        removed = tuple(self.seat_lots)
        days = f"{days_between(today, cycle.end_date)}/{cycle.days}"
        not_credited = 0
        if self.reducible_any_time:
            # Legacy billed monthly: the month started is billed at its highest volume, so nothing of it is credited.
            credit = Money(Decimal("0.00"), self.currency)
        else:
            if credit_note:
                not_credited = self._seats_billed_by_previous_provider(
                    full_history if full_history is not None else self.history, cycle)
            credit = -prorated_amount(self.unit_price, seats - not_credited, today, cycle)
        self.seat_lots = []
        self.status = SubscriptionStatus.CANCELLED
        self.ended_at = now
        self.end_reason = EndReason.CANCELLED
        event = self._record(
            SubscriptionEventKind.CANCELLED, now, actor_id,
            _details(
                seats=seats, credited=credit, by_distributor_with_credit_note=credit_note or None,
                seats_billed_by_previous_provider=not_credited or None,
                month_billed_at_highest_volume_until=cycle.end_date if self.reducible_any_time else None,
            ),
            id_factory,
        )
        charges = []
        if credit.amount:
            if credit_note:
                description = (
                    f"Legacy subscription cancelled by the distributor on {today.isoformat()}: credit note for the rest of "
                    f"the term, {today.isoformat()} to {cycle.end_date.isoformat()}: {self.unit_price} × "
                    f"{seats - not_credited} × {days} days"
                )
                if not_credited:
                    description += f" ({not_credited} imported seat(s) billed by the previous provider not credited)"
            else:
                description = (
                    f"Cancelled on {today.isoformat()}: {self.unit_price} × {seats} × {days} unused days credited"
                )
            charges.append(
                self._charge(
                    ChargeKind.CREDIT,
                    period_start=today,
                    period_end=cycle.end_date,
                    quantity=seats - not_credited,
                    amount=credit,
                    reference=event.event_id,
                    description=description,
                    changed_at=now,
                )
            )
        deleted, deletion_events = self._delete_scheduled_change(event.kind, now, actor_id, id_factory)
        return ChangeOutcome(
            self.id,
            True,
            events=(event, *deletion_events),
            charges=tuple(charges),
            scheduled_change_deleted=deleted is not None,
            deleted_scheduled_change=deleted,
            affected_lots=removed,
            cycle_charges=cycle_charges,
        )

    def _seats_billed_by_previous_provider(self, events, cycle: BillingCycle) -> int:
        """Of the seats held now, those the previous provider billed for ``cycle``: the seats imported, if the cycle
        ends by the date it billed through (the cycle running at the import; ``PreviousProviderBilling``). Reductions
        and upgrades take the newest seats first and the imported ones are the oldest, so as many of them are left as
        seats are held, up to the number imported."""
        billed = PreviousProviderBilling.of(events)
        if billed is None or cycle.end_date > billed.billed_through:
            return 0
        return min(billed.seats, self.quantity)

    # -- renewal settings -----------------------------------------------------------------

    def set_auto_renew(
        self, enabled: bool, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> ChangeOutcome:
        """Turn auto-renew on or off. Off also deletes the scheduled change: there is no renewal to apply it to."""
        now = self._require_changeable(now)
        if not isinstance(enabled, bool):
            raise ValidationFailed(f"Auto-renew is on or off, not {enabled!r}.", field="autoRenew")
        if self.auto_renew == enabled:
            return ChangeOutcome(self.id, False)
        self.auto_renew = enabled
        event = self._record(
            SubscriptionEventKind.AUTO_RENEW_CHANGED,
            now,
            actor_id,
            _details(auto_renew=enabled, term_ends_at=self.term_ends_at),
            id_factory,
        )
        deleted, deletion_events = (None, [])
        if not enabled:
            deleted, deletion_events = self._delete_scheduled_change(event.kind, now, actor_id, id_factory)
        return ChangeOutcome(
            self.id,
            True,
            events=(event, *deletion_events),
            scheduled_change_deleted=deleted is not None,
            deleted_scheduled_change=deleted,
        )

    def schedule_change(
        self,
        change: ScheduledChange,
        *,
        now: datetime,
        actor_id: str,
        price_lookup: PriceLookup,
        product: Product | None = None,
        access: ProductAccess | None = None,
        id_factory: IdFactory | None = None,
    ) -> ChangeOutcome:
        """Schedule quantity, term, billing or product for the next renewal (replacing any earlier one).

        ``product`` must be given when the change names a product. The new offer must have a
        price on the renewal date, so the renewal cannot fail for want of one. A product is
        refused when the customer could not order it (``access``: eligibility, tenant domain,
        an add-on's base product).
        """
        now = self._require_changeable(now)
        if not self.auto_renew:
            raise Conflict(
                f"Subscription {self.id} will not renew (auto-renew is off), so nothing can be scheduled "
                "for a renewal.",
                field="autoRenew",
                hint="Turn auto-renew on first.",
            )
        if change.is_empty:
            raise ValidationFailed("The scheduled change changes nothing.", field="scheduledChange")
        if change.quantity == 0 and not isinstance(change.quantity, bool):
            raise ValidationFailed(
                "A subscription cannot renew with 0 seats.",
                field="scheduledChange.quantity",
                hint=f"To end it at the renewal at {format_utc(self.term_ends_at)}, turn auto-renew off (subscriptionAutoRenewSet).",
            )
        if change.quantity is not None:
            _require_count(change.quantity, "scheduledChange.quantity", "The quantity after the renewal")
        term = change.term or self.term
        billing = change.billing or self.billing
        validate_term_billing(term, billing, field="scheduledChange.billing")
        product_id = change.product_id or self.product_id
        if change.product_id is not None:
            if product is None or product.id != change.product_id:
                raise ValidationFailed(
                    "The product to switch to at the renewal must be given.", field="scheduledChange.productId"
                )
            if product.kind is not ProductKind.CSP_NCE:
                raise ValidationFailed(
                    f"{product.name} is not a New Commerce subscription product.",
                    field="scheduledChange.productId",
                )
            self._require_hosted_desktop_right(product, field="scheduledChange.productId", what="Schedule")
            if access is not None:
                access.assert_may_switch_to(
                    product, field="scheduledChange.productId",
                    alternative="Otherwise schedule another product, or leave the product out of the change to keep the current one.",
                )
        price_lookup(product_id, term, billing, berlin_date(self.term_ends_at), currency=self.currency)
        replaced = self.scheduled_change
        self.scheduled_change = change
        event = self._record(
            SubscriptionEventKind.CHANGE_SCHEDULED,
            now,
            actor_id,
            _details(renewal_at=self.term_ends_at, replaced=replaced is not None, **_scheduled_details(change)),
            id_factory,
        )
        return ChangeOutcome(self.id, True, events=(event,))

    def remove_scheduled_change(
        self, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> ChangeOutcome:
        now = self._require_changeable(now)
        removed = self.scheduled_change
        if removed is None:
            return ChangeOutcome(self.id, False)
        self.scheduled_change = None
        event = self._record(
            SubscriptionEventKind.SCHEDULED_CHANGE_REMOVED, now, actor_id, _scheduled_details(removed), id_factory
        )
        return ChangeOutcome(self.id, True, events=(event,))

    def drop_scheduled_product_switch(
        self, refusal: DomainError, *, price_lookup: PriceLookup, now: datetime, actor_id: str = SYSTEM_ACTOR_ID,
        id_factory: IdFactory | None = None,
    ) -> SubscriptionEvent | None:
        """Before a due renewal: take the product switch out of the scheduled change, because the customer may no
        longer have that product (``refusal`` says why, e.g. the education eligibility was revoked after the switch
        was scheduled). The renewal then keeps the current product. Quantity stays scheduled; term and billing stay
        when the current product has a price for them on the renewal date. Recorded at the renewal instant.
        """
        change = self.scheduled_change
        if change is None or change.product_id is None:
            return None
        renewal_at = self.term_ends_at
        kept = replace(change, product_id=None)
        if kept.term is not None or kept.billing is not None:
            try:
                price_lookup(self.product_id, kept.term or self.term, kept.billing or self.billing, berlin_date(renewal_at),
                             currency=self.currency)
            except NotFound:
                kept = replace(kept, term=None, billing=None)
        self.scheduled_change = None if kept.is_empty else kept
        reasons = getattr(refusal, "errors", None) or [refusal]
        return self._record(
            SubscriptionEventKind.SCHEDULED_PRODUCT_SWITCH_DROPPED,
            renewal_at,
            actor_id,
            _details(dropped_product_id=change.product_id, reason=" ".join(r.message for r in reasons), processed_at=now,
                     **_scheduled_details(kept)),
            id_factory,
        )

    # -- upgrade --------------------------------------------------------------------------

    def upgrade(
        self,
        *,
        from_product: Product,
        to_product: Product,
        seats: int | None = None,
        now: datetime,
        actor_id: str,
        price_lookup: PriceLookup,
        access: ProductAccess | None = None,
        id_factory: IdFactory | None = None,
    ) -> ChangeOutcome:
        """Move ``seats`` (default all) to a new subscription of a higher product, one the customer
        could order (``access``: eligibility, tenant domain, an add-on's base product).

        The new subscription shares this one's anchor, term and billing, so it ends when
        this term ends; the moved seats keep their lots (and so their 168-hour windows),
        newest lots first. Its unit price comes from the price list on the upgrade date.
        Charges: this subscription is credited the unused part of the current billing cycle
        for the moved seats and the new one is charged pro rata for the same days, so the
        customer pays the difference. Upgrading is allowed at any time; moving every seat
        ends this subscription (CANCELLED, reason UPGRADED).
        """
        now = self._require_changeable(now)
        if from_product.id != self.product_id:
            raise ValidationFailed(
                f"Subscription {self.id} is for {self.product_id}, not {from_product.id}.", field="productId"
            )
        if to_product.kind is not ProductKind.CSP_NCE or not from_product.can_upgrade_to(to_product):
            targets = ", ".join(sorted(from_product.upgrade_targets)) or "none"
            switch = self._renewal_switch_hint(to_product, price_lookup=price_lookup, access=access)
            raise ValidationFailed(
                f"{to_product.name} is not an upgrade of {from_product.name}.",
                field="targetProductId",
                hint=f"{switch + ' ' if switch else ''}Upgrades of {from_product.name}: {targets}.",
            )
        self._require_hosted_desktop_right(to_product, field="targetProductId", what="Upgrade to")
        seats = self.quantity if seats is None else _require_count(seats, "seats", "The number of seats to upgrade")
        if seats > self.quantity:
            raise ValidationFailed(
                f"Cannot upgrade {seats} seats: subscription {self.id} has only {self.quantity}.", field="seats"
            )
        if access is not None:
            others = ", ".join(sorted(from_product.upgrade_targets - {to_product.id})) or "none"
            access.assert_may_switch_to(
                to_product, field="targetProductId",
                alternative=f"Otherwise upgrade to another product (upgrades of {from_product.name}: {others}).",
            )
        today = berlin_date(now)
        new_price = price_lookup(to_product.id, self.term, self.billing, today, currency=self.currency)
        cycle_charges = self._book_started_cycles(now)
        remaining, moved = _take_newest_first(self.seat_lots, seats, lambda lot: True)
        cycle = self.billing_cycle_at(now)
        days_text = f"{days_between(today, cycle.end_date)}/{cycle.days} days"

        upgraded = Subscription(
            id=new_id("sub", id_factory),
            customer_id=self.customer_id,
            partner_id=self.partner_id,
            product_id=to_product.id,
            product_kind=to_product.kind,
            term=self.term,
            billing=self.billing,
            status=SubscriptionStatus.ACTIVE,
            auto_renew=self.auto_renew,
            unit_price=new_price,
            started_at=now,
            term_anchor_at=self.term_anchor_at,
            term_index=self.term_index,
            term_month_offset=self.term_month_offset,
            seat_lots=list(moved),
            parent_subscription_id=self.id,
            hosted_desktop=self.hosted_desktop,
        )
        created = upgraded._record(
            SubscriptionEventKind.CREATED,
            now,
            actor_id,
            _details(
                upgraded_from=self.id,
                product_id=to_product.id,
                quantity=seats,
                unit_price=new_price,
                term_ends_at=upgraded.term_ends_at,
            ),
            id_factory,
        )

        self.seat_lots = remaining
        if not remaining:
            self.status = SubscriptionStatus.CANCELLED
            self.ended_at = now
            self.end_reason = EndReason.UPGRADED
        event = self._record(
            SubscriptionEventKind.UPGRADED,
            now,
            actor_id,
            _details(seats=seats, quantity=self.quantity, to_subscription_id=upgraded.id, to_product_id=to_product.id),
            id_factory,
        )
        credit = -prorated_amount(self.unit_price, seats, today, cycle)
        charge = prorated_amount(new_price, seats, today, cycle)
        charges = []
        if credit.amount:
            charges.append(
                self._charge(
                    ChargeKind.CREDIT,
                    period_start=today,
                    period_end=cycle.end_date,
                    quantity=seats,
                    amount=credit,
                    reference=event.event_id,
                    description=f"{seats} seat(s) upgraded to {to_product.name}: unused {days_text} credited",
                    changed_at=now,
                )
            )
        if charge.amount:
            charges.append(
                self._charge(
                    ChargeKind.PRORATA_INCREASE,
                    period_start=today,
                    period_end=cycle.end_date,
                    quantity=seats,
                    amount=charge,
                    reference=created.event_id,
                    description=(
                        f"{seats} seat(s) upgraded from {from_product.name}: {new_price} × {seats} × {days_text}"
                    ),
                    subscription=upgraded,
                    changed_at=now,
                )
            )
        deleted, deletion_events = self._delete_scheduled_change(event.kind, now, actor_id, id_factory)
        return ChangeOutcome(
            self.id,
            True,
            events=(event, *deletion_events),
            charges=tuple(charges),
            scheduled_change_deleted=deleted is not None,
            deleted_scheduled_change=deleted,
            affected_lots=tuple(moved),
            new_subscription=upgraded,
            cycle_charges=cycle_charges,
        )

    def _renewal_switch_hint(self, product: Product, *, price_lookup: PriceLookup, access: ProductAccess | None) -> str | None:
        """A product that is no upgrade (a downgrade, a lateral move) can replace this one at the renewal: how, if a
        switch scheduled now would be accepted (a New Commerce product with a price for the term on the renewal date,
        the hosted-desktop right if needed, one the customer may have); ``None`` otherwise."""
        if product.kind is not ProductKind.CSP_NCE or product.id == self.product_id:
            return None
        if self.hosted_desktop and not product.allows_hosted_desktop:
            return None
        if access is not None and access.refusals(product, field="productId"):
            return None
        try:
            price_lookup(product.id, self.term, self.billing, berlin_date(self.term_ends_at), currency=self.currency)
        except NotFound:
            return None
        schedule = (f"schedule the switch to {product.name} for the renewal at {format_utc(self.term_ends_at)} "
                    f"(subscriptionRenewalChangeSchedule with productId {product.id})")
        if self.auto_renew:
            return f"During a term Microsoft allows upgrades only: {schedule}."
        return f"During a term Microsoft allows upgrades only: turn auto-renew on (subscriptionAutoRenewSet), then {schedule}."

    # -- renewal --------------------------------------------------------------------------

    def renew(
        self,
        price_lookup: PriceLookup,
        *,
        now: datetime,
        actor_id: str = SYSTEM_ACTOR_ID,
        id_factory: IdFactory | None = None,
    ) -> RenewalOutcome:
        """Process every renewal due at ``now``; a no-op when the term end is still ahead.

        With auto-renew off the subscription expires at its term end. Otherwise a new term
        starts at the old term end, with the scheduled change applied, the unit price of the
        price list valid on the renewal date (Berlin) and all seats merged into one lot whose
        window opens at the renewal. A term-length change keeps the anchor: the new terms count
        from the month of this renewal on the original day of month and time of day, so a
        monthly term started 2024-01-31 and changed to P1Y at its 2024-02-29 renewal is billed
        on 03-31, 04-30, ... and ends 2025-02-28, never re-anchored on the clamped 29th.
        If the job ran late, each missed renewal is processed in turn at its own price.
        If a price lookup fails the error propagates; discard the object (do not save it).
        """
        now = ensure_utc(now)
        if not self.is_active:
            return RenewalOutcome(self.id, RenewalResult.NOT_ACTIVE)
        if now < self.term_ends_at:
            return RenewalOutcome(self.id, RenewalResult.NOT_DUE)
        previous_price = self.unit_price
        applied = self.scheduled_change
        events: list[SubscriptionEvent] = []
        charges: list[Charge] = []
        renewals = 0
        while self.is_active and now >= self.term_ends_at:
            renewal_at = self.term_ends_at
            if not self.auto_renew:
                quantity = self.quantity
                self.status = SubscriptionStatus.EXPIRED
                self.ended_at = renewal_at
                self.end_reason = EndReason.NOT_RENEWED
                self.seat_lots = []
                self.scheduled_change = None
                events.append(
                    self._record(
                        SubscriptionEventKind.EXPIRED,
                        renewal_at,
                        actor_id,
                        _details(quantity=quantity, processed_at=now),
                        id_factory,
                    )
                )
                break
            change = self.scheduled_change or ScheduledChange()
            term = change.term or self.term
            billing = change.billing or self.billing
            product_id = change.product_id or self.product_id
            quantity = change.quantity or self.quantity
            price = price_lookup(product_id, term, billing, berlin_date(renewal_at), currency=self.currency)
            price_before = self.unit_price
            if term.months != self.term.months:
                self.term_month_offset, self.term_index = self.term_month_offset + (self.term_index + 1) * self.term.months, 0
            else:
                self.term_index += 1
            self.term, self.billing, self.product_id, self.unit_price = term, billing, product_id, price
            self.seat_lots = [SeatLot(new_id("lot", id_factory), quantity, renewal_at)]
            self.scheduled_change = None
            renewals += 1
            events.append(
                self._record(
                    SubscriptionEventKind.RENEWED,
                    renewal_at,
                    actor_id,
                    _details(
                        product_id=product_id,
                        term=term,
                        billing=billing,
                        quantity=quantity,
                        unit_price=price,
                        previous_unit_price=price_before,
                        term_ends_at=self.term_ends_at,
                        scheduled_change_applied=not change.is_empty,
                        processed_at=now,
                    ),
                    id_factory,
                )
            )
            first_cycle_charge = recurring_charge_for_cycle(self, 0)
            if first_cycle_charge is not None:
                charges.append(first_cycle_charge)
        return RenewalOutcome(
            self.id,
            RenewalResult.RENEWED if renewals else RenewalResult.EXPIRED,
            renewals=renewals,
            events=tuple(events),
            charges=tuple(charges),
            applied_scheduled_change=applied if renewals else None,
            previous_unit_price=previous_price,
            unit_price=self.unit_price,
        )


def _scheduled_details(change: ScheduledChange) -> dict[str, str]:
    return _details(
        scheduled_quantity=change.quantity,
        scheduled_term=change.term,
        scheduled_billing=change.billing,
        scheduled_product_id=change.product_id,
    )


# --- creating subscriptions ---------------------------------------------------------------


def open_subscription(
    *,
    customer_id: str,
    partner_id: str,
    product: Product,
    term: Term,
    billing: Billing,
    quantity: int,
    now: datetime,
    actor_id: str,
    price_lookup: PriceLookup,
    auto_renew: bool = True,
    currency: str = "EUR",
    id_factory: IdFactory | None = None,
    hosted_desktop: bool = False,
) -> ChangeOutcome:
    """Order a New Commerce subscription starting now; ``outcome.new_subscription`` is it.

    The outcome carries the charge for the first billing cycle. Order preconditions
    (``assert_csp_order_ready``) and add-on bases are checked by the caller beforehand.
    """
    now = ensure_utc(now)
    assert_orderable_as_subscription(product)
    validate_term_billing(term, billing)
    _require_count(quantity, "quantity", "The quantity")
    if hosted_desktop:
        assert_hosted_desktop_allowed(product)
    price = price_lookup(product.id, term, billing, berlin_date(now), currency=currency)
    subscription = Subscription(
        id=new_id("sub", id_factory),
        customer_id=customer_id,
        partner_id=partner_id,
        product_id=product.id,
        product_kind=product.kind,
        term=term,
        billing=billing,
        status=SubscriptionStatus.ACTIVE,
        auto_renew=auto_renew,
        unit_price=price,
        started_at=now,
        term_anchor_at=now,
        term_index=0,
        seat_lots=[SeatLot(new_id("lot", id_factory), quantity, now)],
        hosted_desktop=hosted_desktop,
    )
    event = subscription._record(
        SubscriptionEventKind.CREATED,
        now,
        actor_id,
        _details(
            product_id=product.id,
            term=term,
            billing=billing,
            quantity=quantity,
            unit_price=price,
            auto_renew=auto_renew,
            term_ends_at=subscription.term_ends_at,
            hosted_desktop=hosted_desktop or None,
        ),
        id_factory,
    )
    first = recurring_charge_for_cycle(subscription, 0)
    return ChangeOutcome(
        subscription.id,
        True,
        events=(event,),
        charges=(first,) if first else (),
        affected_lots=tuple(subscription.seat_lots),
        new_subscription=subscription,
    )


def assert_orderable_as_subscription(product: Product) -> None:
    """Only New Commerce products are ordered as CSP subscriptions; checked before the order's preconditions, so an
    order that can never be placed is not first sent to meet them."""
    if product.kind is ProductKind.CSP_LEGACY:
        raise ValidationFailed(
            f"{product.name} is a legacy CSP product; since March 2022 only New Commerce can be ordered.",
            field="productId",
            hint="Order the New Commerce version of the product.",
        )
    if product.kind is ProductKind.PERPETUAL:
        raise ValidationFailed(
            f"{product.name} is a perpetual licence, a one-time purchase: it is not ordered as a subscription, and "
            "Partnerhub takes no orders for one-time purchases.",
            field="productId",
            hint="The distributor orders perpetual licences through CSP outside Partnerhub: ask it (an e-mail to its "
                 "support address opens a ticket), naming the product, the quantity and the customer.",
        )
    if product.kind is ProductKind.SAAS:
        raise ValidationFailed(
            f"{product.name} is a reseller SaaS product, not a CSP subscription.",
            field="productId",
            hint="Create a reseller subscription for it (saasSubscriptionCreate).",
        )


# Microsoft took no new legacy (pre-New-Commerce) orders from March 2022 on: every legacy subscription began before.
LEGACY_ORDERS_ENDED_ON = date(2022, 3, 1)


def assert_importable_as_legacy(product: Product) -> None:
    """Only legacy CSP products are imported; checked before the import's preconditions, as for orders."""
    if product.kind is not ProductKind.CSP_LEGACY:
        raise ValidationFailed(
            f"{product.name} is not a legacy CSP product; only legacy (pre-New-Commerce) subscriptions are imported.",
            field="productId",
            hint="Choose the legacy product (Product.kind CSP_LEGACY); New Commerce licences are ordered (subscriptionOrder).",
        )


def import_legacy_subscription(
    *,
    customer_id: str,
    partner_id: str,
    product: Product,
    term: Term,
    billing: Billing,
    quantity: int,
    started_at: datetime,
    auto_renew: bool,
    now: datetime,
    actor_id: str,
    unit_price: Money | None = None,
    price_lookup: PriceLookup | None = None,
    currency: str = "EUR",
    renews_on: date | None = None,
    charged_through: date | None = None,
    previous_subscription_id: str | None = None,
    id_factory: IdFactory | None = None,
) -> ChangeOutcome:
    """Take over an existing legacy (pre-New-Commerce) subscription with its own renewal dates.

    Its terms stay anchored on its original start (``started_at``, before March 2022). The price of the running term
    is ``unit_price``, or the price list's (``price_lookup``) on the day the running term began, as if it had renewed
    here; from the next renewal on it takes the price list's prices like any other subscription.

    The previous provider billed the cycles that began before the import, the one running at ``now`` included: the
    first regular charge here is the next cycle (monthly billing) or the next term (annual upfront). Started
    2021-06-10 (P1Y, monthly), imported 2026-11-23: the first charge is the cycle from 2026-12-10.
    ``charged_through`` (when given) is the date up to which the previous provider billed: it must be the end of the
    cycle running at ``now``, and ``renews_on`` (when given) the next renewal date; both are checked, so a wrong start
    date or term cannot shift the billing.

    Decided: the imported seats get no 168-hour window here. Their term, and the cycle running, were billed
    elsewhere; a reduction or cancellation here would credit money never charged here (imported 2026-06-12 two days
    into an annual term started 2026-06-10: −1,172.28 for 5 of 20 seats, −3,507.14 for cancelling the rest). They
    can be reduced or cancelled as legacy subscriptions are: at the renewal (schedule fewer seats, or turn auto-renew
    off), whose window opens for every seat. Seats added here after the import open their own window and are
    charged and credited here. The imported seats' lot is dated so that its window has closed at the import (the
    term start, or 168 hours before the import when that is earlier); it is counted by every later cycle.
    """
    now = ensure_utc(now)
    if (unit_price is None) == (price_lookup is None):
        raise TypeError("import_legacy_subscription takes unit_price or price_lookup, not both")
    assert_importable_as_legacy(product)
    validate_term_billing(term, billing)
    _require_count(quantity, "quantity", "The quantity")
    if started_at.tzinfo is None or started_at.utcoffset() is None:
        raise ValidationFailed(
            "Give the instant the subscription started with its time zone, e.g. 2021-06-10T10:00:00Z.", field="startedAt"
        )
    started_at = ensure_utc(started_at)
    if started_at > now:
        raise ValidationFailed("A legacy subscription cannot start in the future.", field="startedAt")
    if berlin_date(started_at) >= LEGACY_ORDERS_ENDED_ON:
        raise ValidationFailed(
            f"A subscription started on {berlin_date(started_at).isoformat()} is not legacy: since "
            f"{LEGACY_ORDERS_ENDED_ON.isoformat()} Microsoft takes only New Commerce orders.",
            field="startedAt",
            hint="Give the date the legacy subscription started at Microsoft (its first term, not its last renewal); "
                 "New Commerce licences are ordered (subscriptionOrder).",
        )
    if previous_subscription_id is not None:
        previous_subscription_id = require_text(
            previous_subscription_id, "previousSubscriptionId", label="The previous provider's subscription id", max_length=100
        )
    term_index = period_index_containing(started_at, term.months, now)
    term_started_at = anchored_period(started_at, term.months, term_index)[0]
    if unit_price is None:
        unit_price = price_lookup(product.id, term, billing, berlin_date(term_started_at), currency=currency)
    subscription = Subscription(
        id=new_id("sub", id_factory),
        customer_id=customer_id,
        partner_id=partner_id,
        product_id=product.id,
        product_kind=product.kind,
        term=term,
        billing=billing,
        status=SubscriptionStatus.ACTIVE,
        auto_renew=auto_renew,
        unit_price=unit_price,
        started_at=started_at,
        term_anchor_at=started_at,
        term_index=term_index,
        seat_lots=[SeatLot(new_id("lot", id_factory), quantity, min(term_started_at, now - CANCELLATION_WINDOW))],
    )
    shown = f"started {format_utc(started_at)} ({term.value}, billed {billing.value.lower()})"
    renewal_on = berlin_date(subscription.term_ends_at)
    if renews_on is not None and renews_on != renewal_on:
        raise ValidationFailed(
            f"A legacy subscription {shown} renews on {renewal_on.isoformat()}, not {renews_on.isoformat()}.",
            field="renewsOn",
            hint="Check the start instant and the term against the previous provider's record: a legacy subscription "
                 "keeps the renewal date of its original start.",
        )
    running = subscription.billing_cycle_at(now)
    if charged_through is not None and charged_through != running.end_date:
        raise ValidationFailed(
            f"A legacy subscription {shown} is in its billing cycle {running.start_date.isoformat()} to "
            f"{running.end_date.isoformat()} at the import: the previous provider billed it through "
            f"{running.end_date.isoformat()}, not {charged_through.isoformat()}.",
            field="chargedThrough",
            hint="Import it once the previous provider has billed up to the end of the running cycle and no further: "
                 "the cycles after it are billed here.",
        )
    subscription.charged_through = running.starts_at
    event = subscription._record(
        SubscriptionEventKind.IMPORTED,
        now,
        actor_id,
        _details(
            quantity=quantity,
            unit_price=subscription.unit_price,
            term=term,
            billing=billing,
            started_at=started_at,
            term_ends_at=subscription.term_ends_at,
            previous_provider_billed_through=running.end_date,
            previous_subscription_id=previous_subscription_id,
        ),
        id_factory,
    )
    return ChangeOutcome(subscription.id, True, events=(event,), affected_lots=tuple(subscription.seat_lots),
                         new_subscription=subscription)


# --- billing ------------------------------------------------------------------------------


def billing_cycles(subscription: Subscription) -> list[BillingCycle]:
    """Cycle boundaries of the current term: 12 monthly cycles for P1Y/MONTHLY, else one."""
    return subscription.billing_cycles()


def next_cycle_due(subscription: Subscription) -> BillingCycle | None:
    """The next billing cycle of the current term whose recurring charge is not booked yet, if any.

    Cycle 0 of a term is charged by opening or renewal, and the cycle an upgrade-created
    subscription starts in is charged pro rata at creation, so only later cycles are due here.
    """
    if not subscription.is_active:
        return None
    booked_until = max(subscription.started_at, subscription.term_started_at, subscription.charged_through or subscription.started_at)
    return next((c for c in subscription.billing_cycles() if c.starts_at > booked_until), None)


def charge_due_cycles(subscription: Subscription, until: datetime) -> tuple[Subscription, list[Charge]]:
    """Book the recurring charge of every cycle that started by ``until`` (monthly billing within a term).

    Returns the subscription with ``charged_through`` moved on and the charges; nothing when
    nothing is due. Charge ids are deterministic per term and cycle, so a repeated booking
    is refused by the store rather than billed twice.
    """
    charges: list[Charge] = []
    current = subscription
    while (cycle := next_cycle_due(current)) is not None and cycle.starts_at <= ensure_utc(until):
        charge = recurring_charge_for_cycle(current, cycle.index)
        if charge is not None:
            charges.append(charge)
        current = replace(current, charged_through=cycle.starts_at)
    return current, charges


def recurring_charge_for_cycle(subscription: Subscription, cycle_index: int) -> Charge | None:
    """The regular charge for cycle ``cycle_index`` of the current term, or ``None`` if nothing is due.

    Bill a cycle when it starts. Seats are those held since the cycle start: seats added
    later were charged pro rata when added. A cycle that began before the subscription
    existed (an upgrade-created one) was charged pro rata at creation, so it yields ``None``.
    """
    if not subscription.is_active:
        return None
    cycles = subscription.billing_cycles()
    if not 0 <= cycle_index < len(cycles):
        raise ValidationFailed(
            f"The current term has billing cycles 0 to {len(cycles) - 1}, not {cycle_index}.", field="cycleIndex"
        )
    cycle = cycles[cycle_index]
    if cycle.starts_at < subscription.started_at:
        return None
    quantity = sum(lot.quantity for lot in subscription.seat_lots if lot.added_at <= cycle.starts_at)
    if quantity == 0:
        return None
    amount = (subscription.unit_price * quantity).rounded()
    return subscription._charge(
        ChargeKind.RECURRING,
        period_start=cycle.start_date,
        period_end=cycle.end_date,
        quantity=quantity,
        amount=amount,
        reference=f"term{subscription.term_index}-cycle{cycle_index}",
        description=(
            f"{subscription.product_id} {subscription.term.value}/{subscription.billing.value}: {quantity} × "
            f"{subscription.unit_price}, {cycle.start_date.isoformat()} to {cycle.end_date.isoformat()}"
        ),
    )


def renew(
    subscription: Subscription,
    price_lookup: PriceLookup,
    now: datetime,
    *,
    actor_id: str = SYSTEM_ACTOR_ID,
    id_factory: IdFactory | None = None,
) -> RenewalOutcome:
    """The bare renewal step (``Subscription.renew``), without checking a scheduled product switch again: the job,
    changes and reads go through ``renew_due``, which checks it first."""
    return subscription.renew(price_lookup, now=now, actor_id=actor_id, id_factory=id_factory)


def price_after_next_renewal(subscription: Subscription, price_lookup: PriceLookup) -> Money | None:
    """The unit price the next renewal will lock (scheduled change and announced prices included)."""
    renewal = subscription.next_renewal_at
    if renewal is None:
        return None
    change = subscription.scheduled_change or ScheduledChange()
    try:
        return price_lookup(
            change.product_id or subscription.product_id,
            change.term or subscription.term,
            change.billing or subscription.billing,
            berlin_date(renewal),
            currency=subscription.currency,
        )
    except NotFound:
        return None


# --- changes as data, and the preview -----------------------------------------------------


@dataclass(frozen=True)
class IncreaseSeats:
    seats: int


@dataclass(frozen=True)
class ReduceSeats:
    seats: int


@dataclass(frozen=True)
class SetQuantity:
    quantity: int


@dataclass(frozen=True)
class CancelSubscription:
    # Set by the service from ``domain.policy``, never from input: the distributor cancels a legacy subscription billed
    # annually at any time, with a credit note; ``full_history`` is the history with its moved pages, to find what the
    # previous provider billed (default: the events kept on the subscription). Left out of the repr, which idempotency
    # keys fingerprint: the cancellation asked for is the same.
    by_distributor: bool = field(default=False, repr=False)
    full_history: tuple[SubscriptionEvent, ...] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SetAutoRenew:
    enabled: bool


@dataclass(frozen=True)
class ScheduleChange:
    change: ScheduledChange
    product: Product | None = None  # required when the change names a product
    access: ProductAccess | None = None  # whether the customer may have that product


@dataclass(frozen=True)
class RemoveScheduledChange:
    pass


@dataclass(frozen=True)
class UpgradeSeats:
    from_product: Product
    to_product: Product
    seats: int | None = None
    access: ProductAccess | None = None  # whether the customer may have the target product


@dataclass(frozen=True)
class SetHostedDesktop:
    assigned: bool
    product: Product  # the subscription's product
    scheduled_product: Product | None = None  # the product of a switch scheduled for the renewal, if any


SubscriptionChange = Union[
    IncreaseSeats,
    ReduceSeats,
    SetQuantity,
    CancelSubscription,
    SetAutoRenew,
    ScheduleChange,
    RemoveScheduledChange,
    UpgradeSeats,
    SetHostedDesktop,
]


def apply_change(
    subscription: Subscription,
    change: SubscriptionChange,
    *,
    now: datetime,
    actor_id: str,
    price_lookup: PriceLookup,
    id_factory: IdFactory | None = None,
) -> ChangeOutcome:
    """Run one change on ``subscription`` (mutating it): the single entry point for services and previews."""
    common = dict(now=now, actor_id=actor_id, id_factory=id_factory)
    if isinstance(change, IncreaseSeats):
        return subscription.increase_seats(change.seats, **common)
    if isinstance(change, ReduceSeats):
        return subscription.reduce_seats(change.seats, **common)
    if isinstance(change, SetQuantity):
        return subscription.change_quantity(change.quantity, **common)
    if isinstance(change, CancelSubscription):
        return subscription.cancel(by_distributor=change.by_distributor, full_history=change.full_history, **common)
    if isinstance(change, SetAutoRenew):
        return subscription.set_auto_renew(change.enabled, **common)
    if isinstance(change, ScheduleChange):
        return subscription.schedule_change(
            change.change, price_lookup=price_lookup, product=change.product, access=change.access, **common
        )
    if isinstance(change, RemoveScheduledChange):
        return subscription.remove_scheduled_change(**common)
    if isinstance(change, UpgradeSeats):
        return subscription.upgrade(
            from_product=change.from_product,
            to_product=change.to_product,
            seats=change.seats,
            price_lookup=price_lookup,
            access=change.access,
            **common,
        )
    if isinstance(change, SetHostedDesktop):
        return subscription.set_hosted_desktop(change.assigned, product=change.product, scheduled_product=change.scheduled_product, **common)
    raise TypeError(f"unknown subscription change {change!r}")


@dataclass(frozen=True)
class PreviewResult:
    allowed: bool
    refusal: DomainError | None
    amount: Money | None  # net of charges (positive) and credits (negative); None if nothing is billed
    charges: tuple[Charge, ...]
    cancellation_window_deadlines: tuple[datetime, ...]  # of the lots added, removed or moved
    next_window_opens_at: datetime | None
    scheduled_change_would_be_deleted: bool
    price_after_next_renewal: Money | None
    next_renewal_at: datetime | None
    quantity_after: int


def preview_change(
    subscription: Subscription,
    change: SubscriptionChange,
    now: datetime,
    price_lookup: PriceLookup,
    *,
    actor_id: str = "preview",
    id_factory: IdFactory | None = None,
) -> PreviewResult:
    """What ``change`` would do at ``now``, computed by running it on a deep copy."""
    trial = copy.deepcopy(subscription)
    try:
        outcome = apply_change(
            trial, change, now=now, actor_id=actor_id, price_lookup=price_lookup, id_factory=id_factory
        )
    except DomainError as refusal:
        return refused_preview(subscription, refusal, price_lookup)
    return PreviewResult(
        allowed=True,
        refusal=None,
        amount=outcome.net_amount,
        charges=outcome.charges,
        cancellation_window_deadlines=tuple(lot.cancellation_window_closes_at for lot in outcome.affected_lots),
        next_window_opens_at=trial.next_window_opens_at,
        scheduled_change_would_be_deleted=outcome.scheduled_change_deleted,
        price_after_next_renewal=price_after_next_renewal(trial, price_lookup),
        next_renewal_at=trial.next_renewal_at,
        quantity_after=trial.quantity,
    )


def refused_preview(subscription: Subscription, refusal: DomainError, price_lookup: PriceLookup) -> PreviewResult:
    """The preview of a refused change: nothing changes."""
    return PreviewResult(
        allowed=False,
        refusal=refusal,
        amount=None,
        charges=(),
        cancellation_window_deadlines=(),
        next_window_opens_at=(
            refusal.next_window_opens_at
            if isinstance(refusal, CancellationWindowClosed)
            else subscription.next_window_opens_at
        ),
        scheduled_change_would_be_deleted=False,
        price_after_next_renewal=price_after_next_renewal(subscription, price_lookup),
        next_renewal_at=subscription.next_renewal_at,
        quantity_after=subscription.quantity,
    )


def renewal_due(subscription: Subscription, now: datetime) -> bool:
    """A term end has passed that the renewal job has not processed yet."""
    return subscription.is_active and ensure_utc(now) >= subscription.term_ends_at


def renewal_checks_a_switch(subscription: Subscription, now: datetime) -> bool:
    """A renewal is due at ``now`` that is to switch the product: it checks the switch again first."""
    change = subscription.scheduled_change
    return change is not None and change.product_id is not None and subscription.auto_renew and renewal_due(subscription, now)


def scheduled_switch_refusal(
    subscription: Subscription, catalogue: Catalogue, *, now: datetime, access_to: Callable[[Product], ProductAccess],
) -> DomainError | None:
    """Why the product switch scheduled for a renewal due at ``now`` can no longer happen (``None``: it can, or nothing
    of the kind is due). Checked as ordering the product would be, at the renewal: the product must still be in the
    catalogue, with a price for the new term on the renewal date, and the customer must still be allowed to have it
    (``access_to(product)``: eligibility, tenant domain, an add-on's base product; asked only when needed, as it may
    read the customer)."""
    if not renewal_checks_a_switch(subscription, now):
        return None
    change = subscription.scheduled_change
    field_name = "scheduledChange.productId"
    product = catalogue.products.get(change.product_id)
    if product is None:
        return NotFound(f"The product {change.product_id} scheduled for the renewal is no longer offered.", field=field_name)
    try:
        catalogue.price_on(product, change.term or subscription.term, change.billing or subscription.billing,
                           berlin_date(subscription.term_ends_at), currency=subscription.currency)
    except NotFound as no_price:
        return no_price
    refusals = access_to(product).refusals(product, field=field_name)
    return ProductSwitchNotAllowed(product, refusals) if refusals else None


def renew_due(
    subscription: Subscription,
    catalogue: Catalogue,
    *,
    now: datetime,
    access_to: Callable[[Product], ProductAccess],
    id_factory: IdFactory | None = None,
) -> RenewalOutcome:
    """Process the renewal due at ``now`` (no-op otherwise), exactly as the renewal job does: the one function behind
    the job, every change and preview (a due renewal happens first) and every read (``as_of``), so they cannot differ.

    A product switch scheduled for the renewal that can no longer happen (``scheduled_switch_refusal``: the
    customer's education eligibility was withdrawn, an add-on's base product is gone, the product was retired or has
    no price for the new term) is dropped first: the subscription renews on its current product, keeping the rest of
    the scheduled change, and the dropped switch is recorded (``SCHEDULED_PRODUCT_SWITCH_DROPPED``, at the renewal
    instant). Other errors (no price for the current product) propagate; discard the object then."""
    refusal = scheduled_switch_refusal(subscription, catalogue, now=now, access_to=access_to)
    dropped = None
    if refusal is not None:
        dropped = subscription.drop_scheduled_product_switch(
            refusal, price_lookup=catalogue, now=now, actor_id=SYSTEM_ACTOR_ID, id_factory=id_factory,
        )
    outcome = subscription.renew(catalogue, now=now, actor_id=SYSTEM_ACTOR_ID, id_factory=id_factory)
    switched_to = catalogue.products.get(subscription.product_id) if outcome.renewals else None
    if switched_to is not None and switched_to.kind is not subscription.product_kind:
        # A legacy subscription switched to a New Commerce product at the renewal follows New Commerce's rules from then.
        subscription.product_kind = switched_to.kind
    return replace(outcome, events=(dropped, *outcome.events)) if dropped else outcome


def as_of(
    subscription: Subscription, now: datetime, catalogue: Catalogue, *, access_to: Callable[[Product], ProductAccess],
) -> Subscription:
    """The subscription as the renewal job would leave it at ``now``: a renewal due but not yet processed is applied to
    a copy by ``renew_due`` (a scheduled switch checked and dropped as the job would), so reads show the new term's
    product, window, term end and price. The stored subscription is returned as it is when nothing is due or the
    renewal fails (the job fails on it too and leaves it stored as it is)."""
    if not renewal_due(subscription, now):
        return subscription
    renewed = copy.deepcopy(subscription)
    try:
        renew_due(renewed, catalogue, now=now, access_to=access_to)
    except DomainError:
        return subscription
    return renewed


# --- CSP order preconditions --------------------------------------------------------------


class TenantState(str, Enum):
    NONE = "NONE"
    CREATED = "CREATED"  # created by us: <prefix>.onmicrosoft.com
    LINK_PENDING = "LINK_PENDING"  # link e-mail sent, not yet confirmed and verified
    LINKED = "LINKED"


@dataclass(frozen=True)
class CspReadiness:
    """What a CSP order needs to know about the partner and the customer."""

    partner_mpn_id: str | None
    partner_microsoft_id: str | None
    tenant_state: TenantState
    tenant_domain: str | None
    mca_accepted_at: datetime | None
    eligibility: frozenset[LicenceProgram] = frozenset()


def csp_order_precondition_failures(readiness: CspReadiness, product: Product) -> list[PreconditionFailed]:
    """Every unmet precondition for ordering ``product``, each with the field and what to do."""
    if not product.kind.is_ordered_through_csp:
        raise ValidationFailed(f"{product.name} is not ordered through CSP.", field="productId")
    failures: list[PreconditionFailed] = []
    if not (readiness.partner_mpn_id or "").strip():
        failures.append(
            PreconditionFailed(
                "The partner has not entered its Microsoft Partner Network ID.",
                field="partner.microsoftPartnerNetworkId",
                hint="Enter the MPN ID in the partner's CSP settings.",
            )
        )
    if not (readiness.partner_microsoft_id or "").strip():
        failures.append(
            PreconditionFailed(
                "The partner has not entered its Microsoft ID.",
                field="partner.microsoftId",
                hint="Enter the Microsoft ID in the partner's CSP settings.",
            )
        )
    if readiness.tenant_state is TenantState.NONE:
        failures.append(
            PreconditionFailed(
                "The customer has no Microsoft tenant.",
                field="customer.tenant",
                hint="Create a new tenant (customerTenantCreate, choose a prefix) or link the customer's existing tenant "
                     "(customerTenantLink).",
            )
        )
    elif readiness.tenant_state is TenantState.LINK_PENDING:
        failures.append(
            PreconditionFailed(
                "The link to the customer's Microsoft tenant is not confirmed yet.",
                field="customer.tenant",
                hint="The customer confirms the link with the code from the e-mail (customerTenantLinkConfirm); request "
                     "the link again (customerTenantLink) if the e-mail was lost.",
            )
        )
    if readiness.mca_accepted_at is None:
        failures.append(
            PreconditionFailed(
                "The customer has not accepted the Microsoft Customer Agreement.",
                field="customer.microsoftCustomerAgreement",
                hint="Record the customer's acceptance of the Microsoft Customer Agreement (who and when).",
            )
        )
    needs_domain = (
        product.licence_program in (LicenceProgram.EDUCATION, LicenceProgram.NON_PROFIT)
        or product.kind is ProductKind.PERPETUAL
    )
    if needs_domain and not (readiness.tenant_domain or "").strip():
        failures.append(
            PreconditionFailed(
                f"{product.name} needs the customer's Microsoft tenant domain on file.",
                field="customer.tenantDomain",
                hint=_tenant_domain_hint(readiness.tenant_state),
            )
        )
    program = product.licence_program
    if program is not LicenceProgram.COMMERCIAL and program not in readiness.eligibility:
        who = "the distributor (on request)" if program is LicenceProgram.EDUCATION else "Microsoft only"
        failures.append(
            PreconditionFailed(
                f"The customer has no {program.value.lower().replace('_', '-')} eligibility for {product.name}.",
                field="customer.eligibility",
                hint=f"Request the {program.value.lower().replace('_', '-')} status; it is granted by {who}.",
            )
        )
    return failures


def _tenant_domain_hint(state: TenantState) -> str:
    """The tenant domain is stored with the tenant, by the operations that create or link it."""
    if state is TenantState.LINK_PENDING:
        return ("The domain is stored when the customer confirms the pending tenant link (customerTenantLinkConfirm, with "
                "the code from the e-mail); request the link again (customerTenantLink) if the e-mail was lost.")
    return ("The domain is stored with the tenant: create one (customerTenantCreate: <prefix>.onmicrosoft.com), or link "
            "the customer's tenant by its default domain (customerTenantLink), which the customer confirms "
            "(customerTenantLinkConfirm).")


def assert_csp_order_ready(readiness: CspReadiness, product: Product) -> None:
    """Raise ``CspOrderNotReady`` listing every unmet precondition, if any."""
    failures = csp_order_precondition_failures(readiness, product)
    if failures:
        raise CspOrderNotReady(failures)


class ProductSwitchNotAllowed(PreconditionFailed):
    """A switch to a product the customer could not order; ``errors`` lists each reason, each hint ends with the
    alternative."""

    def __init__(self, product: Product, errors: list[DomainError]) -> None:
        super().__init__(
            f"The customer may not have {product.name}: " + " ".join(error.message for error in errors),
            field=errors[0].field if len(errors) == 1 else None,
            hint=errors[0].hint if len(errors) == 1 else None,
        )
        self.product = product
        self.errors = errors


@dataclass(frozen=True)
class ProductAccess:
    """Whether a customer may switch to a product (an upgrade, a product change scheduled for the renewal): what
    ordering it needs (``readiness``: partner IDs, tenant, agreement, tenant domain and eligibility for
    non-profit, education and perpetual licences) and, for an add-on, whether the customer holds its base product
    in an active subscription other than one leaving it by this switch."""

    readiness: CspReadiness
    holds_base_product: bool = True

    def refusals(self, product: Product, *, field: str) -> list[DomainError]:
        refusals: list[DomainError] = list(csp_order_precondition_failures(self.readiness, product))
        if product.add_on_of is not None and not self.holds_base_product:
            refusals.append(ValidationFailed(
                f"{product.name} is an add-on and the customer has no other active subscription of its base product.",
                field=field, hint=f"Order the base product ({product.add_on_of}) first.",
            ))
        return refusals

    def assert_may_switch_to(self, product: Product, *, field: str, alternative: str) -> None:
        """Raise ``ProductSwitchNotAllowed`` with every reason, each hint followed by ``alternative``."""
        refusals = self.refusals(product, field=field)
        if refusals:
            raise ProductSwitchNotAllowed(
                product, [type(r)(r.message, field=r.field, hint=f"{r.hint} {alternative}" if r.hint else alternative) for r in refusals],
            )


# --- reseller SaaS subscriptions (e-mail signature product style) --------------------------


class SaasStatus(str, Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class SaasCustomerAccess(str, Enum):
    DESIGN_MANAGEMENT = "DESIGN_MANAGEMENT"
    BILLING = "BILLING"  # stays with the reseller: never granted by an invitation


class SaasInvitationStatus(str, Enum):
    """Whether the invitation e-mail reached the mail service. It is sent after the subscription is stored, so a
    failing mail service cannot undo the subscription; the reseller sends a failed one again."""

    PENDING = "PENDING"  # stored, no outcome recorded (being sent, or stored before outcomes were recorded)
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass(frozen=True)
class SaasInvitation:
    """The customer's contact invited to manage its own signature designs."""

    contact_name: str
    email: str
    invited_at: datetime
    status: SaasInvitationStatus = SaasInvitationStatus.PENDING
    sent_at: datetime | None = None  # the last time the mail service accepted it
    failed_at: datetime | None = None  # the last attempt the mail service refused

    @property
    def grants(self) -> frozenset[SaasCustomerAccess]:
        return frozenset({SaasCustomerAccess.DESIGN_MANAGEMENT})


def _invitation(contact_name: str | None, email: str | None, now: datetime) -> SaasInvitation | None:
    has_name, has_email = bool((contact_name or "").strip()), bool((email or "").strip())
    if not has_name and not has_email:
        return None
    if not has_name:
        raise ValidationFailed(
            "Inviting the customer needs the contact's name.",
            field="invitation.contactName",
            hint="Enter the contact's name, or leave both name and e-mail empty to manage the designs yourself.",
        )
    if not has_email:
        raise ValidationFailed(
            "Inviting the customer needs the contact's e-mail address.",
            field="invitation.email",
            hint="Enter the contact's e-mail, or leave both name and e-mail empty to manage the designs yourself.",
        )
    return SaasInvitation(
        contact_name=require_text(contact_name, "invitation.contactName", label="Contact name"),
        email=require_email(email, "invitation.email"),
        invited_at=now,
    )


class InvitationNotDelivered(DomainError):
    """The mail service refused the invitation e-mail; the subscription records it as failed."""

    code = ErrorCode.DELIVERY_FAILED

    def __init__(self, subscription: "SaasSubscription") -> None:
        super().__init__(
            f"The invitation to {subscription.invitation.email if subscription.invitation else 'the customer'} "
            "could not be sent.",
            field="saasSubscriptionId", hint="Try again later; the subscription shows the invitation as FAILED until it is sent.",
        )
        self.subscription = subscription


@dataclass
class SaasSubscription:
    """A reseller's subscription for one customer; the reseller is billed monthly (see the module's rules).

    The first month is paid at creation, so the next payment is due one month later;
    payment dates are anchored on the creation date (Berlin): created 2024-01-31 → due
    2024-02-29, 2024-03-31, 2024-04-30. ``next_payment_date`` is the end (exclusive) of the
    month paid last; ``paid_users`` the users paid for up to it.
    """

    id: str
    partner_id: str
    product_id: str
    customer_company_name: str
    users: int
    status: SaasStatus
    billing_anchor_date: date
    next_payment_date: date
    created_at: datetime
    customer_id: str | None = None
    invitation: SaasInvitation | None = None
    history: list[SubscriptionEvent] = field(default_factory=list)
    version: int = 0
    paid_users: int | None = None  # None: stored before SaaS billing existed (read as ``users``)
    # Pages of older events the store moved out of ``history`` (oldest first), as for CSP subscriptions.
    history_pages: int = 0

    def _record(
        self,
        kind: SubscriptionEventKind,
        now: datetime,
        actor_id: str,
        details: dict[str, str],
        id_factory: IdFactory | None,
    ) -> SubscriptionEvent:
        event = SubscriptionEvent(new_id("evt", id_factory), kind, now, actor_id, details)
        self.history.append(event)
        return event

    @property
    def users_paid_for(self) -> int:
        return self.users if self.paid_users is None else self.paid_users

    def change_users(
        self, users: int, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> SubscriptionEvent:
        now = ensure_utc(now)
        _require_count(users, "users", "The number of users")
        if users == self.users:
            raise Conflict(
                f"The subscription of {self.customer_company_name} has {users} users already.", field="users",
                hint="Enter the new number of users.",
            )
        previous, self.users = self.users, users
        return self._record(
            SubscriptionEventKind.USERS_CHANGED,
            now,
            actor_id,
            _details(users=users, previous_users=previous),
            id_factory,
        )

    def deactivate(
        self, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> SubscriptionEvent:
        now = ensure_utc(now)
        if self.status is SaasStatus.INACTIVE:
            raise Conflict(f"The subscription of {self.customer_company_name} is inactive already.", field="saasSubscriptionId")
        self.status = SaasStatus.INACTIVE
        return self._record(SubscriptionEventKind.DEACTIVATED, now, actor_id, {}, id_factory)

    def activate(
        self, *, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> SubscriptionEvent:
        """Reactivating keeps the next payment date while it is still ahead (the month paid up to it is not over:
        created 2024-01-31, deactivated and reactivated that day, the next payment stays 2024-02-29) or is today;
        once it has passed, a new month starting today is due at once and today becomes the anchor (reactivated
        2024-04-05: due 2024-04-05, then 2024-05-05). ``settle`` charges what is due."""
        now = ensure_utc(now)
        if self.status is SaasStatus.ACTIVE:
            raise Conflict(f"The subscription of {self.customer_company_name} is active already.", field="saasSubscriptionId")
        self.status = SaasStatus.ACTIVE
        today = berlin_date(now)
        if self.next_payment_date < today:
            self.billing_anchor_date = self.next_payment_date = today
        return self._record(
            SubscriptionEventKind.ACTIVATED,
            now,
            actor_id,
            _details(next_payment_date=self.next_payment_date),
            id_factory,
        )

    def assert_invitation_can_be_sent(self) -> SaasInvitation:
        """Sending the invitation (again) needs one, and an active subscription to invite to."""
        if self.invitation is None:
            raise PreconditionFailed(
                f"The subscription of {self.customer_company_name} has no invitation: the reseller manages the designs.",
                field="saasSubscriptionId",
            )
        if self.status is not SaasStatus.ACTIVE:
            raise Conflict(
                f"The subscription of {self.customer_company_name} is inactive: there is nothing to invite to.",
                field="saasSubscriptionId", hint="Activate the subscription first.",
            )
        return self.invitation

    def record_invitation_delivery(
        self, *, sent: bool, now: datetime, actor_id: str, id_factory: IdFactory | None = None
    ) -> SubscriptionEvent:
        """The outcome of one sending of the invitation e-mail."""
        now = ensure_utc(now)
        invitation = self.invitation
        if invitation is None:
            raise PreconditionFailed("There is no invitation to record.", field="saasSubscriptionId")
        if sent:
            self.invitation = replace(invitation, status=SaasInvitationStatus.SENT, sent_at=now)
        else:
            self.invitation = replace(invitation, status=SaasInvitationStatus.FAILED, failed_at=now)
        kind = SubscriptionEventKind.INVITATION_SENT if sent else SubscriptionEventKind.INVITATION_NOT_DELIVERED
        return self._record(kind, now, actor_id, _details(email=invitation.email), id_factory)

    def next_payment_on(self, today: date) -> date:
        """The payment date due next as seen on ``today``: the stored one while it is ahead (or today), else the first
        anchored date from today on (the daily job has not charged the month yet: a list read on 2026-12-23 before
        the job ran still shows 2026-12-23; one read on 2027-02-24 of a subscription whose job was down since shows
        2027-03-23, the months in between are charged by its next run). While inactive: the stored date
        (reactivating sets the next one, see ``activate``)."""
        if self.status is not SaasStatus.ACTIVE or self.next_payment_date >= today:
            return self.next_payment_date
        return next_anchored_after(self.billing_anchor_date, 1, today - timedelta(days=1))

    # --- billing (the partner pays; see the module's rules) ---------------------------------

    def opening_charge(self, catalogue: Catalogue) -> Charge:
        """The first month, paid at creation: creation date up to the first payment date, for the users then."""
        return self._month_charge(catalogue, self.billing_anchor_date, self.next_payment_date)

    def charge_next_month(
        self, catalogue: Catalogue, *, today: date, now: datetime, actor_id: str = SYSTEM_ACTOR_ID,
        id_factory: IdFactory | None = None,
    ) -> Charge | None:
        """The month starting on the next payment date, once that date has come (``today``, Berlin) while active:
        charged for the users now, at the price in force on the payment date; the next payment date moves on one
        anchored month (not to the first date after today: a late run charges each missed month in turn). ``None``
        while inactive or paid up."""
        now = ensure_utc(now)
        if self.status is not SaasStatus.ACTIVE or self.next_payment_date > today:
            return None
        start = self.next_payment_date
        end = next_anchored_after(self.billing_anchor_date, 1, start)
        charge = self._month_charge(catalogue, start, end)
        self.next_payment_date, self.paid_users = end, self.users
        self._record(
            SubscriptionEventKind.NEXT_PAYMENT_DATE_ADVANCED,
            now,
            actor_id,
            _details(paid_date=start, next_payment_date=end, users=self.users, charged=charge.amount),
            id_factory,
        )
        return charge

    def settle(
        self, catalogue: Catalogue, *, now: datetime, actor_id: str = SYSTEM_ACTOR_ID, id_factory: IdFactory | None = None,
    ) -> list[Charge]:
        """Everything owed as of ``now``: each month whose payment date has come (oldest first), then the users
        beyond those paid for, pro rata for the rest of the paid month. The service calls it before a change (the
        months due are charged as they were) and after it (added users, a month started by reactivation)."""
        now = ensure_utc(now)
        today = berlin_date(now)
        charges = []
        while (charge := self.charge_next_month(catalogue, today=today, now=now, actor_id=actor_id, id_factory=id_factory)) is not None:
            charges.append(charge)
        added = self.users - self.users_paid_for
        if self.status is SaasStatus.ACTIVE and added > 0:
            charges.append(self._added_users_charge(catalogue, added, today, now))
            self.paid_users = self.users
        return charges

    def _paid_month_start(self) -> date:
        """The first day of the month paid up to ``next_payment_date`` (an anchored date after the anchor)."""
        index = period_index_containing(self.billing_anchor_date, 1, self.next_payment_date)
        return add_months(self.billing_anchor_date, index - 1)

    def _unit_price(self, catalogue: Catalogue, on: date) -> Money:
        return catalogue.price_on(self.product_id, Term.P1M, Billing.MONTHLY, on)

    def _product_name(self, catalogue: Catalogue) -> str:
        product = catalogue.products.get(self.product_id)
        return product.name if product is not None else self.product_id

    def _month_charge(self, catalogue: Catalogue, start: date, end: date) -> Charge:
        unit_price = self._unit_price(catalogue, start)
        return self._charge(
            ChargeKind.RECURRING, start, end, self.users, unit_price, (unit_price * self.users).rounded(), "saas-month",
            f"{self._product_name(catalogue)} for {self.customer_company_name}: {self.users} user(s) × {unit_price} a month",
        )

    def _added_users_charge(self, catalogue: Catalogue, added: int, today: date, now: datetime) -> Charge:
        start, end = self._paid_month_start(), self.next_payment_date
        unit_price = self._unit_price(catalogue, today)
        return self._charge(
            ChargeKind.PRORATA_INCREASE, today, end, added, unit_price, prorated_between(unit_price, added, today, start, end),
            f"users-{self.users_paid_for}-{self.users}",
            f"{self._product_name(catalogue)} for {self.customer_company_name}: {added} user(s) added on {today.isoformat()} "
            f"({self.users} in all), {unit_price} × {added} × {days_between(today, end)}/{days_between(start, end)} days",
            changed_at=now,
        )

    def _charge(
        self, kind: ChargeKind, start: date, end: date, quantity: int, unit_price: Money, amount: Money, reference: str,
        description: str, *, changed_at: datetime | None = None,
    ) -> Charge:
        return Charge(
            charge_id=charge_id_for(self.id, kind, start, end, reference),
            subscription_id=self.id,
            customer_id=self.customer_id or self.partner_id,
            partner_id=self.partner_id,
            kind=kind,
            period_start=start,
            period_end=end,
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
            description=description,
            changed_at=changed_at,
            billed_to_partner=True,
        )


def new_saas_subscription(
    *,
    partner_id: str,
    product: Product,
    customer_company_name: str,
    users: int,
    now: datetime,
    actor_id: str,
    customer_id: str | None = None,
    invite_contact_name: str | None = None,
    invite_email: str | None = None,
    id_factory: IdFactory | None = None,
) -> SaasSubscription:
    """Create a reseller SaaS subscription, optionally inviting the customer to manage its designs."""
    now = ensure_utc(now)
    if product.kind is not ProductKind.SAAS:
        raise ValidationFailed(f"{product.name} is not a reseller SaaS product.", field="productId")
    company = require_text(customer_company_name, "customerCompanyName", label="Customer company name")
    _require_count(users, "users", "The number of users")
    invitation = _invitation(invite_contact_name, invite_email, now)
    today = berlin_date(now)
    subscription = SaasSubscription(
        id=new_id("sub", id_factory),
        partner_id=partner_id,
        product_id=product.id,
        customer_company_name=company,
        users=users,
        status=SaasStatus.ACTIVE,
        billing_anchor_date=today,
        next_payment_date=add_months(today, 1),
        created_at=now,
        customer_id=customer_id,
        invitation=invitation,
        paid_users=users,  # the first month is paid at creation (``opening_charge``)
    )
    subscription._record(
        SubscriptionEventKind.CREATED,
        now,
        actor_id,
        _details(
            product_id=product.id,
            users=users,
            customer_company_name=company,
            invited_email=invitation.email if invitation else None,
        ),
        id_factory,
    )
    return subscription
