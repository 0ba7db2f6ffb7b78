"""DynamoDB throttling: requests are retried with backoff by botocore, and a change is written whole or not at all.

The throttling answers come from DynamoDB's side (moto's request handler answers them instead of
applying the request), so botocore's own retry logic, configured on the shared client, does the rest.
"""

from __future__ import annotations

import json
import types

import pytest

INCREASE = """mutation($id: ID!) { subscriptionSeatsIncrease(input: {subscriptionId: $id, seats: 2}) {
  subscription { quantity } charges { quantity } errors { code } } }"""

THROTTLING_ERRORS = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]


@pytest.fixture
def throttle(monkeypatch):
    """``throttle("TransactWriteItems", times=2, error=...)``: DynamoDB refuses the next ``times`` such requests."""
    import botocore.endpoint
    from moto.core.botocore_stubber import BotocoreStubber

    plan = {"operation": None, "left": 0, "error": None, "refused": 0}
    process_request = BotocoreStubber.process_request

    def refusing(self, request):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if plan["left"] and target.endswith("." + plan["operation"]):
            plan["left"] -= 1
            plan["refused"] += 1
            body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{plan['error']}", "message": "Rate of requests exceeds the allowed throughput."})
            return 400, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "throttled"}, body.encode()
        return process_request(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", refusing)
    waits: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=waits.append))  # record, don't wait

    def arm(operation: str, *, times: int, error: str = "ProvisionedThroughputExceededException"):
        plan.update(operation=operation, left=times, error=error, refused=0)
        return plan

    arm.waits = waits
    return arm


def snapshot(services, subscription_id):
    subscription = services.uow().subscriptions.get(subscription_id)
    charges = services.uow().charges.list_for_subscription(subscription_id).items
    return subscription.quantity, subscription.version, len(subscription.history), len(charges)


def test_the_shared_client_retries_in_standard_mode_with_4_attempts(services):
    from infra.dynamo.models import SubscriptionModel

    client = SubscriptionModel._get_connection().connection.client
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}


def test_a_throttled_transaction_is_retried_with_backoff_and_lands_once(as_user, services, demo, throttle):
    subscription_id = demo.subscriptions["hanse_standard"].id
    api = as_user("nordit_sales")
    for error in THROTTLING_ERRORS:
        quantity, version, events, charges = snapshot(services, subscription_id)
        throttle.waits.clear()
        plan = throttle("TransactWriteItems", times=3, error=error)

        result = api(INCREASE, {"id": subscription_id})["subscriptionSeatsIncrease"]

        assert result["errors"] == [] and result["subscription"]["quantity"] == quantity + 2, error
        assert plan["refused"] == 3 and len(throttle.waits) == 3, error
        # standard mode: a random wait of up to 1, 2, 4 seconds ("full jitter", doubling per attempt)
        assert all(0 <= wait <= 2 ** attempt for attempt, wait in enumerate(throttle.waits)), error
        assert snapshot(services, subscription_id) == (quantity + 2, version + 1, events + 1, charges + 1), error


def test_a_throttled_read_is_retried(as_user, services, demo, throttle):
    plan = throttle("GetItem", times=2)
    data = as_user("hanse_it")("{ me { user { email } } }")
    assert data["me"]["user"]["email"] == "it@hanse.example"
    assert plan["refused"] == 2 and len(throttle.waits) == 2


def test_throttling_that_outlasts_the_retries_fails_the_change_whole_and_reveals_nothing(as_user, services, demo, throttle):
    subscription_id = demo.subscriptions["hanse_standard"].id
    before = snapshot(services, subscription_id)
    plan = throttle("TransactWriteItems", times=100)

    response = as_user("nordit_sales").post(INCREASE, {"id": subscription_id})

    assert plan["refused"] == 4  # the first attempt and three retries
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Unexpected error. It has been logged."]
    assert "Throughput" not in response.text and "Traceback" not in response.text
    plan["left"] = 0
    assert snapshot(services, subscription_id) == before  # neither the subscription nor its charge was written
