"""Use cases of invoices: issuing with a gap-free number, delivery, reads, payments, credit notes, copies.

Issuing (``issue``) is one transaction: advance the issuer's yearly counter from n to n+1
(condition: still n), put the invoice (condition: id new), mark consumed charges and
service items billed (condition: not billed yet) and record the cashback. A lost race for
the number is retried with the counter read again; a lost race for the invoice id or a
charge means someone else issued it, which the caller treats as done. Nothing of a failed
attempt is written, so no number is skipped. A caller that issues many invoices (the
billing run) passes ``LastSequences``: the counter value its own previous transaction wrote
is used instead of reading the counter again. It is only a guess: the counter's condition
still decides, and a wrong guess (someone else allocated meanwhile) costs one retry that
reads the counter.

Delivery (``deliver``) happens after the commit: render the PDF, store it, e-mail it to
the payer's billing address, then mark the invoice delivered. Until then the invoice sits
in the sparse undelivered index under its delivery date, where the billing run finds it
again after a crash. A short claim (``DELIVERY_CLAIM``) keeps two overlapping runs from
sending the same invoice; only a crash between sending and marking can send it twice
(SES has no idempotency key), never zero times. The billing run writes that claim in the
issuing transaction itself (``issue(delivery_claimed_until=...)``, then
``deliver(claimed=True)``): a crash between issuing and sending then leaves an invoice
claimed and unsent, the state a crash between claiming and sending leaves, and whoever runs
after the claim expired sends it.

Whoever keeps accounts of paid and credited invoices (``InvoiceLedger``:
``infra.bootstrap.Services.invoice_ledger``, the partner programme) registers its writes in the
transaction that records the payment (``record_payment(ledger=...)``) or issues the credit note
(``create_credit_note(ledger=...)``): a payment or credit note is never written without them,
and a failure of either leaves nothing written, to be repeated as a whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Mapping

from domain.billing import Cashback
from domain.calendar import berlin_date
from domain.direct_debits import RecordedCollections, check_collection, collection_claim
from domain.errors import ConcurrentUpdate, Conflict, NotFound, ValidationFailed
from domain.invoices import (
    ARCHIVE_RETRIEVAL_BASE_FEE,
    DEFAULT_ONLINE_MONTHS,
    BillingParty,
    CopyDecision,
    CopyNotFree,
    CopyNotSent,
    CreditItem,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceNoLongerOnline,
    InvoiceParty,
    InvoiceStatus,
    PaymentOutcome,
    archive_retrieval_draft,
    assert_content_unchanged,
    assert_deletable,
    assert_downloadable,
    assert_free_resend,
    can_view_invoice,
    copy_policy,
    credit_note_for,
    next_number,
    next_sequence,
    quote_archive_retrieval,
    record_payment as record_payment_on,
    refunds_after_payment,
    refunds_of_credits,
    register_credit_note as register_credit_note_on,
    CreditNoteOutcome,
)
from domain.money import Money
from domain.organisations import Organisation
from domain.policy import Principal, can_manage_invoices, can_view_invoices_of, require
from domain.ports import DocumentStore, EmailAttachment, EmailMessage, InvoiceLedger, InvoiceRenderer, Mailer, Page
from domain.services.invoice_errors import NumberAllocationConflict
from domain.services.organisations import page_size
from domain.services.resave import ResaveSummary, resave_all
from domain.services.retry import retry_on_concurrent_update

log = logging.getLogger(__name__)

DEFAULT_NUMBER_PREFIX = "PH"
MAX_NUMBER_ATTEMPTS = 200  # each failed attempt means another invoice got a number: progress is guaranteed
DELIVERY_CLAIM = timedelta(minutes=15)  # longer than a Lambda can run
DOWNLOAD_URL_SECONDS = 300



@dataclass(frozen=True)
class InvoicingSettings:
    number_prefix: str = DEFAULT_NUMBER_PREFIX
    online_months: int = DEFAULT_ONLINE_MONTHS
    archive_hourly_rate: Money = Money.of("60.00")


# --- issuing ------------------------------------------------------------------------------


UNKNOWN = object()  # no guess of the last sequence: read the counter


class LastSequences:
    """The last sequence a caller's own transactions wrote to each issuer's yearly counter.

    A guess for the next ``issue``, which then needs no read of the counter: if anyone else allocated a number
    meanwhile, the counter's condition fails the transaction and ``issue`` retries with the counter read. Nothing
    is written on a wrong guess, so numbers stay gap-free and unique whatever this holds.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], int] = {}

    def last(self, issuer_id: str, year: int) -> object:
        """The sequence last written, or ``UNKNOWN``."""
        return self._last.get((issuer_id, year), UNKNOWN)

    def remember(self, issuer_id: str, year: int, sequence: int) -> None:
        self._last[(issuer_id, year)] = sequence

    def forget(self, issuer_id: str, year: int) -> None:
        self._last.pop((issuer_id, year), None)


