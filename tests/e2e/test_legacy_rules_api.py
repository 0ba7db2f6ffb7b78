"""Legacy CSP subscriptions through GraphQL follow the legacy model (seed terra-cloud-microsoft-csp), not the 168-hour
windows of New Commerce. The distributor takes over Hanse's legacy Office 365 E3 (20 seats, annual term from 2021-11-21
10:00 UTC) on 2026-11-23 09:00, two days into the term 2026-11-21..2027-11-21; EUR 21.87 per seat and month billed
monthly, EUR 262.40 per seat and year billed annually.
"""

from datetime import date, datetime, timezone

import pytest

from domain.catalogue import O365_E3_LEGACY
from domain.services.subscriptions import renew_due_subscriptions

UTC = timezone.utc

IMPORT = """mutation($input: LegacySubscriptionImportInput!) { legacySubscriptionImport(input: $input) {
  subscription { id } errors { code field } } }"""
REDUCE = """mutation($id: ID!, $seats: Int!) { subscriptionSeatsReduce(input: {subscriptionId: $id, seats: $seats}) {
  subscription { quantity reducibleSeats } charges { kind } errors { code field message hint } } }"""
CANCEL = """mutation($id: ID!) { subscriptionCancel(input: {subscriptionId: $id}) {
  subscription { status quantity }
  charges { kind periodStart periodEnd quantity amount { amount } description }
  window { alternatives } errors { code field message hint } } }"""
PREVIEW = """query($id: ID!) { subscriptionPreview(subscriptionId: $id, change: {kind: CANCEL}) {
  allowed amount { amount } } }"""


@pytest.fixture
def hanse(demo):
    return demo.customers["hanse"].id, demo.partners["nordit"].id


def import_legacy(as_user, hanse, billing) -> str:
    customer_id, partner_id = hanse
    legacy = {"customerId": customer_id, "partnerId": partner_id, "productId": O365_E3_LEGACY, "term": "P1Y", "billing": billing,
              "quantity": 20, "startedAt": "2021-11-21T10:00:00Z", "renewsOn": "2027-11-21",
              "chargedThrough": "2026-12-21" if billing == "MONTHLY" else "2027-11-21", "previousSubscriptionId": "LEG-7F3A-0001"}
    result = as_user("distributor")(IMPORT, {"input": legacy})["legacySubscriptionImport"]
    assert result["errors"] == []
    return result["subscription"]["id"]


def charges_of(services, subscription_id):
    return sorted((c.kind.value, c.period_start, c.period_end, c.quantity, str(c.amount.amount))
                  for c in services.uow().charges.list_for_subscription(subscription_id).items)


def test_a_partner_reduces_a_legacy_subscription_billed_monthly_at_any_time_and_the_started_month_stays_billed(
        as_user, hanse, services, clock):
    sub_id = import_legacy(as_user, hanse, "MONTHLY")
    sales = as_user("nordit_sales")
    clock.now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    reduced = sales(REDUCE, {"id": sub_id, "seats": 5})["subscriptionSeatsReduce"]  # before: CANCELLATION_WINDOW_CLOSED
    assert reduced["errors"] == [] and reduced["charges"] == []  # the month the previous provider billed: never credited
    assert reduced["subscription"] == {"quantity": 15, "reducibleSeats": 15}
    renew_due_subscriptions(services.uow, run_date=date(2026, 12, 21), now=datetime(2026, 12, 21, 22, 30, tzinfo=UTC))
    assert charges_of(services, sub_id) == [("RECURRING", date(2026, 12, 21), date(2027, 1, 21), 15, "328.05")]  # 15 × 21.87

    # A month billed here: 3 seats fewer on 2027-01-05 leave it at 15 seats, the next month is billed for 12.
    clock.now = datetime(2027, 1, 5, 9, tzinfo=UTC)
    reduced = sales(REDUCE, {"id": sub_id, "seats": 3})["subscriptionSeatsReduce"]
    assert reduced["errors"] == [] and reduced["charges"] == []
    renew_due_subscriptions(services.uow, run_date=date(2027, 1, 21), now=datetime(2027, 1, 21, 22, 30, tzinfo=UTC))
    assert charges_of(services, sub_id) == [("RECURRING", date(2026, 12, 21), date(2027, 1, 21), 15, "328.05"),
                                            ("RECURRING", date(2027, 1, 21), date(2027, 2, 21), 12, "262.44")]

    every_seat = sales(REDUCE, {"id": sub_id, "seats": 12})["subscriptionSeatsReduce"]
    assert [(e["code"], e["field"]) for e in every_seat["errors"]] == [("INVALID_INPUT", "seats")]
    assert "subscriptionCancel" in every_seat["errors"][0]["hint"]
    cancelled = sales(CANCEL, {"id": sub_id})["subscriptionCancel"]  # what the hint names: accepted, without credit
    assert cancelled["errors"] == [] and cancelled["charges"] == [] and cancelled["subscription"]["status"] == "CANCELLED"


