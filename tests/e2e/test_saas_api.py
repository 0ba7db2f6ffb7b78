"""Partners sell reseller SaaS through the API (found by the isolation test: the mutation always failed)."""

from __future__ import annotations

CREATE = """mutation { saasSubscriptionCreate(input: {productId: "prd_signatures_m365", customerCompanyName: "Hafenbar KG", users: 7}) {
  saasSubscription { id users customerCompanyName status } errors { code } } }"""


def test_a_partner_creates_a_saas_subscription_and_finds_it_in_its_list(as_user):
    api = as_user("nordit_admin")
    created = api(CREATE)["saasSubscriptionCreate"]
    assert created["errors"] == []
    assert created["saasSubscription"]["users"] == 7 and created["saasSubscription"]["status"] == "ACTIVE"
    listed = api("{ saasSubscriptions(first: 10) { nodes { id } } }")["saasSubscriptions"]["nodes"]
    assert listed == [{"id": created["saasSubscription"]["id"]}]
