"""Refusal hints a reseller portal shows: each names an operation that is accepted when the user follows it."""

from __future__ import annotations

from datetime import timedelta

from domain.catalogue import M365_BUSINESS_BASIC

REDUCE = """mutation($id: ID!, $seats: Int!) { subscriptionSeatsReduce(input: {subscriptionId: $id, seats: $seats}) {
  errors { code hint } } }"""
CANCEL = """mutation($id: ID!) { subscriptionCancel(input: {subscriptionId: $id}) { errors { code hint } window { alternatives } } }"""
AUTO_RENEW_OFF = """mutation($id: ID!) { subscriptionAutoRenewSet(input: {subscriptionId: $id, enabled: false}) {
  subscription { autoRenew nextRenewalAt } errors { code } } }"""
UPGRADE = """mutation($id: ID!, $to: ID!) { subscriptionUpgrade(input: {subscriptionId: $id, toProductId: $to}) { errors { code hint } } }"""
SCHEDULE = """mutation($id: ID!, $product: ID) { subscriptionRenewalChangeSchedule(input: {subscriptionId: $id, productId: $product}) {
  subscription { scheduledChange { productId } } errors { code } } }"""
MS_IDS = """mutation($p: ID!, $mpn: String!) { partnerMicrosoftIdsSet(input: {partnerId: $p, microsoftPartnerNetworkId: $mpn,
  microsoftId: "ms-1"}) { errors { code message hint } } }"""


def test_removing_every_seat_after_the_window_points_to_auto_renew_which_is_accepted(as_user, demo, clock):
    """Hanse's 12 seats were bought 2026-11-23 09:00; on 2026-12-03 every window is closed."""
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    clock.now += timedelta(days=10)
    hint = api(REDUCE, {"id": sub_id, "seats": 12})["subscriptionSeatsReduce"]["errors"][0]["hint"]
    assert "subscriptionCancel" not in hint and "subscriptionAutoRenewSet" in hint
    cancel = api(CANCEL, {"id": sub_id})["subscriptionCancel"]
    assert cancel["errors"][0]["code"] == "CANCELLATION_WINDOW_CLOSED" and "Schedule the change" not in cancel["errors"][0]["hint"]
    assert not any("Schedule the change" in a for a in cancel["window"]["alternatives"])
    assert api(AUTO_RENEW_OFF, {"id": sub_id})["subscriptionAutoRenewSet"] == {
        "subscription": {"autoRenew": False, "nextRenewalAt": None}, "errors": []}


def test_a_downgrade_offers_the_switch_at_the_renewal_which_is_accepted(as_user, demo):
    api, sub_id = as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id
    refused = api(UPGRADE, {"id": sub_id, "to": M365_BUSINESS_BASIC})["subscriptionUpgrade"]["errors"][0]
    assert "subscriptionRenewalChangeSchedule with productId prd_m365_business_basic" in refused["hint"]
    scheduled = api(SCHEDULE, {"id": sub_id, "product": M365_BUSINESS_BASIC})["subscriptionRenewalChangeSchedule"]
    assert scheduled == {"subscription": {"scheduledChange": {"productId": M365_BUSINESS_BASIC}}, "errors": []}


def test_a_partner_admin_changing_its_microsoft_ids_is_sent_to_the_distributor(as_user, demo):
    partner_id = demo.partners["suedcloud"].id
    admin = as_user("suedcloud_admin")
    assert admin(MS_IDS, {"p": partner_id, "mpn": "1234567"})["partnerMicrosoftIdsSet"]["errors"] == []
    refused = admin(MS_IDS, {"p": partner_id, "mpn": "7654321"})["partnerMicrosoftIdsSet"]["errors"]
    assert [e["code"] for e in refused] == ["FORBIDDEN"]
    assert "distributor" in refused[0]["hint"] and "administrator of your organisation" not in refused[0]["hint"]
    assert as_user("distributor")(MS_IDS, {"p": partner_id, "mpn": "7654321"})["partnerMicrosoftIdsSet"]["errors"] == []
