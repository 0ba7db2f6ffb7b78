"""Invoices and credit notes, payments, copies and archive retrieval."""

from datetime import date, datetime
from decimal import Decimal

import strawberry

from domain import direct_debits as dd
from domain import invoices as d
from schema.common import Error, Money, Node, enum_of
from schema.organisations import Address, BillingMode

InvoiceKind = enum_of(d.InvoiceKind, "INVOICE, or CREDIT_NOTE (negative amounts, corrects another invoice).")
InvoiceStatus = enum_of(
    d.InvoiceStatus,
    "Follows from the payments and credit notes: ISSUED, PARTIALLY_PAID, PAID (nothing owed: paid, or paid and credited), "
    "CREDITED (credit notes take off all of it). A credit note: ISSUED, PARTIALLY_PAID or PAID as its refund is paid, "
    "OFFSET when it refunds nothing (all of it is set off against what its invoice still owed).",
)
PaymentMethod = enum_of(d.PaymentMethod)
VatTreatment = enum_of(d.VatTreatment, "STANDARD (19% German VAT) or REVERSE_CHARGE (EU business with a VAT id).")
CopyDecision = enum_of(d.CopyDecision)


@strawberry.type
class InvoiceLine:
    position: int
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal
    net_amount: Money
    vat_rate: Decimal = strawberry.field(description="Percent.")
    period_start: date | None
    period_end: date | None = strawberry.field(description="Exclusive.")
    branch: str | None = strawberry.field(
        default=None, description="The name of the customer's branch the work was delivered at (null: the head office, or not site work)."
    )


@strawberry.type(description="The customer's branch an invoice bills (per-branch billing), as it was when issued: the "
                             "invoice is addressed to the company name with the branch name, at the branch's address.")
class InvoiceBranch:
    key: str
    name: str
    address: Address


@strawberry.type
class VatAmount:
    rate: Decimal
    net: Money
    vat: Money
    gross: Money


@strawberry.type
class Payment:
    amount: Money
    paid_on: date
    reference: str


@strawberry.type(description="How a SEPA direct-debit invoice is collected: the mandate, the payer's account (masked), the creditor.")
class DirectDebit:
    mandate_reference: str
    iban_masked: str
    creditor_id: str | None = strawberry.field(description="The distributor's SEPA creditor identifier (Gläubiger-ID), if configured.")


