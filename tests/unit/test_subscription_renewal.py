"""Renewals: anchored terms, idempotence, expiry, price changes, scheduled changes, legacy terms."""

import itertools
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.catalogue import (
    M365_BUSINESS_PREMIUM,
    M365_BUSINESS_STANDARD,
    O365_E3_LEGACY,
    Billing,
    Term,
    demo_catalogue,
)
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.money import Money
from domain.subscriptions import (
    CancellationWindowClosed,
    ChargeKind,
    EndReason,
    RenewalResult,
    ScheduledChange,
    SubscriptionEventKind,
    SubscriptionStatus,
    charge_due_cycles,
    import_legacy_subscription,
    next_cycle_due,
    open_subscription,
    recurring_charge_for_cycle,
    renew,
)

UTC = timezone.utc
BASE_PRICES = demo_catalogue(include_april_2023_increase=False)  # Business Standard 10.50 / month on P1Y
WITH_APRIL_2023_INCREASE = BASE_PRICES.with_price_change(
    currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1)
)  # Business Standard 11.66


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def subscribe(
    *, at, term=Term.P1Y, billing=Billing.MONTHLY, quantity=10, prices=WITH_APRIL_2023_INCREASE, auto_renew=True
):
    return open_subscription(
        customer_id="cus_1",
        partner_id="ptn_1",
        product=prices.product(M365_BUSINESS_STANDARD),
        term=term,
        billing=billing,
        quantity=quantity,
        now=at,
        actor_id="usr_partner",
        price_lookup=prices,
        auto_renew=auto_renew,
        id_factory=counting_ids(),
    ).new_subscription


def test_monthly_term_started_on_jan_31_renews_on_the_last_days_of_shorter_months():
    sub = subscribe(at=utc(2024, 1, 31, 10), term=Term.P1M)
    renewals = []
    for _ in range(3):
        renewals.append(sub.term_ends_at)
        renew(sub, WITH_APRIL_2023_INCREASE, sub.term_ends_at)
    # 11:00 in Berlin each time: 10:00 UTC in winter, 09:00 UTC in summer (from 2024-03-31).
    assert renewals == [utc(2024, 2, 29, 10), utc(2024, 3, 31, 9), utc(2024, 4, 30, 9)]
    assert sub.term_ends_at == utc(2024, 5, 31, 9)


def test_annual_term_started_on_a_leap_day_renews_on_feb_28_and_on_feb_29_in_leap_years():
    sub = subscribe(at=utc(2024, 2, 29, 10))
    ends = []
    for _ in range(4):
        ends.append(sub.term_ends_at)
        renew(sub, WITH_APRIL_2023_INCREASE, sub.term_ends_at)
    assert ends == [utc(2025, 2, 28, 10), utc(2026, 2, 28, 10), utc(2027, 2, 28, 10), utc(2028, 2, 29, 10)]


def test_renewing_before_the_term_end_is_a_no_op():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 9, 59))
    assert outcome.result is RenewalResult.NOT_DUE
    assert outcome.nothing_to_do
    assert len(sub.history) == 1
    assert sub.term_ends_at == utc(2024, 1, 15, 10)


def test_renewing_twice_is_a_no_op_the_second_time():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    first = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10, 5))
    history_after_first = list(sub.history)
    second = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10, 5))
    assert (first.result, first.renewals) == (RenewalResult.RENEWED, 1)
    assert second.result is RenewalResult.NOT_DUE
    assert second.events == () and second.charges == ()
    assert sub.history == history_after_first
    assert sub.term_ends_at == utc(2025, 1, 15, 10)


def test_a_price_change_inside_a_running_term_applies_only_from_the_renewal():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    assert sub.unit_price == Money.of("10.50")
    sub.increase_seats(2, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    assert sub.unit_price == Money.of("10.50")
    assert recurring_charge_for_cycle(sub, 11).unit_price == Money.of("10.50")  # 2023-12-15..2024-01-15

    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10))
    assert (outcome.previous_unit_price, outcome.unit_price) == (Money.of("10.50"), Money.of("11.66"))
    assert sub.unit_price == Money.of("11.66")


def test_renewal_charges_the_first_cycle_of_the_new_term_at_the_new_price():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    (charge,) = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10)).charges
    assert (charge.kind, charge.quantity, charge.amount) == (ChargeKind.RECURRING, 10, Money.of("116.60"))
    assert (charge.period_start.isoformat(), charge.period_end.isoformat()) == ("2024-01-15", "2024-02-15")


