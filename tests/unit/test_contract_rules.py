"""Contracts, the prepaid quota and its ledger, billing hand-off, maintenance cycles, assets, statistics."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import contracts as ct
from domain import tickets as tk
from domain.assets import AssetKind, ExpiryKind, changed_asset, expiring_within, new_asset
from domain.billing import SeparateInvoice
from domain.errors import Conflict, ValidationFailed
from domain.money import Money
from domain.service_statistics import service_statistics

UTC = timezone.utc
RATES = ct.Rates(hourly=Money.of("95.00"), daily=Money.of("680.00"), travel_flat=Money.of("45.00"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def quota_contract(*, overdraft: bool = True, minutes: int = 600, price: str = "900.00", overdraft_rate: str | None = None, starts_on=date(2026, 1, 1)) -> ct.Contract:
    return ct.new_contract(
        contract_id="ctr_quota", customer_id="cus_hanse", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=starts_on, rates=RATES,
        now=utc(2025, 12, 15, 9),
        quota=ct.QuotaTerms(minutes, Money.of(price), overdraft_allowed=overdraft,
                            overdraft_hourly_rate=Money.of(overdraft_rate) if overdraft_rate else None),
        partner_id="ptn_nordit",
    )


def report(lines: list[tuple[str, int, bool]], report_id: str = "srv_1") -> tk.ServiceReport:
    return tk.ServiceReport(
        id=report_id, customer_id="cus_hanse", scope=tk.ServiceReportScope.PERIOD, first_day=date(2026, 1, 1), last_day=date(2026, 1, 31),
        lines=tuple(
            tk.ServiceReportLine(entry_id, "tkt_1", "T-000001", date(2026, 1, 10), "usr_tech", minutes, billable, "work", None if billable else "Garantie")
            for entry_id, minutes, billable in lines
        ),
        created_at=utc(2026, 1, 31, 12),
    )


# --- contracts ---------------------------------------------------------------------------


def test_each_contract_kind_needs_its_own_terms():
    base = dict(contract_id="ctr_1", customer_id="cus_1", starts_on=date(2026, 1, 1), rates=RATES, now=utc(2026, 1, 1))
    with pytest.raises(ValidationFailed, match="monthly minutes"):
        ct.new_contract(kind=ct.ContractKind.PREPAID_QUOTA, **base)
    with pytest.raises(ValidationFailed, match="monthly fee"):
        ct.new_contract(kind=ct.ContractKind.RENTAL_FLAT_RATE, **base)
    with pytest.raises(ValidationFailed, match="at least one service"):
        ct.new_contract(kind=ct.ContractKind.MANAGED_SERVICES, **base)
    with pytest.raises(ValidationFailed, match="Data-centre hosting needs its monthly fee"):
        ct.new_contract(kind=ct.ContractKind.DATA_CENTRE_HOSTING, **base)
    with pytest.raises(ValidationFailed, match="Only rental and data-centre hosting"):
        ct.new_contract(kind=ct.ContractKind.COOPERATION, monthly_flat_rate=Money.of("10.00"), **base)
    with pytest.raises(ValidationFailed, match="ends before"):
        ct.new_contract(kind=ct.ContractKind.COOPERATION, **{**base, "starts_on": date(2026, 2, 1)}, ends_on=date(2026, 1, 31))
    agreement = ct.new_contract(kind=ct.ContractKind.COOPERATION, reaction_times=ct.ReactionTimes(2, 8), account_manager=" Olga ", **base)
    assert (agreement.rates.daily, agreement.reaction_times.critical_hours, agreement.account_manager) == (Money.of("680.00"), 2, "Olga")


def test_the_hourly_rate_is_the_agreements_else_the_list_price():
    agreement = ct.new_contract(contract_id="ctr_a", customer_id="cus_1", kind=ct.ContractKind.COOPERATION, starts_on=date(2026, 1, 1),
                                rates=ct.Rates(Money.of("85.00")), now=utc(2026, 1, 1), ends_on=date(2026, 6, 30))
    assert ct.hourly_rate_for([agreement], date(2026, 6, 30)) == Money.of("85.00")
    assert ct.hourly_rate_for([agreement], date(2026, 7, 1)) == ct.STANDARD_HOURLY_RATE


# --- the quota over three months ----------------------------------------------------------------


def test_quota_rolls_over_and_an_overdraft_is_corrected_at_month_end():
    """10 h a month for EUR 900.00, overdraft allowed at EUR 95.00/h.

    January: 10:00 credited, 7:00 used -> 3:00 roll over.
    February: 10:00 credited (13:00), 15:00 used -> -2:00; month end: correction of 2:00 = EUR 190.00 -> 0:00.
    March: 10:00 credited, 5:00 used -> 5:00 roll over into April.
    """
    contract = quota_contract()
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2026-01", now=utc(2026, 1, 1, 1))
    ledger.use(report_id="srv_jan", entry_id="tim_1", minutes=420, now=utc(2026, 1, 30, 12))
    assert ledger.close_month("2026-01", now=utc(2026, 2, 1, 1)) is None
    assert ledger.balance_minutes == 180

    ledger.credit_month("2026-02", now=utc(2026, 2, 1, 1))
    assert ledger.balance_minutes == 780
    use = ledger.use(report_id="srv_feb", entry_id="tim_2", minutes=900, now=utc(2026, 2, 27, 12))
    assert (use.covered_minutes, use.uncovered_minutes, ledger.balance_minutes) == (900, 0, -120)
    correction = ledger.close_month("2026-02", now=utc(2026, 3, 1, 1))
    assert (correction.entry.minutes, correction.amount) == (120, Money.of("190.00"))
    assert correction.entry.description == "Overdraft February 2026: 2:00 h"
    assert ledger.balance_minutes == 0

    ledger.credit_month("2026-03", now=utc(2026, 3, 1, 1))
    ledger.use(report_id="srv_mar", entry_id="tim_3", minutes=300, now=utc(2026, 3, 31, 12))
    assert ledger.close_month("2026-03", now=utc(2026, 4, 1, 1)) is None
    assert ledger.balance_minutes == 300 == sum(e.minutes for e in ledger.entries)
    assert [ledger.usage_in(m) for m in ("2026-01", "2026-02", "2026-03")] == [420, 900, 300]

    items = [ct.quota_month_item(contract, m) for m in ("2026-01", "2026-02", "2026-03")] + [ct.overdraft_item(contract, correction)]
    assert [(i.reference, i.unit_price) for i in items] == [
        ("quota#ctr_quota#2026-01", Money.of("900.00")),
        ("quota#ctr_quota#2026-02", Money.of("900.00")),
        ("quota#ctr_quota#2026-03", Money.of("900.00")),
        ("quota-correction#ctr_quota#2026-02", Money.of("190.00")),
    ]
    assert (items[-1].period_start, items[-1].period_end, items[-1].partner_id) == (date(2026, 2, 1), date(2026, 3, 1), "ptn_nordit")


def test_without_overdraft_the_quota_is_used_to_zero_and_the_rest_billed_at_the_hourly_rate():
    contract = quota_contract(overdraft=False)
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2026-01", now=utc(2026, 1, 1, 1))
    billing = ct.bill_service_report(report([("tim_1", 500, True), ("tim_2", 200, True), ("tim_3", 60, False)]), [contract], ledger, now=utc(2026, 1, 31, 12))
    assert (billing.quota_minutes, billing.billed_minutes, ledger.balance_minutes) == (600, 100, 0)
    # 100 min at EUR 95.00/h = EUR 158.33; the non-billable hour reaches neither quota nor invoice
    (item,) = billing.items
    assert (item.reference, item.quantity, item.unit_price) == ("srv_1", Decimal(1), Money.of("158.33"))
    assert ledger.close_month("2026-01", now=utc(2026, 2, 1)) is None


def test_a_report_debited_twice_is_debited_once():
    contract = quota_contract()
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2026-01", now=utc(2026, 1, 1, 1))
    first = ct.bill_service_report(report([("tim_1", 90, True)]), [contract], ledger, now=utc(2026, 1, 31, 12))
    again = ct.bill_service_report(report([("tim_1", 90, True)]), [contract], ledger, now=utc(2026, 1, 31, 13))
    assert (len(first.ledger_entries), len(again.ledger_entries), ledger.balance_minutes) == (1, 0, 510)


def test_crediting_and_closing_a_month_twice_books_once_and_months_outside_the_contract_nothing():
    ledger = ct.QuotaLedger(quota_contract(starts_on=date(2026, 1, 15)))
    assert ledger.credit_month("2025-12", now=utc(2025, 12, 1)) is None
    assert ledger.credit_month("2026-01", now=utc(2026, 1, 15)).minutes == 600
    assert ledger.credit_month("2026-01", now=utc(2026, 1, 16)) is None
    assert ledger.balance_minutes == 600


def test_a_customer_without_a_contract_is_billed_at_the_list_price_by_report_id():
    billing = ct.bill_service_report(report([("tim_1", 30, True)], "srv_x"), [], None, now=utc(2026, 1, 31, 12))
    assert [(i.reference, i.unit_price, i.description) for i in billing.items] == [("srv_x", Money.of("55.00"), "Service report srv_x")]


def test_a_report_without_billable_time_hands_nothing_to_billing():
    assert ct.bill_service_report(report([("tim_1", 30, False)]), [], None, now=utc(2026, 1, 31)).items == ()


def test_rental_and_managed_services_are_billed_monthly_and_per_use():
    rental = ct.new_contract(contract_id="ctr_r", customer_id="cus_1", kind=ct.ContractKind.RENTAL_FLAT_RATE, starts_on=date(2026, 1, 1),
                             rates=RATES, now=utc(2026, 1, 1), monthly_flat_rate=Money.of("249.00"))
    assert ct.flat_rate_item(rental, "2026-02").unit_price == Money.of("249.00")
    managed = ct.new_contract(
        contract_id="ctr_m", customer_id="cus_1", kind=ct.ContractKind.MANAGED_SERVICES, starts_on=date(2026, 1, 1), rates=RATES, now=utc(2026, 1, 1),
        managed_services=[ct.ManagedService("monitoring", "Monitoring", "device", Money.of("4.50")), ct.ManagedService("backup", "Backup", "GB", Money.of("0.12"))],
    )
    items = ct.managed_service_items(managed, "2026-02", {"monitoring": Decimal(12), "backup": Decimal("250.5"), })
    assert [(i.reference, i.quantity, i.unit_price) for i in items] == [
        ("managed#ctr_m#backup#2026-02", Decimal("250.5"), Money.of("0.12")),
        ("managed#ctr_m#monitoring#2026-02", Decimal(12), Money.of("4.50")),
    ]
    with pytest.raises(ValidationFailed, match="Unknown managed service"):
        ct.managed_service_items(managed, "2026-02", {"printing": Decimal(1)})


# --- managed services: a month's use, recorded once it has ended ------------------------------


def managed_contract(*, starts_on=date(2026, 3, 15), ends_on=None, partner_id="ptn_nordit") -> ct.Contract:
    return ct.new_contract(
        contract_id="ctr_m", customer_id="cus_hanse", kind=ct.ContractKind.MANAGED_SERVICES, starts_on=starts_on, ends_on=ends_on,
        rates=RATES, now=utc(2026, 3, 1), partner_id=partner_id,
        managed_services=[ct.ManagedService("monitoring", "Monitoring", "device", Money.of("4.50")),
                          ct.ManagedService("backup-gb", "Backup", "GB", Money.of("0.12"))],
    )


def record(contract, month="2026-10", usage=(("monitoring", Decimal(12)),), *, now=utc(2026, 11, 2, 8), billed_on=None):
    return ct.record_managed_usage(contract, month, usage, now=now, recorded_by="usr_ops", billed_on=billed_on)


def test_october_use_recorded_in_november_becomes_items_for_the_next_billing_run():
    recording = record(managed_contract(), usage=[("monitoring", Decimal(12)), ("backup-gb", Decimal("250.125"))])

    assert [(i.reference, i.description, i.quantity, i.unit_price, i.partner_id, i.period_start, i.period_end) for i in recording.items] == [
        ("managed#ctr_m#backup-gb#2026-10", "Backup October 2026 (250.125 GB)", Decimal("250.125"), Money.of("0.12"), "ptn_nordit",
         date(2026, 10, 1), date(2026, 11, 1)),
        ("managed#ctr_m#monitoring#2026-10", "Monitoring October 2026 (12 device)", Decimal(12), Money.of("4.50"), "ptn_nordit",
         date(2026, 10, 1), date(2026, 11, 1)),
    ]
    assert all(i.separate_invoice is None for i in recording.items)  # on the payer's regular invoice
    assert recording.record == ct.ManagedUsageMonth(
        "2026-10", (ct.ManagedServiceUse("backup-gb", Decimal("250.125")), ct.ManagedServiceUse("monitoring", Decimal(12))),
        1, utc(2026, 11, 2, 8), "usr_ops", date(2026, 11, 2))
    assert recording.contract.managed_usage_of("2026-10") == recording.record and recording.withdrawn == ()


def test_a_month_is_recorded_from_the_first_day_after_it_berlin_time():
    contract = managed_contract()
    with pytest.raises(ValidationFailed, match="November 2026 has not ended: its use can be recorded from 2026-12-01") as refused:
        record(contract, "2026-11", now=utc(2026, 11, 30, 22, 59))  # 23:59 in Berlin
    assert refused.value.field == "month"
    assert record(contract, "2026-11", now=utc(2026, 11, 30, 23, 0)).record.bill_date == date(2026, 12, 1)  # 00:00 in Berlin
    with pytest.raises(ValidationFailed, match="has not ended"):
        record(contract, "2027-01")


def test_a_month_outside_the_term_is_refused_and_a_first_or_last_month_is_billed_for_its_days_in_the_term():
    contract = managed_contract(starts_on=date(2026, 3, 15), ends_on=date(2026, 9, 10))
    for month in ("2026-02", "2026-10"):
        with pytest.raises(ValidationFailed, match="outside the term of contract ctr_m \\(from 2026-03-15 to 2026-09-10\\)") as refused:
            record(contract, month)
        assert refused.value.field == "month"
    (march,) = record(contract, "2026-03").items
    (september,) = record(contract, "2026-09").items
    assert (march.period_start, march.period_end, march.quantity) == (date(2026, 3, 15), date(2026, 4, 1), Decimal(12))  # no pro rata
    assert (september.period_start, september.period_end) == (date(2026, 9, 1), date(2026, 9, 11))


@pytest.mark.parametrize("month", ["2026-13", "26-10", "2026-1", "october", ""])
def test_a_month_is_written_yyyy_mm(month):
    with pytest.raises(ValidationFailed, match="is not a month") as refused:
        record(managed_contract(), month)
    assert refused.value.field == "month"


@pytest.mark.parametrize("quantity, message", [
    (Decimal("-1"), "0 to 1,000,000 units"), (Decimal("1000000.001"), "0 to 1,000,000 units"), (Decimal("NaN"), "0 to 1,000,000 units"),
    (Decimal("Infinity"), "0 to 1,000,000 units"), (Decimal("0.0005"), "at most 3 decimal places"), (Decimal("12.3456"), "at most 3 decimal places"),
])
def test_a_quantity_is_0_to_a_million_with_at_most_three_decimal_places(quantity, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        record(managed_contract(), usage=[("monitoring", quantity)])
    assert refused.value.field == "usage"


def test_quantities_are_kept_as_written_without_trailing_zeros_and_0_bills_nothing():
    recording = record(managed_contract(), usage=[("monitoring", Decimal("12.000")), ("backup-gb", Decimal("-0"))])
    assert [(u.code, str(u.quantity)) for u in recording.record.usage] == [("backup-gb", "0"), ("monitoring", "12")]
    assert [i.reference for i in recording.items] == ["managed#ctr_m#monitoring#2026-10"]
    assert record(managed_contract(), usage=[]).items == ()  # nothing used: recorded, nothing billed


def test_unknown_and_repeated_services_are_refused():
    with pytest.raises(ValidationFailed, match="Unknown managed service\\(s\\): 'printing'") as refused:
        record(managed_contract(), usage=[("monitoring", Decimal(1)), ("printing", Decimal(3))])
    assert refused.value.field == "usage" and "backup-gb, monitoring" in refused.value.hint
    with pytest.raises(ValidationFailed, match="'monitoring' appears twice"):
        record(managed_contract(), usage=[("monitoring", Decimal(1)), (" monitoring ", Decimal(3))])
    with pytest.raises(ValidationFailed, match="At most 40 services"):
        record(managed_contract(), usage=[(f"s{n}", Decimal(1)) for n in range(41)])


def test_only_a_managed_services_contract_is_billed_by_use():
    with pytest.raises(ValidationFailed, match="Only a managed services contract") as refused:
        record(quota_contract())
    assert refused.value.field == "contractId"


def test_recording_a_month_again_before_billing_replaces_its_items_under_a_new_revision():
    first = record(managed_contract(), usage=[("monitoring", Decimal(12)), ("backup-gb", Decimal(100))])
    second = record(first.contract, usage=[("monitoring", Decimal(14))], now=utc(2026, 11, 3, 8))

    assert second.withdrawn == ("managed#ctr_m#backup-gb#2026-10", "managed#ctr_m#monitoring#2026-10")
    assert [(i.reference, i.quantity) for i in second.items] == [("managed#ctr_m#monitoring#2026-10#2", Decimal(14))]
    assert [(m.month, m.revision, m.usage) for m in second.contract.managed_usage] == [
        ("2026-10", 2, (ct.ManagedServiceUse("monitoring", Decimal(14)),))]
    third = record(second.contract, now=utc(2026, 11, 4, 8))
    assert third.withdrawn == ("managed#ctr_m#monitoring#2026-10#2",) and third.record.revision == 3
    other_month = record(third.contract, "2026-09")
    assert [m.month for m in other_month.contract.managed_usage] == ["2026-09", "2026-10"] and other_month.withdrawn == ()


def test_a_billed_month_is_refused_with_the_invoice_to_correct():
    recorded = record(managed_contract()).contract
    with pytest.raises(Conflict, match="October 2026 of contract ctr_m is billed already \\(invoice PH-2026-000042\\)") as refused:
        record(recorded, usage=[("monitoring", Decimal(10))], billed_on="PH-2026-000042")
    assert refused.value.field == "month" and "credit note (creditNoteCreate)" in refused.value.hint


# --- rental and data-centre hosting: flat-rate months ------------------------------------------


def flat_rate(kind=ct.ContractKind.DATA_CENTRE_HOSTING, *, fee="300.00", starts_on=date(2026, 11, 16), ends_on=None, booked=None) -> ct.Contract:
    contract = ct.new_contract(contract_id="ctr_dc", customer_id="cus_1", kind=kind, starts_on=starts_on, rates=RATES, now=utc(2026, 11, 2),
                               ends_on=ends_on, monthly_flat_rate=Money.of(fee), partner_id="ptn_nordit")
    return contract if booked is None else ct.Contract(**{**contract.__dict__, "flat_rate_booked_through": booked})


def test_data_centre_hosting_is_billed_by_its_monthly_fee_on_an_invoice_of_its_own():
    item = ct.flat_rate_item(flat_rate(starts_on=date(2026, 11, 1)), "2026-12")
    assert (item.description, item.quantity, item.unit_price) == ("Data-centre hosting December 2026", Decimal(1), Money.of("300.00"))
    assert (item.reference, item.period_start, item.period_end, item.partner_id) == ("hosting#ctr_dc#2026-12", date(2026, 12, 1), date(2027, 1, 1), "ptn_nordit")
    assert item.separate_invoice is SeparateInvoice.RENTAL_AND_HOSTING
    rental = ct.flat_rate_item(flat_rate(ct.ContractKind.RENTAL_FLAT_RATE, fee="249.00", starts_on=date(2026, 11, 1)), "2026-12")
    assert (rental.reference, rental.description, rental.separate_invoice) == (
        "rental#ctr_dc#2026-12", "Rental flat rate December 2026", SeparateInvoice.RENTAL_AND_HOSTING
    )


def test_a_month_covered_in_part_is_billed_pro_rata_by_day():
    """Started 2026-11-16 at EUR 300.00: 15 of November's 30 days = 150.00; ending 2027-02-10 at EUR 249.00:
    10 of February's 28 days = 88.93 (88.928... half-up)."""
    november = ct.flat_rate_item(flat_rate(), "2026-11")
    assert (november.description, november.unit_price, november.period_start, november.period_end) == (
        "Data-centre hosting November 2026 (pro rata 15/30 days)", Money.of("150.00"), date(2026, 11, 16), date(2026, 12, 1)
    )
    ending = flat_rate(fee="249.00", ends_on=date(2027, 2, 10))
    february = ct.flat_rate_item(ending, "2027-02")
    assert (february.unit_price, february.period_end) == (Money.of("88.93"), date(2027, 2, 11))
    with pytest.raises(ValidationFailed, match="does not cover"):
        ct.flat_rate_item(ending, "2027-03")


