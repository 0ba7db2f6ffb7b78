"""The month-start job over three months of a prepaid quota with an overdraft (hours and euros).

Hanse buys 10 h a month for EUR 900.00, overdraft allowed at the hourly rate of EUR 95.00.
January 7:00 used -> 3:00 roll over; February 15:00 used against 13:00 -> overdrawn by 2:00,
corrected on 1 March for EUR 190.00; March 5:00 used -> 5:00 roll over into April.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.contracts import ContractKind, QuotaTerms, Rates
from domain.money import Money
from domain.policy import Principal
from domain.services import billing
from domain.services import contracts as contract_svc
from domain.services import tickets as ticket_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.report_pdf import render_service_report


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def quota(services, demo):
    ops = Principal.of(demo.users["distributor"])
    contract = contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(demo.customers["hanse"].id, ContractKind.PREPAID_QUOTA, date(2026, 1, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True)),
        now=utc(2025, 12, 20, 9),
    )
    return ops, contract


def month_start(day: date):
    return contract_svc.book_quota_months(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 0, 30), page_limit=1)


def work(services, demo, ops, *, minutes: int, day: date, customer: str = "hanse"):
    now = utc(day.year, day.month, day.day, 15)
    ticket = ticket_svc.open_hotline_ticket(
        services.uow(), ops, ticket_svc.NewHotlineTicket(demo.customers[customer].id, f"Arbeit {day}", "x", "Hannes IT"), now=now, mailer=services.mailer
    )
    ticket_svc.record_time(services.uow(), ops, ticket.id, ticket_svc.NewTimeEntry(day, minutes, True, "Wartung"), now=now)
    ticket_svc.create_service_report(services.uow(), ops, now=now, documents=services.documents, mailer=services.mailer,
                                     render=render_service_report, ticket_id=ticket.id)


def unbilled(day: date) -> list[tuple[str, str]]:
    items = DynamoUnitOfWork().service_items.list_due(day, limit=10, cursor=None).items
    return sorted((i.reference.split("#")[0] + "#" + i.reference.split("#")[-1], str(i.unit_price.amount)) for i in items)


def test_three_months_with_rollover_and_an_overdraft_corrected_at_month_end(services, demo, quota):
    ops, contract = quota
    assert (month_start(date(2026, 1, 1)).credits, month_start(date(2026, 1, 1)).credits) == (1, 0)  # twice: once
    work(services, demo, ops, minutes=420, day=date(2026, 1, 20))
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == 180

    assert month_start(date(2026, 2, 1)).corrections == 0
    work(services, demo, ops, minutes=900, day=date(2026, 2, 25))
    assert contract_svc.quota_ledger(DynamoUnitOfWork(), contract).balance_minutes == -120

    summary = month_start(date(2026, 3, 1))
    assert (summary.contracts, summary.credits, summary.corrections) == (1, 1, 1)
    again = month_start(date(2026, 3, 1))
    assert (again.credits, again.corrections) == (0, 0)
    work(services, demo, ops, minutes=300, day=date(2026, 3, 10))

    ledger = contract_svc.quota_ledger(DynamoUnitOfWork(), contract)
    assert ledger.balance_minutes == 300 == sum(e.minutes for e in ledger.entries)
    assert [(e.month, e.kind.value, e.minutes) for e in sorted(ledger.entries, key=lambda e: (e.at, e.key))] == [
        ("2026-01", "MONTHLY_CREDIT", 600), ("2026-01", "USAGE", -420),
        ("2026-02", "MONTHLY_CREDIT", 600), ("2026-02", "USAGE", -900),
        ("2026-02", "OVERDRAFT_CORRECTION", 120), ("2026-03", "MONTHLY_CREDIT", 600),
        ("2026-03", "USAGE", -300),
    ]
    # billing gets the fixed monthly price and one correction; the quota covered every report
    assert unbilled(date(2026, 1, 1)) == [("quota#2026-01", "900.00")]
    assert unbilled(date(2026, 2, 1)) == [("quota#2026-02", "900.00")]
    assert unbilled(date(2026, 3, 1)) == [("quota#2026-03", "900.00"), ("quota-correction#2026-02", "190.00")]
    assert unbilled(date(2026, 2, 25)) == [] and unbilled(date(2026, 3, 10)) == []


def test_the_month_job_entry_point_books_the_month_of_its_run_date(services, demo, quota, monkeypatch):
    import handler

    monkeypatch.setattr(handler, "_services", lambda: services)
    monkeypatch.setattr(services, "clock", lambda: utc(2026, 2, 1, 0, 30))
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-02-01T00:30:00Z", "detail": {}}
    assert handler.book_quota_months(event, None) == {"month": "2026-02", "contracts": 1, "credits": 1, "corrections": 0, "conflicts": 0}


def bill(services, day: date):
    return billing.run_billing(
        DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 21), documents=services.documents, mailer=services.mailer,
        renderer=services.invoice_renderer, prefix="PH",
    )


def test_an_overdraft_is_corrected_by_an_invoice_of_its_own_and_the_fixed_monthly_invoice_stays_as_it_is(services, demo):
    """Direktkunde Müller buys 10 h a month for EUR 900.00, overdraft allowed (at its hourly rate of EUR 95.00), from
    January 2027 and uses 12 h in January: on 1 February it gets February's fixed invoice of 900.00 and a correction
    invoice of 2 h at 95.00 = 190.00 (226.10 gross), two documents with two numbers."""
    ops = Principal.of(demo.users["distributor"])
    direkt = demo.customers["direkt"].id
    contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(direkt, ContractKind.PREPAID_QUOTA, date(2027, 1, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True)),
        now=utc(2026, 12, 20, 9),
    )
    month_start(date(2027, 1, 1))
    bill(services, date(2027, 1, 1))
    work(services, demo, ops, minutes=720, day=date(2027, 1, 20), customer="direkt")
    bill(services, date(2027, 1, 20))  # the quota covers the report: nothing to invoice
    month_start(date(2027, 2, 1))
    summary = bill(services, date(2027, 2, 1))

    page = DynamoUnitOfWork().invoices.list_for_payer(direkt, issued_from=None, issued_to=None, status=None, limit=100, cursor=None)
    invoices = sorted(page.items, key=lambda i: i.number)
    assert [(i.issue_date, [(line.description, line.net_amount.amount) for line in i.lines]) for i in invoices] == [
        (date(2027, 1, 1), [("Prepaid quota 10:00 h January 2027", Decimal("900.00"))]),
        (date(2027, 2, 1), [("Prepaid quota 10:00 h February 2027", Decimal("900.00"))]),
        (date(2027, 2, 1), [("Quota correction: Overdraft January 2027: 2:00 h at EUR 95.00 per hour", Decimal("190.00"))]),
    ]
    assert [i.gross_total for i in invoices] == [Money.of("1071.00"), Money.of("1071.00"), Money.of("226.10")]
    assert summary.invoices_issued == 2 and summary.service_items_billed == 2
    assert len({i.number for i in invoices}) == 3
