"""Invoice PDFs: the text a reader (and pypdf) finds in them."""

import io
from datetime import date, datetime, timezone
from decimal import Decimal

from pypdf import PdfReader

from domain.invoices import (
    REVERSE_CHARGE_NOTE,
    DirectDebit,
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    PaymentMethod,
    VatTreatment,
    credit_note_for,
)
from domain.money import Money
from infra.pdf import IssuerDisplay, PartyDisplay, format_money, render_invoice_pdf, to_core_font_text

UTC = timezone.utc
ISSUER = IssuerDisplay(
    name="Partnerhub Rechenzentrum GmbH",
    address_lines=("Domstraße 1", "50667 Köln"),
    vat_id="DE123456789",
    iban="DE02120300000000202051",
    bic="BYLADEM1001",
    register="Amtsgericht Köln HRB 12345",
)
PAYER = PartyDisplay("Bäckerei Weiß GmbH & Co. KG", ("Schloßstraße 5", "80331 München"), customer_number="cus_1")


def invoice(*, treatment=VatTreatment.STANDARD, rate="19", notes=(), method=PaymentMethod.TRANSFER, description=None, direct_debit=None):
    return InvoiceDraft(
        invoice_id="inv_1",
        kind=InvoiceKind.INVOICE,
        issuer_id="dst_1",
        payer_id="cus_1",
        customer_id="cus_1",
        currency="EUR",
        lines=(
            InvoiceLine.priced(
                description or "Microsoft 365 Business Standard, 10 Plätze (jährlich, Vorauszahlung)",
                10,
                Money.of("139.86"),
                Decimal(rate),
                period_start=date(2025, 1, 15),
                period_end=date(2026, 1, 15),
                source_reference="chg_1",
            ),
            InvoiceLine.priced("Servicebericht SR-2025-0815", 1, Money.of("1234.50"), Decimal(rate), source_reference="sr_0815"),
        ),
        vat_treatment=treatment,
        payment_method=method,
        notes=notes,
        direct_debit=direct_debit,
    ).issue(number="PH-2025-000123", issued_at=datetime(2025, 1, 15, 10, tzinfo=UTC))