def test_flat_rate_months_are_due_on_their_first_day_and_on_the_start_date_in_the_first_month():
    contract = flat_rate()  # starts 2026-11-16
    assert (contract.next_flat_rate_month, contract.flat_rate_due_on) == ("2026-11", date(2026, 11, 16))
    assert contract.flat_rate_months_due(date(2026, 11, 15)) == []
    assert contract.flat_rate_months_due(date(2026, 11, 16)) == ["2026-11"]
    booked = contract.with_flat_rate_booked("2026-11")
    assert (booked.next_flat_rate_month, booked.flat_rate_due_on) == ("2026-12", date(2026, 12, 1))
    assert booked.flat_rate_months_due(date(2026, 11, 30)) == []
    # a run missed for two months catches them up, each once, oldest first
    assert booked.flat_rate_months_due(date(2027, 1, 3)) == ["2026-12", "2027-01"]
    with pytest.raises(Conflict):
        booked.with_flat_rate_booked("2027-01")  # months are booked in order, never skipped


def test_an_ended_flat_rate_has_nothing_left_to_book():
    contract = flat_rate(starts_on=date(2026, 11, 1), ends_on=date(2027, 1, 31), booked="2026-12")
    assert contract.flat_rate_months_due(date(2027, 6, 1)) == ["2027-01"]
    done = contract.with_flat_rate_booked("2027-01")
    assert (done.next_flat_rate_month, done.flat_rate_due_on, done.flat_rate_months_due(date(2027, 6, 1))) == (None, None, [])


