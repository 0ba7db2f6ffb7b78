"""priceChangeSchedule without productIds announces Microsoft's change: the reseller SaaS products keep their price."""

from __future__ import annotations

PRICES = """query { products { id price(term: P1M, billing: MONTHLY, on: "2027-04-01") { amount } } }"""


def test_a_price_change_without_products_leaves_saas_prices_alone(as_user):
    distributor = as_user("distributor")
    scheduled = distributor("""mutation { priceChangeSchedule(input: {currency: "EUR", percent: "10", effectiveFrom: "2027-04-01"}) {
        errors { code } } }""")["priceChangeSchedule"]
    assert scheduled["errors"] == []
    price = {p["id"]: p["price"]["amount"] for p in distributor(PRICES)["products"] if p["price"]}
    assert price["prd_signatures_m365"] == "1.25"
    assert price["prd_m365_business_standard"] == "15.40"  # 11.66 × 1.10 = 12.83 a month on the annual term; monthly term +20%


def test_an_unknown_product_is_named_in_product_ids(as_user):
    refused = as_user("distributor")("""mutation { priceChangeSchedule(input: {currency: "EUR", percent: "10", effectiveFrom: "2027-04-01",
        productIds: ["prd_nothing"]}) { errors { code field } } }""")["priceChangeSchedule"]
    assert refused["errors"] == [{"code": "NOT_FOUND", "field": "productIds"}]
