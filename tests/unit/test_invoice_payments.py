"""Payments: partial and full, the InvoicePaid event, overpayment, replays, and overdue invoices."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import Conflict, ErrorCode, ValidationFailed
from domain.invoices import (
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    InvoicePaid,
    InvoiceStatus,
    Overpayment,
    PaymentMethod,
    VatTreatment,
    credit_note_for,
    is_overdue,
    record_payment,
)
from domain.money import Money

UTC = timezone.utc
TODAY = date(2025, 3, 31)  # when the payments below are recorded


def invoice(net: str = "100.00"):
    """Issued 2025-03-10, due 2025-03-24, gross 119.00 for a net of 100.00."""
    return InvoiceDraft(
        invoice_id="inv_1",
        kind=InvoiceKind.INVOICE,
        issuer_id="dst_1",
        payer_id="ptn_1",
        customer_id="cus_1",
        partner_id="ptn_1",
        currency="EUR",
        lines=(InvoiceLine.priced("Microsoft 365 Business Premium", 1, Money.of(net), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD,
        payment_method=PaymentMethod.TRANSFER,
        payment_terms_days=14,
    ).issue(number="PH-2025-000010", issued_at=datetime(2025, 3, 10, 9, tzinfo=UTC))


def test_a_new_invoice_is_issued_and_unpaid():
    assert invoice().status is InvoiceStatus.ISSUED
    assert invoice().outstanding == Money.of("119.00")


def test_partial_then_full_payment_marks_the_invoice_paid_and_raises_invoice_paid():
    partial = record_payment(invoice(), Money.of("50.00"), date(2025, 3, 15), "BANK-0001", today=TODAY)
    assert partial.invoice.status is InvoiceStatus.PARTIALLY_PAID
    assert partial.invoice.outstanding == Money.of("69.00")
    assert partial.event is None

    full = record_payment(partial.invoice, Money.of("69.00"), date(2025, 3, 20), "BANK-0002", today=TODAY)
    assert full.invoice.status is InvoiceStatus.PAID
    assert full.event == InvoicePaid(
        invoice_id="inv_1",
        payer_id="ptn_1",
        customer_id="cus_1",
        paid_on=date(2025, 3, 20),
        net_amount=Money.of("100.00"),
        partner_id="ptn_1",
        invoice_number="PH-2025-000010",
    )
    assert [p.reference for p in full.invoice.payments] == ["BANK-0001", "BANK-0002"]


def test_overpayment_is_refused_with_the_outstanding_amount():
    with pytest.raises(Overpayment) as refused:
        record_payment(invoice(), Money.of("119.01"), date(2025, 3, 15), "BANK-0001", today=TODAY)
    assert refused.value.code is ErrorCode.CONFLICT
    assert refused.value.outstanding == Money.of("119.00")


def test_a_paid_invoice_takes_no_further_payment():
    paid = record_payment(invoice(), Money.of("119.00"), date(2025, 3, 15), "BANK-0001", today=TODAY).invoice
    with pytest.raises(Overpayment):
        record_payment(paid, Money.of("0.01"), date(2025, 3, 16), "BANK-0002", today=TODAY)


def test_recording_the_same_payment_again_changes_nothing_and_raises_no_second_event():
    paid = record_payment(invoice(), Money.of("119.00"), date(2025, 3, 15), "BANK-0001", today=TODAY).invoice
    replay = record_payment(paid, Money.of("119.00"), date(2025, 3, 15), "BANK-0001", today=TODAY)
    assert (replay.recorded, replay.event, replay.invoice) == (False, None, paid)


def test_the_same_reference_with_another_amount_is_a_conflict():
    partial = record_payment(invoice(), Money.of("50.00"), date(2025, 3, 15), "BANK-0001", today=TODAY).invoice
    with pytest.raises(Conflict):
        record_payment(partial, Money.of("60.00"), date(2025, 3, 15), "BANK-0001", today=TODAY)


@pytest.mark.parametrize("amount", [Money.of("0.00"), Money.of("-5.00"), Money.of("1.001"), Money.of("5.00", "PLN")])
def test_a_payment_is_a_positive_amount_to_the_cent_in_the_invoice_currency(amount):
    with pytest.raises(ValidationFailed):
        record_payment(invoice(), amount, date(2025, 3, 15), "BANK-0001", today=TODAY)


def test_a_payment_cannot_predate_the_invoice():
    with pytest.raises(ValidationFailed):
        record_payment(invoice(), Money.of("119.00"), date(2025, 3, 9), "BANK-0001", today=TODAY)


def test_a_refund_settles_a_credit_note_without_an_invoice_paid_event():
    note = credit_note_for(invoice(), reason="Cancelled", now=datetime(2025, 3, 12, tzinfo=UTC), number="PH-2025-000011")
    refunded = record_payment(note, Money.of("119.00"), date(2025, 3, 13), "REFUND-1", today=TODAY)
    assert refunded.invoice.status is InvoiceStatus.PAID
    assert refunded.event is None


# --- overdue ------------------------------------------------------------------------------


def test_an_unpaid_invoice_is_not_overdue_on_its_due_date():
    assert not is_overdue(invoice(), date(2025, 3, 24))


def test_an_unpaid_invoice_is_overdue_the_day_after_its_due_date():
    assert is_overdue(invoice(), date(2025, 3, 25))


def test_a_partially_paid_invoice_is_overdue_after_its_due_date():
    partial = record_payment(invoice(), Money.of("50.00"), date(2025, 3, 15), "BANK-0001", today=TODAY).invoice
    assert is_overdue(partial, date(2025, 3, 25))


def test_a_paid_invoice_is_never_overdue():
    paid = record_payment(invoice(), Money.of("119.00"), date(2025, 3, 30), "BANK-0001", today=TODAY).invoice
    assert not is_overdue(paid, date(2025, 4, 30))
