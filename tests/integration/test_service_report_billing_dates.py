"""Service reports through the services: each time entry is billed by its work date, and who pays follows the
customer's partnership link (Hanse: NordIT pays, PARTNER_PAYS), contract or not."""

from __future__ import annotations

from datetime import date, datetime, timezone

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


def worked(services, ops, customer_id: str, day: date, minutes: int):
    at = utc(day.year, day.month, day.day, 10)
    ticket = ticket_svc.open_hotline_ticket(services.uow(), ops, ticket_svc.NewHotlineTicket(customer_id, "Server", "x", "Hannes"),
                                            now=at, mailer=services.mailer)
    ticket_svc.record_time(services.uow(), ops, ticket.id, ticket_svc.NewTimeEntry(day, minutes, True, "Server-Update"), now=at)
    return ticket


def make_report(services, ops, ticket_id: str, at: datetime):
    return ticket_svc.create_service_report(services.uow(), ops, now=at, documents=services.documents, mailer=services.mailer,
                                            render=render_service_report, ticket_id=ticket_id)


def test_2_h_worked_on_2026_12_30_and_reported_on_2027_01_04_are_taken_from_the_quota_that_ended_2026_12_31(services, demo):
    ops = Principal.of(demo.users["distributor"])
    hanse = demo.customers["hanse"].id
    contract = contract_svc.create_contract(services.uow(), ops, contract_svc.NewContract(
        hanse, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")), ends_on=date(2026, 12, 31),
        quota=QuotaTerms(600, Money.of("900.00"))), now=utc(2026, 10, 20, 9))
    for day in (date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)):
        contract_svc.book_quota_months(DynamoUnitOfWork, run_date=day, now=utc(day.year, day.month, day.day, 0, 30))
    ticket = worked(services, ops, hanse, date(2026, 12, 30), 120)

    report = make_report(services, ops, ticket.id, utc(2027, 1, 4, 10))

    ledger = contract_svc.quota_ledger(DynamoUnitOfWork(), contract)
    assert ledger.balance_minutes == 1200 - 120
    assert [(e.month, e.minutes) for e in ledger.entries if e.kind.value == "USAGE"] == [("2027-01", -120)]
    assert [i for i in DynamoUnitOfWork().service_items.list_due(date(2027, 1, 4), limit=10, cursor=None).items if i.reference == report.id] == []


def test_work_for_hanse_without_a_contract_is_invoiced_to_nordit_which_pays_for_hanse(services, demo):
    ops = Principal.of(demo.users["distributor"])
    hanse, nordit = demo.customers["hanse"], demo.partners["nordit"]
    assert [(link.partner_id, link.billing_mode.value) for link in hanse.partner_links] == [(nordit.id, "PARTNER_PAYS")]
    report = make_report(services, ops, worked(services, ops, hanse.id, date(2026, 11, 20), 60).id, utc(2026, 11, 20, 10))

    (item,) = [i for i in DynamoUnitOfWork().service_items.list_due(date(2026, 11, 20), limit=10, cursor=None).items if i.reference == report.id]
    assert (item.partner_id, item.unit_price) == (nordit.id, Money.of("110.00"))  # before: no partner, Hanse invoiced
    summary = billing.run_billing(DynamoUnitOfWork, run_date=date(2026, 11, 20), now=utc(2026, 11, 20, 23), documents=services.documents,
                                  mailer=services.mailer, renderer=services.invoice_renderer)
    assert summary.service_items_billed == 1
    invoice_id = DynamoUnitOfWork().service_items.billed_invoice_ids([report.id])[report.id]
    invoice = DynamoUnitOfWork().invoices.get(invoice_id)
    assert (invoice.payer_id, invoice.customer_id, invoice.net_total) == (nordit.id, hanse.id, Money.of("110.00"))
