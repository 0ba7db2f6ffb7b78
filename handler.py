"""Lambda and ASGI entry points: the API, and one function per scheduled job."""

from __future__ import annotations

import gc
import json
import logging
import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from infra import dataclass_cache

# Before anything defines a dataclass: their generated methods come compiled from the last cold start.
_compiled_methods = dataclass_cache.install(dataclass_cache.cache_file(Path(__file__).resolve().parent))

logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("partnerhub.jobs")


@lru_cache(maxsize=1)
def _services():
    """Settings, clients (created on first use) and the clock: what the API and every job share in one process."""
    from infra.bootstrap import build_services

    return build_services()


@lru_cache(maxsize=1)
def _api():
    """The ASGI app (GraphQL schema, routes) behind Mangum. Only the API function builds it; the jobs never do."""
    from mangum import Mangum

    from resolvers.http import create_app

    return Mangum(create_app(_services()), lifespan="off")


def handler(event: dict, context: object) -> dict:
    """The API: HTTP API (payload v2) events to the ASGI app."""
    return _api()(event, context)


def __getattr__(name: str):
    if name == "app":  # the ASGI app, for local servers and tests
        return _api().app
    raise AttributeError(f"module 'handler' has no attribute {name!r}")


# Lambda names the function's entry point in _HANDLER. The API function builds its schema now, in the init phase,
# so the first request does not wait for it; a job function (handler.run_billing, ...) loads no GraphQL at all.
#
# The garbage collector stays off meanwhile: importing builds some 90,000 objects that live as long as the process, and
# collecting while they are built only scans them again and again (about 50 ms of a cold start; they leave about a
# thousand objects of garbage in cycles). Frozen afterwards, later collections skip them, so no request pays for a
# full collection over them either.
gc.disable()
try:
    if os.environ.get("_HANDLER", "handler.handler") == "handler.handler":
        _api()
    _compiled_methods.save()  # writes __pycache__/dataclass-methods.* when it lacked some and Python may write bytecode here
finally:
    gc.freeze()
    gc.enable()


def _run_date(event: dict, now: datetime) -> date:
    """A hand-run job names its date; a scheduled one runs for the Berlin date of its trigger."""
    from domain.calendar import berlin_date

    if event.get("run_date"):
        return date.fromisoformat(event["run_date"])
    if event.get("time"):  # EventBridge "Scheduled Event"
        return berlin_date(datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
    return berlin_date(now)


def _report(job: str, summary: dict) -> dict:
    """Log the run's summary and return it; when due items failed (``summary["failed"]``, each logged with its error),
    raise after the run, so the invocation counts as failed (an alarm on the function's errors can fire). A re-run
    processes only what is still due: the failed items again, nothing twice."""
    log.info(json.dumps({"job": job, **summary}))
    if summary.get("failed"):
        from domain.services.job_runs import ItemsFailed

        raise ItemsFailed(job, summary)
    return summary


def renew_subscriptions(event: dict, context: object = None) -> dict:
    """Daily: renew (or end) every subscription whose term ends on the run date, then book the monthly charges
    of annual terms whose next billing cycle starts on it (what the billing run invoices)."""
    from domain.services.subscriptions import renew_due_subscriptions

    services = _services()
    now = services.clock()
    summary = renew_due_subscriptions(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    return _report("renew_subscriptions", summary)


def approve_commissions(event: dict, context: object = None) -> dict:
    """Daily: approve the commissions whose 90 days after the customer's payment are over."""
    from domain.services.commissions import approve_due_commissions

    services = _services()
    now = services.clock()
    summary = approve_due_commissions(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    return _report("approve_commissions", summary)


def ingest_email(event: dict, context: object = None) -> dict:
    """S3 put under inbound/ (written by the SES receipt rule): one ticket, comment or recorded outcome per message."""
    from infra.inbound_email import ingest_event

    services = _services()
    records = ingest_event(services, event or {}, now=services.clock())
    summary = {"processed": len(records), "outcomes": [{"key": r.key, "outcome": r.outcome, "ticketId": r.ticket_id} for r in records]}
    log.info(json.dumps({"job": "ingest_email", **summary}))
    return summary


def create_maintenance_tickets(event: dict, context: object = None) -> dict:
    """Daily: the maintenance tickets whose creation date (due date minus lead days) has come."""
    from domain.services.maintenance import create_due_maintenance_tickets

    services = _services()
    now = services.clock()
    summary = create_due_maintenance_tickets(
        services.uow, run_date=_run_date(event or {}, now), now=now, mailer=services.mailer
    ).as_dict()
    return _report("create_maintenance_tickets", summary)


def book_quota_months(event: dict, context: object = None) -> dict:
    """Daily: book each prepaid quota month due by the run date, oldest first (a missed run is caught up): correct the
    month before's overdraft (invoiced) and credit the month's hours."""
    from domain.services.contracts import book_quota_months as book

    services = _services()
    now = services.clock()
    summary = book(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    return _report("book_quota_months", summary)


def book_flat_rate_months(event: dict, context: object = None) -> dict:
    """Daily: hand each rental and data-centre hosting month due by the run date to billing (an invoice of its own)."""
    from domain.services.contracts import book_flat_rate_months as book

    services = _services()
    now = services.clock()
    summary = book(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    return _report("book_flat_rate_months", summary)


def bill_saas_subscriptions(event: dict, context: object = None) -> dict:
    """Daily: charge each reseller SaaS month whose payment date is due by the run date to its partner (a missed run
    is caught up, month by month) and move the next payment date on; the billing run invoices the charges."""
    from domain.services.subscriptions import bill_saas_subscriptions as bill

    services = _services()
    now = services.clock()
    summary = bill(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    return _report("bill_saas_subscriptions", summary)


def run_billing(event: dict, context: object = None) -> dict:
    """Daily: invoice the charges and service items due on the run date, store and e-mail the PDFs."""
    from domain.services.billing import run_billing as run
    from domain.services.partner_programme import programme_terms

    services = _services()
    now = services.clock()
    summary = run(
        services.uow, run_date=_run_date(event or {}, now), now=now, documents=services.documents, mailer=services.mailer,
        renderer=services.invoice_renderer, terms=programme_terms(services.settings.partner_programme_terms),
        prefix=services.invoicing.number_prefix, sepa_creditor_id=services.settings.sepa_creditor_id, ledger=services.invoice_ledger,
    ).as_dict()
    return _report("run_billing", summary)
