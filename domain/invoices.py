"""Invoices and credit notes: the issued document, its VAT and numbers, payments, copies, retention.

An issued ``Invoice`` is immutable (GoBD): its content never changes, only payments are
appended (``record_payment`` returns a new object). Corrections are credit notes
(``credit_note_for``), which are invoices of kind ``CREDIT_NOTE`` that reference the
corrected invoice. The billing run that turns charges into invoice drafts lives in
``domain.billing``.

Decided here, where ``DOMAIN.md`` leaves room:

* **Signs.** Amounts are signed. Invoice lines are positive, except credits netted into an
  invoice by the billing run; credit notes carry negative lines and totals, so the sum of
  a payer's documents is its balance (as accounting exports such as DATEV expect).
  Payments are always positive: money received for an invoice, refunded for a credit note.
* **Rounding.** Each line's net is rounded half-up to the cent once, when the line is
  made. VAT is computed per rate on the sum of the line nets of that rate, rounded
  half-up once per rate (German practice allows VAT per rate on the invoice total; it
  avoids per-line rounding drift). Net + VAT == gross exactly, by construction. The VAT
  per rate is computed at issue and stored with the invoice, so a stored invoice never
  depends on later code. Half-up on ties rounds away from zero, so a full credit note
  mirrors its invoice to the cent. Partial credit notes take the *difference* of the
  cumulative VAT (VAT of everything credited so far minus what earlier credit notes
  credited), so crediting an invoice in pieces returns exactly its VAT, never a cent more.
* **VAT treatment.** 19% unless the payer is a business in another EU member state with
  a VAT id: then 0% reverse charge with the legal note. Payers outside the EU and EU
  payers without a VAT id are charged 19% for now (the conservative choice: VAT shown
  wrongly is owed anyway, VAT missing is a tax risk); the VAT id is not checked at VIES.
* **Numbers.** ``{prefix}-{year}-{seq:06d}`` (e.g. ``PH-2026-000123``), one gap-free
  sequence per issuer and calendar year of the issue date (Berlin), shared by invoices
  and credit notes. Infra allocates the sequence atomically, in the same transaction that
  writes the invoice (so an aborted write leaves no gap); the domain formats and checks it.
* **Status** is derived from the payments and the credit notes registered on the invoice
  (``credits``): ISSUED, PARTIALLY_PAID, PAID, CREDITED. What the payer owes is the gross less
  the gross of its credit notes (400.00 net credited on 1190.00 gross: 714.00 is owed). An
  invoice whose credit notes take off all of its gross is CREDITED (cancelled), whatever was
  paid (a payment is refunded through the credit note); it is never PAID and earns no
  commission. A credit note that leaves nothing owed on a partly paid invoice settles it: the
  invoice is PAID, with ``InvoicePaid`` dated on the last payment. A zero invoice is PAID at
  once (nothing to pay, no ``InvoicePaid`` event).
* **What a credit note refunds** is what was paid on its invoice beyond what the invoice owes
  after it; the rest of it is set off against what was still owed. Fixed when it is registered
  on its invoice (``refund_due``): 1190.00 unpaid, a credit note of -476.00 leaves 714.00 owed
  and refunds nothing (status OFFSET); 1000.00 paid first, 714.00 is owed, so 286.00 is
  refunded (its ``outstanding``, ISSUED until refunded, then PAID). The refund shows on the
  credit note only (an invoice never owes less than nothing), and no later payment can change
  it: an invoice takes no more than it owes. Except a direct debit's collection: the bank
  collects what the file asked for, a credit note issued after the file notwithstanding, and
  what it collects beyond what is owed is refunded through that credit note (its ``refund_due``
  grows; see **Overpayment**). A credit note issued before this was kept refunds its whole
  gross until ``register_issued_credit_notes`` registers it.
* **Payment dates** lie between the issue date and today (Berlin): a payment is recorded once
  it was received, never ahead.
* **Overpayment** is refused (``Overpayment``, a ``Conflict``): record at most the
  outstanding amount; the surplus is refunded or handled outside the invoice. Recording
  the very same payment (reference, amount, date) again is a no-op, so a bank import can
  be replayed. A direct debit's collection (``direct_debit_collection``) is money the bank
  took under the mandate for a file made before: it is recorded whatever a later credit
  note took off (119.00 debited, a credit note of 19.00 after the file, 119.00 collected:
  PAID, the credit note refunds 19.00), dated on or after the run's collection date; the
  collections recorded under the run add up to at most what its file asked for the invoice
  (entered as 100.00 and then 19.00, both are recorded; more is refused naming what is
  left: ``domain.direct_debits.check_collection``), never more than is unpaid of the gross.
* **Copies.** Day 60 after the issue date still counts as free re-send; an invoice is
  online until the same day ``online_months`` later inclusive (issued 2023-01-31, 24 months
  → downloadable until 2025-01-31, archive from 2025-02-01; a month-end clamps: issued
  2024-02-29 → online until 2026-02-28). After that the payer gets no download link
  (``assert_downloadable``: a copy is a paid archive retrieval); distributor staff still do,
  since they carry out the retrieval. The archive retrieval fee is net (VAT is added
  like on any invoice) and is due on the issue date (paid in advance).
* **Branches** (per-branch billing, ``domain.billing``): an invoice of one branch of a customer that is billed per
  branch names it (``branch``: key, name and address when issued) and prints the company name with the branch name
  and the branch's address as the recipient (``InvoiceParty.at_branch``); it is still the customer's invoice (payer,
  billing e-mail, VAT id, numbering, SEPA mandate). A line of work delivered at a branch names the branch
  (``InvoiceLine.branch``), on any invoice. A credit note correcting a branch's invoice is that branch's too: it
  names the branch of the corrected invoice (addressed as it was) and each credit line the branch of its line.
* **Retention** ends on 31 December of the tenth year after the year of issue; the
  invoice may be deleted from the next day on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Iterable, Sequence

from domain import ids
from domain.calendar import add_months, berlin_date, ensure_utc
from domain.errors import Conflict, DomainError, ErrorCode, PreconditionFailed, ValidationFailed
from domain.money import Money, round_cents
from domain.organisations import Address, BillingMode, Organisation, PartnerPermission, PermissionLevel
from domain.policy import Principal
from domain.sepa import SepaMandate
from domain.validation import require_text

STANDARD_VAT_RATE = Decimal("19")  # percent
REVERSE_CHARGE_NOTE = "Steuerschuldnerschaft des Leistungsempfängers / reverse charge"
PAYMENT_TERMS_DAYS = 14
FREE_RESEND_DAYS = 60
DEFAULT_ONLINE_MONTHS = 24
RETENTION_YEARS = 10
ARCHIVE_RETRIEVAL_BASE_FEE = Money.of("100.00")  # opening the archive and the first hour of search
HOME_COUNTRY = "DE"

# ISO 3166-1 country codes of the EU member states (Greece's VAT ids start with EL, its country code is GR).
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


class InvoiceKind(str, Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class InvoiceStatus(str, Enum):
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    CREDITED = "CREDITED"  # credit notes take off all of it: nothing is owed, nothing was earned
    OFFSET = "OFFSET"  # a credit note that refunds nothing: all of it is set off against what its invoice owed


class PaymentMethod(str, Enum):
    SEPA_DIRECT_DEBIT = "SEPA_DIRECT_DEBIT"
    TRANSFER = "TRANSFER"


class VatTreatment(str, Enum):
    STANDARD = "STANDARD"  # German VAT, 19%
    REVERSE_CHARGE = "REVERSE_CHARGE"  # EU business customer with a VAT id: 0%, the recipient owes the VAT


class CopyDecision(str, Enum):
    FREE_RESEND = "FREE_RESEND"
    SELF_SERVICE_DOWNLOAD = "SELF_SERVICE_DOWNLOAD"
    ARCHIVE_RETRIEVAL_REQUIRED = "ARCHIVE_RETRIEVAL_REQUIRED"


# --- errors -------------------------------------------------------------------------------


class InvoiceImmutable(Conflict):
    """Someone tried to change an issued invoice's content."""


