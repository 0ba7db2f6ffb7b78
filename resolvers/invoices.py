"""Resolvers for invoices: thin mapping between GraphQL and ``domain.services.invoices``."""

import logging
from datetime import date

import strawberry

from domain.calendar import berlin_date
from domain.invoices import CopyDecision, CreditItem, can_view_invoice
from domain.money import Money
from domain.services import invoices as service
from resolvers.context import Info
from resolvers.errors import payload_errors, to_errors
from schema import invoices as t
from schema.common import Error
from schema.pagination import Connection

log = logging.getLogger(__name__)


def _of(info: Info, invoice) -> t.Invoice:
    return t.Invoice.of(invoice, berlin_date(info.context.now))


async def credit_notes_of(info: Info, invoice) -> list[t.Invoice]:
    notes = await info.context.loaders.credit_notes_by_invoice.load(invoice.id)
    return [_of(info, n) for n in notes if can_view_invoice(info.context.principal, n)]


async def download_url_of(info: Info, invoice) -> str | None:
    ctx = info.context
    return await ctx.run(
        service.download_url, ctx.uow(), ctx.services.documents, ctx.services.invoice_renderer, ctx.principal, invoice,
        today=berlin_date(ctx.now), online_months=ctx.services.invoicing.online_months,
    )


def download_refusal_of(info: Info, invoice) -> Error | None:
    ctx = info.context
    refusal = service.download_refusal(ctx.principal, invoice, today=berlin_date(ctx.now), online_months=ctx.services.invoicing.online_months)
    return to_errors(refusal)[0] if refusal is not None else None


# --- queries -----------------------------------------------------------------------------


async def invoice(info: Info, id: strawberry.ID) -> t.Invoice | None:
    ctx = info.context
    found = await ctx.loaders.invoice_by_id.load(str(id))
    return _of(info, found) if found and can_view_invoice(ctx.principal, found) else None


async def invoices(
    info: Info, organisation_id: strawberry.ID | None = None, status: t.InvoiceStatus | None = None,
    issued_from: date | None = None, issued_to: date | None = None, first: int | None = 20, after: str | None = None,
) -> Connection[t.Invoice]:
    """The invoices an organisation pays (default: your own), newest first."""
    ctx = info.context
    page = await ctx.run(
        service.list_invoices, ctx.uow(), ctx.principal, organisation_id=organisation_id, status=status,
        issued_from=issued_from, issued_to=issued_to, first=first, after=after,
    )
    return Connection.of(page, lambda i: _of(info, i))


async def overdue_invoices(info: Info, first: int | None = 50, after: str | None = None) -> Connection[t.Invoice]:
    """Distributor: open invoices past their due date, oldest due first (the dunning list)."""
    ctx = info.context
    page = await ctx.run(service.list_overdue, ctx.uow(), ctx.principal, today=berlin_date(ctx.now), first=first, after=after)
    return Connection.of(page, lambda i: _of(info, i))


# --- mutations ---------------------------------------------------------------------------


@payload_errors(t.PaymentRecordPayload)
async def payment_record(info: Info, input: t.PaymentRecordInput) -> t.PaymentRecordPayload:
    ctx = info.context
    outcome = await ctx.run(
        service.record_payment, ctx.services.uow, ctx.principal, str(input.invoice_id),
        amount=Money(input.amount, input.currency), paid_on=input.paid_on, reference=input.reference,
        now=ctx.now, ledger=ctx.services.invoice_ledger, direct_debit_collection=input.direct_debit_collection,
    )
    return t.PaymentRecordPayload(invoice=_of(info, outcome.invoice), recorded=outcome.recorded)


