"""A legacy subscription billed monthly keeps the seats removed and paid for in the running billing month on itself
(``removed_seats_paid_for``), not only in its events: the store moves the oldest events to history pages, and seats added
back in the month were charged again once its reductions had moved (tests/integration/test_legacy_repaged.py).

Office 365 E3 (legacy), annual term from 2021-02-01 08:00 UTC billed monthly on the 1st, 20 seats at EUR 12.00,
imported 2026-10-20 (October billed by the previous provider): November 2026 is billed here at 20 × 12.00 = 240.00.
"""

import itertools
from datetime import date, datetime, timezone

from domain.catalogue import M365_BUSINESS_STANDARD, O365_E3_LEGACY, Billing, Term, demo_catalogue
from domain.money import Money
from domain.subscriptions import (
    ChargeKind,
    RemovedSeatsPaidFor,
    import_legacy_subscription,
    open_subscription,
)

CATALOGUE = demo_catalogue()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def monthly_legacy():
    return import_legacy_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=CATALOGUE.product(O365_E3_LEGACY), term=Term.P1Y,
        billing=Billing.MONTHLY, quantity=20, started_at=utc(2021, 2, 1, 8), auto_renew=True, now=utc(2026, 10, 20, 9),
        actor_id="usr_distributor", unit_price=Money.of("12.00"), renews_on=date(2027, 2, 1),
        charged_through=date(2026, 11, 1), previous_subscription_id="LEG-0001", id_factory=counting_ids(),
    ).new_subscription


def page_out(sub, pages=1):
    """What the store does to a busy subscription: its oldest events (here all of them) move to history pages."""
    sub.history, sub.history_pages = [], sub.history_pages + pages


def booked(charges):
    return [(c.kind, c.period_start, c.period_end, c.quantity, str(c.amount.amount)) for c in charges]


def test_seats_removed_in_november_and_added_back_after_the_reduction_moved_to_a_history_page_cost_nothing():
    sub = monthly_legacy()
    sub.reduce_seats(5, now=utc(2026, 11, 2, 9), actor_id="usr_partner")
    assert sub.removed_seats_paid_for == RemovedSeatsPaidFor(5, date(2026, 12, 1))
    page_out(sub)
    added = sub.increase_seats(5, now=utc(2026, 11, 25, 9), actor_id="usr_partner")
    assert added.charges == ()  # before: 12.00 × 5 × 6/30 = 12.00 charged again
    assert sub.removed_seats_paid_for == RemovedSeatsPaidFor(0, date(2026, 12, 1))
    beyond = sub.increase_seats(1, now=utc(2026, 11, 26, 9), actor_id="usr_partner")
    assert booked(beyond.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 11, 26), date(2026, 12, 1), 1, "2.00")]


def test_the_figure_follows_every_seat_change_of_the_month_and_not_the_next_month():
    sub = monthly_legacy()
    sub.reduce_seats(5, now=utc(2026, 11, 2, 9), actor_id="usr_partner")  # 15
    sub.increase_seats(2, now=utc(2026, 11, 3, 9), actor_id="usr_partner")  # 17, free
    sub.reduce_seats(4, now=utc(2026, 11, 4, 9), actor_id="usr_partner")  # 13
    assert sub.removed_seats_paid_for == RemovedSeatsPaidFor(7, date(2026, 12, 1))
    page_out(sub)
    added = sub.increase_seats(8, now=utc(2026, 11, 16, 9), actor_id="usr_partner")  # 21: only the 21st seat charged
    assert booked(added.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 11, 16), date(2026, 12, 1), 1, "6.00")]

    sub.reduce_seats(3, now=utc(2026, 11, 20, 9), actor_id="usr_partner")  # 18, paid for November
    page_out(sub)
    december = sub.increase_seats(3, now=utc(2026, 12, 2, 9), actor_id="usr_partner")  # December was billed at 18
    assert booked(december.charges) == [(ChargeKind.PRORATA_INCREASE, date(2026, 12, 2), date(2027, 1, 1), 3, "34.84")]
    assert sub.removed_seats_paid_for == RemovedSeatsPaidFor(0, date(2027, 1, 1))


def test_a_subscription_stored_before_the_figure_was_kept_reads_it_from_the_events_of_the_month():
    sub = monthly_legacy()
    sub.reduce_seats(5, now=utc(2026, 11, 2, 9), actor_id="usr_partner")
    sub.removed_seats_paid_for = None  # as stored before it was kept
    assert not sub.month_events_paged(utc(2026, 11, 25, 9))  # no history page: the events of November are all here
    added = sub.increase_seats(5, now=utc(2026, 11, 25, 9), actor_id="usr_partner")
    assert added.charges == () and sub.removed_seats_paid_for == RemovedSeatsPaidFor(0, date(2026, 12, 1))


def test_when_the_months_events_may_be_on_history_pages_the_figure_is_read_from_the_full_history():
    sub = monthly_legacy()
    sub.reduce_seats(5, now=utc(2026, 11, 2, 9), actor_id="usr_partner")
    full_history = list(sub.history)
    sub.removed_seats_paid_for = None  # as stored before it was kept
    page_out(sub)
    now = utc(2026, 11, 25, 9)
    assert sub.month_events_paged(now)
    sub.seats_paid_from_history(full_history, now)
    assert sub.removed_seats_paid_for == RemovedSeatsPaidFor(5, date(2026, 12, 1)) and not sub.month_events_paged(now)
    assert sub.increase_seats(5, now=now, actor_id="usr_partner").charges == ()


def test_the_pages_are_not_needed_when_an_event_older_than_the_month_is_still_on_the_subscription():
    sub = monthly_legacy()  # its IMPORTED event of 2026-10-20 is kept, so nothing of November was moved
    sub.reduce_seats(5, now=utc(2026, 11, 2, 9), actor_id="usr_partner")
    sub.removed_seats_paid_for, sub.history_pages = None, 1
    assert not sub.month_events_paged(utc(2026, 11, 25, 9))


def test_subscriptions_other_than_legacy_billed_monthly_keep_no_figure():
    nce = open_subscription(customer_id="cus_1", partner_id="ptn_1", product=CATALOGUE.product(M365_BUSINESS_STANDARD),
                            term=Term.P1Y, billing=Billing.MONTHLY, quantity=5, now=utc(2026, 11, 2, 9), actor_id="usr_1",
                            price_lookup=CATALOGUE).new_subscription
    nce.increase_seats(2, now=utc(2026, 11, 3, 9), actor_id="usr_1")
    nce.reduce_seats(2, now=utc(2026, 11, 4, 9), actor_id="usr_1")
    page_out(nce)
    assert nce.removed_seats_paid_for is None and not nce.month_events_paged(utc(2026, 11, 5, 9))
