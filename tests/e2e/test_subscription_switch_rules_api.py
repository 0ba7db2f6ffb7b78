"""Switching a CSP subscription to another product through GraphQL, and reading it while a renewal is due.

* A product change scheduled for the renewal and an upgrade need what ordering the product needs (education
  eligibility, an add-on's base product); the preview answers the same; the renewal checks again and renews on the
  current product when the customer may no longer have the scheduled one.
* While a renewal is due but the job has not run, upgrades and hosted-desktop requests start from the product the
  renewal switches to, and reads show the new term.

Kanzlei (customer of NordIT) is CSP-ready at 2026-11-23 09:00 UTC. Prices from 2023-04-01 (annual term, monthly
billing): Business Basic EUR 5.66, Standard 11.66, Premium 20.65; a monthly term costs 20% more (Basic 6.79,
Standard 13.99, Premium 24.78). The education product added here costs EUR 2.50.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from domain.catalogue import (
    DEFENDER_FOR_OFFICE_365_P1,
    M365_BUSINESS_BASIC,
    M365_BUSINESS_PREMIUM,
    M365_BUSINESS_STANDARD,
    Billing,
    Term,
)
from domain.policy import Principal
from domain.services import subscriptions as subs
from tests.e2e.test_subscriptions_api import DETAIL, REDUCE, csp_ready, order  # noqa: F401  (fixture)
from tests.request_counter import count_requests
from tests.unit.test_subscription_switch_access import EDU_A3, education_catalogue

SCHEDULE = """mutation($id: ID!, $p: ID, $q: Int) { subscriptionRenewalChangeSchedule(input: {subscriptionId: $id, productId: $p,
  quantity: $q}) { subscription { scheduledChange { productId quantity } } errors { code field message hint } } }"""
UPGRADE = """mutation($id: ID!, $p: ID!, $seats: Int) { subscriptionUpgrade(input: {subscriptionId: $id, toProductId: $p, seats: $seats}) {
  subscription { quantity product { id } } newSubscription { quantity product { id } unitPrice { amount } }
  charges { kind amount { amount } } errors { code field message hint } } }"""
PREVIEW = """query($id: ID!, $change: SubscriptionChangeInput!) { subscriptionPreview(subscriptionId: $id, change: $change) {
  allowed errors { code field } amount { amount } } }"""
HOSTED_DESKTOP = """mutation($id: ID!) { subscriptionHostedDesktopSet(input: {subscriptionId: $id, hostedDesktop: true}) {
  subscription { hostedDesktop product { id } } errors { code field message } } }"""
INCREASE = """mutation($id: ID!, $seats: Int!) { subscriptionSeatsIncrease(input: {subscriptionId: $id, seats: $seats}) {
  subscription { quantity product { id } unitPrice { amount } history { kind at details { key value } } } errors { code } } }"""
GRANT_EDUCATION = """mutation($c: ID!) { customerEligibilityGrant(input: {customerId: $c, program: EDUCATION, institutionType: SCHOOL}) {
  errors { code } } }"""
HISTORY = """query($id: ID!) { subscription(id: $id) { product { id } quantity unitPrice { amount } termEndsAt scheduledChange { productId }
  history { kind at details { key value } } } }"""
LIST = """query($c: ID!) { subscriptions(customerId: $c, first: 50) { nodes { id reducibleSeats termEndsAt unitPrice { amount } } } }"""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)




@pytest.fixture
def edu_catalogue(services):
    """The demo catalogue plus Microsoft 365 A3 (education), EUR 2.50, an upgrade of Business Basic."""
    uow = services.uow()
    with uow:
        uow.catalogue.get()
        uow.catalogue.save(education_catalogue())
        uow.commit()


def grant_education(as_user, customer_id):
    assert as_user("distributor")(GRANT_EDUCATION, {"c": customer_id})["customerEligibilityGrant"]["errors"] == []


def revoke_eligibility(services, customer_id):
    """Microsoft withdrew the status (no operation of ours does this): the customer's grants are gone."""
    uow = services.uow()
    with uow:
        customer = uow.organisations.get(customer_id)
        uow.organisations.update(replace(customer, microsoft=replace(customer.microsoft, eligibility=())))
        uow.commit()


def kinds(history):
    return [event["kind"] for event in history]


# --- scheduling a switch, upgrading ------------------------------------------------------------


