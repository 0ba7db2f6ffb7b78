"""Legacy (pre-New-Commerce) CSP subscriptions follow the legacy model of the seed (terra-cloud-microsoft-csp), not New
Commerce's 168-hour windows:

* billed monthly: seats can be removed at any time, at once and without credit, because the month started is billed at
  the highest volume reached in it; the next months are billed at the new quantity;
* billed annually: the distributor (only) cancels at any time with a credit note for the rest of the term, pro rata by
  day, half-up, except for what the previous provider billed for imported seats.

Office 365 E3 (legacy), annual term; monthly billing at EUR 12.00 per seat and month, annual billing at EUR 120.00 per
seat and year.
"""

import itertools
from datetime import date, datetime, timezone

import pytest

from domain.catalogue import O365_E3, O365_E3_LEGACY, Billing, ProductKind, Term, demo_catalogue
from domain.errors import ValidationFailed
from domain.money import Money
from domain.subscriptions import (
    CancellationWindowClosed,
    CancelSubscription,
    ChargeKind,
    CspReadiness,
    PreviousProviderBilling,
    ProductAccess,
    ScheduledChange,
    SubscriptionEventKind,
    SubscriptionStatus,
    TenantState,
    apply_change,
    charge_due_cycles,
    import_legacy_subscription,
    preview_change,
    renew,
    renew_due,
)

CATALOGUE = demo_catalogue()
LEGACY = CATALOGUE.product(O365_E3_LEGACY)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def annual_price(product_id, term, billing, on, currency="EUR"):
    return Money.of("120.00")


def booked(charges):
    return [(c.kind, c.period_start, c.period_end, c.quantity, str(c.amount.amount)) for c in charges]


# --- billed monthly ---------------------------------------------------------------------------------------------------


def monthly_legacy():
    """Started 2021-02-01 08:00 UTC (P1Y, billed monthly on the 1st), 20 seats at EUR 12.00, imported 2026-10-20: the
    previous provider billed October; November is the first month billed here."""
    return import_legacy_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=LEGACY, term=Term.P1Y, billing=Billing.MONTHLY, quantity=20,
        started_at=utc(2021, 2, 1, 8), auto_renew=True, now=utc(2026, 10, 20, 9), actor_id="usr_distributor",
        unit_price=Money.of("12.00"), renews_on=date(2027, 2, 1), charged_through=date(2026, 11, 1),
        previous_subscription_id="LEG-0001", id_factory=counting_ids(),
    ).new_subscription


def test_a_legacy_subscription_billed_monthly_is_reduced_at_any_time_and_the_month_started_stays_billed_at_its_highest_volume():
    sub = monthly_legacy()
    assert sub.reducible_seats(utc(2026, 11, 18, 9)) == 20  # before: 0, and the reduction was refused
    reduced = sub.reduce_seats(5, now=utc(2026, 11, 18, 9), actor_id="usr_partner")
    assert sub.quantity == 15
    assert booked(reduced.cycle_charges) == [  # November, not booked yet by the job: at the 20 seats it started with
        (ChargeKind.RECURRING, date(2026, 11, 1), date(2026, 12, 1), 20, "240.00")]
    assert reduced.charges == () and reduced.net_amount is None  # no credit for November
    (event,) = reduced.events
    assert (event.kind, event.details["credited"], event.details["month_billed_at_highest_volume_until"]) == (
        SubscriptionEventKind.SEATS_REDUCED, "0.00", "2026-12-01")
    booked_sub, december = charge_due_cycles(sub, utc(2026, 12, 1, 8))
    assert booked(december) == [(ChargeKind.RECURRING, date(2026, 12, 1), date(2027, 1, 1), 15, "180.00")]


def test_a_legacy_reduction_after_the_month_was_booked_changes_nothing_of_it():
    sub = monthly_legacy()
    sub, november = charge_due_cycles(sub, utc(2026, 11, 1, 23))
    assert booked(november) == [(ChargeKind.RECURRING, date(2026, 11, 1), date(2026, 12, 1), 20, "240.00")]
    reduced = sub.reduce_seats(5, now=utc(2026, 11, 18, 9), actor_id="usr_partner")
    assert (reduced.cycle_charges, reduced.charges) == ((), ())


def test_seats_added_to_a_legacy_subscription_billed_monthly_are_charged_for_the_month_and_never_credited():
    sub = monthly_legacy()
    added = sub.increase_seats(3, now=utc(2026, 11, 10, 9), actor_id="usr_partner")
    assert booked(added.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 11, 10), date(2026, 12, 1), 3, "25.20")]  # 12 × 3 × 21/30
    reduced = sub.reduce_seats(3, now=utc(2026, 11, 11, 9), actor_id="usr_partner")  # inside their 168 hours
    assert reduced.charges == () and sub.quantity == 20