def issue(
    uow_factory,
    *,
    issuer_id: str,
    now: datetime,
    prefix: str,
    build: Callable[[str], Invoice],
    charge_ids: Iterable[str] = (),
    service_item_references: Iterable[str] = (),
    cashback: Cashback | None = None,
    delivery_date: date | None = None,
    delivery_claimed_until: datetime | None = None,
    sequences: LastSequences | None = None,
    also: Callable[[object, Invoice], Invoice | None] | None = None,
    parties: Mapping[str, Organisation] | None = None,
) -> Invoice:
    """Issue ``build(number)`` under the next number of the issuer's year, atomically with its side effects.

    ``delivery_claimed_until``: the caller's claim to deliver the invoice, written with it (see ``deliver``).
    ``sequences``: the numbers this caller allocated before; the first attempt trusts it instead of reading the counter.
    ``parties``: issuer and payer as read by the caller (else read here); the invoice keeps them as it prints them.
    ``also``: further writes of the same transaction; it may return the document to write with its mutable part
    completed by them (a credit note with what it refunds, once registered on its invoice), never other content.

    Raises ``InvoiceAlreadyIssued``, ``AlreadyBilled`` or ``InvoiceChangedMeanwhile`` when another writer issued it (or
    consumed one of its charges) first; domain errors of ``build`` before anything is written.
    """
    year = berlin_date(now).year
    charge_ids, service_item_references = sorted(charge_ids), sorted(service_item_references)
    guess = sequences.last(issuer_id, year) if sequences is not None else UNKNOWN
    known = dict(parties or {})
    for _ in range(MAX_NUMBER_ATTEMPTS):
        uow = uow_factory()
        with uow:
            previous = uow.invoice_numbers.last_sequence(issuer_id, year) if guess is UNKNOWN else guess
            guess = UNKNOWN  # a retry reads the counter
            invoice = _with_printed_parties(uow, build(next_number(prefix, year, previous)), known)
            uow.invoice_numbers.register_advance(issuer_id, year, previous)
            if also is not None:  # further writes of the same transaction
                completed = also(uow, invoice)
                if completed is not None:
                    assert_content_unchanged(invoice, completed)
                    invoice = completed
            uow.invoices.add(invoice, delivery_date=delivery_date or invoice.issue_date, delivery_claimed_until=delivery_claimed_until)
            for charge_id in charge_ids:
                uow.unbilled_charges.register_billed(charge_id, invoice.id)
            for reference in service_item_references:
                uow.service_items.register_billed(reference, invoice.id)
            if cashback is not None:
                uow.cashbacks.add(cashback, issue_date=invoice.issue_date)
            try:
                uow.commit()
            except Conflict as error:
                if sequences is not None:
                    sequences.forget(issuer_id, year)  # the counter may have moved: the next issue reads it
                if isinstance(error, NumberAllocationConflict) or type(error) is Conflict:
                    continue  # the number was taken (or the transaction collided): read the counter again
                raise  # issued by someone else, an item billed elsewhere, the corrected invoice changed
            if sequences is not None:
                sequences.remember(issuer_id, year, next_sequence(previous))
            return invoice
    raise Conflict("No invoice number could be allocated; too many concurrent writers.", hint="Try again.")


