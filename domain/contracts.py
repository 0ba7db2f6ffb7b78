"""Service contracts of the MSP: cooperation agreement, prepaid quota, rental flat rate, data-centre hosting, managed services.

Also the prepaid quota's ledger, the maintenance schedules that raise recurring tickets, and
the hand-off of billable service work to billing as ``domain.billing.ServiceItem`` values.

Decided here, where ``DOMAIN.md`` leaves room:

* **Kinds**: a *cooperation agreement* is not a contract in the legal sense but carries the
  rates (per hour, per day), travel costs, reaction times, backup responsibility and the
  account manager; every other kind carries the same rates for work outside its scope.
  A *prepaid quota* adds monthly minutes at a fixed monthly price; a *rental flat rate* a
  fixed monthly fee; *managed services* a price per unit of use (device, mailbox, GB).
  *Data-centre hosting* is billed like rental: a fixed monthly fee (rack space, servers and
  their operation, as agreed), so both are the *flat-rate* kinds and share one code path.
* **Flat-rate months** (rental, hosting): calendar months, billed in advance: a month is
  booked for billing on its first day (on the start date for the month a contract starts
  in), by the daily flat-rate job, once (``flat_rate_booked_through`` advances with each
  month booked). A month the contract covers only in part is billed pro rata by day, rounded
  half-up to the cent (started 2026-11-16 at EUR 300.00: 15/30 days = 150.00). Rental and
  hosting fees go on an invoice of their own (``SeparateInvoice.RENTAL_AND_HOSTING``),
  collected by SEPA direct debit when the payer has a mandate on file.
* **Quota months** (prepaid quota): booking month M closes M-1 (overdraft correction) and opens M (its credit and
  the fixed monthly invoice). M is due on its first day (on the start date for the month a contract starts in) and is
  booked by the daily quota job, once and in order (``quota_booked_through`` advances with each month), so a missed
  run is caught up by the next one; the month after the contract's last is booked too, to close that last month.
* **Back-dated start**: rental, hosting and quota contracts start on the first of the previous month at the earliest
  (``earliest_billed_start``), so the next run bills at most that month and the current one; a start further back
  (a contract taken over, started years ago) is refused with a hint to enter the first day Partnerhub bills.
* **Quota ledger**: minutes, never hours, so nothing is rounded away. Every month starts with
  a credit of the monthly minutes; unused minutes roll over without limit (the balance simply
  stays). Billable minutes of a service report are debited in the Berlin month the report is
  made (a late report never changes a month that is closed already), from the quota in force on each time entry's
  work date (not the report's date): work of 2026-12-30 under a quota that ended 2026-12-31, reported on 2027-01-04,
  is debited from that quota. After the contract's last month no month is closed any more, so such a late debit
  takes at most what is left, overdraft or not; the rest is billed at the hourly rate.
  Without overdraft the quota is used down to zero and the rest of the report is billed at the
  hourly rate like any other work; with overdraft (allowed on request) the balance goes
  negative and at the month's end a **correction** entry brings it back to zero, invoiced at
  the overdraft rate (the hourly rate unless agreed otherwise). Each entry has a deterministic
  key (month, kind, reference), so crediting, debiting or closing twice books nothing twice. Two service reports
  computed from the same balance are not both debited: the store appends debits under the ledger's next position
  (optimistic locking), so the second fails with ``ConcurrentUpdate`` and, made again, sees the first's debit.
* **Changes after creation** (``changes``: what, who, from when): the overdraft is granted or withdrawn from an
  instant on (``set_quota_overdraft``): a debit keeps the setting it was booked under, and a month's overdraft is
  corrected at the rate in force when each overdrawn minute was debited (the month's last debits). The last day is set
  or moved (``end_contract``) to today or later, never inside a month booked already (billed in advance, in full);
  an ended contract, and a rental or hosting contract whose last month was billed pro rata, keep their end.
* **Billing hand-off**: a service report becomes one ``ServiceItem`` with quantity 1 and the
  rounded amount as unit price, referenced by the report id: the invoice shows only the report
  id and the amount (the PDF was e-mailed before). Each time entry is billed at the hourly rate in force on its work
  date (``hourly_rate_for``); work on a day without a contract at ``STANDARD_HOURLY_RATE``. Who pays follows the
  billing mode of the customer's partnership link, as for every invoice (``domain.billing``): the item names the
  partner of the contract the work was done under, else the customer's partner (``service_partner_id``: its only
  link), so work for a partner-pays customer without a contract goes to the partner too. The quota's fixed monthly price and an overdraft correction are
  items of their own; the correction goes on an invoice of its own (the correction invoice,
  ``SeparateInvoice.QUOTA_CORRECTION``), so the fixed monthly invoice is the same every month.
* **Managed services** (pay per use): billed in arrears. The service desk records a month's use per service
  (``managedServiceUsageRecord``) once the month has ended, from the 1st of the next month (Berlin), since only then
  is its use known in full; a month outside the contract's term is refused. The record is the month's complete use:
  a service not listed was not used. Quantities are decimals from 0 to 1,000,000 with at most three decimal places
  (250.125 GB); each used service becomes one item (quantity × unit price, rounded half-up to the cent on the
  invoice line), billed by the next billing run to whoever pays the contract's partner link (as flat-rate items),
  on the payer's regular invoice; a quantity of 0 bills nothing. No pro rata: only use within the term is recorded.
  Recording a month again before it is billed replaces its items: the old ones are withdrawn (taken off the
  billing index, on condition they are not billed) and the new ones get references of a new revision
  (``managed#<contract>#<code>#<month>`` for the first, ``…#<month>#2`` for the second, …), so a billing run that
  read the old items in between cannot bill them under the new use: it fails on the withdrawn item and the next
  run bills the new ones. Once a month is billed it is never recorded again (a credit note corrects the invoice).
  The records live on the contract (a few hundred bytes a month), so the contract's version serialises recordings.
* **Branch** (per-branch billing; see ``domain.billing``). Decided: service-desk billing is delivered at a site, so a
  contract may name the customer's branch it is delivered at (``branch_key``; ``None``: the head office), one that
  receives services (``domain.organisations.service_branch_of``), set at creation and changed by staff
  (``set_branch``, recorded in ``changes``). Every item the contract hands to billing (flat-rate months, quota months
  and corrections, managed-service use) carries the branch the contract names when the item is made: a change moves
  the items made after it, never those made (or billed) before. CSP and SaaS subscriptions belong to the customer's
  tenant and name no branch: they stay billed centrally. The contract's maintenance schedules carry its branch
  (``MaintenanceSchedule.branch_key``: copied at creation, changed with the contract's in one transaction), so each
  maintenance ticket names the branch the contract is delivered at without the job reading the contract.
* **Maintenance**: due dates are anchored (``anchor + n × months``, end of month clamped, never
  chained); the ticket of a due date appears ``lead_days`` before it (monthly on the 1st, three
  days ahead: the 2023-07-01 ticket appears on 2023-06-28). The ticket id is derived from the
  schedule and the due date, so there is never a second ticket for one due date. A schedule entered with a first
  due date in the past (a contract's maintenance that has run for years) keeps that date's rhythm, but its first
  ticket is for the first due date on or after the day it is entered: maintenance that is over gets no ticket
  (first due 2020-01-01, monthly, entered on 2026-11-20: the first ticket is due 2026-12-01, not 83 at once).
  Changing a schedule's subject, description or lead days changes the tickets still to come. A new interval
  continues after the last due date handled (whose ticket may exist already) in the first due date's rhythm, from
  today: monthly from 2026-10-31 with the 2026-11-30 ticket created, every two months from 2026-12-01 on is due
  2026-12-31, 2027-02-28, … . Ending a schedule sets its last day (today or later): no due date after it (nor after
  its contract's end); the tickets created already stay, as any open ticket.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Callable, Iterable

from domain.billing import SeparateInvoice, ServiceItem
from domain.calendar import add_months, berlin_date, ensure_utc
from domain.errors import Conflict, ValidationFailed
from domain.money import Money, round_cents, share_cents
from domain.validation import require_text

STANDARD_HOURLY_RATE = Money(Decimal("110.00"))  # Decided: list price for customers without a contract


class ContractKind(str, Enum):
    COOPERATION = "COOPERATION"
    PREPAID_QUOTA = "PREPAID_QUOTA"
    RENTAL_FLAT_RATE = "RENTAL_FLAT_RATE"
    DATA_CENTRE_HOSTING = "DATA_CENTRE_HOSTING"
    MANAGED_SERVICES = "MANAGED_SERVICES"


# Billed by a fixed monthly fee, in advance, on an invoice of their own (see the module's decisions).
FLAT_RATE_KINDS = frozenset({ContractKind.RENTAL_FLAT_RATE, ContractKind.DATA_CENTRE_HOSTING})
# Billed month by month from their start by the daily jobs (flat-rate months, quota months).
MONTHLY_BILLED_KINDS = FLAT_RATE_KINDS | {ContractKind.PREPAID_QUOTA}


class BackupResponsibility(str, Enum):
    CUSTOMER = "CUSTOMER"
    MSP = "MSP"


@dataclass(frozen=True)
class Rates:
    hourly: Money
    daily: Money | None = None
    travel_flat: Money | None = None  # per on-site visit
    travel_per_km: Money | None = None

    def __post_init__(self) -> None:
        for name in ("hourly", "daily", "travel_flat", "travel_per_km"):
            value = getattr(self, name)
            if value is not None and value.amount < 0:
                raise ValidationFailed(f"The {name.replace('_', ' ')} rate cannot be negative.", field=f"rates.{name}")


@dataclass(frozen=True)
class ReactionTimes:
    """Hours until a technician reacts, by urgency."""

    critical_hours: int = 4
    normal_hours: int = 24

    def __post_init__(self) -> None:
        if not 0 < self.critical_hours <= self.normal_hours:
            raise ValidationFailed(
                "Reaction times are positive and critical is not slower than normal.", field="reactionTimes"
            )


@dataclass(frozen=True)
class QuotaTerms:
    monthly_minutes: int
    monthly_price: Money
    overdraft_allowed: bool = False
    overdraft_hourly_rate: Money | None = None  # the hourly rate unless agreed otherwise

    def __post_init__(self) -> None:
        if isinstance(self.monthly_minutes, bool) or not isinstance(self.monthly_minutes, int) or self.monthly_minutes < 1:
            raise ValidationFailed("A quota has a positive number of minutes per month.", field="quota.monthlyMinutes")
        if self.monthly_price.amount < 0:
            raise ValidationFailed("The quota's monthly price cannot be negative.", field="quota.monthlyPrice")


@dataclass(frozen=True)
class ManagedService:
    code: str  # e.g. "monitoring", "backup-gb"
    name: str
    unit: str  # "device", "GB", "mailbox"
    unit_price: Money


@dataclass(frozen=True)
class ManagedServiceUse:
    code: str
    quantity: Decimal  # units of the service's unit; 0: not used


@dataclass(frozen=True)
class ManagedUsageMonth:
    """A month's recorded use of a managed services contract (its complete use: services not listed were not used)."""

    month: str  # YYYY-MM
    usage: tuple[ManagedServiceUse, ...]
    revision: int  # 1 when first recorded; each recording of the month again (before it is billed) adds one
    recorded_at: datetime
    recorded_by: str  # the user id
    bill_date: date  # the day its items were handed to billing

    def item_references(self, contract_id: str) -> tuple[str, ...]:
        """The references of the service items of this recording (services used, quantity above 0)."""
        return tuple(managed_service_reference(contract_id, u.code, self.month, self.revision) for u in self.usage if u.quantity > 0)


