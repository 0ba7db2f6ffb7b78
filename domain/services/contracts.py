"""Use cases of contracts, the prepaid quota, maintenance schedules, assets and statistics."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from domain import contracts as ct
from domain import software_updates as su
from domain import tickets as tk
from domain.assets import Asset, Expiry, changed_asset, check_window, expiring_within, new_asset
from domain.calendar import berlin_date
from domain.errors import Conflict, NotFound
from domain.ids import new_id
from domain.money import Money
from domain.organisations import Organisation, OrganisationKind, service_branch_of
from domain.policy import Principal, require
from domain.ports import Page, UnitOfWork
from domain.service_statistics import ServiceStatistics, check_months, service_statistics
from domain.services.invoice_errors import AlreadyBilled
from domain.services.idempotency import run_idempotent
from domain.services.job_runs import due_item, summary_dict
from domain.services.organisations import page_size
from domain.services.resave import ResaveSummary, resave_all
from domain.services.software_updates import open_request_ticket
from domain.services.tickets import all_tickets_of


def _customer(uow: UnitOfWork, customer_id: str) -> Organisation:
    customer = uow.organisations.get(customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER:
        raise NotFound(f"No customer with id '{customer_id}'.", field="customerId")
    return customer


def _visible(uow: UnitOfWork, principal: Principal, customer_id: str, allowed) -> Organisation | None:
    customer = uow.organisations.get(customer_id)
    if customer is None or customer.kind is not OrganisationKind.CUSTOMER or not allowed(principal, customer):
        return None
    return customer


# --- contracts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewContract:
    customer_id: str
    kind: ct.ContractKind
    starts_on: date
    rates: ct.Rates
    ends_on: date | None = None
    reaction_times: ct.ReactionTimes | None = None
    quota: ct.QuotaTerms | None = None
    monthly_flat_rate: object = None
    managed_services: tuple[ct.ManagedService, ...] = ()
    backup_responsibility: ct.BackupResponsibility = ct.BackupResponsibility.CUSTOMER
    account_manager: str | None = None
    partner_id: str | None = None
    branch_key: str | None = None  # the customer's branch it is delivered at (None: head office)


def create_contract(uow: UnitOfWork, principal: Principal, command: NewContract, *, now: datetime) -> ct.Contract:
    require(tk.can_manage_contracts_and_assets(principal), "manage contracts")
    with uow:
        customer = _customer(uow, command.customer_id)
        partner_id = command.partner_id if command.partner_id is not None else ct.service_partner_id(customer)
        contract = ct.new_contract(
            contract_id=new_id("ctr"), customer_id=customer.id, kind=command.kind, starts_on=command.starts_on, rates=command.rates,
            now=now, ends_on=command.ends_on, reaction_times=command.reaction_times, quota=command.quota,
            monthly_flat_rate=command.monthly_flat_rate, managed_services=command.managed_services,
            backup_responsibility=command.backup_responsibility, account_manager=command.account_manager, partner_id=partner_id,
            branch_key=service_branch_of(customer, command.branch_key),
        )
        uow.contracts.save(contract)
        uow.commit()
    return contract


@dataclass(frozen=True)
class OverdraftSetting:
    contract_id: str
    allowed: bool
    hourly_rate: Money | None = None  # granting without one: the contract's hourly rate


def set_quota_overdraft(
    uow: UnitOfWork, principal: Principal, command: OverdraftSetting, *, now: datetime, idempotency_key: str | None = None,
) -> ct.Contract:
    """Grant or withdraw a prepaid quota's overdraft from ``now`` on (``domain.contracts.set_quota_overdraft``), recorded
    with who and when in the contract's changes. One write, under the contract's version; nothing on bad input."""
    require(tk.can_manage_contracts_and_assets(principal), "change contracts")

    def perform(uow: UnitOfWork) -> tuple[str, ct.Contract]:
        contract = _contract(uow, command.contract_id)
        changed = ct.set_quota_overdraft(contract, allowed=command.allowed, hourly_rate=command.hourly_rate, now=now,
                                         by=principal.user_id)
        uow.contracts.save(changed)
        return contract.id, changed

    return run_idempotent(
        uow, principal=principal, operation="contractQuotaOverdraftSet", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, contract_id: uow.contracts.get(contract_id),
    )


@dataclass(frozen=True)
class ContractEnd:
    contract_id: str
    ends_on: date


# The contract, its schedules and the idempotency record are one transaction (DynamoDB: 100 items).
MAX_SCHEDULES_ENDED_AT_ONCE = 90


def _schedules_changing_with(uow: UnitOfWork, contract: ct.Contract) -> list[ct.MaintenanceSchedule]:
    """The contract's maintenance schedules, each in its current version (the index lags), to change in the contract's
    transaction; ``Conflict`` (nothing changed) when more than one transaction holds."""
    found = uow.maintenance_schedules.list_for_contract(contract.id)
    if len(found) > MAX_SCHEDULES_ENDED_AT_ONCE:
        raise Conflict(f"Contract {contract.id} has more than {MAX_SCHEDULES_ENDED_AT_ONCE} maintenance schedules.",
                       field="contractId",
                       hint=f"It has {len(found)}; one change moves at most {MAX_SCHEDULES_ENDED_AT_ONCE} with the "
                            "contract. Ask the platform operators to move its schedules; nothing was changed.")
    return [uow.maintenance_schedules.get(listed.id) or listed for listed in found]


def end_contract(
    uow: UnitOfWork, principal: Principal, command: ContractEnd, *, now: datetime, idempotency_key: str | None = None,
) -> ct.Contract:
    """Set a contract's last day (``domain.contracts.end_contract``). One transaction: the contract (its due indexes
    follow: the quota job books the month after the last to close it, the rental/hosting job stops after the last
    month, billed pro rata if cut) and each maintenance schedule of the contract, whose due dates after the end get no
    ticket (a ticket created ahead before the end was set stays, as any open ticket)."""
    require(tk.can_manage_contracts_and_assets(principal), "change contracts")

    def perform(uow: UnitOfWork) -> tuple[str, ct.Contract]:
        contract = _contract(uow, command.contract_id)
        ended = ct.end_contract(contract, command.ends_on, now=now, by=principal.user_id)
        schedules = _schedules_changing_with(uow, contract)
        uow.contracts.save(ended)
        for schedule in schedules:
            if schedule.ends_on != ended.ends_on:
                uow.maintenance_schedules.save(schedule.with_contract_end(ended.ends_on))
        return contract.id, ended

    return run_idempotent(
        uow, principal=principal, operation="contractEnd", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, contract_id: uow.contracts.get(contract_id),
    )


@dataclass(frozen=True)
class ContractBranch:
    contract_id: str
    branch_key: str | None  # None or empty: the head office


def set_contract_branch(
    uow: UnitOfWork, principal: Principal, command: ContractBranch, *, now: datetime, idempotency_key: str | None = None,
) -> ct.Contract:
    """Staff name the branch a contract is delivered at from now on (``domain.contracts.set_branch``): one of the
    customer's branches receiving services, else ``ValidationFailed`` on ``branchKey``; nothing on bad input. One
    transaction: the contract and each of its maintenance schedules (as ``end_contract``), whose tickets from now on
    name the branch. Every schedule naming another branch is updated even when the contract names the branch already:
    schedules saved before they carried the branch (ea3a235) are repaired by setting the contract's branch again.
    A contract with more schedules than one transaction holds is refused (``Conflict``), nothing changed."""
    require(tk.can_manage_contracts_and_assets(principal), "change contracts")

    def perform(uow: UnitOfWork) -> tuple[str, ct.Contract]:
        contract = _contract(uow, command.contract_id)
        branch_key = service_branch_of(_customer(uow, contract.customer_id), command.branch_key)
        changed = ct.set_branch(contract, branch_key, today=berlin_date(now), now=now, by=principal.user_id)
        schedules = _schedules_changing_with(uow, contract)
        if changed is not contract:
            uow.contracts.save(changed)
        for schedule in schedules:
            if schedule.branch_key != changed.branch_key:
                uow.maintenance_schedules.save(schedule.with_contract_branch(changed.branch_key))
        return contract.id, changed

    return run_idempotent(
        uow, principal=principal, operation="contractBranchSet", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, contract_id: uow.contracts.get(contract_id),
    )


def _contract(uow: UnitOfWork, contract_id: str) -> ct.Contract:
    contract = uow.contracts.get(contract_id)
    if contract is None:
        raise NotFound(f"No contract with id '{contract_id}'.", field="contractId")
    return contract


def get_visible_contract(uow: UnitOfWork, principal: Principal, contract_id: str) -> ct.Contract | None:
    """One contract, for whoever may see its customer's contract status (as in the list); else ``None``."""
    found = uow.contracts.get(contract_id)
    return found if found is not None and _visible(uow, principal, found.customer_id, tk.can_view_contract_status) else None