def _with_printed_parties(uow, invoice: Invoice, known: dict[str, Organisation]) -> Invoice:
    """``invoice`` with its issuer and payer fixed as they are now (``known``, else read): what its PDF prints, ever
    after. An organisation that cannot be read is left out; its PDF then prints the master data of the day."""
    if invoice.issuer_party is not None and invoice.payer_party is not None:
        return invoice
    missing = [i for i in dict.fromkeys((invoice.issuer_id, invoice.payer_id)) if i not in known]
    if missing:
        known.update(uow.organisations.get_many(missing))
    issuer, payer = known.get(invoice.issuer_id), known.get(invoice.payer_id)
    payer_party = InvoiceParty.of(payer) if payer else None
    if payer_party is not None and invoice.branch is not None:  # a branch's invoice: addressed to the branch
        payer_party = payer_party.at_branch(invoice.branch)
    return replace(
        invoice,
        issuer_party=invoice.issuer_party or (InvoiceParty.of(issuer) if issuer else None),
        payer_party=invoice.payer_party or payer_party,
    )


def issue_draft(uow_factory, draft: InvoiceDraft, *, now: datetime, prefix: str, **kwargs) -> Invoice:
    return issue(uow_factory, issuer_id=draft.issuer_id, now=now, prefix=prefix,
                 build=lambda number: draft.issue(number=number, issued_at=now), **kwargs)


# --- delivery -----------------------------------------------------------------------------


def document_key(invoice: Invoice) -> str:
    """Where the PDF is stored: ``invoices/<issuer>/<year>/<number>.pdf``."""
    return f"invoices/{invoice.issuer_id}/{invoice.issue_date.year}/{invoice.number}.pdf"


def _title(invoice: Invoice) -> str:
    return "Gutschrift / Credit note" if invoice.kind is InvoiceKind.CREDIT_NOTE else "Rechnung / Invoice"


def invoice_email(invoice: Invoice, payer: Organisation, pdf: bytes, *, copy: bool = False) -> EmailMessage:
    prefix = "Kopie / Copy: " if copy else ""
    return EmailMessage(
        to=(payer.billing_email,),
        subject=f"{prefix}{_title(invoice)} {invoice.number}",
        body=(
            f"Guten Tag,\n\nanbei erhalten Sie {_title(invoice)} {invoice.number} vom {invoice.issue_date:%d.%m.%Y} "
            f"über {invoice.gross_total}.\n\nPlease find attached {invoice.number} ({invoice.gross_total}).\n"
        ),
        attachments=(EmailAttachment(f"{invoice.number}.pdf", "application/pdf", pdf),),
    )


def render(uow, renderer: InvoiceRenderer, invoice: Invoice, parties: Mapping[str, Organisation] | None = None) -> bytes:
    """The PDF as issued: issuer and payer as the invoice keeps them. One issued before it kept them prints the
    organisations' master data, from ``parties`` (read by the caller for many invoices) or read now."""
    issuer, payer = invoice.issuer_party, invoice.payer_party
    if issuer is None or payer is None:
        if parties is None or invoice.issuer_id not in parties or invoice.payer_id not in parties:
            parties = uow.organisations.get_many([invoice.issuer_id, invoice.payer_id])
        if invoice.issuer_id not in parties or invoice.payer_id not in parties:
            raise NotFound(f"The issuer or payer of {invoice.number} is unknown.", field="invoiceId")
        issuer, payer = issuer or InvoiceParty.of(parties[invoice.issuer_id]), payer or InvoiceParty.of(parties[invoice.payer_id])
    return renderer.render(invoice, issuer=issuer, payer=payer)


