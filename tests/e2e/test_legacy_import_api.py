"""legacySubscriptionImport through GraphQL: the distributor takes over Hanse's legacy Office 365 E3 (20 seats, annual
term billed upfront, started 2021-11-21 10:00 UTC) on 2026-11-23 09:00, two days into the term 2026-11-21 to
2027-11-21 that the previous provider billed. Prices: EUR 262.40 per seat and year (the demo list price of 236.40 + 11%
from 2023-04-01), +10% from 2027-04-01 (288.64), announced by the distributor before the import.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.catalogue import M365_BUSINESS_STANDARD, O365_E3_LEGACY
from domain.services.subscriptions import renew_due_subscriptions

UTC = timezone.utc

IMPORT = """mutation($input: LegacySubscriptionImportInput!, $key: String) { legacySubscriptionImport(input: $input, idempotencyKey: $key) {
  subscription { id customerId partnerId productId quantity status unitPrice { amount } termStartedAt termEndsAt nextRenewalAt
                 reducibleSeats seatLots { quantity windowOpen } }
  charges { kind } errors { code field message hint } } }"""

DETAIL = """query($id: ID!) { subscription(id: $id) { id quantity unitPrice { amount } termEndsAt reducibleSeats nextWindowOpensAt
  priceAfterNextRenewal { amount } product { kind } history { kind details { key value } } } }"""

REDUCE = """mutation($id: ID!) { subscriptionSeatsReduce(input: {subscriptionId: $id, seats: 5}) {
  charges { kind } window { nextWindowOpensAt reducibleSeatsNow } errors { code } } }"""
CANCEL = """mutation($id: ID!) { subscriptionCancel(input: {subscriptionId: $id}) { charges { kind } errors { code } } }"""


@pytest.fixture
def hanse(demo):
    """Hanse (tenant and agreement on file) and NordIT (its partner, Microsoft IDs on file)."""
    return demo.customers["hanse"].id, demo.partners["nordit"].id


def legacy(hanse, **changes) -> dict:
    customer_id, partner_id = hanse
    return {"customerId": customer_id, "partnerId": partner_id, "productId": O365_E3_LEGACY, "term": "P1Y", "billing": "ANNUAL",
            "quantity": 20, "startedAt": "2021-11-21T10:00:00Z", "renewsOn": "2027-11-21", "chargedThrough": "2027-11-21",
            "previousSubscriptionId": "LEG-7F3A-0001", **changes}


def imported(api, hanse, key=None, **changes) -> dict:
    return api(IMPORT, {"input": legacy(hanse, **changes), "key": key})["legacySubscriptionImport"]


def subscription_ids(services, customer_id) -> list[str]:
    from domain.ports import SubscriptionFilter

    page = services.uow().subscriptions.list_for_customer(customer_id, SubscriptionFilter(), limit=100, cursor=None)
    return sorted(s.id for s in page.items)


@pytest.fixture
def announced(as_user):
    changed = as_user("distributor")("""mutation { priceChangeSchedule(input: {currency: "EUR", percent: "10", effectiveFrom: "2027-04-01"}) {
        errors { code } } }""")["priceChangeSchedule"]
    assert changed["errors"] == []


def test_an_imported_legacy_subscription_is_read_refuses_a_credit_and_renews_on_its_own_date_at_the_new_price(
        as_user, hanse, services, clock, announced):
    ops, sales = as_user("distributor"), as_user("nordit_sales")
    result = imported(ops, hanse, key="takeover-hanse-1")
    assert result["errors"] == [] and result["charges"] == []
    sub = result["subscription"]
    assert {k: sub[k] for k in ("customerId", "partnerId", "productId", "quantity", "status", "unitPrice", "termStartedAt", "termEndsAt",
                                "nextRenewalAt", "reducibleSeats", "seatLots")} == {
        "customerId": hanse[0], "partnerId": hanse[1], "productId": O365_E3_LEGACY, "quantity": 20, "status": "ACTIVE",
        "unitPrice": {"amount": "262.40"}, "termStartedAt": "2026-11-21T10:00:00+00:00",
        "termEndsAt": "2027-11-21T10:00:00+00:00", "nextRenewalAt": "2027-11-21T10:00:00+00:00", "reducibleSeats": 0,
        "seatLots": [{"quantity": 20, "windowOpen": False}],
    }

    # The selling partner and the customer read it; the import is in its history with the previous provider's id.
    for reader in (sales, as_user("hanse_it")):
        shown = reader(DETAIL, {"id": sub["id"]})["subscription"]
        assert (shown["product"]["kind"], shown["priceAfterNextRenewal"], shown["nextWindowOpensAt"]) == (
            "CSP_LEGACY", {"amount": "288.64"}, "2027-11-21T10:00:00+00:00")
        (event,) = shown["history"]
        details = {d["key"]: d["value"] for d in event["details"]}
        assert (event["kind"], details["previous_subscription_id"], details["previous_provider_billed_through"]) == (
            "IMPORTED", "LEG-7F3A-0001", "2027-11-21")

    # Two days into a term billed elsewhere: no reduction, no cancellation, so no credit (before: −1,172.28 and more).
    clock.now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    reduced = sales(REDUCE, {"id": sub["id"]})["subscriptionSeatsReduce"]
    assert reduced["errors"] == [{"code": "CANCELLATION_WINDOW_CLOSED"}] and reduced["charges"] == []
    assert reduced["window"] == {"nextWindowOpensAt": "2027-11-21T10:00:00+00:00", "reducibleSeatsNow": 0}
    assert sales(CANCEL, {"id": sub["id"]})["subscriptionCancel"]["errors"] == [{"code": "CANCELLATION_WINDOW_CLOSED"}]
    assert services.uow().charges.list_for_subscription(sub["id"]).items == []

    # The renewal job: nothing the day before; on its own renewal date the new term at the price list's price then.
    assert renew_due_subscriptions(services.uow, run_date=date(2027, 11, 20), now=datetime(2027, 11, 20, 22, 30, tzinfo=UTC)).renewed == 0
    assert services.uow().charges.list_for_subscription(sub["id"]).items == []
    summary = renew_due_subscriptions(services.uow, run_date=date(2027, 11, 21), now=datetime(2027, 11, 21, 22, 30, tzinfo=UTC))
    assert summary.renewed == 1 and summary.failed == ()
    charges = services.uow().charges.list_for_subscription(sub["id"]).items
    assert [(c.kind.value, c.period_start, c.period_end, c.quantity, str(c.amount.amount)) for c in charges] == [
        ("RECURRING", date(2027, 11, 21), date(2028, 11, 21), 20, "5772.80")]  # 20 × 288.64
    clock.now = datetime(2027, 11, 22, 9, tzinfo=UTC)
    renewed = sales(DETAIL, {"id": sub["id"]})["subscription"]
    assert (renewed["unitPrice"], renewed["termEndsAt"], renewed["reducibleSeats"]) == (
        {"amount": "288.64"}, "2028-11-21T10:00:00+00:00", 20)  # the renewal opened the window for every seat


def test_a_retry_with_the_same_key_imports_once_and_the_same_previous_subscription_is_not_imported_twice(as_user, hanse, services):
    ops = as_user("distributor")
    first = imported(ops, hanse, key="takeover-hanse-1")["subscription"]["id"]
    again = imported(ops, hanse, key="takeover-hanse-1")
    assert again["errors"] == [] and again["subscription"]["id"] == first and again["charges"] == []
    other_input = imported(ops, hanse, key="takeover-hanse-1", quantity=21)
    assert [(e["code"], e["field"]) for e in other_input["errors"]] == [("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")]
    twice = imported(ops, hanse, key="takeover-hanse-2")
    assert [(e["code"], e["field"]) for e in twice["errors"]] == [("ALREADY_EXISTS", "previousSubscriptionId")]
    assert first in twice["errors"][0]["hint"]
    legacy_ids = [i for i in subscription_ids(services, hanse[0]) if services.uow().subscriptions.get(i).product_id == O365_E3_LEGACY]
    assert legacy_ids == [first]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"productId": M365_BUSINESS_STANDARD}, [("INVALID_INPUT", "productId")]),
    ({"productId": "prd_nothing"}, [("NOT_FOUND", "productId")]),
    ({"customerId": "cus_nothing"}, [("NOT_FOUND", "customerId")]),
    ({"renewsOn": "2027-11-22"}, [("INVALID_INPUT", "renewsOn")]),
    ({"chargedThrough": "2026-11-21"}, [("INVALID_INPUT", "chargedThrough")]),
    ({"startedAt": "2022-03-10T10:00:00Z", "renewsOn": "2027-03-10", "chargedThrough": "2027-03-10"}, [("INVALID_INPUT", "startedAt")]),
    ({"startedAt": "2021-11-21T10:00:00"}, [("INVALID_INPUT", "startedAt")]),
    ({"startedAt": "2027-01-01T10:00:00Z"}, [("INVALID_INPUT", "startedAt")]),
    ({"quantity": 0}, [("INVALID_INPUT", "quantity")]),
    ({"term": "P1M"}, [("INVALID_INPUT", "billing")]),
    ({"previousSubscriptionId": " "}, [("INVALID_INPUT", "previousSubscriptionId")]),
])
def test_a_refused_import_names_its_field_and_writes_nothing(as_user, hanse, services, demo, changes, expected):
    before = subscription_ids(services, hanse[0])
    result = imported(as_user("distributor"), hanse, **changes)
    assert result["subscription"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == expected
    assert all(e["message"] for e in result["errors"])
    assert subscription_ids(services, hanse[0]) == before


def test_an_import_needs_a_partner_of_the_customer_and_what_an_order_needs(as_user, hanse, demo, services):
    ops = as_user("distributor")
    foreign_partner = imported(ops, hanse, partnerId=demo.partners["suedcloud"].id)
    assert [(e["code"], e["field"]) for e in foreign_partner["errors"]] == [("INVALID_INPUT", "partnerId")]
    alpen = imported(ops, (demo.customers["alpen"].id, demo.partners["suedcloud"].id))  # no tenant, agreement, Microsoft IDs
    assert {(e["code"], e["field"]) for e in alpen["errors"]} == {
        ("PRECONDITION_FAILED", "partner.microsoftPartnerNetworkId"), ("PRECONDITION_FAILED", "partner.microsoftId"),
        ("PRECONDITION_FAILED", "customer.tenant"), ("PRECONDITION_FAILED", "customer.microsoftCustomerAgreement"),
    }
    assert all(e["hint"] for e in alpen["errors"]) and subscription_ids(services, demo.customers["alpen"].id) == []


@pytest.mark.parametrize("actor", ["nordit_admin", "nordit_sales", "hanse_it"])
def test_only_the_distributor_imports(as_user, hanse, services, actor):
    before = subscription_ids(services, hanse[0])
    result = imported(as_user(actor), hanse, key="takeover-hanse-1")
    assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"] and result["subscription"] is None
    assert subscription_ids(services, hanse[0]) == before


def test_a_monthly_billed_import_is_first_billed_by_the_job_for_the_month_after_the_one_billed_elsewhere(as_user, hanse, services):
    result = imported(as_user("distributor"), hanse, billing="MONTHLY", chargedThrough="2026-12-21")
    assert result["errors"] == [] and result["subscription"]["unitPrice"] == {"amount": "21.87"}
    sub_id = result["subscription"]["id"]
    renew_due_subscriptions(services.uow, run_date=date(2026, 11, 23), now=datetime(2026, 11, 23, 22, 30, tzinfo=UTC))
    assert services.uow().charges.list_for_subscription(sub_id).items == []
    renew_due_subscriptions(services.uow, run_date=date(2026, 12, 21), now=datetime(2026, 12, 21, 22, 30, tzinfo=UTC))
    charges = services.uow().charges.list_for_subscription(sub_id).items
    assert [(c.period_start, c.period_end, str(c.amount.amount)) for c in charges] == [
        (date(2026, 12, 21), date(2027, 1, 21), "437.40")]  # 20 × 21.87


def test_a_previous_subscription_imported_once_is_refused_again_when_its_import_is_no_longer_active(as_user, hanse, services):
    """Imported, then cancelled by the distributor: the duplicate check among active subscriptions no longer finds it,
    the claim on the previous provider's id (any case) still refuses it, and nothing is stored."""
    ops = as_user("distributor")
    first = imported(ops, hanse, key="takeover-hanse-1")["subscription"]["id"]
    assert ops(CANCEL, {"id": first})["subscriptionCancel"]["errors"] == []
    before = subscription_ids(services, hanse[0])

    again = imported(ops, hanse, key="takeover-hanse-3", previousSubscriptionId="leg-7f3a-0001")

    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_EXISTS", "previousSubscriptionId")]
    assert subscription_ids(services, hanse[0]) == before