class InvoiceNumberOutOfSequence(Conflict):
    """A number would leave a gap or repeat one in the issuer's yearly sequence."""


class Overpayment(Conflict):
    def __init__(self, message: str, *, outstanding: Money, hint: str | None = None) -> None:
        super().__init__(message, field="amount", hint=hint)
        self.outstanding = outstanding


class CopyNotFree(PreconditionFailed):
    """A free re-send was asked for an invoice older than the free window; ``decision`` says what applies."""

    def __init__(self, message: str, *, decision: CopyDecision, hint: str) -> None:
        super().__init__(message, field="invoiceId", hint=hint)
        self.decision = decision


class CopyNotSent(DomainError):
    """The mail service refused a free copy's e-mail. Nothing is charged or recorded, so asking again is safe."""

    code = ErrorCode.DELIVERY_FAILED

    def __init__(self, invoice: "Invoice", *, to: str) -> None:
        super().__init__(
            f"The copy of invoice {invoice.number} could not be e-mailed to {to}.",
            field="invoiceId",
            hint=(
                f"Try again later: the re-send stays free until {free_resend_until(invoice.issue_date).isoformat()}. "
                f"Or download invoice {invoice.number} from the invoice list in the customer centre."
            ),
        )
        self.invoice = invoice


class InvoiceNoLongerOnline(PreconditionFailed):
    """A customer or partner asked for the download of an invoice past its online period."""

    def __init__(self, message: str, *, online_until: date, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.online_until = online_until


class RetentionPeriodRunning(PreconditionFailed):
    def __init__(self, message: str, *, retention_ends_on: date, hint: str | None = None) -> None:
        super().__init__(message, field="invoiceId", hint=hint)
        self.retention_ends_on = retention_ends_on


# --- who pays, at which VAT, by which method ------------------------------------------------


@dataclass(frozen=True)
class BillingParty:
    """What invoicing needs to know about a payer (a customer or a partner)."""

    organisation_id: str
    country: str = HOME_COUNTRY  # ISO 3166-1 alpha-2
    vat_id: str | None = None
    is_business: bool = True  # the channel sells to businesses; kept explicit for the reverse-charge rule
    sepa_mandate: SepaMandate | None = None  # a customer's direct-debit mandate on file

    @classmethod
    def of(cls, organisation: Organisation) -> "BillingParty":
        return cls(
            organisation_id=organisation.id,
            country=organisation.address.country,
            vat_id=organisation.vat_id,
            sepa_mandate=organisation.sepa_mandate,
        )


@dataclass(frozen=True)
class InvoiceParty:
    """The issuer or the payer as an invoice prints them, fixed when it is issued: the invoice stays as issued (GoBD)
    when the organisation is renamed or moves later, so a PDF rendered again (a lost one, a retried delivery) prints
    what was issued. The e-mail is printed for the issuer only; invoices are sent to the payer's current address."""

    organisation_id: str
    name: str
    address: Address
    vat_id: str | None = None
    billing_email: str | None = None

    @classmethod
    def of(cls, organisation: Organisation) -> "InvoiceParty":
        return cls(organisation.id, organisation.name, organisation.address, organisation.vat_id, organisation.billing_email)

    def at_branch(self, branch: "InvoiceBranch") -> "InvoiceParty":
        """The payer as a branch's invoice prints it: the company name with the branch name, the branch's address."""
        return replace(self, name=f"{self.name} – {branch.name}", address=branch.address)


@dataclass(frozen=True)
class InvoiceBranch:
    """The customer's branch an invoice bills (per-branch billing), as it was when the invoice was issued."""

    key: str
    name: str
    address: Address


@dataclass(frozen=True)
class DirectDebit:
    """What a direct-debit invoice tells the payer before the debit (the pre-notification): the mandate it is collected
    under, the account (masked) and the creditor's identifier (``None`` while the distributor has not configured it)."""

    mandate_reference: str
    iban_masked: str
    creditor_id: str | None = None

    @classmethod
    def of(cls, mandate: SepaMandate, creditor_id: str | None) -> "DirectDebit":
        return cls(mandate.reference, mandate.iban_masked, creditor_id)


def vat_treatment_for(payer: BillingParty) -> VatTreatment:
    """Reverse charge for a business in another EU member state with a VAT id; else German VAT."""
    country = payer.country.upper()
    if (
        country != HOME_COUNTRY
        and country in EU_MEMBER_STATES
        and payer.is_business
        and (payer.vat_id or "").strip()
    ):
        return VatTreatment.REVERSE_CHARGE
    return VatTreatment.STANDARD


def vat_rate_for(treatment: VatTreatment) -> Decimal:
    return Decimal("0") if treatment is VatTreatment.REVERSE_CHARGE else STANDARD_VAT_RATE


def notes_for(treatment: VatTreatment) -> tuple[str, ...]:
    return (REVERSE_CHARGE_NOTE,) if treatment is VatTreatment.REVERSE_CHARGE else ()


def payment_method_for(payer: BillingParty, *, rental_or_hosting: bool = False) -> PaymentMethod:
    """Rental and data-centre hosting are billed separately by SEPA direct debit when the payer has a mandate on file;
    everything else, and everyone without a mandate, is paid by transfer."""
    if rental_or_hosting and payer.sepa_mandate is not None:
        return PaymentMethod.SEPA_DIRECT_DEBIT
    return PaymentMethod.TRANSFER


# --- lines and VAT ------------------------------------------------------------------------


def _decimal(value: int | str | Decimal) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"use int, str or Decimal, not {type(value).__name__}, for exact amounts")
    return Decimal(value) if not isinstance(value, Decimal) else value