def test_other_contract_kinds_have_no_flat_rate_months():
    assert (quota_contract().next_flat_rate_month, quota_contract().flat_rate_due_on) == (None, None)


# --- prepaid quota months: booked daily, each once, in order --------------------------------------


def test_quota_months_are_due_on_their_first_day_and_a_missed_month_start_is_caught_up_in_order():
    contract = quota_contract()  # from 2026-01-01
    assert (contract.next_quota_month, contract.quota_month_due_on) == ("2026-01", date(2026, 1, 1))
    booked = contract.with_quota_month_booked("2026-01").with_quota_month_booked("2026-02")
    assert (booked.next_quota_month, booked.quota_month_due_on) == ("2026-03", date(2026, 3, 1))
    assert booked.quota_months_due(date(2026, 2, 28)) == []
    assert booked.quota_months_due(date(2026, 3, 3)) == ["2026-03"]  # the run of 03-01 missed
    assert booked.with_quota_month_booked("2026-03").quota_months_due(date(2026, 3, 4)) == []
    assert contract.with_quota_month_booked("2026-01").quota_months_due(date(2026, 4, 2)) == ["2026-02", "2026-03", "2026-04"]
    with pytest.raises(Conflict):
        booked.with_quota_month_booked("2026-04")  # months are booked in order, never skipped


