"""Invoices as documents: lines, VAT per rate, reverse charge, numbers, immutability, credit notes."""

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import Conflict, ErrorCode, ValidationFailed
from domain.invoices import (
    REVERSE_CHARGE_NOTE,
    BillingParty,
    CreditItem,
    DirectDebit,
    InvoiceDraft,
    InvoiceImmutable,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumberOutOfSequence,
    PaymentMethod,
    VatTreatment,
    assert_consecutive,
    assert_content_unchanged,
    credit_note_for,
    format_number,
    next_number,
    notes_for,
    parse_number,
    payment_method_for,
    record_payment,
    vat_rate_for,
    vat_on,
    vat_treatment_for,
)
from domain.money import Money
from domain.sepa import SepaMandate

UTC = timezone.utc
NINETEEN = Decimal("19")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def line(net: str, description: str = "Microsoft 365 Business Standard", rate: Decimal = NINETEEN) -> InvoiceLine:
    return InvoiceLine.priced(description, 1, Money.of(net), rate)


def issue(*lines: InvoiceLine, number: str = "PH-2025-000001", at: datetime = utc(2025, 3, 10, 9), **draft) -> object:
    fields = dict(
        invoice_id="inv_1",
        kind=InvoiceKind.INVOICE,
        issuer_id="dst_1",
        payer_id="cus_1",
        customer_id="cus_1",
        currency="EUR",
        lines=tuple(lines),
        vat_treatment=VatTreatment.STANDARD,
        payment_method=PaymentMethod.TRANSFER,
    )
    fields.update(draft)
    return InvoiceDraft(**fields).issue(number=number, issued_at=at)


# --- lines and totals ---------------------------------------------------------------------


def test_line_net_is_quantity_times_unit_price_less_discount_rounded_half_up_once():
    partner_line = InvoiceLine.priced("Business Standard", 3, Money.of("10.50"), NINETEEN, discount_percent=Decimal("15"))
    assert partner_line.net_amount == Money.of("26.78")  # 31.50 × 0.85 = 26.775


def test_a_line_net_must_be_fixed_to_the_cent():
    with pytest.raises(ValidationFailed):
        InvoiceLine("x", Decimal("1"), Money.of("1.005"), Money.of("1.005"), NINETEEN)


def test_vat_is_computed_per_rate_on_the_sum_of_line_nets_and_totals_add_up_to_the_cent():
    # Per line, 10.50 × 19% = 1.995 rounds to 2.00, twice 4.00; on the sum, 21.00 × 19% = 3.99.
    invoice = issue(line("10.50", "Business Standard, seat 1"), line("10.50", "Business Standard, seat 2"))
    per_line_vat = sum((vat_on(item.net_amount, NINETEEN).amount for item in invoice.lines), Decimal("0"))
    assert per_line_vat == Decimal("4.00")
    assert invoice.net_total == Money.of("21.00")
    assert invoice.vat_total == Money.of("3.99")
    assert invoice.gross_total == Money.of("24.99")
    assert invoice.net_total + invoice.vat_total == invoice.gross_total


def test_vat_breakdown_lists_each_rate_once_highest_first():
    invoice = issue(line("100.00"), line("10.00", "Printed manual", Decimal("7")), line("50.00"))
    assert [(a.rate, a.net, a.vat) for a in invoice.vat_breakdown] == [
        (Decimal("19"), Money.of("150.00"), Money.of("28.50")),
        (Decimal("7"), Money.of("10.00"), Money.of("0.70")),
    ]
    assert invoice.gross_total == Money.of("189.20")


def test_issue_date_is_the_berlin_date_and_due_date_adds_the_payment_terms():
    invoice = issue(line("10.00"), at=utc(2025, 3, 9, 23, 30), payment_terms_days=14)  # 00:30 in Berlin
    assert invoice.issue_date == date(2025, 3, 10)
    assert invoice.due_date == date(2025, 3, 24)


def test_an_invoice_cannot_total_less_than_zero():
    with pytest.raises(ValidationFailed):
        issue(line("10.00"), InvoiceLine.priced("Credit", -1, Money.of("20.00"), NINETEEN))


# --- VAT treatment and payment method -----------------------------------------------------