def list_contracts(uow: UnitOfWork, principal: Principal, customer_id: str) -> list[ct.Contract]:
    if _visible(uow, principal, customer_id, tk.can_view_contract_status) is None:
        return []
    return sorted(uow.contracts.list_for_customer(customer_id), key=lambda c: (c.starts_on, c.id))


def quota_ledger(uow: UnitOfWork, contract: ct.Contract) -> ct.QuotaLedger:
    return ct.QuotaLedger(contract, uow.quota_ledger.entries(contract.id))


def visible_quota_ledger(uow: UnitOfWork, principal: Principal, contract: ct.Contract) -> ct.QuotaLedger | None:
    if contract.quota is None or _visible(uow, principal, contract.customer_id, tk.can_view_contract_status) is None:
        return None
    return quota_ledger(uow, contract)


@dataclass(frozen=True)
class QuotaMonthOutcome:
    credit: ct.LedgerEntry | None
    correction: ct.OverdraftCorrection | None
    items: tuple


def _register_month(uow: UnitOfWork, contract: ct.Contract, ledger: ct.QuotaLedger, month: str, now: datetime, bill_date: date) -> QuotaMonthOutcome:
    """Register (not commit) the writes of ``month``: the previous month's overdraft correction, the month's credit and their
    items. Entries already in ``ledger`` are not booked again; ``ledger`` takes the new ones."""
    previous = ct.month_key(ct.first_of_month(month) - timedelta(days=1))
    items = []
    correction = ledger.close_month(previous, now=now)
    if correction is not None:
        uow.quota_ledger.add(correction.entry)
        items.append(ct.overdraft_item(contract, correction))
    credit = ledger.credit_month(month, now=now)
    if credit is not None:
        uow.quota_ledger.add(credit)
        items.append(ct.quota_month_item(contract, month))
    for item in items:
        uow.service_items.add(item, bill_date=bill_date)
    return QuotaMonthOutcome(credit, correction, tuple(items))