def test_a_quota_starting_mid_month_is_first_booked_on_its_start_date():
    contract = quota_contract(starts_on=date(2026, 1, 15))
    assert (contract.quota_months_due(date(2026, 1, 14)), contract.quota_months_due(date(2026, 1, 15))) == ([], ["2026-01"])


def test_an_ended_quota_books_the_month_after_its_last_to_close_it_and_nothing_after():
    ended = ct.Contract(**{**quota_contract().__dict__, "ends_on": date(2026, 2, 28), "quota_booked_through": "2026-01"})
    assert ended.quota_months_due(date(2026, 6, 1)) == ["2026-02", "2026-03"]
    done = ended.with_quota_month_booked("2026-02").with_quota_month_booked("2026-03")
    assert (done.next_quota_month, done.quota_month_due_on, done.quota_months_due(date(2026, 6, 1))) == (None, None, [])


def test_other_contract_kinds_have_no_quota_months():
    assert (flat_rate().next_quota_month, flat_rate().quota_month_due_on, flat_rate().quota_months_due(date(2030, 1, 1))) == (None, None, [])


# --- the ledger's balance is the sum of its entries (property) --------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), st.integers(0, 5)),
        st.tuples(st.just("use"), st.integers(1, 2000)),
        st.tuples(st.just("close"), st.integers(0, 5)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(overdraft=st.booleans(), monthly=st.integers(1, 3000), ops=operations)
def test_the_ledger_balance_always_equals_the_sum_of_its_entries(overdraft, monthly, ops):
    contract = quota_contract(overdraft=overdraft, minutes=monthly)
    ledger = ct.QuotaLedger(contract)
    requested = covered = 0
    for number, (op, value) in enumerate(ops):
        month = f"2026-{value + 1:02d}"
        if op == "credit":
            ledger.credit_month(month, now=utc(2026, value + 1, 1))
        elif op == "close":
            ledger.close_month(month, now=utc(2026, value + 1, 28))
        else:
            use = ledger.use(report_id="srv", entry_id=f"tim_{number}", minutes=value, now=utc(2026, 3, 10))
            requested += value
            covered += use.covered_minutes
            assert use.covered_minutes + use.uncovered_minutes == value
        assert ledger.balance_minutes == sum(entry.minutes for entry in ledger.entries)
        if not overdraft:
            assert ledger.balance_minutes >= 0
    assert covered == -sum(e.minutes for e in ledger.entries if e.kind is ct.LedgerEntryKind.USAGE)
    assert len({e.key for e in ledger.entries}) == len(ledger.entries)
    # a ledger read back from its entries (in any order) has the same balance
    assert ct.QuotaLedger(contract, reversed(ledger.entries)).balance_minutes == ledger.balance_minutes


# --- maintenance cycles ------------------------------------------------------------------------------


def agreement(starts_on=date(2023, 1, 1), ends_on=None) -> ct.Contract:
    return ct.new_contract(contract_id="ctr_a", customer_id="cus_hanse", kind=ct.ContractKind.COOPERATION, starts_on=starts_on,
                           rates=RATES, now=utc(2023, 1, 1), ends_on=ends_on)


def test_monthly_maintenance_on_the_first_appears_three_days_ahead():
    schedule = ct.new_maintenance_schedule(today=date(2023, 1, 1), schedule_id="mnt_1", contract=agreement(), subject="Patchday", every_months=1, anchor=date(2023, 7, 1), lead_days=3)
    assert (schedule.next_due, schedule.next_creation_date) == (date(2023, 7, 1), date(2023, 6, 28))
    assert not schedule.is_due(date(2023, 6, 27)) and schedule.is_due(date(2023, 6, 28))
    assert schedule.advanced().next_creation_date == date(2023, 7, 29)


def test_due_dates_are_anchored_not_chained_at_month_ends():
    schedule = ct.new_maintenance_schedule(today=date(2023, 1, 1), schedule_id="mnt_1", contract=agreement(), subject="Backup-Test", every_months=1, anchor=date(2024, 1, 31))
    assert [schedule.due_date(i) for i in range(4)] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]


