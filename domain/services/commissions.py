"""Use cases of the commission ledger: payments and credits of invoices, cashback, the approval job, payouts.

The invoices feature registers the ledger writes of a payment that settles an invoice and of a
credit note in the same transaction (``PartnerProgrammeLedger``: ``register_paid``,
``register_credit_note``), so a payment or credit note never stands without them. The billing
run's credit notes take the same way in the transaction that issues them (the one a note names,
``corrects_invoice_id``), and ``register_credit`` for any other invoice whose seats they credit
(``PlannedInvoice.corrections``); ``record_cashback`` books each ``Cashback`` of a billing run's
``PlannedInvoice``.
``record_commission_for_payment`` and ``record_credit`` are the same writes in a transaction of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Sequence

from domain.billing import Cashback
from domain.calendar import berlin_date
from domain.commissions import (
    Commission,
    CommissionKind,
    CreditOutcome,
    CommissionStatus,
    InvoiceFacts,
    Payout,
    PayoutRun,
    PayoutStatus,
    MAX_ENTRIES_PER_PAYOUT,
    apply_credit,
    cashback_entry,
    commission_for_paid_invoice,
    plan_payout,
)
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.ids import new_id
from domain.invoices import Invoice, InvoicePaid, InvoiceStatus
from domain.money import Money
from domain.organisations import BillingMode
from domain.partner_programme import ProgrammeTerms, can_manage_payouts, can_view_partner_programme
from domain.policy import Principal, require
from domain.ports import DocumentStore, Page, UnitOfWork
from domain.services.job_runs import due_item, summary_dict
from domain.services.organisations import page_size
from domain.services.retry import retry_on_concurrent_update


def invoice_facts(invoice: Invoice) -> InvoiceFacts:
    return InvoiceFacts(
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        customer_id=invoice.customer_id,
        payer_id=invoice.payer_id,
        reseller_partner_id=invoice.partner_id,
        customer_pays=invoice.billing_mode is BillingMode.CUSTOMER_PAYS,
        issue_date=invoice.issue_date,
        net_total=invoice.net_total,
        credited_net=invoice.credited_net,
        credit_references=tuple(credit.credit_note_id for credit in invoice.credits),
    )


@dataclass(frozen=True)
class LedgerCredit:
    """A credit note or refund on an invoice as the ledger sees it: the net it credits (positive) of the commission's
    base and of the cashback's base (None: the same)."""

    credited_net: Money
    reference: str
    cashback_credited_net: Money | None = None