def test_renewal_merges_all_seats_into_one_lot_with_a_fresh_window():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.increase_seats(5, now=utc(2023, 6, 1, 9), actor_id="usr_partner")
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10))
    assert [(lot.quantity, lot.added_at) for lot in sub.seat_lots] == [(15, utc(2024, 1, 15, 10))]
    sub.reduce_seats(3, now=utc(2024, 1, 22, 9, 59), actor_id="usr_partner")
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.reduce_seats(1, now=utc(2024, 1, 22, 10), actor_id="usr_partner")
    assert refused.value.next_window_opens_at == utc(2025, 1, 15, 10)


def test_a_late_renewal_job_still_dates_the_renewal_at_the_term_end():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 16, 3))
    (event,) = outcome.events
    assert (event.kind, event.at, event.actor_id) == (SubscriptionEventKind.RENEWED, utc(2024, 1, 15, 10), "system")
    assert event.details["processed_at"] == "2024-01-16T03:00:00+00:00"
    assert sub.seat_lots[0].added_at == utc(2024, 1, 15, 10)


def test_a_renewal_job_late_by_two_months_renews_each_monthly_term_at_its_own_price():
    sub = subscribe(at=utc(2023, 2, 15, 10), term=Term.P1M)  # 10.50 × 1.20 = 12.60
    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2023, 4, 20))
    assert outcome.renewals == 2
    assert [c.amount for c in outcome.charges] == [Money.of("126.00"), Money.of("139.90")]  # 13.99 from 2023-04-01
    assert sub.term_started_at == utc(2023, 4, 15, 9)  # 11:00 in Berlin, as bought, now in summer time


def test_renewal_with_auto_renew_off_expires_the_subscription_at_the_term_end():
    sub = subscribe(at=utc(2023, 1, 15, 10), auto_renew=False)
    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 11))
    assert outcome.result is RenewalResult.EXPIRED
    assert sub.status is SubscriptionStatus.EXPIRED
    assert (sub.ended_at, sub.end_reason) == (utc(2024, 1, 15, 10), EndReason.NOT_RENEWED)
    assert outcome.events[0].details["quantity"] == "10"
    assert renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 16)).result is RenewalResult.NOT_ACTIVE


def test_an_expired_subscription_cannot_be_changed():
    sub = subscribe(at=utc(2023, 1, 15, 10), auto_renew=False)
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 11))
    with pytest.raises(Conflict):
        sub.set_auto_renew(True, now=utc(2024, 1, 16), actor_id="usr_partner")


def test_a_cancelled_subscription_is_never_renewed():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    sub.cancel(now=utc(2023, 1, 16), actor_id="usr_partner")
    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10))
    assert outcome.result is RenewalResult.NOT_ACTIVE
    assert sub.status is SubscriptionStatus.CANCELLED


def test_renewal_applies_the_scheduled_quantity_and_billing():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    change = ScheduledChange(quantity=8, billing=Billing.ANNUAL)
    sub.schedule_change(change, now=utc(2023, 12, 1), actor_id="usr_partner", price_lookup=WITH_APRIL_2023_INCREASE)
    outcome = renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10))
    assert outcome.applied_scheduled_change == change
    assert (sub.quantity, sub.billing, sub.unit_price) == (8, Billing.ANNUAL, Money.of("139.86"))
    assert sub.scheduled_change is None
    assert sub.term_ends_at == utc(2025, 1, 15, 10)
    assert outcome.charges[0].amount == Money.of("1118.88")  # 8 × 139.86 for the year upfront


def test_renewal_applies_a_scheduled_product_switch_at_that_products_price():
    sub = subscribe(at=utc(2023, 1, 15, 10))
    premium = WITH_APRIL_2023_INCREASE.product(M365_BUSINESS_PREMIUM)
    sub.schedule_change(
        ScheduledChange(product_id=premium.id),
        now=utc(2023, 12, 1),
        actor_id="usr_partner",
        price_lookup=WITH_APRIL_2023_INCREASE,
        product=premium,
    )
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 1, 15, 10))
    assert (sub.product_id, sub.unit_price) == (premium.id, Money.of("20.65"))


def _monthly_from_jan_31_changed_to_annual_at_the_feb_29_renewal():
    """P1M bought 2024-01-31 10:00 UTC (11:00 in Berlin), P1Y scheduled for the renewal of 2024-02-29."""
    sub = subscribe(at=utc(2024, 1, 31, 10), term=Term.P1M)
    sub.schedule_change(
        ScheduledChange(term=Term.P1Y),
        now=utc(2024, 2, 1),
        actor_id="usr_partner",
        price_lookup=WITH_APRIL_2023_INCREASE,
    )
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 2, 29, 10))
    return sub


