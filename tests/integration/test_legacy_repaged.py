"""Seats of a legacy subscription billed monthly that were removed and are added back in the same billing month are paid
for that month already (it is billed at its highest volume), also once the store has moved the month's reductions to a
history page (``HistoryPaging``: the oldest events leave the item once it passes ~96 KB).

Hanse's legacy Office 365 E3 (annual term from 2021-02-01 08:00 UTC, billed monthly on the 1st, EUR 21.87 per seat and
month), 20 seats, imported on 2026-10-20 with October billed by the previous provider: November 2026 is billed here at
20 seats, 437.40.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

from domain.catalogue import O365_E3_LEGACY, Billing, Term
from domain.policy import Principal
from domain.services import subscriptions as service
from domain.subscriptions import IncreaseSeats, ReduceSeats, RemovedSeatsPaidFor, SetAutoRenew, SubscriptionEventKind
from tests.request_counter import count_requests


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def charges_of(services, subscription_id):
    return sorted((c.kind.value, c.period_start, c.period_end, c.quantity, str(c.amount.amount))
                  for c in services.uow().charges.list_for_subscription(subscription_id).items)


def busy_november(services, demo):
    """The legacy subscription after 5 seats were removed on 2026-11-02 and then, from 2026-11-03, 150 times a seat
    removed and added back (each addition free: November is paid at 20 seats): the reduction of 2026-11-02 is on a
    history page. Returns its id, a function making a change as NordIT's sales and the reduction's event id."""
    ops, sales = Principal.of(demo.users["distributor"]), Principal.of(demo.users["nordit_sales"])
    legacy = service.LegacySubscriptionImport(
        customer_id=demo.customers["hanse"].id, partner_id=demo.partners["nordit"].id, product_id=O365_E3_LEGACY,
        term=Term.P1Y, billing=Billing.MONTHLY, quantity=20, started_at=utc(2021, 2, 1, 8), renews_on=date(2027, 2, 1),
        charged_through=date(2026, 11, 1), previous_subscription_id="LEG-REPAGED-0001",
    )
    sub_id = service.import_legacy_subscription(services.uow(), ops, legacy, now=utc(2026, 10, 20, 9)).new_subscription.id

    def change(request, at):
        return service.change_subscription(services.uow(), sales, sub_id, request, now=at).outcome

    reduction_id = change(ReduceSeats(5), utc(2026, 11, 2, 9)).events[0].event_id  # 15 seats; November stays at 20
    at = utc(2026, 11, 3, 8)
    for _ in range(150):
        change(ReduceSeats(1), at)
        change(IncreaseSeats(1), at + timedelta(minutes=1))
        at += timedelta(hours=3)
    stored = services.uow().subscriptions.get(sub_id)
    assert stored.history_pages >= 1 and stored.quantity == 15
    assert reduction_id not in {event.event_id for event in stored.history}  # on a history page now
    assert reduction_id in {e.event_id for e in service.subscription_history(services.uow(), stored)}
    return sub_id, change


def test_seats_added_back_in_the_month_cost_nothing_after_its_reduction_moved_to_a_history_page(services, demo):
    sub_id, change = busy_november(services, demo)
    assert services.uow().subscriptions.get(sub_id).removed_seats_paid_for == RemovedSeatsPaidFor(5, date(2026, 12, 1))

    with count_requests() as count:
        added = change(IncreaseSeats(5), utc(2026, 11, 25, 9))  # back to the 20 seats November is billed for
    assert added.charges == ()  # before: 5 × 21.87 × 6/30 = 21.87 charged again (and 7.29 for a seat on 2026-11-21)
    assert added.events[0].kind is SubscriptionEventKind.SEATS_ADDED
    assert added.events[0].details["seats_billed_for_the_month_already"] == "5"
    assert charges_of(services, sub_id) == [("RECURRING", date(2026, 11, 1), date(2026, 12, 1), 20, "437.40")]
    assert not any("#history#" in key for _, key in count.keys_read)  # the change reads no history page

    beyond = change(IncreaseSeats(1), utc(2026, 11, 26, 9))  # the 21st seat was never paid for November
    assert [(c.kind.value, c.quantity, str(c.amount.amount)) for c in beyond.charges] == [("PRORATA_INCREASE", 1, "3.65")]


def test_a_subscription_stored_before_the_figure_was_kept_reads_it_from_its_history_pages_once(services, demo):
    """Stored without ``removed_seats_paid_for`` (as before it was kept), the month's reductions on a history page: the
    first change reads the figure from the pages and keeps it; the re-added seats are not charged."""
    sub_id, change = busy_november(services, demo)
    uow = services.uow()
    with uow:
        uow.subscriptions.update(dataclasses.replace(uow.subscriptions.get(sub_id), removed_seats_paid_for=None))
        uow.commit()

    with count_requests() as count:
        change(SetAutoRenew(False), utc(2026, 11, 24, 9))
    assert any("#history#" in key for _, key in count.keys_read)
    assert services.uow().subscriptions.get(sub_id).removed_seats_paid_for == RemovedSeatsPaidFor(5, date(2026, 12, 1))

    with count_requests() as count:
        added = change(IncreaseSeats(5), utc(2026, 11, 25, 9))
    assert added.charges == () and not any("#history#" in key for _, key in count.keys_read)
    assert charges_of(services, sub_id) == [("RECURRING", date(2026, 11, 1), date(2026, 12, 1), 20, "437.40")]
