"""A refused CSP change names the field of the mutation's own input, so a portal can put the message next to it.

Hanse's demo subscription: Microsoft 365 Business Standard, 12 seats, annual term billed monthly, ordered 2026-11-23
09:00; its 168-hour window closed 2026-11-30 09:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.catalogue import M365_BUSINESS_BASIC

ERRORS = "errors { code field }"


def fields(result):
    return [(e["code"], e["field"]) for e in result["errors"]]


@pytest.fixture
def hanse(as_user, demo):
    return as_user("nordit_sales"), demo.subscriptions["hanse_standard"].id


def test_seat_reductions_name_seats(hanse, clock):
    api, sub_id = hanse
    reduce = f"""mutation($id: ID!, $seats: Int!) {{ subscriptionSeatsReduce(input: {{subscriptionId: $id, seats: $seats}}) {{ {ERRORS} }} }}"""
    assert fields(api(reduce, {"id": sub_id, "seats": 13})["subscriptionSeatsReduce"]) == [("INVALID_INPUT", "seats")]
    assert fields(api(reduce, {"id": sub_id, "seats": 12})["subscriptionSeatsReduce"]) == [("INVALID_INPUT", "seats")]
    clock.now += timedelta(days=10)
    assert fields(api(reduce, {"id": sub_id, "seats": 3})["subscriptionSeatsReduce"]) == [("CANCELLATION_WINDOW_CLOSED", "seats")]


def test_an_upgrade_names_to_product_id(hanse):
    api, sub_id = hanse
    upgrade = f"""mutation($id: ID!, $to: ID!) {{ subscriptionUpgrade(input: {{subscriptionId: $id, toProductId: $to}}) {{ {ERRORS} }} }}"""
    assert fields(api(upgrade, {"id": sub_id, "to": M365_BUSINESS_BASIC})["subscriptionUpgrade"]) == [("INVALID_INPUT", "toProductId")]
    assert fields(api(upgrade, {"id": sub_id, "to": "prd_nothing"})["subscriptionUpgrade"]) == [("NOT_FOUND", "toProductId")]


def test_a_renewal_change_names_its_own_fields(hanse):
    api, sub_id = hanse
    schedule = f"""mutation($id: ID!, $quantity: Int, $term: Term, $billing: Billing) {{ subscriptionRenewalChangeSchedule(
        input: {{subscriptionId: $id, quantity: $quantity, term: $term, billing: $billing}}) {{ {ERRORS} }} }}"""
    assert fields(api(schedule, {"id": sub_id, "quantity": 0})["subscriptionRenewalChangeSchedule"]) == [("INVALID_INPUT", "quantity")]
    assert fields(api(schedule, {"id": sub_id, "term": "P1M", "billing": "ANNUAL"})["subscriptionRenewalChangeSchedule"]) == [
        ("INVALID_INPUT", "billing")]
    assert fields(api(schedule, {"id": sub_id})["subscriptionRenewalChangeSchedule"]) == [("INVALID_INPUT", None)]
    api("""mutation($id: ID!) { subscriptionAutoRenewSet(input: {subscriptionId: $id, enabled: false}) { errors { code } } }""", {"id": sub_id})
    assert fields(api(schedule, {"id": sub_id, "quantity": 5})["subscriptionRenewalChangeSchedule"]) == [("CONFLICT", "subscriptionId")]


def test_a_hosted_desktop_refusal_names_hosted_desktop(hanse):
    api, sub_id = hanse
    hosted = f"""mutation($id: ID!) {{ subscriptionHostedDesktopSet(input: {{subscriptionId: $id, hostedDesktop: true}}) {{ {ERRORS} }} }}"""
    assert fields(api(hosted, {"id": sub_id})["subscriptionHostedDesktopSet"]) == [("NOT_ELIGIBLE", "hostedDesktop")]


def test_a_preview_names_the_fields_of_its_change_input(hanse, clock):
    api, sub_id = hanse
    clock.now += timedelta(days=10)
    preview = f"""query($id: ID!, $change: SubscriptionChangeInput!) {{ subscriptionPreview(subscriptionId: $id, change: $change) {{ {ERRORS} }} }}"""
    cases = [
        ({"kind": "REDUCE_SEATS", "seats": 3}, ("CANCELLATION_WINDOW_CLOSED", "change.seats")),
        ({"kind": "SET_QUANTITY", "quantity": 9}, ("CANCELLATION_WINDOW_CLOSED", "change.quantity")),
        ({"kind": "UPGRADE", "productId": M365_BUSINESS_BASIC}, ("INVALID_INPUT", "change.productId")),
        ({"kind": "SCHEDULE_FOR_RENEWAL", "quantity": 0}, ("INVALID_INPUT", "change.quantity")),
    ]
    for change, expected in cases:
        assert fields(api(preview, {"id": sub_id, "change": change})["subscriptionPreview"]) == [expected], change