def test_a_term_length_change_at_renewal_keeps_the_anchor_day_and_berlin_time_of_day():
    sub = _monthly_from_jan_31_changed_to_annual_at_the_feb_29_renewal()
    assert (sub.term, sub.term_anchor_at) == (Term.P1Y, utc(2024, 1, 31, 10))
    assert (sub.term_started_at, sub.term_ends_at) == (utc(2024, 2, 29, 10), utc(2025, 2, 28, 10))
    # Monthly cycles fall on the month's last day (the 31st clamped), at 11:00 Berlin (09:00 UTC in summer time),
    # not on the 29th of the clamped renewal date.
    assert [(c.start_date.isoformat(), c.end_date.isoformat()) for c in sub.billing_cycles()[:4]] == [
        ("2024-02-29", "2024-03-31"), ("2024-03-31", "2024-04-30"), ("2024-04-30", "2024-05-31"), ("2024-05-31", "2024-06-30"),
    ]
    assert sub.billing_cycles()[0].ends_at == utc(2024, 3, 31, 9)
    assert sub.billing_cycle_at(utc(2024, 3, 30, 12)).index == 0
    assert sub.unit_price == Money.of("11.66")  # annual-term price, no +20%


def test_months_after_a_term_length_change_are_charged_on_the_anchor_day():
    sub = _monthly_from_jan_31_changed_to_annual_at_the_feb_29_renewal()
    booked, charges = charge_due_cycles(sub, until=utc(2024, 5, 31, 9))
    assert [(c.period_start.isoformat(), c.period_end.isoformat(), str(c.amount.amount)) for c in charges] == [
        ("2024-03-31", "2024-04-30", "116.60"), ("2024-04-30", "2024-05-31", "116.60"), ("2024-05-31", "2024-06-30", "116.60"),
    ]
    assert next_cycle_due(booked).starts_at == utc(2024, 6, 30, 9)


def test_changing_the_term_length_back_counts_from_the_original_anchor_again():
    sub = _monthly_from_jan_31_changed_to_annual_at_the_feb_29_renewal()
    sub.schedule_change(
        ScheduledChange(term=Term.P1M), now=utc(2025, 1, 10), actor_id="usr_partner", price_lookup=WITH_APRIL_2023_INCREASE
    )
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2025, 2, 28, 10))
    assert (sub.term, sub.term_started_at, sub.term_ends_at) == (Term.P1M, utc(2025, 2, 28, 10), utc(2025, 3, 31, 9))
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2025, 4, 30, 9))
    assert (sub.term_started_at, sub.term_ends_at) == (utc(2025, 4, 30, 9), utc(2025, 5, 31, 9))


def test_an_upgrade_after_a_term_length_change_shares_the_parents_anchored_term_and_cycles():
    sub = _monthly_from_jan_31_changed_to_annual_at_the_feb_29_renewal()
    premium = WITH_APRIL_2023_INCREASE.product(M365_BUSINESS_PREMIUM)
    upgraded = sub.upgrade(
        from_product=WITH_APRIL_2023_INCREASE.product(M365_BUSINESS_STANDARD), to_product=premium, seats=4,
        now=utc(2024, 4, 10, 8), actor_id="usr_partner", price_lookup=WITH_APRIL_2023_INCREASE,
    ).new_subscription
    assert upgraded.term_ends_at == sub.term_ends_at == utc(2025, 2, 28, 10)
    assert upgraded.billing_cycles() == sub.billing_cycles()
    assert upgraded.billing_cycle_at(utc(2024, 4, 10, 8)).end_date == date(2024, 4, 30)
    assert next_cycle_due(upgraded).starts_at == utc(2024, 4, 30, 9)


def test_renewal_without_a_price_on_the_renewal_date_raises_not_found():
    def priced_until_2023(product_id, term, billing, on, *, currency="EUR"):
        if on.year > 2023:
            raise NotFound("no price")
        return Money.of("10.00")

    sub = open_subscription(
        customer_id="cus_1",
        partner_id="ptn_1",
        product=BASE_PRICES.product(M365_BUSINESS_STANDARD),
        term=Term.P1Y,
        billing=Billing.MONTHLY,
        quantity=1,
        now=utc(2023, 1, 15, 10),
        actor_id="usr_partner",
        price_lookup=priced_until_2023,
    ).new_subscription
    with pytest.raises(NotFound):
        renew(sub, priced_until_2023, utc(2024, 1, 15, 10))
    assert sub.term_ends_at == utc(2024, 1, 15, 10)


# --- legacy subscriptions -----------------------------------------------------------------


