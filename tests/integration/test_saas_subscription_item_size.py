"""A reseller SaaS subscription is one DynamoDB item, and DynamoDB refuses items above 400 KB: its history must not grow
it without bound. A reseller raising Hafenbar KG's users from 12 to 13 at 09:00 and lowering them again at 17:00 every
day from 2026-11-24 made 2,041 events (405 KB) by 2029-09-09; that day's second change, and every later one (the daily
billing job's too), failed with an untyped error.

Now the oldest events move to history pages once the item passes SUBSCRIPTION_ITEM_BUDGET (in the transaction that saves
it), as for CSP subscriptions (the same ``HistoryPaging``), and the full history stays readable.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from domain.catalogue import SIGNATURES_FOR_M365, demo_catalogue
from domain.policy import Principal
from domain.services import subscriptions as subs
from domain.subscriptions import SaasSubscription, SubscriptionEventKind as Kind, new_saas_subscription
from infra.codec import decode
from infra.dynamo.attributes import item_size
from infra.dynamo.models import SaasSubscriptionModel
from infra.dynamo.subscription_repositories import (
    SUBSCRIPTION_ITEM_BUDGET,
    SaasSubscriptionHistoryPageModel,
    SaasSubscriptionRepository,
)
from tests.e2e.conftest import as_user, client  # noqa: F401  (fixtures)
from tests.request_counter import count_requests

CATALOGUE = demo_catalogue()
CREATED = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


class RecordingUnitOfWork:
    """Keeps the items a repository registers instead of writing them."""

    def __init__(self) -> None:
        self.saved = []

    def register_save(self, model, **_) -> None:
        self.saved.append(model)


def save_and_read_back(subscription: SaasSubscription) -> tuple[SaasSubscription, int, list]:
    """What the store keeps of ``subscription``: the subscription read back, its item's size, the pages written."""
    uow = RecordingUnitOfWork()
    SaasSubscriptionRepository(uow).save(subscription)
    item, *pages = uow.saved
    assert isinstance(item, SaasSubscriptionModel)
    assert all(isinstance(page, SaasSubscriptionHistoryPageModel) and item_size(page) < 400_000 for page in pages)
    return decode(SaasSubscription, item.data), item_size(item), pages


def test_two_thousand_user_changes_never_take_the_item_past_its_budget():
    """Hafenbar KG, 12 users from 2026-11-23: 13 users at 09:00 and 12 again at 17:00 every day for 1,100 days, the
    months due charged before each change as the service does, each change saved as the service saves it: the item
    never passes the budget, and pages plus item hold every event once, in order."""
    subscription = new_saas_subscription(partner_id="ptn_1", product=CATALOGUE.product(SIGNATURES_FOR_M365),
                                         customer_company_name="Hafenbar KG", users=12, now=CREATED, actor_id="usr_1")
    created_event = subscription.history[0].event_id
    archived, largest = [], 0
    for day in range(1, 1101):
        for users, hour in ((13, 9), (12, 17)):
            now = CREATED.replace(hour=hour) + timedelta(days=day)
            subscription.settle(CATALOGUE, now=now)
            subscription.change_users(users, now=now, actor_id="usr_1")
            subscription.settle(CATALOGUE, now=now, actor_id="usr_1")
            subscription, size, pages = save_and_read_back(subscription)
            archived += [event for page in pages for event in page.data]
            largest = max(largest, size)
    assert largest <= SUBSCRIPTION_ITEM_BUDGET
    events = [event["event_id"] for event in archived] + [event.event_id for event in subscription.history]
    months = sum(1 for event in subscription.history if event.kind is Kind.NEXT_PAYMENT_DATE_ADVANCED) + sum(
        1 for event in archived if event["kind"] == Kind.NEXT_PAYMENT_DATE_ADVANCED.value)
    assert months == 36  # 2026-12-23 .. 2029-11-23, the payment dates up to 2029-11-27
    assert len(events) == len(set(events)) == 1 + 2200 + months and events[0] == created_event
    assert subscription.history_pages >= 1 and subscription.users == 12 and subscription.next_payment_date == date(2029, 12, 23)


def grow_history(services, subscription_id: str, events: int, first: int = 0) -> SaasSubscription:
    """``events`` user changes of 2 KB each (notes as an import of an older system would bring them), saved at once."""
    subscription = services.uow().saas_subscriptions.get(subscription_id)
    created = subscription.history[0]
    subscription.history.extend(
        type(created)(f"evt_old{n:03d}", Kind.USERS_CHANGED, created.at, "usr_import", {"note": "x" * 2000})
        for n in range(first, first + events)
    )
    uow = services.uow()
    with uow:
        uow.saas_subscriptions.save(subscription)
        uow.commit()
    return subscription


def full_history(services, subscription: SaasSubscription) -> list:
    return [*services.uow().saas_subscriptions.history_pages(subscription), *subscription.history]