def _book_month(uow: UnitOfWork, contract: ct.Contract, month: str, now: datetime) -> QuotaMonthOutcome:
    outcome = _register_month(uow, contract, quota_ledger(uow, contract), month, now, berlin_date(now))
    uow.commit()
    return outcome


def book_quota_month(uow: UnitOfWork, principal: Principal, contract_id: str, *, month: str, now: datetime) -> QuotaMonthOutcome:
    """Close the previous month (overdraft correction, if overdrawn) and open ``month`` (credit, fixed invoice item).

    Only a month the daily job books, from the day it books it (``domain.contracts.check_quota_month_bookable``: the
    previous month has ended). Each entry and item has a deterministic key: booking a month twice books nothing twice.
    """
    require(tk.can_manage_contracts_and_assets(principal), "book quota months")
    ct.check_month(month)
    with uow:
        contract = uow.contracts.get(contract_id)
        if contract is None or contract.quota is None:
            raise NotFound(f"No prepaid quota contract with id '{contract_id}'.", field="contractId")
        ct.check_quota_month_bookable(contract, month, now=now)
        return _book_month(uow, contract, month, now)


@dataclass
class QuotaMonthRunSummary:
    month: str  # the run date's: the last month a run books
    contracts: int = 0  # read: contracts with a quota month due
    credits: int = 0
    corrections: int = 0
    conflicts: int = 0  # the contract or its ledger changed meanwhile; the next run reads it again
    failed: tuple[str, ...] = ()  # a month refused by a business rule (``job_runs.due_item``): it and later ones still due

    def as_dict(self) -> dict:
        return summary_dict(self)


