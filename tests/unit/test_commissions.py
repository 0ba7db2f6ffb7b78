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
    shows_invoice_of,
)
from domain.money import Money
from domain.organisations import OrganisationKind, PartnerPermission, Role
from domain.partner_programme import BankDetails
from domain.policy import Principal

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


# --- cashback follows the net the customer keeps ----------------------------------------------


def cashback(status="APPROVED"):
    """5 % cashback on a customer-pays invoice of net 1398.60, paid 2024-01-16, approved 2024-04-15."""
    entry = cashback_entry(
        partner_id="ptn_n", customer_id="cus_k", invoice_id="inv_1", amount=Money.of("69.93"), invoice_date=date(2024, 1, 15),
        now=datetime(2024, 1, 15, 22, tzinfo=UTC), base=Money.of("1398.60"), percent=Decimal("5"),
    ).with_payment(date(2024, 1, 16))
    return entry.approve(date(2024, 4, 15), datetime(2024, 4, 15, 3, tzinfo=UTC)) if status == "APPROVED" else entry


def credit(entry, net: str, reference: str, day: int = 20, **kwargs):
    return apply_credit(entry, credited_net=Money.of(net), credit_reference=reference, now=datetime(2024, 4, day, 10, tzinfo=UTC), **kwargs)


def test_each_credit_note_after_approval_takes_back_the_cashback_rate_of_its_net_only():
    first = credit(cashback(), "100.00", "inv_cn1", 20)
    second = credit(first.updated, "100.00", "inv_cn2", 21)
    assert (first.adjustment.amount, second.adjustment.amount) == (Money.of("-5.00"), Money.of("-5.00"))
    assert second.updated.amount == Money.of("69.93") and second.updated.credited_base == Money.of("200.00")


def test_crediting_the_rest_of_the_invoice_takes_back_exactly_what_was_earned_never_more():
    first = credit(cashback(), "100.00", "inv_cn1", 20)
    rest = credit(first.updated, "1298.60", "inv_cn2", 21)
    assert rest.adjustment.amount == Money.of("-64.93")  # 69.93 in all
    beyond = credit(rest.updated, "50.00", "inv_cn3", 22)
    assert beyond.adjustment is None


def test_a_partial_credit_before_approval_reduces_the_cashback_to_the_rate_of_what_is_left():
    pending = cashback(status="PENDING")
    outcome = credit(pending, "1390.96", "inv_cn1", 17)  # the subscription cancelled on day 2: 7.64 is kept
    assert (outcome.updated.status, outcome.updated.amount) == (CommissionStatus.PENDING, Money.of("0.38"))
    assert credit(outcome.updated, "7.64", "inv_cn2", 18).updated.status is CommissionStatus.VOID


def test_a_cashback_recorded_without_its_base_takes_the_invoice_net_as_base():
    legacy = cashback_entry(partner_id="ptn_n", customer_id="cus_k", invoice_id="inv_1", amount=Money.of("69.93"),
                            invoice_date=date(2024, 1, 15), now=NOW).with_payment(date(2024, 1, 16))
    legacy = legacy.approve(date(2024, 4, 15), NOW)
    first = credit(legacy, "100.00", "inv_cn1", invoice_net=Money.of("1398.60"))
    assert first.adjustment.amount == Money.of("-5.00")
    # Without the invoice's net the first credit takes it all back, and nothing more after that.
    blind = credit(legacy, "100.00", "inv_cn1")
    assert blind.adjustment.amount == Money.of("-69.93") and credit(blind.updated, "100.00", "inv_cn2").adjustment is None


def test_the_earning_partner_does_not_see_the_number_and_net_of_the_customers_invoice_the_distributor_does():
    """Cashback 3.50 on Kanzlei's customer-pays invoice PH-2024-000001 (net 116.60): Kanzlei pays it, so it is Kanzlei's."""
    cashback = cashback_entry(
        partner_id="ptn_a", customer_id="cus_1", invoice_id="inv_1", amount=Money.of("3.50"), invoice_date=date(2024, 2, 1),
        now=NOW, base=Money.of("116.60"), percent=Decimal(3),
    )
    partner_admin = Principal("usr_a", "ptn_a", OrganisationKind.PARTNER, Role.PARTNER_ADMIN, permissions=frozenset(PartnerPermission))
    distributor = Principal("usr_ops", "dst_1", OrganisationKind.DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
    for entry in (cashback, commission()):
        assert not shows_invoice_of(partner_admin, entry)
        assert shows_invoice_of(distributor, entry)
