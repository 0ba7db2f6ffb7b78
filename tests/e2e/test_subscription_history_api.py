"""Subscription.history shows every event, also those the store moved from the subscription to its history pages."""

from __future__ import annotations

from domain.subscriptions import SubscriptionEventKind

HISTORY = """query($id: ID!) { subscription(id: $id) { history { id kind } } }"""
LISTED = """query($c: ID!) { subscriptions(customerId: $c) { nodes { id history { id } } } }"""


def test_the_history_includes_the_events_moved_to_history_pages(as_user, demo, services):
    sub_id = demo.subscriptions["hanse_standard"].id
    subscription = services.uow().subscriptions.get(sub_id)
    created = subscription.history[0]
    subscription.history.extend(
        type(created)(f"evt_old{n:03d}", SubscriptionEventKind.SEATS_ADDED, created.at, "usr_import", {"note": "x" * 2000})
        for n in range(100)
    )
    uow = services.uow()
    with uow:
        uow.subscriptions.update(subscription)
        uow.commit()
    assert services.uow().subscriptions.get(sub_id).history_pages >= 1

    shown = as_user("nordit_sales")(HISTORY, {"id": sub_id})["subscription"]["history"]
    assert [e["id"] for e in shown] == [created.event_id, *(f"evt_old{n:03d}" for n in range(100))]
    listed = as_user("nordit_sales")(LISTED, {"c": demo.customers["hanse"].id})["subscriptions"]["nodes"]
    assert [len(node["history"]) for node in listed if node["id"] == sub_id] == [101]