def book_quota_months(uow_factory, *, run_date: date, now: datetime, page_limit: int = 50) -> QuotaMonthRunSummary:
    """The daily quota job: each prepaid quota month due by ``run_date`` is booked once, oldest first: last month's
    overdraft corrected (a correction invoice of its own) and the month's hours credited (its fixed monthly invoice).

    Reads only due contracts (a sparse index keyed by the day the next quota month is due, up to the run date, so a
    missed run is caught up), in pages, and each due contract's ledger. Each month is one transaction: its entries and
    items (deterministic keys, refused if they exist) and the contract advanced under its version. A crash loses
    nothing and a re-run continues where it stopped; a month is never credited, corrected or invoiced twice.
    A month a business rule refuses is not booked: the contract is reported in ``failed`` and stays due from that
    month; the run goes on with the others (``job_runs``).
    """
    summary = QuotaMonthRunSummary(ct.month_key(run_date))
    cursor: str | None = None
    while True:
        page = uow_factory().contracts.list_quota_months_due(run_date, limit=page_limit, cursor=cursor)
        for contract in page.items:
            summary.contracts += 1
            with due_item(summary, contract.id):
                _book_due_quota_months(uow_factory, contract, run_date, now, summary)
        if page.next_cursor is None:
            return summary
        cursor = page.next_cursor


def _book_due_quota_months(uow_factory, contract: ct.Contract, run_date: date, now: datetime, summary: QuotaMonthRunSummary) -> None:
    months = contract.quota_months_due(run_date)
    if not months:
        return
    ledger = quota_ledger(uow_factory(), contract)
    for month in months:
        advanced = contract.with_quota_month_booked(month)
        uow = uow_factory()
        try:
            with uow:
                uow.contracts.save(advanced)  # first: a changed contract is a plain conflict, whatever the entries
                outcome = _register_month(uow, contract, ledger, month, now, berlin_date(now))  # billed from the day booked
                uow.commit()
        except Conflict:
            summary.conflicts += 1
            return  # the contract's later months wait for the next run, which reads it and its ledger again
        summary.credits += outcome.credit is not None
        summary.corrections += outcome.correction is not None
        contract = replace(advanced, version=advanced.version + 1)


def index_quota_contracts(uow_factory, *, today: date, page_limit: int = 50) -> ResaveSummary:
    """Once, after the deploy that made the quota job daily: prepaid quota contracts saved before are not on its due
    index. Each one that has booked no month through the job yet is saved booked through the last month its ledger
    credits up to ``today``'s (the old monthly job booked those), so the daily job goes on with the month after it;
    one without a credit starts with its first month. Reads every quota contract (kind-index) and its ledger: a
    one-off, never scheduled. Running it again changes nothing the job relies on."""
    this_month = ct.month_key(today)

    def save(uow, contract: ct.Contract) -> bool:
        if contract.quota_booked_through is not None:
            return False  # the daily job books it already
        credited = [e.month for e in uow.quota_ledger.entries(contract.id)
                    if e.kind is ct.LedgerEntryKind.MONTHLY_CREDIT and e.month <= this_month]
        uow.contracts.save(replace(contract, quota_booked_through=max(credited)) if credited else contract)
        return True

    return resave_all(uow_factory, lambda uow, cursor: uow.contracts.list_by_kind(ct.ContractKind.PREPAID_QUOTA, limit=page_limit, cursor=cursor),
                      save)


def index_maintenance_schedules(uow_factory, *, page_limit: int = 50) -> ResaveSummary:
    """Once, after the deploy that added the contract index of maintenance schedules (contractEnd ends a contract's
    schedules through it): every schedule still running (on the due index) is saved again, so it is on the contract
    index. A schedule that has run out (its next due date lies after its end, so it is off the due index) is not read:
    contractEnd does not move its end, so extending its contract does not restart it (add it again)."""
    def save(uow, schedule: ct.MaintenanceSchedule) -> bool:
        uow.maintenance_schedules.save(schedule)
        return True

    return resave_all(uow_factory, lambda uow, cursor: uow.maintenance_schedules.list_due(date.max, limit=page_limit, cursor=cursor), save)


