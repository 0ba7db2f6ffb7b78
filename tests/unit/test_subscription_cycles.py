"""Monthly cycles of an annual term: each month's recurring charge is booked once, when the month starts."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from domain.catalogue import Billing, Term
from domain.subscriptions import ChargeKind, charge_due_cycles, next_cycle_due
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