class ContractChangeKind(str, Enum):
    QUOTA_OVERDRAFT = "QUOTA_OVERDRAFT"  # overdraft granted, withdrawn or its rate changed
    END = "END"  # the last day set or moved
    BRANCH = "BRANCH"  # the branch it is delivered at set, changed or cleared


@dataclass(frozen=True)
class ContractChange:
    """One change of a contract after its creation: what was set, what it replaced, who set it and from when."""

    kind: ContractChangeKind
    at: datetime  # effective from this instant (the time of the change)
    by: str  # the user id
    overdraft_allowed: bool | None = None
    overdraft_hourly_rate: Money | None = None  # None: the contract's hourly rate
    previous_overdraft_allowed: bool | None = None
    previous_overdraft_hourly_rate: Money | None = None
    ends_on: date | None = None
    previous_ends_on: date | None = None
    branch_key: str | None = None
    previous_branch_key: str | None = None


@dataclass(frozen=True)
class Contract:
    id: str
    customer_id: str
    kind: ContractKind
    starts_on: date
    rates: Rates
    created_at: datetime
    ends_on: date | None = None  # last day, inclusive
    reaction_times: ReactionTimes = ReactionTimes()
    quota: QuotaTerms | None = None
    monthly_flat_rate: Money | None = None
    managed_services: tuple[ManagedService, ...] = ()
    backup_responsibility: BackupResponsibility = BackupResponsibility.CUSTOMER
    account_manager: str | None = None
    partner_id: str | None = None  # the reseller through which the customer buys, if any
    flat_rate_booked_through: str | None = None  # YYYY-MM: the last month of a flat rate booked for billing
    quota_booked_through: str | None = None  # YYYY-MM: the last quota month booked (its previous month closed, it credited)
    managed_usage: tuple[ManagedUsageMonth, ...] = ()  # the recorded months of managed services, oldest first
    changes: tuple[ContractChange, ...] = ()  # changes after creation, oldest first
    branch_key: str | None = None  # the customer's branch it is delivered at (None: head office)
    version: int = 0

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)

    def open_on(self, day: date) -> bool:
        """Not ended before ``day``: it still makes items to bill (a contract starting later too)."""
        return self.ends_on is None or day <= self.ends_on

    def _month_after(self, booked_through: str | None, last: date | None) -> str | None:
        """The month after ``booked_through`` (YYYY-MM; the start date's month when none is booked yet), or ``None`` if
        it begins after ``last``."""
        month = month_key(self.starts_on) if booked_through is None else month_key(add_months(first_of_month(booked_through), 1))
        return None if last is not None and first_of_month(month) > last else month

    def _month_due_on(self, month: str | None) -> date | None:
        """When ``month`` is booked: its first day, or the start date in the month the contract starts."""
        return None if month is None else max(first_of_month(month), self.starts_on)

    def _months_due(self, run_date: date, next_month: Callable[["Contract"], str | None],
                    booked: Callable[["Contract", str], "Contract"]) -> list[str]:
        """The months to book by ``run_date``, oldest first: a missed run is caught up, each month once."""
        months: list[str] = []
        contract = self
        while (month := next_month(contract)) is not None and contract._month_due_on(month) <= run_date:
            months.append(month)
            contract = booked(contract, month)
        return months

    @property
    def next_flat_rate_month(self) -> str | None:
        """The next month of a flat rate to book (YYYY-MM); ``None`` for other kinds and once the last month is booked."""
        if self.kind not in FLAT_RATE_KINDS:
            return None
        return self._month_after(self.flat_rate_booked_through, self.ends_on)

    @property
    def flat_rate_due_on(self) -> date | None:
        """When the next flat-rate month is booked: its first day, or the start date in the month the contract starts."""
        return self._month_due_on(self.next_flat_rate_month)

    def flat_rate_months_due(self, run_date: date) -> list[str]:
        """The flat-rate months to book by ``run_date``, oldest first: a missed run is caught up, each month once."""
        return self._months_due(run_date, lambda contract: contract.next_flat_rate_month, Contract.with_flat_rate_booked)

    def with_flat_rate_booked(self, month: str) -> "Contract":
        if month != self.next_flat_rate_month:
            raise Conflict(f"{month} is not the next flat-rate month of contract {self.id} ({self.next_flat_rate_month}).")
        return replace(self, flat_rate_booked_through=month)

    @property
    def next_quota_month(self) -> str | None:
        """The next quota month to book (YYYY-MM); ``None`` for other kinds and once the month after the last is booked."""
        if self.kind is not ContractKind.PREPAID_QUOTA:
            return None
        # the month after the last closes the last: nothing is left after it
        last = add_months(self.ends_on.replace(day=1), 1) if self.ends_on is not None else None
        return self._month_after(self.quota_booked_through, last)

    @property
    def quota_month_due_on(self) -> date | None:
        """When the next quota month is booked: its first day, or the start date in the month the contract starts."""
        return self._month_due_on(self.next_quota_month)

    def quota_months_due(self, run_date: date) -> list[str]:
        """The quota months to book by ``run_date``, oldest first: a missed run is caught up, each month once."""
        return self._months_due(run_date, lambda contract: contract.next_quota_month, Contract.with_quota_month_booked)

    def with_quota_month_booked(self, month: str) -> "Contract":
        if month != self.next_quota_month:
            raise Conflict(f"{month} is not the next quota month of contract {self.id} ({self.next_quota_month}).")
        return replace(self, quota_booked_through=month)

    def managed_usage_of(self, month: str) -> ManagedUsageMonth | None:
        return next((m for m in self.managed_usage if m.month == month), None)

    @property
    def overdraft_rate(self) -> Money:
        if self.quota and self.quota.overdraft_hourly_rate:
            return self.quota.overdraft_hourly_rate
        return self.rates.hourly

    def overdraft_rate_at(self, at: datetime) -> Money:
        """The overdraft rate in force at ``at``: a change applies from its instant on, never to what was debited before."""
        at = ensure_utc(at)
        for change in self.changes:
            if change.kind is ContractChangeKind.QUOTA_OVERDRAFT and change.at > at:
                return change.previous_overdraft_hourly_rate or self.rates.hourly
        return self.overdraft_rate