@dataclass(frozen=True)
class InvoiceLine:
    """One line; ``net_amount`` is fixed (rounded to the cent) when the line is made.

    ``net_amount`` is not always ``quantity × unit_price``: a pro-rata charge is a share of
    the unit price, a partner line carries ``discount_percent``. ``period_end`` is
    exclusive, like a charge's. ``source_reference`` names where the line came from: a
    charge id, a service-report id, or ``<invoice id>#<line number>`` on a credit note.
    """

    description: str
    quantity: Decimal
    unit_price: Money
    net_amount: Money
    vat_rate: Decimal  # percent
    period_start: date | None = None
    period_end: date | None = None
    source_reference: str | None = None
    discount_percent: Decimal = Decimal("0")
    branch: str | None = None  # the name of the customer's branch the work was delivered at

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValidationFailed("An invoice line needs a description.", field="lines.description")
        if self.unit_price.currency != self.net_amount.currency:
            raise ValidationFailed("An invoice line has one currency.", field="lines.unitPrice")
        if self.net_amount.amount != round_cents(self.net_amount.amount):
            raise ValidationFailed(
                f"A line's net amount is fixed to the cent, not {self.net_amount.amount}.", field="lines.netAmount"
            )
        if not Decimal("0") <= self.vat_rate <= Decimal("100"):
            raise ValidationFailed(f"{self.vat_rate}% is not a VAT rate.", field="lines.vatRate")
        if not Decimal("0") <= self.discount_percent < Decimal("100"):
            raise ValidationFailed(f"{self.discount_percent}% is not a discount.", field="lines.discountPercent")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationFailed("A line's period ends before it starts.", field="lines.periodEnd")

    @classmethod
    def priced(
        cls,
        description: str,
        quantity: int | str | Decimal,
        unit_price: Money,
        vat_rate: Decimal,
        *,
        discount_percent: Decimal = Decimal("0"),
        period_start: date | None = None,
        period_end: date | None = None,
        source_reference: str | None = None,
        branch: str | None = None,
    ) -> "InvoiceLine":
        """A line whose net is quantity × unit price less the discount, rounded half-up once."""
        quantity = _decimal(quantity)
        exact = quantity * unit_price.amount * (Decimal(100) - discount_percent) / Decimal(100)
        return cls(
            description=description,
            quantity=quantity,
            unit_price=unit_price,
            net_amount=Money(round_cents(exact), unit_price.currency),
            vat_rate=vat_rate,
            period_start=period_start,
            period_end=period_end,
            source_reference=source_reference,
            discount_percent=discount_percent,
            branch=branch,
        )

    @property
    def currency(self) -> str:
        return self.net_amount.currency


@dataclass(frozen=True)
class VatAmount:
    """The net and VAT of all lines of one rate."""

    rate: Decimal  # percent
    net: Money
    vat: Money

    @property
    def gross(self) -> Money:
        return self.net + self.vat


def _zero(currency: str) -> Money:
    return Money(Decimal("0.00"), currency)


def _sum(amounts: Iterable[Money], currency: str) -> Money:
    total = _zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def _net_by_rate(lines: Iterable[InvoiceLine], currency: str) -> dict[Decimal, Money]:
    nets: dict[Decimal, Money] = {}
    for line in lines:
        nets[line.vat_rate] = nets.get(line.vat_rate, _zero(currency)) + line.net_amount
    return nets


def vat_on(net: Money, rate: Decimal) -> Money:
    return Money(round_cents(net.amount * rate / Decimal(100)), net.currency)


def vat_breakdown(lines: Iterable[InvoiceLine], currency: str) -> tuple[VatAmount, ...]:
    """VAT per rate on the sum of the line nets of that rate, highest rate first."""
    nets = _net_by_rate(lines, currency)
    return tuple(VatAmount(rate, nets[rate], vat_on(nets[rate], rate)) for rate in sorted(nets, reverse=True))


# --- numbers ------------------------------------------------------------------------------

_NUMBER = re.compile(r"^(?P<prefix>[A-Z][A-Z0-9]{0,9})-(?P<year>\d{4})-(?P<seq>\d{6,})$")
_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


@dataclass(frozen=True)
class InvoiceNumber:
    prefix: str
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_number(self.prefix, self.year, self.sequence)


def format_number(issuer_prefix: str, year: int, sequence: int) -> str:
    """``PH-2026-000123``: the issuer's prefix, the year of issue, the sequence (at least six digits)."""
    if not _PREFIX.match(issuer_prefix or ""):
        raise ValidationFailed(
            f"'{issuer_prefix}' is not an invoice number prefix.",
            field="prefix",
            hint="Use 1 to 10 capital letters or digits, starting with a letter (e.g. PH).",
        )
    if not 1000 <= year <= 9999:
        raise ValidationFailed(f"{year} is not a four-digit year.", field="year")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValidationFailed(f"An invoice sequence starts at 1, not {sequence!r}.", field="sequence")
    return f"{issuer_prefix}-{year:04d}-{sequence:06d}"


def parse_number(number: str) -> InvoiceNumber:
    match = _NUMBER.match(number or "")
    if not match or int(match["seq"]) < 1:
        raise ValidationFailed(f"'{number}' is not an invoice number like PH-2026-000123.", field="number")
    return InvoiceNumber(match["prefix"], int(match["year"]), int(match["seq"]))


def next_sequence(previous_sequence: int | None) -> int:
    """The sequence after ``previous_sequence`` in the same issuer and year; 1 when the year has none yet."""
    return 1 if previous_sequence is None else previous_sequence + 1


def next_number(issuer_prefix: str, year: int, previous_sequence: int | None) -> str:
    return format_number(issuer_prefix, year, next_sequence(previous_sequence))


def assert_consecutive(previous_number: str | None, number: str) -> None:
    """``number`` directly follows ``previous_number`` (the issuer's last number), without gap or repeat.

    ``previous_number`` is ``None`` for the issuer's first number ever; a new year starts at 1.
    """
    current = parse_number(number)
    if previous_number is None:
        expected = format_number(current.prefix, current.year, 1)
    else:
        previous = parse_number(previous_number)
        if previous.prefix != current.prefix:
            raise InvoiceNumberOutOfSequence(
                f"{number} has prefix {current.prefix}, the issuer's numbers use {previous.prefix}.", field="number"
            )
        if current.year < previous.year:
            raise InvoiceNumberOutOfSequence(f"{number} goes back to an earlier year than {previous_number}.", field="number")
        if current.year == previous.year:
            expected = format_number(current.prefix, current.year, previous.sequence + 1)
        else:
            expected = format_number(current.prefix, current.year, 1)
    if number != expected:
        raise InvoiceNumberOutOfSequence(
            f"{number} does not follow {previous_number or 'the start of the sequence'}: expected {expected}.",
            field="number",
            hint="Numbers are allocated gap-free per issuer and year; allocate the next number instead.",
        )


# --- the invoice --------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """Money received for an invoice, or refunded for a credit note; always positive."""

    amount: Money
    paid_on: date
    reference: str  # bank reference, SEPA end-to-end id, ...


@dataclass(frozen=True)
class Credit:
    """A credit note registered on the invoice it corrects: what it takes off, both positive."""

    credit_note_id: str
    net: Money
    gross: Money


