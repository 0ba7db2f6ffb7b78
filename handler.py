"""Lambda and ASGI entry points: the API, and one function per scheduled job."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from functools import lru_cache

from mangum import Mangum

from resolvers.http import create_app

logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("partnerhub.jobs")

app = create_app()
handler = Mangum(app, lifespan="off")


@lru_cache(maxsize=1)
def _services():
    return app.state.services


def _run_date(event: dict, now: datetime) -> date:
    """A hand-run job names its date; a scheduled one runs for the Berlin date of its trigger."""
    from domain.calendar import berlin_date

    if event.get("run_date"):
        return date.fromisoformat(event["run_date"])
    if event.get("time"):  # EventBridge "Scheduled Event"
        return berlin_date(datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
    return berlin_date(now)


def renew_subscriptions(event: dict, context: object = None) -> dict:
    """Daily: renew (or end) every subscription whose term ends on the run date, then book the monthly charges
    of annual terms whose next billing cycle starts on it (what the billing run invoices)."""
    from domain.services.subscriptions import renew_due_subscriptions

    services = _services()
    now = services.clock()
    summary = renew_due_subscriptions(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    log.info(json.dumps({"job": "renew_subscriptions", **summary}))
    return summary


def approve_commissions(event: dict, context: object = None) -> dict:
    """Daily: approve the commissions whose 90 days after the customer's payment are over."""
    from domain.services.commissions import approve_due_commissions

    services = _services()
    now = services.clock()
    summary = approve_due_commissions(services.uow, run_date=_run_date(event or {}, now), now=now).as_dict()
    log.info(json.dumps({"job": "approve_commissions", **summary}))
    return summary
