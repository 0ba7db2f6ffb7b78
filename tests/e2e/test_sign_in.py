"""Signing in alongside the first read (resolvers/sign_in.py): a query's object by id is read while the token's
user is read, yet nothing executes, is written or is answered before that user is known and active."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from infra.auth import mint_dev_token
from infra.dynamo.models import UserModel
from infra.dynamo.repositories import UserRepository, entity_data
from infra.dynamo.subscription_repositories import SubscriptionRepository
from infra.dynamo.ticket_repositories import TicketRepository
from tests.e2e.conftest import Api
from tests.request_counter import count_requests

DETAIL = "query($id: ID!) { subscription(id: $id) { id quantity customer { name } } }"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def set_active(user, active: bool) -> None:
    """Deactivated (or active again) in the users table, as an administrator's change would leave it."""
    item = UserModel.get(user.id)
    item.data = entity_data(dataclasses.replace(user, active=active))
    item.save()


TICKET = "query($id: ID!) { ticket(id: $id) { id subject customer { name } } }"
CREATE_TICKET = """mutation($input: TicketCreateInput!) { ticketCreate(input: $input) { ticket { id } errors { code } } }"""


def a_ticket(as_user, demo) -> str:
    created = as_user("hanse_it")(CREATE_TICKET, {"input": {"customerId": demo.customers["hanse"].id, "subject": "VPN", "description": "Kein Zugang"}})
    return created["ticketCreate"]["ticket"]["id"]


@pytest.mark.parametrize("kind", ["subscription", "ticket"])
def test_the_object_is_read_while_the_user_is_read(demo, as_user, monkeypatch, kind):
    """The user's read waits (up to 5 s) for the object's read to start: read one after the other, it waits in
    vain and the test fails."""
    if kind == "subscription":
        repository, query, object_id = SubscriptionRepository, DETAIL, demo.subscriptions["hanse_standard"].id
    else:
        repository, query, object_id = TicketRepository, TICKET, a_ticket(as_user, demo)
    object_read = threading.Event()
    overlapped = []
    get_user, get_objects = UserRepository.get, repository.get_many

    def slow_user(self, user_id):
        overlapped.append(object_read.wait(timeout=5))
        return get_user(self, user_id)

    def objects(self, ids):
        object_read.set()
        return get_objects(self, ids)

    monkeypatch.setattr(UserRepository, "get", slow_user)
    monkeypatch.setattr(repository, "get_many", objects)
    with count_requests() as count:
        response = as_user("nordit_admin").post(query, {"id": object_id})
    assert response.status_code == 200, response.text
    assert response.json()["data"][kind]["id"] == object_id
    assert overlapped == [True]
    # the user, the object (by the loader its resolver reads), its customer (read once, for the check and the answer)
    assert count.operations == {"GetItem": 1, "BatchGetItem": 2}, count.operations


def test_the_object_read_early_is_still_checked_against_the_viewer(as_user, demo):
    """Read before the viewer is known, an object is still shown only to who may see it: Hanse's subscription and
    Hanse itself are nothing to Kanzlei Weber's office."""
    hanse = demo.subscriptions["hanse_standard"]
    assert as_user("nordit_admin")(DETAIL, {"id": hanse.id})["subscription"]["id"] == hanse.id
    assert as_user("kanzlei_office")(DETAIL, {"id": hanse.id})["subscription"] is None
    assert as_user("kanzlei_office")("query($id: ID!) { node(id: $id) { id } }", {"id": demo.customers["hanse"].id})["node"] is None
    ticket = a_ticket(as_user, demo)
    assert as_user("nordit_admin")(TICKET, {"id": ticket})["ticket"]["id"] == ticket
    assert as_user("kanzlei_office")(TICKET, {"id": ticket})["ticket"] is None
    assert as_user("kanzlei_office")("query($id: ID!) { node(id: $id) { id } }", {"id": ticket})["node"] is None


@pytest.mark.parametrize(
    "query",
    [
        DETAIL,  # a read by id, started before the user is known
        "query($id: ID!) { node(id: $id) { id ... on Customer { name } } }",
        "{ me { user { email } } }",
        "{ me { nosuchfield } }",  # refused as unauthenticated, not as invalid
        "{ me { user { email } ",  # does not even parse
    ],
)
def test_a_deactivated_user_gets_401_and_no_data(as_user, demo, query):
    api = as_user("nordit_admin")  # its token, minted while the user is active
    set_active(demo.users["nordit_admin"], False)
    variables = {"id": demo.subscriptions["hanse_standard"].id if "subscription" in query else demo.customers["hanse"].id}
    response = api.post(query, variables)
    assert response.status_code == 401
    assert response.json() == {
        "data": None, "errors": [{"message": "This login is deactivated. An administrator of your organisation can reactivate it.", "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_deactivated_user_changes_nothing(as_user, services, demo):
    """A mutation waits for the user before it runs: refused, it writes nothing."""
    user = demo.users["nordit_admin"]
    api = as_user("nordit_admin")
    set_active(user, False)
    subscription = demo.subscriptions["hanse_standard"]
    increase = """mutation($id: ID!) { subscriptionSeatsIncrease(input: {subscriptionId: $id, seats: 3}) {
      subscription { quantity } errors { code } } }"""
    with count_requests() as count:
        response = api.post(increase, {"id": subscription.id})
    assert response.status_code == 401
    assert not WRITES & set(count.operations), count.operations
    assert services.uow().subscriptions.get(subscription.id).quantity == subscription.quantity
    # active again, the same request writes: the checks above can fail
    set_active(user, True)
    assert api(increase, {"id": subscription.id})["subscriptionSeatsIncrease"]["errors"] == []
    assert services.uow().subscriptions.get(subscription.id).quantity == subscription.quantity + 3


def test_an_unknown_user_gets_401_for_a_read_by_id(client, services, demo):
    api = Api(client, mint_dev_token(services.settings, "usr_00000000000000000000"))
    response = api.post(DETAIL, {"id": demo.subscriptions["hanse_standard"].id})
    assert response.status_code == 401
    assert response.json()["data"] is None