@strawberry.type(description="An issued invoice or credit note. Its content never changes; only payments are added.")
class Invoice(Node):
    id: strawberry.ID
    number: str
    kind: InvoiceKind
    status: InvoiceStatus
    issuer_id: strawberry.ID
    payer_id: strawberry.ID = strawberry.field(description="The organisation that pays and sees the invoice.")
    customer_id: strawberry.ID
    partner_id: strawberry.ID | None
    billing_mode: BillingMode | None
    issued_at: datetime
    issue_date: date
    due_date: date
    currency: str
    lines: list[InvoiceLine]
    vat_treatment: VatTreatment
    vat_breakdown: list[VatAmount]
    net_total: Money
    vat_total: Money
    gross_total: Money
    amount_paid: Money
    outstanding: Money = strawberry.field(
        description="What is still to pay: on an invoice, what it owes after payments and credit notes (never less than "
        "zero); on a credit note, what is still to refund."
    )
    refund_due: Money | None = strawberry.field(
        description="Credit notes: what it refunds in all, the money paid on the corrected invoice beyond what the invoice "
        "owes after it (also what a direct debit collected after it, under a file made before it); the rest of the credit "
        "note is set off against what was owed. Null for invoices."
    )
    payments: list[Payment]
    payment_method: PaymentMethod
    direct_debit: DirectDebit | None = strawberry.field(
        description="SEPA_DIRECT_DEBIT invoices: the amount is debited on the due date under this mandate."
    )
    notes: list[str]
    overdue: bool
    corrects_invoice_id: strawberry.ID | None
    corrects_invoice_number: str | None
    reason: str | None
    branch: InvoiceBranch | None = strawberry.field(
        default=None,
        description="Customers billed PER_BRANCH: the branch whose items this invoice bills (null: the head office's invoice, "
                    "or a customer billed centrally).",
    )
    _invoice: strawberry.Private[d.Invoice]

    @strawberry.field(description="Credit notes that correct this invoice.")
    async def credit_notes(self, info: strawberry.Info) -> list["Invoice"]:
        from resolvers.invoices import credit_notes_of

        return await credit_notes_of(info, self._invoice)

    @strawberry.field(
        description=(
            "A link to the PDF, valid for 5 minutes: for the payer while the invoice is online (24 months by default; "
            "null after that, see `downloadRefusal`), for the distributor always."
        )
    )
    async def download_url(self, info: strawberry.Info) -> str | None:
        from resolvers.invoices import download_url_of

        return await download_url_of(info, self._invoice)

    @strawberry.field(
        description=(
            "Why `downloadUrl` is null: the invoice is no longer online (code PRECONDITION_FAILED); `hint` says how to "
            "get a copy instead (a paid archive retrieval: `invoiceCopyRequest` with `archiveHours`). Null while it can "
            "be downloaded."
        )
    )
    def download_refusal(self, info: strawberry.Info) -> Error | None:
        from resolvers.invoices import download_refusal_of

        return download_refusal_of(info, self._invoice)

    @classmethod
    def of(cls, invoice: d.Invoice, today: date) -> "Invoice":
        return cls(
            id=strawberry.ID(invoice.id), number=invoice.number, kind=invoice.kind, status=invoice.status,
            issuer_id=strawberry.ID(invoice.issuer_id), payer_id=strawberry.ID(invoice.payer_id),
            customer_id=strawberry.ID(invoice.customer_id),
            partner_id=strawberry.ID(invoice.partner_id) if invoice.partner_id else None,
            billing_mode=invoice.billing_mode, issued_at=invoice.issued_at, issue_date=invoice.issue_date,
            due_date=invoice.due_date, currency=invoice.currency,
            lines=[
                InvoiceLine(
                    position=n, description=line.description, quantity=line.quantity, unit_price=Money.of(line.unit_price),
                    discount_percent=line.discount_percent, net_amount=Money.of(line.net_amount), vat_rate=line.vat_rate,
                    period_start=line.period_start, period_end=line.period_end, branch=line.branch,
                )
                for n, line in enumerate(invoice.lines, start=1)
            ],
            vat_treatment=invoice.vat_treatment,
            vat_breakdown=[VatAmount(rate=a.rate, net=Money.of(a.net), vat=Money.of(a.vat), gross=Money.of(a.gross)) for a in invoice.vat_breakdown],
            net_total=Money.of(invoice.net_total), vat_total=Money.of(invoice.vat_total), gross_total=Money.of(invoice.gross_total),
            amount_paid=Money.of(invoice.amount_paid), outstanding=Money.of(invoice.outstanding),
            refund_due=Money.of(invoice.amount_due) if invoice.is_credit_note else None,
            payments=[Payment(amount=Money.of(p.amount), paid_on=p.paid_on, reference=p.reference) for p in invoice.payments],
            payment_method=invoice.payment_method, notes=list(invoice.notes), overdue=d.is_overdue(invoice, today),
            direct_debit=DirectDebit(
                mandate_reference=invoice.direct_debit.mandate_reference, iban_masked=invoice.direct_debit.iban_masked,
                creditor_id=invoice.direct_debit.creditor_id,
            ) if invoice.direct_debit else None,
            corrects_invoice_id=strawberry.ID(invoice.corrects_invoice_id) if invoice.corrects_invoice_id else None,
            corrects_invoice_number=invoice.corrects_invoice_number, reason=invoice.reason,
            branch=InvoiceBranch(key=invoice.branch.key, name=invoice.branch.name, address=Address.of(invoice.branch.address))
            if invoice.branch else None,
            _invoice=invoice,
        )


