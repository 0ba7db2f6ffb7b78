"""Credit notes reduce what is owed and what is commissioned; payments and credit notes are written with their ledger
entries in one transaction; a payment is never dated after today.

Demo: Direktkunde Müller pays itself and counts as referred by NordIT (Registered: 10 % commission). Each invoice
below is issued on 2026-11-23 by the billing run: net 1000.00, gross 1190.00, due 2026-12-07.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.conftest import NOW
from tests.crash import collide_first_commit
from tests.e2e.test_commission_wiring import commissions, referred  # noqa: F401  (referred is a fixture)
from tests.e2e.test_invoices_api import CREDIT, PAY, biller  # noqa: F401  (biller is a fixture)

DUNNING = "query { overdueInvoices(first: 50) { nodes { number status outstanding { amount } } } }"
STATE = "query($id: ID!) { invoice(id: $id) { status outstanding { amount } amountPaid { amount } payments { reference } creditNotes { number } } }"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def credit(ops, invoice_id: str, net: str | None = None) -> dict:
    lines = [{"lineNumber": 1, "netAmount": net}] if net else None
    return ops(CREDIT, {"input": {"invoiceId": invoice_id, "reason": "zu viel berechnet", "lines": lines}})["creditNoteCreate"]


def pay(ops, invoice_id: str, amount: str, paid_on: str = "2026-11-30", reference: str = "BANK-1") -> dict:
    return ops(PAY, {"input": {"invoiceId": invoice_id, "amount": amount, "paidOn": paid_on, "reference": reference}})["paymentRecord"]


def overdue(ops, number: str) -> list:
    return [n for n in ops(DUNNING)["overdueInvoices"]["nodes"] if n["number"] == number]


def test_a_partly_credited_invoice_paid_in_what_is_owed_is_paid_off_the_dunning_list_and_commissioned_on_the_rest(
    as_user, biller, referred, clock,
):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    assert credit(ops, invoice.id, "400.00")["creditNote"]["grossTotal"] == {"amount": "-476.00"}
    state = ops(STATE, {"id": invoice.id})["invoice"]
    assert (state["status"], state["outstanding"]) == ("ISSUED", {"amount": "714.00"})  # 1190.00 - 476.00

    clock.now = at("2026-12-01T09:00:00")
    paid = pay(ops, invoice.id, "714.00")
    assert paid["errors"] == [] and (paid["invoice"]["status"], paid["invoice"]["outstanding"]) == ("PAID", {"amount": "0.00"})
    # 10 % of the 600.00 net left, approved 90 days after the payment
    assert commissions(as_user, referred) == [{"kind": "COMMISSION", "status": "PENDING", "amount": {"amount": "60.00"},
                                               "invoiceId": invoice.id, "customerPaidOn": "2026-11-30", "approvalDate": "2027-02-28"}]
    clock.now = at("2026-12-20T09:00:00")
    assert overdue(ops, invoice.number) == []


def test_a_partly_credited_invoice_is_refused_more_than_it_owes(as_user, biller, referred, clock):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    credit(ops, invoice.id, "400.00")
    clock.now = at("2026-12-01T09:00:00")
    refused = pay(ops, invoice.id, "1190.00")
    assert refused["invoice"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "amount")]
    assert "714.00" in refused["errors"][0]["hint"]
    assert ops(STATE, {"id": invoice.id})["invoice"]["payments"] == [] and commissions(as_user, referred) == []


def test_an_unpaid_invoice_overdue_and_partly_credited_shows_the_rest_on_the_dunning_list(as_user, biller, clock):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    credit(ops, invoice.id, "400.00")
    clock.now = at("2026-12-20T09:00:00")
    assert overdue(ops, invoice.number) == [{"number": invoice.number, "status": "ISSUED", "outstanding": {"amount": "714.00"}}]


def test_a_fully_cancelled_unpaid_invoice_is_credited_owes_nothing_is_not_overdue_and_earns_nothing(as_user, biller, referred, clock):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    assert credit(ops, invoice.id)["creditNote"]["grossTotal"] == {"amount": "-1190.00"}
    state = ops(STATE, {"id": invoice.id})["invoice"]
    assert (state["status"], state["outstanding"]) == ("CREDITED", {"amount": "0.00"})
    clock.now = at("2026-12-20T09:00:00")
    assert overdue(ops, invoice.number) == []
    refused = pay(ops, invoice.id, "1190.00")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "amount")]
    assert commissions(as_user, referred) == []


def test_a_credit_note_that_leaves_nothing_owed_on_a_partly_paid_invoice_settles_it_and_books_the_commission(
    as_user, biller, referred, clock,
):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    clock.now = at("2026-12-01T09:00:00")
    assert pay(ops, invoice.id, "714.00")["invoice"]["status"] == "PARTIALLY_PAID"
    assert commissions(as_user, referred) == []
    assert credit(ops, invoice.id, "400.00")["errors"] == []
    assert ops(STATE, {"id": invoice.id})["invoice"]["status"] == "PAID"
    assert commissions(as_user, referred) == [{"kind": "COMMISSION", "status": "PENDING", "amount": {"amount": "60.00"},
                                               "invoiceId": invoice.id, "customerPaidOn": "2026-11-30", "approvalDate": "2027-02-28"}]


def test_a_payment_dated_after_today_is_refused_and_nothing_is_written(as_user, biller, referred):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))  # the clock stays at 2026-11-23 10:00 in Berlin
    ops = as_user("distributor")
    refused = pay(ops, invoice.id, "1190.00", paid_on="2026-11-24")
    assert refused["invoice"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "paidOn")]
    assert ops(STATE, {"id": invoice.id})["invoice"]["payments"] == [] and commissions(as_user, referred) == []
    assert pay(ops, invoice.id, "1190.00", paid_on="2026-11-23")["invoice"]["status"] == "PAID"  # today is fine


def test_a_payment_whose_commission_cannot_be_written_is_not_recorded_and_a_repeat_books_both(
    as_user, biller, referred, clock, monkeypatch,
):
    from infra.dynamo.partner_repositories import CommissionRepository

    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    clock.now = at("2026-12-01T09:00:00")
    real_add, calls = CommissionRepository.add, []

    def fails_once(self, commission):
        calls.append(commission.id)
        if len(calls) == 1:
            raise RuntimeError("ProvisionedThroughputExceededException (simulated)")
        return real_add(self, commission)

    monkeypatch.setattr(CommissionRepository, "add", fails_once)
    ops = as_user("distributor")
    response = ops.post(PAY, {"input": {"invoiceId": invoice.id, "amount": "1190.00", "paidOn": "2026-11-30", "reference": "BANK-1"}}).json()
    assert response["data"] is None or response["data"]["paymentRecord"] is None  # an unexpected error, masked
    assert ops(STATE, {"id": invoice.id})["invoice"]["payments"] == [] and commissions(as_user, referred) == []

    again = pay(ops, invoice.id, "1190.00")
    assert (again["recorded"], again["invoice"]["status"]) == (True, "PAID")
    assert [(c["status"], c["amount"]) for c in commissions(as_user, referred)] == [("PENDING", {"amount": "100.00"})]


def test_a_credit_note_whose_commission_correction_cannot_be_written_is_not_issued_and_a_repeat_voids_the_commission(
    as_user, biller, referred, clock, monkeypatch,
):
    from infra.dynamo.partner_repositories import CommissionRepository

    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    clock.now = at("2026-12-01T09:00:00")
    ops = as_user("distributor")
    pay(ops, invoice.id, "1190.00")
    real_update, calls = CommissionRepository.update, []

    def fails_once(self, commission):
        calls.append(commission.id)
        if len(calls) == 1:
            raise RuntimeError("simulated transient DynamoDB error")
        return real_update(self, commission)

    monkeypatch.setattr(CommissionRepository, "update", fails_once)
    response = ops.post(CREDIT, {"input": {"invoiceId": invoice.id, "reason": "storniert"}}).json()
    assert response["data"] is None or response["data"]["creditNoteCreate"] is None
    state = ops(STATE, {"id": invoice.id})["invoice"]
    assert (state["status"], state["creditNotes"]) == ("PAID", [])
    assert [c["status"] for c in commissions(as_user, referred)] == ["PENDING"]

    assert credit(ops, invoice.id)["errors"] == []
    assert ops(STATE, {"id": invoice.id})["invoice"]["status"] == "CREDITED"
    assert [c["status"] for c in commissions(as_user, referred)] == ["VOID"]


def test_a_payment_that_loses_a_race_for_its_ledger_entries_is_read_again_and_recorded(as_user, biller, referred, clock, monkeypatch):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    clock.now = at("2026-12-01T09:00:00")
    collide_first_commit(monkeypatch)  # e.g. a ledger entry's version moved meanwhile
    paid = pay(as_user("distributor"), invoice.id, "1190.00")
    assert (paid["errors"], paid["recorded"], paid["invoice"]["status"]) == ([], True, "PAID")
    assert [(c["status"], c["amount"]) for c in commissions(as_user, referred)] == [("PENDING", {"amount": "100.00"})]


@pytest.mark.parametrize("net, commission", [("400.00", "60.00"), (None, None)])
def test_a_credit_note_before_the_payment_reduces_the_referral_commission(as_user, biller, referred, clock, net, commission):
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    credit(ops, invoice.id, net)
    clock.now = at("2026-12-01T09:00:00")
    if net:
        pay(ops, invoice.id, "714.00")
    booked = [(c["status"], c["amount"]["amount"]) for c in commissions(as_user, referred)]
    assert booked == ([("PENDING", commission)] if commission else [])


NOTE_STATE = """query($id: ID!) { invoice(id: $id) { status outstanding { amount } creditNotes { number status refundDue { amount }
  outstanding { amount } amountPaid { amount } } } }"""


def test_a_credit_note_on_an_unpaid_invoice_refunds_nothing_it_is_set_off_against_what_is_owed(as_user, biller, clock):
    """1190.00 unpaid, a credit note of -476.00: 714.00 owed, no refund due (OFFSET); the dunning list shows the 714.00."""
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    number = credit(ops, invoice.id, "400.00")["creditNote"]["number"]
    state = ops(NOTE_STATE, {"id": invoice.id})["invoice"]
    assert (state["status"], state["outstanding"]) == ("ISSUED", {"amount": "714.00"})
    assert state["creditNotes"] == [{"number": number, "status": "OFFSET", "refundDue": {"amount": "0.00"},
                                     "outstanding": {"amount": "0.00"}, "amountPaid": {"amount": "0.00"}}]
    clock.now = at("2026-12-20T09:00:00")
    assert overdue(ops, invoice.number) == [{"number": invoice.number, "status": "ISSUED", "outstanding": {"amount": "714.00"}}]
    assert overdue(ops, number) == []


def test_a_credit_note_after_a_part_payment_refunds_only_what_was_paid_beyond_what_is_owed_once(as_user, biller, clock):
    """1000.00 paid of 1190.00, then -476.00: 714.00 is owed, so 286.00 is refunded, on the credit note only; no more."""
    [invoice] = biller.run(NOW, biller.item("direkt", "1000.00"))
    ops = as_user("distributor")
    clock.now = at("2026-12-01T09:00:00")
    assert pay(ops, invoice.id, "1000.00")["invoice"]["status"] == "PARTIALLY_PAID"
    note = credit(ops, invoice.id, "400.00")["creditNote"]
    state = ops(NOTE_STATE, {"id": invoice.id})["invoice"]
    assert (state["status"], state["outstanding"]) == ("PAID", {"amount": "0.00"})
    assert state["creditNotes"] == [{"number": note["number"], "status": "ISSUED", "refundDue": {"amount": "286.00"},
                                     "outstanding": {"amount": "286.00"}, "amountPaid": {"amount": "0.00"}}]
    clock.now = at("2026-12-20T09:00:00")
    assert overdue(ops, invoice.number) == []
    note_id = ops("query($id: ID!) { invoice(id: $id) { creditNotes { id } } }", {"id": invoice.id})["invoice"]["creditNotes"][0]["id"]
    refused = pay(ops, note_id, "476.00", paid_on="2026-12-02", reference="REFUND-1")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CONFLICT", "amount")] and "286.00" in refused["errors"][0]["hint"]
    refunded = pay(ops, note_id, "286.00", paid_on="2026-12-02", reference="REFUND-1")
    assert (refunded["invoice"]["status"], refunded["invoice"]["outstanding"]) == ("PAID", {"amount": "0.00"})


# --- a direct debit collected after a credit note ---------------------------------------------------


@pytest.fixture
def hosted(services, demo):
    """Direkt hosts from 2026-12-01 for EUR 100.00 a month under mandate MNDT-2026-0042: December is invoiced on
    2026-12-01 by direct debit, 119.00 gross, due 2026-12-15."""
    from datetime import date

    from domain import contracts as ct
    from domain.money import Money
    from domain.policy import Principal
    from domain.services import billing, contracts as contract_svc, organisations as org_svc

    ops, direkt = Principal.of(demo.users["distributor"]), demo.customers["direkt"].id
    contract_svc.create_contract(services.uow(), ops, contract_svc.NewContract(
        direkt, ct.ContractKind.DATA_CENTRE_HOSTING, date(2026, 12, 1), ct.Rates(Money.of("95.00")), monthly_flat_rate=Money.of("100.00"),
    ), now=at("2026-11-20T09:00:00"))
    org_svc.set_sepa_mandate(services.uow(), ops, direkt, org_svc.MandateDetails(
        "MNDT-2026-0042", "DE89370400440532013000", "Direktkunde Müller e.K.", date(2026, 10, 20)), now=at("2026-11-20T09:00:00"))
    contract_svc.book_flat_rate_months(services.uow, run_date=date(2026, 12, 1), now=at("2026-12-01T00:45:00"))
    billing.run_billing(services.uow, run_date=date(2026, 12, 1), now=at("2026-12-01T21:00:00"), documents=services.documents,
                        mailer=services.mailer, renderer=services.invoice_renderer, sepa_creditor_id="DE98ZZZ09999999999")
    (invoice,) = services.uow().invoices.list_for_payer(direkt, issued_from=None, issued_to=None, status=None, limit=10, cursor=None).items
    assert (invoice.payment_method.value, invoice.gross_total, invoice.due_date) == ("SEPA_DIRECT_DEBIT", Money.of("119.00"), date(2026, 12, 15))
    return invoice


RUN = """mutation($d: Date!) { directDebitRunCreate(collectionDate: $d) { run { total { amount } invoiceIds } errors { code } } }"""
COLLECT = """mutation($input: PaymentRecordInput!) { paymentRecord(input: $input) {
  recorded invoice { status amountPaid { amount } outstanding { amount } } errors { code field message hint } } }"""


def collect(ops, invoice_id: str, amount: str, *, direct_debit_collection: bool, reference: str = "PH2026000001") -> dict:
    return ops(COLLECT, {"input": {"invoiceId": invoice_id, "amount": amount, "paidOn": "2026-12-15", "reference": reference,
                                   "directDebitCollection": direct_debit_collection}})["paymentRecord"]


def test_a_direct_debit_collected_in_full_after_a_credit_note_is_recorded_and_the_credit_note_refunds_the_excess(
    as_user, hosted, referred, clock,
):
    """The file of 2026-12-10 debits 119.00; a credit note of 15.97 net (-19.00) on 2026-12-12 leaves 100.00 owed; the bank
    collects the 119.00 on 2026-12-15. It was refused as an overpayment (CONFLICT); now it is PAID, the credit note refunds
    19.00, and NordIT's 10 % commission is on the 84.03 net the customer keeps paying for (100.00 - 15.97): 8.40."""
    ops = as_user("distributor")
    clock.now = at("2026-12-10T09:00:00")
    assert ops(RUN, {"d": "2026-12-15"})["directDebitRunCreate"] == {"run": {"total": {"amount": "119.00"}, "invoiceIds": [hosted.id]}, "errors": []}
    clock.now = at("2026-12-12T09:00:00")
    assert credit(ops, hosted.id, "15.97")["creditNote"]["grossTotal"] == {"amount": "-19.00"}
    assert ops(NOTE_STATE, {"id": hosted.id})["invoice"]["creditNotes"][0]["status"] == "OFFSET"

    clock.now = at("2026-12-16T09:00:00")
    as_transfer = collect(ops, hosted.id, "119.00", direct_debit_collection=False)  # a transfer beyond what is owed: refused
    assert [(e["code"], e["field"]) for e in as_transfer["errors"]] == [("CONFLICT", "amount")]
    assert "directDebitCollection" in as_transfer["errors"][0]["hint"]
    collected = collect(ops, hosted.id, "119.00", direct_debit_collection=True)
    assert collected["errors"] == [] and collected["recorded"] is True
    assert collected["invoice"] == {"status": "PAID", "amountPaid": {"amount": "119.00"}, "outstanding": {"amount": "0.00"}}
    state = ops(NOTE_STATE, {"id": hosted.id})["invoice"]
    assert [(n["status"], n["refundDue"], n["outstanding"]) for n in state["creditNotes"]] == [
        ("ISSUED", {"amount": "19.00"}, {"amount": "19.00"})]
    assert commissions(as_user, referred) == [{"kind": "COMMISSION", "status": "PENDING", "amount": {"amount": "8.40"},
                                               "invoiceId": hosted.id, "customerPaidOn": "2026-12-15", "approvalDate": "2027-03-15"}]
    again = collect(ops, hosted.id, "119.00", direct_debit_collection=True)  # the bank import replayed: nothing changes
    assert again["recorded"] is False and ops(NOTE_STATE, {"id": hosted.id})["invoice"] == state
    assert len(commissions(as_user, referred)) == 1