@dataclass(frozen=True)
class InvoicePaid:
    """Domain event: an invoice became fully paid; the commission module listens to it.

    ``net_amount``: the net the customer keeps paying for, the invoice's net less what its credit notes credited.
    """

    invoice_id: str
    payer_id: str
    customer_id: str
    paid_on: date
    net_amount: Money
    partner_id: str | None = None
    invoice_number: str | None = None


@dataclass(frozen=True)
class InvoiceDraft:
    """An invoice's content before it has a number; ``issue`` makes it an ``Invoice``."""

    invoice_id: str
    kind: InvoiceKind
    issuer_id: str
    payer_id: str
    customer_id: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    vat_treatment: VatTreatment
    payment_method: PaymentMethod
    partner_id: str | None = None
    billing_mode: BillingMode | None = None
    payer_vat_id: str | None = None
    payer_country: str = HOME_COUNTRY
    notes: tuple[str, ...] = ()
    payment_terms_days: int = PAYMENT_TERMS_DAYS
    corrects_invoice_id: str | None = None
    corrects_invoice_number: str | None = None
    reason: str | None = None
    billing_run_date: date | None = None
    direct_debit: DirectDebit | None = None  # how a SEPA direct-debit invoice is collected
    branch: InvoiceBranch | None = None  # the customer's branch this invoice bills (per-branch billing)

    @property
    def net_total(self) -> Money:
        return _sum((line.net_amount for line in self.lines), self.currency)

    @property
    def gross_total(self) -> Money:
        return _sum((amount.gross for amount in vat_breakdown(self.lines, self.currency)), self.currency)

    def issue(self, *, number: str, issued_at: datetime) -> "Invoice":
        """Fix the content under ``number`` at ``issued_at``; the issue date is the Berlin date."""
        issued_at = ensure_utc(issued_at)
        issue_date = berlin_date(issued_at)
        parsed = parse_number(number)
        if parsed.year != issue_date.year:
            raise ValidationFailed(
                f"Invoice number {number} belongs to {parsed.year}, the invoice is issued on {issue_date.isoformat()}.",
                field="number",
                hint="Allocate the number from the sequence of the year of issue.",
            )
        return Invoice(
            id=self.invoice_id,
            number=number,
            kind=self.kind,
            issuer_id=self.issuer_id,
            payer_id=self.payer_id,
            customer_id=self.customer_id,
            partner_id=self.partner_id,
            billing_mode=self.billing_mode,
            issued_at=issued_at,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=self.payment_terms_days),
            currency=self.currency,
            lines=self.lines,
            vat_treatment=self.vat_treatment,
            vat_breakdown=vat_breakdown(self.lines, self.currency),
            payment_method=self.payment_method,
            payer_vat_id=self.payer_vat_id,
            payer_country=self.payer_country,
            notes=self.notes,
            corrects_invoice_id=self.corrects_invoice_id,
            corrects_invoice_number=self.corrects_invoice_number,
            reason=self.reason,
            billing_run_date=self.billing_run_date,
            direct_debit=self.direct_debit,
            branch=self.branch,
        )


_MUTABLE_FIELDS = frozenset({"payments", "credits", "refund_due", "version"})


