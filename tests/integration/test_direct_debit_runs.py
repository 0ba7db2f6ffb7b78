"""Direct-debit runs: the distributor's SEPA pain.008 file of the direct-debit invoices due by a collection date.

Direktkunde Müller hosts from 2026-11-01 for EUR 300.00 a month under mandate MNDT-2026-0042 (signed 2026-10-20):
December is invoiced on 2026-12-01 (357.00 gross, due 2026-12-15) by direct debit; its service report of 80.00 by
transfer. The distributor (Cloud Distribution GmbH, DE02 1203 0000 0000 2020 51, BYLADEM1001) has the creditor
identifier DE98ZZZ09999999999.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.billing import ServiceItem
from domain.contracts import ContractKind, Rates
from domain.direct_debits import Creditor, collection_claim
from domain.errors import ConcurrentUpdate, Conflict, Forbidden, PreconditionFailed, ValidationFailed
from domain.invoices import Overpayment
from domain.money import Money
from domain.policy import Principal
from domain.services import billing
from domain.services import contracts as contract_svc
from domain.services import direct_debits as svc
from domain.services import organisations as org_svc
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.sepa import render_direct_debits

CREDITOR = Creditor("Cloud Distribution GmbH", "DE02120300000000202051", "BYLADEM1001", "DE98ZZZ09999999999")
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def hosted_under_mandate(services, ops: Principal, customer_id: str, start: date, monthly: str) -> None:
    """`customer_id` hosts from `start` (the 1st) for `monthly` EUR a month under mandate MNDT-2026-0042, signed a
    month before; the first month is booked and billed on `start`."""
    signed = date(start.year - (start.month == 1), start.month - 1 or 12, 20)
    contract_svc.create_contract(
        DynamoUnitOfWork(), ops,
        contract_svc.NewContract(customer_id, ContractKind.DATA_CENTRE_HOSTING, start, Rates(Money.of("95.00")), monthly_flat_rate=Money.of(monthly)),
        now=utc(signed.year, signed.month, signed.day, 9),
    )
    org_svc.set_sepa_mandate(DynamoUnitOfWork(), ops, customer_id, org_svc.MandateDetails(
        "MNDT-2026-0042", "DE89370400440532013000", "Direktkunde Müller e.K.", signed), now=utc(signed.year, signed.month, 25, 9))
    contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=start, now=utc(start.year, start.month, 1, 0, 45))
    billing.run_billing(DynamoUnitOfWork, run_date=start, now=utc(start.year, start.month, 1, 21), documents=services.documents,
                        mailer=services.mailer, renderer=services.invoice_renderer, sepa_creditor_id=CREDITOR.creditor_id)


@pytest.fixture
def invoiced(services, demo):
    ops = Principal.of(demo.users["distributor"])
    direkt = demo.customers["direkt"].id
    hosted_under_mandate(services, ops, direkt, date(2026, 11, 1), "300.00")
    contract_svc.book_flat_rate_months(DynamoUnitOfWork, run_date=date(2026, 12, 1), now=utc(2026, 12, 1, 0, 45))
    uow = DynamoUnitOfWork()
    with uow:
        uow.service_items.add(ServiceItem(direkt, "Service report sr_1201", Decimal(1), Money.of("80.00"), "sr_1201"), bill_date=date(2026, 12, 1))
        uow.commit()
    billing.run_billing(DynamoUnitOfWork, run_date=date(2026, 12, 1), now=utc(2026, 12, 1, 21), documents=services.documents,
                        mailer=services.mailer, renderer=services.invoice_renderer, sepa_creditor_id=CREDITOR.creditor_id)
    page = DynamoUnitOfWork().invoices.list_for_payer(direkt, issued_from=None, issued_to=None, status=None, limit=10, cursor=None)
    by_line = {i.lines[0].description: i for i in page.items}
    return ops, (by_line["Data-centre hosting November 2026"], by_line["Data-centre hosting December 2026"], by_line["Service report sr_1201"])


def create(services, principal, collection_date: date, *, now=utc(2026, 12, 10, 9), creditor=CREDITOR):
    return svc.create_direct_debit_run(DynamoUnitOfWork(), services.documents, principal, creditor=creditor,
                                       collection_date=collection_date, render=render_direct_debits, now=now)


def test_a_run_puts_the_due_direct_debit_invoices_into_one_pain_008_file_under_their_mandates(services, invoiced):
    ops, (november, december, report) = invoiced
    assert [i.payment_method.value for i in (november, december, report)] == ["SEPA_DIRECT_DEBIT", "SEPA_DIRECT_DEBIT", "TRANSFER"]

    run = create(services, ops, date(2026, 12, 15))

    assert (set(run.invoice_ids), run.total, run.not_collected) == ({november.id, december.id}, Money.of("714.00"), ())
    root = ET.fromstring(services.documents.get(run.document_key))
    info = root.find("p:CstmrDrctDbtInitn/p:PmtInf", NS)
    assert info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) == "RCUR"
    assert info.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS) == "CORE"
    assert info.findtext("p:ReqdColltnDt", namespaces=NS) == "2026-12-15"
    assert info.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE02120300000000202051"
    assert info.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == "DE98ZZZ09999999999"
    debits = [
        (tx.findtext("p:InstdAmt", namespaces=NS), tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS),
         tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS), tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS),
         tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS))
        for tx in info.findall("p:DrctDbtTxInf", NS)
    ]
    assert debits == [
        ("357.00", "MNDT-2026-0042", "2026-10-20", "DE89370400440532013000", f"Rechnung / Invoice {november.number}"),
        ("357.00", "MNDT-2026-0042", "2026-10-20", "DE89370400440532013000", f"Rechnung / Invoice {december.number}"),
    ]
    assert DynamoUnitOfWork().invoices.debit_run_of(december.id) == run.id
    assert DynamoUnitOfWork().direct_debit_runs.get(run.id).invoice_ids == run.invoice_ids


def test_each_invoice_is_collected_once_and_a_run_with_nothing_to_collect_changes_nothing(services, invoiced):
    ops, _ = invoiced
    create(services, ops, date(2026, 12, 15))
    with pytest.raises(PreconditionFailed, match="No direct-debit invoice is due"):
        create(services, ops, date(2026, 12, 31))
    assert len(DynamoUnitOfWork().direct_debit_runs.list(limit=10, cursor=None).items) == 1


def test_a_run_takes_only_what_is_due_by_its_collection_date(services, invoiced):
    ops, (november, _, _) = invoiced  # issued 2026-11-01, due 2026-11-15
    run = create(services, ops, date(2026, 11, 30), now=utc(2026, 11, 20, 9))
    assert run.invoice_ids == (november.id,)


def test_the_collection_date_must_be_ahead_the_creditor_configured_and_the_actor_the_distributor(services, demo, invoiced):
    ops, _ = invoiced
    with pytest.raises(PreconditionFailed, match="not ahead"):
        create(services, ops, date(2026, 12, 10))
    with pytest.raises(PreconditionFailed, match="creditor account is not configured"):
        create(services, ops, date(2026, 12, 15), creditor=Creditor("Cloud Distribution GmbH", "DE02120300000000202051", "BYLADEM1001", ""))
    with pytest.raises(Forbidden):
        create(services, Principal.of(demo.users["nordit_admin"]), date(2026, 12, 15))
    assert DynamoUnitOfWork().direct_debit_runs.list(limit=10, cursor=None).items == []


def test_uncollectable_invoices_at_the_head_of_the_queue_are_taken_out_so_the_queue_never_stalls(services, invoiced):
    from domain.services import invoices as invoicing

    ops, (november, december, _) = invoiced
    invoicing.record_payment(DynamoUnitOfWork, ops, november.id, amount=november.gross_total, paid_on=date(2026, 11, 20),
                             reference="BANK-4711", now=datetime(2026, 12, 1, 9, tzinfo=timezone.utc), ledger=None)

    def run_of_one():  # a run that reads one invoice: the queue's head only
        return svc.create_direct_debit_run(DynamoUnitOfWork(), services.documents, ops, creditor=CREDITOR, collection_date=date(2026, 12, 15),
                                           render=render_direct_debits, now=utc(2026, 12, 10, 9), max_invoices=1)

    first = run_of_one()  # November, paid meanwhile, is all it finds: taken out with its reason, no file
    assert (first.invoice_ids, first.document_key, first.total) == ((), None, Money.of("0.00"))
    assert [(n.invoice_id, n.reason) for n in first.not_collected] == [(november.id, "paid meanwhile; nothing to collect")]
    second = run_of_one()  # the next run reaches December behind it
    assert second.invoice_ids == (december.id,) and second.total == Money.of("357.00") and second.document_key
    with pytest.raises(PreconditionFailed, match="No direct-debit invoice is due"):
        run_of_one()


def test_what_a_credit_note_credits_is_not_debited(services, invoiced):
    from domain.invoices import CreditItem
    from domain.services import invoices as invoicing

    ops, (november, december, _) = invoiced  # 357.00 each (300.00 + 19 % VAT)
    full = invoicing.create_credit_note(DynamoUnitOfWork, ops, december.id, reason="Hosting cancelled", lines=None,
                                        now=utc(2026, 12, 5, 9), prefix="RE", ledger=None)
    invoicing.create_credit_note(DynamoUnitOfWork, ops, november.id, reason="Outage 3 days", now=utc(2026, 12, 5, 9), prefix="RE",
                                 lines=[CreditItem(1, Money.of("30.00"))], ledger=None)  # 30.00 + 5.70 VAT
    run = create(services, ops, date(2026, 12, 15))
    assert run.invoice_ids == (november.id,) and run.total == Money.of("321.30")  # 357.00 - 35.70
    assert [(r.invoice_id, r.amount) for r in DynamoUnitOfWork().direct_debit_runs.get(run.id).requested] == [(november.id, Money.of("321.30"))]
    assert [(n.invoice_id, n.reason) for n in run.not_collected] == [(december.id, f"credited by {full.number}; nothing to collect")]


# --- the bank's collection: what is recorded under a run adds up to at most what its file asked for the invoice ------


@pytest.fixture
def october(services, demo):
    """Direkt hosts from 2026-10-01 for EUR 100.00 a month under mandate MNDT-2026-0042: October is invoiced on
    2026-10-01 by direct debit, 119.00 gross, due 2026-10-15."""
    ops = Principal.of(demo.users["distributor"])
    direkt = demo.customers["direkt"].id
    hosted_under_mandate(services, ops, direkt, date(2026, 10, 1), "100.00")
    page = DynamoUnitOfWork().invoices.list_for_payer(direkt, issued_from=None, issued_to=None, status=None, limit=10, cursor=None)
    [invoice] = [i for i in page.items if i.lines[0].description == "Data-centre hosting October 2026"]
    assert (invoice.gross_total, invoice.due_date, invoice.payment_method.value) == (Money.of("119.00"), date(2026, 10, 15), "SEPA_DIRECT_DEBIT")
    return ops, invoice


def credit_19(ops, invoice, when: datetime, *, net: str = "15.97", gross: str = "-19.00"):
    """A credit note of 15.97 net, -19.00 gross (or of ``net``, ``gross``)."""
    from domain.invoices import CreditItem
    from domain.services import invoices as invoicing

    note = invoicing.create_credit_note(DynamoUnitOfWork, ops, invoice.id, reason="Outage", lines=[CreditItem(1, Money.of(net))],
                                        now=when, prefix="RE", ledger=None)
    assert note.gross_total == Money.of(gross)
    return note


def collect(ops, invoice, amount: str, reference: str = "PH2026000001", *, paid_on=date(2026, 10, 15)):
    from domain.services import invoices as invoicing

    return invoicing.record_payment(DynamoUnitOfWork, ops, invoice.id, amount=Money.of(amount), paid_on=paid_on, reference=reference,
                                    now=utc(2026, 10, 16, 9), ledger=None, direct_debit_collection=True)


def tally(run, invoice):
    """The run's claim of the invoice: the references recorded under it and their total in cents."""
    return DynamoUnitOfWork().uniques.tally_of(collection_claim(run.id, invoice.id))


