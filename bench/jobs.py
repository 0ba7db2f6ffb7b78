"""Scheduled jobs scale with the due work: DynamoDB requests per due item and reads of items that are not due.

Each job (renewal, approval, billing, maintenance, rental and hosting months, prepaid quota months, reseller
SaaS months) runs through its Lambda entry point in ``handler.py`` over moto's in-process DynamoDB, holding N
stored items of which 1% are due. Items are written directly with batch writes (through the repository's own item
mapping), not through the API, so that 100,000 items seed in minutes.
Targets: at most 3 requests per due item, 0 reads of items that are not due, and the same figures
at every N (the cost depends on the due items only).

Above ``--apply-writes-up-to`` stored items (default 5,000) the writes still reach moto, but its
TransactWriteItems keeps no copy of the tables it touches to roll back to: moto copies whole tables
for every transaction (0.4 s per call at 10,000 items, seconds and gigabytes at 100,000), a cost real
DynamoDB does not have. Reads, writes and the code path are real; a cancelled transaction, which could
then leave part of its writes behind, is reported in the writes column (none in any run so far).

    python -m bench.jobs                      # 10,000 and 100,000 items
    python -m bench.jobs --items 10000
    python -m bench.jobs --jobs billing maintenance   # only the jobs whose names contain one of these
    python -m bench.jobs --processes 1        # one measurement after the other (default: 2 side by side)

Each measurement has its own moto in its own process; by default two run side by side (the request
counts do not depend on it, the seed and run seconds do: they are shown only to tell where time goes).

To cover a new job, add a row to JOBS: how to seed N items of which some are due, and how to run it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterator

from bench.common import in_process_moto, print_table, use_local_environment

DUE_SHARE = 0.01
# How a run above --apply-writes-up-to writes.
NO_ROLLBACK_COPY = "moto, no rollback copy"

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
    the run date (or the 7 days before, caught up) are due for that, and count as due items too.
    """
    from domain.catalogue import M365_BUSINESS_BASIC, M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
    from domain.calendar import berlin_date, days_to_catch_up
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
        cycle_due = cycle is not None and berlin_date(cycle.starts_at) in days_to_catch_up(RENEWAL_RUN_DATE) \
            and cycle.starts_at <= RENEWAL_RUN_AT
        if is_due or cycle_due:
            due_ids.add(subscription.id)
    _batch_write(SubscriptionModel, collector.items)
    return due_ids


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


def _batch_write_each_table(items: list) -> None:
    """Batch-write collected items that belong to several tables (e.g. an organisation and its partner index items)."""
    by_model: dict[type, list] = {}
    for item in items:
        by_model.setdefault(type(item), []).append(item)
    for model_class, of_model in by_model.items():
        _batch_write(model_class, of_model)


# The billing run: EventBridge fires at 23:00 UTC, which is 00:00 in Berlin in winter, so the run date (the Berlin date of
# the trigger) is 2026-11-24; it bills what is due on that date and on the day before, 2026-11-23, the day that just ended.
BILLING_RUN_AT = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
BILLING_RUN_DATE = date(2026, 11, 24)
BILLING_DUE_DAY = BILLING_RUN_DATE - timedelta(days=1)
BILLING_PARTNERS = 20
BILLING_ITEMS_PER_CUSTOMER = 20  # a customer's service items over about a year


BENCH_ORGANISATIONS_SINCE = datetime(2025, 1, 10, 9, 0, tzinfo=timezone.utc)


def _bench_distributor():
    """The distributor of the jobs' data: issuer of the invoices, service desk that numbers the tickets."""
    from domain.organisations import Address, OrganisationKind, new_organisation

    return new_organisation(
        id="dst_bench", kind=OrganisationKind.DISTRIBUTOR, name="Cloud Distribution GmbH", vat_id="DE123456789",
        address=Address("Am Datacenter 1", "60314", "Frankfurt am Main"), billing_email="billing@cloud-distribution.example",
        now=BENCH_ORGANISATIONS_SINCE,
    )


