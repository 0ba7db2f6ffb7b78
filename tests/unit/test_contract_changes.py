"""Changes of a contract after its creation: the overdraft of a prepaid quota granted or withdrawn from an instant on,
and the contract's last day set or moved (domain rules; the jobs and GraphQL: tests/e2e/test_contract_changes_api.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from domain import contracts as ct
from domain.errors import Conflict, ValidationFailed
from domain.money import Money


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def quota_contract(**quota) -> ct.Contract:
    return ct.new_contract(contract_id="ctr_q", customer_id="cus_1", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=date(2026, 12, 1),
                           rates=ct.Rates(Money.of("110.00")), now=utc(2026, 11, 20, 9),
                           quota=ct.QuotaTerms(600, Money.of("900.00"), **quota))


def debit(ledger: ct.QuotaLedger, minutes: int, at: datetime, entry: str) -> ct.QuotaUse:
    return ledger.use(report_id=f"rep_{entry}", entry_id=entry, minutes=minutes, now=at)


def test_overdraft_granted_on_10_december_applies_to_the_report_of_the_15th_at_the_agreed_rate():
    contract = ct.set_quota_overdraft(quota_contract(), allowed=True, hourly_rate=Money.of("95.00"), now=utc(2026, 12, 10, 9), by="usr_ops")
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2026-12", now=utc(2026, 12, 1, 0, 30))
    assert debit(ledger, 720, utc(2026, 12, 15, 14), "a").uncovered_minutes == 0

    correction = ledger.close_month("2026-12", now=utc(2027, 1, 1, 0, 30))
    assert (correction.entry.minutes, correction.amount, correction.parts) == (120, Money.of("190.00"), ((120, Money.of("95.00")),))
    assert ct.overdraft_item(contract, correction).description == "Quota correction: Overdraft December 2026: 2:00 h at EUR 95.00 per hour"
    assert contract.changes == (ct.ContractChange(ct.ContractChangeKind.QUOTA_OVERDRAFT, utc(2026, 12, 10, 9), "usr_ops", True,
                                                  Money.of("95.00"), False, None),)


def test_a_new_overdraft_rate_applies_to_overdraft_used_after_it_not_before():
    contract = quota_contract(overdraft_allowed=True, overdraft_hourly_rate=Money.of("95.00"))
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2026-12", now=utc(2026, 12, 1, 0, 30))
    debit(ledger, 720, utc(2026, 12, 5, 14), "a")  # 2:00 h overdraft at 95
    contract = ct.set_quota_overdraft(contract, allowed=True, hourly_rate=Money.of("120.00"), now=utc(2026, 12, 10, 9), by="usr_ops")
    ledger = ct.QuotaLedger(contract, ledger.entries)
    debit(ledger, 60, utc(2026, 12, 15, 14), "b")  # 1:00 h overdraft at 120

    correction = ledger.close_month("2026-12", now=utc(2027, 1, 1, 0, 30))
    assert (correction.entry.minutes, correction.amount) == (180, Money.of("310.00"))
    assert ct.overdraft_item(contract, correction).description == (
        "Quota correction: Overdraft December 2026: 3:00 h (2:00 h at EUR 95.00 per hour, 1:00 h at EUR 120.00 per hour)")


def test_a_withdrawn_overdraft_keeps_what_was_used_before_at_its_rate_and_bills_later_work_at_the_hourly_rate():
    contract = quota_contract(overdraft_allowed=True, overdraft_hourly_rate=Money.of("95.00"))
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2026-12", now=utc(2026, 12, 1, 0, 30))
    debit(ledger, 720, utc(2026, 12, 5, 14), "a")
    contract = ct.set_quota_overdraft(contract, allowed=False, hourly_rate=None, now=utc(2026, 12, 10, 9), by="usr_ops")
    ledger = ct.QuotaLedger(contract, ledger.entries)
    assert debit(ledger, 60, utc(2026, 12, 15, 14), "b").uncovered_minutes == 60

    assert ledger.close_month("2026-12", now=utc(2027, 1, 1, 0, 30)).amount == Money.of("190.00")


@pytest.mark.parametrize("allowed, rate, error, field", [
    (True, Money.of("0.00"), ValidationFailed, "hourlyRate"),
    (True, Money.of("-5.00"), ValidationFailed, "hourlyRate"),
    (True, Money.of("95.005"), ValidationFailed, "hourlyRate"),
    (True, Money.of("95.00", "USD"), ValidationFailed, "hourlyRate"),
    (False, Money.of("95.00"), ValidationFailed, "hourlyRate"),
    (False, None, Conflict, "allowed"),  # not allowed already
    (True, Money.of("110.00"), None, None),  # the hourly rate, given: a grant
])
def test_overdraft_setting_refusals(allowed, rate, error, field):
    if error is None:
        assert ct.set_quota_overdraft(quota_contract(), allowed=allowed, hourly_rate=rate, now=utc(2026, 12, 10), by="u").quota.overdraft_allowed
        return
    with pytest.raises(error) as refused:
        ct.set_quota_overdraft(quota_contract(), allowed=allowed, hourly_rate=rate, now=utc(2026, 12, 10), by="u")
    assert refused.value.field == field


def test_granting_the_overdraft_at_the_rate_it_has_already_is_refused_and_other_kinds_have_none():
    granted = quota_contract(overdraft_allowed=True)
    with pytest.raises(Conflict):
        ct.set_quota_overdraft(granted, allowed=True, hourly_rate=Money.of("110.00"), now=utc(2026, 12, 10), by="u")
    rental = ct.new_contract(contract_id="ctr_r", customer_id="cus_1", kind=ct.ContractKind.RENTAL_FLAT_RATE, starts_on=date(2026, 11, 16),
                             rates=ct.Rates(Money.of("110.00")), now=utc(2026, 11, 20), monthly_flat_rate=Money.of("300.00"))
    with pytest.raises(ValidationFailed) as refused:
        ct.set_quota_overdraft(rental, allowed=True, hourly_rate=None, now=utc(2026, 12, 10), by="u")
    assert refused.value.field == "contractId"


def test_a_quota_ended_31_march_closes_march_on_1_april_and_books_nothing_after():
    contract = ct.end_contract(quota_contract(), date(2027, 3, 31), now=utc(2027, 2, 10, 9), by="usr_ops")
    contract = replace(contract, quota_booked_through="2027-02")
    assert contract.quota_months_due(date(2027, 6, 1)) == ["2027-03", "2027-04"]  # April only closes March
    assert ct.QuotaLedger(contract).credit_month("2027-04", now=utc(2027, 4, 1)) is None


@pytest.mark.parametrize("today, ends_on, booked, error, earliest", [
    (date(2027, 2, 10), date(2026, 11, 30), None, ValidationFailed, None),  # before the start
    (date(2027, 2, 10), date(2027, 2, 9), None, ValidationFailed, None),  # in the past
    (date(2027, 2, 10), date(2027, 2, 10), "2027-02", Conflict, "2027-02-28"),  # inside the booked month
    (date(2027, 3, 10), date(2027, 3, 20), "2027-03", Conflict, "2027-03-31"),
    (date(2027, 3, 10), date(2027, 3, 31), "2027-03", None, None),
    (date(2026, 11, 23), date(2026, 12, 1), None, None, None),  # before any month is booked: the first day is enough
])
def test_end_dates_of_a_quota(today, ends_on, booked, error, earliest):
    contract = replace(quota_contract(), quota_booked_through=booked)
    now = utc(today.year, today.month, today.day, 9)
    if error is None:
        assert ct.end_contract(contract, ends_on, now=now, by="u").ends_on == ends_on
        return
    with pytest.raises(error) as refused:
        ct.end_contract(contract, ends_on, now=now, by="u")
    assert refused.value.field == "endsOn"
    if earliest:
        assert earliest in refused.value.message


def test_an_ended_contract_and_a_rental_month_billed_pro_rata_keep_their_end():
    ended = ct.end_contract(quota_contract(), date(2027, 3, 31), now=utc(2027, 2, 10), by="u")
    with pytest.raises(Conflict) as refused:
        ct.end_contract(ended, date(2027, 6, 30), now=utc(2027, 4, 5), by="u")
    assert refused.value.field == "contractId"
    with pytest.raises(Conflict):
        ct.end_contract(ended, date(2027, 3, 31), now=utc(2027, 2, 11), by="u")  # the same end

    rental = ct.new_contract(contract_id="ctr_r", customer_id="cus_1", kind=ct.ContractKind.RENTAL_FLAT_RATE, starts_on=date(2026, 11, 16),
                             rates=ct.Rates(Money.of("110.00")), now=utc(2026, 11, 20), monthly_flat_rate=Money.of("300.00"))
    rental = ct.end_contract(rental, date(2027, 3, 15), now=utc(2027, 2, 10), by="u")
    assert ct.flat_rate_item(rental, "2027-03").unit_price == Money.of("145.16")  # 15/31 of 300.00
    booked = replace(rental, flat_rate_booked_through="2027-03")
    assert booked.next_flat_rate_month is None
    for later in (date(2027, 3, 31), date(2027, 6, 30)):
        with pytest.raises(Conflict) as refused:
            ct.end_contract(booked, later, now=utc(2027, 3, 5), by="u")
        assert "pro rata" in refused.value.message