def test_a_saas_subscription_with_a_long_history_keeps_changing_billing_and_showing_all_of_it(services, demo, as_user):
    """Hafenbar KG's history near DynamoDB's limit (190 events of 2 KB, 2026-11-23): raising its users to 15 on
    2026-11-24 is accepted (before: an untyped error), the item is back within the budget, the daily job charges the
    month due 2026-12-23, and the full history reads back in order. The pages are on no list."""
    sales = Principal.of(demo.users["nordit_sales"])
    created = subs.create_saas_subscription(services.uow(), services.mailer, sales,
                                            subs.NewSaasSubscription(SIGNATURES_FOR_M365, "Hafenbar KG", 12), now=CREATED)
    grow_history(services, created.id, 190)
    assert item_size(SaasSubscriptionModel.get(created.id, consistent_read=True)) <= SUBSCRIPTION_ITEM_BUDGET

    subs.change_saas_subscription(services.uow(), sales, created.id, subs.ChangeSaasUsers(15), now=CREATED + timedelta(days=1))
    summary = subs.bill_saas_subscriptions(services.uow, run_date=date(2026, 12, 23), now=datetime(2026, 12, 23, 1, tzinfo=timezone.utc))
    assert (summary.months_charged, summary.conflicts, summary.failed) == (1, 0, ())

    stored = services.uow().saas_subscriptions.get(created.id)
    assert stored.users == 15 and stored.next_payment_date == date(2027, 1, 23) and stored.history_pages >= 1
    assert item_size(SaasSubscriptionModel.get(created.id, consistent_read=True)) <= SUBSCRIPTION_ITEM_BUDGET
    history = full_history(services, stored)
    assert [event.event_id for event in history[:3]] == [created.history[0].event_id, "evt_old000", "evt_old001"]
    assert [event.kind for event in history[-2:]] == [Kind.USERS_CHANGED, Kind.NEXT_PAYMENT_DATE_ADVANCED]
    assert len(history) == len({event.event_id for event in history}) == 1 + 190 + 2

    listed = """{ saasSubscriptions(first: 100) { nodes { id } } }"""
    for actor in ("nordit_admin", "distributor"):
        ids = [node["id"] for node in as_user(actor)(listed)["saasSubscriptions"]["nodes"]]
        assert created.id in ids and not [i for i in ids if "#history#" in i], actor


def test_the_history_pages_of_a_saas_subscription_are_read_in_one_request(services, demo):
    sales = Principal.of(demo.users["nordit_sales"])
    created = subs.create_saas_subscription(services.uow(), services.mailer, sales,
                                            subs.NewSaasSubscription(SIGNATURES_FOR_M365, "Hafenbar KG", 12), now=CREATED)
    for n in range(3):  # three saves past the budget: three pages
        grow_history(services, created.id, 60, first=60 * n)
    stored = services.uow().saas_subscriptions.get(created.id)
    with count_requests() as count:
        moved = services.uow().saas_subscriptions.history_pages(stored)
    assert stored.history_pages == 3 and count.operations == {"BatchGetItem": 1}
    history = [*moved, *stored.history]
    assert [event.event_id for event in history] == [created.history[0].event_id, *(f"evt_old{n:03d}" for n in range(180))]


@pytest.mark.parametrize("room", [60, 160, 260, 360])
def test_a_run_catching_up_three_months_charges_all_three_when_a_save_moves_history_to_a_page(services, demo, room):
    """Hafenbar KG's item ``room`` bytes below its budget, three months due (2026-12-23, 2027-01-23, 2027-02-23) after missed runs: one
    run charges all three. One of the saves moves old events to a page; before, the next month's save wrote that page
    again and was refused (a conflict), leaving the rest of the catch-up to the next run."""
    sales = Principal.of(demo.users["nordit_sales"])
    created = subs.create_saas_subscription(services.uow(), services.mailer, sales,
                                            subs.NewSaasSubscription(SIGNATURES_FOR_M365, "Hafenbar KG", 12), now=CREATED)
    subscription = services.uow().saas_subscriptions.get(created.id)
    first = subscription.history[0]
    subscription.history.extend(type(first)(f"evt_old{n:03d}", Kind.USERS_CHANGED, first.at, "usr_1", {"note": "x" * 1000})
                                for n in range(83))
    padding = type(first)("evt_pad", Kind.USERS_CHANGED, first.at, "usr_1", {"note": ""})
    size = item_size(SaasSubscriptionRepository._item(replace(subscription, history=[*subscription.history, padding])))
    subscription.history.append(replace(padding, details={"note": "y" * (SUBSCRIPTION_ITEM_BUDGET - room - size)}))
    uow = services.uow()
    with uow:
        uow.saas_subscriptions.save(subscription)
        uow.commit()
    assert item_size(SaasSubscriptionModel.get(created.id, consistent_read=True)) == SUBSCRIPTION_ITEM_BUDGET - room

    summary = subs.bill_saas_subscriptions(services.uow, run_date=date(2027, 2, 23), now=datetime(2027, 2, 23, 1, tzinfo=timezone.utc))

    assert (summary.months_charged, summary.conflicts, summary.failed) == (3, 0, ())
    stored = services.uow().saas_subscriptions.get(created.id)
    assert stored.next_payment_date == date(2027, 3, 23) and stored.history_pages >= 1
    history = full_history(services, stored)
    assert len(history) == len({event.event_id for event in history}) == 1 + 84 + 3  # one event per month charged