def test_seats_added_back_in_the_same_month_cost_nothing_up_to_its_highest_volume():
    sub = monthly_legacy()
    sub.reduce_seats(5, now=utc(2026, 11, 18, 9), actor_id="usr_partner")
    added = sub.increase_seats(7, now=utc(2026, 11, 20, 9), actor_id="usr_partner")
    # November was billed at 20: of the 7, only the 2 beyond 20 are charged, 12.00 × 2 × 11/30 = 8.80
    assert booked(added.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 11, 20), date(2026, 12, 1), 2, "8.80")]
    again = sub.increase_seats(1, now=utc(2026, 11, 21, 9), actor_id="usr_partner")
    assert booked(again.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 11, 21), date(2026, 12, 1), 1, "4.00")]
    _, december = charge_due_cycles(sub, utc(2026, 12, 1, 8))
    assert booked(december) == [(ChargeKind.RECURRING, date(2026, 12, 1), date(2027, 1, 1), 23, "276.00")]


def test_seats_removed_in_one_month_are_charged_again_when_added_back_in_the_next():
    sub = monthly_legacy()
    sub.reduce_seats(5, now=utc(2026, 11, 18, 9), actor_id="usr_partner")
    added = sub.increase_seats(5, now=utc(2026, 12, 2, 9), actor_id="usr_partner")
    assert booked(added.cycle_charges) == [(ChargeKind.RECURRING, date(2026, 12, 1), date(2027, 1, 1), 15, "180.00")]
    assert booked(added.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 12, 2), date(2027, 1, 1), 5, "58.06")]  # 12 × 5 × 30/31


def test_removing_every_seat_of_a_legacy_subscription_billed_monthly_points_to_the_cancellation_accepted_at_any_time():
    sub = monthly_legacy()
    with pytest.raises(ValidationFailed) as refused:
        sub.reduce_seats(20, now=utc(2026, 11, 18, 9), actor_id="usr_partner")
    assert refused.value.hint.startswith("Cancel the subscription instead (subscriptionCancel): a legacy subscription "
                                         "billed monthly can be cancelled at any time")
    cancelled = sub.cancel(now=utc(2026, 11, 18, 9), actor_id="usr_partner")  # before: CANCELLATION_WINDOW_CLOSED
    assert booked(cancelled.cycle_charges) == [(ChargeKind.RECURRING, date(2026, 11, 1), date(2026, 12, 1), 20, "240.00")]
    assert cancelled.charges == () and sub.status is SubscriptionStatus.CANCELLED
    assert charge_due_cycles(sub, utc(2026, 12, 1, 8))[1] == []  # nothing from December on


def test_the_preview_of_a_legacy_monthly_reduction_shows_no_credit():
    sub = monthly_legacy()
    from domain.subscriptions import ReduceSeats

    preview = preview_change(sub, ReduceSeats(5), utc(2026, 11, 18, 9), CATALOGUE)
    assert (preview.allowed, preview.amount, preview.quantity_after) == (True, None, 15)
    assert sub.quantity == 20


# --- billed annually ---------------------------------------------------------------------------------------------------


def annual_legacy(quantity=10):
    """Started 2021-08-01 08:00 UTC (P1Y billed annually), imported 2026-07-20 09:00 in the term 2025-08-01..2026-08-01
    the previous provider billed; renewed here on 2026-08-01 at EUR 120.00 per seat and year."""
    return import_legacy_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=LEGACY, term=Term.P1Y, billing=Billing.ANNUAL, quantity=quantity,
        started_at=utc(2021, 8, 1, 8), auto_renew=True, now=utc(2026, 7, 20, 9), actor_id="usr_distributor",
        price_lookup=annual_price, renews_on=date(2026, 8, 1), charged_through=date(2026, 8, 1),
        previous_subscription_id="LEG-0002", id_factory=counting_ids(),
    ).new_subscription


def renewed_here():
    sub = annual_legacy()
    renewal = renew(sub, annual_price, utc(2026, 8, 1, 8))
    assert booked(renewal.charges) == [(ChargeKind.RECURRING, date(2026, 8, 1), date(2027, 8, 1), 10, "1200.00")]
    return sub


