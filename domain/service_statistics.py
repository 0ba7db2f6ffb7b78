"""Service-desk statistics for extended customer users and staff: tickets per month and status,
hours billable and not, and the use of a prepaid quota.

Decided: a ticket counts in the Berlin month it was received, with its current status; time
counts in the month of its work date; months are ``YYYY-MM``, both ends inclusive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from domain.calendar import berlin_date
from domain.contracts import QuotaLedger, month_key
from domain.errors import ValidationFailed
from domain.tickets import Ticket, TicketStatus

MAX_MONTHS = 24


@dataclass(frozen=True)
class TicketCount:
    month: str
    status: TicketStatus
    count: int


@dataclass(frozen=True)
class MonthlyQuotaUse:
    month: str
    used_minutes: int


@dataclass(frozen=True)
class QuotaUsage:
    contract_id: str
    monthly_minutes: int
    balance_minutes: int
    overdraft_allowed: bool
    months: tuple[MonthlyQuotaUse, ...]


@dataclass(frozen=True)
class ServiceStatistics:
    first_month: str
    last_month: str
    tickets: tuple[TicketCount, ...]
    billable_minutes: int
    non_billable_minutes: int
    quota: QuotaUsage | None = None


def _months(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    end_year, end_month = map(int, last.split("-"))
    months = []
    while (year, month) <= (end_year, end_month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def check_months(first_month: str, last_month: str) -> list[str]:
    for name, value in (("fromMonth", first_month), ("toMonth", last_month)):
        parts = value.split("-") if isinstance(value, str) else []
        # ASCII digits only: str.isdigit accepts '２０２６' (and '²'), which int() reads as another month's number
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12 or len(parts[0]) != 4:
            raise ValidationFailed(f"'{value}' is not a month.", field=name, hint="Write months as YYYY-MM.")
    months = _months(first_month, last_month)
    if not months:
        raise ValidationFailed("The period ends before it starts.", field="toMonth")
    if len(months) > MAX_MONTHS:
        raise ValidationFailed(f"At most {MAX_MONTHS} months at once.", field="toMonth")
    return months


def service_statistics(
    tickets: Iterable[Ticket], *, first_month: str, last_month: str, ledger: QuotaLedger | None = None
) -> ServiceStatistics:
    months = set(check_months(first_month, last_month))
    counts: Counter[tuple[str, TicketStatus]] = Counter()
    billable = non_billable = 0
    for ticket in tickets:
        month = month_key(berlin_date(ticket.received_at))
        if month in months:
            counts[(month, ticket.status)] += 1
        for entry in ticket.time_entries:
            if month_key(entry.work_date) in months:
                if entry.billable:
                    billable += entry.minutes
                else:
                    non_billable += entry.minutes
    quota = None
    if ledger is not None:
        quota = QuotaUsage(
            contract_id=ledger.contract.id,
            monthly_minutes=ledger.terms.monthly_minutes,
            balance_minutes=ledger.balance_minutes,
            overdraft_allowed=ledger.terms.overdraft_allowed,
            months=tuple(MonthlyQuotaUse(m, ledger.usage_in(m)) for m in sorted(months)),
        )
    return ServiceStatistics(
        first_month=first_month,
        last_month=last_month,
        tickets=tuple(TicketCount(m, s, n) for (m, s), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1].value))),
        billable_minutes=billable,
        non_billable_minutes=non_billable,
        quota=quota,
    )