def test_austrian_business_customer_with_vat_id_is_invoiced_reverse_charge_at_zero_percent_with_the_note():
    payer = BillingParty("cus_at", country="AT", vat_id="ATU12345678")
    treatment = vat_treatment_for(payer)
    invoice = issue(
        InvoiceLine.priced("Microsoft 365 Business Standard", 10, Money.of("11.66"), vat_rate_for(treatment)),
        vat_treatment=treatment,
        notes=notes_for(treatment),
        payer_vat_id=payer.vat_id,
        payer_country="AT",
    )
    assert treatment is VatTreatment.REVERSE_CHARGE
    assert invoice.vat_total == Money.of("0.00")
    assert invoice.gross_total == invoice.net_total == Money.of("116.60")
    assert invoice.notes == ("Steuerschuldnerschaft des Leistungsempfängers / reverse charge",)
    assert REVERSE_CHARGE_NOTE in invoice.notes


@pytest.mark.parametrize(
    "party",
    [
        BillingParty("cus_de", country="DE", vat_id="DE123456789"),  # domestic: German VAT even with a VAT id
        BillingParty("cus_at", country="AT"),  # EU, no VAT id
        BillingParty("cus_at", country="AT", vat_id="ATU12345678", is_business=False),
        BillingParty("cus_ch", country="CH", vat_id="CHE-123.456.789"),  # outside the EU: 19% for now
    ],
    ids=["german", "eu-without-vat-id", "eu-consumer", "non-eu"],
)
def test_everyone_else_pays_german_vat_of_19_percent(party):
    assert vat_treatment_for(party) is VatTreatment.STANDARD
    assert vat_rate_for(vat_treatment_for(party)) == Decimal("19")


MANDATE = SepaMandate("MNDT-0042", "DE89370400440532013000", "Bäckerei Weiß GmbH", date(2026, 10, 1))


def test_rental_and_hosting_of_a_payer_with_a_mandate_on_file_are_collected_by_sepa_direct_debit():
    party = BillingParty("cus_1", sepa_mandate=MANDATE)
    assert payment_method_for(party, rental_or_hosting=True) is PaymentMethod.SEPA_DIRECT_DEBIT


@pytest.mark.parametrize(
    "party, rental_or_hosting",
    [(BillingParty("cus_1"), True), (BillingParty("cus_1", sepa_mandate=MANDATE), False)],
    ids=["rental-without-mandate", "mandate-but-not-rental-or-hosting"],
)
def test_others_pay_by_transfer(party, rental_or_hosting):
    assert payment_method_for(party, rental_or_hosting=rental_or_hosting) is PaymentMethod.TRANSFER


