"""Run a scheduled job by hand, e.g. for a back-fill: `python -m infra.jobs renew_subscriptions 2024-01-15`."""

from __future__ import annotations

import json
import os
import sys

JOBS = ("renew_subscriptions", "run_billing", "approve_commissions", "create_maintenance_tickets", "book_quota_months", "book_flat_rate_months",
        "bill_saas_subscriptions")


def index_quota_contracts() -> dict:
    """Puts the prepaid quota contracts saved before the quota job ran daily on its due index (see README)."""
    os.environ.setdefault("_HANDLER", "handler.book_quota_months")
    import handler
    from domain.calendar import berlin_date
    from domain.services.contracts import index_quota_contracts as index

    services = handler._services()
    return index(services.uow, today=berlin_date(services.clock())).as_dict()


def index_ticket_reporters() -> dict:
    """Puts the tickets saved before the reporter index on it, so report-only users see the tickets they reported."""
    os.environ.setdefault("_HANDLER", "handler.create_maintenance_tickets")  # any job's: no GraphQL
    import handler
    from domain.services.tickets import index_ticket_reporters as index

    return index(handler._services().uow).as_dict()


def index_saas_subscriptions() -> dict:
    """Puts the reseller SaaS subscriptions saved before the payment index on it, so the daily SaaS job charges them."""
    os.environ.setdefault("_HANDLER", "handler.bill_saas_subscriptions")
    import handler
    from domain.services.subscriptions import index_saas_subscriptions as index

    return index(handler._services().uow).as_dict()


def index_maintenance_schedules() -> dict:
    """Puts the running maintenance schedules saved before the contract index on it, so contractEnd ends them."""
    os.environ.setdefault("_HANDLER", "handler.create_maintenance_tickets")  # any job's: no GraphQL
    import handler
    from domain.services.contracts import index_maintenance_schedules as index

    return index(handler._services().uow).as_dict()


def register_credit_notes() -> dict:
    """Registers the credit notes issued before they counted on their invoices: what the invoices owe, the dunning list
    and what each note refunds follow them, and an invoice paid in what it now owes books its commission (see README)."""
    os.environ.setdefault("_HANDLER", "handler.run_billing")  # any job's: no GraphQL
    import handler
    from domain.services.invoices import register_issued_credit_notes

    services = handler._services()
    return register_issued_credit_notes(services.uow, ledger=services.invoice_ledger, now=services.clock()).as_dict()


# One-off tasks, run once by hand after the deploy that needs them, never scheduled: `python -m infra.jobs <task>`.
TASKS = {"index_quota_contracts": index_quota_contracts, "index_ticket_reporters": index_ticket_reporters,
         "index_saas_subscriptions": index_saas_subscriptions, "index_maintenance_schedules": index_maintenance_schedules,
         "register_credit_notes": register_credit_notes}


def main(argv: list[str]) -> None:
    if argv and argv[0] in TASKS:
        print(json.dumps(TASKS[argv[0]](), indent=2))
        return
    if not argv or argv[0] not in JOBS:
        raise SystemExit(f"usage: python -m infra.jobs {{{'|'.join(JOBS + tuple(TASKS))}}} [YYYY-MM-DD]")
    os.environ.setdefault("_HANDLER", f"handler.{argv[0]}")  # as in Lambda: a job loads no GraphQL
    import handler

    event = {"run_date": argv[1]} if len(argv) > 1 else {}
    print(json.dumps(getattr(handler, argv[0])(event, None), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