@dataclass
class FlatRateRunSummary:
    run_date: date
    contracts: int = 0  # read: due rental and hosting contracts
    months_booked: int = 0  # handed to billing
    existing: int = 0  # the month's item was there already (booked by hand): the contract only advanced
    conflicts: int = 0  # the contract changed meanwhile; the next run reads it again
    failed: tuple[str, ...] = ()  # a month refused by a business rule (``job_runs.due_item``): it and later ones still due

    def as_dict(self) -> dict:
        return summary_dict(self)


def book_flat_rate_months(uow_factory, *, run_date: date, now: datetime, page_limit: int = 50) -> FlatRateRunSummary:
    """The daily job of rental and data-centre hosting: each month due by ``run_date`` becomes a service item billed
    on the run date (on an invoice of its own), once.

    Reads only due contracts (a sparse index keyed by the day the next month is due, up to the run date, so a
    missed run is caught up), in pages. Each month is one transaction: put the month's item (its reference is
    derived from contract and month, refused if it exists) and advance the contract under its version. A crash
    loses nothing and a re-run continues where it stopped; a month is never billed twice. A month a business rule
    refuses is not booked: the contract is reported in ``failed`` and stays due from that month; the run goes on
    with the others (``job_runs``).
    """
    summary = FlatRateRunSummary(run_date)
    cursor: str | None = None
    while True:
        page = uow_factory().contracts.list_flat_rates_due(run_date, limit=page_limit, cursor=cursor)
        for contract in page.items:
            summary.contracts += 1
            with due_item(summary, contract.id):
                _book_due_flat_rate_months(uow_factory, contract, run_date, summary)
        if page.next_cursor is None:
            return summary
        cursor = page.next_cursor


def _book_due_flat_rate_months(uow_factory, contract: ct.Contract, run_date: date, summary: FlatRateRunSummary) -> None:
    for month in contract.flat_rate_months_due(run_date):
        advanced = contract.with_flat_rate_booked(month)
        try:
            _book_flat_rate_month(uow_factory, contract, advanced, month, run_date)
            summary.months_booked += 1
        except AlreadyBilled:
            try:
                _advance_only(uow_factory, advanced)
            except Conflict:
                summary.conflicts += 1
                return
            summary.existing += 1
        except Conflict:
            summary.conflicts += 1
            return  # the contract's later months wait for the next run, which reads it again
        contract = replace(advanced, version=advanced.version + 1)


def _book_flat_rate_month(uow_factory, contract: ct.Contract, advanced: ct.Contract, month: str, run_date: date) -> None:
    uow = uow_factory()
    with uow:
        uow.contracts.save(advanced)  # first: a changed contract is a plain conflict, whatever the item
        uow.service_items.add(ct.flat_rate_item(contract, month), bill_date=run_date)
        uow.commit()


def _advance_only(uow_factory, advanced: ct.Contract) -> None:
    uow = uow_factory()
    with uow:
        uow.contracts.save(advanced)
        uow.commit()


@dataclass(frozen=True)
class ManagedUsage:
    """A month's use of the services of a managed services contract: (service code, quantity) pairs."""

    contract_id: str
    month: str
    usage: tuple[tuple[str, Decimal], ...]


