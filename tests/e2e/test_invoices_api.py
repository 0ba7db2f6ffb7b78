"""Invoices through GraphQL: payer-only visibility (also nested and paged), payments, credit notes, copies,
archive retrieval, retention, the dunning list.

Demo: Hanse's partner NordIT pays (5% reseller discount, Registered), Kanzlei pays itself (NordIT earns cashback),
Direkt has no partner. Invoices are issued by the billing run, as in production.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.billing import ServiceItem
from domain.money import Money
from domain.organisations import BillingMode
from domain.policy import Principal
from domain.services import billing
from domain.services import invoices as invoicing
from domain.services import organisations as svc
from tests.conftest import NOW

INVOICES = """query($org: ID, $status: InvoiceStatus, $from: Date, $to: Date, $first: Int, $after: String) {
  invoices(organisationId: $org, status: $status, issuedFrom: $from, issuedTo: $to, first: $first, after: $after) {
    nodes { id number payerId issueDate status grossTotal { amount } } pageInfo { hasNextPage endCursor } } }"""

DETAIL = """query($id: ID!) { invoice(id: $id) { id number kind status payerId customerId billingMode issueDate dueDate
  lines { position description quantity unitPrice { amount } discountPercent netAmount { amount } vatRate periodStart periodEnd }
  vatBreakdown { rate net { amount } vat { amount } gross { amount } }
  netTotal { amount } vatTotal { amount } grossTotal { amount } amountPaid { amount } outstanding { amount } overdue
  payments { amount { amount } paidOn reference }
  creditNotes { number kind grossTotal { amount } correctsInvoiceNumber reason }
  downloadUrl } }"""

NODE = """query($id: ID!) { node(id: $id) { id ... on Invoice { number } } }"""

PAY = """mutation($input: PaymentRecordInput!) { paymentRecord(input: $input) {
  recorded invoice { status amountPaid { amount } outstanding { amount } payments { reference } } errors { code field message hint } } }"""

CREDIT = """mutation($input: CreditNoteCreateInput!) { creditNoteCreate(input: $input) {
  creditNote { number kind netTotal { amount } grossTotal { amount } correctsInvoiceNumber } errors { code field message hint } } }"""

COPY = """mutation($input: InvoiceCopyRequestInput!) { invoiceCopyRequest(input: $input) {
  decision resent retrievalInvoice { number issueDate dueDate netTotal { amount } grossTotal { amount } lines { description netAmount { amount } } }
  errors { code field message hint } } }"""

DOWNLOAD = """query($id: ID!) { invoice(id: $id) { number downloadUrl downloadRefusal { code field message hint } } }"""

DELETE = """mutation($id: ID!) { invoiceDelete(input: {invoiceId: $id}) { deletedInvoiceId errors { code message hint } } }"""

OVERDUE = """query { overdueInvoices { nodes { number dueDate outstanding { amount } } } }"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


class Biller:
    """Issues invoices the way production does: service items, then the billing run."""

    def __init__(self, services, demo):
        self.services = services
        self.demo = demo
        self.count = 0

    def item(self, customer: str, amount: str, *, partner: str | None = None) -> ServiceItem:
        self.count += 1
        return ServiceItem(
            self.demo.customers[customer].id, f"Servicebericht SR-{self.count:04d}", Decimal("1"), Money.of(amount),
            f"sr_{self.count:04d}", partner_id=self.demo.partners[partner].id if partner else None,
        )

    def run(self, now: datetime, *items: ServiceItem):
        from domain.calendar import berlin_date

        uow = self.services.uow()
        with uow:
            for item in items:
                uow.service_items.add(item, bill_date=berlin_date(now))
            uow.commit()
        s = self.services
        billing.run_billing(s.uow, run_date=berlin_date(now), now=now, documents=s.documents, mailer=s.mailer,
                            renderer=s.invoice_renderer, prefix="PH")
        references = {i.reference for i in items}
        found = []
        for organisation in [*self.demo.customers.values(), *self.demo.partners.values()]:
            page = s.uow().invoices.list_for_payer(organisation.id, issued_from=berlin_date(now), issued_to=berlin_date(now),
                                                   status=None, limit=100, cursor=None)
            found += [i for i in page.items if any(line.source_reference in references for line in i.lines)]
        return sorted(found, key=lambda i: i.number)