@payload_errors(t.CreditNotePayload)
async def credit_note_create(info: Info, input: t.CreditNoteCreateInput) -> t.CreditNotePayload:
    ctx = info.context
    lines = None
    if input.lines is not None:
        lines = [CreditItem(l.line_number, Money(l.net_amount) if l.net_amount is not None else None) for l in input.lines]
    note = await ctx.run(
        service.create_credit_note, ctx.services.uow, ctx.principal, str(input.invoice_id), reason=input.reason, lines=lines,
        now=ctx.now, prefix=ctx.services.invoicing.number_prefix, ledger=ctx.services.invoice_ledger,
    )
    try:
        await ctx.run(
            service.deliver, ctx.services.uow, note, documents=ctx.services.documents, mailer=ctx.services.mailer,
            renderer=ctx.services.invoice_renderer, now=ctx.now,
        )
    except Exception:  # issued all the same; it stays in the undelivered index for the night's billing run
        log.exception("delivery of credit note %s failed", note.id)
    return t.CreditNotePayload(credit_note=_of(info, note))


@payload_errors(t.InvoiceCopyPayload)
async def invoice_copy_request(info: Info, input: t.InvoiceCopyRequestInput) -> t.InvoiceCopyPayload:
    """Free re-send up to day 60 (DELIVERY_FAILED when the mail service refuses it); an online invoice is downloaded
    instead; an archived one needs a paid retrieval."""
    ctx = info.context
    s = ctx.services
    try:
        result = await ctx.run(
            service.request_copy, s.uow, ctx.principal, str(input.invoice_id), now=ctx.now, settings=s.invoicing,
            documents=s.documents, mailer=s.mailer, renderer=s.invoice_renderer, archive_hours=input.archive_hours,
        )
    except service.CopyNotSent as refused:  # a free re-send the mail service refused: DELIVERY_FAILED, ask again later
        return t.InvoiceCopyPayload(decision=CopyDecision.FREE_RESEND, resent=False, errors=to_errors(refused))
    retrieval = _of(info, result.retrieval_invoice) if result.retrieval_invoice else None
    return t.InvoiceCopyPayload(decision=result.decision, resent=result.resent, retrieval_invoice=retrieval)


@payload_errors(t.InvoiceDeletePayload)
async def invoice_delete(info: Info, input: t.InvoiceDeleteInput) -> t.InvoiceDeletePayload:
    ctx = info.context
    await ctx.run(service.delete_invoice, ctx.services.uow, ctx.principal, str(input.invoice_id), today=berlin_date(ctx.now))
    return t.InvoiceDeletePayload(deleted_invoice_id=input.invoice_id)


# --- direct-debit runs -------------------------------------------------------------------------


def _creditor(settings):
    from domain.direct_debits import Creditor

    return Creditor(settings.payout_debtor_name, settings.payout_debtor_iban, settings.payout_debtor_bic or None, settings.sepa_creditor_id)


async def direct_debit_runs(info: Info, first: int | None = 20, after: str | None = None) -> Connection[t.DirectDebitRun]:
    from domain.services import direct_debits

    ctx = info.context
    page = await ctx.run(direct_debits.list_direct_debit_runs, ctx.uow(), ctx.services.documents, ctx.principal, first=first, after=after)
    return Connection.of(page, lambda pair: t.DirectDebitRun.of(*pair))


def _create_direct_debit_run(ctx, collection_date: date):
    from domain.services import direct_debits
    from infra.sepa import render_direct_debits

    run = direct_debits.create_direct_debit_run(
        ctx.uow(), ctx.services.documents, ctx.principal, creditor=_creditor(ctx.services.settings), collection_date=collection_date,
        render=render_direct_debits, now=ctx.now,
    )
    return run, ctx.services.documents.download_url(run.document_key, filename=run.filename) if run.document_key else None


@payload_errors(t.DirectDebitRunPayload)
async def direct_debit_run_create(info: Info, collection_date: date) -> t.DirectDebitRunPayload:
    ctx = info.context
    run, url = await ctx.run(_create_direct_debit_run, ctx, collection_date)
    return t.DirectDebitRunPayload(run=t.DirectDebitRun.of(run, url))