@strawberry.input
class PaymentRecordInput:
    invoice_id: strawberry.ID
    amount: Decimal
    paid_on: date
    reference: str = strawberry.field(description="The bank reference; recording the same payment again changes nothing.")
    currency: str = "EUR"
    direct_debit_collection: bool = strawberry.field(
        default=False,
        description="The bank collected this direct-debit invoice under a direct-debit run's file. Recorded even beyond what "
                    "a credit note issued after the file left owed: the credit note then shows the excess as its refundDue. "
                    "The collections recorded under the run for the invoice, in one entry or several, add up to at most what "
                    "its file asked for it (and what is unpaid of the gross): more is refused (CONFLICT) naming what is left. "
                    "Refused (PRECONDITION_FAILED) for an invoice in no direct-debit file, and (INVALID_INPUT, paidOn) when "
                    "paidOn is before the run's collection date.",
    )


@strawberry.type
class PaymentRecordPayload:
    invoice: Invoice | None = None
    recorded: bool = strawberry.field(default=False, description="False when this payment was recorded before.")
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class CreditNoteLineInput:
    line_number: int = strawberry.field(description="1-based position of the line on the invoice.")
    net_amount: Decimal | None = strawberry.field(default=None, description="Positive; omit to credit the rest of the line.")


@strawberry.input
class CreditNoteCreateInput:
    invoice_id: strawberry.ID
    reason: str
    lines: list[CreditNoteLineInput] | None = strawberry.field(default=None, description="Omit to credit the whole invoice.")


@strawberry.type
class CreditNotePayload:
    credit_note: Invoice | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class InvoiceCopyRequestInput:
    invoice_id: strawberry.ID
    archive_hours: int | None = strawberry.field(
        default=None,
        description="Only for invoices no longer online: order an archive retrieval of this many hours (at least 1), charged in advance.",
    )


@strawberry.type
class InvoiceCopyPayload:
    decision: CopyDecision | None = None
    resent: bool = strawberry.field(
        default=False,
        description="The free copy was e-mailed. False with DELIVERY_FAILED when the mail service refused it: nothing is "
                    "charged or recorded, ask again later.",
    )
    retrieval_invoice: Invoice | None = strawberry.field(default=None, description="The archive retrieval's own invoice.")
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class InvoiceDeleteInput:
    invoice_id: strawberry.ID


@strawberry.type
class InvoiceDeletePayload:
    deleted_invoice_id: strawberry.ID | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type(description="A direct-debit invoice a run took out of collection, and why (it is paid by transfer then).")
class NotCollected:
    invoice_id: strawberry.ID
    invoice_number: str
    reason: str


@strawberry.type(description="One SEPA direct-debit file (pain.008, SEPA Core) for the distributor's bank.")
class DirectDebitRun:
    id: strawberry.ID
    created_at: datetime
    collection_date: date
    total: Money
    invoice_ids: list[strawberry.ID] = strawberry.field(description="The invoices collected in the file.")
    not_collected: list[NotCollected]
    download_url: str | None = strawberry.field(
        description="The pain.008 file, presigned, valid for 5 minutes; null for a run that only took out invoices it could not collect."
    )

    @classmethod
    def of(cls, run: dd.DirectDebitRun, download_url: str | None) -> "DirectDebitRun":
        return cls(
            id=strawberry.ID(run.id), created_at=run.created_at, collection_date=run.collection_date, total=Money.of(run.total),
            invoice_ids=[strawberry.ID(i) for i in run.invoice_ids],
            not_collected=[NotCollected(invoice_id=strawberry.ID(n.invoice_id), invoice_number=n.invoice_number, reason=n.reason)
                           for n in run.not_collected],
            download_url=download_url,
        )


@strawberry.type
class DirectDebitRunPayload:
    run: DirectDebitRun | None = None
    errors: list[Error] = strawberry.field(default_factory=list)