def _payer(uow, invoice: Invoice, parties: Mapping[str, Organisation] | None = None) -> Organisation:
    """The payer as it is now: its current billing address receives the invoice."""
    payer = (parties or {}).get(invoice.payer_id) or uow.organisations.get(invoice.payer_id)
    if payer is None:
        raise NotFound(f"The payer of {invoice.number} is unknown.", field="invoiceId")
    return payer


def deliver(
    uow_factory, invoice: Invoice, *, documents: DocumentStore, mailer: Mailer, renderer: InvoiceRenderer, now: datetime,
    claimed: bool = False, parties: Mapping[str, Organisation] | None = None,
) -> bool:
    """Store the PDF and e-mail it to the payer, once; False when it is delivered or claimed by another run.

    ``claimed``: the caller holds the delivery claim already (written by the issuing transaction, until
    ``now + DELIVERY_CLAIM``), so none is taken here. ``parties``: issuer and payer as read by the caller.
    """
    uow = uow_factory()
    if not claimed and not uow.invoices.claim_delivery(invoice.id, now=now, until=now + DELIVERY_CLAIM):
        return False
    key = document_key(invoice)
    try:
        payer = _payer(uow, invoice, parties)
        pdf = render(uow, renderer, invoice, parties)
        documents.put(key, pdf, "application/pdf")
        mailer.send(invoice_email(invoice, payer, pdf))
    except Exception:
        uow.invoices.release_delivery_claim(invoice.id)  # not sent: the next attempt may try at once
        raise
    uow.invoices.mark_delivered(invoice.id, document_key=key, now=now)
    return True


def deliver_pending(uow_factory, delivery_date: date, *, documents, mailer, renderer, now: datetime, page_limit: int = 50) -> tuple[int, int]:
    """Deliver every undelivered invoice of ``delivery_date``; returns (delivered, failed)."""
    delivered = failed = 0
    cursor: str | None = None
    while True:
        uow = uow_factory()
        page = uow.invoices.list_undelivered(delivery_date, limit=page_limit, cursor=cursor)
        # Issuers and payers of the whole page in one read (an unknown one is read again, and reported, per invoice).
        parties = uow.organisations.get_many({i.issuer_id for i in page.items} | {i.payer_id for i in page.items}) if page.items else {}
        for invoice in page.items:
            try:
                delivered += deliver(uow_factory, invoice, documents=documents, mailer=mailer, renderer=renderer, now=now, parties=parties)
            except Exception:  # one broken address must not stop the others; it stays undelivered
                log.exception("delivery of invoice %s failed", invoice.id)
                failed += 1
        if page.next_cursor is None:
            return delivered, failed
        cursor = page.next_cursor


# --- reads --------------------------------------------------------------------------------


def get_visible_invoice(uow, principal: Principal, invoice_id: str) -> Invoice | None:
    invoice = uow.invoices.get(invoice_id)
    if invoice is None or not can_view_invoice(principal, invoice):
        return None
    return invoice


def list_invoices(
    uow, principal: Principal, *, organisation_id: str | None, status: InvoiceStatus | None,
    issued_from: date | None, issued_to: date | None, first: int | None, after: str | None,
) -> Page[Invoice]:
    """The invoices a payer received, newest first; another organisation's list is empty, not an error."""
    limit = page_size(first)
    if issued_from and issued_to and issued_to < issued_from:
        raise ValidationFailed("The date range ends before it starts.", field="issuedTo")
    payer_id = organisation_id or principal.organisation_id
    if not can_view_invoices_of(principal, payer_id):
        return Page([], None)
    page = uow.invoices.list_for_payer(payer_id, issued_from=issued_from, issued_to=issued_to, status=status, limit=limit, cursor=after)
    return Page([i for i in page.items if can_view_invoice(principal, i)], page.next_cursor)


def list_overdue(uow, principal: Principal, *, today: date, first: int | None, after: str | None) -> Page[Invoice]:
    require(can_manage_invoices(principal), "read the dunning list")
    return uow.invoices.list_open_due_before(today, limit=page_size(first), cursor=after)


