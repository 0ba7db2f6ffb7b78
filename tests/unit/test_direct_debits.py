"""Which direct-debit invoices a run collects, for how much, under which mandate, and which it takes out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.direct_debits import plan_collection
from domain.invoices import DirectDebit, InvoiceDraft, InvoiceKind, InvoiceLine, Payment, PaymentMethod, VatTreatment
from domain.money import Money
from domain.organisations import Address, OrganisationKind, new_organisation
from domain.sepa import SepaMandate

MANDATE = SepaMandate("MNDT-2026-0042", "DE89370400440532013000", "Direktkunde Müller e.K.", date(2026, 10, 20))


def customer(mandate=MANDATE, customer_id="cus_1"):
    organisation = new_organisation(id=customer_id, kind=OrganisationKind.CUSTOMER, name="Direktkunde Müller e.K.",
                                    address=Address.create("Markt 1", "50667", "Köln"), billing_email="rechnung@direkt.example",
                                    now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    return organisation.with_sepa_mandate(mandate)


def hosting_invoice(number: str, issued: date, net: str = "300.00", payer: str = "cus_1"):
    """Issued at 22:00 UTC (23:00 Berlin) on ``issued``, due 14 days later."""
    return InvoiceDraft(
        invoice_id=f"inv_{number[-6:]}", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id=payer, customer_id=payer, currency="EUR",
        lines=(InvoiceLine.priced("Data-centre hosting", 1, Money.of(net), Decimal("19")),), vat_treatment=VatTreatment.STANDARD,
        payment_method=PaymentMethod.SEPA_DIRECT_DEBIT, direct_debit=DirectDebit("MNDT-2026-0042", "DE89 **** 3000", "DE98ZZZ09999999999"),
    ).issue(number=number, issued_at=datetime(issued.year, issued.month, issued.day, 22, tzinfo=timezone.utc))


def test_invoices_due_by_the_collection_date_are_collected_for_what_is_outstanding_oldest_first():
    december = hosting_invoice("PH-2026-000010", date(2026, 12, 1))  # due 2026-12-15, 357.00
    january = hosting_invoice("PH-2027-000001", date(2027, 1, 1))  # due 2027-01-15
    partly_paid = replace(hosting_invoice("PH-2026-000011", date(2026, 11, 16), "150.00"),  # due 2026-11-30, 178.50
                          payments=(Payment(Money.of("50.00"), date(2026, 11, 20), "TRF-1"),))
    plan = plan_collection([january, december, partly_paid], {"cus_1": customer()}, collection_date=date(2026, 12, 15))
    assert [(d.invoice_number, d.amount, d.mandate.reference) for d in plan.debits] == [
        ("PH-2026-000011", Money.of("128.50"), "MNDT-2026-0042"), ("PH-2026-000010", Money.of("357.00"), "MNDT-2026-0042"),
    ]
    assert plan.total == Money.of("485.50")
    assert plan.not_collected == ()
    assert plan.debits[0].remittance == "Rechnung / Invoice PH-2026-000011"


def test_a_paid_invoice_and_one_whose_mandate_is_gone_or_replaced_are_taken_out_with_the_reason():
    paid = replace(hosting_invoice("PH-2026-000010", date(2026, 12, 1)), payments=(Payment(Money.of("357.00"), date(2026, 12, 5), "TRF-2"),))
    revoked = hosting_invoice("PH-2026-000011", date(2026, 12, 1), payer="cus_2")
    replaced = hosting_invoice("PH-2026-000012", date(2026, 12, 1), payer="cus_3")
    payers = {"cus_1": customer(), "cus_2": customer(None, "cus_2"),
              "cus_3": customer(replace(MANDATE, reference="MNDT-2026-0099"), "cus_3")}
    plan = plan_collection([paid, revoked, replaced], payers, collection_date=date(2026, 12, 15))
    assert plan.debits == ()
    assert [(n.invoice_number, n.reason) for n in plan.not_collected] == [
        ("PH-2026-000010", "paid meanwhile; nothing to collect"),
        ("PH-2026-000011", "the mandate was revoked; collect it by transfer"),
        ("PH-2026-000012", "issued under mandate MNDT-2026-0042, now MNDT-2026-0099 is on file; collect it by transfer"),
    ]
    assert set(plan.invoice_ids) == {paid.id, revoked.id, replaced.id}


def test_a_mandate_amended_under_its_reference_is_collected_from_the_new_account():
    amended = replace(MANDATE, reference="mndt-2026-0042", iban="DE02120300000000202051")
    plan = plan_collection([hosting_invoice("PH-2026-000010", date(2026, 12, 1))], {"cus_1": customer(amended)}, collection_date=date(2026, 12, 15))
    assert [d.mandate.iban for d in plan.debits] == ["DE02120300000000202051"]


def test_a_credit_note_is_debited_never_paid_out_and_counted_once_registered_or_not():
    """357.00 due 2026-12-15; -119.00 credited leaves 238.00 owed. 200.00 paid before: 38.00 is debited. 300.00 paid
    before: nothing is debited (the 62.00 paid beyond what is owed is the credit note's refund, never a negative debit),
    whether the credit note is registered on the invoice or (issued before that) only corrects it."""
    from domain.invoices import CreditItem, credit_note_for, register_credit_note

    def credited(paid: str, *, registered: bool):
        invoice = replace(hosting_invoice("PH-2026-000010", date(2026, 12, 1)), payments=(Payment(Money.of(paid), date(2026, 12, 5), "TRF-1"),))
        note = credit_note_for(invoice, reason="Ausfall", now=datetime(2026, 12, 6, 9, tzinfo=timezone.utc), number="PH-2026-000020",
                               lines=[CreditItem(1, Money.of("100.00"))], credit_note_id="inv_cn20")
        outcome = register_credit_note(invoice, note)
        return (outcome.invoice if registered else invoice), (outcome.credit_note if registered else note)

    for registered in (True, False):
        invoice, note = credited("200.00", registered=registered)
        plan = plan_collection([invoice, note], {"cus_1": customer()}, collection_date=date(2026, 12, 15),
                               credit_notes={invoice.id: [note]})
        assert [(d.invoice_number, d.amount) for d in plan.debits] == [("PH-2026-000010", Money.of("38.00"))]

        invoice, note = credited("300.00", registered=registered)
        plan = plan_collection([invoice, note], {"cus_1": customer()}, collection_date=date(2026, 12, 15),
                               credit_notes={invoice.id: [note]})
        assert (plan.debits, plan.total) == ((), Money.of("0.00"))
        assert [n.invoice_number for n in plan.not_collected] == ["PH-2026-000010"]
    assert (note.refund_due, invoice.outstanding) == (None, Money.of("57.00"))  # not registered: the run offsets it
    assert credited("300.00", registered=True)[1].refund_due == Money.of("62.00")


# --- the bank's collection under a run ------------------------------------------------------------------------------


def run_of(*requested, legacy_total: str | None = None):
    from domain.direct_debits import DirectDebitRun, RequestedDebit

    debits = tuple(RequestedDebit(invoice_id, Money.of(amount)) for invoice_id, amount in requested)
    total = Money.of(legacy_total) if legacy_total else Money(sum((d.amount.amount for d in debits), Decimal("0.00")), "EUR")
    return DirectDebitRun(
        id="ddr_1010", created_at=datetime(2026, 10, 10, 9, tzinfo=timezone.utc), created_by="usr_ops", collection_date=date(2026, 10, 15),
        invoice_ids=tuple(invoice_id for invoice_id, _ in requested), total=total, document_key="direct-debits/ddr_1010.xml",
        requested=() if legacy_total else debits,
    )


def test_a_run_keeps_what_its_file_asks_for_each_invoice():
    """357.00 and 178.50 less 50.00 paid: the file asks 357.00 and 128.50, and the run keeps both."""
    december = hosting_invoice("PH-2026-000010", date(2026, 12, 1))
    partly_paid = replace(hosting_invoice("PH-2026-000011", date(2026, 11, 16), "150.00"),
                          payments=(Payment(Money.of("50.00"), date(2026, 11, 20), "TRF-1"),))
    plan = plan_collection([december, partly_paid], {"cus_1": customer()}, collection_date=date(2026, 12, 15))
    assert [(r.invoice_id, r.amount) for r in plan.requested] == [(partly_paid.id, Money.of("128.50")), (december.id, Money.of("357.00"))]


def test_a_collection_is_recorded_for_at_most_what_the_file_asked_for_the_invoice():
    """October 2026: 119.00 gross, the file of 2026-10-10 asks 119.00. 119.00 collected is recorded (a credit note of
    19.00 after the file then refunds 19.00: tests/integration); 1190.00 or 119.01 is refused, and so is an invoice the
    file did not ask for."""
    from domain.direct_debits import RecordedCollections, check_collection
    from domain.errors import PreconditionFailed
    from domain.invoices import Overpayment

    october = hosting_invoice("PH-2026-000009", date(2026, 10, 1), "100.00")
    run = run_of((october.id, "119.00"), ("inv_other", "357.00"))
    assert check_collection(run, october, Money.of("119.00"), paid_on=date(2026, 10, 15), recorded=None, reference="PH2026000009") == (
        RecordedCollections(("PH2026000009",), Money.of("119.00")))
    for typed in ("1190.00", "119.01"):
        with pytest.raises(Overpayment) as refused:
            check_collection(run, october, Money.of(typed), paid_on=date(2026, 10, 15), recorded=None, reference="PH2026000009")
        assert refused.value.field == "amount" and "at most EUR 119.00" in refused.value.hint
    for no_run in (None, run_of(("inv_other", "357.00"))):
        with pytest.raises(PreconditionFailed) as refused:
            check_collection(no_run, october, Money.of("119.00"), paid_on=date(2026, 10, 15), recorded=None, reference="PH2026000009")
        assert refused.value.field == "directDebitCollection"


def test_collections_recorded_under_a_run_add_up_to_what_its_file_asked_for_the_invoice():
    """The file asks 119.00; the clerk records 100.00 first (PH2026000009): the remaining 19.00 (PH2026000009-2) is
    recorded too, 19.01 is refused naming the 19.00 left, and once 119.00 is recorded nothing more is."""
    from domain.direct_debits import RecordedCollections, check_collection
    from domain.errors import Conflict
    from domain.invoices import Overpayment

    october = hosting_invoice("PH-2026-000009", date(2026, 10, 1), "100.00")
    run = run_of((october.id, "119.00"))
    first = RecordedCollections(("PH2026000009",), Money.of("100.00"))
    with pytest.raises(Overpayment) as refused:
        check_collection(run, october, Money.of("19.01"), paid_on=date(2026, 10, 15), recorded=first, reference="PH2026000009-2")
    assert refused.value.field == "amount" and "EUR 19.00 left" in refused.value.message and "PH2026000009" in refused.value.message
    assert "at most EUR 19.00" in refused.value.hint

    both = check_collection(run, october, Money.of("19.00"), paid_on=date(2026, 10, 15), recorded=first, reference="PH2026000009-2")
    assert both == RecordedCollections(("PH2026000009", "PH2026000009-2"), Money.of("119.00"))
    with pytest.raises(Conflict) as refused:
        check_collection(run, october, Money.of("0.01"), paid_on=date(2026, 10, 16), recorded=both, reference="BANK-4711")
    assert refused.value.field == "directDebitCollection" and "PH2026000009, PH2026000009-2" in refused.value.message
    assert "EUR 119.00" in refused.value.message


def test_a_collection_dated_before_the_runs_collection_date_is_refused():
    """The run collects on 2026-10-15: a collection paid on 2026-10-02 (or 2026-10-14) is no collection of its file."""
    from domain.direct_debits import check_collection
    from domain.errors import ValidationFailed

    october = hosting_invoice("PH-2026-000009", date(2026, 10, 1), "100.00")
    run = run_of((october.id, "119.00"))
    for early in (date(2026, 10, 2), date(2026, 10, 14)):
        with pytest.raises(ValidationFailed) as refused:
            check_collection(run, october, Money.of("119.00"), paid_on=early, recorded=None, reference="PH2026000009")
        assert refused.value.field == "paidOn" and "2026-10-15" in refused.value.message and early.isoformat() in refused.value.message
    assert check_collection(run, october, Money.of("119.00"), paid_on=date(2026, 10, 15), recorded=None, reference="PH2026000009").total == (
        Money.of("119.00"))


def test_a_claim_written_before_the_total_was_kept_stands_for_its_payment_on_the_invoice():
    """A collection recorded with 40eeb7f's claim (its reference only): what it recorded is that payment's amount."""
    from domain.direct_debits import RecordedCollections

    october = replace(hosting_invoice("PH-2026-000009", date(2026, 10, 1), "100.00"), payments=(
        Payment(Money.of("30.00"), date(2026, 10, 5), "TRF-1"), Payment(Money.of("89.00"), date(2026, 10, 15), "PH2026000009")))
    assert RecordedCollections.of_payments(october, ("PH2026000009",)) == RecordedCollections(("PH2026000009",), Money.of("89.00"))


def test_a_run_made_before_it_kept_the_amounts_caps_a_collection_at_its_total():
    """Such a run knows its invoices and its total only: 100.00 for October alone is what its file asked; with a second
    invoice of 357.00 in it, 457.00 bounds October's collection (what is unpaid of its gross bounds it as well)."""
    from domain.direct_debits import check_collection
    from domain.invoices import Overpayment

    october = hosting_invoice("PH-2026-000009", date(2026, 10, 1), "100.00")
    alone = run_of((october.id, "0"), legacy_total="100.00")
    assert alone.requested == () and alone.collectable(october.id) == Money.of("100.00")
    with pytest.raises(Overpayment):
        check_collection(alone, october, Money.of("119.00"), paid_on=date(2026, 10, 15), recorded=None, reference="PH2026000009")
    assert run_of((october.id, "0"), ("inv_other", "0"), legacy_total="457.00").collectable(october.id) == Money.of("457.00")
    assert alone.collectable("inv_other") is None
