"""Per-branch billing through GraphQL: branch keys, contracts and tickets naming a branch, invoices per branch.

Direktkunde Müller e.K. (no partner, pays itself) records the branches Hamburg (Waltershofer Str. 5, 21129 Hamburg)
and Bremen (Hafenstr. 12, 28195 Bremen) and chooses PER_BRANCH. Its rental flat rate of EUR 300.00 a month from
2026-12-01 is delivered at a branch. The clock stands at 2026-11-23 10:00 Berlin.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.services import billing
from domain.services import contracts as contract_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.pdf import PdfInvoiceRenderer
from tests.e2e.conftest import ok

HAMBURG = {"street": "Waltershofer Str. 5", "postalCode": "21129", "city": "Hamburg"}
BREMEN = {"street": "Hafenstr. 12", "postalCode": "28195", "city": "Bremen"}
UPDATE = """mutation($id: ID!, $input: CustomerUpdateInput!) { customerUpdate(id: $id, input: $input) {
  customer { onboarding { branchBilling branches { key name address { city } } } } errors { code field message hint } } }"""
CONTRACT = "contract { id branchKey changes { kind branchKey previousBranchKey } } errors { code field message hint }"
CREATE_CONTRACT = "mutation($i: ContractCreateInput!) { contractCreate(input: $i) { %s } }" % CONTRACT
SET_CONTRACT_BRANCH = "mutation($i: ContractBranchSetInput!) { contractBranchSet(input: $i) { %s } }" % CONTRACT
TICKET = "ticket { id branchKey history { kind details { key value } } } errors { code field message }"
HOTLINE = "mutation($input: TicketHotlineCreateInput!) { ticketHotlineCreate(input: $input) { %s } }" % TICKET
SET_TICKET_BRANCH = "mutation($id: ID!, $key: String) { ticketBranchSet(ticketId: $id, branchKey: $key) { %s } }" % TICKET
CONTRACTS = "query($id: ID!) { contracts(customerId: $id) { id } }"
INVOICES = """query($id: ID) { invoices(organisationId: $id) { nodes {
  number grossTotal { amount } branch { key name address { street postalCode city } } lines { description branch } } } }"""


@pytest.fixture
def direkt(ops, demo) -> str:
    customer_id = demo.customers["direkt"].id
    shown = ok(ops(UPDATE, {"id": customer_id, "input": {"onboarding": {
        "branchBilling": "PER_BRANCH", "branches": [{"name": "Hamburg", "address": HAMBURG}, {"name": "Bremen", "address": BREMEN}],
    }}})["customerUpdate"])["customer"]["onboarding"]
    assert shown["branches"] == [{"key": "hamburg", "name": "Hamburg", "address": {"city": "Hamburg"}},
                                 {"key": "bremen", "name": "Bremen", "address": {"city": "Bremen"}}]
    return customer_id


def rental(ops, customer_id: str, branch_key: str | None) -> dict:
    return ops(CREATE_CONTRACT, {"i": {"customerId": customer_id, "kind": "RENTAL_FLAT_RATE", "startsOn": "2026-12-01",
                                       "hourlyRate": {"amount": "95.00"}, "monthlyFlatRate": {"amount": "300.00"},
                                       "branchKey": branch_key}})["contractCreate"]


def test_a_renamed_branch_keeps_its_key(ops, direkt):
    renamed = ok(ops(UPDATE, {"id": direkt, "input": {"onboarding": {"branches": [
        {"name": "Hamburg", "address": HAMBURG}, {"key": "bremen", "name": "Niederlassung Bremen", "address": BREMEN},
    ]}}})["customerUpdate"])["customer"]["onboarding"]["branches"]
    assert [(b["key"], b["name"]) for b in renamed] == [("hamburg", "Hamburg"), ("bremen", "Niederlassung Bremen")]
    unknown = ops(UPDATE, {"id": direkt, "input": {"onboarding": {"branches": [{"key": "kiel", "name": "Kiel", "address": HAMBURG}]}}})
    assert [(e["code"], e["field"]) for e in unknown["customerUpdate"]["errors"]] == [("INVALID_INPUT", "onboarding.branches[0].key")]


def test_a_contract_names_its_branch_and_staff_move_it(ops, direkt):
    contract = ok(rental(ops, direkt, "bremen"))["contract"]
    assert contract["branchKey"] == "bremen"
    moved = ok(ops(SET_CONTRACT_BRANCH, {"i": {"contractId": contract["id"], "branchKey": "hamburg"}})["contractBranchSet"])["contract"]
    assert (moved["branchKey"], moved["changes"]) == ("hamburg", [{"kind": "BRANCH", "branchKey": "hamburg", "previousBranchKey": "bremen"}])
    refused = ops(SET_CONTRACT_BRANCH, {"i": {"contractId": contract["id"], "branchKey": "kiel"}})["contractBranchSet"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "branchKey")]


@pytest.mark.parametrize("key,why", [("kiel", "no branch with the key 'kiel'"), ("bremen", "receives no services")])
def test_a_contract_naming_a_branch_that_does_not_exist_or_receives_no_services_is_refused_and_nothing_is_written(ops, direkt, key, why):
    ok(ops(UPDATE, {"id": direkt, "input": {"onboarding": {"branches": [
        {"name": "Hamburg", "address": HAMBURG}, {"name": "Bremen", "address": BREMEN, "receivesServices": False},
    ]}}})["customerUpdate"])
    refused = rental(ops, direkt, key)
    assert refused["contract"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "branchKey")]
    assert why in refused["errors"][0]["message"]
    assert ops(CONTRACTS, {"id": direkt})["contracts"] == []


def test_a_ticket_names_its_branch_at_creation_and_staff_change_it(ops, as_user, direkt):
    created = ok(ops(HOTLINE, {"input": {"customerId": direkt, "subject": "Scanner", "description": "Anruf",
                                         "callerName": "Herr Müller", "branchKey": "hamburg"}})["ticketHotlineCreate"])["ticket"]
    assert created["branchKey"] == "hamburg"
    changed = ok(ops(SET_TICKET_BRANCH, {"id": created["id"], "key": "bremen"})["ticketBranchSet"])["ticket"]
    assert changed["branchKey"] == "bremen"
    assert {"kind": "BRANCH_CHANGED", "details": [{"key": "branch", "value": "bremen"}, {"key": "previous", "value": "hamburg"}]} in changed["history"]
    refused = ops(HOTLINE, {"input": {"customerId": direkt, "subject": "Scanner", "description": "Anruf", "callerName": "Herr Müller",
                                      "branchKey": "kiel"}})["ticketHotlineCreate"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "branchKey")]
    customer_user = as_user("hanse_it")(SET_TICKET_BRANCH, {"id": created["id"], "key": None})["ticketBranchSet"]
    assert [e["code"] for e in customer_user["errors"]] == ["FORBIDDEN"]  # service staff only


def test_a_branch_an_open_contract_names_is_not_removed(ops, direkt):
    ok(rental(ops, direkt, "bremen"))
    refused = ops(UPDATE, {"id": direkt, "input": {"onboarding": {"branches": [{"name": "Hamburg", "address": HAMBURG}]}}})["customerUpdate"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "onboarding.branches")]
    assert "contractBranchSet" in refused["errors"][0]["hint"]


def test_the_billing_run_invoices_a_branchs_rental_to_the_branch(ops, services, direkt):
    ok(rental(ops, direkt, "bremen"))
    run_at = datetime(2026, 12, 1, 21, tzinfo=timezone.utc)
    contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=date(2026, 12, 1), now=run_at)
    billing.run_billing(DynamoUnitOfWork, run_date=date(2026, 12, 1), now=run_at, documents=services.documents,
                        mailer=services.mailer, renderer=PdfInvoiceRenderer(), prefix="PH")
    (invoice,) = ops(INVOICES, {"id": direkt})["invoices"]["nodes"]
    assert invoice["branch"] == {"key": "bremen", "name": "Bremen", "address": {"street": "Hafenstr. 12", "postalCode": "28195", "city": "Bremen"}}
    assert invoice["lines"] == [{"description": "Rental flat rate December 2026", "branch": "Bremen"}]
    assert invoice["grossTotal"]["amount"] == "357.00"


def test_a_partner_refused_removing_a_branch_is_not_shown_the_contracts_it_may_not_view(ops, as_user, demo):
    """Kanzlei Weber & Partner (NordIT, full access) with Hamburg and Bremen; its rental from 2026-12-01 is in Bremen."""
    kanzlei = demo.customers["kanzlei"].id
    ok(ops(UPDATE, {"id": kanzlei, "input": {"onboarding": {"branches": [
        {"name": "Hamburg", "address": HAMBURG}, {"name": "Bremen", "address": BREMEN}]}}})["customerUpdate"])
    contract_id = ok(rental(ops, kanzlei, "bremen"))["contract"]["id"]
    only_hamburg = {"id": kanzlei, "input": {"onboarding": {"branches": [{"key": "hamburg", "name": "Hamburg", "address": HAMBURG}]}}}

    (error,) = as_user("nordit_sales")(UPDATE, only_hamburg)["customerUpdate"]["errors"]
    assert (error["code"], error["field"]) == ("CONFLICT", "onboarding.branches")
    assert contract_id not in error["message"] + error["hint"] and "contractBranchSet" not in error["hint"]
    assert error["message"] == "The branch Bremen still receives services the service desk manages."
    assert "Ask the service desk" in error["hint"]

    (error,) = ops(UPDATE, only_hamburg)["customerUpdate"]["errors"]  # staff see which contract
    assert f"contract {contract_id}" in error["message"] and "contractBranchSet" in error["hint"]