def test_a_schedule_ends_with_its_contract_and_ticket_ids_are_one_per_due_date():
    schedule = ct.new_maintenance_schedule(today=date(2023, 1, 1), schedule_id="mnt_1", contract=agreement(ends_on=date(2023, 8, 15)), subject="Patchday",
                                           every_months=1, anchor=date(2023, 7, 1))
    assert schedule.advanced().next_due == date(2023, 8, 1)
    assert schedule.advanced().advanced().next_due is None and not schedule.advanced().advanced().is_due(date(2030, 1, 1))
    assert ct.maintenance_ticket_id("mnt_1", date(2023, 7, 1)) == ct.maintenance_ticket_id("mnt_1", date(2023, 7, 1))
    assert ct.maintenance_ticket_id("mnt_1", date(2023, 7, 1)) != ct.maintenance_ticket_id("mnt_1", date(2023, 8, 1))


def test_a_maintenance_cycle_may_belong_to_a_managed_service_of_the_contract():
    managed = ct.new_contract(
        contract_id="ctr_m", customer_id="cus_1", kind=ct.ContractKind.MANAGED_SERVICES, starts_on=date(2023, 1, 1), rates=RATES, now=utc(2023, 1, 1),
        managed_services=[ct.ManagedService("backup", "Backup", "GB", Money.of("0.12"))],
    )
    schedule = ct.new_maintenance_schedule(today=date(2023, 1, 1), schedule_id="mnt_b", contract=managed, subject="Restore-Test", every_months=3,
                                           anchor=date(2023, 3, 1), managed_service_code="backup")
    assert schedule.managed_service_code == "backup"
    with pytest.raises(ValidationFailed) as refused:
        ct.new_maintenance_schedule(today=date(2023, 1, 1), schedule_id="mnt_x", contract=managed, subject="x", every_months=1, anchor=date(2023, 3, 1), managed_service_code="printing")
    assert refused.value.field == "managedServiceCode"