def _billing_organisations(customers: int) -> dict[str, str | None]:
    """The distributor (the issuer), partners of the three tiers and customers; returns each customer's partner id.

    Customers cycle through the three ways of being billed: directly (no partner), through a partner that pays, and
    through a partner whose customer pays. (Service items carry neither reseller discount nor cashback.)
    """
    from dataclasses import replace

    from domain.organisations import AccessLevel, Address, BillingMode, OrganisationKind, PartnerProfile, new_organisation
    from infra.dynamo.repositories import OrganisationRepository

    since = BENCH_ORGANISATIONS_SINCE
    collector = _Collector()
    repository = OrganisationRepository(collector)
    repository.add(_bench_distributor())
    partners = []
    for p in range(BILLING_PARTNERS):
        partner = new_organisation(
            id=f"ptn_bench{p:03d}", kind=OrganisationKind.PARTNER, name=f"Bench Systemhaus {p:03d} GmbH", vat_id="DE123456789",
            address=Address("Industriestr. 7", "20095", "Hamburg"), billing_email=f"billing@ptn{p:03d}.example", now=since,
        )
        partner = replace(partner, partner_profile=PartnerProfile(tier=("REGISTERED", "QUALIFIED", "CERTIFIED")[p % 3]))
        repository.add(partner)
        partners.append(partner)
    partner_of: dict[str, str | None] = {}
    for c in range(customers):
        customer = new_organisation(
            id=f"cus_bench{c:06d}", kind=OrganisationKind.CUSTOMER, name=f"Bench Kunde {c:06d} GmbH",
            address=Address("Marktplatz 3", "20095", "Hamburg"), billing_email=f"rechnung@cus{c:06d}.example", now=since,
        )
        partner = None if c % 3 == 0 else partners[c % BILLING_PARTNERS]
        if partner is not None:
            mode = BillingMode.PARTNER_PAYS if c % 3 == 1 else BillingMode.CUSTOMER_PAYS
            customer = customer.with_link(partner, AccessLevel.FULL, mode, since, "usr_bench")
        repository.add(customer)
        partner_of[customer.id] = partner.id if partner else None
    _batch_write_each_table(collector.items)
    return partner_of