@pytest.fixture
def biller(services, demo):
    return Biller(services, demo)


@pytest.fixture
def issued(biller):
    """On NOW (2026-11-23): NordIT pays 120.00 for Hanse; Kanzlei pays 80.00 itself; Direkt pays 99.99."""
    invoices = biller.run(NOW, biller.item("hanse", "120.00", partner="nordit"), biller.item("kanzlei", "80.00", partner="nordit"),
                          biller.item("direkt", "99.99"))
    by_customer = {i.customer_id: i for i in invoices}
    biller.services.mailer.sent.clear()
    return {key: by_customer[biller.demo.customers[key].id] for key in ("hanse", "kanzlei", "direkt")}


def ids(api, org=None, **variables) -> list[str]:
    return [n["id"] for n in api(INVOICES, {"org": org, **variables})["invoices"]["nodes"]]


# --- visibility --------------------------------------------------------------------------


def test_a_partner_pays_invoice_is_visible_to_the_partner_and_not_to_its_customer(as_user, demo, issued):
    invoice = issued["hanse"]
    hanse, nordit = as_user("hanse_it"), as_user("nordit_admin")
    assert invoice.payer_id == demo.partners["nordit"].id
    assert hanse(DETAIL, {"id": invoice.id})["invoice"] is None
    assert hanse(NODE, {"id": invoice.id})["node"] is None
    assert ids(hanse) == [] and ids(hanse, demo.customers["hanse"].id) == [] and ids(hanse, demo.partners["nordit"].id) == []
    assert nordit(DETAIL, {"id": invoice.id})["invoice"]["number"] == invoice.number
    assert nordit(NODE, {"id": invoice.id})["node"]["number"] == invoice.number
    assert ids(nordit) == [invoice.id]
    assert as_user("distributor")(DETAIL, {"id": invoice.id})["invoice"]["payerId"] == demo.partners["nordit"].id


def test_a_customer_pays_invoice_is_visible_to_the_customer_and_not_to_its_partner(as_user, demo, issued):
    invoice = issued["kanzlei"]
    kanzlei, nordit = as_user("kanzlei_office"), as_user("nordit_admin")
    assert ids(kanzlei) == [invoice.id]
    assert kanzlei(DETAIL, {"id": invoice.id})["invoice"]["grossTotal"] == {"amount": "95.20"}
    assert nordit(DETAIL, {"id": invoice.id})["invoice"] is None
    assert ids(nordit, demo.customers["kanzlei"].id) == []
    assert invoice.id not in ids(nordit)
    assert ids(as_user("suedcloud_admin"), demo.partners["nordit"].id) == []


def test_a_report_only_customer_user_sees_no_invoices_even_of_its_own_organisation(as_user, demo, biller):
    demo_hanse_direct = biller.run(NOW + timedelta(days=1), biller.item("hanse", "10.00"))  # Hanse pays a direct service
    (invoice,) = demo_hanse_direct
    assert as_user("hanse_it")(DETAIL, {"id": invoice.id})["invoice"]["number"] == invoice.number
    assert as_user("hanse_staff")(DETAIL, {"id": invoice.id})["invoice"] is None
    assert ids(as_user("hanse_staff")) == []


def test_a_billing_mode_switch_mid_year_keeps_old_invoices_with_the_old_payer_in_lists_and_pages(services, as_user, demo, biller):
    kanzlei, nordit = as_user("kanzlei_office"), as_user("nordit_admin")
    (march,) = biller.run(at("2026-03-02T10:00:00"), biller.item("kanzlei", "50.00", partner="nordit"))
    (april,) = biller.run(at("2026-04-01T10:00:00"), biller.item("kanzlei", "60.00", partner="nordit"))
    svc.switch_billing_mode(
        services.uow(), services.mailer, Principal.of(demo.users["kanzlei_office"]), customer_id=demo.customers["kanzlei"].id,
        partner_id=demo.partners["nordit"].id, billing_mode=BillingMode.PARTNER_PAYS, now=at("2026-06-15T08:00:00"),
    )
    (july,) = biller.run(at("2026-07-01T10:00:00"), biller.item("kanzlei", "70.00", partner="nordit"))
    assert (march.payer_id, april.payer_id, july.payer_id) == (demo.customers["kanzlei"].id,) * 2 + (demo.partners["nordit"].id,)

    first = kanzlei(INVOICES, {"first": 1})["invoices"]
    second = kanzlei(INVOICES, {"first": 1, "after": first["pageInfo"]["endCursor"]})["invoices"]
    assert [n["id"] for n in first["nodes"] + second["nodes"]] == [april.id, march.id]  # newest first
    assert kanzlei(DETAIL, {"id": july.id})["invoice"] is None
    assert ids(nordit) == [july.id] and nordit(DETAIL, {"id": march.id})["invoice"] is None
    assert ids(kanzlei, **{"from": "2026-03-15", "to": "2026-12-31"}) == [april.id]


