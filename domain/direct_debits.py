"""Collecting direct-debit invoices: which invoices go into the distributor's SEPA direct-debit file (pain.008).

A rental or hosting invoice of a payer with a mandate on file is issued as a direct-debit invoice
(``domain.invoices.DirectDebit``): it tells the payer that the amount is debited on its due date under
the mandate. The distributor then submits the debits to its bank in one file per run. Decided here:

* **What a run collects**: every direct-debit invoice waiting for collection whose due date is on or
  before the run's collection date (a later run takes what an earlier one could not), for what is
  still outstanding (a partial payment reduces the debit). Each invoice goes into one run only.
* **Collection date**: at least the next day (Berlin): the file must reach the bank before the
  collection date. (Banks want SEPA Core debits one business day ahead; bank holidays are the bank's
  to refuse.) Sequence type RCUR for every debit: since November 2016 a first debit under a mandate
  needs no FRST.
* **Taken out, not collected**: an invoice paid meanwhile (nothing outstanding); an invoice whose
  mandate was revoked, or replaced by a mandate with another reference (the invoice named the old one),
  is reported in the run and becomes an ordinary open invoice on the dunning list, paid by transfer.
  A mandate amended under the same reference (a new account) is collected from the account on file.
* **One file, one transaction**: the run record and the marks of its invoices are written in one
  DynamoDB transaction, so at most ``MAX_INVOICES_PER_RUN`` invoices per run; the rest wait for the next.
  The run keeps what its file asked the bank to collect for each invoice (``requested``).
* **The bank's collection** of an invoice (``paymentRecord`` with ``directDebitCollection``) is recorded against the
  run that put it into its file, dated on or after the run's collection date, and the collections recorded under the
  run for the invoice add up to at most what the file asked for it (``check_collection``). 119.00 asked, a credit
  note of 19.00 after the file, 119.00 collected: recorded at once, or as 100.00 and then the 19.00 left (a partial
  or mistaken first entry locks nothing out); either way the credit note refunds 19.00. More than is left is refused
  naming what is left (119.00 asked, 100.00 recorded: 19.01 refused, at most 19.00), anything once all of it is
  recorded; a collection paid on 2026-10-02 under a run collecting on 2026-10-15 is refused. The same payment
  recorded again changes nothing. The references and their total are kept with the run's claim of the invoice
  (``collection_claim``), updated in the payment's transaction on condition that the total stays within what the
  file asked, so two entries at once cannot pass it; a claim written before the total was kept (40eeb7f: its
  reference only) counts that payment's amount on the invoice (``RecordedCollections.of_payments``). Runs made
  before the amounts were kept have no ``requested``: a collection under one is capped at the run's total (what the
  file asked for, for a run of one invoice; an upper bound otherwise) and, as before, at what is unpaid of the
  invoice's gross. Collections recorded before 40eeb7f left no claim: they are not counted, only that cap holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from domain.errors import Conflict, PreconditionFailed, ValidationFailed
from domain.invoices import Invoice, InvoiceKind, Overpayment, PaymentMethod
from domain.money import Money
from domain.organisations import Organisation
from domain.sepa import SepaMandate, mandate_claim

MAX_INVOICES_PER_RUN = 95  # a DynamoDB transaction takes 100 writes: the run and one mark per invoice
SEQUENCE_TYPE = "RCUR"


@dataclass(frozen=True)
class Creditor:
    """The distributor as creditor: its account the debits are credited to and its creditor identifier."""

    name: str
    iban: str
    bic: str | None
    creditor_id: str


@dataclass(frozen=True)
class Debit:
    """One invoice's debit in the file: what is outstanding, from the account of the mandate on file."""

    invoice_id: str
    invoice_number: str
    amount: Money
    mandate: SepaMandate

    @property
    def remittance(self) -> str:
        return f"Rechnung / Invoice {self.invoice_number}"


@dataclass(frozen=True)
class NotCollected:
    invoice_id: str
    invoice_number: str
    reason: str