def test_only_the_distributor_cancels_a_legacy_subscription_billed_annually_with_a_credit_note_for_the_rest_of_the_term(
        as_user, hanse, services, clock):
    sub_id = import_legacy(as_user, hanse, "ANNUAL")
    ops, sales = as_user("distributor"), as_user("nordit_sales")
    renew_due_subscriptions(services.uow, run_date=date(2027, 11, 21), now=datetime(2027, 11, 21, 22, 30, tzinfo=UTC))
    assert charges_of(services, sub_id) == [("RECURRING", date(2027, 11, 21), date(2028, 11, 21), 20, "5248.00")]

    clock.now = datetime(2028, 2, 10, 9, tzinfo=UTC)
    refused = sales(CANCEL, {"id": sub_id})["subscriptionCancel"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CANCELLATION_WINDOW_CLOSED", "subscriptionId")]
    assert "by the distributor (subscriptionCancel by distributor staff), with a credit note" in refused["errors"][0]["hint"]
    assert refused["charges"] == [] and len(charges_of(services, sub_id)) == 1
    assert sales(PREVIEW, {"id": sub_id})["subscriptionPreview"] == {"allowed": False, "amount": None}
    assert ops(PREVIEW, {"id": sub_id})["subscriptionPreview"] == {"allowed": True, "amount": {"amount": "-4086.56"}}

    cancelled = ops(CANCEL, {"id": sub_id})["subscriptionCancel"]
    assert cancelled["errors"] == [] and cancelled["subscription"] == {"status": "CANCELLED", "quantity": 0}
    # 262.40 × 20 × 285/366 (2028-02-10 to 2028-11-20, both included, in a term with 29 February) = 4086.5573… → 4086.56
    (credit,) = cancelled["charges"]
    assert (credit["kind"], credit["periodStart"], credit["periodEnd"], credit["quantity"], credit["amount"]) == (
        "CREDIT", "2028-02-10", "2028-11-21", 20, {"amount": "-4086.56"})
    assert charges_of(services, sub_id) == [("CREDIT", date(2028, 2, 10), date(2028, 11, 21), 20, "-4086.56"),
                                            ("RECURRING", date(2027, 11, 21), date(2028, 11, 21), 20, "5248.00")]


def test_the_distributor_cancelling_in_the_term_the_previous_provider_billed_credits_nothing(as_user, hanse, services, clock):
    sub_id = import_legacy(as_user, hanse, "ANNUAL")
    clock.now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    assert as_user("nordit_sales")(CANCEL, {"id": sub_id})["subscriptionCancel"]["errors"][0]["code"] == "CANCELLATION_WINDOW_CLOSED"
    cancelled = as_user("distributor")(CANCEL, {"id": sub_id})["subscriptionCancel"]
    assert cancelled["errors"] == [] and cancelled["charges"] == [] and cancelled["subscription"]["status"] == "CANCELLED"
    assert charges_of(services, sub_id) == []  # the previous provider billed the term: nothing to credit here