def download_refusal(principal: Principal, invoice: Invoice, *, today: date, online_months: int) -> InvoiceNoLongerOnline | None:
    """Why ``download_url`` gives someone who sees the invoice no link: it is past its online period (payer only)."""
    if not can_view_invoice(principal, invoice):
        return None
    try:
        assert_downloadable(principal, invoice, today, online_months)
    except InvoiceNoLongerOnline as refusal:
        return refusal
    return None


def download_url(
    uow, documents: DocumentStore, renderer: InvoiceRenderer, principal: Principal, invoice: Invoice, *,
    today: date, online_months: int,
) -> str | None:
    """A 5-minute presigned URL of the PDF; renders and stores it if missing.

    For the payer while the invoice is online (``download_refusal`` says why not after that: a copy is then a paid
    archive retrieval), for the distributor always; None for anyone else.
    """
    if not can_view_invoice(principal, invoice):
        return None
    if download_refusal(principal, invoice, today=today, online_months=online_months) is not None:
        return None  # checked before rendering: an archived invoice is not re-rendered for the payer either
    key = document_key(invoice)
    if not documents.exists(key):
        documents.put(key, render(uow, renderer, invoice), "application/pdf")  # as issued (see ``render``)
    return documents.download_url(key, filename=f"{invoice.number}.pdf", expires_in_seconds=DOWNLOAD_URL_SECONDS)


def _require_visible(uow, principal: Principal, invoice_id: str) -> Invoice:
    invoice = get_visible_invoice(uow, principal, invoice_id)
    if invoice is None:
        raise NotFound(f"No invoice with id '{invoice_id}'.", field="invoiceId")
    return invoice


# --- payments -----------------------------------------------------------------------------


def record_payment(
    uow_factory, principal: Principal, invoice_id: str, *, amount: Money, paid_on: date, reference: str, now: datetime,
    ledger: InvoiceLedger | None, direct_debit_collection: bool = False,
) -> PaymentOutcome:
    """Distributor staff record money received; the same payment again changes nothing; more than is due is refused,
    and so is a payment dated after today (Berlin).

    ``direct_debit_collection``: the money is the bank's collection of the invoice under a direct-debit run that put it
    into its file (refused with ``PreconditionFailed`` otherwise), paid on or after the run's collection date, and the
    collections recorded under the run for the invoice add up to at most what its file asked for it
    (``domain.direct_debits.check_collection``: 119.00 asked, 100.00 recorded, the 19.00 left is recorded too, more is
    refused naming what is left). Their references and total are kept with the run's claim of the invoice, updated in
    the payment's transaction on condition that the total stays within what the file asked. A collection is recorded
    even beyond what a credit note issued after the file left owed (the bank collected what the file asked for); the
    credit notes then refund the excess (``refunds_after_payment``), written in the same transaction.

    The payment that settles the invoice and ``ledger``'s writes for it are one transaction; if someone changed the
    invoice, its credit notes or its ledger entries meanwhile, everything is read again and repeated.
    """
    require(can_manage_invoices(principal), "record payments")
    today = berlin_date(now)

    def attempt() -> PaymentOutcome:
        uow = uow_factory()
        with uow:
            invoice = _require_visible(uow, principal, invoice_id)
            outcome = record_payment_on(invoice, amount, paid_on, reference, today=today, direct_debit_collection=direct_debit_collection)
            if not outcome.recorded:
                return outcome
            if direct_debit_collection:
                _count_collection_under_its_run(uow, invoice, amount, paid_on, reference)
            uow.invoices.update_payments(invoice, outcome.invoice)
            if outcome.invoice.paid_beyond_due != invoice.paid_beyond_due:  # a collection beyond what is owed: refunded
                _register_refunds(uow, outcome.invoice)
            if outcome.event is not None and ledger is not None:
                ledger.register_paid(uow, outcome.invoice, outcome.event, now=now)
            uow.commit()
        return outcome

    return retry_on_concurrent_update(attempt)


