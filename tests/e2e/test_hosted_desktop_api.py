"""Hosted desktop through GraphQL: only Microsoft 365 plans whose licence terms carry the right run on a terminal server.
Demo catalogue: Business Premium and Office 365 E3 carry it; Business Standard does not."""

from __future__ import annotations

from datetime import datetime, timezone

from domain.catalogue import M365_BUSINESS_PREMIUM, M365_BUSINESS_STANDARD
from tests.e2e.test_subscriptions_api import ORDER, csp_ready  # noqa: F401 (csp_ready: fixture)

SET = """mutation($id: ID!, $on: Boolean!) { subscriptionHostedDesktopSet(input: {subscriptionId: $id, hostedDesktop: $on}) {
  subscription { hostedDesktop history { kind } } errors { code field message hint } } }"""
SCHEDULE = """mutation($id: ID!, $product: ID!) { subscriptionRenewalChangeSchedule(input: {subscriptionId: $id, productId: $product}) {
  errors { code field message } } }"""
PREVIEW = """query($id: ID!) { subscriptionPreview(subscriptionId: $id, change: {kind: SET_HOSTED_DESKTOP, hostedDesktop: true}) {
  allowed errors { code field } } }"""


def order(api, customer_id, product, hosted):
    return api(ORDER.replace("status seatLots", "status hostedDesktop seatLots"),
               {"input": {"customerId": customer_id, "productId": product, "term": "P1Y", "billing": "MONTHLY", "quantity": 5,
                          "hostedDesktop": hosted}})["subscriptionOrder"]


def test_only_a_plan_with_the_right_is_ordered_or_assigned_for_a_hosted_desktop(as_user, clock, csp_ready):
    api = as_user("nordit_sales")
    clock.now = datetime(2024, 3, 4, 10, tzinfo=timezone.utc)
    refused = order(api, csp_ready, M365_BUSINESS_STANDARD, True)
    assert refused["subscription"] is None and (refused["errors"][0]["code"], refused["errors"][0]["field"]) == ("NOT_ELIGIBLE", "productId")
    assert "Business Premium" in refused["errors"][0]["hint"]
    premium = order(api, csp_ready, M365_BUSINESS_PREMIUM, True)
    assert premium["errors"] == [] and premium["subscription"]["hostedDesktop"] is True

    standard = order(api, csp_ready, M365_BUSINESS_STANDARD, False)["subscription"]
    assert api(PREVIEW, {"id": standard["id"]})["subscriptionPreview"] == {"allowed": False, "errors": [{"code": "NOT_ELIGIBLE", "field": "change.hostedDesktop"}]}
    not_allowed = api(SET, {"id": standard["id"], "on": True})["subscriptionHostedDesktopSet"]
    assert not_allowed["errors"][0]["code"] == "NOT_ELIGIBLE" and not_allowed["subscription"] is None
    # A hosted Premium subscription cannot be scheduled to switch to Standard; taken off the desktop, it can.
    switch = api(SCHEDULE, {"id": premium["subscription"]["id"], "product": M365_BUSINESS_STANDARD})["subscriptionRenewalChangeSchedule"]
    assert [(e["code"], e["field"]) for e in switch["errors"]] == [("NOT_ELIGIBLE", "productId")]
    off = api(SET, {"id": premium["subscription"]["id"], "on": False})["subscriptionHostedDesktopSet"]
    assert off["errors"] == [] and off["subscription"]["hostedDesktop"] is False
    assert off["subscription"]["history"][-1]["kind"] == "HOSTED_DESKTOP_CHANGED"
    assert api(SCHEDULE, {"id": premium["subscription"]["id"], "product": M365_BUSINESS_STANDARD})["subscriptionRenewalChangeSchedule"]["errors"] == []
    # With that switch scheduled, assigning the desktop again is refused: the plan after the renewal lacks the right.
    again = api(SET, {"id": premium["subscription"]["id"], "on": True})["subscriptionHostedDesktopSet"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_ELIGIBLE", "hostedDesktop")]


def test_customers_cannot_assign_a_hosted_desktop(as_user, clock, csp_ready):
    clock.now = datetime(2024, 3, 4, 10, tzinfo=timezone.utc)
    premium = order(as_user("nordit_sales"), csp_ready, M365_BUSINESS_PREMIUM, False)["subscription"]
    refused = as_user("kanzlei_office")(SET, {"id": premium["id"], "on": True})["subscriptionHostedDesktopSet"]
    assert refused["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND") and refused["subscription"] is None