def _register_ledger(
    uow: UnitOfWork, invoice_id: str, *, now: datetime, credit: LedgerCredit | None = None,
    paid: InvoicePaid | None = None, invoice: Invoice | None = None, terms: ProgrammeTerms | None = None,
) -> list[Commission]:
    """The ledger writes of a credit and/or a payment of ``invoice_id``, registered in the caller's transaction.

    Each entry is written once, with the credit applied first and then the payment (a credit note that settles a
    partly paid invoice does both in one transaction, and DynamoDB takes one write per item).
    """
    written: list[Commission] = []
    entries = uow.commissions.list_for_invoice(invoice_id)
    entering: list[Commission] = []
    if not any(entry.kind is CommissionKind.CASHBACK for entry in entries):
        cashback = uow.cashbacks.get(invoice_id)
        if cashback is not None and invoice is None:
            invoice = uow.invoices.get(invoice_id)
        if cashback is not None and invoice is not None:
            entry = cashback_entry(
                partner_id=cashback.partner_id, customer_id=invoice.customer_id, invoice_id=invoice_id,
                amount=cashback.amount, invoice_date=invoice.issue_date, now=now, base=cashback.base, percent=cashback.percent,
            )
            if paid is None and invoice.status is InvoiceStatus.PAID and invoice.payments:
                entry = entry.with_payment(invoice.payments[-1].paid_on)
            entering.append(entry)
    if credit is not None and invoice is None and any(
        e.kind is CommissionKind.CASHBACK and e.rate_percent <= 0 and e.amount.amount > 0 for e in entries + entering
    ):
        invoice = uow.invoices.get(invoice_id)  # a cashback recorded without its base: the invoice's net is its base
    invoice_net = invoice.net_total if invoice is not None else None
    for entry in entries + entering:
        updated, adjustment = entry, None
        if credit is not None:
            credited = (
                credit.cashback_credited_net
                if entry.kind is CommissionKind.CASHBACK and credit.cashback_credited_net is not None else credit.credited_net
            )
            if credited.amount:  # else nothing of its base is credited
                outcome = apply_credit(entry, credited_net=credited, credit_reference=credit.reference, now=now, invoice_net=invoice_net)
                updated, adjustment = outcome.updated, outcome.adjustment
        if paid is not None:
            updated = updated.with_payment(paid.paid_on)  # a cashback waiting for the payment starts its 90 days
        if any(entry is new for new in entering):
            uow.commissions.add(updated)  # enters the ledger with the credit and payment applied
            written.append(updated)
        elif updated != entry:
            uow.commissions.update(updated)
            written.append(updated)
        if adjustment is not None:
            uow.commissions.add(adjustment)
            written.append(adjustment)
    if paid is not None and invoice is not None and terms is not None:
        commission = _referral_commission(uow, invoice, paid, terms=terms, now=now)
        if commission is not None and all(commission.id != entry.id for entry in entries):
            uow.commissions.add(commission)
            written.append(commission)
    return written


def _referral_commission(uow: UnitOfWork, invoice: Invoice, paid: InvoicePaid, *, terms: ProgrammeTerms, now: datetime) -> Commission | None:
    attribution = uow.referrals.get_for_customer(invoice.customer_id)
    partner = uow.programme_partners.get(attribution.partner_id) if attribution else None
    if partner is None or not partner.active:
        return None
    rates = partner.rates_at(invoice.issue_date, terms)
    return commission_for_paid_invoice(
        invoice_facts(invoice), partner_id=partner.partner_id, percent=rates.commission_percent if rates else None,
        paid_on=paid.paid_on, now=now,
    )


LEDGER_WRITES_PER_PAYMENT = 2  # the invoice's cashback (entering or starting its 90 days) and its referral commission


def register_paid(uow: UnitOfWork, invoice: Invoice, paid: InvoicePaid, *, terms: ProgrammeTerms, now: datetime) -> list[Commission]:
    """The ledger writes of a fully paid invoice, in the caller's transaction (not committed): the invoice's cashback
    enters the ledger if the billing run's record is not there yet and starts its 90 days; the referral commission is
    booked on the net less what credit notes took off before (``invoice`` as paid, with its credits)."""
    if paid.invoice_id != invoice.id:
        raise ValueError("the event belongs to another invoice")
    return _register_ledger(uow, invoice.id, now=now, paid=paid, invoice=invoice, terms=terms)


def record_commission_for_payment(
    uow: UnitOfWork, invoice: Invoice, paid: InvoicePaid, *, terms: ProgrammeTerms, now: datetime
) -> list[Commission]:
    """The invoice became fully paid: book the referral commission, start the 90 days of its cashback (own transaction).

    Idempotent: the commission's id is derived from the invoice, so a replayed event books nothing. Someone writing
    the same entries meanwhile (a version conflict, or the entry recorded between the read and the write) makes it
    read the ledger again and repeat: what is booked then is booked, nothing else is reported as booked.
    """

    def attempt() -> list[Commission]:
        with uow:
            written = register_paid(uow, invoice, paid, terms=terms, now=now)
            uow.commit()
        return written

    return retry_on_concurrent_update(attempt)


