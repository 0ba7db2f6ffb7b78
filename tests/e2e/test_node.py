"""`node(id)` answers every type that implements Node, under the same rules as the type's own queries and lists.

Demo: Hanse (partner NordIT, FULL) with hanse_it (EXTENDED) and hanse_staff (REPORT_ONLY); SüdCloud and its customer
Alpen are strangers to Hanse's objects."""

from __future__ import annotations

from datetime import date

import pytest

from domain.assets import AssetKind
from domain.contracts import ContractKind, Rates
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as contract_svc
from tests.conftest import NOW

NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""
SAAS = """mutation { saasSubscriptionCreate(input: {productId: "prd_signatures_m365", customerCompanyName: "Hafenbar KG", users: 7}) {
  saasSubscription { id } errors { code } } }"""


@pytest.fixture
def objects(as_user, demo, services) -> dict[str, str]:
    ops = Principal.of(demo.users["distributor"])
    hanse = demo.customers["hanse"].id
    contract = contract_svc.create_contract(services.uow(), ops, contract_svc.NewContract(hanse, ContractKind.COOPERATION, date(2026, 11, 1),
                                            Rates(Money.of("95.00"))), now=NOW)
    asset = contract_svc.create_asset(services.uow(), ops, hanse, now=NOW, kind=AssetKind.HARDWARE, name="Server HV01")
    saas = as_user("nordit_admin")(SAAS)["saasSubscriptionCreate"]["saasSubscription"]["id"]
    return {"Subscription": demo.subscriptions["hanse_standard"].id, "SaasSubscription": saas, "Contract": contract.id,
            "Asset": asset.id, "Product": "prd_m365_business_standard"}


OWN_QUERY = {  # type -> how the type's own query or list finds the object, the rule node(id) must follow
    "Subscription": ("query($id: ID!) { subscription(id: $id) { id } }", lambda d: [d["subscription"]["id"]] if d["subscription"] else []),
    "SaasSubscription": ("{ saasSubscriptions(first: 50) { nodes { id } } }", lambda d: [n["id"] for n in d["saasSubscriptions"]["nodes"]]),
    "Contract": ("query($c: ID!) { contracts(customerId: $c) { id } }", lambda d: [c["id"] for c in d["contracts"]]),
    "Asset": ("query($c: ID!) { assets(customerId: $c) { nodes { id } } }", lambda d: [a["id"] for a in d["assets"]["nodes"]]),
    "Product": ("{ products { id } }", lambda d: [p["id"] for p in d["products"]]),
}
ACTORS = ("distributor", "nordit_admin", "nordit_sales", "suedcloud_admin", "hanse_it", "hanse_staff", "kanzlei_office", "alpen_owner")


@pytest.mark.parametrize("kind", sorted(OWN_QUERY))
def test_node_finds_each_type_exactly_for_those_its_own_query_shows_it_to(as_user, demo, objects, kind):
    query, ids_of = OWN_QUERY[kind]
    seen_by = set()
    for actor in ACTORS:
        api = as_user(actor)
        if objects[kind] in ids_of(api(query, {"id": objects[kind], "c": demo.customers["hanse"].id})):
            seen_by.add(actor)
        found = api(NODE, {"id": objects[kind]})["node"]
        assert found == ({"__typename": kind, "id": objects[kind]} if actor in seen_by else None), (kind, actor, found)
    assert "distributor" in seen_by and "alpen_owner" not in seen_by or kind == "Product"  # the test saw both sides