@pytest.mark.parametrize("every,lead,anchor", [(0, 3, date(2023, 7, 1)), (1, 61, date(2023, 7, 1)), (1, 3, date(2022, 12, 1))])
def test_maintenance_cycles_are_checked(every, lead, anchor):
    with pytest.raises(ValidationFailed):
        ct.new_maintenance_schedule(today=date(2023, 1, 1), schedule_id="mnt_1", contract=agreement(), subject="x", every_months=every, anchor=anchor, lead_days=lead)


def running_since_2020(ends_on=None) -> ct.Contract:
    return ct.new_contract(contract_id="ctr_old", customer_id="cus_hanse", kind=ct.ContractKind.COOPERATION, starts_on=date(2020, 1, 1),
                           rates=RATES, now=utc(2026, 11, 20), ends_on=ends_on)


def test_a_first_due_date_in_the_past_keeps_its_rhythm_and_the_first_ticket_is_for_the_next_due_date_from_today():
    """Maintenance monthly since 2020-01-01, entered on 2026-11-20: no tickets for the 83 months that are over."""
    schedule = ct.new_maintenance_schedule(today=date(2026, 11, 20), schedule_id="mnt_1", contract=running_since_2020(), subject="Patchday",
                                           every_months=1, anchor=date(2020, 1, 1), lead_days=3)
    assert (schedule.anchor, schedule.next_due, schedule.next_creation_date) == (date(2020, 1, 1), date(2026, 12, 1), date(2026, 11, 28))
    assert not schedule.is_due(date(2026, 11, 27)) and schedule.is_due(date(2026, 11, 28))
    assert schedule.advanced().next_due == date(2027, 1, 1)


@pytest.mark.parametrize("today,next_due", [
    (date(2026, 11, 1), date(2026, 11, 1)),  # due today: today's ticket
    (date(2026, 11, 2), date(2027, 2, 1)),  # quarterly from 2020-02-01: Feb, May, Aug, Nov
    (date(2027, 2, 1), date(2027, 2, 1)),
])
def test_a_past_first_due_date_starts_at_the_first_due_date_on_or_after_today(today, next_due):
    schedule = ct.new_maintenance_schedule(today=today, schedule_id="mnt_1", contract=running_since_2020(), subject="Wartung",
                                           every_months=3, anchor=date(2020, 2, 1))
    assert schedule.next_due == next_due


@pytest.mark.parametrize("today,next_due", [
    (date(2024, 2, 1), date(2024, 2, 29)),  # anchored on the 31st: the month's last day, never a 29th carried on
    (date(2024, 3, 1), date(2024, 3, 31)),
    (date(2024, 3, 31), date(2024, 3, 31)),
    (date(2024, 4, 1), date(2024, 4, 30)),
    (date(2025, 2, 28), date(2025, 2, 28)),
    (date(2025, 12, 31), date(2025, 12, 31)),
    (date(2026, 1, 1), date(2026, 1, 31)),
])
def test_a_past_first_due_date_on_the_31st_stays_on_the_months_last_day(today, next_due):
    schedule = ct.new_maintenance_schedule(today=today, schedule_id="mnt_1", contract=running_since_2020(), subject="Backup-Test",
                                           every_months=1, anchor=date(2020, 1, 31), lead_days=3)
    assert schedule.next_due == next_due


