"""Run a scheduled job by hand, e.g. for a back-fill: `python -m infra.jobs renew_subscriptions 2024-01-15`."""

from __future__ import annotations

import json
import os
import sys

JOBS = ("renew_subscriptions", "run_billing", "approve_commissions", "create_maintenance_tickets", "book_quota_months", "book_flat_rate_months")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in JOBS:
        raise SystemExit(f"usage: python -m infra.jobs {{{'|'.join(JOBS)}}} [YYYY-MM-DD]")
    os.environ.setdefault("_HANDLER", f"handler.{argv[0]}")  # as in Lambda: a job loads no GraphQL
    import handler

    event = {"run_date": argv[1]} if len(argv) > 1 else {}
    print(json.dumps(getattr(handler, argv[0])(event, None), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