def test_a_switch_to_an_education_product_scheduled_for_the_renewal_needs_the_education_eligibility(as_user, csp_ready, edu_catalogue):
    api = as_user("nordit_sales")
    sub = order(api, csp_ready, product=M365_BUSINESS_BASIC)["subscription"]
    refused = api(SCHEDULE, {"id": sub["id"], "p": EDU_A3})["subscriptionRenewalChangeSchedule"]
    assert refused["subscription"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("PRECONDITION_FAILED", "customer.eligibility")]
    assert "Request the education status" in refused["errors"][0]["hint"]
    assert "Otherwise schedule another product" in refused["errors"][0]["hint"]
    preview = api(PREVIEW, {"id": sub["id"], "change": {"kind": "SCHEDULE_FOR_RENEWAL", "productId": EDU_A3}})["subscriptionPreview"]
    assert (preview["allowed"], preview["errors"]) == (False, [{"code": "PRECONDITION_FAILED", "field": "customer.eligibility"}])
    assert api(DETAIL, {"id": sub["id"]})["subscription"]["scheduledChange"] is None

    grant_education(as_user, csp_ready)
    scheduled = api(SCHEDULE, {"id": sub["id"], "p": EDU_A3})["subscriptionRenewalChangeSchedule"]
    assert scheduled == {"subscription": {"scheduledChange": {"productId": EDU_A3, "quantity": None}}, "errors": []}


def test_an_upgrade_to_an_education_product_needs_the_education_eligibility(as_user, csp_ready, edu_catalogue):
    api = as_user("nordit_sales")
    sub = order(api, csp_ready, product=M365_BUSINESS_BASIC, quantity=10)["subscription"]
    refused = api(UPGRADE, {"id": sub["id"], "p": EDU_A3, "seats": 3})["subscriptionUpgrade"]
    assert (refused["newSubscription"], refused["charges"]) == (None, [])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("PRECONDITION_FAILED", "customer.eligibility")]
    assert "Otherwise upgrade to another product" in refused["errors"][0]["hint"]
    preview = api(PREVIEW, {"id": sub["id"], "change": {"kind": "UPGRADE", "productId": EDU_A3, "seats": 3}})["subscriptionPreview"]
    assert (preview["allowed"], preview["errors"]) == (False, [{"code": "PRECONDITION_FAILED", "field": "customer.eligibility"}])
    assert api(DETAIL, {"id": sub["id"]})["subscription"]["quantity"] == 10

    grant_education(as_user, csp_ready)
    upgraded = api(UPGRADE, {"id": sub["id"], "p": EDU_A3, "seats": 3})["subscriptionUpgrade"]
    # 2026-11-23, the first day of the cycle to 2026-12-23 (30 of 30 days): 3 × 5.66 credited, 3 × 2.50 charged
    assert upgraded["newSubscription"] == {"quantity": 3, "product": {"id": EDU_A3}, "unitPrice": {"amount": "2.50"}}
    assert [(c["kind"], c["amount"]["amount"]) for c in upgraded["charges"]] == [("CREDIT", "-16.98"), ("PRORATA_INCREASE", "7.50")]


def test_a_switch_to_an_add_on_needs_another_active_subscription_of_its_base_product(as_user, csp_ready):
    api = as_user("nordit_sales")
    basic = order(api, csp_ready, product=M365_BUSINESS_BASIC)["subscription"]
    refused = api(SCHEDULE, {"id": basic["id"], "p": DEFENDER_FOR_OFFICE_365_P1})["subscriptionRenewalChangeSchedule"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "productId")]
    assert "Order the base product (prd_m365_business_standard) first." in refused["errors"][0]["hint"]

    standard = order(api, csp_ready, product=M365_BUSINESS_STANDARD)["subscription"]
    accepted = api(SCHEDULE, {"id": basic["id"], "p": DEFENDER_FOR_OFFICE_365_P1})["subscriptionRenewalChangeSchedule"]
    assert accepted["errors"] == [] and accepted["subscription"]["scheduledChange"]["productId"] == DEFENDER_FOR_OFFICE_365_P1
    # the only Standard subscription cannot become the add-on: after the renewal the customer would hold no base
    own = api(SCHEDULE, {"id": standard["id"], "p": DEFENDER_FOR_OFFICE_365_P1})["subscriptionRenewalChangeSchedule"]
    assert [e["field"] for e in own["errors"]] == ["productId"]