@dataclass(frozen=True)
class CollectionPlan:
    debits: tuple[Debit, ...]
    not_collected: tuple[NotCollected, ...]  # taken out of the queue with the run, with the reason

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(d.invoice_id for d in self.debits) + tuple(n.invoice_id for n in self.not_collected)

    @property
    def total(self) -> Money:
        return Money(sum((d.amount.amount for d in self.debits), Decimal("0.00")), "EUR")

    @property
    def requested(self) -> tuple[RequestedDebit, ...]:
        return tuple(RequestedDebit(d.invoice_id, d.amount) for d in self.debits)


def plan_collection(
    invoices: Iterable[Invoice], payers: Mapping[str, Organisation], *, collection_date: date,
    credit_notes: Mapping[str, Sequence[Invoice]] | None = None,
) -> CollectionPlan:
    """The debits of the invoices due by ``collection_date``, and those taken out with their reason.

    ``credit_notes``: per invoice, the credit notes that correct it. What they credit (gross) is not debited: a fully
    credited invoice is taken out, a partly credited one is debited for the rest.
    """
    debits: list[Debit] = []
    not_collected: list[NotCollected] = []
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.number)):
        if invoice.kind is not InvoiceKind.INVOICE or invoice.payment_method is not PaymentMethod.SEPA_DIRECT_DEBIT:
            continue
        if invoice.direct_debit is None or invoice.due_date > collection_date:
            continue
        if invoice.amount_paid.amount >= invoice.gross_total.amount:
            not_collected.append(NotCollected(invoice.id, invoice.number, "paid meanwhile; nothing to collect"))
            continue
        notes = (credit_notes or {}).get(invoice.id, ())
        registered = {credit.credit_note_id for credit in invoice.credits}  # counted in ``outstanding`` already
        credited = Money(-sum((n.gross_total.amount for n in notes if n.id not in registered), Decimal("0.00")), invoice.currency)
        due = invoice.outstanding - credited
        if due.amount <= 0:
            numbers = ", ".join(n.number for n in notes)
            not_collected.append(NotCollected(invoice.id, invoice.number, f"credited by {numbers}; nothing to collect"))
            continue
        payer = payers.get(invoice.payer_id)
        mandate = payer.sepa_mandate if payer is not None else None
        if mandate is None:
            not_collected.append(NotCollected(invoice.id, invoice.number, "the mandate was revoked; collect it by transfer"))
            continue
        if mandate_claim(mandate.reference) != mandate_claim(invoice.direct_debit.mandate_reference):
            not_collected.append(NotCollected(
                invoice.id, invoice.number,
                f"issued under mandate {invoice.direct_debit.mandate_reference}, now {mandate.reference} is on file; collect it by transfer",
            ))
            continue
        debits.append(Debit(invoice.id, invoice.number, due, mandate))
    return CollectionPlan(tuple(debits), tuple(not_collected))


@dataclass(frozen=True)
class RequestedDebit:
    """What a run's file asked the bank to collect for one invoice (its instructed amount)."""

    invoice_id: str
    amount: Money


@dataclass(frozen=True)
class DirectDebitRun:
    """The distributor's run: the debits of direct-debit invoices in one SEPA file (pain.008) for its bank."""

    id: str  # ddr_…
    created_at: datetime
    created_by: str
    collection_date: date
    invoice_ids: tuple[str, ...]  # collected in the file
    total: Money
    # None for a run that found only invoices it could not collect: it takes them out of the queue with their
    # reasons and writes no file, so the next run reaches the invoices behind them.
    document_key: str | None
    not_collected: tuple[NotCollected, ...] = ()
    # What the file asked for, per invoice of ``invoice_ids``; empty on runs made before it was kept.
    requested: tuple[RequestedDebit, ...] = ()
    version: int = 0

    @property
    def filename(self) -> str:
        return f"sepa-direct-debits-{self.collection_date.isoformat()}-{self.id}.xml"

    def collectable(self, invoice_id: str) -> Money | None:
        """The most the bank can have collected for the invoice under this run; None if its file did not ask for it.

        What the file asked for; on a run made before that was kept, the run's total (exact for a run of one invoice).
        """
        if invoice_id not in self.invoice_ids:
            return None
        if not self.requested:
            return self.total
        return next((r.amount for r in self.requested if r.invoice_id == invoice_id), None)