def _count_collection_under_its_run(uow, invoice: Invoice, amount: Money, paid_on: date, reference: str) -> None:
    """Refuse a collection the run that took the invoice did not ask for, dated before its collection date or beyond
    what is left of what its file asked (``check_collection``), else add it to the collections recorded under the run
    (the run's claim of the invoice) in the payment's transaction, on condition that their total stays within what the
    file asked. If the condition fails (someone recorded a collection meanwhile), everything is read again and
    repeated: then recorded within what is left, or refused naming it."""
    run_id = uow.invoices.debit_run_of(invoice.id)
    run = uow.direct_debit_runs.get(run_id) if run_id else None
    claim = collection_claim(run.id, invoice.id) if run is not None else None
    tally = uow.uniques.tally_of(claim) if claim else None
    recorded = untallied = None
    if tally is not None and tally.cents is None:  # claimed by 40eeb7f, before the total was kept
        recorded = RecordedCollections.of_payments(invoice, tally.owners)
        untallied = replace(tally, cents=recorded.total.cents)
    elif tally is not None:
        recorded = RecordedCollections(tally.owners, Money.from_cents(tally.cents, invoice.currency))
    check_collection(run, invoice, amount, paid_on=paid_on, recorded=recorded, reference=reference)
    uow.uniques.add_to_tally(
        claim, reference, amount.cents, at_most=run.collectable(invoice.id).cents, untallied=untallied,
        on_refused=ConcurrentUpdate(f"A collection of {invoice.number} was recorded by someone else meanwhile.", field="invoiceId"),
    )


def _register_refunds(uow, paid: Invoice) -> None:
    """Write what the credit notes of ``paid`` refund after its payment, in the payment's transaction."""
    credit_ids = [credit.credit_note_id for credit in paid.credits]
    notes = uow.invoices.get_many(credit_ids)
    if any(i not in notes for i in credit_ids):  # registered, so written: a read that missed it is repeated
        raise ConcurrentUpdate(f"A credit note of {paid.number} could not be read yet.", field="invoiceId")
    for note in refunds_after_payment(paid, notes.values()):
        uow.invoices.update_payments(notes[note.id], note, refund_may_grow=True)


# --- credit notes -------------------------------------------------------------------------


def register_credit_note(uow, corrected: Invoice, credit_note: Invoice, *, ledger: InvoiceLedger | None, now: datetime) -> CreditNoteOutcome:
    """Register ``credit_note`` on ``corrected`` (as read: version checked) in the credit note's transaction: what the
    payer owes drops by its gross, the invoice leaves the dunning list once nothing is owed, the credit note refunds
    what was paid beyond that (``outcome.credit_note``: the note to write), and ``ledger`` registers its writes (a
    credit note that settles a partly paid invoice also books its payment). Every credit note goes this way: the
    ones of ``creditNoteCreate`` and of the billing run alike."""
    outcome = register_credit_note_on(corrected, credit_note)
    if outcome.invoice is corrected:
        return outcome  # registered already
    uow.invoices.register_credit_note(corrected, outcome.invoice, credit_note.id)
    if ledger is not None:
        ledger.register_credit_note(uow, outcome.credit_note, outcome.invoice, outcome.event, now=now)
    return outcome


