"""contractCreate refuses a rental or quota contract started long before it is entered, and nothing is billed.

Demo data: Hanse; distributor staff "distributor"; the clock at 2026-11-23 10:00 Berlin. The office manager records the
contracts of a customer taken over, started 2024-01-01: before, the next runs booked 35 months of each (EUR 10,500.00
of rent, 35 quota invoices and 21,000 quota minutes).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from domain.services import contracts as contract_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork

CREATE = """mutation($i: ContractCreateInput!) { contractCreate(input: $i) { contract { id startsOn } errors { code field message hint } } }"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_contracts_started_2024_01_01_entered_on_2026_11_23_are_refused_and_the_next_runs_bill_nothing(as_user, demo):
    ops = as_user("distributor")
    hanse = demo.customers["hanse"].id
    rental = {"customerId": hanse, "kind": "RENTAL_FLAT_RATE", "startsOn": "2024-01-01", "hourlyRate": {"amount": "95.00"},
              "monthlyFlatRate": {"amount": "300.00"}}
    quota = {"customerId": hanse, "kind": "PREPAID_QUOTA", "startsOn": "2024-01-01", "hourlyRate": {"amount": "95.00"},
             "quota": {"monthlyMinutes": 600, "monthlyPrice": {"amount": "900.00"}}}
    for variables in (rental, quota):
        payload = ops(CREATE, {"i": variables})["contractCreate"]
        assert payload["contract"] is None
        (error,) = payload["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", "startsOn")
        assert "starts on 2026-10-01 at the earliest" in error["message"] and "35 months" in error["message"]
        assert "2026-12-01" in error["hint"]

    assert DynamoUnitOfWork().contracts.list_for_customer(hanse) == []
    flat = contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=date(2026, 11, 24), now=utc(2026, 11, 24, 0, 45))
    quota_run = contract_svc.book_quota_months(DynamoUnitOfWork, run_date=date(2026, 11, 24), now=utc(2026, 11, 24, 0, 30))
    assert (flat.months_booked, quota_run.credits) == (0, 0)
    assert DynamoUnitOfWork().service_items.list_due(date(2026, 11, 24), limit=10, cursor=None).items == []


def test_a_rental_signed_in_october_and_entered_in_november_bills_october_and_november_with_the_next_run(as_user, demo):
    ops = as_user("distributor")
    hanse = demo.customers["hanse"].id
    payload = ops(CREATE, {"i": {"customerId": hanse, "kind": "RENTAL_FLAT_RATE", "startsOn": "2026-10-01", "hourlyRate": {"amount": "95.00"},
                                 "monthlyFlatRate": {"amount": "300.00"}}})["contractCreate"]
    assert payload["errors"] == [] and payload["contract"]["startsOn"] == "2026-10-01"
    flat = contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=date(2026, 11, 24), now=utc(2026, 11, 24, 0, 45))
    items = DynamoUnitOfWork().service_items.list_due(date(2026, 11, 24), limit=10, cursor=None).items
    assert flat.months_booked == 2
    assert sorted((i.description, str(i.unit_price.amount)) for i in items) == [
        ("Rental flat rate November 2026", "300.00"), ("Rental flat rate October 2026", "300.00")]
