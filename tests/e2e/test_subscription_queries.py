"""Portal queries over CSP subscriptions and the distributor's catalogue and eligibility decisions.

Dates: the application clock starts at 2026-11-23 09:00 UTC (tests/conftest.py NOW). The demo catalogue prices
Microsoft 365 Business Standard at EUR 10.50 (annual term, monthly billing) until 2023-03-31 and EUR 11.66 after.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from domain.catalogue import M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, SIGNATURES_FOR_M365
from tests.e2e.test_subscriptions_api import at, csp_ready, order  # noqa: F401  (csp_ready is a fixture)

PLANNER = """query($days: Int!) { renewalPlanner(days: $days) { nodes { id termEndsAt nextRenewalAt unitPrice { amount }
  priceAfterNextRenewal { amount } } } }"""

LIST = """query($c: ID, $f: SubscriptionFilterInput, $first: Int, $after: String) {
  subscriptions(customerId: $c, filter: $f, first: $first, after: $after) {
  nodes { id productId status } pageInfo { hasNextPage endCursor } } }"""

NESTED = """query($c: ID!) { customer(id: $c) { subscriptions { nodes { id productId partnerId } } } }"""


def ids(nodes):
    return {n["id"] for n in nodes}


def test_the_renewal_planner_lists_what_renews_in_the_next_days_with_its_next_price(as_user, clock, demo, csp_ready):
    api = as_user("nordit_sales")
    standard = order(api, csp_ready)["subscription"]
    assert standard["termEndsAt"].startswith("2027-11-23T09:00")

    assert as_user("nordit_sales")(PLANNER, {"days": 30})["renewalPlanner"]["nodes"] == []
    clock.now = at("2027-11-01T08:00:00")
    planned = as_user("nordit_sales")(PLANNER, {"days": 30})["renewalPlanner"]["nodes"]
    # the demo's Hanse subscription, ordered through NordIT at the same instant, renews with it
    assert {p["id"] for p in planned} == {standard["id"], demo.subscriptions["hanse_standard"].id}
    assert all(p["nextRenewalAt"].startswith("2027-11-23T09:00") for p in planned)
    assert all(p["priceAfterNextRenewal"] == p["unitPrice"] for p in planned)
    # 21 days ahead is not enough to reach 2027-11-23
    assert as_user("nordit_sales")(PLANNER, {"days": 21})["renewalPlanner"]["nodes"] == []


def test_an_announced_price_change_shows_in_the_planner_but_not_in_the_running_term(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    standard = order(api, csp_ready)["subscription"]
    running_price = standard["unitPrice"]["amount"]
    scheduled = as_user("distributor")("""mutation { priceChangeSchedule(input: {currency: "EUR", percent: "10",
        effectiveFrom: "2027-06-01", productIds: ["%s"]}) { errors { code } } }""" % M365_BUSINESS_STANDARD)["priceChangeSchedule"]
    assert scheduled["errors"] == []

    clock.now = at("2027-11-01T08:00:00")
    planned = next(p for p in as_user("nordit_sales")(PLANNER, {"days": 30})["renewalPlanner"]["nodes"] if p["id"] == standard["id"])
    assert planned["unitPrice"]["amount"] == running_price
    expected = (Decimal(running_price) * Decimal("1.10")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(planned["priceAfterNextRenewal"]["amount"]) == expected


def test_only_the_distributor_schedules_price_changes_and_never_into_the_past(as_user, csp_ready):
    refused = as_user("nordit_admin")("""mutation { priceChangeSchedule(input: {currency: "EUR", percent: "11",
        effectiveFrom: "2027-04-01"}) { errors { code } } }""")["priceChangeSchedule"]
    assert refused["errors"][0]["code"] == "FORBIDDEN"
    past = as_user("distributor")("""mutation { priceChangeSchedule(input: {currency: "EUR", percent: "11",
        effectiveFrom: "2026-01-01"}) { errors { code field } } }""")["priceChangeSchedule"]
    assert past["errors"][0]["field"] == "effectiveFrom"


def test_subscription_lists_filter_by_product_status_and_renewal_date(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    standard = order(api, csp_ready, quantity=3)["subscription"]
    clock.now = at("2026-12-10T09:00:00")
    basic = order(api, csp_ready, quantity=2, product=M365_BUSINESS_BASIC)["subscription"]
    cancelled = api("""mutation($id: ID!) { subscriptionCancel(input: {subscriptionId: $id}) { errors { code } } }""",
                    {"id": basic["id"]})["subscriptionCancel"]
    assert cancelled["errors"] == []

    def listed(flt, first=20):
        return api(LIST, {"c": csp_ready, "f": flt, "first": first})["subscriptions"]

    assert ids(listed(None)["nodes"]) == {standard["id"], basic["id"]}
    assert ids(listed({"productId": M365_BUSINESS_BASIC})["nodes"]) == {basic["id"]}
    assert ids(listed({"status": "ACTIVE"})["nodes"]) == {standard["id"]}
    assert ids(listed({"status": "CANCELLED"})["nodes"]) == {basic["id"]}
    assert ids(listed({"renewalFrom": "2027-11-01", "renewalTo": "2027-11-30"})["nodes"]) == {standard["id"]}
    assert listed({"renewalFrom": "2028-01-01"})["nodes"] == []
    first_page = listed(None, first=1)
    assert len(first_page["nodes"]) == 1 and first_page["pageInfo"]["hasNextPage"]
    rest = api(LIST, {"c": csp_ready, "first": 5, "after": first_page["pageInfo"]["endCursor"]})["subscriptions"]
    assert ids(first_page["nodes"]) | ids(rest["nodes"]) == {standard["id"], basic["id"]}
    assert not rest["pageInfo"]["hasNextPage"]


def test_a_monthly_term_cannot_be_billed_annually(as_user, csp_ready):
    refused = order(as_user("nordit_sales"), csp_ready, term="P1M", billing="ANNUAL")
    assert refused["subscription"] is None
    assert refused["errors"][0]["field"] == "billing"


def test_customer_subscriptions_nested_follow_the_policy(as_user, demo, csp_ready):
    standard = order(as_user("nordit_sales"), csp_ready)["subscription"]

    assert ids(as_user("nordit_sales")(NESTED, {"c": csp_ready})["customer"]["subscriptions"]["nodes"]) == {standard["id"]}
    assert ids(as_user("kanzlei_office")(NESTED, {"c": csp_ready})["customer"]["subscriptions"]["nodes"]) == {standard["id"]}
    assert ids(as_user("distributor")(NESTED, {"c": csp_ready})["customer"]["subscriptions"]["nodes"]) == {standard["id"]}
    # Hanse's own subscription (demo) is visible to NordIT but Kanzlei never sees Hanse
    hanse = demo.customers["hanse"].id
    assert as_user("kanzlei_office")(NESTED, {"c": hanse})["customer"] is None
    assert ids(as_user("hanse_it")(NESTED, {"c": hanse})["customer"]["subscriptions"]["nodes"]) == {demo.subscriptions["hanse_standard"].id}
    # a report-only customer user sees the customer but none of its contracts
    assert as_user("hanse_staff")(NESTED, {"c": hanse})["customer"]["subscriptions"]["nodes"] == []


def test_nested_subscriptions_page_by_cursor(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    made = []
    for i in range(3):
        clock.now += timedelta(hours=1)
        made.append(order(api, csp_ready, quantity=1 + i)["subscription"]["id"])
    page = """query($c: ID!, $after: String) { customer(id: $c) { subscriptions(first: 2, after: $after) {
        nodes { id } pageInfo { hasNextPage endCursor } } } }"""
    first = api(page, {"c": csp_ready})["customer"]["subscriptions"]
    assert [n["id"] for n in first["nodes"]] == made[:2] and first["pageInfo"]["hasNextPage"]
    second = api(page, {"c": csp_ready, "after": first["pageInfo"]["endCursor"]})["customer"]["subscriptions"]
    assert [n["id"] for n in second["nodes"]] == made[2:] and not second["pageInfo"]["hasNextPage"]
    foreign = api.post(page, {"c": csp_ready, "after": "sub_notinthislist"}).json()
    assert foreign["errors"][0]["extensions"]["code"] == "INVALID_INPUT" and foreign["errors"][0]["extensions"]["field"] == "after"


GRANT = """mutation($c: ID!, $p: LicenceProgram!, $t: InstitutionType, $r: String) { customerEligibilityGrant(input: {customerId: $c,
  program: $p, institutionType: $t, microsoftReference: $r}) { customer { microsoftTenant { eligibility } } errors { code field message } } }"""


def test_education_is_granted_by_the_distributor_nurseries_never_non_profit_only_with_microsofts_reference(as_user, csp_ready):
    distributor = as_user("distributor")

    by_partner = as_user("nordit_admin")(GRANT, {"c": csp_ready, "p": "EDUCATION", "t": "SCHOOL"})["customerEligibilityGrant"]
    assert by_partner["errors"][0]["code"] == "FORBIDDEN"
    nursery = distributor(GRANT, {"c": csp_ready, "p": "EDUCATION", "t": "NURSERY_OR_PRE_SCHOOL"})["customerEligibilityGrant"]
    assert nursery["errors"][0]["field"] == "institutionType"
    non_profit = distributor(GRANT, {"c": csp_ready, "p": "NON_PROFIT"})["customerEligibilityGrant"]
    assert non_profit["errors"][0]["field"] == "microsoftReference"
    assert distributor(GRANT, {"c": csp_ready, "p": "EDUCATION", "t": "SCHOOL"})["customerEligibilityGrant"]["customer"][
        "microsoftTenant"]["eligibility"] == ["EDUCATION"]
    granted = distributor(GRANT, {"c": csp_ready, "p": "NON_PROFIT", "r": "MS-NP-2026-0042"})["customerEligibilityGrant"]
    assert granted["customer"]["microsoftTenant"]["eligibility"] == ["EDUCATION", "NON_PROFIT"]


SAAS = """mutation($input: SaasSubscriptionCreateInput!) { saasSubscriptionCreate(input: $input) {
  saasSubscription { id users status nextPaymentDate invitedEmail customerMayManageDesigns } errors { code field } } }"""


def test_a_reseller_saas_subscription_with_an_invitation_mails_the_customer_contact(as_user, services, demo):
    created = as_user("nordit_admin")(SAAS, {"input": {"productId": SIGNATURES_FOR_M365, "customerCompanyName": "Hanse Logistik GmbH",
        "users": 25, "customerId": demo.customers["hanse"].id, "inviteContactName": "Hannes IT", "inviteEmail": "it@hanse.example"}})
    sub = created["saasSubscriptionCreate"]["saasSubscription"]
    assert sub["users"] == 25 and sub["status"] == "ACTIVE"
    assert sub["nextPaymentDate"] == "2026-12-23"
    assert sub["customerMayManageDesigns"] is True
    [mail] = services.mailer.to("it@hanse.example")
    assert "Hannes IT" in mail.body and "Hanse Logistik GmbH" in mail.subject
    listed = as_user("nordit_admin")("{ saasSubscriptions { nodes { id } } }")["saasSubscriptions"]["nodes"]
    assert sub["id"] in ids(listed)
    assert as_user("suedcloud_admin")("{ saasSubscriptions { nodes { id } } }")["saasSubscriptions"]["nodes"] == []


def test_a_saas_subscription_refuses_a_csp_product_and_zero_users_and_writes_nothing(as_user, services):
    api = as_user("nordit_admin")
    wrong_product = api(SAAS, {"input": {"productId": M365_BUSINESS_STANDARD, "customerCompanyName": "X GmbH", "users": 5}})
    assert wrong_product["saasSubscriptionCreate"]["errors"][0]["field"] == "productId"
    zero = api(SAAS, {"input": {"productId": SIGNATURES_FOR_M365, "customerCompanyName": "X GmbH", "users": 0}})
    assert zero["saasSubscriptionCreate"]["errors"][0]["field"] == "users"
    bad_mail = api(SAAS, {"input": {"productId": SIGNATURES_FOR_M365, "customerCompanyName": "X GmbH", "users": 5,
                                    "inviteContactName": "A", "inviteEmail": "not-an-address"}})
    assert bad_mail["saasSubscriptionCreate"]["errors"][0]["field"] == "inviteEmail"
    assert api("{ saasSubscriptions { nodes { id } } }")["saasSubscriptions"]["nodes"] == []
    assert services.mailer.sent == []


def test_the_catalogue_prices_by_date_term_and_billing_with_monthly_terms_20_percent_above_annual(as_user):
    query = """{ products(category: MICROSOFT_365) { id addOnOf
      before: price(term: P1Y, billing: MONTHLY, on: "2023-03-31") { amount currency }
      after: price(term: P1Y, billing: MONTHLY, on: "2023-04-01") { amount }
      monthly: price(term: P1M, billing: MONTHLY, on: "2023-04-01") { amount } } }"""
    products = {p["id"]: p for p in as_user("hanse_it")(query)["products"]}
    standard = products[M365_BUSINESS_STANDARD]
    assert standard["before"] == {"amount": "10.50", "currency": "EUR"}
    assert standard["after"]["amount"] == "11.66"  # +11% from 2023-04-01
    assert standard["monthly"]["amount"] == "13.99"  # 11.66 * 1.2 = 13.992
