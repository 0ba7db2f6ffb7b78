"""What a payer owes after credit notes, and when a payment may be dated (domain.invoices)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.commissions import InvoiceFacts, commission_for_paid_invoice
from domain.errors import ValidationFailed
from domain.invoices import (
    InvoiceDraft, InvoiceKind, InvoiceLine, InvoiceStatus, Overpayment, PaymentMethod, VatTreatment, CreditItem, credit_note_for,
    is_overdue, record_payment, refunds_after_payment, refunds_of_credits, register_credit_note,
)
from domain.money import Money

UTC = timezone.utc
TODAY = date(2026, 12, 1)


def invoice():
    """Issued 2026-11-23, due 2026-12-07: net 1000.00, gross 1190.00."""
    return InvoiceDraft(
        invoice_id="inv_1", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id="cus_1", customer_id="cus_1", currency="EUR",
        lines=(InvoiceLine.priced("Vor-Ort-Einsatz", 1, Money.of("1000.00"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER, payment_terms_days=14,
    ).issue(number="PH-2026-000001", issued_at=datetime(2026, 11, 23, 9, tzinfo=UTC))


def credited(inv, net: str | None, n: int = 2, previous=()):
    lines = [CreditItem(1, Money.of(net))] if net else None
    note = credit_note_for(inv, reason="zu viel", now=datetime(2026, 11, 24, 9, tzinfo=UTC), number=f"PH-2026-{n:06d}",
                           lines=lines, previous_credit_notes=previous, credit_note_id=f"inv_cn{n}")
    return note, register_credit_note(inv, note)


def test_a_credit_of_400_net_leaves_714_owed_of_1190_and_the_invoice_still_overdue_after_its_due_date():
    _, outcome = credited(invoice(), "400.00")
    inv = outcome.invoice
    assert (inv.amount_due, inv.outstanding, inv.status) == (Money.of("714.00"), Money.of("714.00"), InvoiceStatus.ISSUED)
    assert outcome.event is None and is_overdue(inv, date(2026, 12, 8)) and not is_overdue(inv, date(2026, 12, 7))


def test_paying_the_714_owed_after_a_credit_pays_the_invoice_and_the_event_carries_the_600_net_left():
    _, outcome = credited(invoice(), "400.00")
    paid = record_payment(outcome.invoice, Money.of("714.00"), date(2026, 11, 30), "BANK-1", today=TODAY)
    assert paid.invoice.status is InvoiceStatus.PAID and not is_overdue(paid.invoice, date(2026, 12, 20))
    assert (paid.event.net_amount, paid.event.paid_on) == (Money.of("600.00"), date(2026, 11, 30))


def test_after_a_credit_more_than_is_owed_is_refused():
    _, outcome = credited(invoice(), "400.00")
    with pytest.raises(Overpayment) as refused:
        record_payment(outcome.invoice, Money.of("1190.00"), date(2026, 11, 30), "BANK-1", today=TODAY)
    assert refused.value.outstanding == Money.of("714.00")


def test_an_unpaid_invoice_credited_in_full_is_credited_owes_nothing_is_not_overdue_and_raises_no_event():
    _, outcome = credited(invoice(), None)
    assert (outcome.invoice.status, outcome.invoice.outstanding, outcome.event) == (InvoiceStatus.CREDITED, Money.of("0.00"), None)
    assert not is_overdue(outcome.invoice, date(2026, 12, 20))


def test_a_credit_in_two_parts_that_takes_off_everything_makes_the_invoice_credited():
    first_note, first = credited(invoice(), "400.00")
    _, second = credited(first.invoice, None, n=3, previous=(first_note,))
    assert second.invoice.status is InvoiceStatus.CREDITED and second.invoice.credited_gross == Money.of("1190.00")


def test_a_credit_that_leaves_nothing_owed_on_a_partly_paid_invoice_settles_it_dated_on_the_last_payment():
    partial = record_payment(invoice(), Money.of("714.00"), date(2026, 11, 30), "BANK-1", today=TODAY).invoice
    assert partial.status is InvoiceStatus.PARTIALLY_PAID
    _, outcome = credited(partial, "400.00")
    assert outcome.invoice.status is InvoiceStatus.PAID
    assert (outcome.event.paid_on, outcome.event.net_amount) == (date(2026, 11, 30), Money.of("600.00"))


def test_a_credit_on_a_paid_invoice_raises_no_second_event_and_a_full_one_makes_it_credited():
    paid = record_payment(invoice(), Money.of("1190.00"), date(2026, 11, 30), "BANK-1", today=TODAY).invoice
    _, partly = credited(paid, "400.00")
    assert (partly.invoice.status, partly.event) == (InvoiceStatus.PAID, None)
    _, fully = credited(paid, None)
    assert (fully.invoice.status, fully.event, fully.invoice.outstanding) == (InvoiceStatus.CREDITED, None, Money.of("0.00"))


def test_registering_the_same_credit_note_again_changes_nothing():
    note, outcome = credited(invoice(), "400.00")
    assert register_credit_note(outcome.invoice, note).invoice is outcome.invoice


def test_a_payment_is_dated_today_at_the_latest():
    with pytest.raises(ValidationFailed) as refused:
        record_payment(invoice(), Money.of("1190.00"), date(2026, 12, 2), "BANK-1", today=TODAY)
    assert refused.value.field == "paidOn"
    assert record_payment(invoice(), Money.of("1190.00"), TODAY, "BANK-1", today=TODAY).invoice.status is InvoiceStatus.PAID


def facts(credited_net: str | None) -> InvoiceFacts:
    return InvoiceFacts("inv_1", "PH-2026-000001", "cus_1", "cus_1", None, True, date(2026, 11, 23), Money.of("1000.00"),
                        credited_net=Money.of(credited_net) if credited_net else None, credit_references=("inv_cn2",))


@pytest.mark.parametrize("credited_net, amount", [(None, "100.00"), ("400.00", "60.00"), ("1000.00", None)])
def test_the_referral_commission_is_its_rate_of_the_net_less_what_was_credited_before_the_payment(credited_net, amount):
    commission = commission_for_paid_invoice(facts(credited_net), partner_id="ptn_1", percent=Decimal("10"),
                                             paid_on=date(2026, 11, 30), now=datetime(2026, 12, 1, 9, tzinfo=UTC))
    assert (commission.amount if commission else None) == (Money.of(amount) if amount else None)
    if credited_net == "400.00":  # a later credit note counts from what is left
        assert (commission.base_amount, commission.credited_base, commission.credit_references) == (
            Money.of("1000.00"), Money.of("400.00"), ("inv_cn2",))


# --- what a credit note refunds -------------------------------------------------------------------


def test_a_credit_note_of_476_on_an_unpaid_invoice_of_1190_refunds_nothing_it_is_set_off_against_the_714_owed():
    note, outcome = credited(invoice(), "400.00")
    assert outcome.invoice.outstanding == Money.of("714.00")
    refund = outcome.credit_note
    assert (refund.refund_due, refund.outstanding, refund.status) == (Money.of("0.00"), Money.of("0.00"), InvoiceStatus.OFFSET)
    assert note.status is InvoiceStatus.ISSUED  # not registered: all of it counts as refund


def test_after_1000_paid_a_credit_note_of_476_leaves_714_owed_so_286_are_refunded_on_the_note_only():
    partial = record_payment(invoice(), Money.of("1000.00"), date(2026, 11, 30), "BANK-1", today=TODAY).invoice
    _, outcome = credited(partial, "400.00")
    assert (outcome.invoice.status, outcome.invoice.outstanding) == (InvoiceStatus.PAID, Money.of("0.00"))
    refund = outcome.credit_note
    assert (refund.refund_due, refund.outstanding, refund.status) == (Money.of("286.00"), Money.of("286.00"), InvoiceStatus.ISSUED)
    with pytest.raises(Overpayment):  # no more than the 286.00 is ever paid back
        record_payment(refund, Money.of("476.00"), date(2026, 12, 1), "REFUND-1", today=TODAY)
    refunded = record_payment(refund, Money.of("286.00"), date(2026, 12, 1), "REFUND-1", today=TODAY)
    assert (refunded.invoice.status, refunded.invoice.outstanding, refunded.event) == (InvoiceStatus.PAID, Money.of("0.00"), None)


def test_a_full_credit_of_a_paid_invoice_refunds_the_1190_paid():
    paid = record_payment(invoice(), Money.of("1190.00"), date(2026, 11, 30), "BANK-1", today=TODAY).invoice
    _, outcome = credited(paid, None)
    assert (outcome.invoice.status, outcome.credit_note.refund_due) == (InvoiceStatus.CREDITED, Money.of("1190.00"))


def test_each_credit_note_refunds_only_what_it_adds_to_what_was_paid_beyond_the_amount_owed():
    """Paid 1000.00; -476.00 refunds 286.00; a second -238.00 refunds 238.00 more (1000.00 paid, 476.00 owed)."""
    paid = record_payment(invoice(), Money.of("1000.00"), date(2026, 11, 30), "BANK-1", today=TODAY).invoice
    first_note, first = credited(paid, "400.00")
    _, second = credited(first.invoice, "200.00", n=3, previous=(first_note,))
    assert (first.credit_note.refund_due, second.credit_note.refund_due) == (Money.of("286.00"), Money.of("238.00"))
    assert refunds_of_credits(second.invoice) == {"inv_cn2": Money.of("286.00"), "inv_cn3": Money.of("238.00")}


def test_what_a_credit_note_refunds_read_again_later_is_what_it_refunded_when_registered():
    """-476.00 on the unpaid invoice refunds nothing; 714.00 paid then; a second -238.00 refunds 238.00."""
    first_note, first = credited(invoice(), "400.00")
    paid = record_payment(first.invoice, Money.of("714.00"), date(2026, 11, 30), "BANK-1", today=TODAY).invoice
    _, second = credited(paid, "200.00", n=3, previous=(first_note,))
    assert (first.credit_note.refund_due, second.credit_note.refund_due) == (Money.of("0.00"), Money.of("238.00"))
    assert refunds_of_credits(second.invoice) == {"inv_cn2": Money.of("0.00"), "inv_cn3": Money.of("238.00")}


def test_what_a_credit_note_refunds_is_fixed_once_registered():
    from domain.invoices import InvoiceImmutable, assert_content_unchanged

    _, outcome = credited(invoice(), "400.00")
    from dataclasses import replace

    with pytest.raises(InvoiceImmutable):
        assert_content_unchanged(outcome.credit_note, replace(outcome.credit_note, refund_due=Money.of("476.00")))


# --- a direct debit collected after a credit note ------------------------------------------------


def direct_debit_invoice():
    """Hosting December 2026, issued 2026-12-01 and due 2026-12-15 by direct debit: net 100.00, gross 119.00."""
    from domain.invoices import DirectDebit

    return InvoiceDraft(
        invoice_id="inv_dd", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id="cus_1", customer_id="cus_1", currency="EUR",
        lines=(InvoiceLine.priced("Data-centre hosting December 2026", 1, Money.of("100.00"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.SEPA_DIRECT_DEBIT, payment_terms_days=14,
        direct_debit=DirectDebit("MNDT-2026-0042", "DE89 **** 3000", "DE98ZZZ09999999999"),
    ).issue(number="PH-2026-000010", issued_at=datetime(2026, 12, 1, 9, tzinfo=UTC))


def credited_after_the_file():
    """The file of 2026-12-10 debits 119.00; then a credit note of 15.97 net (-19.00 gross) leaves 100.00 owed."""
    inv = direct_debit_invoice()
    note = credit_note_for(inv, reason="Ausfall 3 Tage", now=datetime(2026, 12, 12, 9, tzinfo=UTC), number="PH-2026-000011",
                           lines=[CreditItem(1, Money.of("15.97"))], previous_credit_notes=(), credit_note_id="inv_cn11")
    outcome = register_credit_note(inv, note)
    assert (outcome.invoice.outstanding, outcome.credit_note.refund_due, outcome.credit_note.status) == (
        Money.of("100.00"), Money.of("0.00"), InvoiceStatus.OFFSET)
    return outcome.invoice, outcome.credit_note


def test_the_bank_collecting_119_after_a_credit_note_of_19_is_recorded_paid_and_the_credit_note_refunds_the_19():
    inv, note = credited_after_the_file()
    collected = record_payment(inv, Money.of("119.00"), date(2026, 12, 15), "PH2026000010", today=date(2026, 12, 16),
                               direct_debit_collection=True)
    assert (collected.invoice.status, collected.invoice.amount_paid, collected.invoice.outstanding) == (
        InvoiceStatus.PAID, Money.of("119.00"), Money.of("0.00"))
    # the commission's base: what the customer keeps paying for, 100.00 less the 15.97 credited
    assert (collected.event.paid_on, collected.event.net_amount) == (date(2026, 12, 15), Money.of("84.03"))
    (refunding,) = refunds_after_payment(collected.invoice, [note])
    assert (refunding.id, refunding.refund_due, refunding.outstanding, refunding.status) == (
        "inv_cn11", Money.of("19.00"), Money.of("19.00"), InvoiceStatus.ISSUED)
    refunded = record_payment(refunding, Money.of("19.00"), date(2026, 12, 17), "REFUND-11", today=date(2026, 12, 17))
    assert refunded.invoice.status is InvoiceStatus.PAID


def test_a_transfer_beyond_what_is_owed_is_still_refused_with_a_hint_to_record_a_collection_as_such():
    inv, _ = credited_after_the_file()
    with pytest.raises(Overpayment) as refused:
        record_payment(inv, Money.of("119.00"), date(2026, 12, 15), "BANK-1", today=date(2026, 12, 16))
    assert refused.value.outstanding == Money.of("100.00") and "directDebitCollection" in refused.value.hint


def test_a_collection_brings_at_most_what_is_unpaid_of_the_gross_and_only_for_a_direct_debit_invoice():
    inv, _ = credited_after_the_file()
    part = record_payment(inv, Money.of("19.00"), date(2026, 12, 11), "BANK-1", today=date(2026, 12, 16)).invoice
    with pytest.raises(Overpayment):  # 19.00 paid: no file asked for more than 100.00
        record_payment(part, Money.of("119.00"), date(2026, 12, 15), "PH2026000010", today=date(2026, 12, 16), direct_debit_collection=True)
    with pytest.raises(ValidationFailed) as refused:
        record_payment(invoice(), Money.of("1190.00"), date(2026, 11, 30), "BANK-1", today=TODAY, direct_debit_collection=True)
    assert refused.value.field == "directDebitCollection"


def test_a_collection_within_what_is_owed_changes_no_credit_note():
    inv, note = credited_after_the_file()
    collected = record_payment(inv, Money.of("100.00"), date(2026, 12, 15), "PH2026000010", today=date(2026, 12, 16),
                               direct_debit_collection=True)
    assert collected.invoice.status is InvoiceStatus.PAID and refunds_after_payment(collected.invoice, [note]) == ()


def test_what_a_credit_note_refunds_grows_only_with_a_collection_and_never_shrinks():
    from dataclasses import replace

    from domain.invoices import InvoiceImmutable, assert_content_unchanged

    _, note = credited_after_the_file()  # refunds 0.00
    assert_content_unchanged(note, replace(note, refund_due=Money.of("19.00")), refund_may_grow=True)
    with pytest.raises(InvoiceImmutable):
        assert_content_unchanged(note, replace(note, refund_due=Money.of("19.00")))
    refunding = replace(note, refund_due=Money.of("19.00"))
    with pytest.raises(InvoiceImmutable):
        assert_content_unchanged(refunding, replace(note, refund_due=Money.of("0.00")), refund_may_grow=True)
