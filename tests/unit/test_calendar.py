from datetime import date, datetime, timedelta, timezone

import pytest

from domain.calendar import (
    add_months,
    anchored_period,
    berlin_date,
    days_between,
    ensure_utc,
    format_utc,
    next_anchored_after,
    period_index_containing,
)

from domain.calendar import BERLIN

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_monthly_periods_from_jan_31_are_computed_from_the_anchor_not_chained():
    anchor = utc(2024, 1, 31, 10)  # 11:00 in Berlin; summer time from 2024-03-31
    ends = [anchored_period(anchor, 1, n)[1] for n in range(3)]
    assert ends == [utc(2024, 2, 29, 10), utc(2024, 3, 31, 9), utc(2024, 4, 30, 9)]
    assert {end.astimezone(BERLIN).hour for end in ends} == {11}


def test_months_are_added_on_the_berlin_calendar_not_the_utc_one():
    # Bought 2024-01-31 00:30 in Berlin, which is still 2024-01-30 by UTC: anchored on the 31st.
    bought = utc(2024, 1, 30, 23, 30)
    ends = [anchored_period(bought, 1, n)[1] for n in range(3)]
    assert [berlin_date(end) for end in ends] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert ends == [utc(2024, 2, 28, 23, 30), utc(2024, 3, 30, 23, 30), utc(2024, 4, 29, 22, 30)]
    # 2023-03-01 00:30 Berlin (2023-02-28 by UTC) renews 2023-04-01, not on the 28th of the month.
    assert berlin_date(add_months(utc(2023, 2, 28, 23, 30), 1)) == date(2023, 4, 1)
    # 23:30 CET on 2024-03-15 (22:30 UTC) renews 23:30 CEST on 2024-04-15, which is 21:30 UTC.
    assert add_months(utc(2024, 3, 15, 22, 30), 1) == utc(2024, 4, 15, 21, 30)


def test_an_anchor_time_the_clock_change_skips_or_repeats_still_gives_one_instant():
    # 02:30 CET on 2024-02-29 plus one month: 02:30 on 2024-03-29, still winter time.
    assert add_months(utc(2024, 2, 29, 1, 30), 1) == utc(2024, 3, 29, 1, 30)
    # The spring change (2024-03-31 02:00 -> 03:00) skips 02:30: read with the winter offset, 01:30 UTC.
    assert add_months(utc(2023, 12, 31, 1, 30), 3) == utc(2024, 3, 31, 1, 30)
    # The autumn change (2024-10-27 03:00 -> 02:00) repeats 02:30: the first one, in summer time (00:30 UTC).
    assert add_months(utc(2024, 9, 27, 0, 30), 1) == utc(2024, 10, 27, 0, 30)
    # An anchor in the repeated hour itself (the second 02:30, 01:30 UTC) is its own period start, not an hour earlier.
    second = utc(2024, 10, 27, 1, 30)
    assert add_months(second, 0) == second and anchored_period(second, 1, 0)[0] == second
    assert add_months(second, 1) == utc(2024, 11, 27, 1, 30)  # 02:30 CET


def test_leap_day_annual_anchor_renews_on_feb_28_and_again_on_feb_29_in_the_next_leap_year():
    anchor = date(2024, 2, 29)
    assert [add_months(anchor, 12 * n) for n in (1, 2, 4)] == [date(2025, 2, 28), date(2026, 2, 28), date(2028, 2, 29)]


def test_period_index_containing_treats_the_period_end_as_exclusive():
    anchor = utc(2023, 1, 15, 10)
    assert period_index_containing(anchor, 1, utc(2023, 2, 15, 9, 59)) == 0
    assert period_index_containing(anchor, 1, utc(2023, 2, 15, 10)) == 1


def test_period_index_containing_after_a_clamped_month_end():
    anchor = utc(2024, 1, 31, 10)
    # 2024-03-30 lies in the period 2024-02-29 .. 2024-03-31, not in one starting 03-29.
    assert period_index_containing(anchor, 1, utc(2024, 3, 30)) == 1
    assert period_index_containing(anchor, 1, utc(2024, 3, 31, 10)) == 2


def test_period_index_containing_is_negative_before_the_anchor():
    assert period_index_containing(utc(2023, 1, 15, 10), 12, utc(2023, 1, 15, 9)) == -1


def test_next_anchored_after_is_strictly_after():
    anchor = date(2024, 1, 31)
    assert next_anchored_after(anchor, 1, date(2024, 2, 29)) == date(2024, 3, 31)
    assert next_anchored_after(anchor, 1, date(2024, 2, 28)) == date(2024, 2, 29)


def test_berlin_date_of_a_late_evening_utc_instant_is_the_next_day():
    assert berlin_date(utc(2023, 1, 20, 23, 0)) == date(2023, 1, 21)  # CET, UTC+1
    assert berlin_date(utc(2023, 1, 20, 22, 59)) == date(2023, 1, 20)
    assert berlin_date(utc(2023, 7, 20, 22, 0)) == date(2023, 7, 21)  # CEST, UTC+2


def test_days_between_counts_end_exclusive():
    assert days_between(date(2023, 1, 20), date(2023, 2, 15)) == 26
    assert days_between(date(2024, 1, 1), date(2025, 1, 1)) == 366


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        ensure_utc(datetime(2023, 1, 15, 10))


def test_ensure_utc_converts_other_offsets():
    plus_two = timezone(timedelta(hours=2))
    assert ensure_utc(datetime(2023, 6, 1, 11, tzinfo=plus_two)) == utc(2023, 6, 1, 9)
    assert ensure_utc(datetime(2023, 6, 1, 11, tzinfo=plus_two)).tzinfo == UTC


def test_format_utc_for_messages():
    assert format_utc(utc(2024, 1, 15, 10)) == "2024-01-15 10:00 UTC"