def test_a_direct_debit_invoice_names_its_mandate_and_only_it_does():
    draft = InvoiceDraft(
        invoice_id="inv_dd", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id="cus_1", customer_id="cus_1", currency="EUR",
        lines=(InvoiceLine.priced("Data-centre hosting December 2026", 1, Money.of("300.00"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.SEPA_DIRECT_DEBIT,
    )
    with pytest.raises(ValidationFailed, match="names the mandate"):
        draft.issue(number="PH-2026-000001", issued_at=datetime(2026, 12, 1, 22, tzinfo=timezone.utc))
    debit = DirectDebit.of(MANDATE, "DE98ZZZ09999999999")
    issued = replace(draft, direct_debit=debit).issue(number="PH-2026-000001", issued_at=datetime(2026, 12, 1, 22, tzinfo=timezone.utc))
    assert issued.direct_debit == DirectDebit("MNDT-0042", "DE89 **** 3000", "DE98ZZZ09999999999")
    with pytest.raises(ValidationFailed, match="Only a direct-debit invoice"):
        replace(draft, payment_method=PaymentMethod.TRANSFER, direct_debit=debit).issue(
            number="PH-2026-000001", issued_at=datetime(2026, 12, 1, 22, tzinfo=timezone.utc)
        )


# --- numbers ------------------------------------------------------------------------------


def test_number_format_is_prefix_year_and_six_digit_sequence():
    assert format_number("PH", 2026, 123) == "PH-2026-000123"
    assert parse_number("PH-2026-000123").sequence == 123


def test_next_number_starts_each_year_at_one_and_counts_up():
    assert next_number("PH", 2026, None) == "PH-2026-000001"
    assert next_number("PH", 2026, 41) == "PH-2026-000042"


def test_a_consecutive_number_is_accepted():
    assert_consecutive("PH-2026-000041", "PH-2026-000042")
    assert_consecutive("PH-2025-000977", "PH-2026-000001")
    assert_consecutive(None, "PH-2026-000001")


@pytest.mark.parametrize(
    "previous, number",
    [
        ("PH-2026-000041", "PH-2026-000043"),  # gap
        ("PH-2026-000041", "PH-2026-000041"),  # repeat
        ("PH-2025-000977", "PH-2026-000002"),  # new year must start at 1
        ("PH-2026-000041", "XY-2026-000042"),  # another issuer's range
    ],
    ids=["gap", "repeat", "new-year-not-at-1", "other-prefix"],
)
def test_a_number_that_leaves_a_gap_or_repeats_is_refused(previous, number):
    with pytest.raises(InvoiceNumberOutOfSequence) as refused:
        assert_consecutive(previous, number)
    assert refused.value.code is ErrorCode.CONFLICT


def test_a_number_of_another_year_than_the_issue_date_is_refused():
    with pytest.raises(ValidationFailed):
        issue(line("10.00"), number="PH-2024-000001", at=utc(2025, 1, 2, 9))


# --- immutability -------------------------------------------------------------------------


def test_changing_an_issued_invoices_amounts_is_a_conflict():
    issued = issue(line("100.00"))
    tampered = replace(issued, lines=(line("90.00"),), vat_breakdown=issue(line("90.00")).vat_breakdown)
    with pytest.raises(InvoiceImmutable) as refused:
        assert_content_unchanged(issued, tampered)
    assert refused.value.code is ErrorCode.CONFLICT
    assert "credit note" in refused.value.hint


def test_changing_an_issued_invoices_payer_is_a_conflict():
    issued = issue(line("100.00"))
    with pytest.raises(InvoiceImmutable):
        assert_content_unchanged(issued, replace(issued, payer_id="ptn_1"))


def test_appending_a_payment_is_the_one_allowed_change():
    issued = issue(line("100.00"))
    paid = record_payment(issued, Money.of("50.00"), date(2025, 3, 12), "BANK-1", today=date(2025, 3, 31)).invoice
    assert_content_unchanged(issued, paid)


def test_removing_a_recorded_payment_is_a_conflict():
    paid = record_payment(issue(line("100.00")), Money.of("50.00"), date(2025, 3, 12), "BANK-1", today=date(2025, 3, 31)).invoice
    with pytest.raises(InvoiceImmutable):
        assert_content_unchanged(paid, replace(paid, payments=()))


def test_an_issued_invoice_is_a_frozen_object():
    with pytest.raises(AttributeError):
        issue(line("100.00")).lines = ()


# --- credit notes -------------------------------------------------------------------------


def test_full_credit_note_mirrors_the_invoice_with_negative_amounts_and_references_it():
    invoice = issue(line("10.50"), line("10.50"))
    note = credit_note_for(
        invoice, reason="Ordered twice by mistake", now=utc(2025, 3, 20, 9), number="PH-2025-000007",
        credit_note_id="inv_cn1",
    )
    assert note.kind is InvoiceKind.CREDIT_NOTE
    assert note.corrects_invoice_id == "inv_1" and note.corrects_invoice_number == "PH-2025-000001"
    assert (note.net_total, note.vat_total, note.gross_total) == (
        Money.of("-21.00"), Money.of("-3.99"), Money.of("-24.99"),
    )
    assert [credit.source_reference for credit in note.lines] == ["inv_1#1", "inv_1#2"]


def test_crediting_line_by_line_returns_exactly_the_invoices_vat():
    invoice = issue(line("10.50"), line("10.50"))  # VAT 3.99, though each line alone would carry 2.00
    first = credit_note_for(
        invoice, lines=[CreditItem(1)], reason="Seat 1 returned", now=utc(2025, 3, 11, 9), number="PH-2025-000002",
        credit_note_id="inv_cn1",
    )
    second = credit_note_for(
        invoice, lines=[CreditItem(2)], reason="Seat 2 returned", now=utc(2025, 3, 12, 9), number="PH-2025-000003",
        previous_credit_notes=[first], credit_note_id="inv_cn2",
    )
    assert first.vat_total == Money.of("-2.00")
    assert second.vat_total == Money.of("-1.99")
    assert first.vat_total + second.vat_total == -invoice.vat_total
    assert second.net_total + second.vat_total == second.gross_total


def test_a_partial_amount_of_a_line_can_be_credited():
    invoice = issue(line("100.00"))
    note = credit_note_for(
        invoice, lines=[CreditItem(1, Money.of("30.00"))], reason="Price correction", now=utc(2025, 3, 11, 9),
        number="PH-2025-000002", credit_note_id="inv_cn1",
    )
    assert (note.net_total, note.vat_total, note.gross_total) == (
        Money.of("-30.00"), Money.of("-5.70"), Money.of("-35.70"),
    )


def test_crediting_more_than_is_left_of_a_line_is_refused():
    invoice = issue(line("100.00"))
    first = credit_note_for(
        invoice, lines=[CreditItem(1, Money.of("80.00"))], reason="Price correction", now=utc(2025, 3, 11, 9),
        number="PH-2025-000002", credit_note_id="inv_cn1",
    )
    with pytest.raises(Conflict):
        credit_note_for(
            invoice, lines=[CreditItem(1, Money.of("30.00"))], reason="Again", now=utc(2025, 3, 12, 9),
            number="PH-2025-000003", previous_credit_notes=[first], credit_note_id="inv_cn2",
        )


def test_a_full_credit_after_a_partial_one_credits_only_the_rest():
    invoice = issue(line("100.00"))
    first = credit_note_for(
        invoice, lines=[CreditItem(1, Money.of("80.00"))], reason="Price correction", now=utc(2025, 3, 11, 9),
        number="PH-2025-000002", credit_note_id="inv_cn1",
    )
    rest = credit_note_for(
        invoice, reason="Contract cancelled", now=utc(2025, 3, 12, 9), number="PH-2025-000003",
        previous_credit_notes=[first], credit_note_id="inv_cn2",
    )
    assert rest.net_total == Money.of("-20.00")
    assert first.gross_total + rest.gross_total == -invoice.gross_total


def test_a_credit_note_needs_a_reason():
    with pytest.raises(ValidationFailed):
        credit_note_for(issue(line("10.00")), reason=" ", now=utc(2025, 3, 11), number="PH-2025-000002")


def test_a_credit_note_cannot_be_credited():
    note = credit_note_for(issue(line("10.00")), reason="Wrong", now=utc(2025, 3, 11), number="PH-2025-000002")
    with pytest.raises(ValidationFailed):
        credit_note_for(note, reason="Undo", now=utc(2025, 3, 12), number="PH-2025-000003")


def test_a_credit_note_of_the_billing_run_counts_so_the_invoice_is_never_credited_beyond_its_net():
    invoice = issue(line("100.00"))
    manual = credit_note_for(invoice, lines=[CreditItem(1, Money.of("90.00"))], reason="Cancelled in the window",
                             now=utc(2025, 3, 11, 9), number="PH-2025-000002", credit_note_id="inv_cn1")
    # The run's credit line names the credited charge, not the invoice line it takes back.
    run_credit = replace(manual, lines=tuple(replace(l, source_reference="chg_credit_1") for l in manual.lines))
    with pytest.raises(Conflict) as refused:
        credit_note_for(invoice, reason="Goodwill", now=utc(2025, 3, 12, 9), number="PH-2025-000003",
                        previous_credit_notes=[run_credit], credit_note_id="inv_cn2")
    assert "EUR 10.00 left to credit" in refused.value.message
    rest = credit_note_for(invoice, lines=[CreditItem(1, Money.of("10.00"))], reason="Goodwill", now=utc(2025, 3, 12, 9),
                           number="PH-2025-000003", previous_credit_notes=[run_credit], credit_note_id="inv_cn2")
    assert run_credit.net_total + rest.net_total == -invoice.net_total