def stored(*invoices):
    found = DynamoUnitOfWork().invoices.get_many([i.id for i in invoices])
    return tuple(found[i.id] for i in invoices)


def test_the_bank_collecting_what_the_file_asked_after_a_credit_note_makes_the_credit_note_refund_the_excess(services, october):
    """A credit note of 19.00 before the file of 2026-10-10 (it asks 100.00), one of 11.90 after it (88.10 owed); the
    bank collects the 100.00 on 2026-10-15: PAID, the second credit note refunds 11.90. 119.00, what is unpaid of the
    gross, is refused: before 40eeb7f it was recorded and the first credit note refunded 19.00 the bank never took."""
    ops, invoice = october
    before_the_file = credit_19(ops, invoice, utc(2026, 10, 5, 9))
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    assert [(r.invoice_id, r.amount) for r in DynamoUnitOfWork().direct_debit_runs.get(run.id).requested] == [(invoice.id, Money.of("100.00"))]
    after_the_file = credit_19(ops, invoice, utc(2026, 10, 12, 9), net="10.00", gross="-11.90")
    before = stored(invoice, before_the_file, after_the_file)
    assert (before[0].outstanding, before[2].amount_due) == (Money.of("88.10"), Money.of("0.00"))  # set off against what was owed

    with pytest.raises(Overpayment) as refused:  # within the 119.00 unpaid of the gross, beyond the 100.00 the file asked
        collect(ops, invoice, "119.00")
    assert refused.value.field == "amount" and "EUR 100.00" in refused.value.message
    assert stored(invoice, before_the_file, after_the_file) == before

    collected = collect(ops, invoice, "100.00")
    assert collected.recorded and collected.invoice.status.value == "PAID"
    assert [n.amount_due for n in stored(before_the_file, after_the_file)] == [Money.of("0.00"), Money.of("11.90")]  # refund due