def record_cashback(uow: UnitOfWork, cashback: Cashback, *, customer_id: str, invoice_date: date | None, now: datetime) -> Commission | None:
    """A billing run's cashback as a ledger entry (once per invoice and partner)."""
    entry = cashback_entry(
        partner_id=cashback.partner_id, customer_id=customer_id, invoice_id=cashback.invoice_id,
        amount=cashback.amount, invoice_date=invoice_date, now=now, base=cashback.base, percent=cashback.percent,
    )
    with uow:
        if uow.commissions.get(entry.id) is not None:
            return None
        uow.commissions.add(entry)
        try:
            uow.commit()
        except Conflict:
            return None
    return entry


LEDGER_WRITES_PER_CREDIT = 4  # per corrected invoice: its commission and cashback, each updated plus an adjustment


def register_credit(
    uow: UnitOfWork, *, invoice_id: str, credited_net: Money, credit_reference: str, now: datetime,
    cashback_credited_net: Money | None = None, paid: InvoicePaid | None = None, invoice: Invoice | None = None,
    terms: ProgrammeTerms | None = None,
) -> list[Commission]:
    """The ledger writes of a credit of ``credited_net`` on ``invoice_id``, in the caller's transaction (not committed).

    Every entry of the invoice (referral commission, cashback) is reduced or voided before
    approval and adjusted after (``apply_credit``), each by what is credited of its own base: the
    commission by ``credited_net``, the cashback by ``cashback_credited_net`` (its base is the subscription
    lines; ``credited_net`` when not given). A cashback the billing run recorded with
    the invoice but that is not in the ledger yet enters it first, so the credit reaches it
    before the payment does. Idempotent: an entry remembers the credits applied to it.

    ``paid`` (with ``invoice`` as credited and ``terms``): the credit left nothing owed on a partly paid invoice, so
    its payment is booked in the same writes (``register_paid``); at most ``LEDGER_WRITES_PER_PAYMENT`` more.
    """
    return _register_ledger(
        uow, invoice_id, now=now, credit=LedgerCredit(credited_net, credit_reference, cashback_credited_net),
        paid=paid, invoice=invoice, terms=terms,
    )


def record_credit(
    uow: UnitOfWork, *, invoice_id: str, credited_net: Money, credit_reference: str, now: datetime,
    cashback_credited_net: Money | None = None,
) -> list[Commission]:
    """A credit note or refund of ``credited_net`` on ``invoice_id``: reduce or void before approval, adjust after."""

    def attempt() -> list[Commission]:
        with uow:
            written = register_credit(uow, invoice_id=invoice_id, credited_net=credited_net, credit_reference=credit_reference,
                                      now=now, cashback_credited_net=cashback_credited_net)
            uow.commit()
        return written

    return retry_on_concurrent_update(attempt)


def register_credit_note(
    uow: UnitOfWork, credit_note: Invoice, corrected: Invoice, *, now: datetime, paid: InvoicePaid | None = None,
    terms: ProgrammeTerms | None = None,
) -> list[Commission]:
    """The ledger writes of ``credit_note`` on ``corrected`` (as credited), in the caller's transaction (not committed)."""
    return register_credit(
        uow, invoice_id=corrected.id, credited_net=-credit_note.net_total, credit_reference=credit_note.id, now=now,
        cashback_credited_net=cashback_base_credited(credit_note, corrected), paid=paid, invoice=corrected, terms=terms,
    )


def record_credit_note(uow: UnitOfWork, credit_note: Invoice, *, now: datetime) -> list[Commission]:
    if not credit_note.is_credit_note or credit_note.corrects_invoice_id is None:
        return []
    corrected = uow.invoices.get(credit_note.corrects_invoice_id)
    return record_credit(
        uow, invoice_id=credit_note.corrects_invoice_id, credited_net=credit_note.net_total,
        credit_reference=credit_note.id, now=now,
        cashback_credited_net=cashback_base_credited(credit_note, corrected) if corrected is not None else None,
    )