def text_of(pdf: bytes) -> str:
    """The text of every page, whitespace (including line wraps) collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_rendered_invoice_is_a_pdf():
    assert render_invoice_pdf(invoice(), issuer=ISSUER, payer=PAYER).startswith(b"%PDF-")


def test_pdf_shows_number_dates_lines_vat_and_total():
    text = text_of(render_invoice_pdf(invoice(), issuer=ISSUER, payer=PAYER))
    assert "PH-2025-000123" in text
    assert "15.01.2025" in text  # issue date
    assert "29.01.2025" in text  # due date, 14 days later
    assert "15.01.2025 – 14.01.2026" in text  # service period, last day inclusive
    assert "Servicebericht SR-2025-0815" in text
    assert "1.398,60 €" in text and "1.234,50 €" in text  # line nets
    assert "USt / VAT 19 % auf / on 2.633,10 €" in text
    assert "500,29 €" in text  # 19% of 2633.10 = 500.289
    assert "Gesamtbetrag / Total 3.133,39 €" in text


def test_pdf_prints_umlauts_sharp_s_and_the_euro_sign():
    text = text_of(render_invoice_pdf(invoice(), issuer=ISSUER, payer=PAYER))
    assert "Bäckerei Weiß GmbH & Co. KG" in text
    assert "Schloßstraße 5" in text and "80331 München" in text
    assert "Plätze" in text and "Fällig am" in text
    assert "€" in text


def test_reverse_charge_invoice_shows_zero_vat_and_the_legal_note():
    reverse = invoice(treatment=VatTreatment.REVERSE_CHARGE, rate="0", notes=(REVERSE_CHARGE_NOTE,))
    text = text_of(render_invoice_pdf(reverse, issuer=ISSUER, payer=PAYER))
    assert "Steuerschuldnerschaft des Leistungsempfängers / reverse charge" in text
    assert "USt / VAT 0 % auf / on 2.633,10 € 0,00 €" in text
    assert "Gesamtbetrag / Total 2.633,10 €" in text


def test_credit_note_pdf_names_the_corrected_invoice_and_shows_negative_amounts():
    note = credit_note_for(
        invoice(), reason="Doppelt bestellt", now=datetime(2025, 2, 1, 9, tzinfo=UTC), number="PH-2025-000150"
    )
    text = text_of(render_invoice_pdf(note, issuer=ISSUER, payer=PAYER))
    assert "Rechnungskorrektur / Credit note" in text
    assert "Korrektur zu Rechnung / Corrects invoice PH-2025-000123" in text
    assert "Gesamtbetrag / Total -3.133,39 €" in text


def test_sepa_invoice_says_the_amount_will_be_debited_under_the_mandate_from_the_masked_account():
    debit = DirectDebit("MNDT-2026-0042", "DE89 **** 3000", "DE98ZZZ09999999999")
    text = text_of(render_invoice_pdf(invoice(method=PaymentMethod.SEPA_DIRECT_DEBIT, direct_debit=debit), issuer=ISSUER, payer=PAYER))
    assert (
        "Der Betrag von 3.133,39 € wird am 29.01.2025 per SEPA-Lastschrift von Ihrem Konto DE89 **** 3000 eingezogen "
        "(Mandatsreferenz MNDT-2026-0042, Gläubiger-ID DE98ZZZ09999999999). / The amount of 3.133,39 € will be debited "
        "by SEPA direct debit from your account DE89 **** 3000 on 29.01.2025 (mandate reference MNDT-2026-0042, "
        "creditor identifier DE98ZZZ09999999999)."
    ) in text
    assert "überweisen" not in text and "DE02120300000000202051" not in text


def test_a_direct_debit_invoice_without_a_creditor_identifier_names_the_mandate_only():
    debit = DirectDebit("MNDT-2026-0042", "DE89 **** 3000")
    text = text_of(render_invoice_pdf(invoice(method=PaymentMethod.SEPA_DIRECT_DEBIT, direct_debit=debit), issuer=ISSUER, payer=PAYER))
    assert "(Mandatsreferenz MNDT-2026-0042). /" in text and "(mandate reference MNDT-2026-0042)." in text
    assert "Gläubiger" not in text


def test_characters_outside_the_core_font_are_transliterated_instead_of_failing():
    payer = PartyDisplay("Spółka Łódź Sp. z o.o.", ("ul. Piotrkowska 1", "90-001 Łódź", "Polska"))
    text = text_of(render_invoice_pdf(invoice(), issuer=ISSUER, payer=payer))
    assert "Spólka Lódz Sp. z o.o." in text


def test_the_same_invoice_renders_to_the_same_bytes():
    assert render_invoice_pdf(invoice(), issuer=ISSUER, payer=PAYER) == render_invoice_pdf(
        invoice(), issuer=ISSUER, payer=PAYER
    )


def test_a_long_invoice_continues_on_further_pages():
    many = invoice()
    long_invoice = InvoiceDraft(
        invoice_id="inv_2", kind=InvoiceKind.INVOICE, issuer_id="dst_1", payer_id="cus_1", customer_id="cus_1",
        currency="EUR", lines=many.lines * 40, vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER,
    ).issue(number="PH-2025-000124", issued_at=datetime(2025, 1, 15, 10, tzinfo=UTC))
    pdf = render_invoice_pdf(long_invoice, issuer=ISSUER, payer=PAYER)
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    assert "Gesamtbetrag / Total 125.335,56 €" in text_of(pdf)  # 80 lines: 105324.00 net + 20011.56 VAT


def test_money_is_written_the_german_way():
    assert format_money(Money.of("1234567.5")) == "1.234.567,50 €"
    assert format_money(Money.of("-0.05")) == "-0,05 €"
    assert format_money(Money.of("10.00", "PLN")) == "10,00 PLN"


def test_core_font_text_keeps_cp1252_and_replaces_the_rest():
    assert to_core_font_text("Größe 10 € – „gut“") == "Größe 10 € – „gut“"
    assert to_core_font_text("Łódź 東京") == "Lódz ??"


def test_the_layout_helper_serves_other_documents_with_wrapped_rows_and_page_breaks():
    from infra.pdf_layout import Column, PdfDocument, wrap

    doc = PdfDocument()
    doc.text("Servicebericht SR-2025-0815", size=14, bold=True)
    columns = (Column(30), Column(110), Column(30, "R"))
    for n in range(60):
        doc.row((f"2025-01-{n % 28 + 1:02d}", "Fernwartung: Backup-Job geprüft und neu gestartet " * 2, "0,5 h"), columns)
    pdf = doc.output(title="Servicebericht", author="Partnerhub", created_at=datetime(2025, 1, 31, tzinfo=UTC))
    assert doc.page_count > 1 and len(PdfReader(io.BytesIO(pdf)).pages) == doc.page_count
    assert "Servicebericht SR-2025-0815" in text_of(pdf) and "Backup-Job geprüft" in text_of(pdf)
    assert wrap("eins zwei drei", 1000, 10) == ["eins zwei drei"]
    assert len(wrap("eins zwei drei", 30, 10)) == 3