def test_the_base_product_of_an_add_on_counts_after_the_customers_first_100_subscriptions(as_user, demo, services, csp_ready, clock):
    sales = Principal.of(demo.users["nordit_sales"])
    basic = subs.SubscriptionOrder(csp_ready, M365_BUSINESS_BASIC, Term.P1M, Billing.MONTHLY, quantity=1)
    for _ in range(100):
        subs.order_subscription(services.uow(), sales, basic, now=clock.now)
    standard = subs.SubscriptionOrder(csp_ready, M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY, quantity=5)
    subs.order_subscription(services.uow(), sales, standard, now=clock.now + timedelta(hours=1))  # the customer's 101st
    clock.now += timedelta(hours=2)
    ordered = order(as_user("nordit_sales"), csp_ready, product=DEFENDER_FOR_OFFICE_365_P1, quantity=5)
    assert ordered["errors"] == [] and ordered["subscription"]["quantity"] == 5


# --- the renewal checks a scheduled switch again -------------------------------------------------


def schedule_education_switch(as_user, services, customer_id, *, revoke: bool):
    """Basic, 10 seats, annual term from 2026-11-23 09:00 UTC (renews 2027-11-23 09:00); switch to the education product
    with 12 seats scheduled while the customer had the eligibility; then (if ``revoke``) the eligibility is revoked."""
    api = as_user("nordit_sales")
    sub = order(api, customer_id, product=M365_BUSINESS_BASIC, quantity=10)["subscription"]
    grant_education(as_user, customer_id)
    assert api(SCHEDULE, {"id": sub["id"], "p": EDU_A3, "q": 12})["subscriptionRenewalChangeSchedule"]["errors"] == []
    if revoke:
        revoke_eligibility(services, customer_id)
    return api, sub["id"]


def details(event) -> dict:
    return {kv["key"]: kv["value"] for kv in event["details"]}


def test_the_renewal_job_drops_a_switch_whose_eligibility_was_revoked_and_renews_on_the_current_product(
    as_user, services, csp_ready, edu_catalogue,
):
    api, sub_id = schedule_education_switch(as_user, services, csp_ready, revoke=True)
    summary = subs.renew_due_subscriptions(services.uow, run_date=date(2027, 11, 23), now=utc("2027-11-23T22:30:00"))
    shown = api(HISTORY, {"id": sub_id})["subscription"]
    assert (shown["product"]["id"], shown["quantity"], shown["unitPrice"]["amount"]) == (M365_BUSINESS_BASIC, 12, "5.66")
    assert summary.as_dict()["product_switches_dropped"] == [sub_id]
    assert (shown["termEndsAt"], shown["scheduledChange"]) == ("2028-11-23T09:00:00+00:00", None)
    assert kinds(shown["history"])[-2:] == ["SCHEDULED_PRODUCT_SWITCH_DROPPED", "RENEWED"]
    dropped = details(shown["history"][-2])
    assert shown["history"][-2]["at"] == "2027-11-23T09:00:00+00:00"
    assert (dropped["dropped_product_id"], dropped["scheduled_quantity"]) == (EDU_A3, "12")
    assert "no education eligibility" in dropped["reason"]


def test_the_renewal_job_applies_a_switch_the_customer_may_still_have(as_user, services, csp_ready, edu_catalogue):
    api, sub_id = schedule_education_switch(as_user, services, csp_ready, revoke=False)
    summary = subs.renew_due_subscriptions(services.uow, run_date=date(2027, 11, 23), now=utc("2027-11-23T22:30:00"))
    assert summary.as_dict()["product_switches_dropped"] == []
    shown = api(HISTORY, {"id": sub_id})["subscription"]
    assert (shown["product"]["id"], shown["quantity"], shown["unitPrice"]["amount"]) == (EDU_A3, 12, "2.50")
    assert kinds(shown["history"])[-1] == "RENEWED"


def test_a_change_while_the_renewal_is_due_drops_a_switch_whose_eligibility_was_revoked(
    as_user, services, csp_ready, edu_catalogue, clock,
):
    api, sub_id = schedule_education_switch(as_user, services, csp_ready, revoke=True)
    clock.now = utc("2027-11-23T11:00:00")  # two hours after the term end; the job has not run
    changed = api(INCREASE, {"id": sub_id, "seats": 1})["subscriptionSeatsIncrease"]
    assert changed["errors"] == []
    sub = changed["subscription"]
    assert (sub["product"]["id"], sub["quantity"], sub["unitPrice"]["amount"]) == (M365_BUSINESS_BASIC, 13, "5.66")
    assert kinds(sub["history"])[-3:] == ["SCHEDULED_PRODUCT_SWITCH_DROPPED", "RENEWED", "SEATS_ADDED"]


# --- while a renewal is due but not yet processed ------------------------------------------------


