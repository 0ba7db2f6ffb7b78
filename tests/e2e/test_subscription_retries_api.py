"""A reseller portal retries a CSP order or change after a timeout: with the same idempotency key nothing is changed or
booked twice and the retry gets the first answer again; the same key with other input is refused.

Hanse's demo subscription: Microsoft 365 Business Standard, 12 seats, annual term billed monthly, ordered 2026-11-23
09:00 at EUR 11.66 per seat and month (cycle 2026-11-23..2026-12-23, 30 days).
"""

from __future__ import annotations

from datetime import timedelta

from domain.catalogue import M365_BUSINESS_PREMIUM, M365_BUSINESS_STANDARD

CHANGE_FIELDS = """subscription { id quantity seatLots { quantity } } newSubscription { id quantity }
  charges { id kind amount { amount } } scheduledChangeDeleted errors { code field message hint }"""
INCREASE = f"""mutation($id: ID!, $seats: Int!, $key: String) {{
  subscriptionSeatsIncrease(input: {{subscriptionId: $id, seats: $seats}}, idempotencyKey: $key) {{ {CHANGE_FIELDS} }} }}"""
REDUCE = f"""mutation($id: ID!, $seats: Int!, $key: String) {{
  subscriptionSeatsReduce(input: {{subscriptionId: $id, seats: $seats}}, idempotencyKey: $key) {{ {CHANGE_FIELDS} }} }}"""
CANCEL = f"""mutation($id: ID!, $key: String) {{
  subscriptionCancel(input: {{subscriptionId: $id}}, idempotencyKey: $key) {{ {CHANGE_FIELDS} }} }}"""
UPGRADE = f"""mutation($id: ID!, $to: ID!, $seats: Int, $key: String) {{
  subscriptionUpgrade(input: {{subscriptionId: $id, toProductId: $to, seats: $seats}}, idempotencyKey: $key) {{ {CHANGE_FIELDS} }} }}"""
SCHEDULE = f"""mutation($id: ID!, $quantity: Int, $key: String) {{
  subscriptionRenewalChangeSchedule(input: {{subscriptionId: $id, quantity: $quantity}}, idempotencyKey: $key) {{ {CHANGE_FIELDS} }} }}"""
ORDER = """mutation($c: ID!, $key: String) { subscriptionOrder(idempotencyKey: $key,
  input: {customerId: $c, productId: "prd_m365_business_standard", term: P1Y, billing: MONTHLY, quantity: 3}) {
  subscription { id quantity } charges { id kind amount { amount } } errors { code } } }"""


def booked(services, subscription_id):
    return sorted((c.kind.value, str(c.amount.amount)) for c in services.uow().charges.list_for_subscription(subscription_id).items)


def test_a_retried_seat_increase_adds_and_charges_the_seats_once(as_user, demo, clock, services):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    clock.now += timedelta(days=10)  # 2026-12-03 09:00: 5 seats for 20 of 30 days = 38.87
    first = api(INCREASE, {"id": sub_id, "seats": 5, "key": "portal-7f3a"})["subscriptionSeatsIncrease"]
    clock.now += timedelta(seconds=30)  # the portal timed out and sends the same request again
    retry = api(INCREASE, {"id": sub_id, "seats": 5, "key": "portal-7f3a"})["subscriptionSeatsIncrease"]
    assert first["subscription"]["quantity"] == retry["subscription"]["quantity"] == 17
    assert [(c["kind"], c["amount"]["amount"]) for c in retry["charges"]] == [("PRORATA_INCREASE", "38.87")]
    assert retry["charges"] == first["charges"] and retry["errors"] == []
    assert booked(services, sub_id) == [("PRORATA_INCREASE", "38.87"), ("RECURRING", "139.92")]


def test_without_a_key_each_request_is_a_new_increase(as_user, demo, clock):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    api(INCREASE, {"id": sub_id, "seats": 1})
    assert api(INCREASE, {"id": sub_id, "seats": 1})["subscriptionSeatsIncrease"]["subscription"]["quantity"] == 14


def test_the_same_key_with_other_input_is_refused_and_changes_nothing(as_user, demo, services):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    api(INCREASE, {"id": sub_id, "seats": 5, "key": "portal-7f3a"})
    other = api(INCREASE, {"id": sub_id, "seats": 6, "key": "portal-7f3a"})["subscriptionSeatsIncrease"]
    assert other["subscription"] is None
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    assert services.uow().subscriptions.get(sub_id).quantity == 17