def new_contract(
    *,
    contract_id: str,
    customer_id: str,
    kind: ContractKind,
    starts_on: date,
    rates: Rates,
    now: datetime,
    ends_on: date | None = None,
    reaction_times: ReactionTimes | None = None,
    quota: QuotaTerms | None = None,
    monthly_flat_rate: Money | None = None,
    managed_services: Iterable[ManagedService] = (),
    backup_responsibility: BackupResponsibility = BackupResponsibility.CUSTOMER,
    account_manager: str | None = None,
    partner_id: str | None = None,
    branch_key: str | None = None,
) -> Contract:
    """A contract whose kind-specific terms are present and whose dates make sense. ``branch_key``: checked by the
    caller against the customer's branches (``domain.organisations.service_branch_of``)."""
    if ends_on is not None and ends_on < starts_on:
        raise ValidationFailed("The contract ends before it starts.", field="endsOn")
    if kind in MONTHLY_BILLED_KINDS:
        _check_billed_start(starts_on, now)
    if kind is ContractKind.PREPAID_QUOTA and quota is None:
        raise ValidationFailed("A prepaid quota contract needs its monthly minutes and price.", field="quota")
    if kind is not ContractKind.PREPAID_QUOTA and quota is not None:
        raise ValidationFailed("Only a prepaid quota contract has a quota.", field="quota")
    if kind in FLAT_RATE_KINDS and (monthly_flat_rate is None or monthly_flat_rate.amount <= 0):
        label = "A rental flat rate" if kind is ContractKind.RENTAL_FLAT_RATE else "Data-centre hosting"
        raise ValidationFailed(f"{label} needs its monthly fee.", field="monthlyFlatRate")
    if kind not in FLAT_RATE_KINDS and monthly_flat_rate is not None:
        raise ValidationFailed("Only rental and data-centre hosting contracts have a monthly flat rate.", field="monthlyFlatRate")
    services = tuple(managed_services)
    if kind is ContractKind.MANAGED_SERVICES and not services:
        raise ValidationFailed("Managed services need at least one service with its unit price.", field="managedServices")
    if len({s.code for s in services}) != len(services):
        raise ValidationFailed("Each managed service code appears once.", field="managedServices")
    return Contract(
        id=contract_id,
        customer_id=customer_id,
        kind=kind,
        starts_on=starts_on,
        rates=rates,
        created_at=ensure_utc(now),
        ends_on=ends_on,
        reaction_times=reaction_times or ReactionTimes(),
        quota=quota,
        monthly_flat_rate=monthly_flat_rate,
        managed_services=services,
        backup_responsibility=backup_responsibility,
        account_manager=(account_manager or "").strip() or None,
        partner_id=partner_id,
        branch_key=branch_key or None,
    )


def set_branch(contract: Contract, branch_key: str | None, *, today: date, now: datetime, by: str) -> Contract:
    """The contract delivered at ``branch_key`` (checked by the caller; ``None``: the head office) from now on: items it
    makes from now on carry it. An ended contract is not changed; setting the branch it names already changes nothing."""
    branch_key = branch_key or None
    if branch_key == contract.branch_key:
        return contract
    _ended_already(contract, today)
    change = ContractChange(ContractChangeKind.BRANCH, ensure_utc(now), by, branch_key=branch_key,
                            previous_branch_key=contract.branch_key)
    return replace(contract, branch_key=branch_key, changes=contract.changes + (change,))


def earliest_billed_start(now: datetime) -> date:
    """The earliest start of a contract billed by the month (rental, hosting, prepaid quota) entered at ``now``: the
    first day of the previous Berlin month (see ``_check_billed_start``)."""
    return add_months(berlin_date(now).replace(day=1), -1)


def _check_billed_start(starts_on: date, now: datetime) -> None:
    """Decided: a rental, hosting or quota contract starts on the first of the previous month at the earliest.

    The daily jobs book every month from the start that is due and not booked, so a start further back would put all
    those months on the next invoice at once (a contract taken over from another provider, started 2024-01-01 and entered
    on 2026-11-23: 35 months). A contract whose paperwork arrives late is still entered with its real start, and its
    last month and this one are billed by the next run. A contract taken over starts where Partnerhub starts billing it.
    """
    earliest = earliest_billed_start(now)
    if starts_on >= earliest:
        return
    today = berlin_date(now)
    months = (today.year - starts_on.year) * 12 + today.month - starts_on.month + 1
    raise ValidationFailed(
        f"A rental, hosting or prepaid quota contract entered on {today.isoformat()} starts on {earliest.isoformat()} at the "
        f"earliest: a start on {starts_on.isoformat()} would bill {months} months at once with the next run.",
        field="startsOn",
        hint="For a contract taken over from another provider, enter the first day Partnerhub is to bill as its start "
             f"(e.g. {add_months(today.replace(day=1), 1).isoformat()}); the months before stay with whoever billed them.",
    )


def active_contract(contracts: Iterable[Contract], day: date, kind: ContractKind) -> Contract | None:
    """The contract of ``kind`` in force on ``day`` (the latest started, if several)."""
    found = [c for c in contracts if c.kind is kind and c.active_on(day)]
    return max(found, key=lambda c: (c.starts_on, c.id)) if found else None


def quota_covering(contracts: Iterable[Contract], day: date, branch_key: str | None) -> Contract | None:
    """The prepaid quota in force on ``day`` that covers work at ``branch_key`` (a ticket's branch; ``None``: the head
    office). Decided: a quota naming a branch covers only the work of that branch (tickets at that branch); a quota
    naming none covers the whole customer. Where both are in force, the branch's own quota covers its work; of several
    alike, the latest started."""
    found = [c for c in contracts if c.kind is ContractKind.PREPAID_QUOTA and c.active_on(day)
             and (c.branch_key is None or c.branch_key == branch_key)]
    return max(found, key=lambda c: (c.branch_key is not None, c.starts_on, c.id)) if found else None


