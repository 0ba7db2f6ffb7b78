"""Ordering a perpetual licence as a subscription is refused before the CSP preconditions: none of them would make the
order possible, so none is listed."""

from __future__ import annotations

from domain.catalogue import WINDOWS_SERVER_2022_STANDARD

ORDER = """mutation($input: SubscriptionOrderInput!) { subscriptionOrder(input: $input) {
  subscription { id } errors { code field message hint } } }"""


def order(api, customer_id):
    return api(ORDER, {"input": {"customerId": customer_id, "productId": WINDOWS_SERVER_2022_STANDARD, "term": "P1Y",
                                 "billing": "ANNUAL", "quantity": 1}})["subscriptionOrder"]


def test_a_perpetual_licence_is_refused_first_and_only_for_what_it_is(as_user, demo):
    api = as_user("nordit_sales")
    for customer in ("kanzlei", "hanse"):  # no tenant and no agreement; every precondition met
        refused = order(api, demo.customers[customer].id)
        assert refused["subscription"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "productId")], customer
        assert "perpetual licence, a one-time purchase" in refused["errors"][0]["message"]
        assert "distributor" in refused["errors"][0]["hint"] and "SaaS" not in refused["errors"][0]["hint"]
