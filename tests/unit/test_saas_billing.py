"""Reseller SaaS subscriptions are billed to the selling partner, month by month (rules: ``domain.subscriptions``).

Müller GmbH's e-mail signatures, sold by a partner at the catalogue's EUR 1.25 per user and month; created
2026-11-23 10:00 UTC (Berlin: 11:00) with 12 users, so its payment dates are the 23rd.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.billing import CustomerAccount, PartnerTerms, plan_billing_run
from domain.catalogue import SIGNATURES_FOR_M365, demo_catalogue
from domain.invoices import BillingParty
from domain.money import Money
from domain.organisations import AccessLevel, BillingMode, BillingModePeriod, PartnerLink
from domain.subscriptions import BillingCycle, ChargeKind, SaasStatus, new_saas_subscription, prorated_amount, prorated_between

CATALOGUE = demo_catalogue()
PARTNER, CUSTOMER = "ptn_nordit", "cus_hanse"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def create(users: int = 12, *, customer_id: str | None = None, now: datetime = utc(2026, 11, 23, 10)):
    return new_saas_subscription(
        partner_id=PARTNER, product=CATALOGUE.product(SIGNATURES_FOR_M365), customer_company_name="Müller GmbH",
        users=users, now=now, actor_id="usr_partner", customer_id=customer_id,
    )


def summary(charges) -> list[tuple[str, str, str, int, str]]:
    return [(c.kind.value, c.period_start.isoformat(), c.period_end.isoformat(), c.quantity, str(c.amount.amount)) for c in charges]


# --- the months -----------------------------------------------------------------------------------------------------


def test_creation_charges_the_first_month_to_the_partner_for_the_users_at_the_catalogue_price():
    sub = create()
    charge = sub.opening_charge(CATALOGUE)
    assert summary([charge]) == [("RECURRING", "2026-11-23", "2026-12-23", 12, "15.00")]
    assert (charge.partner_id, charge.customer_id, charge.billed_to_partner, charge.unit_price) == (PARTNER, PARTNER, True, Money.of("1.25"))
    assert charge.description == "Email Signatures for Microsoft 365 for Müller GmbH: 12 user(s) × EUR 1.25 a month"
    assert (sub.next_payment_date, sub.paid_users) == (date(2026, 12, 23), 12)


def test_a_customer_on_the_platform_is_named_on_the_charge():
    assert create(customer_id=CUSTOMER).opening_charge(CATALOGUE).customer_id == CUSTOMER


def test_each_payment_date_charges_a_month_for_the_users_then_and_moves_the_date_on():
    sub = create()
    assert sub.settle(CATALOGUE, now=utc(2026, 12, 22, 22, 59)) == []  # 23:59 in Berlin: not yet
    sub.change_users(20, now=utc(2026, 12, 22, 23, 30), actor_id="usr_partner")  # 00:30 on the 23rd in Berlin
    assert summary(sub.settle(CATALOGUE, now=utc(2026, 12, 22, 23, 30))) == [("RECURRING", "2026-12-23", "2027-01-23", 20, "25.00")]
    assert (sub.next_payment_date, sub.paid_users) == (date(2027, 1, 23), 20)


def test_the_service_settles_a_due_month_before_a_change_so_it_is_charged_for_the_users_as_they_were():
    sub = create()
    before = sub.settle(CATALOGUE, now=utc(2026, 12, 23, 9))
    sub.change_users(20, now=utc(2026, 12, 23, 9), actor_id="usr_partner")
    after = sub.settle(CATALOGUE, now=utc(2026, 12, 23, 9))
    assert summary(before) == [("RECURRING", "2026-12-23", "2027-01-23", 12, "15.00")]
    assert summary(after) == [("PRORATA_INCREASE", "2026-12-23", "2027-01-23", 8, "10.00")]  # the whole month: 31/31 days


def test_missed_months_are_each_charged_in_order_and_the_anchor_is_kept_through_short_months():
    sub = create(now=utc(2027, 1, 31, 10))
    charges = sub.settle(CATALOGUE, now=utc(2027, 5, 2, 10))
    assert [(c.period_start.isoformat(), c.period_end.isoformat()) for c in charges] == [
        ("2027-02-28", "2027-03-31"), ("2027-03-31", "2027-04-30"), ("2027-04-30", "2027-05-31"),
    ]
    assert len({c.charge_id for c in charges}) == 3 and sub.next_payment_date == date(2027, 5, 31)


def test_the_charge_id_is_derived_from_subscription_and_period():
    first, second = create(), create()
    second.id = first.id
    assert first.opening_charge(CATALOGUE).charge_id == second.opening_charge(CATALOGUE).charge_id
    assert first.charge_next_month(CATALOGUE, today=date(2026, 12, 23), now=utc(2026, 12, 23, 1)).charge_id != first.opening_charge(CATALOGUE).charge_id


def test_a_month_is_charged_at_the_price_in_force_on_its_payment_date():
    cheaper = CATALOGUE.with_price_change(currency="EUR", percent=Decimal("-20"), effective_from=date(2026, 12, 23),
                                         product_ids=[SIGNATURES_FOR_M365])
    sub = create()
    (december,) = sub.settle(cheaper, now=utc(2026, 12, 23, 1))
    assert (december.unit_price, december.amount) == (Money.of("1.00"), Money.of("12.00"))


# --- users ----------------------------------------------------------------------------------------------------------


def test_added_users_are_charged_pro_rata_for_the_rest_of_the_paid_month_like_csp_seats():
    sub = create()
    sub.change_users(15, now=utc(2026, 12, 8, 10), actor_id="usr_partner")
    (charge,) = sub.settle(CATALOGUE, now=utc(2026, 12, 8, 10))
    assert summary([charge]) == [("PRORATA_INCREASE", "2026-12-08", "2026-12-23", 3, "1.88")]  # 3 × 1.25 × 15/30 = 1.875
    assert charge.changed_at == utc(2026, 12, 8, 10) and charge.billed_to_partner
    assert "3 user(s) added on 2026-12-08 (15 in all)" in charge.description and "15/30 days" in charge.description
    assert sub.paid_users == 15


def test_pro_rata_rounds_like_a_csp_seat_addition():
    cycle = BillingCycle(0, utc(2026, 11, 22, 23), utc(2026, 12, 22, 23))  # Berlin 2026-11-23..2026-12-23
    price = Money.of("1.25")
    for seats, day in ((3, date(2026, 12, 8)), (7, date(2026, 11, 30)), (1, date(2026, 12, 22))):
        assert prorated_between(price, seats, day, date(2026, 11, 23), date(2026, 12, 23)) == prorated_amount(price, seats, day, cycle)


def test_fewer_users_take_effect_at_the_next_payment_date_without_refund_and_adding_back_costs_nothing_until_then():
    sub = create()
    sub.change_users(5, now=utc(2026, 11, 30, 10), actor_id="usr_partner")
    assert sub.settle(CATALOGUE, now=utc(2026, 11, 30, 10)) == []  # no credit
    sub.change_users(14, now=utc(2026, 12, 8, 10), actor_id="usr_partner")
    assert summary(sub.settle(CATALOGUE, now=utc(2026, 12, 8, 10))) == [("PRORATA_INCREASE", "2026-12-08", "2026-12-23", 2, "1.25")]
    sub.change_users(5, now=utc(2026, 12, 9, 10), actor_id="usr_partner")
    assert summary(sub.settle(CATALOGUE, now=utc(2026, 12, 23, 10))) == [("RECURRING", "2026-12-23", "2027-01-23", 5, "6.25")]


# --- status ---------------------------------------------------------------------------------------------------------


def test_deactivating_refunds_nothing_and_stops_the_charges():
    sub = create()
    sub.deactivate(now=utc(2026, 12, 1, 10), actor_id="usr_partner")
    assert sub.settle(CATALOGUE, now=utc(2026, 12, 1, 10)) == []
    assert sub.settle(CATALOGUE, now=utc(2027, 3, 1, 10)) == []
    assert sub.charge_next_month(CATALOGUE, today=date(2027, 3, 1), now=utc(2027, 3, 1, 10)) is None


def test_reactivating_within_the_paid_month_charges_nothing_but_users_beyond_those_paid_for():
    sub = create()
    sub.deactivate(now=utc(2026, 12, 1, 10), actor_id="usr_partner")
    sub.change_users(16, now=utc(2026, 12, 2, 10), actor_id="usr_partner")
    assert sub.settle(CATALOGUE, now=utc(2026, 12, 2, 10)) == []  # inactive: nothing in use
    sub.activate(now=utc(2026, 12, 13, 10), actor_id="usr_partner")
    assert summary(sub.settle(CATALOGUE, now=utc(2026, 12, 13, 10))) == [("PRORATA_INCREASE", "2026-12-13", "2026-12-23", 4, "1.67")]
    assert sub.next_payment_date == date(2026, 12, 23)


def test_reactivating_after_the_paid_month_charges_a_new_month_from_that_day_at_once():
    sub = create()
    sub.deactivate(now=utc(2026, 12, 3, 10), actor_id="usr_partner")
    sub.activate(now=utc(2027, 1, 2, 10), actor_id="usr_partner")
    assert summary(sub.settle(CATALOGUE, now=utc(2027, 1, 2, 10))) == [("RECURRING", "2027-01-02", "2027-02-02", 12, "15.00")]
    assert (sub.billing_anchor_date, sub.next_payment_date, sub.status) == (date(2027, 1, 2), date(2027, 2, 2), SaasStatus.ACTIVE)


def test_reactivating_on_the_payment_date_charges_that_month_and_keeps_the_anchor():
    sub = create(now=utc(2027, 1, 31, 10))
    sub.deactivate(now=utc(2027, 2, 10, 10), actor_id="usr_partner")
    sub.activate(now=utc(2027, 2, 28, 10), actor_id="usr_partner")
    assert summary(sub.settle(CATALOGUE, now=utc(2027, 2, 28, 10))) == [("RECURRING", "2027-02-28", "2027-03-31", 12, "15.00")]


# --- on the invoice -------------------------------------------------------------------------------------------------


def customer_pays_link() -> PartnerLink:
    since = utc(2026, 1, 1)
    return PartnerLink(PARTNER, "NordIT", AccessLevel.FULL, (BillingModePeriod(BillingMode.CUSTOMER_PAYS, since, "usr_1"),), since)


def test_the_billing_run_invoices_the_partner_without_discount_or_cashback_whatever_the_link_says():
    linked = create(customer_id=CUSTOMER)
    unlinked = create(users=4)
    customers = {CUSTOMER: CustomerAccount(BillingParty(CUSTOMER), (customer_pays_link(),))}
    partners = {PARTNER: PartnerTerms(BillingParty(PARTNER), reseller_discount_percent=Decimal("5"), cashback_percent=Decimal("3"))}
    plan = plan_billing_run(
        run_date=date(2026, 11, 23), now=utc(2026, 11, 23, 23), issuer_id="dst_1",
        charges=[linked.opening_charge(CATALOGUE), unlinked.opening_charge(CATALOGUE)], customers=customers, partners=partners,
    )
    assert plan.skipped == ()
    assert sorted((p.draft.payer_id, p.draft.customer_id, p.draft.partner_id) for p in plan.invoices) == [
        (PARTNER, CUSTOMER, PARTNER), (PARTNER, PARTNER, PARTNER),  # one per customer; the company name only: the partner's own
    ]
    for planned in plan.invoices:
        (line,) = planned.draft.lines
        assert (line.discount_percent, planned.cashback, planned.draft.billing_mode) == (Decimal("0"), None, BillingMode.PARTNER_PAYS)
        assert (line.period_start, line.period_end) == (date(2026, 11, 23), date(2026, 12, 23))
        assert "Müller GmbH" in line.description and "Email Signatures for Microsoft 365" in line.description
    assert sorted(str(p.draft.lines[0].net_amount.amount) for p in plan.invoices) == ["15.00", "5.00"]


def test_a_partner_without_billing_terms_is_reported_and_its_charge_stays_due():
    plan = plan_billing_run(run_date=date(2026, 11, 23), now=utc(2026, 11, 23, 23), issuer_id="dst_1",
                            charges=[create().opening_charge(CATALOGUE)], customers={}, partners={})
    assert plan.invoices == () and [s.reason for s in plan.skipped] == [f"no billing terms for partner {PARTNER}"]


@pytest.mark.parametrize("kind", [ChargeKind.RECURRING, ChargeKind.PRORATA_INCREASE])
def test_saas_charges_are_never_credits(kind):
    sub = create()
    sub.change_users(13, now=utc(2026, 11, 24, 10), actor_id="usr_partner")
    charges = [sub.opening_charge(CATALOGUE)] + sub.settle(CATALOGUE, now=utc(2026, 11, 24, 10))
    assert all(c.amount.amount > 0 for c in charges if c.kind is kind)
