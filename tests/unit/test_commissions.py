"""Commissions: amount at the rate of the invoice date, approval 90 days after payment, credits, payouts."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.commissions import (
    BankDetailsMissing,
    CommissionKind,
    CommissionStatus,
    CommissionTotals,
    InvoiceFacts,
    PayoutBelowThreshold,
    apply_credit,
    cashback_entry,
    commission_for_paid_invoice,
    plan_payout,
)
from domain.money import Money
from domain.partner_programme import BankDetails

UTC = timezone.utc
NOW = datetime(2024, 2, 10, 12, 0, tzinfo=UTC)
BANK = BankDetails.create(iban="DE89370400440532013000", account_holder="Nord IT GmbH")


def facts(net="1000.00", *, payer="cus_1", reseller=None, customer_pays=False, issued=date(2024, 2, 1)):
    return InvoiceFacts("inv_1", "PH-2024-000001", "cus_1", payer, reseller, customer_pays, issued, Money.of(net))


def commission(net="1000.00", paid_on=date(2024, 2, 10), percent="10"):
    return commission_for_paid_invoice(facts(net), partner_id="ptn_a", percent=Decimal(percent), paid_on=paid_on, now=NOW)


def test_commission_is_the_eligible_net_at_the_rate_rounded_half_up_once():
    c = commission("123.45", percent="10")
    assert (c.amount, c.base_amount, c.status) == (Money.of("12.35"), Money.of("123.45"), CommissionStatus.PENDING)


def test_invoice_paid_2024_02_10_is_approved_on_2024_05_10_not_on_2024_05_09():
    c = commission(paid_on=date(2024, 2, 10))
    assert c.approval_date == date(2024, 5, 10)
    assert not c.is_due(date(2024, 5, 9))
    assert c.is_due(date(2024, 5, 10))
    assert c.approve(date(2024, 5, 10), NOW).status is CommissionStatus.APPROVED


def test_an_invoice_the_partner_pays_earns_no_commission():
    assert commission_for_paid_invoice(facts(payer="ptn_a"), partner_id="ptn_a", percent=Decimal(10), paid_on=date(2024, 2, 10), now=NOW) is None


def test_the_resellers_customer_pays_invoice_earns_it_cashback_not_also_commission():
    invoice = facts(reseller="ptn_a", customer_pays=True)
    assert commission_for_paid_invoice(invoice, partner_id="ptn_a", percent=Decimal(10), paid_on=date(2024, 2, 10), now=NOW) is None


def test_the_same_invoice_always_gives_the_same_commission_id():
    assert commission().id == commission().id


def test_credit_note_before_approval_voids_the_commission():
    outcome = apply_credit(commission(), credited_net=Money.of("1000.00"), credit_reference="inv_cn", now=datetime(2024, 3, 1, tzinfo=UTC))
    assert outcome.updated.status is CommissionStatus.VOID and outcome.adjustment is None


def test_partial_credit_note_before_approval_reduces_the_commission():
    outcome = apply_credit(commission(), credited_net=Money.of("400.00"), credit_reference="inv_cn", now=datetime(2024, 3, 1, tzinfo=UTC))
    assert outcome.updated.amount == Money.of("60.00") and outcome.updated.status is CommissionStatus.PENDING


def test_credit_note_after_approval_books_a_negative_adjustment():
    approved = commission().approve(date(2024, 5, 10), datetime(2024, 5, 10, tzinfo=UTC))
    outcome = apply_credit(approved, credited_net=Money.of("1000.00"), credit_reference="inv_cn", now=datetime(2024, 6, 1, tzinfo=UTC))
    assert outcome.updated.status is CommissionStatus.APPROVED and outcome.updated.amount == Money.of("100.00")
    adjustment = outcome.adjustment
    assert (adjustment.kind, adjustment.status, adjustment.amount) == (CommissionKind.ADJUSTMENT, CommissionStatus.APPROVED, Money.of("-100.00"))
    assert adjustment.adjusts_commission_id == approved.id


def test_positive_cashback_waits_for_the_payment_then_for_90_days():
    entry = cashback_entry(partner_id="ptn_a", customer_id="cus_1", invoice_id="inv_1", amount=Money.of("3.00"), invoice_date=date(2024, 2, 1), now=NOW)
    assert entry.status is CommissionStatus.AWAITING_PAYMENT and entry.approval_date is None
    paid = entry.with_payment(date(2024, 2, 10))
    assert (paid.status, paid.approval_date) == (CommissionStatus.PENDING, date(2024, 5, 10))


def test_negative_cashback_is_deducted_at_once():
    entry = cashback_entry(partner_id="ptn_a", customer_id="cus_1", invoice_id="inv_2", amount=Money.of("-1.50"), invoice_date=date(2024, 2, 1), now=NOW)
    assert entry.status is CommissionStatus.APPROVED


THRESHOLD = Money.of("50.00")


def approved(amount, n=1):
    c = commission_for_paid_invoice(
        InvoiceFacts(f"inv_{n}", None, "cus_1", "cus_1", None, False, date(2024, 2, 1), Money.of(amount) * 10),
        partner_id="ptn_a", percent=Decimal(10), paid_on=date(2024, 2, 10), now=NOW,
    )
    return c.approve(date(2024, 5, 10), NOW)


def payout(entries, bank=BANK):
    return plan_payout(
        payout_id="pay_1", partner_id="ptn_a", partner_number=1001, bank_details=bank, approved_unpaid=entries,
        threshold=THRESHOLD, requested_by="usr_a", now=NOW,
    )


def test_payout_is_refused_at_threshold_minus_one_cent_and_at_the_threshold():
    with pytest.raises(PayoutBelowThreshold):
        payout([approved("49.99")])
    with pytest.raises(PayoutBelowThreshold):
        payout([approved("30.00", 1), approved("20.00", 2)])


def test_payout_is_allowed_above_the_threshold_and_marks_every_entry_paid():
    result, paid = payout([approved("30.00", 1), approved("20.01", 2)])
    assert result.amount == Money.of("50.01")
    assert {c.status for c in paid} == {CommissionStatus.PAID} and {c.payout_id for c in paid} == {"pay_1"}


def test_pending_commissions_do_not_count_towards_the_threshold():
    with pytest.raises(PayoutBelowThreshold):
        payout([approved("30.00", 1), commission("500.00")])


def test_payout_needs_bank_details():
    with pytest.raises(BankDetailsMissing):
        payout([approved("80.00")], bank=None)


def test_totals_split_pending_approved_and_paid():
    totals = CommissionTotals.of([commission("100.00"), approved("20.00", 2), approved("5.00", 3).paid_with("pay_0")])
    assert (totals.pending, totals.approved, totals.paid) == (Money.of("10.00"), Money.of("20.00"), Money.of("5.00"))


def test_the_same_credit_note_applied_twice_changes_nothing_the_second_time():
    first = apply_credit(commission(), credited_net=Money.of("400.00"), credit_reference="inv_cn", now=datetime(2024, 3, 1, tzinfo=UTC))
    again = apply_credit(first.updated, credited_net=Money.of("400.00"), credit_reference="inv_cn", now=datetime(2024, 3, 1, tzinfo=UTC))
    assert again.updated == first.updated and again.adjustment is None