def cashback_base_credited(credit_note: Invoice, corrected: Invoice) -> Money:
    """What a credit note takes back of the cashback's base, the subscription lines (charges) of the corrected invoice.

    A line crediting ``<invoice>#<n>`` counts if line n billed a charge (a service line is no part of the base);
    a line that names no line of the invoice (the billing run's credit of seats) counts in full.
    """
    total = Money(Decimal(0), credit_note.currency)
    for line in credit_note.lines:
        prefix, _, number = (line.source_reference or "").rpartition("#")
        if prefix == corrected.id and number.isdigit() and 1 <= int(number) <= len(corrected.lines):
            billed = corrected.lines[int(number) - 1].source_reference or ""
            if not billed.startswith("chg_"):
                continue
        total = total + Money(-line.net_amount.amount, credit_note.currency)
    return total


@dataclass(frozen=True)
class PartnerProgrammeLedger:
    """The partner programme's part of a payment or credit note (``domain.ports.InvoiceLedger``): its ledger writes,
    registered in the transaction that records the payment or issues the credit note, so neither stands without them."""

    terms: ProgrammeTerms

    def register_paid(self, uow: UnitOfWork, invoice: Invoice, event: InvoicePaid, *, now: datetime) -> None:
        register_paid(uow, invoice, event, terms=self.terms, now=now)

    def register_credit_note(
        self, uow: UnitOfWork, credit_note: Invoice, corrected: Invoice, event: InvoicePaid | None, *, now: datetime
    ) -> None:
        register_credit_note(uow, credit_note, corrected, now=now, paid=event, terms=self.terms)


# --- the approval job ------------------------------------------------------------------------


@dataclass
class ApprovalRunSummary:
    run_date: date
    approved: int = 0
    conflicts: int = 0
    amount_cents: int = 0
    problems: list[str] = field(default_factory=list)
    failed: tuple[str, ...] = ()  # refused by a business rule (``job_runs.due_item``): left pending, still due

    def as_dict(self) -> dict:
        return summary_dict(self, leave_out=("problems",))


def approve_due_commissions(uow_factory: Callable[[], UnitOfWork], *, run_date: date, now: datetime, page_limit: int = 50) -> ApprovalRunSummary:
    """Approve every pending entry whose approval date is on or before ``run_date``.

    Reads only due entries (the sparse approval index, key condition ``approval_key <= run
    date``). Each entry is its own versioned write and leaves the index when approved, so a
    re-run approves nothing twice and a crashed run resumes where it stopped. An entry a business
    rule refuses stays pending and is reported in ``failed``; the run goes on (``job_runs``).
    """
    summary = ApprovalRunSummary(run_date)
    cursor: str | None = None
    while True:
        page = uow_factory().commissions.list_due_for_approval(run_date, limit=page_limit, cursor=cursor)
        for entry in page.items:
            if not entry.is_due(run_date):
                continue
            with due_item(summary, entry.id) as item:
                uow = uow_factory()
                with uow:
                    approved = entry.approve(run_date, now)
                    uow.commissions.update(approved)
                    try:
                        uow.commit()
                    except Conflict:
                        summary.conflicts += 1  # credited meanwhile: re-read next run if still due
                        continue
            if item.failed:
                continue
            summary.approved += 1
            summary.amount_cents += approved.amount.cents
        if page.next_cursor is None:
            return summary
        cursor = page.next_cursor


# --- reads ---------------------------------------------------------------------------------


def list_commissions(uow: UnitOfWork, principal: Principal, partner_id: str, *, first: int | None, after: str | None) -> Page[Commission]:
    if not can_view_partner_programme(principal, partner_id):
        return Page([], None)
    return uow.commissions.list_for_partner(partner_id, limit=page_size(first), cursor=after)


def list_payouts(uow: UnitOfWork, principal: Principal, partner_id: str, *, first: int | None, after: str | None) -> Page[Payout]:
    if not can_view_partner_programme(principal, partner_id):
        return Page([], None)
    return uow.payouts.list_for_partner(partner_id, limit=page_size(first), cursor=after)


# --- payouts -------------------------------------------------------------------------------


