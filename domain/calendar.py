"""Anchored month arithmetic and the Berlin calendar.

Instants are timezone-aware UTC datetimes; calendar dates (renewal dates, price-list
dates, pro-rata days) are the Europe/Berlin date of an instant, and months are added to an
instant on the Berlin calendar (its day of month is the Berlin one).

Periods (terms, billing cycles, SaaS payment dates) are always computed from their
anchor: period ``n`` starts at ``anchor + n × months``. Chaining ("previous end plus one
month") would drift after a short month: 2024-01-31 → 02-29 → 03-29 instead of 03-31.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

BERLIN = ZoneInfo("Europe/Berlin")

AnchorT = TypeVar("AnchorT", date, datetime)


def ensure_utc(instant: datetime) -> datetime:
    """The same instant expressed in UTC; a naive datetime is a programming error."""
    if instant.tzinfo is None or instant.tzinfo.utcoffset(instant) is None:
        raise ValueError(f"{instant!r} has no time zone; instants must be timezone-aware UTC datetimes")
    return instant.astimezone(timezone.utc)


def berlin_date(instant: datetime) -> date:
    """The calendar date in Europe/Berlin on which ``instant`` falls (23:30 UTC in winter is already tomorrow)."""
    return ensure_utc(instant).astimezone(BERLIN).date()


def add_months(anchor: AnchorT, months: int) -> AnchorT:
    """``anchor`` plus whole months, clamped to the end of shorter months (Jan 31 + 1 → Feb 28/29).

    An instant moves on the Berlin calendar, at the same Berlin time of day: a term bought 2024-01-31 00:30 in
    Berlin (2024-01-30 23:30 UTC) is anchored on the 31st and renews 2024-02-29 00:30 Berlin, not on the 30th by
    UTC; a term bought at 23:30 CET renews at 23:30 CEST. The result is UTC again.
    """
    if isinstance(anchor, datetime):
        local = ensure_utc(anchor).astimezone(BERLIN)
        return berlin_instant(local.replace(tzinfo=None) + relativedelta(months=months), fold=local.fold)
    return anchor + relativedelta(months=months)


def berlin_instant(wall_clock: datetime, *, fold: int = 0) -> datetime:
    """The UTC instant of a Berlin wall-clock time. A time the spring change skips (02:30 on the last Sunday of
    March) is read with the winter offset, so it falls an hour later by the clock; a time the autumn change repeats
    is its first occurrence (summer time), or with ``fold=1`` its second (an anchor in that second hour keeps it)."""
    return wall_clock.replace(tzinfo=BERLIN, fold=fold).astimezone(timezone.utc)


def anchored_period(anchor: AnchorT, months_per_period: int, index: int) -> tuple[AnchorT, AnchorT]:
    """Start and (exclusive) end of period ``index`` counted from ``anchor``."""
    if months_per_period <= 0:
        raise ValueError("months_per_period must be positive")
    return (
        add_months(anchor, index * months_per_period),
        add_months(anchor, (index + 1) * months_per_period),
    )


def period_index_containing(anchor: AnchorT, months_per_period: int, moment: AnchorT) -> int:
    """The ``index`` whose anchored period [start, end) contains ``moment`` (negative before the anchor)."""
    if months_per_period <= 0:
        raise ValueError("months_per_period must be positive")
    months_apart = (moment.year - anchor.year) * 12 + (moment.month - anchor.month)
    index = months_apart // months_per_period
    # The estimate ignores day and time of day, and clamping at month ends; it is off by at most one.
    while add_months(anchor, index * months_per_period) > moment:
        index -= 1
    while add_months(anchor, (index + 1) * months_per_period) <= moment:
        index += 1
    return index


def next_anchored_after(anchor: AnchorT, months_per_period: int, moment: AnchorT) -> AnchorT:
    """The first anchored boundary strictly after ``moment``."""
    return add_months(anchor, (period_index_containing(anchor, months_per_period, moment) + 1) * months_per_period)


# A daily job reads the due items of its run date and of this many days before, so after an outage of up to a week
# its next run catches up on everything it missed (longer: hand-run it for the missed dates, oldest first).
CATCH_UP_DAYS = 7


def days_to_catch_up(run_date: date, days: int = CATCH_UP_DAYS) -> list[date]:
    """The run date and the ``days`` days before it, oldest first."""
    return [run_date - timedelta(days=back) for back in range(days, -1, -1)]


def days_between(start: date, end: date) -> int:
    """Whole calendar days from ``start`` to ``end`` (end exclusive)."""
    return (end - start).days


def format_utc(instant: datetime) -> str:
    """How instants appear in messages to people: ``2024-01-15 10:00 UTC``."""
    return ensure_utc(instant).strftime("%Y-%m-%d %H:%M UTC")