def test_a_collection_is_refused_for_an_invoice_in_no_direct_debit_file_and_beyond_what_is_unpaid_of_the_gross(as_user, hosted, clock):
    ops = as_user("distributor")
    clock.now = at("2026-12-16T09:00:00")
    not_in_a_file = collect(ops, hosted.id, "119.00", direct_debit_collection=True)
    assert [(e["code"], e["field"]) for e in not_in_a_file["errors"]] == [("PRECONDITION_FAILED", "directDebitCollection")]
    clock.now = at("2026-12-10T09:00:00")
    ops(RUN, {"d": "2026-12-15"})
    clock.now = at("2026-12-16T09:00:00")
    too_much = collect(ops, hosted.id, "119.01", direct_debit_collection=True)
    assert [(e["code"], e["field"]) for e in too_much["errors"]] == [("CONFLICT", "amount")]
    assert ops(NOTE_STATE, {"id": hosted.id})["invoice"]["status"] == "ISSUED"


# --- credit notes issued before they counted on their invoices --------------------------------------


def issued_before_they_counted(services, invoice_id: str, when: str, *, registered_by_1137906: bool = False):
    """A credit note of 400.00 net (-476.00) as issued before credit notes counted on their invoices: not registered on
    the invoice; or (``registered_by_1137906``) registered with its ledger writes, but without what it refunds."""
    from domain.invoices import CreditItem, credit_note_for
    from domain.money import Money
    from domain.services import invoices as invoicing

    now = at(when)
    invoice = services.uow().invoices.get(invoice_id)

    def registered_without_refund(uow, note):
        invoicing.register_credit_note(uow, invoice, note, ledger=services.invoice_ledger, now=now)
        return None  # the note is written as it was built

    return invoicing.issue(
        services.uow, issuer_id=invoice.issuer_id, now=now, prefix="PH",
        build=lambda number: credit_note_for(invoice, reason="zu viel berechnet", now=now, number=number,
                                             lines=[CreditItem(1, Money.of("400.00"))]),
        also=registered_without_refund if registered_by_1137906 else None,
    )


