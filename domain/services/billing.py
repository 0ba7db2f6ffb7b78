"""The billing run: due charges and service items become issued, delivered invoices.

Like the renewal job it reads only what is due (the sparse unbilled indexes of charges and
service items, keyed by bill date; yesterday's partition too, for what arrived after the
previous run), in pages, and it is idempotent and resumable:

* ``plan_billing_run`` gives each invoice an id derived from the run date, payer, customer,
  partner and currency. Each planned invoice is issued in one transaction that also marks
  its charges billed, so after a crash the re-run no longer sees the billed charges and
  plans (with the same ids) only what is left; an invoice issued by an overlapping run
  fails the conditional put and is counted, not duplicated.
* Numbers are allocated inside that transaction (``domain.services.invoices.issue``), so a
  crash or a lost race never leaves a gap. The run reads the counter for its first invoice
  only and then trusts the value its own last transaction wrote (``LastSequences``); the
  counter's condition still refuses a number someone else took meanwhile, and the retry
  reads the counter.
* The same transaction claims the invoice's delivery for this run (``DELIVERY_CLAIM``), so
  delivery (PDF to S3, e-mail to the payer) follows each commit without another write
  first; issuer and payer for the PDF are the organisations read for planning. Whatever a
  crash or a failed e-mail left undelivered is found in the undelivered index and delivered
  at the end of this run, or, if the crash left it claimed, by the first run after the
  claim expired (the next day's run reads the days before too), once.

Partner terms have one source: the partner programme. The reseller discount (partner-pays
invoices) and the cashback (customer-pays invoices) are the rates of the partner's programme
tier in force on the run date (``ProgrammePartner.rates_at``: the configured programme terms
of a standard tier, or the agreed rates of an individual one), read with the partners in one
BatchGet. **Decided**: a reseller that has not joined the programme (or not yet on the run
date) buys at the rates of the entry tier, Registered, of the same terms.

**Decided** (per-branch billing, rules in ``domain.billing``): the branches and the customer's choice (CENTRAL or
PER_BRANCH) come with the customers read for planning, so billing per branch costs no request of its own; each branch's
invoice is one more planned invoice, issued (gap-free number, SEPA direct debit under the customer's mandate) and
delivered like any other, and its id includes the branch, so a re-run after a crash issues none twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.calendar import CATCH_UP_DAYS, days_to_catch_up
from domain.billing import BilledCharge, CreditSource, CustomerAccount, PartnerTerms, PlannedInvoice, plan_billing_run, trace_credit
from domain.errors import ValidationFailed
from domain.invoices import BillingParty
from domain.organisations import Organisation, OrganisationKind
from domain.partner_programme import ProgrammePartner, ProgrammeTerms, Tier
from domain.sepa import creditor_identifier
from domain.services import invoices as invoicing
from domain.ports import InvoiceLedger
from domain.services.commissions import LEDGER_WRITES_PER_CREDIT, LEDGER_WRITES_PER_PAYMENT, PartnerProgrammeLedger, register_credit
from domain.services.invoice_errors import AlreadyBilled, InvoiceAlreadyIssued, InvoiceChangedMeanwhile
from domain.services.job_runs import due_item, summary_dict
from domain.subscriptions import Charge, ChargeKind

log = logging.getLogger(__name__)

MAX_ITEMS_PER_INVOICE = 95  # a DynamoDB transaction takes 100 writes: counter, invoice, cashback and the items


@dataclass
class BillingRunSummary:
    run_date: date
    invoices_issued: int = 0
    already_issued: int = 0  # issued by an earlier attempt or an overlapping run
    charges_billed: int = 0
    service_items_billed: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    skipped: list[str] = field(default_factory=list)  # item reference: reason
    # Planned invoices a business rule refused when issued (``job_runs.due_item``): not issued, their items still due.
    failed: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return summary_dict(self)


def partner_terms(partner: Organisation, programme_partner: ProgrammePartner | None, terms: ProgrammeTerms, day: date) -> PartnerTerms:
    """The partner as payer and earner on ``day``: the rates of its programme tier then, else of the entry tier."""
    rates = programme_partner.rates_at(day, terms) if programme_partner is not None else None
    if rates is None:
        rates = terms.rates_for(Tier.REGISTERED)
    return PartnerTerms(
        BillingParty.of(partner), reseller_discount_percent=rates.reseller_discount_percent, cashback_percent=rates.cashback_percent
    )


def _partner_terms(partners: dict[str, Organisation], programme: dict[str, ProgrammePartner], terms: ProgrammeTerms, day: date):
    known = {}
    for partner_id, partner in partners.items():
        try:
            known[partner_id] = partner_terms(partner, programme.get(partner_id), terms, day)
        except ValidationFailed:  # e.g. a 100 % discount: its charges are reported as without terms, the rest is billed
            log.exception("partner terms of %s are unusable", partner_id)
    return known


def _read_all(list_page, day: date, page_limit: int) -> list:
    items, cursor = [], None
    while True:
        page = list_page(day, limit=page_limit, cursor=cursor)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def credit_sources(reader, charges: list[Charge]) -> dict[str, tuple[CreditSource, ...]]:
    """Where the seats each due credit takes back were billed: one Query per subscription with credits,
    one BatchGet of the invoices that billed them."""
    credits = [charge for charge in charges if charge.kind is ChargeKind.CREDIT]
    if not credits:
        return {}
    billing = {sid: reader.unbilled_charges.billing_of_subscription(sid) for sid in sorted({c.subscription_id for c in credits})}
    invoices = reader.invoices.get_many({invoice_id for entries in billing.values() for _, invoice_id in entries if invoice_id})
    return {
        credit.charge_id: trace_credit(
            credit,
            [BilledCharge(charge, invoices.get(invoice_id) if invoice_id else None) for charge, invoice_id in billing[credit.subscription_id]],
        )
        for credit in credits
    }


def credit_notes_of_sources(reader, sources: dict[str, tuple[CreditSource, ...]]) -> dict[str, list]:
    """The credit notes registered on each invoice the credits correct (two BatchGets): what is credited on it so far."""
    invoice_ids = sorted({source.invoice.id for shares in sources.values() for source in shares if source.invoice is not None})
    return reader.invoices.credit_notes_of(invoice_ids) if invoice_ids else {}


def run_billing(
    uow_factory, *, run_date: date, now: datetime, documents, mailer, renderer, terms: ProgrammeTerms | None = None,
    prefix: str = invoicing.DEFAULT_NUMBER_PREFIX, page_limit: int = 100, catch_up_days: int = CATCH_UP_DAYS,
    sepa_creditor_id: str | None = None, ledger: InvoiceLedger | None = None,
) -> BillingRunSummary:
    """``terms``: the configured partner-programme terms, ``programme_terms(settings.partner_programme_terms)``, as the
    scheduled job passes them; ``None`` means that function's answer without configuration (the default terms).
    ``ledger``: who books the run's credit notes with them, as ``creditNoteCreate`` does (``Services.invoice_ledger``);
    ``None``: the partner programme's ledger of ``terms``.
    ``sepa_creditor_id``: the distributor's creditor identifier (``SEPA_CREDITOR_ID``), printed on direct-debit invoices;
    one that is not a valid identifier is logged and left off rather than printed."""
    terms = terms or ProgrammeTerms.default()
    ledger = ledger if ledger is not None else PartnerProgrammeLedger(terms)
    sepa_creditor_id = _creditor_id(sepa_creditor_id)
    summary = BillingRunSummary(run_date)
    reader = uow_factory()
    days = days_to_catch_up(run_date, catch_up_days)  # the days before: what a missed run left unbilled
    charges = [c for day in days for c in _read_all(reader.unbilled_charges.list_due, day, page_limit)]
    items = [i for day in days for i in _read_all(reader.service_items.list_due, day, page_limit)]
    if charges or items:
        issuer = reader.organisations.list_by_kind(OrganisationKind.DISTRIBUTOR, limit=1, cursor=None).items[0]
        customers = reader.organisations.get_many({c.customer_id for c in charges} | {i.customer_id for i in items})
        partner_ids = {link.partner_id for customer in customers.values() for link in customer.partner_links}
        partner_ids |= {c.partner_id for c in charges if c.billed_to_partner}  # resellers of SaaS: the payer, linked or not
        partners = reader.organisations.get_many(partner_ids)
        sources = credit_sources(reader, charges)
        plan = plan_billing_run(
            run_date=run_date, now=now, issuer_id=issuer.id, charges=charges, service_items=items,
            customers={cid: CustomerAccount.of(c) for cid, c in customers.items()},
            partners=_partner_terms(partners, reader.programme_partners.get_many(partners), terms, run_date),
            credit_sources=sources, credit_notes=credit_notes_of_sources(reader, sources), sepa_creditor_id=sepa_creditor_id,
        )
        summary.skipped.extend(f"{s.reference}: {s.reason}" for s in plan.skipped)
        parties = {issuer.id: issuer, **customers, **partners}  # every payer is a customer or one of their partners
        sequences = invoicing.LastSequences()
        held: set[str] = set()  # credits with a share on a credit note not issued: their other notes wait for the next run
        for planned in plan.invoices:
            if planned.credited_charge_ids & held:
                held |= planned.credited_charge_ids
                summary.skipped.append(f"{planned.invoice_id}: another credit note of the same credit was not issued; billed by the next run")
                continue
            if not _issue_and_deliver(uow_factory, planned, summary, now=now, prefix=prefix, documents=documents, mailer=mailer,
                                      renderer=renderer, parties=parties, sequences=sequences, ledger=ledger):
                held |= planned.credited_charge_ids
    for day in days:  # what a crash (or a failed e-mail) left undelivered
        delivered, failed = invoicing.deliver_pending(uow_factory, day, documents=documents, mailer=mailer, renderer=renderer, now=now)
        summary.delivered += delivered
        summary.delivery_failures += failed
    return summary


def _creditor_id(configured: str | None) -> str | None:
    if not (configured or "").strip():
        return None
    try:
        return creditor_identifier(configured, field="SEPA_CREDITOR_ID")
    except ValidationFailed:
        log.error("SEPA_CREDITOR_ID %r is not a SEPA creditor identifier; direct-debit invoices are issued without one", configured)
        return None


def _ledger_writes(planned: PlannedInvoice) -> int:
    """Writes the issuing transaction adds for the invoices it corrects (at most): the corrected invoice, the ledger
    entries of each, and those of a payment when the credit note settles a partly paid invoice."""
    if not planned.corrections:
        return 0
    return 1 + LEDGER_WRITES_PER_CREDIT * len(planned.corrections) + LEDGER_WRITES_PER_PAYMENT


def _corrections_of(planned: PlannedInvoice, now: datetime, ledger: InvoiceLedger):
    """Writes of the issuing transaction for the invoices a credit corrects. The credit note is registered on the one
    it names as ``creditNoteCreate`` registers one (``invoicing.register_credit_note``, with ``ledger``): it takes its
    gross off what is owed, refunds only what was paid beyond that, and a note that settles a partly paid invoice books
    its payment (the commission, the cashback's 90 days). Any other invoice its credits take seats back from has its
    referral commission and cashback reduced, voided or adjusted by the net credited on it."""
    if not planned.corrections:
        return None
    corrected_id = planned.draft.corrects_invoice_id  # a run's credit note corrects one invoice

    def also(uow, issued):
        registered = None
        booked = None
        if corrected_id is not None:
            corrected = uow.invoices.get(corrected_id)  # as it is now: the note is registered with a version check
            if corrected is not None:
                outcome = invoicing.register_credit_note(uow, corrected, issued, ledger=ledger, now=now)
                registered, booked = outcome.credit_note, corrected_id
        for correction in planned.corrections:
            if correction.invoice_id != booked:  # the registered note's ledger writes are made above
                register_credit(uow, invoice_id=correction.invoice_id, credited_net=correction.credited_net, credit_reference=issued.id, now=now)
        return registered

    return also


def _issue_and_deliver(
    uow_factory, planned: PlannedInvoice, summary: BillingRunSummary, *, now, prefix, documents, mailer, renderer,
    parties: dict[str, Organisation], sequences: invoicing.LastSequences, ledger: InvoiceLedger,
) -> bool:
    """Issue and deliver one planned invoice; False when it was not issued (and is not issued already). One that a
    business rule refuses is not issued: reported in ``summary.failed``, its charges and items stay due."""
    consumed = len(planned.charge_ids) + len(planned.service_item_references) + _ledger_writes(planned)
    if consumed > MAX_ITEMS_PER_INVOICE:
        summary.skipped.append(f"{planned.invoice_id}: {consumed} items exceed one transaction; split by hand")
        return False
    with due_item(summary, planned.invoice_id) as item:
        try:
            invoice = invoicing.issue_draft(
                uow_factory, planned.draft, now=now, prefix=prefix, charge_ids=planned.charge_ids,
                service_item_references=planned.service_item_references, cashback=planned.cashback,
                delivery_date=summary.run_date, delivery_claimed_until=now + invoicing.DELIVERY_CLAIM, sequences=sequences,
                also=_corrections_of(planned, now, ledger), parties=parties,
            )
        except InvoiceAlreadyIssued:
            if planned.corrections:
                # A credit note with this id (run date, payer, corrected invoice) was issued by an earlier run of the
                # same date. The planner left out the shares already on it, so these are new ones: they need a note of
                # their own. Holding the credit keeps it due (its other notes wait too) for the next run date, whose id
                # differs; counting it issued would let a sibling note mark the credit billed and lose this share.
                summary.skipped.append(f"{planned.invoice_id}: a credit note with this id was issued earlier on this run date; "
                                       "its new shares are credited by the next run")
                return False
            summary.already_issued += 1
            return True
        except AlreadyBilled:
            summary.already_issued += 1
            return True
        except InvoiceChangedMeanwhile:  # a payment on the corrected invoice between its read and the commit
            summary.skipped.append(f"{planned.invoice_id}: the corrected invoice changed meanwhile; billed by the next run")
            return False
    if item.failed:
        log.error("invoice %s was not issued; still due: charges %s, service items %s", planned.invoice_id,
                  ", ".join(planned.charge_ids) or "none", ", ".join(planned.service_item_references) or "none")
        return False
    summary.invoices_issued += 1
    summary.charges_billed += len(planned.charge_ids)
    summary.service_items_billed += len(planned.service_item_references)
    if planned.cashback is not None:  # the partner sees it at once; paying the invoice starts its 90 days
        try:
            from domain.services.commissions import record_cashback

            record_cashback(uow_factory(), planned.cashback, customer_id=invoice.customer_id, invoice_date=invoice.issue_date, now=now)
        except Exception:  # the cashback record stays with the invoice; the payment listener books it then
            log.exception("cashback ledger entry for invoice %s failed", invoice.id)
    try:
        summary.delivered += invoicing.deliver(
            uow_factory, invoice, documents=documents, mailer=mailer, renderer=renderer, now=now, claimed=True, parties=parties,
        )
    except Exception:
        log.exception("delivery of invoice %s failed; the run retries it at its end", invoice.id)
    return True
