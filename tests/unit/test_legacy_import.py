"""Importing a legacy (pre-New-Commerce) CSP subscription: the previous provider billed the running term (or month), so
the imported seats have no 168-hour window here and are never credited here; reductions and cancellation follow the
renewal, which opens the window for every seat at the price list's price of the renewal date.

Office 365 E3 (legacy), annual term billed upfront: EUR 262.40 per seat and year (236.40 + 11% from 2023-04-01);
the prices below rise another 10% from 2026-06-11 (288.64), after the running term began on 2026-06-10.
"""

import itertools
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.catalogue import M365_BUSINESS_STANDARD, O365_E3_LEGACY, Billing, Term, demo_catalogue
from domain.errors import ValidationFailed
from domain.money import Money
from domain.subscriptions import (
    CancellationWindowClosed,
    ChargeKind,
    RenewalResult,
    SubscriptionEventKind,
    import_legacy_subscription,
    next_cycle_due,
    renew,
)

PRICES = demo_catalogue().with_price_change(currency="EUR", percent=Decimal("10"), effective_from=date(2026, 6, 11))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def import_review_case(billing=Billing.ANNUAL, **overrides):
    """The review's case: started 2021-06-10 10:00 UTC, 20 seats, imported 2026-06-12 09:00, two days into the term
    2026-06-10 10:00 to 2027-06-10 10:00 that the previous provider billed."""
    arguments = dict(
        customer_id="cus_1", partner_id="ptn_1", product=PRICES.product(O365_E3_LEGACY), term=Term.P1Y, billing=billing,
        quantity=20, started_at=utc(2021, 6, 10, 10), auto_renew=True, now=utc(2026, 6, 12, 9), actor_id="usr_distributor",
        price_lookup=PRICES, renews_on=date(2027, 6, 10),
        charged_through=date(2027, 6, 10) if billing is Billing.ANNUAL else date(2026, 7, 10),
        previous_subscription_id="LEG-7F3A-0001", id_factory=counting_ids(),
    )
    arguments.update(overrides)
    return import_legacy_subscription(**arguments)


@pytest.mark.parametrize("billing", [Billing.ANNUAL])  # billed monthly: reduced at any time, never credited (test_legacy_rules)
def test_seats_imported_two_days_into_a_term_billed_elsewhere_cannot_be_reduced_or_cancelled_for_a_credit(billing):
    imported = import_review_case(billing)
    sub = imported.new_subscription
    assert imported.charges == ()
    assert sub.reducible_seats(utc(2026, 6, 12, 9)) == 0
    with pytest.raises(CancellationWindowClosed) as reduced:
        sub.reduce_seats(5, now=utc(2026, 6, 13, 9), actor_id="usr_partner")  # credited −1172.28 before
    assert (reduced.value.next_window_opens_at, reduced.value.reducible_seats_now) == (utc(2027, 6, 10, 10), 0)
    with pytest.raises(CancellationWindowClosed) as cancelled:
        sub.cancel(now=utc(2026, 6, 14, 9), actor_id="usr_partner")  # credited −3507.14 before
    assert cancelled.value.next_window_opens_at == utc(2027, 6, 10, 10)
    assert "subscriptionAutoRenewSet" in cancelled.value.hint
    assert (sub.quantity, sub.is_active, [e.kind for e in sub.history]) == (20, True, [SubscriptionEventKind.IMPORTED])


def test_seats_added_after_the_import_are_charged_here_and_only_they_can_be_credited():
    sub = import_review_case().new_subscription
    added = sub.increase_seats(2, now=utc(2026, 6, 13, 9), actor_id="usr_partner")
    assert [(c.kind, str(c.amount.amount)) for c in added.charges] == [(ChargeKind.PRORATA_INCREASE, "520.49")]  # 262.40 × 2 × 362/365
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.reduce_seats(3, now=utc(2026, 6, 14, 9), actor_id="usr_partner")
    assert refused.value.reducible_seats_now == 2
    with pytest.raises(CancellationWindowClosed):
        sub.cancel(now=utc(2026, 6, 14, 9), actor_id="usr_partner")
    reduced = sub.reduce_seats(2, now=utc(2026, 6, 14, 9), actor_id="usr_partner")
    assert [(c.kind, str(c.amount.amount)) for c in reduced.charges] == [(ChargeKind.CREDIT, "-519.05")]  # 262.40 × 2 × 361/365
    assert sub.quantity == 20


def test_the_running_term_keeps_the_price_of_its_start_and_the_renewal_opens_the_window_at_the_new_price():
    sub = import_review_case().new_subscription
    assert sub.unit_price == Money.of("262.40")  # the price list of 2026-06-10, not the +10% of 2026-06-11
    assert next_cycle_due(sub) is None  # the previous provider billed the term up to 2027-06-10
    renewal = renew(sub, PRICES, utc(2027, 6, 10, 10))
    assert renewal.result is RenewalResult.RENEWED and sub.unit_price == Money.of("288.64")
    assert [(c.kind, c.period_start, c.period_end, c.quantity, str(c.amount.amount)) for c in renewal.charges] == [
        (ChargeKind.RECURRING, date(2027, 6, 10), date(2028, 6, 10), 20, "5772.80")]
    reduced = sub.reduce_seats(5, now=utc(2027, 6, 12, 9), actor_id="usr_partner")
    assert [str(c.amount.amount) for c in reduced.charges] == ["-1435.31"]  # 288.64 × 5 × 364/366, charged here


def test_a_monthly_billed_import_is_first_charged_for_the_month_after_the_one_billed_elsewhere():
    sub = import_review_case(Billing.MONTHLY).new_subscription
    assert sub.unit_price == Money.of("21.87")
    assert (next_cycle_due(sub).starts_at, next_cycle_due(sub).index) == (utc(2026, 7, 10, 10), 1)


def test_the_import_records_the_previous_provider_and_what_it_billed():
    (event,) = import_review_case().events
    assert event.kind is SubscriptionEventKind.IMPORTED
    assert {k: event.details[k] for k in ("previous_subscription_id", "previous_provider_billed_through", "unit_price")} == {
        "previous_subscription_id": "LEG-7F3A-0001", "previous_provider_billed_through": "2027-06-10", "unit_price": "262.40"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"renews_on": date(2027, 6, 11)}, "renewsOn"),  # the renewal of a start on 2021-06-10 is 2027-06-10
    ({"charged_through": date(2026, 6, 10)}, "chargedThrough"),  # the running term was billed elsewhere up to its end
    ({"charged_through": date(2026, 7, 10)}, "chargedThrough"),
    ({"started_at": utc(2022, 3, 10, 10), "renews_on": date(2027, 3, 10), "charged_through": date(2027, 3, 10)}, "startedAt"),
    ({"started_at": datetime(2021, 6, 10, 10)}, "startedAt"),  # no time zone
    ({"previous_subscription_id": "  "}, "previousSubscriptionId"),
    ({"quantity": 0}, "quantity"),
    ({"product": PRICES.product(M365_BUSINESS_STANDARD)}, "productId"),
])
def test_an_import_that_does_not_match_its_own_dates_is_refused_by_field(overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        import_review_case(**overrides)
    assert refused.value.field == field


def test_a_monthly_billed_import_names_the_end_of_the_month_running():
    with pytest.raises(ValidationFailed) as refused:
        import_review_case(Billing.MONTHLY, charged_through=date(2027, 6, 10))
    assert refused.value.field == "chargedThrough"
    assert "billing cycle 2026-06-10 to 2026-07-10" in refused.value.message and "through 2026-07-10" in refused.value.message
    assert "end of the running cycle" in refused.value.hint