def test_a_retried_reduction_credits_once(as_user, demo, clock, services):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    clock.now += timedelta(days=3)  # 2026-11-26: inside the window; 2 seats for 27 of 30 days = -20.99
    first = api(REDUCE, {"id": sub_id, "seats": 2, "key": "r-1"})["subscriptionSeatsReduce"]
    retry = api(REDUCE, {"id": sub_id, "seats": 2, "key": "r-1"})["subscriptionSeatsReduce"]
    assert retry["subscription"]["quantity"] == 10 and retry["charges"] == first["charges"]
    assert [c["amount"]["amount"] for c in retry["charges"]] == ["-20.99"]
    assert booked(services, sub_id) == [("CREDIT", "-20.99"), ("RECURRING", "139.92")]


def test_a_retried_cancellation_answers_like_the_first_instead_of_refusing(as_user, demo, clock, services):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    clock.now += timedelta(days=1)  # 2026-11-24: 12 seats for 29 of 30 days = -135.26
    first = api(CANCEL, {"id": sub_id, "key": "c-1"})["subscriptionCancel"]
    retry = api(CANCEL, {"id": sub_id, "key": "c-1"})["subscriptionCancel"]
    assert first["errors"] == retry["errors"] == []
    assert retry["charges"] == first["charges"] and [c["amount"]["amount"] for c in retry["charges"]] == ["-135.26"]
    assert booked(services, sub_id) == [("CREDIT", "-135.26"), ("RECURRING", "139.92")]


def test_a_retried_upgrade_opens_one_new_subscription(as_user, demo, clock, services):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    variables = {"id": sub_id, "to": M365_BUSINESS_PREMIUM, "seats": 4, "key": "u-1"}
    first = api(UPGRADE, variables)["subscriptionUpgrade"]
    retry = api(UPGRADE, variables)["subscriptionUpgrade"]
    assert retry["newSubscription"] == first["newSubscription"] == {"id": first["newSubscription"]["id"], "quantity": 4}
    assert retry["subscription"]["quantity"] == 8 and retry["charges"] == first["charges"]
    listed = services.uow().subscriptions.list_for_customer(demo.customers["hanse"].id, _all(), limit=10, cursor=None).items
    assert sorted((s.product_id, s.quantity) for s in listed) == [(M365_BUSINESS_PREMIUM, 4), (M365_BUSINESS_STANDARD, 8)]


def test_a_retried_schedule_reports_the_deleted_change_of_the_first_call(as_user, demo, clock):
    """An increase with a key deletes the change scheduled for the renewal; its retry says so again, and does not
    undo a change scheduled in between."""
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    api(SCHEDULE, {"id": sub_id, "quantity": 20})
    first = api(INCREASE, {"id": sub_id, "seats": 1, "key": "i-9"})["subscriptionSeatsIncrease"]
    api(SCHEDULE, {"id": sub_id, "quantity": 25})
    retry = api(INCREASE, {"id": sub_id, "seats": 1, "key": "i-9"})["subscriptionSeatsIncrease"]
    assert first["scheduledChangeDeleted"] is retry["scheduledChangeDeleted"] is True
    scheduled = api("""query($id: ID!) { subscription(id: $id) { quantity scheduledChange { quantity } } }""", {"id": sub_id})
    assert scheduled["subscription"] == {"quantity": 13, "scheduledChange": {"quantity": 25}}


def test_a_retried_order_returns_the_charges_of_the_first(as_user, demo, services):
    api, hanse = as_user("nordit_sales"), demo.customers["hanse"].id
    first = api(ORDER, {"c": hanse, "key": "po-4711"})["subscriptionOrder"]
    retry = api(ORDER, {"c": hanse, "key": "po-4711"})["subscriptionOrder"]
    assert retry["subscription"] == first["subscription"]
    assert [(c["kind"], c["amount"]["amount"]) for c in retry["charges"]] == [("RECURRING", "34.98")]
    assert retry["charges"] == first["charges"]
    assert booked(services, first["subscription"]["id"]) == [("RECURRING", "34.98")]


def _all():
    from domain.ports import SubscriptionFilter

    return SubscriptionFilter()
