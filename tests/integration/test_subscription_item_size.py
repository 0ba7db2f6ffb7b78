"""A CSP subscription is one DynamoDB item, and DynamoDB refuses items above 400 KB: its history must not grow it without
bound. A reseller adding a seat for each new hire and removing one for each leaver (inside the window) every day made
1,797 events (444 KB) in 2.5 years; every later change of that subscription then failed, the renewal job too.

Now the oldest events move to history pages once the item passes SUBSCRIPTION_ITEM_BUDGET (in the transaction that saves
it), seat lots whose windows have closed are kept as one, and the full history stays readable.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
from domain.policy import Principal
from domain.services import subscriptions as service
from domain.subscriptions import IncreaseSeats, ReduceSeats, Subscription, SubscriptionEventKind as Kind, open_subscription
from infra.codec import decode
from infra.dynamo.attributes import item_size
from infra.dynamo.models import SubscriptionModel
from infra.dynamo.subscription_repositories import SUBSCRIPTION_ITEM_BUDGET, SubscriptionHistoryPageModel, SubscriptionRepository
from tests.conftest import NOW

CATALOGUE = demo_catalogue()


class RecordingUnitOfWork:
    """Keeps the items a repository registers instead of writing them."""

    def __init__(self) -> None:
        self.saved = []

    def register_save(self, model, **_) -> None:
        self.saved.append(model)


def save_and_read_back(subscription: Subscription) -> tuple[Subscription, int, list]:
    """What the store keeps of ``subscription``: the subscription read back, its item's size, the pages written."""
    uow = RecordingUnitOfWork()
    SubscriptionRepository(uow).update(subscription)
    item, *pages = uow.saved
    assert all(isinstance(page, SubscriptionHistoryPageModel) and item_size(page) < 400_000 for page in pages)
    return decode(Subscription, item.data), item_size(item), pages


def test_two_thousand_seat_changes_never_take_the_item_past_its_budget():
    """A seat added every day at 09:00 and removed at 17:00 for 1,000 days from 2024-01-16 (renewals 2025-01-15 and
    2026-01-15 between), each change saved as the service saves it: the item never passes the budget, and pages plus
    item hold every event once."""
    at = datetime(2024, 1, 15, 10, tzinfo=timezone.utc)
    subscription = open_subscription(customer_id="cus_1", partner_id="ptn_1", product=CATALOGUE.product(M365_BUSINESS_STANDARD),
                                     term=Term.P1Y, billing=Billing.MONTHLY, quantity=50, now=at, actor_id="usr_1",
                                     price_lookup=CATALOGUE).new_subscription
    archived, largest = [], 0
    for day in range(1, 1001):
        for change, hour in ((IncreaseSeats(1), 9), (ReduceSeats(1), 17)):
            now = at.replace(hour=hour) + timedelta(days=day)
            subscription.renew(CATALOGUE, now=now)
            service.apply_change(subscription, change, now=now, actor_id="usr_1", price_lookup=CATALOGUE)
            subscription, size, pages = save_and_read_back(subscription)
            archived += [event for page in pages for event in page.data]
            largest = max(largest, size)
    assert largest <= SUBSCRIPTION_ITEM_BUDGET
    assert len(archived) + len(subscription.history) == 1 + 2000 + 2  # created, the seat changes, the renewals
    assert subscription.history_pages >= 1 and len(subscription.seat_lots) == 1 and subscription.quantity == 50


def test_seats_added_one_at_a_time_are_kept_in_few_lots():
    """Lots whose windows have closed are kept as one: 1,000 single-seat additions over 1,000 days leave the lot of the
    last seven days' additions and one lot for the rest, and the recurring charge counts every seat."""
    at = datetime(2024, 1, 15, 10, tzinfo=timezone.utc)
    subscription = open_subscription(customer_id="cus_1", partner_id="ptn_1", product=CATALOGUE.product(M365_BUSINESS_STANDARD),
                                     term=Term.P1M, billing=Billing.MONTHLY, quantity=1, now=at, actor_id="usr_1",
                                     price_lookup=CATALOGUE).new_subscription
    for day in range(1, 1001):
        now = at + timedelta(days=day)
        subscription.renew(CATALOGUE, now=now)
        subscription.increase_seats(1, now=now, actor_id="usr_1")
    assert subscription.quantity == 1001 and len(subscription.seat_lots) <= 8
    assert sum(lot.quantity for lot in subscription.open_lots(at + timedelta(days=1000))) <= 7


def test_a_subscription_saved_with_a_long_history_renews_and_shows_all_of_it(services, demo):
    """A history built up before pages existed (an item near the limit) is split when saved: the renewal job renews it
    (before, the item could not take the renewal's event) and the full history reads back in order."""
    sub_id = demo.subscriptions["hanse_standard"].id
    subscription = services.uow().subscriptions.get(sub_id)
    created = subscription.history[0]
    subscription.history.extend(
        type(created)(f"evt_old{n:03d}", Kind.SEATS_ADDED, created.at, "usr_import", {"note": "x" * 2000}) for n in range(190)
    )
    uow = services.uow()
    with uow:
        uow.subscriptions.update(subscription)
        uow.commit()
    assert item_size(SubscriptionModel.get(sub_id, consistent_read=True)) <= SUBSCRIPTION_ITEM_BUDGET
    summary = service.renew_due_subscriptions(services.uow, run_date=date(2027, 11, 23), now=NOW.replace(year=2027, hour=22, minute=30))
    assert summary.renewed == 1
    renewed = services.uow().subscriptions.get(sub_id)
    assert renewed.term_index == 1 and renewed.history_pages >= 1
    history = service.subscription_history(services.uow(), renewed)
    assert [event.event_id for event in history[:3]] == [created.event_id, "evt_old000", "evt_old001"]
    assert len(history) == 1 + 190 + 1 and history[-1].kind is Kind.RENEWED


def test_changes_after_the_history_moved_to_pages_keep_every_event(services, demo):
    sales, sub_id = Principal.of(demo.users["nordit_sales"]), demo.subscriptions["hanse_standard"].id
    subscription = services.uow().subscriptions.get(sub_id)
    created = subscription.history[0]
    subscription.history.extend(
        type(created)(f"evt_old{n:03d}", Kind.SEATS_ADDED, created.at, "usr_import", {"note": "x" * 1000}) for n in range(90)
    )
    uow = services.uow()
    with uow:
        uow.subscriptions.update(subscription)
        uow.commit()
    for hours in range(1, 41):  # 20 seats added, 20 removed, inside the window
        change = IncreaseSeats(1) if hours % 2 else ReduceSeats(1)
        service.change_subscription(services.uow(), sales, sub_id, change, now=NOW + timedelta(hours=hours))
    stored = services.uow().subscriptions.get(sub_id)
    history = service.subscription_history(services.uow(), stored)
    assert len(history) == 1 + 90 + 40 and len({event.event_id for event in history}) == 131
    assert stored.history_pages >= 1 and item_size(SubscriptionModel.get(sub_id, consistent_read=True)) <= SUBSCRIPTION_ITEM_BUDGET
