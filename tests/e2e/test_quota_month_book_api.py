"""contractQuotaMonthBook books only a month whose previous month has ended, written YYYY-MM in ASCII digits, and a
month booked already books nothing again.

Demo data: Hanse; distributor staff "distributor". Hanse's quota from 2026-11-01: 1:00 h a month for EUR 90.00,
overdraft allowed at the hourly rate of EUR 95.00; November booked by the job on 2026-11-01.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.contracts import ContractKind, QuotaTerms, Rates
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as contract_svc
from domain.services import tickets as ticket_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.report_pdf import render_service_report

BOOK = """mutation($id: ID!, $m: String!) { contractQuotaMonthBook(contractId: $id, month: $m) {
  contract { id } overdraftMinutes overdraftAmount { amount } errors { code field message hint } } }"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def quota(services, demo):
    ops = Principal.of(demo.users["distributor"])
    contract = contract_svc.create_contract(services.uow(), ops, contract_svc.NewContract(
        demo.customers["hanse"].id, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")),
        quota=QuotaTerms(60, Money.of("90.00"), overdraft_allowed=True)), now=utc(2026, 10, 20, 9))
    contract_svc.book_quota_months(DynamoUnitOfWork, run_date=date(2026, 11, 1), now=utc(2026, 11, 1, 0, 30))
    return ops, contract


def work(services, ops, customer_id: str, minutes: int, now: datetime) -> None:
    ticket = ticket_svc.open_hotline_ticket(services.uow(), ops, ticket_svc.NewHotlineTicket(customer_id, "Anruf", "x", "Hannes"),
                                            now=now, mailer=services.mailer)
    ticket_svc.record_time(services.uow(), ops, ticket.id, ticket_svc.NewTimeEntry(now.date(), minutes, True, "Arbeit"), now=now)
    ticket_svc.create_service_report(services.uow(), ops, now=now, documents=services.documents, mailer=services.mailer,
                                     render=render_service_report, ticket_id=ticket.id)


def ledger(contract) -> list[tuple[str, int]]:
    return sorted((e.key, e.minutes) for e in contract_svc.quota_ledger(DynamoUnitOfWork(), contract).entries if e.kind.value != "USAGE")


def due(*bill_dates: date) -> list[tuple[str, str]]:
    """The quota items waiting for the billing runs of ``bill_dates`` (service reports left out)."""
    items = [i for day in bill_dates for i in DynamoUnitOfWork().service_items.list_due(day, limit=20, cursor=None).items]
    return sorted((i.reference.split("#")[0] + "#" + i.reference.split("#")[-1], str(i.unit_price.amount))
                  for i in items if not i.reference.startswith("srv_"))


def test_december_booked_on_15_november_is_refused_and_all_of_novembers_overdraft_is_corrected_on_1_december(as_user, clock, services, quota):
    ops, contract = quota
    work(services, ops, contract.customer_id, 90, utc(2026, 11, 10, 10))  # 30 min overdrawn
    clock.now = utc(2026, 11, 15, 10)
    payload = as_user("distributor")(BOOK, {"id": contract.id, "m": "2026-12"})["contractQuotaMonthBook"]
    assert [(e["code"], e["field"], e["message"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", "month", f"December 2026 of contract {contract.id} can be booked from 2026-12-01 on, not on 2026-11-15.")]
    far = as_user("distributor")(BOOK, {"id": contract.id, "m": "2031-01"})["contractQuotaMonthBook"]
    assert [(e["code"], e["field"]) for e in far["errors"]] == [("INVALID_INPUT", "month")]
    assert ledger(contract) == [("2026-11#CREDIT", 60)] and due(date(2026, 11, 1), date(2026, 11, 15)) == [("quota#2026-11", "90.00")]

    work(services, ops, contract.customer_id, 120, utc(2026, 11, 25, 10))  # 120 more min overdrawn
    summary = contract_svc.book_quota_months(DynamoUnitOfWork, run_date=date(2026, 12, 1), now=utc(2026, 12, 1, 0, 30))
    assert (summary.credits, summary.corrections) == (1, 1)
    # before: the correction of 15 November (0:30 h, EUR 47.50) closed November, the 2:00 h after it ate December's credit
    assert ledger(contract) == [("2026-11#CORRECTION", 150), ("2026-11#CREDIT", 60), ("2026-12#CREDIT", 60)]
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == 60
    assert due(date(2026, 11, 1), date(2026, 11, 15), date(2026, 12, 1)) == [("quota#2026-11", "90.00"), ("quota#2026-12", "90.00"), ("quota-correction#2026-11", "237.50")]


def test_november_in_full_width_digits_is_refused_and_november_booked_again_books_nothing(as_user, clock, services, quota):
    ops, contract = quota
    clock.now = utc(2026, 11, 23, 9)
    again = as_user("distributor")(BOOK, {"id": contract.id, "m": "2026-11"})["contractQuotaMonthBook"]
    assert (again["errors"], again["overdraftMinutes"]) == ([], 0)
    odd = as_user("distributor")(BOOK, {"id": contract.id, "m": "\uff12\uff10\uff12\uff16-\uff11\uff11"})["contractQuotaMonthBook"]
    assert [(e["code"], e["field"], e["hint"]) for e in odd["errors"]] == [("INVALID_INPUT", "month", "Write months as YYYY-MM.")]
    assert ledger(contract) == [("2026-11#CREDIT", 60)]
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == 60
    assert due(date(2026, 11, 1), date(2026, 11, 23)) == [("quota#2026-11", "90.00")]  # before: a second EUR 90.00 under the key '２０２６-１１'