def record_managed_usage(
    uow: UnitOfWork, principal: Principal, command: ManagedUsage, *, now: datetime, idempotency_key: str | None = None,
) -> ct.Contract:
    """Book a month's use of managed services for the next billing run (see ``domain.contracts``): one transaction
    of the contract's record of the month (under its version), the withdrawal of the month's unbilled items of an
    earlier recording and the new items. Refused, writing nothing, for a billed month and for any bad input."""
    require(tk.can_manage_contracts_and_assets(principal), "record managed service usage")

    def perform(uow: UnitOfWork) -> tuple[str, ct.Contract]:
        contract = uow.contracts.get(command.contract_id)
        if contract is None:
            raise NotFound(f"No contract with id '{command.contract_id}'.", field="contractId")
        recording = ct.record_managed_usage(
            contract, command.month, command.usage, now=now, recorded_by=principal.user_id,
            billed_on=_invoice_that_billed(uow, contract, command.month),
        )
        uow.contracts.save(recording.contract)  # first: a concurrent recording is a plain conflict
        for reference in recording.withdrawn:
            uow.service_items.withdraw(reference)
        for item in recording.items:
            uow.service_items.add(item, bill_date=recording.record.bill_date)
        return contract.id, recording.contract

    return run_idempotent(
        uow, principal=principal, operation="managedServiceUsageRecord", key=idempotency_key, payload=command, now=now,
        perform=perform, load=lambda uow, contract_id: uow.contracts.get(contract_id),
    )


def _invoice_that_billed(uow: UnitOfWork, contract: ct.Contract, month: str) -> str | None:
    """The number of the invoice that billed the month's recorded items, if one did."""
    recorded = contract.managed_usage_of(month)
    if recorded is None:
        return None
    invoice_ids = sorted({i for i in uow.service_items.billed_invoice_ids(recorded.item_references(contract.id)).values() if i})
    if not invoice_ids:
        return None
    invoice = uow.invoices.get(invoice_ids[0])
    return invoice.number if invoice is not None and invoice.number else invoice_ids[0]


def add_maintenance_schedule(
    uow: UnitOfWork, principal: Principal, contract_id: str, *, subject: str, every_months: int, anchor: date, now: datetime,
    lead_days: int = 0, description: str = "", managed_service_code: str | None = None,
) -> ct.MaintenanceSchedule:
    """A maintenance cycle of a contract from ``anchor`` (its first due date, which sets the rhythm); the first ticket is
    for the first due date on or after today (Berlin), so a cycle running since years raises no ticket for the past."""
    require(tk.can_manage_contracts_and_assets(principal), "plan maintenance")
    with uow:
        contract = uow.contracts.get(contract_id)
        if contract is None:
            raise NotFound(f"No contract with id '{contract_id}'.", field="contractId")
        schedule = ct.new_maintenance_schedule(
            schedule_id=new_id("mnt"), contract=contract, subject=subject, every_months=every_months, anchor=anchor,
            today=berlin_date(now), lead_days=lead_days, description=description, managed_service_code=managed_service_code,
        )
        uow.maintenance_schedules.save(schedule)
        uow.commit()
    return schedule


def _schedule(uow: UnitOfWork, schedule_id: str) -> ct.MaintenanceSchedule:
    schedule = uow.maintenance_schedules.get(schedule_id)
    if schedule is None:
        raise NotFound(f"No maintenance schedule with id '{schedule_id}'.", field="scheduleId")
    return schedule


@dataclass(frozen=True)
class ScheduleChanges:
    """What to change of a maintenance schedule; ``None`` leaves it as it is."""

    subject: str | None = None
    every_months: int | None = None
    lead_days: int | None = None
    description: str | None = None


def _save_schedule(uow: UnitOfWork, schedule: ct.MaintenanceSchedule, changed: ct.MaintenanceSchedule) -> ct.MaintenanceSchedule:
    """One write under the schedule's version (the maintenance job advancing it meanwhile makes this a conflict)."""
    if changed == schedule:
        return schedule
    uow.maintenance_schedules.save(changed)
    uow.commit()
    return replace(changed, version=changed.version + 1)


def change_maintenance_schedule(
    uow: UnitOfWork, principal: Principal, schedule_id: str, changes: ScheduleChanges, *, now: datetime,
) -> ct.MaintenanceSchedule:
    """Change a schedule's subject, interval, lead days or description for the tickets still to come
    (``domain.contracts.change_maintenance_schedule``)."""
    require(tk.can_manage_contracts_and_assets(principal), "plan maintenance")
    with uow:
        schedule = _schedule(uow, schedule_id)
        changed = ct.change_maintenance_schedule(
            schedule, today=berlin_date(now), subject=changes.subject, every_months=changes.every_months,
            lead_days=changes.lead_days, description=changes.description,
        )
        return _save_schedule(uow, schedule, changed)