def test_a_partial_first_entry_leaves_the_rest_of_what_the_bank_collected_to_record(services, october):
    """The file of 2026-10-10 asks 119.00, a credit note of 19.00 follows on 2026-10-12, the bank collects 119.00 on
    2026-10-15. The clerk records 100.00 first: the remaining 19.00 is recorded too (it was refused as recorded
    already, and as a transfer it is an overpayment), and the credit note refunds the 19.00 paid too much."""
    ops, invoice = october
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    note = credit_19(ops, invoice, utc(2026, 10, 12, 9))
    assert collect(ops, invoice, "100.00", "PH2026000001").recorded
    assert stored(note)[0].amount_due == Money.of("0.00")

    rest = collect(ops, invoice, "19.00", "PH2026000001-2")
    assert rest.recorded and (rest.invoice.amount_paid, rest.invoice.status.value) == (Money.of("119.00"), "PAID")
    assert stored(note)[0].amount_due == Money.of("19.00")  # the refund of what the customer paid too much
    after = stored(invoice, note)
    assert not collect(ops, invoice, "19.00", "PH2026000001-2").recorded  # the same payment again
    with pytest.raises(Overpayment):  # the file asked 119.00, the whole gross: all of it is recorded
        collect(ops, invoice, "0.01", "BANK-4711", paid_on=date(2026, 10, 16))
    assert stored(invoice, note) == after
    from domain.ports import ClaimTally

    assert tally(run, invoice) == ClaimTally(("PH2026000001", "PH2026000001-2"), 11900)