def test_a_schedule_that_could_raise_no_ticket_before_its_contract_ends_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        ct.new_maintenance_schedule(today=date(2026, 11, 20), schedule_id="mnt_1", contract=running_since_2020(ends_on=date(2026, 11, 30)),
                                    subject="Patchday", every_months=1, anchor=date(2020, 1, 1))
    assert refused.value.field == "firstDue"
    assert refused.value.message.startswith("The contract ends on 2026-11-30, before the next due date 2026-12-01")


def handled_through(schedule: ct.MaintenanceSchedule, due: date) -> ct.MaintenanceSchedule:
    """The schedule as the maintenance job leaves it once the ticket of ``due`` is created."""
    while schedule.next_due <= due:
        schedule = schedule.advanced()
    return schedule


def test_a_new_interval_continues_after_the_last_ticket_in_the_rhythm_of_the_first_due_date_on_the_31st():
    """Monthly from 2026-10-31; the 2026-10-31 and 2026-11-30 tickets exist; every two months from 2026-12-01 on."""
    monthly = ct.new_maintenance_schedule(today=date(2026, 10, 1), schedule_id="mnt_1", contract=running_since_2020(), subject="Backup-Test",
                                          every_months=1, anchor=date(2026, 10, 31), lead_days=3)
    changed = ct.change_maintenance_schedule(handled_through(monthly, date(2026, 11, 30)), today=date(2026, 12, 1), every_months=2)
    assert [changed.next_due, changed.advanced().next_due, changed.advanced().advanced().next_due] == [
        date(2026, 12, 31), date(2027, 2, 28), date(2027, 4, 30)]
    assert changed.next_creation_date == date(2026, 12, 28)


def test_a_ticket_created_ahead_is_not_created_again_when_the_interval_changes():
    """Quarterly from 2026-10-01, 10 days ahead: the 2027-01-01 ticket was created on 2026-12-22; monthly from 2026-12-23."""
    quarterly = ct.new_maintenance_schedule(today=date(2026, 9, 1), schedule_id="mnt_1", contract=running_since_2020(), subject="Patchday",
                                            every_months=3, anchor=date(2026, 10, 1), lead_days=10)
    created_ahead = handled_through(quarterly, date(2027, 1, 1))
    assert created_ahead.next_due == date(2027, 4, 1)
    monthly = ct.change_maintenance_schedule(created_ahead, today=date(2026, 12, 23), every_months=1)
    assert (monthly.next_due, monthly.next_creation_date) == (date(2027, 2, 1), date(2027, 1, 22))  # not 2027-01-01 again


def test_subject_lead_days_and_description_change_the_tickets_to_come_only_and_bad_values_are_refused():
    schedule = handled_through(ct.new_maintenance_schedule(today=date(2026, 11, 1), schedule_id="mnt_1", contract=running_since_2020(),
                                                           subject="Patchday", every_months=1, anchor=date(2026, 11, 1), lead_days=3,
                                                           description="alt"), date(2026, 12, 1))
    changed = ct.change_maintenance_schedule(schedule, today=date(2026, 11, 29), subject=" Patchday Server ", lead_days=10, description="")
    assert (changed.subject, changed.lead_days, changed.description) == ("Patchday Server", 10, "")
    assert (changed.next_due, changed.next_creation_date, changed.next_index) == (date(2027, 1, 1), date(2026, 12, 22), schedule.next_index)
    assert ct.change_maintenance_schedule(schedule, today=date(2026, 11, 29)) == schedule
    for bad, field in (({"every_months": 0}, "everyMonths"), ({"every_months": 37}, "everyMonths"), ({"lead_days": 61}, "leadDays"),
                       ({"subject": "  "}, "subject")):
        with pytest.raises(ValidationFailed) as refused:
            ct.change_maintenance_schedule(schedule, today=date(2026, 11, 29), **bad)
        assert refused.value.field == field


def test_an_ended_schedule_raises_no_ticket_after_its_last_day_and_restarts_from_today_when_moved_later():
    schedule = ct.new_maintenance_schedule(today=date(2026, 11, 1), schedule_id="mnt_1", contract=running_since_2020(), subject="Patchday",
                                           every_months=1, anchor=date(2026, 12, 1))
    with pytest.raises(ValidationFailed) as refused:
        ct.end_maintenance_schedule(schedule, last_day=date(2026, 11, 19), today=date(2026, 11, 20))
    assert (refused.value.field, refused.value.message) == ("lastDay", "The last day 2026-11-19 lies in the past.")
    ended = ct.end_maintenance_schedule(schedule, last_day=date(2027, 1, 15), today=date(2026, 11, 20))
    assert (ended.last_day, ended.next_due, ended.advanced().next_due) == (date(2027, 1, 15), date(2026, 12, 1), date(2027, 1, 1))
    run_out = ended.advanced().advanced()
    assert run_out.next_due is None and not run_out.is_due(date(2027, 2, 1))
    again = ct.end_maintenance_schedule(run_out, last_day=date(2027, 12, 31), today=date(2027, 3, 10))
    assert again.next_due == date(2027, 4, 1)  # not February and March, which are over
    assert ct.end_maintenance_schedule(run_out.with_contract_end(date(2027, 1, 31)), last_day=date(2027, 12, 31),
                                       today=date(2027, 3, 10)).next_due is None  # the contract's end still holds


# --- assets ---------------------------------------------------------------------------------------------


