"""Seat lots stay few: lots whose 168-hour windows have closed are kept as one, and at most MAX_OPEN_SEAT_LOTS additions
are inside their windows at once. Annual term billed monthly, 10 seats bought 2023-01-15 10:00 UTC at EUR 10.50."""

from datetime import datetime, timedelta, timezone

import pytest

from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
from domain.errors import Conflict
from domain.subscriptions import MAX_OPEN_SEAT_LOTS, open_subscription, recurring_charge_for_cycle

CATALOGUE = demo_catalogue()
BOUGHT = datetime(2023, 1, 15, 10, tzinfo=timezone.utc)


def subscription():
    return open_subscription(customer_id="cus_1", partner_id="ptn_1", product=CATALOGUE.product(M365_BUSINESS_STANDARD),
                             term=Term.P1Y, billing=Billing.MONTHLY, quantity=10, now=BOUGHT, actor_id="usr_1",
                             price_lookup=CATALOGUE).new_subscription


def test_lots_past_their_window_are_kept_as_one_and_still_charged():
    sub = subscription()
    first_lot = sub.seat_lots[0].lot_id
    for day in (1, 2, 3):  # 2023-01-16..18: windows close 01-23..01-25
        sub.increase_seats(2, now=BOUGHT + timedelta(days=day), actor_id="usr_1")
    sub.increase_seats(1, now=datetime(2023, 2, 1, 9, tzinfo=timezone.utc), actor_id="usr_1")
    assert [(lot.quantity, lot.added_at) for lot in sub.seat_lots] == [
        (16, BOUGHT), (1, datetime(2023, 2, 1, 9, tzinfo=timezone.utc))]
    assert sub.seat_lots[0].lot_id == first_lot
    assert recurring_charge_for_cycle(sub, 1).quantity == 17  # 2023-02-15: every seat, 17 × 10.50
    assert sub.reducible_seats(datetime(2023, 2, 2, tzinfo=timezone.utc)) == 1


def test_more_additions_inside_their_windows_than_the_limit_are_refused_until_the_oldest_window_closes():
    sub = subscription()
    start = datetime(2023, 3, 1, 0, tzinfo=timezone.utc)
    for n in range(MAX_OPEN_SEAT_LOTS):  # one seat every 30 minutes: 250 additions in 125 hours
        sub.increase_seats(1, now=start + timedelta(minutes=30 * n), actor_id="usr_1")
    before = (sub.quantity, len(sub.seat_lots), sub.charged_through)
    with pytest.raises(Conflict) as refused:
        sub.increase_seats(1, now=start + timedelta(hours=130), actor_id="usr_1")
    assert refused.value.field == "seats"
    assert refused.value.hint.startswith("Add seats again from 2023-03-08 00:00 UTC")
    assert (sub.quantity, len(sub.seat_lots), sub.charged_through) == before
    sub.increase_seats(5, now=datetime(2023, 3, 8, 0, tzinfo=timezone.utc), actor_id="usr_1")
    assert sub.quantity == 10 + MAX_OPEN_SEAT_LOTS + 5