def create_credit_note(
    uow_factory, principal: Principal, invoice_id: str, *, reason: str, lines: list[CreditItem] | None, now: datetime, prefix: str,
    ledger: InvoiceLedger | None,
) -> Invoice:
    """Issue a credit note for the invoice, registered on it with ``ledger``'s writes in one transaction (repeated
    from the read if the ledger entries changed meanwhile)."""
    require(can_manage_invoices(principal), "issue credit notes")
    from domain import ids

    note_id = ids.new_id("inv")

    def attempt() -> Invoice:
        uow = uow_factory()
        invoice = _require_visible(uow, principal, invoice_id)
        previous = uow.invoices.list_credit_notes(invoice.id)
        # Check the request once with a placeholder number, so a bad request never reaches the counter.
        credit_note_for(invoice, reason=reason, now=now, number=next_number(prefix, berlin_date(now).year, None),
                        lines=lines, previous_credit_notes=previous, credit_note_id="inv_check")
        return issue(
            uow_factory, issuer_id=invoice.issuer_id, now=now, prefix=prefix,
            build=lambda number: credit_note_for(invoice, reason=reason, now=now, number=number, lines=lines,
                                                 previous_credit_notes=previous, credit_note_id=note_id),
            also=lambda uow, note: register_credit_note(uow, invoice, note, ledger=ledger, now=now).credit_note,
        )

    return retry_on_concurrent_update(attempt)


def register_issued_credit_notes(uow_factory, *, ledger: InvoiceLedger | None, now: datetime, page_limit: int = 50) -> ResaveSummary:
    """Once, after the deploy that made credit notes count on their invoices: a credit note issued before is not
    registered on the invoice it corrects (``corrects_invoice_id``), so that invoice still shows (and the dunning list,
    the open index, still holds) what it owed before, and the note shows all of its gross as refund due.

    Each credit note is registered as ``creditNoteCreate`` registers one (``register_credit_note`` with ``ledger``):
    the invoice owes its gross less the credit notes (the open index follows in the same write), a note refunds only
    what was paid beyond that, an invoice paid in what it now owes is PAID and its commission booked (the ledger's
    credits are applied once: an entry remembers the credit notes applied to it). Credit notes registered before what
    they refund was kept get it (``refunds_of_credits``). One transaction per credit note read, always the oldest
    pending one of its invoice, so an invoice's notes are registered in the order issued. Reads every payer's invoices
    (customers and partners through the kind-index, then the payer-index): a one-off, never scheduled; running it again
    writes nothing."""
    from domain.organisations import OrganisationKind

    summary = ResaveSummary()

    def save(uow, credit_note: Invoice) -> bool:
        corrected = uow.invoices.get(credit_note.corrects_invoice_id)
        if corrected is None:
            return False
        registered = {credit.credit_note_id for credit in corrected.credits}
        notes = sorted(uow.invoices.list_credit_notes(corrected.id), key=lambda n: (n.issued_at, n.number))
        pending = next((n for n in notes if n.id not in registered), None)
        if pending is not None:
            outcome = register_credit_note(uow, corrected, pending, ledger=ledger, now=now)
            uow.invoices.update_payments(pending, outcome.credit_note)  # what it refunds
            return True
        refunds = refunds_of_credits(corrected)
        unfixed = next((n for n in notes if n.refund_due is None and n.id in refunds), None)
        if unfixed is None:
            return False
        uow.invoices.update_payments(unfixed, replace(unfixed, refund_due=refunds[unfixed.id]))
        return True

    def credit_notes_of(payer_id: str):
        def list_page(uow, cursor: str | None) -> Page[Invoice]:
            page = uow.invoices.list_for_payer(payer_id, issued_from=None, issued_to=None, status=None, limit=page_limit, cursor=cursor)
            return Page([i for i in page.items if i.is_credit_note and i.corrects_invoice_id], page.next_cursor)

        return list_page

    for kind in (OrganisationKind.CUSTOMER, OrganisationKind.PARTNER):
        cursor: str | None = None
        while True:
            payers = uow_factory().organisations.list_by_kind(kind, limit=page_limit, cursor=cursor)
            for payer in payers.items:
                resave_all(uow_factory, credit_notes_of(payer.id), save, summary)
            if payers.next_cursor is None:
                break
            cursor = payers.next_cursor
    return summary


# --- copies, archive retrieval, deletion ---------------------------------------------------


@dataclass(frozen=True)
class CopyResult:
    decision: CopyDecision
    resent: bool = False
    retrieval_invoice: Invoice | None = None