def test_a_collection_dated_before_the_runs_collection_date_is_refused_and_changes_nothing(services, october):
    """The run collects on 2026-10-15: a collection paid on 2026-10-02 is no collection of its file."""
    ops, invoice = october
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    before = stored(invoice)
    with pytest.raises(ValidationFailed) as refused:
        collect(ops, invoice, "119.00", paid_on=date(2026, 10, 2))
    assert refused.value.field == "paidOn" and "2026-10-15" in refused.value.message and "2026-10-02" in refused.value.message
    assert stored(invoice) == before and DynamoUnitOfWork().uniques.owner_of(collection_claim(run.id, invoice.id)) is None
    assert collect(ops, invoice, "119.00", paid_on=date(2026, 10, 15)).recorded


def test_a_collection_beyond_what_the_file_asked_for_the_invoice_is_refused_and_changes_nothing(services, october):
    """A credit note of 19.00 before the file: it asks for 100.00. An entry of 119.00 would have been recorded (it is
    what is unpaid of the gross), the credit note refunding 19.00 the bank never collected."""
    ops, invoice = october
    note = credit_19(ops, invoice, utc(2026, 10, 5, 9))
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    assert run.total == Money.of("100.00")
    before = stored(invoice, note)

    with pytest.raises(Overpayment) as refused:
        collect(ops, invoice, "119.00")
    assert (refused.value.field, refused.value.outstanding) == ("amount", Money.of("100.00"))
    assert "100.00" in refused.value.message and run.id in refused.value.message
    assert stored(invoice, note) == before

    collected = collect(ops, invoice, "100.00")
    assert collected.recorded and collected.invoice.status.value == "PAID"
    assert stored(note)[0].amount_due == Money.of("0.00")  # set off, nothing to refund


