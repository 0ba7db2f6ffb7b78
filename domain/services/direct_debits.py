"""The distributor's direct-debit runs: the due direct-debit invoices into one SEPA pain.008 file for its bank."""

from __future__ import annotations

from datetime import date, datetime
from typing import Callable, Sequence

from domain.calendar import berlin_date
from domain.direct_debits import MAX_INVOICES_PER_RUN, Creditor, Debit, DirectDebitRun, plan_collection
from domain.errors import NotFound, PreconditionFailed
from domain.ids import new_id
from domain.policy import Principal, can_manage_invoices, require
from domain.ports import DocumentStore, Page, UnitOfWork
from domain.services.organisations import page_size

DirectDebitRenderer = Callable[[Creditor, Sequence[Debit], date, str], bytes]


def create_direct_debit_run(
    uow: UnitOfWork, documents: DocumentStore, principal: Principal, *, creditor: Creditor, collection_date: date,
    render: DirectDebitRenderer, now: datetime, max_invoices: int = MAX_INVOICES_PER_RUN,
) -> DirectDebitRun:
    """Every direct-debit invoice due by ``collection_date`` into one file (stored as a document), each invoice once.

    Refused without a change when the creditor is not configured, the date is not ahead, or nothing is due. When the
    oldest due invoices can none of them be collected (paid meanwhile, mandate revoked), the run takes those out with
    their reasons and writes no file, so that the queue never stalls on them; the next run collects what follows.
    """
    require(can_manage_invoices(principal), "create direct-debit runs")
    if not (creditor.name and creditor.iban and creditor.bic and creditor.creditor_id):
        raise PreconditionFailed(
            "The distributor's creditor account is not configured.",
            hint="Set PAYOUT_DEBTOR_NAME, PAYOUT_DEBTOR_IBAN, PAYOUT_DEBTOR_BIC (the distributor's account) and SEPA_CREDITOR_ID.",
        )
    if collection_date <= berlin_date(now):
        raise PreconditionFailed(
            f"A direct debit is collected after the file reaches the bank: {collection_date.isoformat()} is not ahead.",
            field="collectionDate", hint="Choose tomorrow or later (a business day of the bank).",
        )
    with uow:
        waiting = uow.invoices.list_to_collect(collection_date, limit=max_invoices)
        plan = plan_collection(waiting, uow.organisations.get_many({i.payer_id for i in waiting}), collection_date=collection_date,
                               credit_notes=uow.invoices.credit_notes_of([i.id for i in waiting]))
        if not plan.debits and not plan.not_collected:
            raise PreconditionFailed(
                f"No direct-debit invoice is due for collection by {collection_date.isoformat()}.", field="collectionDate",
                hint="Rental and hosting invoices of customers with a mandate on file are collected on their due date.",
            )
        run_id = new_id("ddr")
        key = None
        if plan.debits:  # else a run of only invoices it takes out (paid meanwhile, mandate revoked): no file
            key = f"direct-debits/{run_id}.xml"
            documents.put(key, render(creditor, plan.debits, collection_date, run_id), "application/xml")
        run = DirectDebitRun(
            id=run_id, created_at=now, created_by=principal.user_id, collection_date=collection_date,
            invoice_ids=tuple(d.invoice_id for d in plan.debits), total=plan.total, document_key=key, not_collected=plan.not_collected,
            requested=plan.requested,  # what the file asks per invoice: a collection is recorded for at most that
        )
        uow.direct_debit_runs.add(run)
        for invoice_id in plan.invoice_ids:
            uow.invoices.register_collection(invoice_id, run_id)  # refused if another run took it meanwhile
        uow.commit()
    return run


def list_direct_debit_runs(
    uow: UnitOfWork, documents: DocumentStore, principal: Principal, *, first: int | None, after: str | None
) -> Page[tuple[DirectDebitRun, str]]:
    """The distributor's direct-debit runs, newest first, each with a short-lived download URL of its file."""
    if not can_manage_invoices(principal):
        return Page([], None)
    page = uow.direct_debit_runs.list(limit=page_size(first), cursor=after)
    return Page([(run, documents.download_url(run.document_key, filename=run.filename) if run.document_key else None)
                 for run in page.items], page.next_cursor)


def direct_debit_run(uow: UnitOfWork, principal: Principal, run_id: str) -> DirectDebitRun:
    require(can_manage_invoices(principal), "read direct-debit runs")
    run = uow.direct_debit_runs.get(run_id)
    if run is None:
        raise NotFound(f"No direct-debit run '{run_id}'.", field="runId")
    return run
