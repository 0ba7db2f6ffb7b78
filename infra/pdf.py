"""Invoice PDFs, rendered with pydyf through ``infra.pdf_layout`` (pure Python, a few kilobytes).

fpdf2 was the first choice but pulls in fontTools and Pillow (about 50 MB), more than the
Lambda package can take. The core fonts Helvetica/Helvetica-Bold in WinAnsi (cp1252)
encoding need nothing shipped or embedded and cover German (ä ö ü ß Ä Ö Ü), the € sign and
typographic quotes and dashes. Characters outside cp1252 (e.g. Polish ł ś ż in a company
name) are transliterated to their closest Latin letter (ł → l) so rendering never fails.

The output is deterministic: the PDF's creation date is the invoice's issue instant, so
the same invoice renders to the same bytes (the stored PDF can be re-created and compared).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceParty, PaymentMethod
from domain.money import Money, round_cents
from infra.pdf_layout import Column, PdfDocument, to_core_font_text

__all__ = ["IssuerDisplay", "PartyDisplay", "format_money", "render_invoice_pdf", "to_core_font_text"]


@dataclass(frozen=True)
class PartyDisplay:
    """How the payer appears on the invoice: the data of the moment of issue."""

    name: str
    address_lines: tuple[str, ...] = ()
    vat_id: str | None = None
    customer_number: str | None = None


@dataclass(frozen=True)
class IssuerDisplay:
    name: str
    address_lines: tuple[str, ...]
    vat_id: str
    email: str | None = None
    iban: str | None = None
    bic: str | None = None
    bank_name: str | None = None
    register: str | None = None  # e.g. "Amtsgericht Köln HRB 12345"
    managing_directors: str | None = None


def format_money(amount: Money) -> str:
    """German notation with the currency sign: ``1.234,56 €``; other currencies by code."""
    value = round_cents(amount.amount)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    symbol = "€" if amount.currency == "EUR" else amount.currency
    return f"{sign}{groups},{cents} {symbol}"


def format_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def format_quantity(quantity: Decimal) -> str:
    text = format(Decimal(quantity).normalize(), "f")
    return text.replace(".", ",")


def format_percent(rate: Decimal) -> str:
    return f"{format_quantity(rate)} %"


def _period(line: InvoiceLine) -> str | None:
    if line.period_start is None:
        return None
    if line.period_end is None or line.period_end <= line.period_start + timedelta(days=1):
        return f"Leistungsdatum / date: {format_date(line.period_start)}"
    last_day = line.period_end - timedelta(days=1)  # periods are end-exclusive; people read the last day
    return f"Zeitraum / period: {format_date(line.period_start)} – {format_date(last_day)}"


def _title(invoice: Invoice) -> str:
    return "Rechnungskorrektur / Credit note" if invoice.kind is InvoiceKind.CREDIT_NOTE else "Rechnung / Invoice"


def _payment_text(invoice: Invoice, issuer: IssuerDisplay) -> str:
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        return (
            # the credit note as issued: its amount, refunded or set off (``refund_due`` is no part of the document)
            f"Der Betrag von {format_money(-invoice.gross_total)} wird Ihnen erstattet oder verrechnet. / "
            "The amount will be refunded or offset."
        )
    if invoice.payment_method is PaymentMethod.SEPA_DIRECT_DEBIT and invoice.direct_debit is not None:
        debit = invoice.direct_debit
        amount, due = format_money(invoice.gross_total), format_date(invoice.due_date)
        german = f"Mandatsreferenz {debit.mandate_reference}" + (f", Gläubiger-ID {debit.creditor_id}" if debit.creditor_id else "")
        english = f"mandate reference {debit.mandate_reference}" + (f", creditor identifier {debit.creditor_id}" if debit.creditor_id else "")
        return (
            f"Der Betrag von {amount} wird am {due} per SEPA-Lastschrift von Ihrem Konto {debit.iban_masked} eingezogen "
            f"({german}). / The amount of {amount} will be debited by SEPA direct debit from your account "
            f"{debit.iban_masked} on {due} ({english})."
        )
    bank = ""
    if issuer.iban:
        bank = f" IBAN {issuer.iban}" + (f", BIC {issuer.bic}" if issuer.bic else "") + (
            f" ({issuer.bank_name})" if issuer.bank_name else ""
        ) + "."
    return (
        f"Bitte überweisen Sie {format_money(invoice.gross_total)} bis zum {format_date(invoice.due_date)} "
        f"unter Angabe der Rechnungsnummer {invoice.number}. / Please transfer the amount by the due date, "
        f"quoting the invoice number.{bank}"
    )


LINE_COLUMNS = (Column(9, "R"), Column(79), Column(14, "R"), Column(25, "R"), Column(12, "R"), Column(31, "R"))
META_COLUMNS = (Column(75), Column(95))
TOTAL_COLUMNS = (Column(120, "R"), Column(50, "R"))


def render_invoice_pdf(invoice: Invoice, *, issuer: IssuerDisplay, payer: PartyDisplay) -> bytes:
    """The invoice (or credit note) as an A4 PDF: parties, number, dates, lines, VAT per rate, totals, notes."""
    doc = PdfDocument()
    doc.text(" · ".join((issuer.name, *issuer.address_lines)), size=7)
    doc.space(4)
    for index, line in enumerate((payer.name, *payer.address_lines)):
        doc.text(line, bold=index == 0)
    doc.space(8)
    doc.text(_title(invoice), size=16, bold=True)
    doc.space(2)

    meta = [
        ("Rechnungsnummer / Invoice number", invoice.number),
        ("Rechnungsdatum / Issue date", format_date(invoice.issue_date)),
        ("Fällig am / Due date", format_date(invoice.due_date)),
    ]
    if payer.customer_number:
        meta.append(("Kundennummer / Customer number", payer.customer_number))
    if invoice.corrects_invoice_number:
        meta.append(("Korrektur zu Rechnung / Corrects invoice", invoice.corrects_invoice_number))
    if invoice.payer_vat_id or payer.vat_id:
        meta.append(("USt-IdNr. des Leistungsempfängers / Customer VAT ID", invoice.payer_vat_id or payer.vat_id or ""))
    if issuer.vat_id:  # required on German invoices (§14 UStG); the issuer's master data must carry it
        meta.append(("USt-IdNr. / VAT ID", issuer.vat_id))
    for label, value in meta:
        doc.row((label, value), META_COLUMNS, size=10)
    if invoice.reason:
        doc.space(2)
        doc.text(f"Grund / Reason: {invoice.reason}")
    doc.space(4)

    def heading() -> None:
        doc.row(("Pos.", "Beschreibung / Description", "Menge", "Einzelpreis", "USt", "Netto"), LINE_COLUMNS, bold=True, rule_below=True)

    heading()
    for number, line in enumerate(invoice.lines, start=1):
        description = line.description
        period = _period(line)
        if period:
            description += f"\n{period}"
        if line.branch:
            description += f"\nNiederlassung / Branch: {line.branch}"
        if line.discount_percent:
            description += f"\nRabatt / discount {format_percent(line.discount_percent)}"
        cells = (
            str(number), description, format_quantity(line.quantity), format_money(line.unit_price),
            format_percent(line.vat_rate), format_money(line.net_amount),
        )
        doc.row(cells, LINE_COLUMNS, rule_below=True, on_new_page=heading)
    doc.space(4)

    totals = [("Summe netto / Net total", format_money(invoice.net_total), False)]
    for amount in invoice.vat_breakdown:
        totals.append((f"USt / VAT {format_percent(amount.rate)} auf / on {format_money(amount.net)}", format_money(amount.vat), False))
    totals.append(("Gesamtbetrag / Total", format_money(invoice.gross_total), True))
    for label, value, bold in totals:
        doc.row((label, value), TOTAL_COLUMNS, size=10, bold=bold)
    doc.space(4)

    for note in invoice.notes:
        doc.text(note, bold=True)
    doc.text(_payment_text(invoice, issuer))
    doc.space(6)
    footer = [issuer.name, *issuer.address_lines] + ([f"USt-IdNr. {issuer.vat_id}"] if issuer.vat_id else [])
    footer += [part for part in (issuer.register, issuer.managing_directors, issuer.email) if part]
    doc.text(" · ".join(footer), size=7)
    return doc.output(title=f"{_title(invoice)} {invoice.number}", author=issuer.name, created_at=invoice.issued_at)


def _address_lines(party: InvoiceParty) -> tuple[str, ...]:
    address = party.address
    lines = [address.street, f"{address.postal_code} {address.city}"]
    if address.country != "DE":
        lines.append(address.country)
    return tuple(lines)


class PdfInvoiceRenderer:
    """``domain.ports.InvoiceRenderer``: the issuer and payer as the invoice prints them."""

    def render(self, invoice: Invoice, *, issuer: InvoiceParty, payer: InvoiceParty) -> bytes:
        return render_invoice_pdf(
            invoice,
            issuer=IssuerDisplay(
                name=issuer.name, address_lines=_address_lines(issuer), vat_id=issuer.vat_id or "", email=issuer.billing_email
            ),
            payer=PartyDisplay(payer.name, _address_lines(payer), vat_id=payer.vat_id, customer_number=payer.organisation_id),
        )
