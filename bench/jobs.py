"""Scheduled jobs scale with the due work: DynamoDB requests per due item and reads of items that are not due.

Each job runs through its Lambda entry point in ``handler.py`` over moto's in-process DynamoDB,
holding N stored items of which 1% are due. Items are written directly with batch writes (through
the repository's own item mapping), not through the API, so that 100,000 items seed in minutes.
Targets: at most 3 requests per due item, 0 reads of items that are not due, and the same figures
at every N (the cost depends on the due items only).

Above ``--apply-writes-up-to`` stored items (default 20,000) the writes are counted but answered by a
stub instead of moto: moto copies a whole table for every TransactWriteItems (its rollback snapshot),
which at 100,000 items takes seconds per call. The reads stay real, the code path is the same, and
the report says which runs stubbed their writes.

    python -m bench.jobs                      # 10,000 and 100,000 items
    python -m bench.jobs --items 10000

To cover a new job, add a row to JOBS: how to seed N items of which some are due, and how to run it.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterator

from bench.common import in_process_moto, print_table, use_local_environment

DUE_SHARE = 0.01

# The renewal job's run: 23:30 in Berlin on 2026-11-23.
RENEWAL_RUN_DATE = date(2026, 11, 23)
RENEWAL_RUN_AT = datetime(2026, 11, 23, 22, 30, tzinfo=timezone.utc)


class _Collector:
    """Stands in for the unit of work: keeps the items a repository registers instead of writing them."""

    def __init__(self) -> None:
        self.items: list = []

    def register_save(self, model, **_conditions) -> None:
        self.items.append(model)

    def register_update(self, model, actions, **_conditions) -> None:
        pass  # index items kept beside the aggregate (e.g. a customer's subscription ids): no job reads them


def _batch_write(model_class, items: list) -> None:
    with model_class.batch_write() as batch:
        for item in items:
            batch.save(item)


def seed_renewals(total: int, due: int) -> set[str]:
    """`due` annual subscriptions ending on the run date; the rest end on other days over the next year.

    Billed monthly, so the job also books each month's charge: subscriptions whose next monthly cycle starts on
    the run date (or the day before, caught up) are due for that, and count as due items too.
    """
    from domain.catalogue import M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
    from domain.calendar import berlin_date
    from domain.subscriptions import next_cycle_due, open_subscription
    from infra.dynamo.models import SubscriptionModel
    from infra.dynamo.subscription_repositories import SubscriptionRepository
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

    catalogue = demo_catalogue()
    with DynamoUnitOfWork() as uow:
        uow.catalogue.save(catalogue)
        uow.commit()
    collector = _Collector()
    repository = SubscriptionRepository(collector)
    due_start = datetime.combine(RENEWAL_RUN_DATE.replace(year=RENEWAL_RUN_DATE.year - 1), datetime.min.time(), timezone.utc)
    due_ids: set[str] = set()
    for i in range(total):
        is_due = i < due
        # Not due: started 2 to 361 days after the due ones, so their terms end 2 to 361 days after the run date.
        started = due_start + timedelta(hours=9) + (timedelta(0) if is_due else timedelta(days=2 + i % 360, minutes=i % 600))
        subscription = open_subscription(
            customer_id=f"cus_bench{i % 500:05d}", partner_id=f"ptn_bench{i % 20:03d}",
            product=catalogue.product(M365_BUSINESS_STANDARD if i % 2 else M365_BUSINESS_BASIC),
            term=Term.P1Y, billing=Billing.MONTHLY, quantity=1 + i % 40, now=started, actor_id="usr_bench", price_lookup=catalogue,
        ).new_subscription
        repository.add(subscription)
        cycle = next_cycle_due(subscription)
        cycle_due = cycle is not None and berlin_date(cycle.starts_at) in (RENEWAL_RUN_DATE - timedelta(days=1), RENEWAL_RUN_DATE) \
            and cycle.starts_at <= RENEWAL_RUN_AT
        if is_due or cycle_due:
            due_ids.add(subscription.id)
    _batch_write(SubscriptionModel, collector.items)
    return due_ids


def run_renewals() -> dict:
    import handler

    handler._services().clock = lambda: RENEWAL_RUN_AT  # the scheduled run's instant, as EventBridge would give it
    return handler.renew_subscriptions({"time": RENEWAL_RUN_AT.isoformat().replace("+00:00", "Z")})


APPROVAL_RUN_DATE = date(2026, 11, 23)
APPROVAL_RUN_AT = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)


def seed_approvals(total: int, due: int) -> set[str]:
    """Referral commissions of paid invoices: `due` were paid 90 days before the run date, the rest later."""
    from decimal import Decimal

    from domain.commissions import InvoiceFacts, commission_for_paid_invoice
    from domain.money import Money
    from infra.dynamo.models import CommissionModel
    from infra.dynamo.partner_repositories import CommissionRepository

    collector = _Collector()
    repository = CommissionRepository(collector)
    due_ids: set[str] = set()
    due_paid_on = APPROVAL_RUN_DATE - timedelta(days=90)
    for i in range(total):
        is_due = i < due
        paid_on = due_paid_on if is_due else due_paid_on + timedelta(days=1 + i % 89)  # approved 1 to 89 days after the run
        facts = InvoiceFacts(
            invoice_id=f"inv_bench{i:07d}", invoice_number=f"PH-2026-{i:06d}", customer_id=f"cus_bench{i % 500:05d}",
            payer_id=f"cus_bench{i % 500:05d}", reseller_partner_id=None, customer_pays=True,
            issue_date=paid_on - timedelta(days=10), net_total=Money.of("100.00"),
        )
        commission = commission_for_paid_invoice(facts, partner_id=f"ptn_bench{i % 20:03d}", percent=Decimal("10"), paid_on=paid_on,
                                                 now=datetime.combine(paid_on, datetime.min.time(), timezone.utc))
        repository.add(commission)
        if is_due:
            due_ids.add(commission.id)
    _batch_write(CommissionModel, collector.items)
    return due_ids


def run_approvals() -> dict:
    import handler

    handler._services().clock = lambda: APPROVAL_RUN_AT
    return handler.approve_commissions({"time": APPROVAL_RUN_AT.isoformat().replace("+00:00", "Z")})


@dataclass(frozen=True)
class Job:
    name: str
    table: str  # the aggregate (logical table name) whose items are due or not
    seed: Callable[[int, int], set[str]]  # (stored items, due items) -> ids of the due items
    run: Callable[[], dict]  # runs the entry point, returns its summary
    handled: Callable[[dict], int]  # the due items the summary reports as done


JOBS: list[Job] = [
    Job("renewal and monthly charges (handler.renew_subscriptions)", "subscriptions", seed_renewals, run_renewals,
        lambda summary: summary["renewed"] + summary["expired"] + summary["cycles_charged"]),
    Job("commission approval (handler.approve_commissions)", "commissions", seed_approvals, run_approvals,
        lambda summary: summary["approved"]),
]


@dataclass
class Result:
    job: Job
    stored: int
    due: int
    handled: int
    requests: int
    by_operation: dict[str, int]
    due_items_read: int
    not_due_items_read: int
    seed_seconds: float
    run_seconds: float
    writes: str  # "moto", or "stubbed": counted, answered without reaching moto

    @property
    def requests_per_due_item(self) -> float:
        return self.requests / self.due


WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


@contextmanager
def writes_acknowledged_unapplied() -> Iterator[None]:
    """DynamoDB writes succeed without reaching moto. Enter it before counting: the counter still sees them."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def acknowledge_writes(client, operation_name, api_params):
        if client.meta.service_model.service_name == "dynamodb" and operation_name in WRITE_OPERATIONS:
            return {}
        return original(client, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = acknowledge_writes
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original


def measure(job: Job, stored: int, apply_writes_up_to: int) -> Result:
    from infra.settings import get_settings
    from tests.request_counter import count_requests

    due = max(1, round(stored * DUE_SHARE))
    use_local_environment()
    with in_process_moto():
        from infra.dynamo.models import create_tables

        create_tables()
        started = time.perf_counter()
        due_ids = job.seed(stored, due)
        seeded = time.perf_counter()
        stub_writes = stored > apply_writes_up_to
        with (writes_acknowledged_unapplied() if stub_writes else nullcontext()), count_requests() as count:
            summary = job.run()
        finished = time.perf_counter()
    table = get_settings().table_name(job.table)
    read = {key: n for (name, key), n in count.keys_read.items() if name == table}
    return Result(
        job, stored, len(due_ids), job.handled(summary), count.requests, dict(sorted(count.operations.items())),
        due_items_read=sum(n for key, n in read.items() if key in due_ids),
        not_due_items_read=sum(n for key, n in read.items() if key not in due_ids),
        seed_seconds=seeded - started, run_seconds=finished - seeded, writes="stubbed" if stub_writes else "moto",
    )


def report(results: list[Result]) -> None:
    print_table(
        ["job", "stored", "due", "done", "requests", "per due item", "due read", "not-due read", "requests by operation", "writes", "seed s", "run s"],
        [[r.job.name, f"{r.stored:,}", r.due, r.handled, r.requests, f"{r.requests_per_due_item:.2f}", r.due_items_read,
          r.not_due_items_read, " ".join(f"{k}={v}" for k, v in r.by_operation.items()), r.writes, f"{r.seed_seconds:.1f}", f"{r.run_seconds:.1f}"]
         for r in results],
    )
    print()
    for job in JOBS:
        mine = [r for r in results if r.job is job]
        met = all(r.requests_per_due_item <= 3 and r.not_due_items_read == 0 and r.handled == r.due for r in mine)
        print(f"{job.name}: target (<= 3 requests per due item, 0 not-due reads, every due item done) {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000], help="stored items per run (1%% due)")
    parser.add_argument("--apply-writes-up-to", type=int, default=20_000, help="above this many stored items, writes are stubbed")
    args = parser.parse_args()
    report([measure(job, stored, args.apply_writes_up_to) for job in JOBS for stored in args.items])


if __name__ == "__main__":
    main()
