"""CSP subscriptions: the 7-day window, credits, increases, cancellation, charges, scheduling."""

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.catalogue import Billing, Product, ProductCategory, ProductKind, Term
from domain.errors import Conflict, ErrorCode, NotFound, ValidationFailed
from domain.money import Money
from domain.subscriptions import (
    CancellationWindowClosed,
    ChargeKind,
    EndReason,
    ScheduledChange,
    SeatLot,
    Subscription,
    SubscriptionEventKind,
    SubscriptionStatus,
    billing_cycles,
    charge_id_for,
    open_subscription,
    recurring_charge_for_cycle,
)

UTC = timezone.utc
STANDARD = Product(
    "prd_standard",
    "Microsoft 365 Business Standard",
    ProductCategory.MICROSOFT_365,
    ProductKind.CSP_NCE,
    upgrade_targets=frozenset({"prd_premium"}),
)
PREMIUM = Product("prd_premium", "Microsoft 365 Business Premium", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def fixed_prices(monthly: str = "10.00", annual: str = "120.00"):
    """Per seat per month for monthly billing, per seat per year for annual billing, on any date."""

    def lookup(product_id, term, billing, on, *, currency="EUR"):
        return Money.of(monthly if billing is Billing.MONTHLY else annual, currency)

    return lookup


def subscribe(
    *,
    at: datetime = utc(2023, 1, 15, 10),
    quantity: int = 10,
    term: Term = Term.P1Y,
    billing: Billing = Billing.MONTHLY,
    prices=None,
    auto_renew: bool = True,
    ids=None,
) -> Subscription:
    return open_subscription(
        customer_id="cus_1",
        partner_id="ptn_1",
        product=STANDARD,
        term=term,
        billing=billing,
        quantity=quantity,
        now=at,
        actor_id="usr_partner",
        price_lookup=prices or fixed_prices(),
        auto_renew=auto_renew,
        id_factory=ids or counting_ids(),
    ).new_subscription


# --- opening -----------------------------------------------------------------------------


def test_opening_locks_the_unit_price_and_starts_the_term_at_the_order_instant():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.unit_price == Money.of("10.00")
    assert (sub.started_at, sub.term_started_at, sub.term_ends_at) == (
        utc(2023, 1, 15, 10),
        utc(2023, 1, 15, 10),
        utc(2024, 1, 15, 10),
    )
    assert sub.quantity == 10
    assert sub.seat_lots == [SeatLot("lot_2", 10, utc(2023, 1, 15, 10))]


def test_opening_charges_the_first_billing_cycle():
    outcome = open_subscription(
        customer_id="cus_1",
        partner_id="ptn_1",
        product=STANDARD,
        term=Term.P1Y,
        billing=Billing.MONTHLY,
        quantity=10,
        now=utc(2023, 1, 15, 10),
        actor_id="usr_partner",
        price_lookup=fixed_prices(),
        id_factory=counting_ids(),
    )
    (charge,) = outcome.charges
    assert (charge.kind, charge.period_start.isoformat(), charge.period_end.isoformat(), charge.amount) == (
        ChargeKind.RECURRING,
        "2023-01-15",
        "2023-02-15",
        Money.of("100.00"),
    )
    assert outcome.events[0].kind is SubscriptionEventKind.CREATED
    assert outcome.events[0].actor_id == "usr_partner"


def test_opening_a_monthly_term_billed_annually_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        subscribe(term=Term.P1M, billing=Billing.ANNUAL)
    assert "P1M/MONTHLY, P1Y/MONTHLY, P1Y/ANNUAL" in refused.value.hint


@pytest.mark.parametrize("kind", [ProductKind.CSP_LEGACY, ProductKind.PERPETUAL, ProductKind.SAAS])
def test_only_new_commerce_products_can_be_ordered_as_csp_subscriptions(kind):
    product = Product("prd_x", "X", ProductCategory.MICROSOFT_365, kind)
    with pytest.raises(ValidationFailed):
        open_subscription(
            customer_id="cus_1",
            partner_id="ptn_1",
            product=product,
            term=Term.P1Y,
            billing=Billing.MONTHLY,
            quantity=1,
            now=utc(2023, 1, 15, 10),
            actor_id="usr_partner",
            price_lookup=fixed_prices(),
        )


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_opening_needs_at_least_one_seat(quantity):
    with pytest.raises(ValidationFailed):
        subscribe(quantity=quantity)


def test_opening_without_a_price_is_not_found():
    def no_price(product_id, term, billing, on, *, currency="EUR"):
        raise NotFound("no price")

    with pytest.raises(NotFound):
        subscribe(prices=no_price)


# --- the 168-hour window and credits ------------------------------------------------------


@pytest.mark.parametrize("at", [utc(2023, 1, 19, 23, 0), utc(2023, 1, 20, 10, 0), utc(2023, 1, 20, 22, 59)])
def test_reduction_on_berlin_day_2023_01_20_is_credited_26_of_31_days(at):
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.reduce_seats(2, now=at, actor_id="usr_partner")
    # 10.00 × 2 × 26 / 31 = 16.774… → 16.77
    (credit,) = outcome.charges
    assert credit.kind is ChargeKind.CREDIT
    assert credit.amount == Money.of("-16.77")
    assert (credit.period_start.isoformat(), credit.period_end.isoformat()) == ("2023-01-20", "2023-02-15")
    assert sub.quantity == 8


def test_reduction_after_midnight_berlin_counts_the_next_day():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.reduce_seats(2, now=utc(2023, 1, 20, 23, 0), actor_id="usr_partner")  # 2023-01-21 in Berlin
    assert outcome.charges[0].amount == Money.of("-16.13")  # 10 × 2 × 25 / 31


def test_reduction_after_the_168_hour_window_is_refused_naming_the_next_renewal():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.reduce_seats(2, now=utc(2023, 1, 22, 10, 1), actor_id="usr_partner")
    error = refused.value
    assert error.code is ErrorCode.CANCELLATION_WINDOW_CLOSED
    assert "2024-01-15 10:00 UTC" in error.message
    assert "Schedule the change for the renewal at 2024-01-15 10:00 UTC" in error.hint
    assert "turn auto-renew off" in error.hint
    assert error.next_window_opens_at == utc(2024, 1, 15, 10)
    assert error.reducible_seats_now == 0
    assert error.requested_seats == 2


def test_window_is_open_until_just_before_168_hours():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.reduce_seats(1, now=utc(2023, 1, 22, 10) - timedelta(microseconds=1), actor_id="usr_partner")
    assert sub.quantity == 9


def test_window_is_closed_at_exactly_168_hours():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(CancellationWindowClosed):
        sub.reduce_seats(1, now=utc(2023, 1, 22, 10), actor_id="usr_partner")


def test_seat_lot_window_closes_168_hours_after_it_was_added():
    lot = SeatLot("lot_1", 3, utc(2023, 3, 15, 11))
    assert lot.cancellation_window_closes_at == utc(2023, 3, 22, 11)


def test_refused_window_message_when_auto_renew_is_off_says_the_subscription_ends():
    sub = subscribe(at=utc(2023, 1, 15, 10), auto_renew=False)
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.reduce_seats(1, now=utc(2023, 2, 1), actor_id="usr_partner")
    assert refused.value.next_window_opens_at is None
    assert "ends at 2024-01-15 10:00 UTC" in refused.value.message
    assert "turn auto-renew on" in refused.value.hint


def test_added_seats_can_be_reduced_within_their_own_window():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    outcome = sub.reduce_seats(3, now=utc(2023, 6, 5, 12), actor_id="usr_partner")
    assert sub.quantity == 12
    # cycle 2023-05-15..06-15 (31 days), 10 days left: 10 × 3 × 10 / 31 = 9.677… → 9.68
    assert outcome.charges[0].amount == Money.of("-9.68")


def test_reduction_beyond_the_seats_still_in_a_window_is_refused():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.reduce_seats(6, now=utc(2023, 6, 5, 12), actor_id="usr_partner")
    assert refused.value.reducible_seats_now == 5
    assert refused.value.next_window_opens_at == utc(2024, 1, 15, 10)


def test_a_refused_reduction_changes_nothing():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    lots_before, history_before = list(sub.seat_lots), len(sub.history)
    with pytest.raises(CancellationWindowClosed):
        sub.reduce_seats(1, now=utc(2023, 2, 1), actor_id="usr_partner")
    assert sub.seat_lots == lots_before
    assert len(sub.history) == history_before


def test_reduction_takes_seats_from_the_newest_open_lot_first():
    ids = counting_ids()
    sub = subscribe(at=utc(2023, 1, 15, 10), ids=ids)
    sub.increase_seats(3, now=utc(2023, 1, 17, 10), actor_id="usr_partner", id_factory=ids)
    outcome = sub.reduce_seats(4, now=utc(2023, 1, 18, 10), actor_id="usr_partner", id_factory=ids)
    first_lot, added_lot = "lot_2", "lot_4"
    assert [(lot.lot_id, lot.quantity) for lot in outcome.affected_lots] == [(added_lot, 3), (first_lot, 1)]
    assert [(lot.lot_id, lot.quantity) for lot in sub.seat_lots] == [(first_lot, 9)]


def test_reduction_skips_newer_lots_whose_window_closed():
    ids = counting_ids()
    sub = subscribe(at=utc(2023, 1, 15, 10), ids=ids)
    sub.increase_seats(2, now=utc(2023, 3, 1, 10), actor_id="usr_partner", id_factory=ids)  # closes 03-08
    sub.increase_seats(4, now=utc(2023, 3, 6, 10), actor_id="usr_partner", id_factory=ids)  # closes 03-13
    outcome = sub.reduce_seats(3, now=utc(2023, 3, 10, 10), actor_id="usr_partner", id_factory=ids)
    assert [(lot.quantity, lot.added_at) for lot in outcome.affected_lots] == [(3, utc(2023, 3, 6, 10))]
    assert sub.quantity == 13


def test_reducing_to_zero_seats_is_refused_with_a_hint_to_cancel():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(ValidationFailed) as refused:
        sub.reduce_seats(10, now=utc(2023, 1, 16), actor_id="usr_partner")
    assert "Cancel" in refused.value.hint


def test_setting_the_quantity_to_zero_is_refused_with_a_hint_to_cancel():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(ValidationFailed) as refused:
        sub.change_quantity(0, now=utc(2023, 1, 16), actor_id="usr_partner")
    assert refused.value.field == "quantity"
    assert "Cancel" in refused.value.hint
    assert sub.quantity == 10


def test_removing_more_seats_than_held_is_refused():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(ValidationFailed):
        sub.reduce_seats(11, now=utc(2023, 1, 16), actor_id="usr_partner")


def test_change_quantity_upwards_adds_a_lot():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.change_quantity(12, now=utc(2023, 3, 1), actor_id="usr_partner")
    assert outcome.events[0].kind is SubscriptionEventKind.SEATS_ADDED
    assert sub.quantity == 12


def test_change_quantity_downwards_is_a_reduction_under_the_window_rule():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(CancellationWindowClosed):
        sub.change_quantity(8, now=utc(2023, 3, 1), actor_id="usr_partner")


def test_change_quantity_to_the_current_count_changes_nothing():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.change_quantity(10, now=utc(2023, 3, 1), actor_id="usr_partner")
    assert not outcome.changed
    assert len(sub.history) == 1


def test_credit_is_rounded_half_up_to_the_cent():
    # cycle 2023-04-15..05-15 has 30 days; 1.05 × 3 × 25 / 30 = 2.625 → 2.63 (half-even would give 2.62)
    sub = subscribe(at=utc(2023, 4, 15, 10), prices=fixed_prices(monthly="1.05"))
    outcome = sub.reduce_seats(3, now=utc(2023, 4, 20, 10), actor_id="usr_partner")
    assert outcome.charges[0].amount == Money.of("-2.63")


def test_annual_upfront_credit_uses_the_days_of_the_term():
    sub = subscribe(at=utc(2024, 1, 1, 10), billing=Billing.ANNUAL)
    outcome = sub.reduce_seats(1, now=utc(2024, 1, 3, 10), actor_id="usr_partner")
    # 120.00 × 1 × 364 / 366 = 119.344… → 119.34
    assert outcome.charges[0].amount == Money.of("-119.34")
    assert outcome.charges[0].period_end.isoformat() == "2025-01-01"


# --- increases ----------------------------------------------------------------------------


def test_increase_on_annual_term_billed_monthly_is_charged_for_the_rest_of_the_month_cycle():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    (charge,) = outcome.charges
    # cycle 2023-05-15..06-15: 14 of 31 days; 10.00 × 5 × 14 / 31 = 22.580… → 22.58
    assert (charge.kind, charge.quantity, charge.amount) == (ChargeKind.PRORATA_INCREASE, 5, Money.of("22.58"))
    assert (charge.period_start.isoformat(), charge.period_end.isoformat()) == ("2023-06-01", "2023-06-15")


def test_increase_on_annual_upfront_is_charged_for_the_rest_of_the_term():
    sub = subscribe(at=utc(2024, 1, 1, 10), billing=Billing.ANNUAL)
    outcome = sub.increase_seats(2, now=utc(2024, 7, 1, 10), actor_id="usr_partner")
    # 120.00 × 2 × 184 / 366 = 120.655… → 120.66
    assert outcome.charges[0].amount == Money.of("120.66")
    assert outcome.charges[0].period_end.isoformat() == "2025-01-01"


def test_increase_on_a_monthly_term_is_charged_for_the_rest_of_the_month():
    sub = subscribe(at=utc(2024, 1, 31, 10), term=Term.P1M, prices=fixed_prices(monthly="12.00"))
    outcome = sub.increase_seats(1, now=utc(2024, 2, 10, 10), actor_id="usr_partner")
    # term 2024-01-31..02-29 (29 days), 19 days left: 12.00 × 19 / 29 = 7.862… → 7.86
    assert outcome.charges[0].amount == Money.of("7.86")


def test_increase_keeps_the_locked_unit_price_of_the_term():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(1, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    assert sub.unit_price == Money.of("10.00")


def test_increase_adds_a_lot_with_its_own_window():
    ids = counting_ids()
    sub = subscribe(at=utc(2023, 1, 15, 10), ids=ids)
    outcome = sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner", id_factory=ids)
    (lot,) = outcome.affected_lots
    assert lot.cancellation_window_closes_at == utc(2023, 6, 8, 9)
    assert sub.seat_lots[-1] == lot
    assert outcome.events[0].details["cancellation_window_closes_at"] == "2023-06-08T09:00:00+00:00"


@pytest.mark.parametrize("seats", [0, -2])
def test_increase_needs_a_positive_number_of_seats(seats):
    sub = subscribe()
    with pytest.raises(ValidationFailed):
        sub.increase_seats(seats, now=utc(2023, 2, 1), actor_id="usr_partner")


def test_the_increase_charge_id_is_derived_from_subscription_kind_period_and_lot():
    ids = counting_ids()
    sub = subscribe(at=utc(2023, 1, 15, 10), ids=ids)
    outcome = sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner", id_factory=ids)
    charge = outcome.charges[0]
    lot_id = outcome.affected_lots[0].lot_id
    expected = charge_id_for(sub.id, ChargeKind.PRORATA_INCREASE, charge.period_start, charge.period_end, lot_id)
    assert charge.charge_id == expected


# --- cancellation -------------------------------------------------------------------------


def test_cancellation_inside_the_window_stops_at_once_with_a_credit():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.cancel(now=utc(2023, 1, 16, 8), actor_id="usr_partner")
    assert sub.status is SubscriptionStatus.CANCELLED
    assert sub.end_reason is EndReason.CANCELLED
    assert sub.ended_at == utc(2023, 1, 16, 8)
    assert sub.quantity == 0
    # 10.00 × 10 × 30 / 31 = 96.774… → 96.77
    assert outcome.charges[0].amount == Money.of("-96.77")
    assert outcome.events[0].kind is SubscriptionEventKind.CANCELLED
    assert outcome.events[0].details["seats"] == "10"


def test_cancellation_after_the_window_is_refused_offering_auto_renew_off():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.cancel(now=utc(2023, 1, 22, 10, 1), actor_id="usr_partner")
    assert refused.value.field == "subscriptionId"
    assert "2024-01-15 10:00 UTC" in refused.value.message
    assert "auto-renew off" in refused.value.hint
    assert sub.status is SubscriptionStatus.ACTIVE


def test_cancellation_is_refused_while_only_some_seats_are_inside_a_window():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.cancel(now=utc(2023, 6, 2), actor_id="usr_partner")
    assert refused.value.reducible_seats_now == 5
    assert "Up to 5 seat(s) can still be removed now" in refused.value.message


def test_cancellation_is_allowed_while_every_lot_is_inside_its_window():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(5, now=utc(2023, 1, 17, 10), actor_id="usr_partner")
    outcome = sub.cancel(now=utc(2023, 1, 20, 10), actor_id="usr_partner")
    assert outcome.charges[0].quantity == 15
    assert sub.status is SubscriptionStatus.CANCELLED


def test_a_cancelled_subscription_cannot_be_restored_or_changed():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.cancel(now=utc(2023, 1, 16), actor_id="usr_partner")
    with pytest.raises(Conflict):
        sub.increase_seats(10, now=utc(2023, 1, 17), actor_id="usr_partner")
    with pytest.raises(Conflict):
        sub.set_auto_renew(False, now=utc(2023, 1, 17), actor_id="usr_partner")
    with pytest.raises(Conflict):
        sub.cancel(now=utc(2023, 1, 17), actor_id="usr_partner")
    assert sub.status is SubscriptionStatus.CANCELLED


def test_a_cancelled_subscription_has_no_recurring_charges():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.cancel(now=utc(2023, 1, 16), actor_id="usr_partner")
    assert recurring_charge_for_cycle(sub, 1) is None


# --- guards -------------------------------------------------------------------------------


def test_changes_are_refused_while_a_due_renewal_is_unprocessed():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(Conflict) as refused:
        sub.increase_seats(1, now=utc(2024, 1, 15, 10), actor_id="usr_partner")
    assert "Renew" in refused.value.hint


def test_changes_dated_before_the_subscription_started_are_refused():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(ValidationFailed):
        sub.increase_seats(1, now=utc(2023, 1, 15, 9), actor_id="usr_partner")


def test_every_change_appends_an_event_with_actor_and_instant():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(2, now=utc(2023, 1, 16, 8), actor_id="usr_a")
    sub.reduce_seats(1, now=utc(2023, 1, 16, 9), actor_id="usr_b")
    sub.set_auto_renew(False, now=utc(2023, 1, 16, 10), actor_id="usr_c")
    assert [(e.kind, e.actor_id, e.at) for e in sub.history[1:]] == [
        (SubscriptionEventKind.SEATS_ADDED, "usr_a", utc(2023, 1, 16, 8)),
        (SubscriptionEventKind.SEATS_REDUCED, "usr_b", utc(2023, 1, 16, 9)),
        (SubscriptionEventKind.AUTO_RENEW_CHANGED, "usr_c", utc(2023, 1, 16, 10)),
    ]


def test_event_ids_come_from_the_injected_factory():
    sub = subscribe(ids=counting_ids())
    assert sub.id == "sub_1"
    assert sub.history[0].event_id == "evt_3"


# --- billing cycles and recurring charges -------------------------------------------------


def test_annual_term_billed_monthly_has_twelve_cycles_anchored_on_the_start():
    sub = subscribe(at=utc(2024, 1, 31, 10))
    cycles = billing_cycles(sub)
    assert len(cycles) == 12
    # 11:00 in Berlin each time: 10:00 UTC in winter, 09:00 UTC in summer (from 2024-03-31).
    assert [c.ends_at for c in cycles[:3]] == [utc(2024, 2, 29, 10), utc(2024, 3, 31, 9), utc(2024, 4, 30, 9)]
    assert cycles[-1].ends_at == sub.term_ends_at == utc(2025, 1, 31, 10)


@pytest.mark.parametrize("term, billing", [(Term.P1Y, Billing.ANNUAL), (Term.P1M, Billing.MONTHLY)])
def test_annual_upfront_and_monthly_terms_have_one_cycle_per_term(term, billing):
    sub = subscribe(at=utc(2024, 1, 31, 10), term=term, billing=billing)
    (cycle,) = billing_cycles(sub)
    assert (cycle.starts_at, cycle.ends_at) == (sub.term_started_at, sub.term_ends_at)


def test_recurring_charge_bills_the_seats_held_at_the_cycle_start():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    may = recurring_charge_for_cycle(sub, 4)  # 2023-05-15..06-15: the 5 seats were charged pro rata
    june = recurring_charge_for_cycle(sub, 5)
    assert (may.quantity, may.amount) == (10, Money.of("100.00"))
    assert (june.quantity, june.amount) == (15, Money.of("150.00"))
    assert (june.period_start.isoformat(), june.period_end.isoformat()) == ("2023-06-15", "2023-07-15")


def test_recurring_charge_ids_are_deterministic_per_cycle():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    assert recurring_charge_for_cycle(sub, 3).charge_id == recurring_charge_for_cycle(sub, 3).charge_id
    assert recurring_charge_for_cycle(sub, 3).charge_id != recurring_charge_for_cycle(sub, 4).charge_id


def test_recurring_charge_for_a_cycle_outside_the_term_is_refused():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(ValidationFailed):
        recurring_charge_for_cycle(sub, 12)


def test_billing_cycle_at_an_instant_outside_the_term_is_refused():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    with pytest.raises(ValidationFailed):
        sub.billing_cycle_at(utc(2024, 1, 15, 10))


# --- auto-renew and scheduled changes ------------------------------------------------------


def test_turning_auto_renew_off_is_recorded_and_removes_the_next_renewal():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.set_auto_renew(False, now=utc(2023, 5, 1), actor_id="usr_partner")
    assert outcome.events[0].details == {"auto_renew": "false", "term_ends_at": "2024-01-15T10:00:00+00:00"}
    assert sub.next_renewal_at is None


def test_setting_auto_renew_to_its_current_value_changes_nothing():
    sub = subscribe()
    assert not sub.set_auto_renew(True, now=utc(2023, 5, 1), actor_id="usr_partner").changed
    assert len(sub.history) == 1


def test_a_change_can_be_scheduled_for_the_next_renewal():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    change = ScheduledChange(quantity=8, billing=Billing.ANNUAL)
    outcome = sub.schedule_change(change, now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices())
    assert sub.scheduled_change == change
    assert outcome.events[0].kind is SubscriptionEventKind.CHANGE_SCHEDULED
    assert outcome.events[0].details["scheduled_quantity"] == "8"


def test_a_scheduled_change_to_an_invalid_term_billing_combination_is_refused():
    sub = subscribe(at=utc(2023, 1, 15, 10), billing=Billing.ANNUAL)
    with pytest.raises(ValidationFailed) as refused:
        sub.schedule_change(
            ScheduledChange(term=Term.P1M), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices()
        )
    assert refused.value.field == "scheduledChange.billing"


def test_an_empty_scheduled_change_is_refused():
    sub = subscribe()
    with pytest.raises(ValidationFailed):
        sub.schedule_change(ScheduledChange(), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices())


def test_a_scheduled_quantity_must_be_positive():
    sub = subscribe()
    with pytest.raises(ValidationFailed):
        sub.schedule_change(
            ScheduledChange(quantity=0), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices()
        )


def test_a_scheduled_product_switch_needs_the_product_and_a_new_commerce_product():
    sub = subscribe()
    change = ScheduledChange(product_id="prd_premium")
    with pytest.raises(ValidationFailed):
        sub.schedule_change(change, now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices())
    legacy = Product("prd_premium", "Premium (legacy)", ProductCategory.MICROSOFT_365, ProductKind.CSP_LEGACY)
    with pytest.raises(ValidationFailed):
        sub.schedule_change(
            change, now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices(), product=legacy
        )
    sub.schedule_change(
        change, now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices(), product=PREMIUM
    )
    assert sub.scheduled_change.product_id == "prd_premium"


def test_a_scheduled_change_needs_a_price_on_the_renewal_date():
    def priced_until_2023(product_id, term, billing, on, *, currency="EUR"):
        if on.year > 2023:
            raise NotFound("no price")
        return Money.of("10.00")

    sub = subscribe(at=utc(2023, 1, 15, 10), prices=priced_until_2023)
    with pytest.raises(NotFound):
        sub.schedule_change(
            ScheduledChange(quantity=5), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=priced_until_2023
        )


def test_nothing_can_be_scheduled_while_auto_renew_is_off():
    sub = subscribe(auto_renew=False)
    with pytest.raises(Conflict) as refused:
        sub.schedule_change(
            ScheduledChange(quantity=5), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices()
        )
    assert "auto-renew on" in refused.value.hint


def test_a_mid_term_increase_deletes_the_scheduled_change_and_says_so():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    change = ScheduledChange(quantity=8)
    sub.schedule_change(change, now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices())
    outcome = sub.increase_seats(2, now=utc(2023, 6, 1), actor_id="usr_partner")
    assert outcome.scheduled_change_deleted
    assert outcome.deleted_scheduled_change == change
    assert sub.scheduled_change is None
    assert [e.kind for e in outcome.events] == [
        SubscriptionEventKind.SEATS_ADDED,
        SubscriptionEventKind.SCHEDULED_CHANGE_DELETED,
    ]
    assert outcome.events[1].details["reason"] == "SEATS_ADDED"


def test_a_mid_term_reduction_deletes_the_scheduled_change():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.schedule_change(
        ScheduledChange(quantity=8), now=utc(2023, 1, 16), actor_id="usr_partner", price_lookup=fixed_prices()
    )
    outcome = sub.reduce_seats(1, now=utc(2023, 1, 17), actor_id="usr_partner")
    assert outcome.scheduled_change_deleted
    assert sub.scheduled_change is None


def test_an_increase_without_a_scheduled_change_deletes_nothing():
    sub = subscribe()
    outcome = sub.increase_seats(1, now=utc(2023, 6, 1), actor_id="usr_partner")
    assert not outcome.scheduled_change_deleted
    assert len(outcome.events) == 1


def test_turning_auto_renew_off_deletes_the_scheduled_change():
    sub = subscribe()
    sub.schedule_change(
        ScheduledChange(quantity=8), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices()
    )
    outcome = sub.set_auto_renew(False, now=utc(2023, 5, 2), actor_id="usr_partner")
    assert outcome.scheduled_change_deleted
    assert sub.scheduled_change is None


def test_removing_the_scheduled_change_is_recorded():
    sub = subscribe()
    sub.schedule_change(
        ScheduledChange(quantity=8), now=utc(2023, 5, 1), actor_id="usr_partner", price_lookup=fixed_prices()
    )
    outcome = sub.remove_scheduled_change(now=utc(2023, 5, 2), actor_id="usr_partner")
    assert outcome.events[0].kind is SubscriptionEventKind.SCHEDULED_CHANGE_REMOVED
    assert sub.scheduled_change is None
    assert not sub.remove_scheduled_change(now=utc(2023, 5, 3), actor_id="usr_partner").changed


def test_net_amount_of_an_outcome_sums_its_charges():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = sub.reduce_seats(2, now=utc(2023, 1, 20, 10), actor_id="usr_partner")
    assert outcome.net_amount == Money(Decimal("-16.77"))