def request_payout(uow: UnitOfWork, principal: Principal, partner_id: str, *, threshold: Money, now: datetime) -> Payout:
    """All approved, unpaid entries in one payout, if their sum exceeds the threshold; a suspended partner's too (owed).

    The payout and every entry marked paid are one transaction with a version check on each
    entry: of two concurrent requests, one commits and the other fails with a conflict.
    """
    require(can_manage_payouts(principal, partner_id), "request payouts")
    with uow:
        partner = uow.programme_partners.get(partner_id)
        if partner is None:
            raise NotFound(f"No programme partner with id '{partner_id}'.", field="partnerId")
        payable = uow.commissions.list_payable(partner_id, limit=MAX_ENTRIES_PER_PAYOUT)
        payout, paid = plan_payout(
            payout_id=new_id("pay"), partner_id=partner_id, partner_number=partner.partner_number,
            bank_details=partner.bank_details, approved_unpaid=payable, threshold=threshold,
            requested_by=principal.user_id, now=now,
        )
        uow.payouts.add(payout)
        for entry in paid:
            uow.commissions.update(entry)
        uow.commit()
    return payout


@dataclass(frozen=True)
class Debtor:
    """The distributor's account the payouts are transferred from."""

    name: str
    iban: str
    bic: str | None


SepaRenderer = Callable[[Debtor, Sequence[Payout], date, str], bytes]


def create_payout_run(
    uow: UnitOfWork, documents: DocumentStore, principal: Principal, *, debtor: Debtor, execution_date: date,
    render: SepaRenderer, now: datetime, max_payouts: int = 98,
) -> PayoutRun:
    """The distributor's payout run: every open payout into one SEPA pain.001 file, stored as a document."""
    require(principal.is_distributor, "create payout runs")
    if not (debtor.name and debtor.iban):
        raise PreconditionFailed(
            "The distributor's payout account is not configured.",
            hint="Set PAYOUT_DEBTOR_NAME, PAYOUT_DEBTOR_IBAN (and PAYOUT_DEBTOR_BIC) for the API.",
        )
    if execution_date < berlin_date(now):
        raise PreconditionFailed("The execution date of a SEPA transfer cannot be in the past.", field="executionDate")
    with uow:
        open_payouts = uow.payouts.list_open(limit=max_payouts)
        if not open_payouts:
            raise PreconditionFailed("There are no requested payouts to transfer.", hint="Partners request payouts themselves.")
        run_id = new_id("prn")
        key = f"payout-runs/{run_id}.xml"
        documents.put(key, render(debtor, open_payouts, execution_date, run_id), "application/xml")
        total = Money(sum((p.amount.amount for p in open_payouts), Decimal(0)), open_payouts[0].amount.currency)
        run = PayoutRun(
            id=run_id, created_at=now, created_by=principal.user_id, execution_date=execution_date,
            payout_ids=tuple(p.id for p in open_payouts), total=total, document_key=key,
        )
        uow.payouts.add_run(run)
        for payout in open_payouts:
            uow.payouts.update(replace(payout, status=PayoutStatus.EXPORTED, run_id=run_id))
        uow.commit()
    return run


def list_payout_runs(
    uow: UnitOfWork, documents: DocumentStore, principal: Principal, *, first: int | None, after: str | None
) -> Page[tuple[PayoutRun, str]]:
    """The distributor's SEPA runs, newest first, each with a short-lived download URL of its file."""
    if not principal.is_distributor:
        return Page([], None)
    page = uow.payouts.list_runs(limit=page_size(first), cursor=after)
    return Page([(run, documents.download_url(run.document_key, filename=run.filename)) for run in page.items], page.next_cursor)


def payout_run_download(uow: UnitOfWork, documents: DocumentStore, principal: Principal, run_id: str) -> tuple[PayoutRun, str]:
    require(principal.is_distributor, "download SEPA files")
    run = uow.payouts.get_run(run_id)
    if run is None:
        raise NotFound(f"No payout run '{run_id}'.", field="runId")
    return run, documents.download_url(run.document_key, filename=run.filename)