def end_maintenance_schedule(uow: UnitOfWork, principal: Principal, schedule_id: str, *, last_day: date, now: datetime) -> ct.MaintenanceSchedule:
    """No maintenance ticket for a due date after ``last_day`` (today or later)."""
    require(tk.can_manage_contracts_and_assets(principal), "plan maintenance")
    with uow:
        schedule = _schedule(uow, schedule_id)
        return _save_schedule(uow, schedule, ct.end_maintenance_schedule(schedule, last_day=last_day, today=berlin_date(now)))


# --- assets -------------------------------------------------------------------------------


def create_asset(uow: UnitOfWork, principal: Principal, customer_id: str, *, now: datetime, **fields) -> Asset:
    require(tk.can_manage_contracts_and_assets(principal), "manage assets")
    with uow:
        customer = _customer(uow, customer_id)
        asset = new_asset(asset_id=new_id("ast"), customer_id=customer.id, now=now, **fields)
        uow.assets.save(asset)
        uow.commit()
    return asset


def update_asset(uow: UnitOfWork, principal: Principal, asset_id: str, **changes) -> Asset:
    """Correct an asset or bring it up to date (``domain.assets.changed_asset``: checked as a new one). One write under
    the asset's version; its place on the expiry index follows the new dates. While an update of it is requested it
    stays software that interrupts users (``domain.software_updates.check_asset_change``: one more read, of that
    request's ticket, only when such a change is asked)."""
    require(tk.can_manage_contracts_and_assets(principal), "manage assets")
    with uow:
        asset = uow.assets.get(asset_id)
        if asset is None:
            raise NotFound(f"No asset with id '{asset_id}'.", field="assetId")
        changed = changed_asset(asset, **changes)
        if changed == asset:
            return asset
        if asset.open_update_ticket_id and not su.interrupts_users(changed):
            open_request = open_request_ticket(uow, asset)
            su.check_asset_change(asset, changed, open_request_number=open_request.number if open_request else None)
        uow.assets.save(changed)
        uow.commit()
    return replace(changed, version=changed.version + 1)


def get_visible_asset(uow: UnitOfWork, principal: Principal, asset_id: str) -> Asset | None:
    """One asset, for whoever may see its customer's assets (as in the list); else ``None``."""
    found = uow.assets.get(asset_id)
    return found if found is not None and _visible(uow, principal, found.customer_id, tk.can_view_assets) else None


def list_assets(uow: UnitOfWork, principal: Principal, customer_id: str, *, first: int | None, after: str | None) -> Page[Asset]:
    limit = page_size(first)
    if _visible(uow, principal, customer_id, tk.can_view_assets) is None:
        return Page([], None)
    return uow.assets.list_for_customer(customer_id, limit=limit, cursor=after)


def expiring_assets(uow: UnitOfWork, principal: Principal, customer_id: str, *, days: int, now: datetime) -> list[Expiry]:
    """Warranties and licences ending in the next ``days`` days (reads only assets ending by then)."""
    check_window(days)
    if _visible(uow, principal, customer_id, tk.can_view_assets) is None:
        return []
    today = berlin_date(now)
    horizon = today + timedelta(days=days)
    assets: list[Asset] = []
    cursor = None
    while True:
        page = uow.assets.list_expiring(customer_id, horizon, limit=100, cursor=cursor)
        assets.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return expiring_within(assets, today=today, days=days)


# --- statistics ---------------------------------------------------------------------------


def statistics(uow: UnitOfWork, principal: Principal, customer_id: str, *, first_month: str, last_month: str, now: datetime) -> ServiceStatistics | None:
    check_months(first_month, last_month)
    if _visible(uow, principal, customer_id, tk.can_view_service_statistics) is None:
        return None
    contracts = uow.contracts.list_for_customer(customer_id)
    quota = ct.active_contract(contracts, berlin_date(now), ct.ContractKind.PREPAID_QUOTA)
    ledger = quota_ledger(uow, quota) if quota else None
    return service_statistics(all_tickets_of(uow, customer_id), first_month=first_month, last_month=last_month, ledger=ledger)