def hourly_rate_for(contracts: Iterable[Contract], day: date) -> Money:
    """The agreed hourly rate on ``day`` (a time entry's work date): the cooperation agreement's, else the rate of the
    contract in force that day (the latest started), else the list price."""
    contracts = list(contracts)
    agreement = active_contract(contracts, day, ContractKind.COOPERATION)
    if agreement:
        return agreement.rates.hourly
    others = [c for c in contracts if c.active_on(day)]
    return max(others, key=lambda c: (c.starts_on, c.id)).rates.hourly if others else STANDARD_HOURLY_RATE


def service_partner_id(customer) -> str | None:
    """The partner through which ``customer`` (a ``domain.organisations.Organisation``) buys what no contract or
    subscription names: that of its only partnership link, whose billing mode then decides who pays (customer pays:
    the customer; partner pays: the partner). With no link or several, none: the customer pays."""
    links = customer.partner_links if customer is not None else ()
    return links[0].partner_id if len(links) == 1 else None


def quota_of_report(contracts: Iterable[Contract], report) -> Contract | None:
    """The prepaid quota the report's billable work was done under, each time entry by its work date (not the day the
    report is made): the ledger to hand to ``bill_service_report``; ``None`` if none.

    A report debits one ledger: a period whose work falls under two quotas (a contract followed by another, or the
    quotas of two branches: ``quota_covering``) is refused, to be reported in two parts. ``report`` is a
    ``domain.tickets.ServiceReport``.
    """
    contracts = list(contracts)
    quotas: dict[str, tuple[Contract, date]] = {}
    for line in report.lines:
        quota = quota_covering(contracts, line.work_date, line.branch_key) if line.billable else None
        if quota is not None:
            last = quotas.get(quota.id, (quota, line.work_date))[1]
            quotas[quota.id] = (quota, max(last, line.work_date))
    if len(quotas) > 1:
        (first, last_day), (second, _) = sorted(quotas.values(), key=lambda q: (q[0].starts_on, q[0].id))[:2]
        message = (f"The time from {report.first_day.isoformat()} to {report.last_day.isoformat()} was worked under two "
                   f"prepaid quotas ({first.id} and {second.id}); one service report debits one quota.")
        if first.branch_key != second.branch_key:  # the quotas of two sites
            raise ValidationFailed(message, field="ticketId",
                                   hint="Report the tickets of each branch on their own (a service report per ticket).")
        raise ValidationFailed(
            message,
            field="lastDay",
            hint=f"Report {report.first_day.isoformat()} to {last_day.isoformat()} first, then the days from "
                 f"{(last_day + timedelta(days=1)).isoformat()} on.",
        )
    return next(iter(quotas.values()))[0] if quotas else None


# --- changes after creation ---------------------------------------------------------------


def _ended_already(contract: Contract, today: date) -> None:
    if contract.ends_on is not None and contract.ends_on < today:
        raise Conflict(f"Contract {contract.id} ended on {contract.ends_on.isoformat()}.", field="contractId",
                       hint="An ended contract is not changed: create a new contract for what follows.")


def set_quota_overdraft(contract: Contract, *, allowed: bool, hourly_rate: Money | None, now: datetime, by: str) -> Contract:
    """Grant or withdraw the overdraft of a prepaid quota from ``now`` on (see the module's decisions).

    ``hourly_rate``: the overdraft rate when granting (``None``: the contract's hourly rate); none when withdrawing.
    Debits booked before ``now`` keep the setting they were booked under: a grant does not turn minutes already billed
    at the hourly rate into overdraft, a withdrawal does not undo an overdraft already used (it is corrected at the
    month's end at the rate in force when it was used), and a new rate applies to overdraft used from now on.
    """
    if contract.quota is None:
        raise ValidationFailed("Only a prepaid quota contract has an overdraft.", field="contractId")
    _ended_already(contract, berlin_date(now))
    if hourly_rate is not None:
        if not allowed:
            raise ValidationFailed("A withdrawn overdraft has no rate.", field="hourlyRate",
                                   hint="Leave hourlyRate out to withdraw the overdraft.")
        if not hourly_rate.amount.is_finite() or hourly_rate.amount <= 0:
            raise ValidationFailed("The overdraft rate is a positive amount per hour.", field="hourlyRate")
        if hourly_rate.amount != round_cents(hourly_rate.amount):
            raise ValidationFailed("The overdraft rate has at most two decimal places.", field="hourlyRate")
        if hourly_rate.currency != contract.rates.hourly.currency:
            raise ValidationFailed(f"The overdraft rate is in {contract.rates.hourly.currency}, the contract's currency.",
                                   field="hourlyRate")
    quota = contract.quota
    current = (quota.overdraft_allowed, contract.overdraft_rate if quota.overdraft_allowed else None)
    wanted = (allowed, (hourly_rate or contract.rates.hourly) if allowed else None)
    if wanted == current:
        state = f"allowed at {current[1].currency} {current[1].amount} per hour" if allowed else "not allowed"
        raise Conflict(f"The overdraft of contract {contract.id} is {state} already.", field="allowed")
    change = ContractChange(
        ContractChangeKind.QUOTA_OVERDRAFT, ensure_utc(now), by, overdraft_allowed=allowed,
        overdraft_hourly_rate=hourly_rate if allowed else None, previous_overdraft_allowed=quota.overdraft_allowed,
        previous_overdraft_hourly_rate=quota.overdraft_hourly_rate,
    )
    terms = replace(quota, overdraft_allowed=allowed, overdraft_hourly_rate=hourly_rate if allowed else None)
    return replace(contract, quota=terms, changes=contract.changes + (change,))


def _last_day(month: str) -> date:
    return add_months(first_of_month(month), 1) - timedelta(days=1)


def earliest_end(contract: Contract, today: date) -> date:
    """The earliest last day ``contract`` may be given on ``today``: not before it starts, not in the past, and not
    inside a month booked already (rental, hosting and quota months are billed in advance, in full, so a booked month
    is served to its end)."""
    earliest = max(contract.starts_on, today)
    for booked in (contract.flat_rate_booked_through, contract.quota_booked_through):
        if booked is not None:
            earliest = max(earliest, _last_day(booked))
    return earliest


def end_contract(contract: Contract, ends_on: date, *, now: datetime, by: str) -> Contract:
    """Set the contract's last day (inclusive), recorded in its changes. Decided:

    * not before the start, not before today (Berlin): no retroactive end, and an end today makes today the last day;
    * not inside a month booked already (see ``earliest_end``): ``CONFLICT`` naming the earliest possible end;
    * a contract whose last day has passed is not changed (its last month may be closed and billed already);
    * a rental or hosting contract whose last month was booked pro rata (its end lies in a booked month) keeps that end:
      moving it either way would leave days billed but not served, or served but never billed;
    * managed services need nothing more: use is recorded only for months that have ended, and the new end lies today
      or later, so every recorded month stays in the term.
    """
    today = berlin_date(now)
    _ended_already(contract, today)
    if ends_on < contract.starts_on:
        raise ValidationFailed(f"The contract starts on {contract.starts_on.isoformat()}: it cannot end before.", field="endsOn")
    if ends_on < today:
        raise ValidationFailed(f"A contract ends today ({today.isoformat()}) at the earliest: no end in the past.", field="endsOn")
    if ends_on == contract.ends_on:
        raise Conflict(f"Contract {contract.id} ends on {ends_on.isoformat()} already.", field="endsOn")
    booked = contract.flat_rate_booked_through
    if booked is not None and contract.ends_on is not None and contract.ends_on < _last_day(booked):
        raise Conflict(
            f"{_month_label(booked)} of contract {contract.id} is billed pro rata to its end on {contract.ends_on.isoformat()}.",
            field="endsOn", hint="The end of a last month billed already stays: create a new contract for a continuation.",
        )
    earliest = earliest_end(contract, today)
    if ends_on < earliest:
        raise Conflict(
            f"Contract {contract.id} can end on {earliest.isoformat()} at the earliest: the months up to then are billed already.",
            field="endsOn", hint="Refund service not wanted any more with a credit note (creditNoteCreate).",
        )
    change = ContractChange(ContractChangeKind.END, ensure_utc(now), by, ends_on=ends_on, previous_ends_on=contract.ends_on)
    return replace(contract, ends_on=ends_on, changes=contract.changes + (change,))