def test_warranties_and_licences_expiring_in_the_next_n_days_soonest_first():
    now = utc(2026, 11, 23)
    server = new_asset(asset_id="ast_1", customer_id="cus_1", kind=AssetKind.HARDWARE, name="Server HV01", now=now,
                       technical_data={"CPU": "2x Xeon Silver", "RAM": "256 GB"}, purchased_on=date(2021, 12, 1), warranty_until=date(2026, 12, 1))
    datev = new_asset(asset_id="ast_2", customer_id="cus_1", kind=AssetKind.SOFTWARE, name="DATEV Kanzlei-Rechnungswesen", now=now,
                      licence_expires_on=date(2026, 12, 23))
    old = new_asset(asset_id="ast_3", customer_id="cus_1", kind=AssetKind.HARDWARE, name="Switch", now=now, warranty_until=date(2026, 11, 22))
    found = expiring_within([server, datev, old], today=date(2026, 11, 23), days=30)
    assert [(e.asset.id, e.kind, e.days_left) for e in found] == [("ast_1", ExpiryKind.WARRANTY, 8), ("ast_2", ExpiryKind.LICENCE, 30)]
    assert expiring_within([server, datev], today=date(2026, 11, 23), days=29)[-1].asset.id == "ast_1"
    assert server.technical_data["RAM"] == "256 GB" and server.earliest_expiry == date(2026, 12, 1)


def test_asset_dates_are_checked():
    with pytest.raises(ValidationFailed) as refused:
        new_asset(asset_id="a", customer_id="c", kind=AssetKind.HARDWARE, name="NAS", now=utc(2026, 1, 1),
                  purchased_on=date(2026, 1, 1), warranty_until=date(2025, 12, 31))
    assert refused.value.field == "warrantyUntil"
    with pytest.raises(ValidationFailed):
        expiring_within([], today=date(2026, 1, 1), days=400)


def test_a_renewed_warranty_moves_the_assets_expiry_and_keeps_everything_else():
    server = new_asset(asset_id="ast_1", customer_id="cus_1", kind=AssetKind.HARDWARE, name="Server HV01", now=utc(2021, 12, 1),
                       manufacturer="Dell", technical_data={"RAM": "256 GB"}, purchased_on=date(2021, 12, 1), warranty_until=date(2026, 12, 1))
    renewed = changed_asset(server, warranty_until=date(2029, 11, 30), manufacturer="", technical_data={"RAM": "512 GB", "CPU": "2x Xeon"})
    assert (renewed.warranty_until, renewed.earliest_expiry, renewed.manufacturer) == (date(2029, 11, 30), date(2029, 11, 30), None)
    assert dict(renewed.technical_data) == {"RAM": "512 GB", "CPU": "2x Xeon"}
    assert (renewed.id, renewed.name, renewed.purchased_on, renewed.created_at, renewed.version) == (
        "ast_1", "Server HV01", date(2021, 12, 1), utc(2021, 12, 1), server.version)
    assert expiring_within([renewed], today=date(2026, 11, 23), days=30) == []
    assert changed_asset(server) == server


@pytest.mark.parametrize("change,field", [
    ({"warranty_until": date(2021, 11, 30)}, "warrantyUntil"),  # before the purchase
    ({"purchased_on": date(2027, 1, 1)}, "warrantyUntil"),  # the warranty kept would end before it
    ({"name": "  "}, "name"),
    ({"technical_data": {f"Port {n}": "1 GbE" for n in range(51)}}, "technicalData"),
])
def test_an_asset_change_is_checked_as_a_new_asset(change, field):
    server = new_asset(asset_id="ast_1", customer_id="cus_1", kind=AssetKind.HARDWARE, name="Server HV01", now=utc(2021, 12, 1),
                       purchased_on=date(2021, 12, 1), warranty_until=date(2026, 12, 1))
    with pytest.raises(ValidationFailed) as refused:
        changed_asset(server, **change)
    assert refused.value.field == field


# --- statistics --------------------------------------------------------------------------------------------


def test_statistics_count_tickets_per_month_and_status_and_hours_billable_or_not():
    def t(ticket_id, received, status):
        ticket = tk.open_ticket(ticket_id=ticket_id, number="T-000001", distributor_id="dst", customer_id="cus_hanse", channel=tk.TicketChannel.HOTLINE,
                                subject="x", description="y", reporter=tk.Reporter(name="Hilde"), received_at=received, actor="usr", now=received)
        ticket.status = status
        return ticket

    a = t("tkt_a", utc(2026, 1, 31, 23, 30), tk.TicketStatus.CLOSED)  # 00:30 on 1 February in Berlin
    b = t("tkt_b", utc(2026, 2, 10, 9), tk.TicketStatus.IN_PROGRESS)
    c = t("tkt_c", utc(2026, 2, 11, 9), tk.TicketStatus.IN_PROGRESS)
    b.record_time(technician_id="usr", work_date=date(2026, 2, 10), minutes=90, billable=True, description="w", now=utc(2026, 2, 10, 12))
    b.record_time(technician_id="usr", work_date=date(2026, 2, 11), minutes=30, billable=False, description="w", reason="Kulanz", now=utc(2026, 2, 11, 12))
    stats = service_statistics([a, b, c], first_month="2026-02", last_month="2026-03")
    assert [(x.month, x.status.value, x.count) for x in stats.tickets] == [("2026-02", "CLOSED", 1), ("2026-02", "IN_PROGRESS", 2)]
    assert (stats.billable_minutes, stats.non_billable_minutes, stats.quota) == (90, 30, None)
    with pytest.raises(ValidationFailed):
        service_statistics([], first_month="2026-13", last_month="2027-01")
