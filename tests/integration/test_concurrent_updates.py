"""No lost updates: concurrent changes of one object through the API all land, one after the other.

Threads post GraphQL mutations to the app, which talks HTTP to moto's DynamoDB server: the
requests really overlap, collide on the subscription's version and are retried.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from tests.conftest import NOW

INCREASE = """mutation($id: ID!) { subscriptionSeatsIncrease(input: {subscriptionId: $id, seats: 1}) {
  subscription { quantity } errors { code message } } }"""


@pytest.fixture
def api_over_moto_server(moto_server):
    from infra.auth import mint_dev_token
    from infra.bootstrap import build_services
    from infra.demo import seed
    from infra.email import MemoryMailer
    from resolvers.http import create_app

    services = build_services(moto_server, mailer=MemoryMailer(), clock=lambda: NOW)
    demo = seed(services.uow(), NOW)
    token = mint_dev_token(services.settings, demo.users["nordit_sales"].id)
    with TestClient(create_app(services)) as client:
        yield client, token, services, demo


def test_20_concurrent_seat_increases_on_one_subscription_all_land(api_over_moto_server):
    client, token, services, demo = api_over_moto_server
    subscription = demo.subscriptions["hanse_standard"]
    start = subscription.quantity

    def increase(_):
        response = client.post("/graphql", json={"query": INCREASE, "variables": {"id": subscription.id}},
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()["data"]["subscriptionSeatsIncrease"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(increase, range(20)))

    assert [r["errors"] for r in results] == [[]] * 20
    stored = services.uow().subscriptions.get(subscription.id)
    assert stored.quantity == start + 20
    assert sorted(r["subscription"]["quantity"] for r in results) == list(range(start + 1, start + 21))
    assert [e.kind.value for e in stored.history].count("SEATS_ADDED") == 20
    assert len(stored.seat_lots) == 1 + 20


def test_a_version_conflict_raised_again_and_again_carries_only_its_own_traceback(uow):
    """The conflict error is one shared instance; re-raising it must not chain every earlier traceback onto it."""
    import traceback

    from domain.errors import ConcurrentUpdate
    from infra.dynamo.models import CatalogueModel

    def lose_a_race():
        with uow:
            uow.register_save(CatalogueModel("not-there", data={}), condition=CatalogueModel.id.exists())
            uow.commit()

    depths = []
    for _ in range(3):
        with pytest.raises(ConcurrentUpdate) as caught:
            lose_a_race()
        depths.append(len(traceback.extract_tb(caught.value.__traceback__)))
    assert depths[0] == depths[1] == depths[2]