@dataclass(frozen=True)
class Invoice:
    """An issued invoice or credit note. Content is fixed; only ``payments`` grow."""

    id: str
    number: str
    kind: InvoiceKind
    issuer_id: str
    payer_id: str
    customer_id: str
    partner_id: str | None
    billing_mode: BillingMode | None
    issued_at: datetime
    issue_date: date  # Europe/Berlin
    due_date: date
    currency: str
    lines: tuple[InvoiceLine, ...]
    vat_treatment: VatTreatment
    vat_breakdown: tuple[VatAmount, ...]
    payment_method: PaymentMethod
    payer_vat_id: str | None = None
    payer_country: str = HOME_COUNTRY
    notes: tuple[str, ...] = ()
    corrects_invoice_id: str | None = None
    corrects_invoice_number: str | None = None
    reason: str | None = None
    billing_run_date: date | None = None
    direct_debit: DirectDebit | None = None  # the mandate, account and creditor a direct-debit invoice is collected by
    # Issuer and payer as printed, fixed at issue (``domain.services.invoices.issue``); None on invoices issued before
    # they were kept, whose PDF prints the organisations' master data as they are when it is rendered.
    issuer_party: InvoiceParty | None = None
    payer_party: InvoiceParty | None = None
    branch: InvoiceBranch | None = None  # the customer's branch it bills (per-branch billing): the recipient printed
    payments: tuple[Payment, ...] = ()
    credits: tuple[Credit, ...] = ()  # credit notes registered on this invoice (``register_credit_note``)
    # A credit note's refund (positive), fixed when it is registered on its invoice; None: not registered (issued
    # before credit notes were), so all of its gross counts as refund until ``register_issued_credit_notes`` ran.
    refund_due: Money | None = None
    version: int = 0  # optimistic locking; infra increments it

    def __post_init__(self) -> None:
        if ids.prefix_of(self.id) != "inv":
            raise ValidationFailed(f"'{self.id}' is not an invoice id.", field="id")
        parse_number(self.number)
        if not self.lines:
            raise ValidationFailed("An invoice has at least one line.", field="lines")
        if any(line.currency != self.currency for line in self.lines):
            raise ValidationFailed(f"Every line of an invoice in {self.currency} is in {self.currency}.", field="lines")
        if self.due_date < self.issue_date:
            raise ValidationFailed("An invoice cannot be due before it is issued.", field="dueDate")
        if self.kind is InvoiceKind.CREDIT_NOTE:
            if self.net_total.amount > 0:
                raise ValidationFailed("A credit note carries negative amounts.", field="lines")
        elif self.net_total.amount < 0:
            raise ValidationFailed("An invoice cannot total less than zero; issue a credit note.", field="lines")
        elif self.corrects_invoice_id is not None:
            raise ValidationFailed("Only a credit note corrects another invoice.", field="correctsInvoiceId")
        elif self.payment_method is PaymentMethod.SEPA_DIRECT_DEBIT and self.direct_debit is None:
            raise ValidationFailed("A direct-debit invoice names the mandate it is collected under.", field="directDebit")
        if self.direct_debit is not None and self.payment_method is not PaymentMethod.SEPA_DIRECT_DEBIT:
            raise ValidationFailed("Only a direct-debit invoice names a mandate.", field="directDebit")
        self._check_vat_breakdown()

    def _check_vat_breakdown(self) -> None:
        nets = _net_by_rate(self.lines, self.currency)
        stated = {amount.rate: amount for amount in self.vat_breakdown}
        if set(stated) != set(nets) or len(stated) != len(self.vat_breakdown):
            raise ValidationFailed("The VAT breakdown lists each rate of the lines once.", field="vatBreakdown")
        # Credit notes may differ by a cent per rate: they credit the difference of the cumulative VAT.
        tolerance = Decimal("0.01") if self.kind is InvoiceKind.CREDIT_NOTE else Decimal("0")
        for rate, amount in stated.items():
            if amount.net != nets[rate] or amount.vat.amount != round_cents(amount.vat.amount):
                raise ValidationFailed(f"The {rate}% VAT line does not match the lines.", field="vatBreakdown")
            if abs(amount.vat.amount - vat_on(nets[rate], rate).amount) > tolerance:
                raise ValidationFailed(f"The {rate}% VAT amount is not the VAT on its net.", field="vatBreakdown")

    # -- totals -----------------------------------------------------------------------------
    # Computed once per instance: the content never changes, and a new payment makes a new instance (replace).
    # An invoice list asks each invoice for its totals, outstanding amount and status, about a dozen sums each.

    @cached_property
    def net_total(self) -> Money:
        return _sum((line.net_amount for line in self.lines), self.currency)

    @cached_property
    def vat_total(self) -> Money:
        return _sum((amount.vat for amount in self.vat_breakdown), self.currency)

    @cached_property
    def gross_total(self) -> Money:
        return self.net_total + self.vat_total

    @property
    def is_credit_note(self) -> bool:
        return self.kind is InvoiceKind.CREDIT_NOTE

    # -- payments ---------------------------------------------------------------------------

    @cached_property
    def credited_net(self) -> Money:
        """What the registered credit notes took off the net (positive)."""
        return _sum((credit.net for credit in self.credits), self.currency)

    @cached_property
    def credited_gross(self) -> Money:
        return _sum((credit.gross for credit in self.credits), self.currency)

    @property
    def net_after_credits(self) -> Money:
        """The net the payer keeps paying for: the commission's base."""
        return self.net_total - self.credited_net

    @property
    def is_fully_credited(self) -> bool:
        return self.kind is InvoiceKind.INVOICE and bool(self.credits) and self.credited_gross.amount >= self.gross_total.amount

    @property
    def amount_due(self) -> Money:
        """What the document settles: the gross of an invoice less its credit notes, the refund (positive) of a credit
        note (what was paid on its invoice beyond what the invoice owes after it; all of it if not registered)."""
        if self.kind is InvoiceKind.CREDIT_NOTE:
            return self.refund_due if self.refund_due is not None else Money(abs(self.gross_total.amount), self.currency)
        due = self.gross_total - self.credited_gross
        return due if due.amount > 0 else _zero(self.currency)

    @property
    def paid_beyond_due(self) -> Money:
        """What was paid on an invoice beyond what it owes after its credit notes: refunded through them."""
        beyond = self.amount_paid - self.amount_due
        return beyond if beyond.amount > 0 else _zero(self.currency)

    @cached_property
    def amount_paid(self) -> Money:
        return _sum((payment.amount for payment in self.payments), self.currency)

    @property
    def outstanding(self) -> Money:
        """Still to pay; never below zero (money paid before a credit note is refunded through the credit note)."""
        left = self.amount_due - self.amount_paid
        return left if left.amount > 0 else _zero(self.currency)

    @property
    def status(self) -> InvoiceStatus:
        if self.is_fully_credited:
            return InvoiceStatus.CREDITED
        if self.kind is InvoiceKind.CREDIT_NOTE and self.refund_due is not None and self.refund_due.amount <= 0:
            return InvoiceStatus.OFFSET
        if self.outstanding.amount <= 0:
            return InvoiceStatus.PAID
        if self.payments:
            return InvoiceStatus.PARTIALLY_PAID
        return InvoiceStatus.ISSUED

    @property
    def is_open(self) -> bool:
        """An invoice the payer still owes money on (the dunning list, the direct debits)."""
        return self.kind is InvoiceKind.INVOICE and self.status in (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)

    # -- immutability -----------------------------------------------------------------------

    def content(self) -> dict[str, object]:
        """Everything printed on the document: all fields except the payments and the version."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _MUTABLE_FIELDS}


def assert_content_unchanged(issued: Invoice, candidate: Invoice, *, refund_may_grow: bool = False) -> None:
    """Refuse any write that would change an issued invoice's content (the repository calls this).

    ``refund_may_grow``: a direct debit's collection beyond what is owed makes a credit note refund more
    (``refunds_after_payment``); what it refunds never shrinks, a refund paid out stays paid out."""
    if issued.id != candidate.id:
        raise ValidationFailed("These are two different invoices.", field="id")
    before, after = issued.content(), candidate.content()
    changed = sorted(name for name in before if before[name] != after[name])
    if changed:
        raise InvoiceImmutable(
            f"Invoice {issued.number} is issued and cannot be changed ({', '.join(changed)}).",
            field="invoiceId",
            hint="Issue a credit note for the invoice and, if needed, a new invoice.",
        )
    paid_before = issued.payments
    if candidate.payments[: len(paid_before)] != paid_before:
        raise InvoiceImmutable(
            f"Payments of invoice {issued.number} can only be added, never changed or removed.",
            field="payments",
        )
    if candidate.credits[: len(issued.credits)] != issued.credits:
        raise InvoiceImmutable(f"Credit notes of invoice {issued.number} can only be added, never removed.", field="credits")
    if issued.refund_due is not None and candidate.refund_due != issued.refund_due:
        if not (refund_may_grow and candidate.refund_due is not None and candidate.refund_due.amount > issued.refund_due.amount):
            raise InvoiceImmutable(f"What credit note {issued.number} refunds is fixed.", field="refundDue")


# --- credit notes -------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditItem:
    """Credit line ``line_number`` (1-based) of the invoice: all of what is left of it, or ``net_amount`` of it."""

    line_number: int
    net_amount: Money | None = None  # positive; None credits the rest of the line


def _line_reference(invoice_id: str, line_number: int) -> str:
    return f"{invoice_id}#{line_number}"


def _credited_per_line(invoice: Invoice, previous_credit_notes: Sequence[Invoice]) -> dict[int, Money]:
    credited = {n: _zero(invoice.currency) for n in range(1, len(invoice.lines) + 1)}
    for note in previous_credit_notes:
        if note.kind is not InvoiceKind.CREDIT_NOTE or note.corrects_invoice_id != invoice.id:
            raise ValidationFailed(f"{note.number} is not a credit note for {invoice.number}.", field="previousCreditNotes")
        for line in note.lines:
            prefix, _, number = (line.source_reference or "").rpartition("#")
            if prefix == invoice.id and number.isdigit() and int(number) in credited:
                credited[int(number)] = credited[int(number)] - line.net_amount  # credit lines are negative
    return credited


def credit_note_for(
    invoice: Invoice,
    *,
    reason: str,
    now: datetime,
    number: str,
    lines: Sequence[CreditItem] | None = None,
    previous_credit_notes: Sequence[Invoice] = (),
    credit_note_id: str | None = None,
) -> Invoice:
    """Issue a credit note (negative amounts) for ``lines`` of ``invoice``, or for all of it when ``lines`` is None.

    ``previous_credit_notes`` are the credit notes already issued for the invoice: nothing
    can be credited twice, and the VAT credited over all of them adds up to the invoice's.
    The payer, parties, VAT treatment, payment method and branch are the corrected invoice's; each credit line names
    the branch of the line it credits. A branch's invoice is corrected to the payer as that invoice was issued to (its
    ``payer_party``: the company and branch name and the branch's address then), never today's company name with the
    branch of then; a note for an invoice without a branch prints the payer of its own day of issue, as before.
    """
    if invoice.kind is not InvoiceKind.INVOICE:
        raise ValidationFailed("Only an invoice can be corrected by a credit note.", field="invoiceId")
    reason = require_text(reason, "reason", label="The reason for the credit note", max_length=500)
    credited = _credited_per_line(invoice, previous_credit_notes)
    items = list(lines) if lines is not None else [CreditItem(n) for n in range(1, len(invoice.lines) + 1)]
    if not items:
        raise ValidationFailed("Name at least one line to credit.", field="lines")
    seen: set[int] = set()
    credit_lines: list[InvoiceLine] = []
    for item in items:
        if not 1 <= item.line_number <= len(invoice.lines):
            raise ValidationFailed(
                f"Invoice {invoice.number} has lines 1 to {len(invoice.lines)}, not {item.line_number}.", field="lines"
            )
        if item.line_number in seen:
            raise ValidationFailed(f"Line {item.line_number} is named twice.", field="lines")
        seen.add(item.line_number)
        original = invoice.lines[item.line_number - 1]
        creditable = original.net_amount - credited[item.line_number]
        if lines is None and creditable.amount == 0:
            continue  # a full credit after partial ones credits what is left
        amount = creditable if item.net_amount is None else item.net_amount
        if amount.currency != invoice.currency or amount.amount != round_cents(amount.amount):
            raise ValidationFailed(f"Credit amounts are in {invoice.currency}, to the cent.", field="lines.netAmount")
        if amount.amount <= 0 or amount.amount > creditable.amount:
            raise Conflict(
                f"Line {item.line_number} of {invoice.number} has {creditable} left to credit, not {amount}.",
                field="lines.netAmount",
                hint="Credit at most what the line still has; earlier credit notes count.",
            )
        whole_line = amount == original.net_amount
        credit_lines.append(
            InvoiceLine(
                description=f"Credit for {invoice.number}, line {item.line_number}: {original.description}",
                quantity=-original.quantity if whole_line else Decimal("-1"),
                unit_price=original.unit_price if whole_line else amount,
                net_amount=-amount,
                vat_rate=original.vat_rate,
                period_start=original.period_start,
                period_end=original.period_end,
                source_reference=_line_reference(invoice.id, item.line_number),
                discount_percent=original.discount_percent if whole_line else Decimal("0"),
                branch=original.branch,
            )
        )
    if not credit_lines:
        raise Conflict(f"Invoice {invoice.number} is credited in full already.", field="invoiceId")
    # Credit notes of the billing run credit seats (their lines name the credited charge, not a line of this invoice),
    # so the lines above cannot see them: whatever the lines say, the invoice is never credited beyond its net.
    credited_before = -_sum((line.net_amount for line in _credit_lines_of(previous_credit_notes)), invoice.currency)
    left = invoice.net_total - credited_before
    asked = -_sum((line.net_amount for line in credit_lines), invoice.currency)
    if asked.amount > left.amount:
        raise Conflict(
            f"{invoice.number} has {left} left to credit in all (credit notes so far: {credited_before}), not {asked}.",
            field="lines.netAmount",
            hint="Credit at most what is left; a credit note of the billing run (a cancellation or reduction) counts.",
        )

    draft = InvoiceDraft(
        invoice_id=credit_note_id or ids.new_id("inv"),
        kind=InvoiceKind.CREDIT_NOTE,
        issuer_id=invoice.issuer_id,
        payer_id=invoice.payer_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        lines=tuple(credit_lines),
        vat_treatment=invoice.vat_treatment,
        payment_method=invoice.payment_method,
        partner_id=invoice.partner_id,
        billing_mode=invoice.billing_mode,
        payer_vat_id=invoice.payer_vat_id,
        payer_country=invoice.payer_country,
        notes=invoice.notes,
        payment_terms_days=0,
        corrects_invoice_id=invoice.id,
        corrects_invoice_number=invoice.number,
        reason=reason,
        branch=invoice.branch,  # a branch's invoice is corrected at the branch it was addressed to
    )
    note = draft.issue(number=number, issued_at=now)
    # Cumulative VAT: what is credited in total after this note, minus what earlier notes credited.
    before = _net_by_rate(_credit_lines_of(previous_credit_notes), invoice.currency)
    previous_vat = {
        rate: _sum((a.vat for n in previous_credit_notes for a in n.vat_breakdown if a.rate == rate), invoice.currency)
        for rate in before
    }
    breakdown = []
    for amount in note.vat_breakdown:
        net_before = before.get(amount.rate, _zero(invoice.currency))
        cumulative = vat_on(net_before + amount.net, amount.rate)
        breakdown.append(replace(amount, vat=cumulative - previous_vat.get(amount.rate, _zero(invoice.currency))))
    return replace(note, vat_breakdown=tuple(breakdown),
                   payer_party=invoice.payer_party if invoice.branch is not None else note.payer_party)


def _credit_lines_of(notes: Sequence[Invoice]) -> list[InvoiceLine]:
    return [line for note in notes for line in note.lines]


# --- payments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentOutcome:
    invoice: Invoice
    recorded: bool  # False when the same payment was recorded before
    event: InvoicePaid | None = None


def _paid_event(invoice: Invoice, paid_on: date) -> InvoicePaid:
    return InvoicePaid(
        invoice_id=invoice.id,
        payer_id=invoice.payer_id,
        customer_id=invoice.customer_id,
        paid_on=paid_on,
        net_amount=invoice.net_after_credits,
        partner_id=invoice.partner_id,
        invoice_number=invoice.number,
    )


def record_payment(
    invoice: Invoice, amount: Money, paid_on: date, reference: str, *, today: date, direct_debit_collection: bool = False,
) -> PaymentOutcome:
    """Append a payment (a refund for a credit note); the invoice is PAID once nothing is outstanding.

    The payment that settles an invoice yields ``InvoicePaid``. The same payment (reference,
    amount and date) recorded again changes nothing; the same reference with other data is
    refused. ``paid_on`` lies between the issue date and ``today`` (Berlin): issued 2026-11-23,
    recorded on 2026-11-23, a payment of 2027-11-30 is refused.

    More than is outstanding is refused, unless ``direct_debit_collection``: the bank collected a direct-debit
    invoice under a file made before a credit note, so its collections may bring up to what that file asked for, in
    one entry or several, dated on or after the run's collection date (checked by the caller:
    ``domain.direct_debits.check_collection``), at most what is unpaid of the gross; what they bring beyond what is owed
    is refunded through the credit notes (``refunds_after_payment``).
    """
    reference = require_text(reference, "reference", label="The payment reference")
    if amount.currency != invoice.currency:
        raise ValidationFailed(f"Invoice {invoice.number} is paid in {invoice.currency}.", field="amount")
    if amount.amount <= 0 or amount.amount != round_cents(amount.amount):
        raise ValidationFailed(f"A payment is a positive amount to the cent, not {amount.amount}.", field="amount")
    payment = Payment(amount, paid_on, reference)
    same_reference = [p for p in invoice.payments if p.reference == reference]
    if same_reference:
        if payment in same_reference:
            return PaymentOutcome(invoice, recorded=False)
        raise Conflict(
            f"Payment {reference} is recorded on {invoice.number} with other data.",
            field="reference",
            hint="Each bank reference is recorded once; check the amount and date.",
        )
    if paid_on < invoice.issue_date:
        raise ValidationFailed(
            f"A payment cannot predate invoice {invoice.number} of {invoice.issue_date.isoformat()}.", field="paidOn"
        )
    if paid_on > today:
        raise ValidationFailed(
            f"A payment of {paid_on.isoformat()} lies in the future (today is {today.isoformat()}).",
            field="paidOn",
            hint="Record a payment on or after the day it was received.",
        )
    direct_debit = invoice.kind is InvoiceKind.INVOICE and invoice.payment_method is PaymentMethod.SEPA_DIRECT_DEBIT
    if direct_debit_collection:
        if not direct_debit:
            raise ValidationFailed(
                f"{invoice.number} is not collected by direct debit.", field="directDebitCollection",
                hint="Record a transfer without directDebitCollection.",
            )
        unpaid = invoice.gross_total - invoice.amount_paid  # at most what any direct-debit file asked for
        if amount.amount > unpaid.amount:
            raise Overpayment(
                f"{amount} exceeds the {unpaid} of {invoice.number}'s gross not paid yet: no direct debit collects that much.",
                outstanding=invoice.outstanding,
                hint=f"Record the amount the bank collected, at most {unpaid}; a surplus beyond it is refunded separately.",
            )
    elif amount.amount > invoice.outstanding.amount:
        collected = " If the bank collected it by direct debit, record it as such (directDebitCollection)." if direct_debit else ""
        raise Overpayment(
            f"{amount} exceeds the {invoice.outstanding} outstanding on {invoice.number}.",
            outstanding=invoice.outstanding,
            hint=f"Record at most {invoice.outstanding}; refund the surplus or settle it separately.{collected}",
        )
    paid = replace(invoice, payments=invoice.payments + (payment,))
    event = None
    if paid.status is InvoiceStatus.PAID and paid.kind is InvoiceKind.INVOICE:
        event = _paid_event(paid, paid_on)
    return PaymentOutcome(paid, recorded=True, event=event)


@dataclass(frozen=True)
class CreditNoteOutcome:
    invoice: Invoice  # the corrected invoice with the credit note registered on it
    event: InvoicePaid | None = None  # the credit note left nothing owed on a partly paid invoice
    credit_note: Invoice | None = None  # the credit note with what it refunds (``refund_due``)


def register_credit_note(invoice: Invoice, credit_note: Invoice) -> CreditNoteOutcome:
    """Register ``credit_note`` on the invoice it corrects: it takes its gross off what the payer owes, and refunds what
    was paid beyond what is owed then (``refund_due``); the rest of it is set off against what was owed.

    1190.00 gross, 400.00 net (476.00 gross) credited: 714.00 is owed; unpaid, the credit note refunds nothing (OFFSET);
    1000.00 paid, it refunds 286.00. A credit note that leaves nothing owed on a partly paid invoice settles it (PAID,
    ``InvoicePaid`` dated on the last payment); one that takes off all of the gross makes it CREDITED, without event.
    Registering the same credit note again changes nothing.
    """
    if credit_note.kind is not InvoiceKind.CREDIT_NOTE or credit_note.corrects_invoice_id != invoice.id:
        raise ValidationFailed(f"{credit_note.number} is not a credit note for {invoice.number}.", field="invoiceId")
    if any(credit.credit_note_id == credit_note.id for credit in invoice.credits):
        return CreditNoteOutcome(invoice, credit_note=credit_note)
    credit = Credit(credit_note.id, -credit_note.net_total, -credit_note.gross_total)
    credited = replace(invoice, credits=invoice.credits + (credit,))
    event = None
    if invoice.status is not InvoiceStatus.PAID and credited.status is InvoiceStatus.PAID and credited.payments:
        event = _paid_event(credited, max(p.paid_on for p in credited.payments))
    refund = credited.paid_beyond_due - invoice.paid_beyond_due  # what earlier credit notes refund is theirs
    return CreditNoteOutcome(credited, event, replace(credit_note, refund_due=refund))


def refunds_of_credits(invoice: Invoice) -> dict[str, Money]:
    """What each credit note registered on ``invoice`` refunds, as ``register_credit_note`` fixed it: the credits in the
    order registered, against everything paid on the invoice.

    The same as when each was registered: a payment is taken only while something is owed, so money paid after a credit
    note never reaches beyond what the invoice owed after it. (For credit notes registered before ``refund_due`` was
    kept, and those issued before they were registered at all.) Except a direct debit's collection, which may; then
    this is what the credit notes refund after it (``refunds_after_payment``).
    """
    refunds: dict[str, Money] = {}
    so_far = replace(invoice, credits=())
    for credit in invoice.credits:
        after = replace(so_far, credits=so_far.credits + (credit,))
        refunds[credit.credit_note_id] = after.paid_beyond_due - so_far.paid_beyond_due
        so_far = after
    return refunds


def refunds_after_payment(invoice: Invoice, credit_notes: Iterable[Invoice]) -> tuple[Invoice, ...]:
    """The credit notes registered on ``invoice`` (as paid) whose refund a payment changed, with the refund they owe now.

    Only a direct debit's collection changes one: 119.00 gross, a credit note of -19.00 after the file (refunding
    nothing then, OFFSET), 119.00 collected: the credit note refunds 19.00 (ISSUED until refunded). The refund goes to
    the credit notes in the order registered, as ``refunds_of_credits`` says; a note already refunding that is left out.
    """
    refunds = refunds_of_credits(invoice)
    return tuple(
        replace(note, refund_due=refunds[note.id])
        for note in credit_notes
        if note.id in refunds and note.refund_due is not None and note.refund_due != refunds[note.id]
    )


def is_overdue(invoice: Invoice, today: date) -> bool:
    """For the dunning list: an invoice with money owed after its due date (credit notes count)."""
    return invoice.is_open and today > invoice.due_date


# --- copies and archive retrieval ---------------------------------------------------------


def free_resend_until(issue_date: date) -> date:
    """The last day of the free re-send (day 60 counts): issued 2025-01-01 → 2025-03-02."""
    return issue_date + timedelta(days=FREE_RESEND_DAYS)


def online_until(issue_date: date, online_months: int = DEFAULT_ONLINE_MONTHS) -> date:
    """The last day the invoice is downloadable: issued 2023-01-31, 24 months → 2025-01-31."""
    if isinstance(online_months, bool) or not isinstance(online_months, int) or online_months < 0:
        raise ValidationFailed(f"Online months are a whole number, not {online_months!r}.", field="onlineMonths")
    return add_months(issue_date, online_months)


def copy_policy(invoice_issue_date: date, today: date, online_months: int = DEFAULT_ONLINE_MONTHS) -> CopyDecision:
    if today < invoice_issue_date:
        raise ValidationFailed("The invoice is issued after today.", field="today")
    if today <= free_resend_until(invoice_issue_date):
        return CopyDecision.FREE_RESEND
    if today <= online_until(invoice_issue_date, online_months):
        return CopyDecision.SELF_SERVICE_DOWNLOAD
    return CopyDecision.ARCHIVE_RETRIEVAL_REQUIRED


def assert_free_resend(invoice: Invoice, today: date, online_months: int = DEFAULT_ONLINE_MONTHS) -> None:
    """Refuse a free re-send request that the copy policy does not allow, saying what to do instead."""
    decision = copy_policy(invoice.issue_date, today, online_months)
    if decision is CopyDecision.FREE_RESEND:
        return
    free_until = free_resend_until(invoice.issue_date).isoformat()
    if decision is CopyDecision.SELF_SERVICE_DOWNLOAD:
        raise CopyNotFree(
            f"Invoice {invoice.number} was issued on {invoice.issue_date.isoformat()}; "
            f"free re-sends end {FREE_RESEND_DAYS} days after issue ({free_until}).",
            decision=decision,
            hint=(
                f"Download invoice {invoice.number} yourself from the invoice list in the customer centre "
                f"(available online until {online_until(invoice.issue_date, online_months).isoformat()})."
            ),
        )
    raise CopyNotFree(
        f"Invoice {invoice.number} was issued on {invoice.issue_date.isoformat()} and is no longer available online.",
        decision=decision,
        hint=f"Order an archive retrieval: {_ARCHIVE_RETRIEVAL_TERMS}",
    )


_ARCHIVE_RETRIEVAL_TERMS = (
    f"{ARCHIVE_RETRIEVAL_BASE_FEE} paid in advance covers opening the archive and one hour of search; "
    "further hours are charged at the hourly rate."
)


def assert_downloadable(principal: Principal, invoice: Invoice, today: date, online_months: int = DEFAULT_ONLINE_MONTHS) -> None:
    """The payer downloads an invoice itself while it is online (issued 2023-01-31: until 2025-01-31 inclusive);
    from the next day a copy is a paid archive retrieval, so the download is refused with that hint.

    Distributor staff may still download it: they carry out the archive retrieval.
    """
    if principal.is_distributor:
        return
    last_day = online_until(invoice.issue_date, online_months)
    if today > last_day:
        raise InvoiceNoLongerOnline(
            f"Invoice {invoice.number} was issued on {invoice.issue_date.isoformat()} and was available online "
            f"until {last_day.isoformat()}; it can no longer be downloaded.",
            online_until=last_day,
            hint=f"Order an archive retrieval (request a copy with the hours of search): {_ARCHIVE_RETRIEVAL_TERMS}",
        )


@dataclass(frozen=True)
class ArchiveRetrievalQuote:
    hours: int
    hourly_rate: Money
    base_fee: Money = ARCHIVE_RETRIEVAL_BASE_FEE

    @property
    def extra_hours(self) -> int:
        return self.hours - 1

    @property
    def net_total(self) -> Money:
        return (self.base_fee + self.hourly_rate * self.extra_hours).rounded()

    def lines(self, vat_rate: Decimal, *, invoice_number: str) -> tuple[InvoiceLine, ...]:
        lines = [
            InvoiceLine.priced(
                f"Archive retrieval of invoice {invoice_number}: opening the archive and the first hour of search",
                1,
                self.base_fee,
                vat_rate,
                source_reference=invoice_number,
            )
        ]
        if self.extra_hours:
            lines.append(
                InvoiceLine.priced(
                    f"Archive retrieval of invoice {invoice_number}: further hours of search",
                    self.extra_hours,
                    self.hourly_rate,
                    vat_rate,
                    source_reference=invoice_number,
                )
            )
        return tuple(lines)


def quote_archive_retrieval(
    hours: int, hourly_rate: Money, *, base_fee: Money = ARCHIVE_RETRIEVAL_BASE_FEE
) -> ArchiveRetrievalQuote:
    """Net price of an archive retrieval of ``hours`` (the first is in the base fee): 3 h at 60.00 → 220.00."""
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise ValidationFailed(f"An archive retrieval is ordered in whole hours, at least 1, not {hours!r}.", field="hours")
    if hourly_rate.amount <= 0 or hourly_rate.currency != base_fee.currency:
        raise ValidationFailed(f"The hourly rate must be a positive {base_fee.currency} amount.", field="hourlyRate")
    return ArchiveRetrievalQuote(hours, hourly_rate, base_fee)


def archive_retrieval_draft(
    quote: ArchiveRetrievalQuote, *, original: Invoice, payer: BillingParty, invoice_id: str | None = None
) -> InvoiceDraft:
    """The retrieval's own invoice, to the original's payer, due on the day of issue (paid in advance)."""
    if payer.organisation_id != original.payer_id:
        raise ValidationFailed("An archive retrieval is ordered by the invoice's payer.", field="payerId")
    treatment = vat_treatment_for(payer)
    return InvoiceDraft(
        invoice_id=invoice_id or ids.new_id("inv"),
        kind=InvoiceKind.INVOICE,
        issuer_id=original.issuer_id,
        payer_id=payer.organisation_id,
        customer_id=original.customer_id,
        currency=quote.base_fee.currency,
        lines=quote.lines(vat_rate_for(treatment), invoice_number=original.number),
        vat_treatment=treatment,
        payment_method=PaymentMethod.TRANSFER,  # paid in advance, before the search starts
        partner_id=original.partner_id,
        billing_mode=original.billing_mode,
        payer_vat_id=payer.vat_id,
        payer_country=payer.country,
        notes=notes_for(treatment),
        payment_terms_days=0,
    )


# --- retention ----------------------------------------------------------------------------


def retention_ends_on(issue_date: date) -> date:
    """10 years from the end of the year of issue (§14b UStG): 2013-06-30 → kept until 2023-12-31."""
    return date(issue_date.year + RETENTION_YEARS, 12, 31)


def assert_deletable(invoice: Invoice, today: date) -> None:
    ends = retention_ends_on(invoice.issue_date)
    if today <= ends:
        raise RetentionPeriodRunning(
            f"Invoice {invoice.number} must be kept until {ends.isoformat()} (§14b UStG).",
            retention_ends_on=ends,
            hint=f"It can be deleted from {(ends + timedelta(days=1)).isoformat()} on.",
        )


# --- visibility ---------------------------------------------------------------------------


def can_view_invoice(principal: Principal, invoice: Invoice) -> bool:
    """Only the paying organisation sees an invoice (customers: EXTENDED users; partners: general access).

    A customer-pays invoice is invisible to the partner, a partner-pays invoice to the
    customer; the distributor sees all.
    """
    if principal.is_distributor:
        return True
    if principal.organisation_id != invoice.payer_id:
        return False
    if principal.is_customer:
        return principal.permission_level is PermissionLevel.EXTENDED
    if principal.is_partner:
        return principal.has(PartnerPermission.GENERAL_ACCESS)
    return False
