"""Managed services billed pay-per-use through GraphQL: the service desk records a month's use once the month has
ended, the billing run invoices it, a billed month is not recorded again.

Demo data: Hanse (partner NordIT, PARTNER_PAYS) with hanse_it (EXTENDED); distributor staff "distributor".
The clock stands at 2026-11-23 10:00 Berlin: October 2026 has ended, November has not. Hanse's managed services
contract runs from 2026-09-01: monitoring at EUR 4.50 a device, backup at EUR 0.12 a GB.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.money import Money
from domain.services import billing
from tests.conftest import NOW
from tests.e2e.conftest import ok

USE = """{ month revision billDate usage { code name unit quantity unitPrice { amount } amount { amount currency } } }"""
RECORD = """mutation($input: ManagedServiceUsageRecordInput!, $key: String) {
  managedServiceUsageRecord(input: $input, idempotencyKey: $key) {
    contract { id managedServiceUsage %s } recorded %s errors { code message field hint } } }""" % (USE, USE)
CONTRACTS = "query($c: ID!) { contracts(customerId: $c) { id kind managedServiceUsage %s } }" % USE
CREATE = """mutation($i: ContractCreateInput!) { contractCreate(input: $i) { contract { id } errors { code message } } }"""


@pytest.fixture
def contract_id(as_user, demo) -> str:
    created = as_user("distributor")(CREATE, {"i": {
        "customerId": demo.customers["hanse"].id, "kind": "MANAGED_SERVICES", "startsOn": "2026-09-01", "hourlyRate": {"amount": "95.00"},
        "managedServices": [{"code": "monitoring", "name": "Monitoring", "unit": "device", "unitPrice": {"amount": "4.50"}},
                            {"code": "backup-gb", "name": "Backup", "unit": "GB", "unitPrice": {"amount": "0.12"}}],
    }})["contractCreate"]
    return ok(created)["contract"]["id"]


def record(api, contract_id: str, month: str, usage: dict[str, str], key: str | None = None) -> dict:
    variables = {"input": {"contractId": contract_id, "month": month, "usage": [{"code": c, "quantity": q} for c, q in usage.items()]}, "key": key}
    return api(RECORD, variables)["managedServiceUsageRecord"]


def run_billing(services, now: datetime):
    from domain.calendar import berlin_date

    return billing.run_billing(services.uow, run_date=berlin_date(now), now=now, documents=services.documents, mailer=services.mailer,
                               renderer=services.invoice_renderer, prefix="PH")


def invoices_of(services, organisation_id: str):
    page = services.uow().invoices.list_for_payer(organisation_id, issued_from=None, issued_to=None, status=None, limit=100, cursor=None)
    return [i for i in page.items if any((line.source_reference or "").startswith("managed#") for line in i.lines)]


def managed_lines(invoice):
    return [line for line in invoice.lines if (line.source_reference or "").startswith("managed#")]


def due_references(services) -> list[str]:
    return sorted(i.reference for i in services.uow().service_items.list_due(date(2026, 11, 23), limit=100, cursor=None).items)


TONIGHT = datetime(2026, 11, 23, 21, 0, tzinfo=timezone.utc)


def test_octobers_use_is_recorded_and_invoiced_by_the_next_billing_run_to_the_payer_of_the_partner_link(as_user, demo, services, contract_id):
    recorded = ok(record(as_user("distributor"), contract_id, "2026-10", {"monitoring": "12", "backup-gb": "250.5"}))["recorded"]

    assert recorded == {"month": "2026-10", "revision": 1, "billDate": "2026-11-23", "usage": [
        {"code": "backup-gb", "name": "Backup", "unit": "GB", "quantity": "250.5", "unitPrice": {"amount": "0.12"},
         "amount": {"amount": "30.06", "currency": "EUR"}},
        {"code": "monitoring", "name": "Monitoring", "unit": "device", "quantity": "12", "unitPrice": {"amount": "4.50"},
         "amount": {"amount": "54.00", "currency": "EUR"}},
    ]}
    # shown where contracts are shown: to staff and to the customer's extended users
    for actor in ("distributor", "hanse_it"):
        (managed,) = [c for c in as_user(actor)(CONTRACTS, {"c": demo.customers["hanse"].id})["contracts"] if c["id"] == contract_id]
        assert managed["managedServiceUsage"] == [recorded]

    summary = run_billing(services, TONIGHT)

    assert summary.service_items_billed == 2
    assert invoices_of(services, demo.customers["hanse"].id) == []  # Hanse's partner pays (PARTNER_PAYS)
    (invoice,) = invoices_of(services, demo.partners["nordit"].id)  # with Hanse's subscription charges of the run
    assert [(line.description, line.quantity, line.unit_price, line.net_amount, line.period_start, line.period_end) for line in managed_lines(invoice)] == [
        ("Backup October 2026 (250.5 GB)", Decimal("250.5"), Money.of("0.12"), Money.of("30.06"), date(2026, 10, 1), date(2026, 11, 1)),
        ("Monitoring October 2026 (12 device)", Decimal(12), Money.of("4.50"), Money.of("54.00"), date(2026, 10, 1), date(2026, 11, 1)),
    ]  # no reseller discount on services
    assert invoice.customer_id == demo.customers["hanse"].id
    assert run_billing(services, TONIGHT).service_items_billed == 0  # billed once


def test_recording_a_month_again_before_the_billing_run_replaces_its_use(as_user, demo, services, contract_id):
    ops = as_user("distributor")
    ok(record(ops, contract_id, "2026-10", {"monitoring": "12", "backup-gb": "250.5"}))
    again = ok(record(ops, contract_id, "2026-10", {"monitoring": "14"}))

    assert [(m["month"], m["revision"], [(u["code"], u["quantity"]) for u in m["usage"]]) for m in again["contract"]["managedServiceUsage"]] == [
        ("2026-10", 2, [("monitoring", "14")])]
    assert due_references(services) == [f"managed#{contract_id}#monitoring#2026-10#2"]
    run_billing(services, TONIGHT)
    (invoice,) = invoices_of(services, demo.partners["nordit"].id)
    assert [(line.description, line.net_amount) for line in managed_lines(invoice)] == [("Monitoring October 2026 (14 device)", Money.of("63.00"))]


def test_a_billed_month_is_refused_with_the_invoice_to_correct_and_nothing_changes(as_user, demo, services, contract_id):
    ops = as_user("distributor")
    ok(record(ops, contract_id, "2026-10", {"monitoring": "12"}))
    run_billing(services, TONIGHT)
    (invoice,) = invoices_of(services, demo.partners["nordit"].id)
    before = services.uow().contracts.get(contract_id)

    refused = record(ops, contract_id, "2026-10", {"monitoring": "10"})

    assert refused["contract"] is None
    (error,) = refused["errors"]
    assert (error["code"], error["field"]) == ("CONFLICT", "month")
    assert error["message"] == f"October 2026 of contract {contract_id} is billed already (invoice {invoice.number})."
    assert f"correct invoice {invoice.number} with a credit note (creditNoteCreate)" in error["hint"]
    assert services.uow().contracts.get(contract_id) == before
    ok(record(ops, contract_id, "2026-09", {"monitoring": "11"}))  # another month is recorded as usual


@pytest.mark.parametrize("actor", ["nordit_admin", "nordit_sales", "hanse_it", "hanse_staff", "alpen_owner"])
def test_only_distributor_staff_record_use(as_user, services, contract_id, actor):
    (error,) = record(as_user(actor), contract_id, "2026-10", {"monitoring": "12"})["errors"]
    assert error["code"] == "FORBIDDEN"
    assert services.uow().contracts.get(contract_id).managed_usage == () and due_references(services) == []


@pytest.mark.parametrize("month, usage, code, field, message", [
    ("2026-11", {"monitoring": "12"}, "INVALID_INPUT", "month", "November 2026 has not ended: its use can be recorded from 2026-12-01."),
    ("2026-08", {"monitoring": "12"}, "INVALID_INPUT", "month", "outside the term of contract"),
    ("2026-13", {"monitoring": "12"}, "INVALID_INPUT", "month", "'2026-13' is not a month."),
    ("2026-10", {"monitoring": "12", "printing": "3"}, "INVALID_INPUT", "usage", "Unknown managed service(s): 'printing'."),
    ("2026-10", {"monitoring": "-1"}, "INVALID_INPUT", "usage", "The use of 'monitoring' is 0 to 1,000,000 units."),
    ("2026-10", {"backup-gb": "250.1234"}, "INVALID_INPUT", "usage", "The use of 'backup-gb' has at most 3 decimal places."),
])
def test_bad_input_is_refused_and_writes_nothing(as_user, services, contract_id, month, usage, code, field, message):
    (error,) = record(as_user("distributor"), contract_id, month, usage)["errors"]
    assert (error["code"], error["field"]) == (code, field) and message in error["message"]
    assert services.uow().contracts.get(contract_id).managed_usage == () and due_references(services) == []


def test_unknown_contracts_and_contracts_of_other_kinds_are_refused(as_user, demo, services):
    ops = as_user("distributor")
    (missing,) = record(ops, "ctr_missing", "2026-10", {"monitoring": "1"})["errors"]
    assert (missing["code"], missing["field"]) == ("NOT_FOUND", "contractId")
    quota = ok(ops(CREATE, {"i": {"customerId": demo.customers["hanse"].id, "kind": "PREPAID_QUOTA", "startsOn": "2026-10-01",
                                  "hourlyRate": {"amount": "95.00"}, "quota": {"monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}}}})
               ["contractCreate"])["contract"]["id"]
    (error,) = record(ops, quota, "2026-10", {"monitoring": "1"})["errors"]
    assert (error["code"], error["field"], error["message"]) == ("INVALID_INPUT", "contractId", "Only a managed services contract is billed by use.")


def test_an_idempotency_key_records_once_and_refuses_other_input(as_user, services, contract_id):
    ops = as_user("distributor")
    first = ok(record(ops, contract_id, "2026-10", {"monitoring": "12"}, key="usage-2026-10-a"))
    retry = ok(record(ops, contract_id, "2026-10", {"monitoring": "12"}, key="usage-2026-10-a"))

    assert retry == first and retry["recorded"]["revision"] == 1
    assert services.uow().contracts.get(contract_id).managed_usage_of("2026-10").revision == 1
    (error,) = record(ops, contract_id, "2026-10", {"monitoring": "13"}, key="usage-2026-10-a")["errors"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert due_references(services) == [f"managed#{contract_id}#monitoring#2026-10"]


def test_the_clock_is_the_applications(clock):
    assert clock.now == NOW  # the dates above assume 2026-11-23