def test_a_cursor_of_another_organisations_list_is_refused(as_user, demo, biller):
    biller.run(at("2026-03-02T10:00:00"), biller.item("kanzlei", "50.00", partner="nordit"), biller.item("direkt", "5.00"))
    biller.run(at("2026-04-02T10:00:00"), biller.item("kanzlei", "50.00", partner="nordit"), biller.item("direkt", "5.00"))
    ops = as_user("distributor")
    page = ops(INVOICES, {"org": demo.customers["direkt"].id, "first": 1})["invoices"]
    assert page["pageInfo"]["hasNextPage"]
    response = as_user("kanzlei_office").post(INVOICES, {"first": 1, "after": page["pageInfo"]["endCursor"]}).json()
    assert response["data"] is None and response["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


# --- detail, payments, credit notes -------------------------------------------------------


def test_invoice_detail_shows_lines_vat_payments_credit_notes_and_a_short_lived_download_url(as_user, services, clock, issued):
    invoice = issued["kanzlei"]
    clock.now = at("2026-12-01T10:00:00")
    ops = as_user("distributor")
    assert ops(PAY, {"input": {"invoiceId": invoice.id, "amount": "50.00", "paidOn": "2026-11-30", "reference": "BANK-1"}})["paymentRecord"]["errors"] == []
    credit = ops(CREDIT, {"input": {"invoiceId": invoice.id, "reason": "Doppelt erfasst", "lines": [{"lineNumber": 1, "netAmount": "20.00"}]}})
    assert credit["creditNoteCreate"]["creditNote"] == {
        "number": "PH-2026-000004", "kind": "CREDIT_NOTE", "netTotal": {"amount": "-20.00"}, "grossTotal": {"amount": "-23.80"},
        "correctsInvoiceNumber": invoice.number,
    }
    (mail,) = services.mailer.sent  # the credit note is e-mailed to the payer like any invoice
    assert mail.to == ("rechnung@kanzlei.example",) and "PH-2026-000004" in mail.subject and mail.attachments
    detail = as_user("kanzlei_office")(DETAIL, {"id": invoice.id})["invoice"]
    assert detail["lines"] == [{
        "position": 1, "description": "Servicebericht SR-0002", "quantity": "1", "unitPrice": {"amount": "80.00"}, "discountPercent": "0",
        "netAmount": {"amount": "80.00"}, "vatRate": "19", "periodStart": None, "periodEnd": None,
    }]
    assert detail["vatBreakdown"] == [{"rate": "19", "net": {"amount": "80.00"}, "vat": {"amount": "15.20"}, "gross": {"amount": "95.20"}}]
    # 95.20 less the credit note's 23.80 is owed, 50.00 of it paid
    assert (detail["status"], detail["amountPaid"], detail["outstanding"]) == ("PARTIALLY_PAID", {"amount": "50.00"}, {"amount": "21.40"})
    assert detail["payments"] == [{"amount": {"amount": "50.00"}, "paidOn": "2026-11-30", "reference": "BANK-1"}]
    assert [n["number"] for n in detail["creditNotes"]] == ["PH-2026-000004"]
    assert detail["dueDate"] == "2026-12-07" and detail["billingMode"] == "CUSTOMER_PAYS"
    url = detail["downloadUrl"]
    assert "X-Amz-Expires=300" in url and f"{invoice.number}.pdf" in url


def test_recording_a_payment_is_idempotent_refuses_overpayment_and_announces_the_paid_invoice(as_user, clock, issued, monkeypatch):
    invoice = issued["direkt"]  # 99.99 + 19% = 118.99
    clock.now = at("2026-11-26T10:00:00")
    heard = []
    from infra.bootstrap import Services

    class Ledger:
        def register_paid(self, uow, invoice, event, *, now):
            heard.append(event)

    monkeypatch.setattr(Services, "invoice_ledger", property(lambda self: Ledger()))
    ops = as_user("distributor")

    def pay(amount, reference):
        return ops(PAY, {"input": {"invoiceId": invoice.id, "amount": amount, "paidOn": "2026-11-25", "reference": reference}})["paymentRecord"]

    too_much = pay("119.00", "BANK-9")
    assert too_much["invoice"] is None and [(e["code"], e["field"]) for e in too_much["errors"]] == [("CONFLICT", "amount")]
    assert "118.99" in too_much["errors"][0]["hint"]
    first = pay("118.99", "BANK-7")
    assert (first["recorded"], first["invoice"]["status"], first["invoice"]["outstanding"]) == (True, "PAID", {"amount": "0.00"})
    again = pay("118.99", "BANK-7")
    assert (again["recorded"], again["invoice"]["payments"]) == (False, [{"reference": "BANK-7"}])
    assert [(e.invoice_id, str(e.net_amount.amount)) for e in heard] == [(invoice.id, "99.99")]


def test_only_distributor_staff_record_payments_and_issue_credit_notes(as_user, issued):
    invoice = issued["kanzlei"]
    kanzlei = as_user("kanzlei_office")
    paid = kanzlei(PAY, {"input": {"invoiceId": invoice.id, "amount": "1.00", "paidOn": "2026-11-25", "reference": "X"}})["paymentRecord"]
    credit = kanzlei(CREDIT, {"input": {"invoiceId": invoice.id, "reason": "zu teuer"}})["creditNoteCreate"]
    assert [e["code"] for e in paid["errors"]] == ["FORBIDDEN"] and [e["code"] for e in credit["errors"]] == ["FORBIDDEN"]
    assert as_user("distributor")(DETAIL, {"id": invoice.id})["invoice"]["payments"] == []


@pytest.mark.parametrize(
    "mutation, variables, code, field",
    [
        (PAY, {"amount": "-5.00", "paidOn": "2026-11-25", "reference": "B"}, "INVALID_INPUT", "amount"),
        (PAY, {"amount": "5.001", "paidOn": "2026-11-25", "reference": "B"}, "INVALID_INPUT", "amount"),
        (PAY, {"amount": "5.00", "paidOn": "2026-11-25", "reference": "  "}, "INVALID_INPUT", "reference"),
        (PAY, {"amount": "5.00", "paidOn": "2026-11-01", "reference": "B"}, "INVALID_INPUT", "paidOn"),
        (PAY, {"amount": "5.00", "paidOn": "2026-11-25", "reference": "B", "currency": "USD"}, "INVALID_INPUT", "amount"),
        (CREDIT, {"reason": "x", "lines": [{"lineNumber": 9}]}, "INVALID_INPUT", "lines"),
        (CREDIT, {"reason": "x", "lines": [{"lineNumber": 1, "netAmount": "80.01"}]}, "CONFLICT", "lines.netAmount"),
        (CREDIT, {"reason": " "}, "INVALID_INPUT", "reason"),
        (CREDIT, {"reason": "x", "invoiceId": "inv_unknown"}, "NOT_FOUND", "invoiceId"),
    ],
)
def test_bad_payment_and_credit_note_input_is_a_typed_error_and_writes_nothing(as_user, issued, biller, mutation, variables, code, field):
    invoice = issued["kanzlei"]
    ops = as_user("distributor")
    result = ops(mutation, {"input": {"invoiceId": invoice.id, **variables}})
    (payload,) = result.values()
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert ops(DETAIL, {"id": invoice.id})["invoice"]["payments"] == [] and ops(DETAIL, {"id": invoice.id})["invoice"]["creditNotes"] == []
    (next_invoice,) = biller.run(NOW + timedelta(days=1), biller.item("direkt", "1.00"))
    assert next_invoice.number == "PH-2026-000004"  # no number was used up


# --- copies, archive retrieval, retention, dunning ----------------------------------------


def test_a_copy_requested_on_day_60_is_resent_free_and_on_day_61_refused_with_the_download_hint(as_user, services, clock, issued):
    invoice = issued["kanzlei"]  # issued 2026-11-23
    kanzlei = as_user("kanzlei_office")
    clock.now = at("2027-01-22T10:00:00")  # day 60
    result = kanzlei(COPY, {"input": {"invoiceId": invoice.id}})["invoiceCopyRequest"]
    assert (result["decision"], result["resent"], result["errors"]) == ("FREE_RESEND", True, [])
    (mail,) = services.mailer.sent
    assert mail.to == ("rechnung@kanzlei.example",) and mail.attachments[0].filename == f"{invoice.number}.pdf"

    clock.now = at("2027-01-23T10:00:00")  # day 61
    refused = kanzlei(COPY, {"input": {"invoiceId": invoice.id}})["invoiceCopyRequest"]
    assert refused["resent"] is False and len(services.mailer.sent) == 1
    (error,) = refused["errors"]
    assert (error["code"], error["field"]) == ("PRECONDITION_FAILED", "invoiceId")
    assert "Download invoice" in error["hint"] and "2028-11-23" in error["hint"]


def test_a_free_copy_whose_e_mail_fails_answers_delivery_failed_with_what_to_do_and_a_later_request_sends_it(
    as_user, services, clock, issued, failing_mailer, caplog,
):
    """A refusing mail service answered "Unexpected error"; nothing is charged or recorded, so asking again sends it."""
    invoice = issued["kanzlei"]  # issued 2026-11-23: free until 2027-01-22
    kanzlei = as_user("kanzlei_office")
    clock.now = at("2026-12-01T10:00:00")
    with caplog.at_level(logging.ERROR):
        body = kanzlei.post(COPY, {"input": {"invoiceId": invoice.id}}).json()
    assert "errors" not in body, body["errors"]
    refused = body["data"]["invoiceCopyRequest"]
    assert (refused["decision"], refused["resent"], refused["retrievalInvoice"]) == ("FREE_RESEND", False, None)
    (error,) = refused["errors"]
    assert (error["code"], error["field"]) == ("DELIVERY_FAILED", "invoiceId")
    assert invoice.number in error["message"] and "rechnung@kanzlei.example" in error["message"]
    assert "Try again later" in error["hint"] and "2027-01-22" in error["hint"]
    assert any(invoice.number in r.getMessage() and "rechnung@kanzlei.example" in r.getMessage() for r in caplog.records)

    failing_mailer.restore()
    sent = kanzlei(COPY, {"input": {"invoiceId": invoice.id}})["invoiceCopyRequest"]
    assert (sent["decision"], sent["resent"], sent["errors"]) == ("FREE_RESEND", True, [])
    (mail,) = services.mailer.sent
    assert mail.subject == f"Kopie / Copy: Rechnung / Invoice {invoice.number}" and mail.to == ("rechnung@kanzlei.example",)


def test_a_copy_of_another_organisations_invoice_is_not_found(as_user, issued):
    result = as_user("nordit_admin")(COPY, {"input": {"invoiceId": issued["kanzlei"].id}})["invoiceCopyRequest"]
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


def test_an_invoice_no_longer_online_needs_a_paid_archive_retrieval_issued_as_its_own_invoice(as_user, services, biller):
    (old,) = biller.run(at("2024-09-02T10:00:00"), biller.item("kanzlei", "40.00", partner="nordit"))  # online until 2026-09-02
    services.mailer.sent.clear()
    kanzlei = as_user("kanzlei_office")
    refused = kanzlei(COPY, {"input": {"invoiceId": old.id}})["invoiceCopyRequest"]
    assert refused["retrievalInvoice"] is None and "archive retrieval" in refused["errors"][0]["hint"]
    assert kanzlei(COPY, {"input": {"invoiceId": old.id, "archiveHours": 0}})["invoiceCopyRequest"]["errors"][0]["field"] == "hours"

    ordered = kanzlei(COPY, {"input": {"invoiceId": old.id, "archiveHours": 3}})["invoiceCopyRequest"]
    retrieval = ordered["retrievalInvoice"]
    assert ordered["decision"] == "ARCHIVE_RETRIEVAL_REQUIRED" and ordered["errors"] == []
    # EUR 100.00 (opening and the first hour) + 2 further hours at 60.00 = 220.00 net, 261.80 gross, due at once
    assert (retrieval["netTotal"], retrieval["grossTotal"]) == ({"amount": "220.00"}, {"amount": "261.80"})
    assert retrieval["issueDate"] == retrieval["dueDate"] == "2026-11-23" and retrieval["number"] == "PH-2026-000001"
    (mail,) = services.mailer.sent
    assert retrieval["number"] in mail.subject and mail.to == ("rechnung@kanzlei.example",)


def test_an_archive_retrieval_whose_e_mail_fails_is_issued_without_an_error_and_delivered_by_the_billing_run(
    as_user, services, biller, failing_mailer, caplog,
):
    """The retrieval invoice is issued before it is e-mailed: a refusing mail service answered "Unexpected error" for an
    invoice that existed, and the customer would order (and pay) the retrieval twice."""
    (old,) = biller.run(at("2024-09-02T10:00:00"), biller.item("kanzlei", "40.00", partner="nordit"))
    with caplog.at_level(logging.ERROR):
        body = as_user("kanzlei_office").post(COPY, {"input": {"invoiceId": old.id, "archiveHours": 3}}).json()
    assert "errors" not in body, body["errors"]
    ordered = body["data"]["invoiceCopyRequest"]
    assert ordered["errors"] == [] and ordered["retrievalInvoice"]["number"] == "PH-2026-000001"
    today = date(2026, 11, 23)
    [stored] = services.uow().invoices.list_for_payer(old.payer_id, issued_from=today, issued_to=today, status=None, limit=10, cursor=None).items
    assert stored.number == "PH-2026-000001"
    assert any("PH-2026-000001" in r.getMessage() and old.number in r.getMessage() for r in caplog.records)
    failing_mailer.restore()
    assert invoicing.deliver_pending(services.uow, today, documents=services.documents, mailer=services.mailer,
                                     renderer=services.invoice_renderer, now=NOW) == (1, 0)
    (mail,) = services.mailer.sent
    assert "PH-2026-000001" in mail.subject and mail.to == ("rechnung@kanzlei.example",)


def test_the_payer_downloads_an_invoice_until_its_last_online_day_and_from_the_next_berlin_day_gets_the_archive_hint(
    as_user, clock, demo, biller,
):
    # issued 2023-01-31: online until 2025-01-31 inclusive, archived from 2025-02-01 (Berlin)
    issued = biller.run(at("2023-01-31T10:00:00"), biller.item("kanzlei", "40.00", partner="nordit"), biller.item("hanse", "50.00", partner="nordit"))
    by_payer = {i.payer_id: i for i in issued}
    payers = [(as_user("kanzlei_office"), by_payer[demo.customers["kanzlei"].id]), (as_user("nordit_admin"), by_payer[demo.partners["nordit"].id])]

    clock.now = at("2025-01-31T22:30:00")  # 23:30 on 2025-01-31 in Berlin: the last online day
    for payer, invoice in payers:
        online = payer(DOWNLOAD, {"id": invoice.id})["invoice"]
        assert f"{invoice.number}.pdf" in online["downloadUrl"] and online["downloadRefusal"] is None

    clock.now = at("2025-01-31T23:30:00")  # 00:30 on 2025-02-01 in Berlin
    for payer, invoice in payers:
        archived = payer(DOWNLOAD, {"id": invoice.id})["invoice"]
        assert archived["downloadUrl"] is None
        refusal = archived["downloadRefusal"]
        assert (refusal["code"], refusal["field"]) == ("PRECONDITION_FAILED", None)
        assert invoice.number in refusal["message"] and "until 2025-01-31" in refusal["message"]
        assert "archive retrieval" in refusal["hint"] and "100.00" in refusal["hint"]
    copy = as_user("kanzlei_office")(COPY, {"input": {"invoiceId": payers[0][1].id}})["invoiceCopyRequest"]
    assert "archive retrieval" in copy["errors"][0]["hint"]  # the copy request agrees: a paid retrieval

    ops = as_user("distributor")  # staff carry out the archive retrieval, so they still fetch the PDF
    for _, invoice in payers:
        staff_view = ops(DOWNLOAD, {"id": invoice.id})["invoice"]
        assert f"{invoice.number}.pdf" in staff_view["downloadUrl"] and staff_view["downloadRefusal"] is None


def test_an_invoice_cannot_be_deleted_within_the_ten_year_retention(as_user, clock, issued):
    ops, invoice_id = as_user("distributor"), issued["direkt"].id  # issued 2026-11-23: kept until 2036-12-31
    clock.now = at("2036-12-31T12:00:00")
    result = ops(DELETE, {"id": invoice_id})["invoiceDelete"]
    assert result["deletedInvoiceId"] is None
    assert result["errors"][0]["code"] == "PRECONDITION_FAILED" and "2037-01-01" in result["errors"][0]["hint"]
    assert ops(DETAIL, {"id": invoice_id})["invoice"] is not None
    assert as_user("kanzlei_office")(DELETE, {"id": issued["kanzlei"].id})["invoiceDelete"]["errors"][0]["code"] == "FORBIDDEN"
    clock.now = at("2037-01-01T12:00:00")
    assert ops(DELETE, {"id": invoice_id})["invoiceDelete"] == {"deletedInvoiceId": invoice_id, "errors": []}
    assert ops(DETAIL, {"id": invoice_id})["invoice"] is None


def test_the_dunning_list_shows_open_invoices_past_their_due_date_to_the_distributor_only(as_user, clock, issued):
    ops = as_user("distributor")
    assert ops(OVERDUE)["overdueInvoices"]["nodes"] == []
    clock.now = at("2026-12-08T10:00:00")  # due 2026-12-07
    assert {n["number"] for n in ops(OVERDUE)["overdueInvoices"]["nodes"]} == {i.number for i in issued.values()}
    ops(PAY, {"input": {"invoiceId": issued["direkt"].id, "amount": "118.99", "paidOn": "2026-12-08", "reference": "B-1"}})
    assert issued["direkt"].number not in {n["number"] for n in ops(OVERDUE)["overdueInvoices"]["nodes"]}
    assert ops(DETAIL, {"id": issued["kanzlei"].id})["invoice"]["overdue"] is True
    response = as_user("nordit_admin").post(OVERDUE).json()
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_an_invoice_list_with_nested_credit_notes_costs_the_same_for_8_and_12_documents(as_user, services, demo, biller):
    from tests.request_counter import count_requests

    ops = as_user("distributor")
    invoices = [biller.run(at(f"2026-0{month}-02T10:00:00"), biller.item("direkt", "10.00"))[0] for month in range(1, 7)]
    for invoice in invoices:
        assert ops(CREDIT, {"input": {"invoiceId": invoice.id, "reason": "Kulanz", "lines": [{"lineNumber": 1, "netAmount": "1.00"}]}})[
            "creditNoteCreate"]["errors"] == []
    query = """query($org: ID!, $first: Int!) { invoices(organisationId: $org, first: $first) {
        nodes { number kind creditNotes { number correctsInvoiceNumber grossTotal { amount } } } } }"""

    def listed(first):
        with count_requests() as count:
            nodes = ops(query, {"org": demo.customers["direkt"].id, "first": first})["invoices"]["nodes"]
        assert len(nodes) == first
        return count, nodes

    (eight, _), (twelve, nodes) = listed(8), listed(12)  # the 6 credit notes (newest) and 2 or 6 invoices
    corrected = {n["number"]: n["creditNotes"] for n in nodes if n["kind"] == "INVOICE"}
    assert sorted(corrected) == sorted(i.number for i in invoices)
    assert all([(c["correctsInvoiceNumber"], c["grossTotal"]) for c in notes] == [(number, {"amount": "-1.19"})]
               for number, notes in corrected.items())
    # principal + one Query for the page + two BatchGets (credit note ids, credit notes), however long the page
    assert eight.operations == twelve.operations == {"GetItem": 1, "Query": 1, "BatchGetItem": 2}
