"""An empty id finds nothing, like an unknown one (found by fuzzing: DynamoDB refuses empty key values)."""

from __future__ import annotations

import pytest

QUERIES = {
    "node": ('{ node(id: "") { id } }', {"node": None}),
    "customer": ('{ customer(id: "") { id } }', {"customer": None}),
    "partner": ('{ partner(id: "") { id } }', {"partner": None}),
    "subscription": ('{ subscription(id: "") { id } }', {"subscription": None}),
    "users": ('{ users(organisationId: "") { nodes { id } } }', {"users": {"nodes": []}}),
    "subscriptions": ('{ subscriptions(customerId: "") { nodes { id } } }', {"subscriptions": {"nodes": []}}),
    "renewalPlanner": ('{ renewalPlanner(partnerId: "") { nodes { id } } }', {"renewalPlanner": {"nodes": []}}),
}


@pytest.mark.parametrize("actor", ["distributor", "nordit_admin"])
def test_an_empty_id_finds_nothing(as_user, actor):
    api = as_user(actor)
    answers = {field: api(query) for field, (query, _expected) in QUERIES.items()}
    assert answers == {field: expected for field, (_query, expected) in QUERIES.items()}


def test_a_mutation_on_an_empty_id_is_not_found(as_user):
    result = as_user("nordit_admin")('mutation { subscriptionSeatsIncrease(input: {subscriptionId: "", seats: 1}) { errors { code } } }')
    assert result["subscriptionSeatsIncrease"]["errors"] == [{"code": "NOT_FOUND"}]