def test_an_upgrade_while_the_renewal_is_due_starts_from_the_product_the_renewal_switches_to(as_user, csp_ready, clock):
    api = as_user("nordit_sales")
    sub = order(api, csp_ready, product=M365_BUSINESS_BASIC, term="P1M")["subscription"]  # 10 seats, renews 2026-12-23 09:00
    assert api(SCHEDULE, {"id": sub["id"], "p": M365_BUSINESS_STANDARD})["subscriptionRenewalChangeSchedule"]["errors"] == []
    clock.now = utc("2026-12-23T11:00:00")  # the job has not run
    change = {"kind": "UPGRADE", "productId": M365_BUSINESS_PREMIUM}
    preview = api(PREVIEW, {"id": sub["id"], "change": change})["subscriptionPreview"]
    # renewed as Standard at 13.99 for 2026-12-23..2027-01-23; all 31 days: 10 × (24.78 - 13.99) = 107.90
    assert (preview["allowed"], preview["amount"]) == (True, {"amount": "107.90"})
    upgraded = api(UPGRADE, {"id": sub["id"], "p": M365_BUSINESS_PREMIUM})["subscriptionUpgrade"]
    assert upgraded["errors"] == []
    assert upgraded["subscription"] == {"quantity": 0, "product": {"id": M365_BUSINESS_STANDARD}}
    assert upgraded["newSubscription"] == {"quantity": 10, "product": {"id": M365_BUSINESS_PREMIUM}, "unitPrice": {"amount": "24.78"}}
    assert [(c["kind"], c["amount"]["amount"]) for c in upgraded["charges"]] == [
        ("RECURRING", "139.90"), ("CREDIT", "-139.90"), ("PRORATA_INCREASE", "247.80"),
    ]


def test_a_hosted_desktop_while_the_renewal_is_due_is_checked_against_the_product_the_renewal_switches_to(as_user, csp_ready, clock):
    api = as_user("nordit_sales")
    to_premium = order(api, csp_ready, product=M365_BUSINESS_STANDARD, term="P1M")["subscription"]
    to_standard = order(api, csp_ready, product=M365_BUSINESS_PREMIUM, term="P1M")["subscription"]
    api(SCHEDULE, {"id": to_premium["id"], "p": M365_BUSINESS_PREMIUM})
    api(SCHEDULE, {"id": to_standard["id"], "p": M365_BUSINESS_STANDARD})
    clock.now = utc("2026-12-23T11:00:00")
    assigned = api(HOSTED_DESKTOP, {"id": to_premium["id"]})["subscriptionHostedDesktopSet"]
    assert assigned == {"subscription": {"hostedDesktop": True, "product": {"id": M365_BUSINESS_PREMIUM}}, "errors": []}
    refused = api(HOSTED_DESKTOP, {"id": to_standard["id"]})["subscriptionHostedDesktopSet"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ELIGIBLE", "hostedDesktop")]
    assert refused["errors"][0]["message"].startswith("Microsoft 365 Business Standard does not include the right")


def test_reads_while_the_renewal_is_due_show_the_new_term_at_no_extra_request(as_user, services, csp_ready, clock):
    api = as_user("nordit_sales")
    sub = order(api, csp_ready, product=M365_BUSINESS_BASIC, term="P1M")["subscription"]  # 10 seats at 6.79, renews 2026-12-23 09:00
    clock.now = utc("2026-12-22T09:00:00")
    with count_requests() as before:
        api(DETAIL, {"id": sub["id"]})
    clock.now = utc("2026-12-23T11:00:00")  # the job has not run
    with count_requests() as due:
        shown = api(DETAIL, {"id": sub["id"]})["subscription"]
    assert (shown["reducibleSeats"], shown["nextWindowOpensAt"], shown["termEndsAt"]) == (
        10, "2027-01-23T09:00:00+00:00", "2027-01-23T09:00:00+00:00")
    assert shown["seatLots"] == [{"quantity": 10, "addedAt": "2026-12-23T09:00:00+00:00",
                                  "cancellationWindowClosesAt": "2026-12-30T09:00:00+00:00", "windowOpen": True}]
    assert (shown["unitPrice"], kinds(shown["history"])[-1]) == ({"amount": "6.79"}, "RENEWED")
    assert due.operations == before.operations
    listed = api(LIST, {"c": csp_ready})["subscriptions"]["nodes"]
    assert [(n["reducibleSeats"], n["termEndsAt"]) for n in listed if n["id"] == sub["id"]] == [(10, "2027-01-23T09:00:00+00:00")]
    assert services.uow().subscriptions.get(sub["id"]).term_index == 0  # a read writes nothing
    # what the read shows is what a change meets: the reduction inside the new window is credited
    assert api(REDUCE, {"id": sub["id"], "seats": 2})["subscriptionSeatsReduce"]["errors"] == []