# --- the quota ledger ---------------------------------------------------------------------


class LedgerEntryKind(str, Enum):
    MONTHLY_CREDIT = "MONTHLY_CREDIT"
    USAGE = "USAGE"
    OVERDRAFT_CORRECTION = "OVERDRAFT_CORRECTION"


@dataclass(frozen=True)
class LedgerEntry:
    contract_id: str
    key: str  # unique within the contract: month, kind and reference
    kind: LedgerEntryKind
    month: str  # YYYY-MM, the Berlin month it is booked in
    minutes: int  # positive credits, negative debits
    at: datetime
    reference: str  # the month, or the service report and time entry it debits
    description: str = ""


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_of_month(month: str) -> date:
    year, month_number = month.split("-")
    return date(int(year), int(month_number), 1)


def _month_label(month: str) -> str:
    return first_of_month(month).strftime("%B %Y")


def format_minutes(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d} h"


@dataclass(frozen=True)
class QuotaUse:
    """What debiting a report line did: minutes taken from the quota, minutes left to bill at the hourly rate."""

    entry: LedgerEntry | None
    covered_minutes: int
    uncovered_minutes: int


@dataclass(frozen=True)
class OverdraftCorrection:
    entry: LedgerEntry
    amount: Money
    # (minutes, hourly rate) by the rate in force when the overdrawn minutes were debited, in the order first used
    parts: tuple[tuple[int, Money], ...] = ()


class QuotaLedger:
    """Every credit and debit of one prepaid quota; ``balance_minutes`` is kept as entries are booked.

    The balance is carried (as the stored item would carry it), not recomputed, so the property
    test that it always equals the sum of the entries is a real check.
    """

    def __init__(self, contract: Contract, entries: Iterable[LedgerEntry] = ()) -> None:
        if contract.quota is None:
            raise ValidationFailed("This contract has no prepaid quota.", field="contractId")
        self.contract = contract
        self.entries: list[LedgerEntry] = []
        self.balance_minutes = 0
        self._keys: set[str] = set()
        for entry in sorted(entries, key=lambda e: (e.at, e.key)):
            self._book(entry)

    @property
    def terms(self) -> QuotaTerms:
        assert self.contract.quota is not None
        return self.contract.quota

    def _book(self, entry: LedgerEntry) -> LedgerEntry:
        if entry.key in self._keys:
            raise Conflict(f"Ledger entry {entry.key} is booked already.")
        self._keys.add(entry.key)
        self.entries.append(entry)
        self.balance_minutes += entry.minutes
        return entry

    def has(self, key: str) -> bool:
        return key in self._keys

    def balance_through(self, month: str) -> int:
        return sum(e.minutes for e in self.entries if e.month <= month)

    def credit_month(self, month: str, *, now: datetime) -> LedgerEntry | None:
        """The month's quota (once per month; ``None`` when booked already or outside the contract)."""
        key = f"{month}#CREDIT"
        if self.has(key) or not self._covers_month(month):
            return None
        return self._book(
            LedgerEntry(
                self.contract.id, key, LedgerEntryKind.MONTHLY_CREDIT, month, self.terms.monthly_minutes,
                ensure_utc(now), month, f"Quota {_month_label(month)}",
            )
        )

    def _covers_month(self, month: str) -> bool:
        start = first_of_month(month)
        end = add_months(start, 1) - timedelta(days=1)
        return self.contract.starts_on <= end and (self.contract.ends_on is None or start <= self.contract.ends_on)

    def use(self, *, report_id: str, entry_id: str, minutes: int, now: datetime, description: str = "") -> QuotaUse:
        """Debit a billable report line: all of it with overdraft, otherwise at most what is left."""
        if minutes < 1:
            raise ValidationFailed("Only positive minutes are debited.", field="minutes")
        month = month_key(berlin_date(now))
        key = f"{month}#USAGE#{entry_id}"
        if any(e.kind is LedgerEntryKind.USAGE and e.reference.endswith(f"#{entry_id}") for e in self.entries):
            return QuotaUse(None, 0, 0)  # debited already (a retried report)
        # after the contract's last month nothing closes the month debited: no overdraft that is never corrected
        closed_for_good = self.contract.ends_on is not None and month > month_key(self.contract.ends_on)
        overdraft = self.terms.overdraft_allowed and not closed_for_good
        available = minutes if overdraft else max(0, min(minutes, self.balance_minutes))
        if available == 0:
            return QuotaUse(None, 0, minutes)
        entry = self._book(
            LedgerEntry(
                self.contract.id, key, LedgerEntryKind.USAGE, month, -available, ensure_utc(now),
                f"{report_id}#{entry_id}", description,
            )
        )
        return QuotaUse(entry, available, minutes - available)

    def close_month(self, month: str, *, now: datetime) -> OverdraftCorrection | None:
        """At the month's end: an overdrawn balance is corrected to zero and invoiced at the overdraft rate."""
        key = f"{month}#CORRECTION"
        overdrawn = -self.balance_through(month)
        if self.has(key) or overdrawn <= 0:
            return None
        parts = self._overdraft_parts(month, overdrawn)
        entry = self._book(
            LedgerEntry(
                self.contract.id, key, LedgerEntryKind.OVERDRAFT_CORRECTION, month, overdrawn, ensure_utc(now), month,
                f"Overdraft {_month_label(month)}: {format_minutes(overdrawn)}",
            )
        )
        exact = sum((rate.amount * Decimal(minutes) / Decimal(60) for minutes, rate in parts), Decimal(0))
        return OverdraftCorrection(entry, Money(round_cents(exact), parts[0][1].currency), parts)

    def _overdraft_parts(self, month: str, overdrawn: int) -> tuple[tuple[int, Money], ...]:
        """The overdrawn minutes by the overdraft rate in force when they were debited. The balance only falls within a
        month (its credit comes first), so the overdraft is the month's last debits: those are taken, newest first."""
        by_rate: dict[Money, int] = {}
        left = overdrawn
        debits = sorted((e for e in self.entries if e.kind is LedgerEntryKind.USAGE and e.month <= month), key=lambda e: (e.at, e.key))
        for entry in reversed(debits):
            if left <= 0:
                break
            taken = min(left, -entry.minutes)
            rate = self.contract.overdraft_rate_at(entry.at)
            by_rate[rate] = by_rate.get(rate, 0) + taken
            left -= taken
        if left > 0:  # not from debits (not expected): at the rate in force now
            by_rate[self.contract.overdraft_rate] = by_rate.get(self.contract.overdraft_rate, 0) + left
        return tuple((minutes, rate) for rate, minutes in reversed(list(by_rate.items())))

    def usage_in(self, month: str) -> int:
        return -sum(e.minutes for e in self.entries if e.kind is LedgerEntryKind.USAGE and e.month == month)


def amount_for_minutes(minutes: int, hourly_rate: Money) -> Money:
    """Minutes × rate ÷ 60, rounded half-up to the cent once."""
    return Money(round_cents(hourly_rate.amount * Decimal(minutes) / Decimal(60)), hourly_rate.currency)


# --- billing hand-off ---------------------------------------------------------------------


def _month_bounds(month: str) -> tuple[date, date]:
    start = first_of_month(month)
    return start, add_months(start, 1)


def quota_month_item(contract: Contract, month: str) -> ServiceItem:
    """The fixed monthly invoice of a prepaid quota."""
    assert contract.quota is not None
    start, end = _month_bounds(month)
    return ServiceItem(
        customer_id=contract.customer_id,
        description=f"Prepaid quota {format_minutes(contract.quota.monthly_minutes)} {_month_label(month)}",
        quantity=Decimal(1),
        unit_price=contract.quota.monthly_price,
        reference=f"quota#{contract.id}#{month}",
        partner_id=contract.partner_id,
        period_start=start,
        period_end=end,
        branch_key=contract.branch_key,
    )