def test_the_one_off_task_registers_the_credit_notes_issued_before_on_their_invoices_once(as_user, biller, referred, clock):
    """Four invoices of 1190.00 (1000.00 net) of Direkt, each with a credit note of -476.00 issued before they counted:
    1. unpaid: 714.00 owed (on the dunning list), the note refunds nothing;
    2. 714.00 paid after the note: paid, 60.00 commission, the note refunds nothing;
    3. 1000.00 paid before the note: paid, 60.00 commission, the note refunds 286.00;
    4. 1190.00 paid, then the note registered (without its refund) by 1137906: the note refunds 476.00."""
    from domain.services import invoices as invoicing

    services = biller.services
    ops = as_user("distributor")
    invoices = [biller.run(at(f"2026-11-{day}T09:00:00"), biller.item("direkt", "1000.00"))[0] for day in (23, 24, 25, 26)]
    first, second, third, fourth = (i.id for i in invoices)
    issued_before_they_counted(services, first, "2026-11-27T09:00:00")
    issued_before_they_counted(services, second, "2026-11-27T09:00:00")
    clock.now = at("2026-12-01T09:00:00")
    assert pay(ops, second, "714.00")["invoice"]["status"] == "PARTIALLY_PAID"  # what it showed: 476.00 outstanding
    assert pay(ops, third, "1000.00")["invoice"]["status"] == "PARTIALLY_PAID"
    issued_before_they_counted(services, third, "2026-12-01T09:00:00")
    assert pay(ops, fourth, "1190.00")["invoice"]["status"] == "PAID"
    issued_before_they_counted(services, fourth, "2026-12-01T09:00:00", registered_by_1137906=True)

    def stored(invoice_id):  # the oldest credit notes are not even listed on their invoices (no credit_note_ids)
        invoice, [note] = services.uow().invoices.get(invoice_id), services.uow().invoices.list_credit_notes(invoice_id)
        return invoice.status.value, str(invoice.outstanding.amount), note.status.value, str(note.outstanding.amount)

    assert [stored(i) for i in (first, second, third, fourth)] == [
        ("ISSUED", "1190.00", "ISSUED", "476.00"), ("PARTIALLY_PAID", "476.00", "ISSUED", "476.00"),
        ("PARTIALLY_PAID", "190.00", "ISSUED", "476.00"), ("PAID", "0.00", "ISSUED", "476.00"),
    ]

    def state(invoice_id):
        found = ops(NOTE_STATE, {"id": invoice_id})["invoice"]
        [note] = found["creditNotes"]
        return found["status"], found["outstanding"]["amount"], note["status"], note["outstanding"]["amount"]

    clock.now = at("2026-12-20T09:00:00")
    summary = invoicing.register_issued_credit_notes(services.uow, ledger=services.invoice_ledger, now=clock.now)
    assert (summary.read, summary.indexed, summary.conflicts) == (4, 4, 0)
    assert [state(i) for i in (first, second, third, fourth)] == [
        ("ISSUED", "714.00", "OFFSET", "0.00"), ("PAID", "0.00", "OFFSET", "0.00"),
        ("PAID", "0.00", "ISSUED", "286.00"), ("PAID", "0.00", "ISSUED", "476.00"),
    ]
    dunning = [n for n in ops(DUNNING)["overdueInvoices"]["nodes"] if n["number"] in {i.number for i in invoices}]
    assert dunning == [{"number": invoices[0].number, "status": "ISSUED", "outstanding": {"amount": "714.00"}}]
    booked = sorted((c["invoiceId"], c["status"], c["amount"]["amount"], c["customerPaidOn"]) for c in commissions(as_user, referred))
    assert booked == sorted([(second, "PENDING", "60.00", "2026-11-30"), (third, "PENDING", "60.00", "2026-11-30"),
                             (fourth, "PENDING", "60.00", "2026-11-30")])

    again = invoicing.register_issued_credit_notes(services.uow, ledger=services.invoice_ledger, now=clock.now)
    assert (again.read, again.indexed) == (4, 0)
    assert len(commissions(as_user, referred)) == 3
