"""A quota month booked by hand (contractQuotaMonthBook) is a month the daily job books, from the day it books it,
written YYYY-MM in ASCII digits (domain.contracts.check_quota_month_bookable, domain.service_statistics.check_months)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain import contracts as ct
from domain.errors import ValidationFailed
from domain.money import Money
from domain.service_statistics import check_months


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def quota(starts_on=date(2026, 11, 1), ends_on=None) -> ct.Contract:
    return ct.new_contract(contract_id="ctr_q", customer_id="cus_hanse", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=starts_on,
                           rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9), ends_on=ends_on,
                           quota=ct.QuotaTerms(60, Money.of("90.00"), overdraft_allowed=True))


@pytest.mark.parametrize("month", ["２０２６-１１", "2026-１１", "²026-11", "2026-11 ", "2026-1", "0000-01", "2026-13", "26-11", "2026/11", ""])
def test_a_month_is_yyyy_mm_in_ascii_digits(month):
    with pytest.raises(ValidationFailed, match="is not a month") as refused:
        ct.check_quota_month_bookable(quota(), month, now=utc(2026, 11, 23, 9))
    assert (refused.value.field, refused.value.hint) == ("month", "Write months as YYYY-MM.")


@pytest.mark.parametrize("month", ["２０２６-１１", "2026-１１", "²026-11"])
def test_statistics_months_are_ascii_digits_too(month):
    with pytest.raises(ValidationFailed, match="is not a month"):
        check_months(month, "2026-11")
    with pytest.raises(ValidationFailed, match="is not a month"):
        check_months("2026-11", month)
    assert check_months("2026-10", "2026-11") == ["2026-10", "2026-11"]


def test_december_is_booked_from_1_december_not_on_15_november():
    with pytest.raises(ValidationFailed) as refused:
        ct.check_quota_month_bookable(quota(), "2026-12", now=utc(2026, 11, 15, 10))
    assert refused.value.field == "month"
    assert refused.value.message == "December 2026 of contract ctr_q can be booked from 2026-12-01 on, not on 2026-11-15."
    assert "closes the month before it (November 2026" in refused.value.hint
    with pytest.raises(ValidationFailed, match="can be booked from 2031-01-01 on"):
        ct.check_quota_month_bookable(quota(), "2031-01", now=utc(2026, 11, 15, 10))
    # 2026-11-30 23:30 UTC is already 1 December in Berlin
    ct.check_quota_month_bookable(quota(), "2026-12", now=utc(2026, 11, 30, 23, 30))
    ct.check_quota_month_bookable(quota(), "2026-11", now=utc(2026, 11, 15, 10))  # the running month: booked on its first day


def test_the_first_month_is_booked_from_the_start_date_and_nothing_before_or_after_the_term():
    starting = quota(starts_on=date(2026, 11, 16), ends_on=date(2027, 1, 31))
    with pytest.raises(ValidationFailed, match="can be booked from 2026-11-16 on, not on 2026-11-15"):
        ct.check_quota_month_bookable(starting, "2026-11", now=utc(2026, 11, 15, 10))
    with pytest.raises(ValidationFailed, match=r"2026-10 is not a quota month of contract ctr_q \(2026-11 to 2027-02\)"):
        ct.check_quota_month_bookable(starting, "2026-10", now=utc(2026, 11, 20, 10))
    with pytest.raises(ValidationFailed, match="2027-03 is not a quota month"):
        ct.check_quota_month_bookable(starting, "2027-03", now=utc(2027, 3, 2, 10))
    ct.check_quota_month_bookable(starting, "2027-02", now=utc(2027, 2, 1, 10))  # closes January, the last month
