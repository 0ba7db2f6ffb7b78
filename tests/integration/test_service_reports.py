"""Service reports end to end below the API: time on a ticket, the report as a PDF (read back with pypdf),
stored in S3, e-mailed to the service-report address, billed through the quota or as a service item."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader

from domain.contracts import ContractKind, QuotaTerms, Rates
from domain.money import Money
from domain.policy import Principal
from domain.services import contracts as contract_svc
from domain.services import tickets as svc
from infra.report_pdf import render_service_report

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def worked(services, demo):
    """A hotline ticket of Hanse with 1:30 billable and 0:20 not billable (warranty)."""
    ops = Principal.of(demo.users["distributor"])
    ticket = svc.open_hotline_ticket(
        services.uow(), ops, svc.NewHotlineTicket(demo.customers["hanse"].id, "Lagerdrucker druckt leer", "Anruf von Frau Stäff", "Hilde Stäff"),
        now=NOW, mailer=services.mailer,
    )
    svc.record_time(services.uow(), ops, ticket.id, svc.NewTimeEntry(date(2026, 11, 20), 90, True, "Treiber neu installiert, Spooler geleert"), now=NOW)
    svc.record_time(services.uow(), ops, ticket.id, svc.NewTimeEntry(date(2026, 11, 21), 20, False, "Nachkontrolle", reason="Garantiefall Toner"), now=NOW)
    services.mailer.sent.clear()
    return ops, ticket


def make_report(services, ops, ticket_id):
    return svc.create_service_report(
        services.uow(), ops, now=NOW, documents=services.documents, mailer=services.mailer, render=render_service_report, ticket_id=ticket_id,
    )


def test_the_pdf_lists_every_entry_with_reasons_and_the_totals(services, worked):
    ops, ticket = worked
    report = make_report(services, ops, ticket.id)
    text = pdf_text(services.documents.get(f"service-reports/{report.customer_id}/{report.id}.pdf"))
    assert f"Service report {report.id}" in text and "Hanse Logistik AG" in text
    assert "Treiber neu installiert, Spooler geleert" in text and "Olga Ops" in text
    assert "Not billable: Garantiefall Toner" in text
    assert "Billable: 1.50 h (90 min)" in text and "Not billable: 0.33 h (20 min)" in text


def test_the_report_is_emailed_to_the_service_report_address_with_the_pdf(services, worked):
    ops, ticket = worked
    report = make_report(services, ops, ticket.id)
    (mail,) = services.mailer.to("it@hanse.example")
    assert mail.subject.startswith(f"Service report {report.id}")
    (attachment,) = mail.attachments
    assert (attachment.filename, attachment.content_type) == (f"{report.id}.pdf", "application/pdf")
    assert attachment.data.startswith(b"%PDF")


def test_without_a_contract_the_billable_time_is_handed_to_billing_at_the_list_price(services, demo, worked):
    ops, ticket = worked
    report = make_report(services, ops, ticket.id)
    (item,) = services.uow().service_items.list_due(date(2026, 11, 23), limit=10, cursor=None).items
    assert (item.reference, item.quantity, item.unit_price, item.customer_id) == (report.id, Decimal(1), Money.of("165.00"), report.customer_id)
    # the partner through which Hanse buys decides who pays (its link's billing mode), contract or not
    assert item.partner_id == demo.partners["nordit"].id


def test_a_quota_customers_time_is_debited_from_the_quota_and_nothing_is_invoiced(services, demo, worked):
    ops, ticket = worked
    contract = contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(demo.customers["hanse"].id, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"))),
        now=NOW,
    )
    contract_svc.book_quota_month(services.uow(), ops, contract.id, month="2026-11", now=NOW)
    make_report(services, ops, ticket.id)
    ledger = contract_svc.quota_ledger(services.uow(), contract)
    assert ledger.balance_minutes == 600 - 90
    items = services.uow().service_items.list_due(date(2026, 11, 23), limit=10, cursor=None).items
    assert [i.reference for i in items] == [f"quota#{contract.id}#2026-11"]


def test_reported_entries_are_not_reported_twice(services, worked):
    ops, ticket = worked
    report = make_report(services, ops, ticket.id)
    assert {e.service_report_id for e in services.uow().tickets.get(ticket.id).time_entries} == {report.id}
    from domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        make_report(services, ops, ticket.id)


def test_the_pdf_writes_umlauts_and_euro_in_winansi_and_breaks_pages():
    from domain.organisations import Address, OrganisationKind, new_organisation
    from domain.tickets import ServiceReport, ServiceReportLine, ServiceReportScope

    customer = new_organisation(id="cus_1", kind=OrganisationKind.CUSTOMER, name="Bäckerei Müller & Söhne (€)", address=Address.create("Weg 1", "80331", "München"),
                                billing_email="a@b.example", now=NOW)
    lines = tuple(ServiceReportLine(f"tim_{i}", "tkt_1", "T-000001", date(2026, 11, 1), "usr_1", 15, True, f"Arbeit {i} \\ (Klammer)", None) for i in range(80))
    report = ServiceReport("srv_1", "cus_1", ServiceReportScope.PERIOD, date(2026, 11, 1), date(2026, 11, 30), lines, NOW)
    reader = PdfReader(io.BytesIO(render_service_report(report, customer, {"usr_1": "Jürgen Weiß"})))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 2 and "Page 2 of 2" in text
    assert "Bäckerei Müller & Söhne (€)" in text and "Jürgen Weiß" in text and "Arbeit 79 \\ (Klammer)" in text


def test_the_service_desk_demo_data_loads_through_the_services(services, demo, clock):
    from infra.demo import seed_service_desk

    created = seed_service_desk(services.uow(), demo, clock.now)
    hanse = demo.customers["hanse"].id
    assert len(services.uow().tickets.list_for_customer(hanse, status=None, limit=10, cursor=None).items) == 2
    assert contract_svc.quota_ledger(services.uow(), created["contract"]).balance_minutes == 600
    assert [e.asset.name for e in contract_svc.expiring_assets(services.uow(), Principal.of(demo.users["distributor"]), hanse, days=30, now=clock.now)] == ["Server HV01"]


# --- a period report is one transaction -------------------------------------------------------------------------------

PERIOD_NOW = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


def quota_without_overdraft(services, demo, ops, minutes=600):
    contract = contract_svc.create_contract(
        services.uow(), ops,
        contract_svc.NewContract(demo.customers["hanse"].id, ContractKind.PREPAID_QUOTA, date(2026, 11, 1), Rates(Money.of("95.00")),
                                 quota=QuotaTerms(minutes, Money.of("900.00"))),
        now=datetime(2026, 10, 20, 9, tzinfo=timezone.utc),
    )
    contract_svc.book_quota_month(services.uow(), ops, contract.id, month="2026-11", now=datetime(2026, 11, 1, 6, tzinfo=timezone.utc))
    return contract


def tickets_with_time(services, demo, ops, work_dates: list[date], extra_entries: int = 0) -> list:
    """One hotline ticket per work date with 15 billable minutes that day; the first ``extra_entries`` tickets get two more."""
    tickets = []
    for n, day in enumerate(work_dates):
        ticket = svc.open_hotline_ticket(services.uow(), ops, svc.NewHotlineTicket(demo.customers["hanse"].id, f"Anruf {n}", "x", "Hannes"),
                                         now=PERIOD_NOW, mailer=services.mailer)
        for _ in range(3 if n < extra_entries else 1):
            svc.record_time(services.uow(), ops, ticket.id, svc.NewTimeEntry(day, 15, True, "Arbeit"), now=PERIOD_NOW)
        tickets.append(ticket)
    services.mailer.sent.clear()
    return tickets


def period_report(services, demo, ops, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30)):
    return svc.create_service_report(
        services.uow(), ops, now=PERIOD_NOW, documents=services.documents, mailer=services.mailer, render=render_service_report,
        customer_id=demo.customers["hanse"].id, first_day=first_day, last_day=last_day,
    )


def test_a_period_report_of_97_tickets_and_117_entries_is_one_transaction_with_one_quota_debit(services, demo):
    """97 tickets (10 of them with 3 entries): the report, 97 tickets, one quota debit and one item are 100 writes."""
    ops = Principal.of(demo.users["distributor"])
    contract = quota_without_overdraft(services, demo, ops, minutes=600)
    tickets = tickets_with_time(services, demo, ops, [date(2026, 11, 3)] * 97, extra_entries=10)
    report = period_report(services, ops=ops, demo=demo)
    assert (len(report.lines), len({line.ticket_id for line in report.lines}), report.billable_minutes) == (117, 97, 1755)
    assert all(e.service_report_id == report.id for t in tickets for e in services.uow().tickets.get(t.id).time_entries)
    usage = [e for e in contract_svc.quota_ledger(services.uow(), contract).entries if e.kind.value == "USAGE"]
    assert [(e.key, e.minutes, e.reference) for e in usage] == [(f"2026-11#USAGE#{report.id}", -600, report.id)]
    assert usage[0].description == f"Service report {report.id} (2026-11-01 to 2026-11-30, 117 billable time entries)"
    (item,) = [i for i in services.uow().service_items.list_due(date(2026, 11, 30), limit=10, cursor=None).items if i.reference == report.id]
    assert item.unit_price == Money.of("1828.75")  # the 1,155 minutes beyond the quota at 95.00 per hour
    assert services.documents.exists(f"service-reports/{report.customer_id}/{report.id}.pdf")
    assert len(services.mailer.to("it@hanse.example")) == 1


def test_a_period_with_time_on_98_tickets_is_refused_before_anything_is_written_naming_the_days_that_fit(services, demo):
    """60 tickets worked on 3 November, 38 on 10 November: 98 tickets do not fit one report, 1 to 3 November does."""
    from domain.errors import ValidationFailed
    from domain.tickets import service_report_id_for

    ops = Principal.of(demo.users["distributor"])
    contract = quota_without_overdraft(services, demo, ops)
    tickets = tickets_with_time(services, demo, ops, [date(2026, 11, 3)] * 60 + [date(2026, 11, 10)] * 38)
    entry_ids = [e.id for t in tickets for e in services.uow().tickets.get(t.id).time_entries]
    with pytest.raises(ValidationFailed) as refused:
        period_report(services, demo, ops)
    assert refused.value.field == "lastDay"
    assert refused.value.message == ("From 2026-11-01 to 2026-11-30 time was recorded on 98 tickets; "
                                     "one service report lists the time of at most 97 tickets.")
    assert refused.value.hint == "Report 2026-11-01 to 2026-11-03 first, then the days from 2026-11-04 on."
    # nothing written: no PDF, no report, no ticket marked, no debit, no item, no mail
    hanse = demo.customers["hanse"].id
    assert not services.documents.exists(f"service-reports/{hanse}/{service_report_id_for(entry_ids)}.pdf")
    assert services.uow().service_reports.list_for_customer(hanse, limit=10, cursor=None).items == []
    assert all(e.service_report_id is None for t in tickets for e in services.uow().tickets.get(t.id).time_entries)
    assert [e.kind.value for e in contract_svc.quota_ledger(services.uow(), contract).entries] == ["MONTHLY_CREDIT"]
    assert services.mailer.sent == []
    # the hinted period, then the rest
    first = period_report(services, demo, ops, last_day=date(2026, 11, 3))
    rest = period_report(services, demo, ops, first_day=date(2026, 11, 4))
    assert (len(first.lines), len(rest.lines)) == (60, 38)