def test_collections_under_a_run_add_up_to_what_its_file_asked_and_a_replay_changes_nothing(services, october):
    """A credit note of 19.00 before the file: it asks 100.00. 60.00 recorded, 59.00 more is refused naming the 40.00
    left (though 59.00 is unpaid of the gross), 40.00 is recorded, and then nothing more: 19.00 is still unpaid of the
    gross, but the bank collected what the file asked."""
    ops, invoice = october
    note = credit_19(ops, invoice, utc(2026, 10, 5, 9))
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))  # asks for 100.00
    first = collect(ops, invoice, "60.00", "PH2026000001")
    after_first = stored(invoice, note)

    replay = collect(ops, invoice, "60.00", "PH2026000001")  # the bank statement imported again
    assert (replay.recorded, replay.invoice) == (False, after_first[0]) and first.invoice.payments == replay.invoice.payments
    assert stored(invoice, note) == after_first
    with pytest.raises(Overpayment) as refused:
        collect(ops, invoice, "59.00", "PH2026000001-2")
    assert refused.value.field == "amount" and "EUR 40.00 left" in refused.value.message and run.id in refused.value.message
    assert "at most EUR 40.00" in refused.value.hint
    assert stored(invoice, note) == after_first

    assert collect(ops, invoice, "40.00", "PH2026000001-2").invoice.status.value == "PAID"
    after = stored(invoice, note)
    with pytest.raises(Conflict) as refused:
        collect(ops, invoice, "19.00", "PH2026000001-3")
    assert refused.value.field == "directDebitCollection" and "PH2026000001, PH2026000001-2" in refused.value.message
    assert stored(invoice, note) == after
    assert stored(note)[0].amount_due == Money.of("0.00")