def overdraft_item(contract: Contract, correction: OverdraftCorrection) -> ServiceItem:
    """The correction invoice's line for an overdrawn quota: on an invoice of its own, not the month's fixed one."""
    start, end = _month_bounds(correction.entry.month)
    parts = correction.parts or ((correction.entry.minutes, contract.overdraft_rate),)
    if len(parts) == 1:
        rate = parts[0][1]
        description = f"Quota correction: {correction.entry.description} at {rate.currency} {rate.amount} per hour"
    else:  # the overdraft rate changed within the month: each part at the rate in force when it was used
        priced = ", ".join(f"{format_minutes(minutes)} at {rate.currency} {rate.amount} per hour" for minutes, rate in parts)
        description = f"Quota correction: {correction.entry.description} ({priced})"
    return ServiceItem(
        customer_id=contract.customer_id,
        description=description,
        quantity=Decimal(1),
        unit_price=correction.amount,
        reference=f"quota-correction#{contract.id}#{correction.entry.month}",
        partner_id=contract.partner_id,
        period_start=start,
        period_end=end,
        separate_invoice=SeparateInvoice.QUOTA_CORRECTION,
        branch_key=contract.branch_key,
    )


@dataclass(frozen=True)
class ReportBilling:
    """What a service report hands to billing and to the quota ledger."""

    items: tuple[ServiceItem, ...]
    ledger_entries: tuple[LedgerEntry, ...]
    quota_minutes: int = 0
    billed_minutes: int = 0


def report_item_reference(report_id: str, branch_key: str | None) -> str:
    """The item of one branch's share of a report whose tickets name several branches (``head-office``: none)."""
    return f"{report_id}#{branch_key or 'head-office'}"


def bill_service_report(
    report, contracts: Iterable[Contract], ledger: QuotaLedger | None, *, now: datetime, customer=None,
) -> ReportBilling:
    """A service report's billable minutes, each time entry by its work date: from the prepaid quota in force that day
    that covers the branch of the entry's ticket (``quota_covering``; ``ledger``, the ledger of ``quota_of_report``),
    the rest at the hourly rate in force that day, billed through the
    partner of the contract the work was done under, else the partner of ``customer``'s link (``service_partner_id``).

    Non-billable lines never reach an invoice or the quota. A line worked on a day ``ledger``'s contract did not cover
    is not debited from it. Each amount is rounded half-up to the cent once, over all its lines. ``report`` is a
    ``domain.tickets.ServiceReport``.

    Branches (Decided): a report is rounded once, over all its lines, whatever sites its tickets name
    (``ServiceReportLine.branch_key``). A report whose tickets name several branches (or some a branch and some none)
    always hands one item per branch to billing, each referenced ``<report id>#<branch key>`` (``#head-office`` for the
    lines without one); a report of one site is one item referenced by the report id, naming that site. The rounded
    total is shared once per report by the largest remainder (``domain.money.share_cents``), so the items add up exactly
    to the report's total: 3 × 20 min at EUR 95.00 is EUR 95.00, shared 31.67 + 31.67 + 31.66, listed head office first,
    then by branch key (equal remainders take the extra cent in that order). Whether the parts go on invoices of their
    branches or together on one invoice (lines naming their branches) is decided by the billing run, by the billing
    mode and branch billing in force then (``domain.billing.plan_billing_run``), not when the report is made.
    """
    contracts = list(contracts)
    if ledger is not None and ledger.contract.id not in {c.id for c in contracts if c.kind is ContractKind.PREPAID_QUOTA}:
        raise ValidationFailed("The ledger does not belong to a prepaid quota of the customer.", field="ledger")
    billable = [line for line in report.lines if line.billable]
    entries: list[LedgerEntry] = []
    covered = 0
    uncovered = 0
    # per branch (the ticket's, on each line; None: head office): the uncovered minutes at the rate of each one's work
    # date, not yet rounded
    by_branch: dict[str | None, Decimal] = {}
    currency = STANDARD_HOURLY_RATE.currency
    last_uncovered: date | None = None
    under_quota = False
    for line in billable:
        left = line.minutes
        quota = quota_covering(contracts, line.work_date, line.branch_key)
        if ledger is not None and quota is not None and quota.id == ledger.contract.id:
            under_quota = True
            use = ledger.use(report_id=report.id, entry_id=line.entry_id, minutes=line.minutes, now=now,
                             description=f"{line.ticket_number} {line.work_date.isoformat()}")
            if use.entry:
                entries.append(use.entry)
            covered += use.covered_minutes
            left = use.uncovered_minutes
        if left:
            rate = hourly_rate_for(contracts, line.work_date)
            by_branch[line.branch_key] = by_branch.get(line.branch_key, Decimal(0)) + rate.amount * Decimal(left) / Decimal(60)
            currency = rate.currency
            uncovered += left
            last_uncovered = max(last_uncovered or line.work_date, line.work_date)
    items: list[ServiceItem] = []
    if uncovered:
        assert last_uncovered is not None
        # the partner of the contract the (latest) work was done under, else the customer's: its link's billing mode
        # decides who pays when the item is billed
        partner_id = next((c.partner_id for c in contracts if c.active_on(last_uncovered) and c.partner_id), None)
        partner_id = partner_id or service_partner_id(customer)
        total = round_cents(sum(by_branch.values(), Decimal(0)))
        branch_keys = sorted(by_branch, key=lambda key: key or "")  # head office ("") first
        if len(branch_keys) > 1:
            shares = share_cents(total, [by_branch[key] for key in branch_keys])
            parts = [(key, report_item_reference(report.id, key), share) for key, share in zip(branch_keys, shares) if share]
        else:
            parts = [(branch_keys[0] if len(branch_keys) == 1 else None, report.id, total)]
        for branch_key, reference, amount in parts:
            items.append(
                ServiceItem(
                    customer_id=report.customer_id,
                    description=f"Service report {report.id}" + (" (beyond the prepaid quota)" if under_quota else ""),
                    quantity=Decimal(1),
                    unit_price=Money(amount, currency),
                    reference=reference,
                    partner_id=partner_id,
                    period_start=report.first_day,
                    period_end=report.last_day + timedelta(days=1),
                    branch_key=branch_key,
                )
            )
    return ReportBilling(tuple(items), tuple(entries), covered, uncovered)


_FLAT_RATE_LABELS = {ContractKind.RENTAL_FLAT_RATE: ("rental", "Rental flat rate"), ContractKind.DATA_CENTRE_HOSTING: ("hosting", "Data-centre hosting")}


def flat_rate_item(contract: Contract, month: str) -> ServiceItem:
    """A rental or hosting month, billed separately: the monthly fee, pro rata by day for a month covered in part."""
    if contract.kind not in FLAT_RATE_KINDS or contract.monthly_flat_rate is None:
        raise ValidationFailed("Not a rental or data-centre hosting contract.", field="contractId")
    month_start, month_end = _month_bounds(month)
    start = max(month_start, contract.starts_on)
    end = month_end if contract.ends_on is None else min(month_end, contract.ends_on + timedelta(days=1))
    if end <= start:
        raise ValidationFailed(f"Contract {contract.id} does not cover {month}.", field="month")
    prefix, label = _FLAT_RATE_LABELS[contract.kind]
    description = f"{label} {_month_label(month)}"
    fee = contract.monthly_flat_rate
    days, month_days = (end - start).days, (month_end - month_start).days
    if days < month_days:
        description += f" (pro rata {days}/{month_days} days)"
        fee = Money(round_cents(fee.amount * days / month_days), fee.currency)
    return ServiceItem(
        customer_id=contract.customer_id, description=description, quantity=Decimal(1), unit_price=fee,
        reference=f"{prefix}#{contract.id}#{month}", partner_id=contract.partner_id, period_start=start, period_end=end,
        separate_invoice=SeparateInvoice.RENTAL_AND_HOSTING, branch_key=contract.branch_key,
    )