def collection_claim(run_id: str, invoice_id: str) -> str:
    """The claim the collections of the invoice recorded under the run hold: their references and total
    (``RecordedCollections``); owned by the first payment's reference."""
    return f"direct-debit-collection#{run_id}#{invoice_id}"


@dataclass(frozen=True)
class RecordedCollections:
    """The bank's collections of one invoice recorded under one run: their payments' references and their total."""

    references: tuple[str, ...]
    total: Money

    @classmethod
    def of_payments(cls, invoice: Invoice, references: Sequence[str]) -> RecordedCollections:
        """What the invoice's payments of ``references`` recorded: a claim written before the total was kept (40eeb7f)
        names its one payment only."""
        amounts = (p.amount.amount for p in invoice.payments if p.reference in references)
        return cls(tuple(references), Money(sum(amounts, Decimal("0.00")), invoice.currency))

    def plus(self, reference: str, amount: Money) -> RecordedCollections:
        return RecordedCollections(self.references + (reference,), self.total + amount)


def check_collection(
    run: DirectDebitRun | None, invoice: Invoice, amount: Money, *, paid_on: date, recorded: RecordedCollections | None, reference: str,
) -> RecordedCollections:
    """The collections of ``invoice`` recorded under ``run`` (the run that took it, if any) once the bank's collection
    of ``amount`` paid on ``paid_on`` as ``reference`` is recorded too, after ``recorded`` (None: none yet).

    Refused unless the run's file asked for the invoice (``PreconditionFailed``), ``paid_on`` is on or after the run's
    collection date (``ValidationFailed``, paidOn) and what is recorded stays within what the file asked: a run of
    2026-10-10 collecting on 2026-10-15 asks 119.00 for October; 100.00 recorded, 19.00 more is recorded, 19.01 is
    refused (``Overpayment``, 19.00 left); with 119.00 recorded anything more is (``Conflict``, directDebitCollection).
    """
    collectable = run.collectable(invoice.id) if run is not None else None
    if run is None or collectable is None:
        raise PreconditionFailed(
            f"{invoice.number} is in no direct-debit file: the bank cannot have collected it.", field="directDebitCollection",
            hint="Record a transfer without directDebitCollection; direct-debit invoices are collected by directDebitRunCreate.",
        )
    if paid_on < run.collection_date:
        raise ValidationFailed(
            f"Direct-debit run {run.id} collects {invoice.number} on {run.collection_date.isoformat()}: a collection paid on "
            f"{paid_on.isoformat()} predates it.",
            field="paidOn",
            hint=f"Record the day the bank credited the collection, {run.collection_date.isoformat()} or later; money received "
                 "before it is a transfer (without directDebitCollection).",
        )
    recorded = recorded or RecordedCollections((), Money(Decimal("0.00"), invoice.currency))
    left = collectable - recorded.total
    asked = "asked for" if run.requested else "asked for at most (its total)"
    if left.amount <= 0:
        raise Conflict(
            f"The bank's collection of {invoice.number} under direct-debit run {run.id} is recorded in full already: "
            f"{recorded.total} of the {collectable} its file {asked} (payments {', '.join(recorded.references)}).",
            field="directDebitCollection",
            hint="The bank collects at most what the file asked for. Recording one of those payments again with the same reference, "
                 "amount and date changes nothing; money received otherwise is recorded as a transfer.",
        )
    if amount.amount > left.amount:
        so_far = f" ({recorded.total} recorded: {', '.join(recorded.references)})" if recorded.references else ""
        raise Overpayment(
            f"{amount} exceeds the {left} left to record of the {collectable} direct-debit run {run.id} {asked} for "
            f"{invoice.number}{so_far}: the bank did not collect that much.",
            outstanding=invoice.outstanding,
            hint=f"Record the amount the bank collected, at most {left}; a surplus beyond it is refunded separately.",
        )
    return recorded.plus(reference, amount)