def import_legacy(*, started_at, now, unit_price="19.70"):
    return import_legacy_subscription(
        customer_id="cus_1",
        partner_id="ptn_1",
        product=WITH_APRIL_2023_INCREASE.product(O365_E3_LEGACY),
        term=Term.P1Y,
        billing=Billing.MONTHLY,
        quantity=4,
        unit_price=Money.of(unit_price),
        started_at=started_at,
        auto_renew=True,
        now=now,
        actor_id="usr_distributor",
        id_factory=counting_ids(),
    ).new_subscription


def test_a_legacy_subscription_keeps_its_own_renewal_date():
    sub = import_legacy(started_at=utc(2021, 2, 10, 8), now=utc(2023, 3, 1))
    assert (sub.term_started_at, sub.term_ends_at) == (utc(2023, 2, 10, 8), utc(2024, 2, 10, 8))
    assert sub.history[0].kind is SubscriptionEventKind.IMPORTED


def test_a_legacy_subscription_takes_the_new_price_only_at_its_renewal():
    sub = import_legacy(started_at=utc(2021, 2, 10, 8), now=utc(2023, 3, 1))
    assert renew(sub, WITH_APRIL_2023_INCREASE, utc(2023, 5, 1)).result is RenewalResult.NOT_DUE
    assert sub.unit_price == Money.of("19.70")
    renew(sub, WITH_APRIL_2023_INCREASE, utc(2024, 2, 10, 8))
    assert sub.unit_price == Money.of("21.87")
    assert sub.term_ends_at == utc(2025, 2, 10, 8)


def test_an_imported_legacy_subscription_charges_nothing_the_previous_provider_billed():
    # O365 E3 (legacy) P1Y billed monthly, started 2021-06-10 08:00 UTC, 10 seats at EUR 19.70, imported 2026-11-23:
    # the term runs 2026-06-10 to 2027-06-10; the months up to the one running (from 2026-11-10) were billed before.
    sub = import_legacy_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=WITH_APRIL_2023_INCREASE.product(O365_E3_LEGACY),
        term=Term.P1Y, billing=Billing.MONTHLY, quantity=10, unit_price=Money.of("19.70"),
        started_at=utc(2021, 6, 10, 8), auto_renew=True, now=utc(2026, 11, 23, 9), actor_id="usr_distributor",
        id_factory=counting_ids(),
    ).new_subscription
    assert (sub.term_started_at, sub.term_ends_at) == (utc(2026, 6, 10, 8), utc(2027, 6, 10, 8))
    assert sub.charged_through == utc(2026, 11, 10, 9)  # 10:00 Berlin, the anchor's time of day
    assert charge_due_cycles(sub, until=utc(2026, 11, 24, 9)) == (sub, [])
    assert next_cycle_due(sub).starts_at == utc(2026, 12, 10, 9)
    _, [first] = charge_due_cycles(sub, until=utc(2026, 12, 10, 9))
    assert (first.period_start, first.period_end, first.quantity, str(first.amount.amount)) == (
        date(2026, 12, 10), date(2027, 1, 10), 10, "197.00")
    # A seat added the next day books no earlier month, only itself: 19.70 × 1 × 16/30 days = 10.51.
    added = sub.increase_seats(1, now=utc(2026, 11, 24, 9), actor_id="usr_partner")
    assert added.cycle_charges == ()
    assert [(c.period_start, c.period_end, str(c.amount.amount)) for c in added.charges] == [
        (date(2026, 11, 24), date(2026, 12, 10), "10.51")]


def test_an_imported_legacy_subscription_billed_annually_is_next_charged_at_its_renewal():
    sub = import_legacy_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=WITH_APRIL_2023_INCREASE.product(O365_E3_LEGACY),
        term=Term.P1Y, billing=Billing.ANNUAL, quantity=10, unit_price=Money.of("236.40"),
        started_at=utc(2021, 6, 10, 8), auto_renew=True, now=utc(2026, 11, 23, 9), actor_id="usr_distributor",
    ).new_subscription
    assert sub.charged_through == utc(2026, 6, 10, 8)
    assert next_cycle_due(sub) is None
    assert charge_due_cycles(sub, until=utc(2027, 6, 10, 7)) == (sub, [])


def test_importing_a_new_commerce_product_as_legacy_is_refused():
    with pytest.raises(ValidationFailed):
        import_legacy_subscription(
            customer_id="cus_1",
            partner_id="ptn_1",
            product=WITH_APRIL_2023_INCREASE.product(M365_BUSINESS_STANDARD),
            term=Term.P1Y,
            billing=Billing.MONTHLY,
            quantity=4,
            unit_price=Money.of("10.50"),
            started_at=utc(2021, 2, 10, 8),
            auto_renew=True,
            now=utc(2023, 3, 1),
            actor_id="usr_distributor",
        )