# One transaction holds the contract, the idempotency record and the items withdrawn and added (DynamoDB: 100 items).
MAX_USAGE_LINES = 40
MAX_USAGE_QUANTITY = Decimal("1000000")
USAGE_DECIMAL_PLACES = 3


def managed_service_reference(contract_id: str, code: str, month: str, revision: int = 1) -> str:
    """The service item of a service's use in a month; a recording of the month again gets a new revision."""
    reference = f"managed#{contract_id}#{code}#{month}"
    return reference if revision == 1 else f"{reference}#{revision}"


def usage_recordable_from(month: str) -> date:
    """The Berlin date from which a month's use may be recorded: the first day after the month."""
    return add_months(first_of_month(month), 1)


def _plain(quantity: Decimal) -> Decimal:
    """12.000 → 12, 250.50 → 250.5: as the invoice line shows it."""
    if quantity == 0:
        return Decimal(0)  # not -0
    quantity = quantity.normalize()
    return quantity.quantize(Decimal(1)) if quantity == quantity.to_integral_value() else quantity


def checked_usage(contract: Contract, usage: Iterable[tuple[str, Decimal]]) -> tuple[ManagedServiceUse, ...]:
    """A month's use, each service once, known to the contract, 0 to 1,000,000 units with at most 3 decimal places."""
    lines = list(usage)
    if len(lines) > MAX_USAGE_LINES:
        raise ValidationFailed(f"At most {MAX_USAGE_LINES} services at once.", field="usage")
    services = {s.code for s in contract.managed_services}
    checked: dict[str, ManagedServiceUse] = {}
    for code, quantity in lines:
        code = (code or "").strip()
        if code in checked:
            raise ValidationFailed(f"Managed service '{code}' appears twice.", field="usage", hint="List each service once with its total use.")
        try:
            quantity = Decimal(quantity)
        except (ArithmeticError, TypeError, ValueError):
            raise ValidationFailed(f"The use of '{code}' is not a number.", field="usage") from None
        if not quantity.is_finite() or quantity < 0 or quantity > MAX_USAGE_QUANTITY:
            raise ValidationFailed(f"The use of '{code}' is 0 to {MAX_USAGE_QUANTITY:,} units.", field="usage")
        if quantity != quantity.quantize(Decimal(1).scaleb(-USAGE_DECIMAL_PLACES), rounding=ROUND_DOWN):
            raise ValidationFailed(f"The use of '{code}' has at most {USAGE_DECIMAL_PLACES} decimal places.", field="usage")
        checked[code] = ManagedServiceUse(code, _plain(quantity))
    unknown = sorted(set(checked) - services)
    if unknown:
        raise ValidationFailed(f"Unknown managed service(s): {', '.join(map(repr, unknown))}.", field="usage",
                               hint=f"The contract's services: {', '.join(sorted(services))}.")
    return tuple(checked[code] for code in sorted(checked))


def _term_in(contract: Contract, month: str) -> tuple[date, date]:
    """The part of ``month`` the contract covers (end exclusive); refused if it covers none of it."""
    month_start, month_end = _month_bounds(month)
    start = max(month_start, contract.starts_on)
    end = month_end if contract.ends_on is None else min(month_end, contract.ends_on + timedelta(days=1))
    if end <= start:
        term = f"from {contract.starts_on.isoformat()}" + (f" to {contract.ends_on.isoformat()}" if contract.ends_on else "")
        raise ValidationFailed(f"{_month_label(month)} lies outside the term of contract {contract.id} ({term}).", field="month")
    return start, end


def managed_service_items(contract: Contract, month: str, usage: dict[str, Decimal], *, revision: int = 1) -> list[ServiceItem]:
    """Pay per use: one item per service used in the month (units × unit price), for the part of the month in the term."""
    if contract.kind is not ContractKind.MANAGED_SERVICES:
        raise ValidationFailed("Not a managed services contract.", field="contractId")
    services = {s.code: s for s in contract.managed_services}
    checked = checked_usage(contract, usage.items())
    start, end = _term_in(contract, month)
    return [
        ServiceItem(
            customer_id=contract.customer_id,
            description=f"{services[use.code].name} {_month_label(month)} ({use.quantity} {services[use.code].unit})",
            quantity=use.quantity, unit_price=services[use.code].unit_price,
            reference=managed_service_reference(contract.id, use.code, month, revision),
            partner_id=contract.partner_id, period_start=start, period_end=end, branch_key=contract.branch_key,
        )
        for use in checked
        if use.quantity > 0
    ]


@dataclass(frozen=True)
class UsageRecording:
    """What recording a month's use changes: the contract (its record of the month), the items to hand to billing
    and the references of the previous recording's items to withdraw from billing."""

    contract: Contract
    record: ManagedUsageMonth
    items: tuple[ServiceItem, ...]
    withdrawn: tuple[str, ...]


def record_managed_usage(
    contract: Contract, month: str, usage: Iterable[tuple[str, Decimal]], *, now: datetime, recorded_by: str,
    billed_on: str | None = None,
) -> UsageRecording:
    """Record the complete use of ``month`` once it has ended; again (replacing it) as long as it is not billed.

    ``billed_on``: the invoice (number) that billed the month's current items, if any: the month is then refused.
    """
    if contract.kind is not ContractKind.MANAGED_SERVICES:
        raise ValidationFailed("Only a managed services contract is billed by use.", field="contractId")
    check_month(month)
    _term_in(contract, month)
    recordable_from = usage_recordable_from(month)
    if berlin_date(now) < recordable_from:
        raise ValidationFailed(
            f"{_month_label(month)} has not ended: its use can be recorded from {recordable_from.isoformat()}.", field="month",
            hint="Managed services are billed in arrears, once the month's use is known in full.",
        )
    checked = checked_usage(contract, usage)
    previous = contract.managed_usage_of(month)
    if billed_on is not None:
        raise Conflict(
            f"{_month_label(month)} of contract {contract.id} is billed already (invoice {billed_on}).", field="month",
            hint=f"A billed month is not recorded again: correct invoice {billed_on} with a credit note (creditNoteCreate) "
                 "for use billed in excess.",
        )
    revision = previous.revision + 1 if previous else 1
    items = managed_service_items(contract, month, {u.code: u.quantity for u in checked}, revision=revision)
    record = ManagedUsageMonth(month, checked, revision, ensure_utc(now), recorded_by, berlin_date(now))
    months = sorted([m for m in contract.managed_usage if m.month != month] + [record], key=lambda m: m.month)
    return UsageRecording(
        contract=replace(contract, managed_usage=tuple(months)), record=record, items=tuple(items),
        withdrawn=previous.item_references(contract.id) if previous else (),
    )


def check_month(month: str, field: str = "month") -> None:
    """A month written YYYY-MM in ASCII digits (not '２０２６-１１', which int() would read as 2026-11 under another key)."""
    parts = month.split("-") if isinstance(month, str) else []
    digits = len(parts) == 2 and all(p.isascii() and p.isdigit() for p in parts)
    if not digits or (len(parts[0]), len(parts[1])) != (4, 2) or not 1 <= int(parts[1]) <= 12 or int(parts[0]) < 1:
        raise ValidationFailed(f"'{month}' is not a month.", field=field, hint="Write months as YYYY-MM.")


