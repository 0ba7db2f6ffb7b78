"""A contract billed by the month starts on the first of the previous month at the earliest (domain.contracts).

The daily jobs book every due month from the start, so a rental or quota contract of a customer taken over on
2026-11-23, started 2024-01-01, would put 35 months on the next invoice at once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain import contracts as ct
from domain.errors import ValidationFailed
from domain.money import Money

RATES = ct.Rates(Money.of("95.00"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def contract(kind: ct.ContractKind, starts_on: date, now: datetime) -> ct.Contract:
    terms = {
        ct.ContractKind.RENTAL_FLAT_RATE: {"monthly_flat_rate": Money.of("300.00")},
        ct.ContractKind.DATA_CENTRE_HOSTING: {"monthly_flat_rate": Money.of("300.00")},
        ct.ContractKind.PREPAID_QUOTA: {"quota": ct.QuotaTerms(600, Money.of("900.00"))},
    }.get(kind, {})
    return ct.new_contract(contract_id="ctr_1", customer_id="cus_hanse", kind=kind, starts_on=starts_on, rates=RATES, now=now, **terms)


@pytest.mark.parametrize("kind", sorted(ct.MONTHLY_BILLED_KINDS, key=lambda k: k.value))
def test_a_contract_billed_by_the_month_entered_on_2026_11_23_cannot_start_on_2024_01_01(kind):
    with pytest.raises(ValidationFailed) as refused:
        contract(kind, date(2024, 1, 1), utc(2026, 11, 23, 9))
    assert refused.value.field == "startsOn"
    assert "starts on 2026-10-01 at the earliest" in refused.value.message
    assert "would bill 35 months at once" in refused.value.message
    assert "2026-12-01" in refused.value.hint


@pytest.mark.parametrize("kind", sorted(ct.MONTHLY_BILLED_KINDS, key=lambda k: k.value))
def test_a_contract_whose_paperwork_arrives_late_starts_in_the_previous_month(kind):
    late = contract(kind, date(2026, 10, 1), utc(2026, 11, 23, 9))
    assert late.starts_on == date(2026, 10, 1)
    assert contract(kind, date(2026, 10, 16), utc(2026, 11, 23, 9)).starts_on == date(2026, 10, 16)


def test_the_previous_month_is_the_berlin_one():
    # 2026-10-31 23:30 UTC is 2026-11-01 00:30 in Berlin: September is two months back, refused
    with pytest.raises(ValidationFailed, match="starts on 2026-10-01 at the earliest"):
        contract(ct.ContractKind.PREPAID_QUOTA, date(2026, 9, 30), utc(2026, 10, 31, 23, 30))
    # an hour earlier it is still October in Berlin: September is the previous month
    assert contract(ct.ContractKind.PREPAID_QUOTA, date(2026, 9, 1), utc(2026, 10, 31, 22, 30)).starts_on == date(2026, 9, 1)
    assert ct.earliest_billed_start(utc(2026, 1, 15, 9)) == date(2025, 12, 1)


def test_a_cooperation_agreement_bills_no_months_and_keeps_its_real_start():
    assert contract(ct.ContractKind.COOPERATION, date(2024, 1, 1), utc(2026, 11, 23, 9)).starts_on == date(2024, 1, 1)
