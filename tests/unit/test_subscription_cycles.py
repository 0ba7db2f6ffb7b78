"""Monthly cycles of an annual term: each month's recurring charge is booked once, when the month starts."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.catalogue import Billing, Term
from domain.subscriptions import CancellationWindowClosed, ChargeKind, charge_due_cycles, next_cycle_due
from tests.unit.test_subscription_renewal import BASE_PRICES, subscribe

UTC = timezone.utc


def test_the_second_month_of_an_annual_term_billed_monthly_is_charged_when_it_starts():
    # bought 2023-01-15 10:00 UTC, 10 seats at EUR 10.50: cycle 0 was charged at the order
    sub = subscribe(at=datetime(2023, 1, 15, 10, tzinfo=UTC), prices=BASE_PRICES)
    assert next_cycle_due(sub).starts_at == datetime(2023, 2, 15, 10, tzinfo=UTC)

    unchanged, nothing = charge_due_cycles(sub, until=datetime(2023, 2, 15, 9, 59, tzinfo=UTC))
    assert nothing == [] and unchanged == sub

    booked, [charge] = charge_due_cycles(sub, until=datetime(2023, 2, 15, 10, tzinfo=UTC))
    assert charge.kind is ChargeKind.RECURRING
    assert charge.amount.amount == Decimal("105.00")
    assert (charge.period_start.isoformat(), charge.period_end.isoformat()) == ("2023-02-15", "2023-03-15")
    assert booked.charged_through == datetime(2023, 2, 15, 10, tzinfo=UTC)
    assert next_cycle_due(booked).starts_at == datetime(2023, 3, 15, 10, tzinfo=UTC)
    # booking again at the same instant books nothing more
    assert charge_due_cycles(booked, until=datetime(2023, 2, 20, tzinfo=UTC)) == (booked, [])


def test_a_late_run_books_every_missed_month_once_each_with_its_own_period():
    sub = subscribe(at=datetime(2024, 1, 31, 12, tzinfo=UTC), prices=BASE_PRICES, quantity=2)
    booked, charges = charge_due_cycles(sub, until=datetime(2024, 4, 30, 12, tzinfo=UTC))
    # month ends clamp: Feb 29 (leap year), Mar 31, Apr 30
    assert [c.period_start.isoformat() for c in charges] == ["2024-02-29", "2024-03-31", "2024-04-30"]
    assert len({c.charge_id for c in charges}) == 3
    assert all(c.amount.amount == Decimal("21.00") for c in charges)


def test_the_twelfth_month_is_the_last_cycle_then_renewal_takes_over():
    sub = subscribe(at=datetime(2023, 1, 15, 10, tzinfo=UTC), prices=BASE_PRICES)
    booked, charges = charge_due_cycles(sub, until=datetime(2024, 1, 15, 9, tzinfo=UTC))
    assert len(charges) == 11  # months 2..12; month 1 at the order, the next term's first at renewal
    assert next_cycle_due(booked) is None


def test_annual_upfront_and_monthly_terms_have_no_cycles_inside_the_term():
    for term, billing in ((Term.P1Y, Billing.ANNUAL), (Term.P1M, Billing.MONTHLY)):
        sub = subscribe(at=datetime(2023, 1, 15, 10, tzinfo=UTC), prices=BASE_PRICES, term=term, billing=billing)
        assert next_cycle_due(sub) is None
        assert charge_due_cycles(sub, until=datetime(2023, 12, 1, tzinfo=UTC))[1] == []


def test_seats_added_mid_month_are_in_the_next_cycle_charge():
    sub = subscribe(at=datetime(2023, 1, 15, 10, tzinfo=UTC), prices=BASE_PRICES)
    sub.increase_seats(5, now=datetime(2023, 1, 20, 9, tzinfo=UTC), actor_id="usr_partner")
    booked, [charge] = charge_due_cycles(sub, until=datetime(2023, 2, 15, 10, tzinfo=UTC) + timedelta(minutes=1))
    assert charge.quantity == 15 and charge.amount.amount == Decimal("157.50")


def _after_month_two_is_booked(quantity: int = 10):
    """10 seats at EUR 10.50 bought 2023-01-15 10:00 UTC, month 2 booked on time; month 3 starts 2023-03-15 10:00 UTC."""
    sub = subscribe(at=datetime(2023, 1, 15, 10, tzinfo=UTC), prices=BASE_PRICES, quantity=quantity)
    booked, _ = charge_due_cycles(sub, until=datetime(2023, 2, 15, 11, tzinfo=UTC))
    return booked


def test_seats_removed_before_the_nightly_booking_are_charged_for_the_month_before_they_are_credited():
    sub = _after_month_two_is_booked()
    sub.increase_seats(5, now=datetime(2023, 3, 10, 10, tzinfo=UTC), actor_id="usr_partner")
    # Two hours into month 3, before the nightly job booked it, the 5 new seats (window open until 03-17) go again.
    outcome = sub.reduce_seats(5, now=datetime(2023, 3, 15, 12, tzinfo=UTC), actor_id="usr_partner")
    [month_three] = outcome.cycle_charges
    assert (month_three.kind, month_three.period_start.isoformat(), month_three.quantity, month_three.amount.amount) == (
        ChargeKind.RECURRING, "2023-03-15", 15, Decimal("157.50"))
    assert [c.amount.amount for c in outcome.charges] == [Decimal("-52.50")]  # 10.50 × 5 × 31/31
    assert outcome.net_amount.amount == Decimal("-52.50")  # what the change itself does
    # The nightly job finds month 3 booked: 157.50 - 52.50 = 105.00 for the 10 seats kept.
    assert charge_due_cycles(sub, until=datetime(2023, 3, 15, 22, 30, tzinfo=UTC))[1] == []


def test_seats_added_at_the_very_start_of_a_month_are_charged_once_for_it():
    sub = subscribe(at=datetime(2023, 1, 15, 10, tzinfo=UTC), prices=BASE_PRICES)
    outcome = sub.increase_seats(5, now=datetime(2023, 2, 15, 10, tzinfo=UTC), actor_id="usr_partner")
    # Month 2 is booked first for the 10 seats held at its start; the 5 new ones pay 28/28 days pro rata.
    assert [(c.kind, c.quantity, c.amount.amount) for c in outcome.cycle_charges] == [(ChargeKind.RECURRING, 10, Decimal("105.00"))]
    assert [(c.kind, c.quantity, c.amount.amount) for c in outcome.charges] == [(ChargeKind.PRORATA_INCREASE, 5, Decimal("52.50"))]
    assert charge_due_cycles(sub, until=datetime(2023, 2, 16, tzinfo=UTC))[1] == []


def test_an_upgrade_in_the_first_hours_of_a_month_credits_only_a_month_that_was_charged():
    from domain.catalogue import demo_catalogue, M365_BUSINESS_PREMIUM, M365_BUSINESS_STANDARD

    catalogue = demo_catalogue(include_april_2023_increase=False)
    sub = _after_month_two_is_booked()
    outcome = sub.upgrade(from_product=catalogue.product(M365_BUSINESS_STANDARD), to_product=catalogue.product(M365_BUSINESS_PREMIUM),
                          now=datetime(2023, 3, 15, 12, tzinfo=UTC), actor_id="usr_partner", price_lookup=catalogue)
    assert [(c.subscription_id, c.kind, c.amount.amount) for c in outcome.cycle_charges] == [(sub.id, ChargeKind.RECURRING, Decimal("105.00"))]
    assert [(c.subscription_id, c.kind) for c in outcome.charges] == [(sub.id, ChargeKind.CREDIT), (outcome.new_subscription.id, ChargeKind.PRORATA_INCREASE)]
    assert outcome.charges[0].amount.amount == Decimal("-105.00")


def test_a_refused_reduction_books_nothing():
    sub = _after_month_two_is_booked()
    before = sub.charged_through
    with pytest.raises(CancellationWindowClosed):  # every window closed in January
        sub.reduce_seats(1, now=datetime(2023, 3, 15, 12, tzinfo=UTC), actor_id="usr_partner")
    assert sub.charged_through == before