def stored_pdf(uow, documents: DocumentStore, renderer: InvoiceRenderer, invoice: Invoice) -> bytes:
    """The invoice's PDF as stored when it was delivered, byte for byte; one not stored (lost, or not delivered yet) is
    rendered as issued (``render``) and stored."""
    key = document_key(invoice)
    if documents.exists(key):
        return documents.get(key)
    pdf = render(uow, renderer, invoice)
    documents.put(key, pdf, "application/pdf")
    return pdf


def request_copy(
    uow_factory, principal: Principal, invoice_id: str, *, now: datetime, settings: InvoicingSettings,
    documents: DocumentStore, mailer: Mailer, renderer: InvoiceRenderer, archive_hours: int | None = None,
) -> CopyResult:
    """Free re-send up to day 60; later, while online, a refusal that points to the download; after
    that, with ``archive_hours``, an archive-retrieval order issued as its own invoice, due at once.

    A free re-send the mail service refuses raises ``CopyNotSent`` (logged): nothing is charged or recorded, so the payer may ask
    again. An archive-retrieval invoice is issued first and stays issued whatever its e-mail does (see below)."""
    uow = uow_factory()
    invoice = _require_visible(uow, principal, invoice_id)
    today = berlin_date(now)
    decision = copy_policy(invoice.issue_date, today, settings.online_months)
    if decision is CopyDecision.FREE_RESEND:
        payer = _payer(uow, invoice)
        message = invoice_email(invoice, payer, stored_pdf(uow, documents, renderer, invoice), copy=True)
        try:
            mailer.send(message)
        except Exception as error:  # noqa: BLE001 - a refused mail is an answer the payer can act on, not an unexpected error
            log.exception("could not e-mail the free copy of invoice %s (%s) to %s", invoice.id, invoice.number, payer.billing_email)
            raise CopyNotSent(invoice, to=payer.billing_email) from error
        return CopyResult(decision, resent=True)
    if decision is CopyDecision.SELF_SERVICE_DOWNLOAD or archive_hours is None:
        assert_free_resend(invoice, today, settings.online_months)  # raises CopyNotFree with the right hint
    quote = quote_archive_retrieval(archive_hours, settings.archive_hourly_rate)
    parties = uow.organisations.get_many([invoice.issuer_id, invoice.payer_id])
    if invoice.payer_id not in parties:
        raise NotFound(f"The payer of {invoice.number} is unknown.", field="invoiceId")
    draft = archive_retrieval_draft(quote, original=invoice, payer=BillingParty.of(parties[invoice.payer_id]))
    retrieval = issue_draft(uow_factory, draft, now=now, prefix=settings.number_prefix, parties=parties)
    try:
        deliver(uow_factory, retrieval, documents=documents, mailer=mailer, renderer=renderer, now=now, parties=parties)
    except Exception:  # noqa: BLE001 - issued all the same (an error would have the customer order it twice); it stays
        # undelivered under its issue date, where the billing run delivers it
        log.exception("delivery of archive-retrieval invoice %s (%s, for %s) failed", retrieval.id, retrieval.number, invoice.number)
    return CopyResult(decision, retrieval_invoice=retrieval)


def delete_invoice(uow_factory, principal: Principal, invoice_id: str, *, today: date) -> None:
    """Only after the 10-year retention (§14b UStG), and only by the distributor."""
    require(can_manage_invoices(principal), "delete invoices")
    uow = uow_factory()
    invoice = _require_visible(uow, principal, invoice_id)
    assert_deletable(invoice, today)
    uow.invoices.delete(invoice.id)


__all__ = [
    "ARCHIVE_RETRIEVAL_BASE_FEE", "CopyNotFree", "CopyNotSent", "CopyResult", "InvoiceNoLongerOnline", "InvoicingSettings", "LastSequences", "create_credit_note", "delete_invoice", "deliver", "deliver_pending", "document_key", "download_refusal", "download_url",
    "get_visible_invoice", "issue", "issue_draft", "list_invoices", "list_overdue",
    "record_payment", "register_issued_credit_notes", "request_copy",
]