def test_of_two_collections_of_an_invoice_recorded_at_the_same_time_the_second_is_refused(services, october, monkeypatch):
    """The file asks 100.00; while 19.00 (a mistaken entry) is being recorded, someone records the bank's 100.00."""
    ops, invoice = october
    note = credit_19(ops, invoice, utc(2026, 10, 5, 9))
    create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    real_commit, raced = DynamoUnitOfWork.commit, []

    def another_collection_first(self):
        if not raced:
            raced.append("PH2026000001")
            collect(ops, invoice, "100.00", "PH2026000001")
        return real_commit(self)

    monkeypatch.setattr(DynamoUnitOfWork, "commit", another_collection_first)
    with pytest.raises(Conflict) as refused:
        collect(ops, invoice, "19.00", "BANK-4711")
    assert refused.value.field == "directDebitCollection" and "PH2026000001" in refused.value.message
    assert [p.reference for p in stored(invoice)[0].payments] == ["PH2026000001"]
    assert stored(note)[0].amount_due == Money.of("0.00")


def test_a_run_stored_before_it_kept_what_it_asked_per_invoice_caps_a_collection_at_its_total(services, october):
    """Runs made before the amounts were kept (their items have no ``requested``): a collection is capped at the run's
    total (what its file asked for, for a run of one invoice) and, as before, at what is unpaid of the gross."""
    from infra.dynamo.models import DirectDebitRunModel

    ops, invoice = october
    credit_19(ops, invoice, utc(2026, 10, 5, 9))
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))  # asks for 100.00
    item = DirectDebitRunModel.get(run.id)
    item.data = {k: v for k, v in item.data.items() if k != "requested"}
    item.save()
    assert DynamoUnitOfWork().direct_debit_runs.get(run.id).requested == ()

    with pytest.raises(Overpayment):
        collect(ops, invoice, "119.00")
    assert collect(ops, invoice, "100.00").recorded


def test_a_collection_whose_claim_kept_no_total_counts_what_its_payment_recorded(services, october):
    """Collections recorded from 40eeb7f on claimed the run's invoice for their reference only. The file asks 100.00
    (a credit note of 19.00 before it); 60.00 was recorded so: 59.00 more is refused, the 40.00 left is recorded."""
    from infra.dynamo.models import UniqueClaimModel
    from domain.ports import ClaimTally

    ops, invoice = october
    credit_19(ops, invoice, utc(2026, 10, 5, 9))
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    collect(ops, invoice, "60.00", "PH2026000001")
    UniqueClaimModel(collection_claim(run.id, invoice.id), owner_id="PH2026000001").save()  # as 40eeb7f wrote it
    assert tally(run, invoice) == ClaimTally(("PH2026000001",), None)

    with pytest.raises(Overpayment) as refused:
        collect(ops, invoice, "59.00", "PH2026000001-2")
    assert "EUR 40.00 left" in refused.value.message
    assert collect(ops, invoice, "40.00", "PH2026000001-2").recorded
    assert tally(run, invoice) == ClaimTally(("PH2026000001", "PH2026000001-2"), 10000)


def test_a_tally_read_by_two_entries_at_once_never_passes_what_the_file_asked(services, october):
    """Two entries read the run's claim of October before either is written: the file asked 119.00. 100.00 and 19.00
    both fit and both count; a further 100.00, also read before, fails its condition (119.00 + 100.00 > 119.00)."""
    from domain.ports import ClaimTally

    ops, invoice = october
    run = create(services, ops, date(2026, 10, 15), now=utc(2026, 10, 10, 9))
    key = collection_claim(run.id, invoice.id)
    entries = [(DynamoUnitOfWork(), reference, cents) for reference, cents in (("PH2026000001", 10000), ("PH2026000001-2", 1900), ("BANK-4711", 10000))]
    for uow, reference, cents in entries:  # all of them read the claim before any is written
        uow.__enter__()
        assert uow.uniques.tally_of(key) is None
        uow.uniques.add_to_tally(key, reference, cents, at_most=11900, on_refused=ConcurrentUpdate("taken", field="invoiceId"))
    entries[0][0].commit()
    entries[1][0].commit()
    with pytest.raises(ConcurrentUpdate):
        entries[2][0].commit()
    assert DynamoUnitOfWork().uniques.tally_of(key) == ClaimTally(("PH2026000001", "PH2026000001-2"), 11900)