def test_the_distributor_cancels_a_legacy_subscription_billed_annually_with_a_credit_note_for_the_rest_of_the_term():
    sub = renewed_here()
    cancelled = sub.cancel(now=utc(2026, 11, 23, 9), actor_id="usr_distributor", by_distributor=True)
    # 120.00 × 10 × 251/365 (2026-11-23 to 2027-07-31, both included) = 825.2054… → 825.21
    assert booked(cancelled.charges) == [(ChargeKind.CREDIT, date(2026, 11, 23), date(2027, 8, 1), 10, "-825.21")]
    assert "credit note for the rest of the term, 2026-11-23 to 2027-08-01" in cancelled.charges[0].description
    assert sub.status is SubscriptionStatus.CANCELLED and sub.quantity == 0
    assert cancelled.events[0].details["by_distributor_with_credit_note"] == "true"


def test_a_partner_cannot_cancel_a_legacy_subscription_billed_annually_outside_the_window_and_is_sent_to_the_distributor():
    sub = renewed_here()
    with pytest.raises(CancellationWindowClosed) as refused:
        sub.cancel(now=utc(2026, 11, 23, 9), actor_id="usr_partner")
    assert "cancelled at any time by the distributor (subscriptionCancel by distributor staff)" in refused.value.hint
    assert "subscriptionAutoRenewSet" in refused.value.hint
    assert any("credit note for the rest of the term" in a for a in refused.value.alternatives)
    with pytest.raises(CancellationWindowClosed):  # reductions stay as they were, for the distributor too
        sub.reduce_seats(2, now=utc(2026, 11, 23, 9), actor_id="usr_distributor")
    assert sub.quantity == 10 and sub.is_active


def test_the_distributor_credits_nothing_for_imported_seats_the_previous_provider_billed_only_the_seats_added_here():
    sub = annual_legacy()
    added = sub.increase_seats(2, now=utc(2026, 7, 22, 9), actor_id="usr_partner")
    assert booked(added.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 7, 22), date(2026, 8, 1), 2, "6.58")]  # 120 × 2 × 10/365
    with pytest.raises(CancellationWindowClosed):
        sub.cancel(now=utc(2026, 7, 25, 9), actor_id="usr_partner")
    cancelled = sub.cancel(now=utc(2026, 7, 25, 9), actor_id="usr_distributor", by_distributor=True)
    # only the 2 seats charged here: 120 × 2 × 7/365 = 4.6027… → 4.60; the 10 imported seats were billed elsewhere
    assert booked(cancelled.charges) == [(ChargeKind.CREDIT, date(2026, 7, 25), date(2026, 8, 1), 2, "-4.60")]
    assert "10 imported seat(s) billed by the previous provider not credited" in cancelled.charges[0].description
    assert cancelled.events[0].details["seats_billed_by_previous_provider"] == "10"


def test_what_the_previous_provider_billed_is_read_from_the_full_history_when_the_import_moved_to_a_history_page():
    sub = annual_legacy()
    imported = tuple(sub.history)
    sub.history, sub.history_pages = [], 1  # the store moved the IMPORTED event to a page
    assert PreviousProviderBilling.of(imported) == PreviousProviderBilling(10, date(2026, 8, 1))
    cancelled = apply_change(sub, CancelSubscription(by_distributor=True, full_history=imported), now=utc(2026, 7, 25, 9),
                             actor_id="usr_distributor", price_lookup=annual_price)
    assert cancelled.charges == () and sub.status is SubscriptionStatus.CANCELLED  # nothing of the term was charged here


def test_the_renewal_here_makes_every_seat_credited_again_at_the_new_term():
    sub = renewed_here()
    assert PreviousProviderBilling.of(sub.history).billed_through == date(2026, 8, 1)  # the old term only
    preview = preview_change(sub, CancelSubscription(by_distributor=True), utc(2026, 11, 23, 9), annual_price)
    assert (preview.allowed, str(preview.amount.amount)) == (True, "-825.21")


READY = CspReadiness("1234567", "ms-1", TenantState.CREATED, "hanse.onmicrosoft.com", utc(2021, 1, 4, 9))


def test_a_legacy_subscription_switched_to_new_commerce_at_its_renewal_follows_the_168_hour_window_from_then():
    sub = monthly_legacy()
    sub.schedule_change(ScheduledChange(product_id=O365_E3), now=utc(2026, 11, 18, 9), actor_id="usr_partner",
                        price_lookup=CATALOGUE, product=CATALOGUE.product(O365_E3))
    renew_due(sub, CATALOGUE, now=utc(2027, 2, 1, 9), access_to=lambda product: ProductAccess(READY))
    assert (sub.product_id, sub.product_kind) == (O365_E3, ProductKind.CSP_NCE)
    with pytest.raises(CancellationWindowClosed):  # 2027-02-01 08:00 + 168 hours has passed
        sub.reduce_seats(5, now=utc(2027, 2, 10, 9), actor_id="usr_partner")