def seed_billing(total: int, due: int) -> set[str]:
    """Service items (a service report's amount each) of N / 20 customers; the references of the due ones.

    Due: `due` items booked on 2026-11-23 (the day before the run date), one per customer, as a service report is
    made per customer and period: so each due item is its own invoice. Not due: items booked on other days, 8 to 187
    days before the run date (beyond the 7 days a run catches up on) or 1 to 180 days after it, all still unbilled, so
    every one of them sits in the sparse unbilled index under its own date (stricter than life, where earlier items
    were billed and left the index). The charges table stays empty: its 8 partitions are read, and find nothing.

    Due and not-due reads count service items (their id is the reference), read through the unbilled index, which
    projects the whole item: the item read is the due item itself. The other reads (the distributor, the due items'
    customers and their partners, which are also the issuer and payers of the PDFs, and the invoice counter, read
    once per run) are not items that are due or not; they are in the request count. Each invoice costs 2 requests:
    the transaction that issues it and claims its delivery (TransactWriteItems) and delivered (UpdateItem).
    """
    from decimal import Decimal

    from domain.billing import ServiceItem
    from domain.calendar import CATCH_UP_DAYS
    from domain.money import Money
    from infra.dynamo.invoice_repositories import ServiceItemRepository
    from infra.dynamo.models import ServiceItemModel
    from infra.settings import get_settings
    from infra.storage import create_bucket

    create_bucket(get_settings())  # the run stores each invoice's PDF
    customers = max(due, total // BILLING_ITEMS_PER_CUSTOMER)
    partner_of = _billing_organisations(customers)
    collector = _Collector()
    repository = ServiceItemRepository(collector)
    due_ids: set[str] = set()
    for i in range(total):
        is_due = i < due
        customer_id = f"cus_bench{i % customers:06d}"  # the due items: customers 0 .. due-1, one each
        offset = i % 360
        bill_date = BILLING_DUE_DAY if is_due else (
            BILLING_RUN_DATE - timedelta(days=CATCH_UP_DAYS + 1 + offset // 2) if offset % 2 else BILLING_RUN_DATE + timedelta(days=1 + offset // 2)
        )
        period_start = bill_date.replace(day=1) if bill_date.day > 1 else bill_date - timedelta(days=28)
        item = ServiceItem(
            customer_id=customer_id, description=f"Service report rpt_bench{i:07d}", quantity=Decimal(1),
            unit_price=Money.of(f"{95 + i % 400}.50"), reference=f"rpt_bench{i:07d}", partner_id=partner_of[customer_id],
            period_start=period_start, period_end=bill_date,
        )
        repository.add(item, bill_date=bill_date)
        if is_due:
            due_ids.add(item.reference)
    _batch_write(ServiceItemModel, collector.items)
    return due_ids


# The maintenance job: 04:00 UTC, 05:00 in Berlin, on 2026-11-23.
MAINTENANCE_RUN_DATE = date(2026, 11, 23)
MAINTENANCE_RUN_AT = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


def seed_maintenance(total: int, due: int) -> set[str]:
    """Maintenance schedules (every 1, 3, 6 or 12 months, tickets 0 to 14 days ahead), running for a while already.

    Due: `due` schedules whose next ticket is to be created on the run date. Not due: the next ticket's creation
    date lies later in the schedule's cycle, 1 day to a cycle (30 days per month) after the run date; all of them
    are in the due index, under later keys.

    Due and not-due reads count schedules (by id), read through the due index, which projects the whole item: the
    item read is the due item itself. Per page of due schedules the job also asks which of their tickets exist
    (BatchGetItem on tickets, finding none) and reserves the page's ticket numbers (UpdateItem on counters); per due
    schedule it writes ticket and advanced schedule (TransactWriteItems).
    """
    from dataclasses import replace

    from domain.calendar import add_months
    from domain.contracts import MaintenanceSchedule
    from infra.dynamo.models import MaintenanceScheduleModel, OrganisationModel
    from infra.dynamo.repositories import OrganisationRepository
    from infra.dynamo.ticket_repositories import MaintenanceScheduleRepository

    collector = _Collector()
    OrganisationRepository(collector).add(_bench_distributor())  # the service desk that numbers the tickets
    _batch_write(OrganisationModel, collector.items)
    collector = _Collector()
    repository = MaintenanceScheduleRepository(collector)
    due_ids: set[str] = set()
    for i in range(total):
        is_due = i < due
        every_months = (1, 3, 6, 12)[i % 4]
        lead_days = (0, 3, 7, 14)[i // 4 % 4]
        cycle_days = every_months * 30
        creation = MAINTENANCE_RUN_DATE if is_due else MAINTENANCE_RUN_DATE + timedelta(days=1 + i // 16 % cycle_days)
        next_due = creation + timedelta(days=lead_days)
        done = 1 + i % 6  # tickets created so far
        schedule = MaintenanceSchedule(
            id=f"mnt_bench{i:07d}", contract_id=f"ctr_bench{i // 3:06d}", customer_id=f"cus_bench{i % 500:05d}",
            subject=("Patchday servers", "Backup restore test", "Firewall review", "UPS battery check")[i % 4],
            every_months=every_months, anchor=add_months(next_due, -done * every_months), lead_days=lead_days, next_index=done,
        )
        if schedule.next_creation_date != creation:  # the anchor was clamped to a shorter month: start from the due date
            schedule = replace(schedule, anchor=next_due, next_index=0)
        repository.save(schedule)
        if is_due:
            due_ids.add(schedule.id)
    _batch_write(MaintenanceScheduleModel, collector.items)
    return due_ids


# The rental and hosting job: 00:45 UTC, 01:45 in Berlin, on 2026-12-01.
FLAT_RATE_RUN_DATE = date(2026, 12, 1)
FLAT_RATE_RUN_AT = datetime(2026, 12, 1, 0, 45, tzinfo=timezone.utc)


def _seed_contracts(total: int, due: int, id_prefix: str, booked_through: str, **terms) -> set[str]:
    """Contracts booked up to November 2026 (due: December, on the run date, 2026-12-01) or starting later, on one of
    the 365 days after the run date (their first month is due on their start date), all in the job's due index, the
    ones not due under later keys. ``booked_through``: the contract field the job advances; ``terms``: kind and the
    kind's own terms for ``new_contract`` (a kind per contract, by index, when a tuple)."""
    from dataclasses import replace

    from domain.contracts import Rates, new_contract
    from domain.money import Money
    from infra.dynamo.models import ContractModel
    from infra.dynamo.ticket_repositories import ContractRepository

    collector = _Collector()
    repository = ContractRepository(collector)
    due_ids: set[str] = set()
    kinds = terms.pop("kind")
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    for i in range(total):
        is_due = i < due
        contract = new_contract(
            contract_id=f"{id_prefix}{i:07d}", customer_id=f"cus_bench{i % 500:05d}", kind=kinds[i % len(kinds)],
            starts_on=date(2026, 1 + i % 11, 1) if is_due else FLAT_RATE_RUN_DATE + timedelta(days=1 + i % 365),
            rates=Rates(Money.of("95.00")), now=datetime(2025, 12, 1, tzinfo=timezone.utc), **terms,
        )
        if is_due:
            contract = replace(contract, **{booked_through: "2026-11"})
            due_ids.add(contract.id)
        repository.save(contract)
    _batch_write(ContractModel, collector.items)
    return due_ids


def seed_flat_rates(total: int, due: int) -> set[str]:
    """Rental and data-centre hosting contracts (see ``_seed_contracts``), in the flat-rate index.

    Per due contract the job writes the month's service item and the advanced contract (TransactWriteItems).
    """
    from domain.contracts import ContractKind
    from domain.money import Money

    return _seed_contracts(total, due, "ctr_bench", "flat_rate_booked_through",
                           kind=(ContractKind.RENTAL_FLAT_RATE, ContractKind.DATA_CENTRE_HOSTING), monthly_flat_rate=Money.of("249.00"))


# The prepaid quota job: 00:30 UTC, 01:30 in Berlin, on 2026-12-01.
QUOTA_RUN_AT = datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc)


def seed_quotas(total: int, due: int) -> set[str]:
    """Prepaid quota contracts (see ``_seed_contracts``), in the quota index.

    Per due contract the job reads its ledger (one Query) and writes November's close, December's credit and invoice
    item and the advanced contract (one TransactWriteItems).
    """
    from domain.contracts import ContractKind, QuotaTerms
    from domain.money import Money

    return _seed_contracts(total, due, "ctr_quota", "quota_booked_through", kind=ContractKind.PREPAID_QUOTA,
                           quota=QuotaTerms(monthly_minutes=600, monthly_price=Money.of("900.00")))


# The reseller SaaS job: 01:00 UTC, 02:00 in Berlin, on 2026-12-01.
SAAS_RUN_AT = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
SAAS_RUN_DATE = date(2026, 12, 1)


def seed_saas(total: int, due: int) -> set[str]:
    """Active reseller SaaS subscriptions: created 2026-11-01 (due: their December month, on the run date) or with their
    next payment date on one of the 365 days after the run date. All of them are in the payment index, the ones not
    due under later keys; the catalogue (their prices) is read once per run.

    Per due subscription the job writes the month's charge and the advanced subscription (one TransactWriteItems).
    """
    from dataclasses import replace

    from domain.catalogue import SIGNATURES_FOR_GOOGLE_WORKSPACE, SIGNATURES_FOR_M365, demo_catalogue
    from domain.subscriptions import new_saas_subscription
    from infra.dynamo.models import CatalogueModel, SaasSubscriptionModel
    from infra.dynamo.subscription_repositories import CatalogueRepository, SaasSubscriptionRepository

    catalogue = demo_catalogue()
    collector = _Collector()
    CatalogueRepository(collector).save(catalogue)
    _batch_write(CatalogueModel, collector.items)
    collector = _Collector()
    repository = SaasSubscriptionRepository(collector)
    products = [catalogue.product(SIGNATURES_FOR_M365), catalogue.product(SIGNATURES_FOR_GOOGLE_WORKSPACE)]
    due_ids: set[str] = set()
    for i in range(total):
        subscription = new_saas_subscription(
            partner_id=f"ptn_bench{i % 50:03d}", product=products[i % 2], customer_company_name=f"Kunde {i} GmbH",
            users=1 + i % 40, now=datetime(2026, 11, 1, 9, tzinfo=timezone.utc), actor_id="usr_bench",
            id_factory=lambda prefix, i=i: f"{prefix}_saas{i:07d}",
        )
        if i < due:
            due_ids.add(subscription.id)
        else:
            later = SAAS_RUN_DATE + timedelta(days=1 + i % 365)
            subscription = replace(subscription, billing_anchor_date=later, next_payment_date=later)
        repository.save(subscription)
    _batch_write(SaasSubscriptionModel, collector.items)
    return due_ids


def scheduled_run(entry_point: str, at: datetime) -> Callable[[], dict]:
    """Runs ``handler.<entry_point>`` as EventBridge triggers it at `at`, with the services' clock at that instant."""

    def run() -> dict:
        import handler

        handler._services().clock = lambda: at
        return getattr(handler, entry_point)({"time": at.isoformat().replace("+00:00", "Z")})

    return run


@dataclass(frozen=True)
class Job:
    name: str
    table: str  # the aggregate (logical table name) whose items are due or not
    seed: Callable[[int, int], set[str]]  # (stored items, due items) -> ids of the due items
    run: Callable[[], dict]  # runs the entry point, returns its summary
    handled: Callable[[dict], int]  # the due items the summary reports as done


JOBS: list[Job] = [
    Job("renewal and monthly charges (handler.renew_subscriptions)", "subscriptions", seed_renewals, scheduled_run("renew_subscriptions", RENEWAL_RUN_AT),
        lambda summary: summary["renewed"] + summary["expired"] + summary["cycles_charged"]),
    Job("commission approval (handler.approve_commissions)", "commissions", seed_approvals, scheduled_run("approve_commissions", APPROVAL_RUN_AT),
        lambda summary: summary["approved"]),
    Job("billing run (handler.run_billing)", "service_items", seed_billing, scheduled_run("run_billing", BILLING_RUN_AT),
        lambda summary: summary["service_items_billed"] + summary["charges_billed"]),
    Job("maintenance tickets (handler.create_maintenance_tickets)", "maintenance_schedules", seed_maintenance, scheduled_run("create_maintenance_tickets", MAINTENANCE_RUN_AT),
        lambda summary: summary["created"]),
    Job("rental and hosting months (handler.book_flat_rate_months)", "contracts", seed_flat_rates, scheduled_run("book_flat_rate_months", FLAT_RATE_RUN_AT),
        lambda summary: summary["months_booked"]),
    Job("prepaid quota months (handler.book_quota_months)", "contracts", seed_quotas, scheduled_run("book_quota_months", QUOTA_RUN_AT),
        lambda summary: summary["credits"]),
    Job("reseller saas months (handler.bill_saas_subscriptions)", "saas_subscriptions", seed_saas, scheduled_run("bill_saas_subscriptions", SAAS_RUN_AT),
        lambda summary: summary["months_charged"]),
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
    writes: str  # "moto", or NO_ROLLBACK_COPY (with cancelled transactions, if any)

    @property
    def requests_per_due_item(self) -> float:
        return self.requests / self.due


@contextmanager
def transactions_without_rollback_copy() -> Iterator[list[str]]:
    """Writes reach moto, but its TransactWriteItems keeps no copy of the tables it touches to roll back to.

    That copy (of whole tables, per call) is what makes moto slow at 100,000 items; real DynamoDB has no such cost.
    Without it a cancelled transaction may leave part of its writes behind, so the cancellations are collected
    (the list yielded) and reported; a run without any is exactly what moto would have done.
    """
    import copy

    import moto.dynamodb.models as backend
    from moto.dynamodb.models.table import Table

    class TablesNotCopied:
        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    cancelled: list[str] = []
    original = backend.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        try:
            return original(self, transact_items)
        except Exception as error:
            cancelled.append(type(error).__name__)
            raise

    backend.copy = TablesNotCopied()
    backend.DynamoDBBackend.transact_write_items = transact_write_items
    try:
        yield cancelled
    finally:
        backend.DynamoDBBackend.transact_write_items = original
        backend.copy = copy


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
        writes = NO_ROLLBACK_COPY if stored > apply_writes_up_to else "moto"
        applying = transactions_without_rollback_copy() if writes == NO_ROLLBACK_COPY else nullcontext()
        with applying as cancelled, count_requests() as count:
            summary = job.run()
        finished = time.perf_counter()
        if cancelled:
            writes += f" ({len(cancelled)} transactions cancelled: {', '.join(sorted(set(cancelled)))})"
    table = get_settings().table_name(job.table)
    read = {key: n for (name, key), n in count.keys_read.items() if name == table}
    return Result(
        job, stored, len(due_ids), job.handled(summary), count.requests, dict(sorted(count.operations.items())),
        due_items_read=sum(n for key, n in read.items() if key in due_ids),
        not_due_items_read=sum(n for key, n in read.items() if key not in due_ids),
        seed_seconds=seeded - started, run_seconds=finished - seeded, writes=writes,
    )


def report(results: list[Result], jobs: list[Job]) -> None:
    print_table(
        ["job", "stored", "due", "done", "requests", "per due item", "due read", "not-due read", "requests by operation", "writes", "seed s", "run s"],
        [[r.job.name, f"{r.stored:,}", r.due, r.handled, r.requests, f"{r.requests_per_due_item:.2f}", r.due_items_read,
          r.not_due_items_read, " ".join(f"{k}={v}" for k, v in r.by_operation.items()), r.writes, f"{r.seed_seconds:.1f}", f"{r.run_seconds:.1f}"]
         for r in results],
    )
    print()
    for job in jobs:
        mine = [r for r in results if r.job is job]
        met = all(r.requests_per_due_item <= 3 and r.not_due_items_read == 0 and r.handled == r.due for r in mine)
        print(f"{job.name}: target (<= 3 requests per due item, 0 not-due reads, every due item done) {'met' if met else 'NOT met'}")


def _measured_in_worker(job_index: int, stored: int, apply_writes_up_to: int) -> dict:
    """`measure` in a worker process; the Result without its Job (whose functions do not pickle)."""
    result = measure(JOBS[job_index], stored, apply_writes_up_to)
    return {f.name: getattr(result, f.name) for f in fields(Result) if f.name != "job"}


def measure_all(runs: list[tuple[Job, int]], apply_writes_up_to: int, processes: int) -> list[Result]:
    """Each (job, stored items) with its own moto, `processes` at a time, the largest first; in the order given."""
    if processes <= 1:
        return [measure(job, stored, apply_writes_up_to) for job, stored in runs]
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        largest_first = sorted(range(len(runs)), key=lambda i: -runs[i][1])
        futures = {i: pool.submit(_measured_in_worker, JOBS.index(runs[i][0]), runs[i][1], apply_writes_up_to) for i in largest_first}
        return [Result(job=runs[i][0], **futures[i].result()) for i in range(len(runs))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000], help="stored items per run (1%% due)")
    parser.add_argument("--apply-writes-up-to", type=int, default=5_000,
                        help="above this many stored items, moto's transactions skip their rollback copy of whole tables")
    parser.add_argument("--jobs", nargs="+", metavar="SUBSTRING", help="only the jobs whose name contains one of these (default: all)")
    parser.add_argument("--processes", type=int, default=2, help="measurements side by side, each with its own moto (counts do not depend on it)")
    args = parser.parse_args()
    jobs = [job for job in JOBS if not args.jobs or any(part in job.name for part in args.jobs)]
    report(measure_all([(job, stored) for job in jobs for stored in args.items], args.apply_writes_up_to, args.processes), jobs)


if __name__ == "__main__":
    main()
