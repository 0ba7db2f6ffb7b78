"""Two service reports made at the same moment never debit the same quota minutes twice (optimistic locking).

Hanse buys 1:00 h a month for EUR 90.00, no overdraft, hourly rate EUR 95.00. On 2026-11-20 two technicians report
an hour each at once. Threads make the reports through moto's DynamoDB server, both computing their billing from the
same ledger (60 minutes left) before either commits. Before: both debited the 60 minutes (balance -60) and the job of
1 December invoiced an overdraft correction of EUR 95.00 on a quota without overdraft.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest

from domain.contracts import ContractKind, QuotaTerms, Rates
from domain.errors import ConcurrentUpdate
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as contract_svc
from domain.services import tickets as ticket_svc
from domain.services.retry import retry_on_concurrent_update
from infra.report_pdf import render_service_report
from tests.conftest import NOW


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def world(moto_server):
    from infra.bootstrap import build_services
    from infra.demo import seed
    from infra.email import MemoryMailer

    services = build_services(moto_server, mailer=MemoryMailer(), clock=lambda: NOW)
    demo = seed(services.uow(), NOW)
    ops = Principal.of(demo.users["distributor"])
    hanse = demo.customers["hanse"].id
    contract = contract_svc.create_contract(services.uow(), ops, contract_svc.NewContract(
        hanse, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")),
        quota=QuotaTerms(60, Money.of("90.00"), overdraft_allowed=False)), now=utc(2026, 10, 20, 9))
    contract_svc.book_quota_months(services.uow, run_date=date(2026, 11, 1), now=utc(2026, 11, 1, 0, 30))
    tickets = []
    for n in range(2):
        ticket = ticket_svc.open_hotline_ticket(services.uow(), ops, ticket_svc.NewHotlineTicket(hanse, f"Anruf {n}", "x", "Hannes"),
                                                now=utc(2026, 11, 20, 10), mailer=services.mailer)
        ticket_svc.record_time(services.uow(), ops, ticket.id, ticket_svc.NewTimeEntry(date(2026, 11, 20), 60, True, "Arbeit"),
                               now=utc(2026, 11, 20, 10))
        tickets.append(ticket)
    return services, ops, contract, tickets


def reports_at_once(services, ops, tickets) -> list:
    """Both reports read the ledger and compute their billing, then wait for each other before writing."""
    both_computed = threading.Barrier(2)

    def render_after_both_computed(*args, **kwargs):
        both_computed.wait(timeout=30)
        return render_service_report(*args, **kwargs)

    results = []

    def make(ticket_id: str) -> None:
        try:
            results.append(report(services, ops, ticket_id, render_after_both_computed))
        except ConcurrentUpdate as conflict:
            results.append(conflict)

    threads = [threading.Thread(target=make, args=(t.id,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(services, ops, ticket_id: str, render=render_service_report):
    return ticket_svc.create_service_report(services.uow(), ops, now=utc(2026, 11, 20, 16), documents=services.documents,
                                            mailer=services.mailer, render=render, ticket_id=ticket_id)


def report_items(services) -> list[str]:
    return sorted(str(i.unit_price.amount) for i in services.uow().service_items.list_due(date(2026, 11, 20), limit=10, cursor=None).items)


def test_of_two_reports_debiting_the_same_60_minutes_the_second_fails_and_made_again_bills_its_hour_at_the_hourly_rate(world):
    services, ops, contract, tickets = world
    results = reports_at_once(services, ops, tickets)

    (conflict,) = [r for r in results if isinstance(r, ConcurrentUpdate)]
    (made,) = [r for r in results if not isinstance(r, ConcurrentUpdate)]
    assert conflict.message == f"The prepaid quota of contract {contract.id} was debited by someone else in the meantime."
    ledger = contract_svc.quota_ledger(services.uow(), contract)
    assert ledger.balance_minutes == 0
    assert [(e.kind.value, e.minutes, e.reference) for e in ledger.entries] == [("MONTHLY_CREDIT", 60, "2026-11"), ("USAGE", -60, made.id)]
    assert report_items(services) == []
    # the losing report wrote nothing: its ticket's hour is still unreported
    (other,) = [t for t in tickets if t.id != made.ticket_id]
    assert [t.id for t in tickets if services.uow().tickets.get(t.id).unreported_entries] == [other.id]

    # made again (as retry_on_concurrent_update or the technician would), it reads the first report's debit
    again = retry_on_concurrent_update(lambda: report(services, ops, other.id))
    assert contract_svc.quota_ledger(services.uow(), contract).balance_minutes == 0
    (item,) = services.uow().service_items.list_due(date(2026, 11, 20), limit=10, cursor=None).items
    assert (item.reference, str(item.unit_price.amount)) == (again.id, "95.00")  # the second hour at EUR 95.00, regular invoice

    december = contract_svc.book_quota_months(services.uow, run_date=date(2026, 12, 1), now=utc(2026, 12, 1, 0, 30))
    assert (december.credits, december.corrections) == (1, 0)  # before: a correction invoice of EUR 95.00
    due = services.uow().service_items.list_due(date(2026, 12, 1), limit=10, cursor=None).items
    assert [(i.reference, str(i.unit_price.amount)) for i in due] == [(f"quota#{contract.id}#2026-12", "90.00")]
