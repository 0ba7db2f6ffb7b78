"""A service report bills each time entry by its work date, not by the day the report is made (domain.contracts).

Hanse's prepaid quota: 10 h a month for EUR 900.00 from 2026-11-01 to 2026-12-31, hourly rate EUR 95.00; November
and December credited, nothing used: 1,200 minutes left. 2 h of work on 2026-12-30, reported on 2027-01-04. Before,
the report date decided: no contract in force on 2027-01-04, so 2 h at the list price of EUR 110.00 = EUR 220.00.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain import contracts as ct
from domain import tickets as tk
from domain.errors import ValidationFailed
from domain.money import Money


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def quota(*, overdraft: bool = False, starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31), contract_id="ctr_q") -> ct.Contract:
    return ct.new_contract(contract_id=contract_id, customer_id="cus_hanse", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=starts_on,
                           ends_on=ends_on, rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9),
                           quota=ct.QuotaTerms(600, Money.of("900.00"), overdraft_allowed=overdraft), partner_id="ptn_nordit")


def ledger_of(contract: ct.Contract, months=("2026-11", "2026-12")) -> ct.QuotaLedger:
    ledger = ct.QuotaLedger(contract)
    for month in months:
        ledger.credit_month(month, now=utc(int(month[:4]), int(month[5:]), 1, 0, 30))
    return ledger


def report(*lines: tuple[date, int], made=utc(2027, 1, 4, 10)) -> tk.ServiceReport:
    return tk.ServiceReport(
        id="srv_1", customer_id="cus_hanse", scope=tk.ServiceReportScope.PERIOD, first_day=min(d for d, _ in lines),
        last_day=max(d for d, _ in lines), created_at=made,
        lines=tuple(tk.ServiceReportLine(f"tim_{n}", "tkt_1", "T-000001", day, "usr_tech", minutes, True, "Server-Update", None)
                    for n, (day, minutes) in enumerate(lines)),
    )


def test_work_of_2026_12_30_reported_on_2027_01_04_is_debited_from_the_quota_that_ended_2026_12_31():
    contract = quota()
    worked = report((date(2026, 12, 30), 120))
    assert ct.quota_of_report([contract], worked) == contract  # before: no quota in force on the report date
    ledger = ledger_of(contract)
    billing = ct.bill_service_report(worked, [contract], ledger, now=utc(2027, 1, 4, 10))
    assert (billing.quota_minutes, billing.billed_minutes, billing.items) == (120, 0, ())
    (debit,) = billing.ledger_entries
    assert (debit.month, debit.minutes, ledger.balance_minutes) == ("2027-01", -120, 1080)


def test_without_the_quotas_ledger_the_work_is_billed_at_the_rate_agreed_for_its_work_date_not_the_list_price():
    (item,) = ct.bill_service_report(report((date(2026, 12, 30), 120)), [quota()], None, now=utc(2027, 1, 4, 10)).items
    assert (item.unit_price, item.partner_id) == (Money.of("190.00"), "ptn_nordit")  # before: EUR 220.00, no partner


def test_after_the_last_month_is_closed_a_late_report_takes_what_is_left_and_bills_the_rest_even_with_overdraft():
    """Overdraft allowed, 60 minutes left: the quota job closed December on 2027-01-01 and closes nothing after it,
    so an overdraft debited in January would never be corrected: 60 min from the quota, 60 min at EUR 95.00."""
    contract = quota(overdraft=True)
    ledger = ledger_of(contract)
    ledger.use(report_id="srv_0", entry_id="tim_x", minutes=1140, now=utc(2026, 12, 20, 10))
    billing = ct.bill_service_report(report((date(2026, 12, 30), 120)), [contract], ledger, now=utc(2027, 1, 4, 10))
    assert (billing.quota_minutes, billing.billed_minutes, ledger.balance_minutes) == (60, 60, 0)
    (item,) = billing.items
    assert (item.unit_price, item.description) == (Money.of("95.00"), "Service report srv_1 (beyond the prepaid quota)")
    # within the term the overdraft still applies: 2 h on 2026-12-30 reported on 2026-12-31 overdraw by 1 h
    ledger = ledger_of(contract)
    ledger.use(report_id="srv_0", entry_id="tim_x", minutes=1140, now=utc(2026, 12, 20, 10))
    billing = ct.bill_service_report(report((date(2026, 12, 30), 120), made=utc(2026, 12, 31, 10)), [contract], ledger, now=utc(2026, 12, 31, 10))
    assert (billing.quota_minutes, billing.items, ledger.balance_minutes) == (120, (), -60)


def test_each_entry_is_billed_at_the_rate_of_its_work_date_rounded_once():
    """Cooperation at EUR 85.00 until 2026-06-30, nothing after: 1 h on 30 June and 0:20 h on 1 July, reported on 2
    July = 85.00 + 36.67 (20 min at the list price of 110.00, 36.666…) = EUR 121.67 (before: 1:20 h at 110.00 = 146.67)."""
    agreement = ct.new_contract(contract_id="ctr_a", customer_id="cus_hanse", kind=ct.ContractKind.COOPERATION, starts_on=date(2026, 1, 1),
                                ends_on=date(2026, 6, 30), rates=ct.Rates(Money.of("85.00")), now=utc(2026, 1, 1))
    worked = report((date(2026, 6, 30), 60), (date(2026, 7, 1), 20), made=utc(2026, 7, 2, 10))
    (item,) = ct.bill_service_report(worked, [agreement], None, now=utc(2026, 7, 2, 10)).items
    assert item.unit_price == Money.of("121.67")


def test_work_before_a_quota_started_is_not_debited_from_it():
    """The quota starts 2026-11-01; 1 h worked on 2026-10-30 and reported on 2026-11-03 is billed at EUR 110.00."""
    contract = quota(ends_on=None)
    ledger = ledger_of(contract, months=("2026-11",))
    worked = report((date(2026, 10, 30), 60), (date(2026, 11, 2), 30), made=utc(2026, 11, 3, 10))
    assert ct.quota_of_report([contract], worked) == contract
    billing = ct.bill_service_report(worked, [contract], ledger, now=utc(2026, 11, 3, 10))
    assert (billing.quota_minutes, ledger.balance_minutes) == (30, 570)
    (item,) = billing.items
    assert (item.unit_price, item.partner_id) == (Money.of("110.00"), None)


def test_a_report_whose_work_falls_under_two_quotas_is_refused_naming_the_days_to_report_first():
    december = quota()
    january = quota(starts_on=date(2027, 1, 1), ends_on=None, contract_id="ctr_q2")
    worked = report((date(2026, 12, 30), 60), (date(2027, 1, 2), 60), made=utc(2027, 1, 4, 10))
    with pytest.raises(ValidationFailed) as refused:
        ct.quota_of_report([december, january], worked)
    assert refused.value.field == "lastDay"
    assert refused.value.hint == "Report 2026-12-30 to 2026-12-30 first, then the days from 2026-12-31 on."
    assert ct.quota_of_report([december, january], report((date(2027, 1, 2), 60))) == january


def test_a_ledger_of_another_customers_quota_is_refused():
    with pytest.raises(ValidationFailed, match="does not belong"):
        ct.bill_service_report(report((date(2026, 12, 30), 60)), [], ledger_of(quota()), now=utc(2027, 1, 4, 10))