def check_quota_month_bookable(contract: Contract, month: str, *, now: datetime) -> None:
    """A quota month booked by hand (``contractQuotaMonthBook``) is one the daily job books, from the day it books it.

    Booking month M closes M-1 (its overdraft correction) and credits M, so M is booked from its first day (the start
    date in the month the contract starts), once M-1 has ended: booking December on 2026-11-15 would close November
    mid-month, and what November's later reports overdraw would never be corrected; booking 2031-01 would invoice the
    running month's overdraft now. The months are the job's: from the start month to the month after the last (which
    closes the last). Booking a month booked already books nothing (each entry and item has a deterministic key).
    """
    check_month(month)
    if contract.quota is None:
        raise ValidationFailed(f"Contract {contract.id} is not a prepaid quota contract.", field="contractId")
    first = month_key(contract.starts_on)
    last = month_key(add_months(contract.ends_on.replace(day=1), 1)) if contract.ends_on is not None else None
    if month < first or (last is not None and month > last):
        months = f"{first} to {last}" if last is not None else f"from {first}"
        raise ValidationFailed(f"{month} is not a quota month of contract {contract.id} ({months}).", field="month",
                               hint="The month after a contract's last month is booked to close the last one.")
    due = contract._month_due_on(month)
    today = berlin_date(now)
    if today < due:
        previous = month_key(first_of_month(month) - timedelta(days=1))
        raise ValidationFailed(
            f"{_month_label(month)} of contract {contract.id} can be booked from {due.isoformat()} on, not on {today.isoformat()}.",
            field="month",
            hint=f"Booking a month closes the month before it ({_month_label(previous)}: its overdraft correction) and credits "
                 "it, so only a month whose previous month has ended is booked; the daily quota job books each month on its "
                 "first day.",
        )


# --- maintenance schedules ----------------------------------------------------------------


@dataclass(frozen=True)
class MaintenanceSchedule:
    """Recurring maintenance of a contract or managed service: a ticket per due date, ``lead_days`` ahead."""

    id: str
    contract_id: str
    customer_id: str
    subject: str
    every_months: int
    anchor: date  # the first due date; due n is anchor + n × every_months
    lead_days: int = 0
    description: str = ""
    next_index: int = 0
    ends_on: date | None = None
    managed_service_code: str | None = None  # the managed service this maintenance belongs to, if any
    stops_after: date | None = None  # the schedule's own last day (maintenanceScheduleEnd); ``ends_on`` is the contract's
    branch_key: str | None = None  # the contract's branch (None: head office), kept in step with it (contractBranchSet)
    version: int = 0

    def due_date(self, index: int) -> date:
        return add_months(self.anchor, index * self.every_months)

    @property
    def last_day(self) -> date | None:
        """No due date after this day: the schedule's end or its contract's, the earlier."""
        ends = [d for d in (self.ends_on, self.stops_after) if d is not None]
        return min(ends) if ends else None

    @property
    def next_due(self) -> date | None:
        due = self.due_date(self.next_index)
        last = self.last_day
        return None if last is not None and due > last else due

    @property
    def next_creation_date(self) -> date | None:
        """The Berlin date on which the next due date's ticket is created."""
        due = self.next_due
        return None if due is None else due - timedelta(days=self.lead_days)

    def is_due(self, run_date: date) -> bool:
        creation = self.next_creation_date
        return creation is not None and creation <= run_date

    def advanced(self) -> "MaintenanceSchedule":
        return replace(self, next_index=self.next_index + 1)

    def first_index_on_or_after(self, day: date) -> int:
        """The index of the first due date on or after ``day`` (0 while the anchor lies ahead)."""
        months = (day.year - self.anchor.year) * 12 + day.month - self.anchor.month
        index = max(0, months // self.every_months - 1)  # a due date in an earlier month than ``day``: counted up from there
        while self.due_date(index) < day:
            index += 1
        return index

    def from_day(self, day: date) -> "MaintenanceSchedule":
        """The schedule whose next due date is the first on or after ``day``: earlier ones get no ticket."""
        return replace(self, next_index=max(self.next_index, self.first_index_on_or_after(day)))

    def with_contract_end(self, ends_on: date | None) -> "MaintenanceSchedule":
        """The schedule of a contract whose end was set or moved: no due date after the contract's last day."""
        return replace(self, ends_on=ends_on)

    def with_contract_branch(self, branch_key: str | None) -> "MaintenanceSchedule":
        """The schedule of a contract delivered at another branch: its tickets from now on name that branch."""
        return replace(self, branch_key=branch_key or None)


def _check_cycle(every_months: int, lead_days: int) -> None:
    if isinstance(every_months, bool) or not isinstance(every_months, int) or not 1 <= every_months <= 36:
        raise ValidationFailed("A maintenance cycle is 1 to 36 months.", field="everyMonths")
    if isinstance(lead_days, bool) or not isinstance(lead_days, int) or not 0 <= lead_days <= 60:
        raise ValidationFailed("Tickets are created 0 to 60 days ahead.", field="leadDays")


def new_maintenance_schedule(
    *, schedule_id: str, contract: Contract, subject: str, every_months: int, anchor: date, today: date, lead_days: int = 0,
    description: str = "", managed_service_code: str | None = None,
) -> MaintenanceSchedule:
    """A schedule entered on ``today`` (Berlin): its first ticket is for the first due date on or after ``today``."""
    _check_cycle(every_months, lead_days)
    if anchor < contract.starts_on:
        raise ValidationFailed("The first maintenance lies before the contract starts.", field="firstDue")
    if managed_service_code is not None and managed_service_code not in {s.code for s in contract.managed_services}:
        raise ValidationFailed(f"The contract has no managed service '{managed_service_code}'.", field="managedServiceCode")
    schedule = MaintenanceSchedule(
        id=schedule_id, contract_id=contract.id, customer_id=contract.customer_id,
        subject=require_text(subject, "subject", label="The maintenance subject"),
        every_months=every_months, anchor=anchor, lead_days=lead_days, description=(description or "").strip(),
        ends_on=contract.ends_on, managed_service_code=managed_service_code, branch_key=contract.branch_key,
    ).from_day(today)
    if schedule.next_due is None:
        assert contract.ends_on is not None
        raise ValidationFailed(
            f"The contract ends on {contract.ends_on.isoformat()}, before the next due date "
            f"{schedule.due_date(schedule.next_index).isoformat()}: the schedule would never raise a ticket.",
            field="firstDue", hint="Plan maintenance of a contract that runs on; a new contract gets its own schedule.",
        )
    return schedule


def change_maintenance_schedule(
    schedule: MaintenanceSchedule, *, today: date, subject: str | None = None, every_months: int | None = None,
    lead_days: int | None = None, description: str | None = None,
) -> MaintenanceSchedule:
    """``schedule`` with what is given changed, for the tickets still to come (``None``: unchanged).

    A new interval keeps the first due date's rhythm and continues after the last due date handled (its ticket created,
    or passed when the schedule was entered), on or after ``today``: no due date gets a second ticket, and none in the
    past gets a first one."""
    every_months = schedule.every_months if every_months is None else every_months
    lead_days = schedule.lead_days if lead_days is None else lead_days
    _check_cycle(every_months, lead_days)
    changed = replace(
        schedule, lead_days=lead_days,
        subject=schedule.subject if subject is None else require_text(subject, "subject", label="The maintenance subject"),
        description=schedule.description if description is None else description.strip(),
    )
    if every_months != schedule.every_months:
        start = today
        if schedule.next_index > 0:
            start = max(today, schedule.due_date(schedule.next_index - 1) + timedelta(days=1))
        changed = replace(changed, every_months=every_months, next_index=0).from_day(start)
    return changed


def end_maintenance_schedule(schedule: MaintenanceSchedule, *, last_day: date, today: date) -> MaintenanceSchedule:
    """No due date after ``last_day`` (today or later); a later day given again moves the end. A schedule that had run
    out starts again at its first due date on or after today, never with the ones that passed meanwhile."""
    if last_day < today:
        raise ValidationFailed(
            f"The last day {last_day.isoformat()} lies in the past.", field="lastDay",
            hint=f"End it today ({today.isoformat()}) at the earliest: tickets created already stay open until they are closed.",
        )
    ended = replace(schedule, stops_after=last_day)
    return ended.from_day(today) if schedule.next_due is None else ended


def maintenance_ticket_id(schedule_id: str, due: date) -> str:
    """One ticket per schedule and due date: a re-run derives the same id and the conditional put refuses it."""
    return "tkt_" + hashlib.sha256(f"maintenance|{schedule_id}|{due.isoformat()}".encode()).hexdigest()[:20]


def maintenance_source_key(schedule_id: str, due: date) -> str:
    return f"maintenance#{schedule_id}#{due.isoformat()}"
