"""Billing-run planning: the right payer and price for each charge, grouping, cashback, idempotent ids."""

import itertools
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.billing import (
    BILLING_RUN_CREDIT_REASON,
    Cashback,
    CustomerAccount,
    PartnerTerms,
    ServiceItem,
    invoice_id_for_run,
    plan_billing_run,
)
from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
from domain.errors import Conflict
from domain.invoices import (
    REVERSE_CHARGE_NOTE,
    BillingParty,
    DirectDebit,
    InvoiceKind,
    PaymentMethod,
    VatTreatment,
)
from domain.money import Money
from domain.organisations import (
    AccessLevel,
    Address,
    BillingMode,
    BillingModePeriod,
    OrganisationKind,
    PartnerLink,
    new_organisation,
)
from domain.sepa import SepaMandate
from domain.subscriptions import Charge, ChargeKind, charge_id_for, open_subscription

UTC = timezone.utc
CATALOGUE = demo_catalogue()  # Business Standard P1Y/ANNUAL: 139.86 per seat and year since 2023-04-01
PARTNER = PartnerTerms(
    BillingParty("ptn_1"), reseller_discount_percent=Decimal("15"), cashback_percent=Decimal("5")
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counting_ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def link(mode: BillingMode, partner_id: str = "ptn_1", since: datetime = utc(2024, 1, 1)) -> PartnerLink:
    return PartnerLink(partner_id, "Reseller GmbH", AccessLevel.FULL, (BillingModePeriod(mode, since, "usr_1"),), since)


def account(mode: BillingMode = BillingMode.CUSTOMER_PAYS, customer_id: str = "cus_1", **party) -> CustomerAccount:
    return CustomerAccount(BillingParty(customer_id, **party), (link(mode),))


def annual_upfront(quantity: int = 10, at: datetime = utc(2025, 1, 15, 10), customer_id: str = "cus_1"):
    return open_subscription(
        customer_id=customer_id,
        partner_id="ptn_1",
        product=CATALOGUE.product(M365_BUSINESS_STANDARD),
        term=Term.P1Y,
        billing=Billing.ANNUAL,
        quantity=quantity,
        now=at,
        actor_id="usr_partner",
        price_lookup=CATALOGUE,
        id_factory=counting_ids(),
    )


def charge(amount: str, kind: ChargeKind = ChargeKind.RECURRING, customer_id: str = "cus_1", ref: str = "c1") -> Charge:
    start, end = date(2025, 3, 1), date(2025, 4, 1)
    return Charge(
        charge_id=charge_id_for("sub_" + ref, kind, start, end, ref),
        subscription_id="sub_" + ref,
        customer_id=customer_id,
        partner_id="ptn_1",
        kind=kind,
        period_start=start,
        period_end=end,
        quantity=1,
        unit_price=Money.of(amount.lstrip("-")),
        amount=Money.of(amount),
        description=f"{kind.value} {ref}",
    )


def plan(charges, customers=None, *, now=utc(2025, 7, 2, 3), run_date=date(2025, 7, 2), service_items=()):
    return plan_billing_run(
        run_date=run_date,
        now=now,
        issuer_id="dst_1",
        charges=charges,
        customers=customers or {"cus_1": account()},
        partners={"ptn_1": PARTNER},
        service_items=service_items,
    )


# --- amounts ------------------------------------------------------------------------------


def test_annual_upfront_increase_mid_term_is_invoiced_pro_rata_to_the_day():
    subscription = annual_upfront().new_subscription
    increase = subscription.increase_seats(5, now=utc(2025, 7, 1, 10), actor_id="usr_partner")
    planned = plan(increase.charges).invoices[0]
    invoice = planned.draft.issue(number="PH-2025-000321", issued_at=utc(2025, 7, 2, 3))
    (line,) = invoice.lines
    # 139.86 × 5 seats × 198 days (2025-07-01 to 2026-01-15) ÷ 365 = 379.3463 → 379.35
    assert (line.quantity, line.unit_price, line.net_amount) == (5, Money.of("139.86"), Money.of("379.35"))
    assert (line.period_start, line.period_end) == (date(2025, 7, 1), date(2026, 1, 15))
    assert invoice.vat_total == Money.of("72.08")  # 379.35 × 19% = 72.0765
    assert invoice.gross_total == Money.of("451.43")


def test_partner_pays_charge_is_invoiced_to_the_partner_less_its_reseller_discount():
    opening = annual_upfront(at=utc(2025, 7, 1, 10)).charges  # 10 × 139.86 = 1398.60
    planned = plan(opening, {"cus_1": account(BillingMode.PARTNER_PAYS)}).invoices[0]
    (line,) = planned.draft.lines
    assert planned.draft.payer_id == "ptn_1"
    assert planned.draft.billing_mode is BillingMode.PARTNER_PAYS
    assert line.discount_percent == Decimal("15")
    assert line.net_amount == Money.of("1188.81")  # 1398.60 × 0.85
    assert planned.cashback is None


def test_customer_pays_charge_is_invoiced_to_the_customer_at_public_price_with_cashback_for_the_partner():
    opening = annual_upfront(at=utc(2025, 7, 1, 10)).charges
    planned = plan(opening, {"cus_1": account(BillingMode.CUSTOMER_PAYS)}).invoices[0]
    assert planned.draft.payer_id == "cus_1"
    assert planned.draft.lines[0].net_amount == Money.of("1398.60")
    assert planned.cashback == Cashback(  # 5% of 1398.60, with its base and rate for the credits
        "ptn_1", planned.invoice_id, Money.of("69.93"), Money.of("1398.60"), Decimal("5"))


def test_billing_mode_switch_mid_year_moves_only_charges_billed_after_it():
    reseller = new_organisation(
        id="ptn_1", kind=OrganisationKind.PARTNER, name="Reseller GmbH",
        address=Address.create("Ring 1", "50667", "Köln"), billing_email="billing@reseller.example", now=utc(2024, 1, 1),
    )
    customer = new_organisation(
        id="cus_1", kind=OrganisationKind.CUSTOMER, name="Bäckerei Weiß",
        address=Address.create("Markt 2", "50667", "Köln"), billing_email="buchhaltung@weiss.example",
        now=utc(2024, 1, 1),
    ).with_link(reseller, AccessLevel.FULL, BillingMode.CUSTOMER_PAYS, utc(2024, 1, 1), "usr_dst")
    customer, _ = customer.with_billing_mode("ptn_1", BillingMode.PARTNER_PAYS, utc(2025, 6, 1, 8), "usr_customer")
    accounts = {"cus_1": CustomerAccount(BillingParty.of(customer), customer.partner_links)}

    before = plan([charge("100.00", ref="may")], accounts, now=utc(2025, 5, 15, 3), run_date=date(2025, 5, 15))
    after = plan([charge("100.00", ref="july")], accounts, now=utc(2025, 7, 2, 3), run_date=date(2025, 7, 2))

    assert before.invoices[0].draft.payer_id == "cus_1"
    assert before.invoices[0].draft.lines[0].net_amount == Money.of("100.00")
    assert after.invoices[0].draft.payer_id == "ptn_1"
    assert after.invoices[0].draft.lines[0].net_amount == Money.of("85.00")


def test_reverse_charge_applies_to_an_austrian_business_customer_with_vat_id_in_the_run():
    customers = {"cus_1": account(country="AT", vat_id="ATU12345678")}
    draft = plan([charge("100.00")], customers).invoices[0].draft
    assert draft.vat_treatment is VatTreatment.REVERSE_CHARGE
    assert draft.lines[0].vat_rate == Decimal("0")
    assert draft.notes == (REVERSE_CHARGE_NOTE,)
    assert draft.gross_total == Money.of("100.00")


MANDATE = SepaMandate("MNDT-2026-0042", "DE89370400440532013000", "Direktkunde Müller", date(2026, 10, 1))


def test_a_hosting_customer_with_a_mandate_is_billed_separately_by_direct_debit_and_pays_everything_else_by_transfer():
    from domain import contracts as ct

    hosting = ct.flat_rate_item(hosting_contract(), "2026-12")
    report = ServiceItem("cus_9", "Service report SR-2026-1201", Decimal("1"), Money.of("80.00"), "sr_1201")
    result = plan_billing_run(
        run_date=date(2026, 12, 1), now=utc(2026, 12, 1, 22), issuer_id="dst_1", charges=[], partners={},
        customers={"cus_9": CustomerAccount(BillingParty("cus_9", sepa_mandate=MANDATE))}, service_items=[hosting, report],
        sepa_creditor_id="DE98ZZZ09999999999",
    )
    by_method = {p.draft.payment_method: p.draft for p in result.invoices}
    assert [line.description for line in by_method[PaymentMethod.SEPA_DIRECT_DEBIT].lines] == ["Data-centre hosting December 2026"]
    assert by_method[PaymentMethod.SEPA_DIRECT_DEBIT].direct_debit == DirectDebit("MNDT-2026-0042", "DE89 **** 3000", "DE98ZZZ09999999999")
    assert [line.description for line in by_method[PaymentMethod.TRANSFER].lines] == ["Service report SR-2026-1201"]
    assert by_method[PaymentMethod.TRANSFER].direct_debit is None


def test_rental_without_a_mandate_is_still_billed_separately_but_by_transfer():
    from domain import contracts as ct

    rental = ct.flat_rate_item(hosting_contract(), "2026-12")
    report = ServiceItem("cus_9", "Service report SR-2026-1201", Decimal("1"), Money.of("80.00"), "sr_1201")
    result = plan([], {"cus_9": CustomerAccount(BillingParty("cus_9"))}, service_items=[rental, report],
                  now=utc(2026, 12, 1, 22), run_date=date(2026, 12, 1))
    assert len(result.invoices) == 2
    assert {(p.draft.payment_method, p.draft.direct_debit) for p in result.invoices} == {(PaymentMethod.TRANSFER, None)}


def test_a_subscription_charge_of_a_customer_with_a_mandate_is_paid_by_transfer():
    result = plan([charge("50.00")], {"cus_1": account(BillingMode.CUSTOMER_PAYS, sepa_mandate=MANDATE)})
    assert result.invoices[0].draft.payment_method is PaymentMethod.TRANSFER


def test_rental_resold_by_a_partner_that_pays_goes_on_the_partners_separate_invoice_by_transfer():
    from domain import contracts as ct

    rental = ct.flat_rate_item(hosting_contract(customer_id="cus_1", partner_id="ptn_1"), "2026-12")
    result = plan([], {"cus_1": account(BillingMode.PARTNER_PAYS, sepa_mandate=MANDATE)}, service_items=[rental],
                  now=utc(2026, 12, 1, 22), run_date=date(2026, 12, 1))
    (planned,) = result.invoices
    assert (planned.draft.payer_id, planned.draft.payment_method, planned.draft.net_total) == ("ptn_1", PaymentMethod.TRANSFER, Money.of("300.00"))


# --- grouping and credits -----------------------------------------------------------------


def test_all_charges_of_a_customer_go_on_one_invoice_per_run_and_are_consumed():
    charges = [charge("100.00", ref="a"), charge("40.00", kind=ChargeKind.PRORATA_INCREASE, ref="b")]
    result = plan(charges)
    assert len(result.invoices) == 1
    assert result.invoices[0].charge_ids == {c.charge_id for c in charges}
    assert result.invoices[0].draft.net_total == Money.of("140.00")


def test_a_paying_partner_gets_one_invoice_per_customer():
    customers = {"cus_1": account(BillingMode.PARTNER_PAYS), "cus_2": account(BillingMode.PARTNER_PAYS, "cus_2")}
    result = plan([charge("100.00", ref="a"), charge("60.00", customer_id="cus_2", ref="b")], customers)
    assert [(p.draft.payer_id, p.draft.customer_id) for p in result.invoices] == [("ptn_1", "cus_1"), ("ptn_1", "cus_2")]
    assert len({p.invoice_id for p in result.invoices}) == 2


def test_a_credit_is_netted_as_a_negative_line_and_reduces_the_cashback():
    result = plan([charge("100.00", ref="a"), charge("-30.00", kind=ChargeKind.CREDIT, ref="b")])
    planned = result.invoices[0]
    assert [line.net_amount for line in planned.draft.lines] == [Money.of("100.00"), Money.of("-30.00")]
    assert planned.draft.kind is InvoiceKind.INVOICE
    assert planned.cashback.amount == Money.of("3.50")  # 5% of 70.00


def test_a_run_with_only_credits_for_a_payer_issues_a_credit_note_and_claws_back_cashback():
    planned = plan([charge("-30.00", kind=ChargeKind.CREDIT)]).invoices[0]
    issued = planned.draft.issue(number="PH-2025-000400", issued_at=utc(2025, 7, 2, 3))
    assert issued.kind is InvoiceKind.CREDIT_NOTE
    assert issued.reason == BILLING_RUN_CREDIT_REASON
    assert issued.gross_total == Money.of("-35.70")
    assert planned.cashback.amount == Money.of("-1.50")


def test_service_items_are_billed_at_their_price_without_reseller_discount():
    report = ServiceItem("cus_1", "Service report SR-2025-0815", Decimal("1.5"), Money.of("95.00"), "sr_0815", "ptn_1")
    planned = plan([], {"cus_1": account(BillingMode.PARTNER_PAYS)}, service_items=[report]).invoices[0]
    assert planned.draft.payer_id == "ptn_1"
    assert planned.draft.lines[0].net_amount == Money.of("142.50")
    assert planned.service_item_references == {"sr_0815"}


def test_service_items_of_a_customer_without_partner_are_billed_to_the_customer():
    report = ServiceItem("cus_9", "Service report SR-2025-0816", Decimal("1"), Money.of("380.00"), "sr_0816")
    customers = {"cus_9": CustomerAccount(BillingParty("cus_9"))}
    planned = plan([], customers, service_items=[report]).invoices[0]
    assert (planned.draft.payer_id, planned.draft.partner_id, planned.cashback) == ("cus_9", None, None)


def test_an_overdrawn_quota_gets_a_correction_invoice_of_its_own_beside_the_fixed_monthly_invoice():
    """10 h for EUR 900.00 a month, overdraft allowed at EUR 95.00/h; 12 h used in January 2027. On 1 February the
    month job books February's fixed item and January's correction on the same bill date: two invoices, not one."""
    from domain import contracts as ct

    contract = ct.new_contract(
        contract_id="ctr_quota", customer_id="cus_9", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=date(2027, 1, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 12, 20, 9), quota=ct.QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True),
    )
    ledger = ct.QuotaLedger(contract)
    ledger.credit_month("2027-01", now=utc(2027, 1, 1, 0, 30))
    ledger.use(report_id="srv_jan", entry_id="tim_1", minutes=720, now=utc(2027, 1, 20, 15))
    correction = ledger.close_month("2027-01", now=utc(2027, 2, 1, 0, 30))
    items = [ct.quota_month_item(contract, "2027-02"), ct.overdraft_item(contract, correction)]

    result = plan([], {"cus_9": CustomerAccount(BillingParty("cus_9"))}, service_items=items, now=utc(2027, 2, 1, 22), run_date=date(2027, 2, 1))

    fixed, corrective = sorted(result.invoices, key=lambda p: p.draft.net_total.amount, reverse=True)
    assert [(line.description, line.net_amount) for line in fixed.draft.lines] == [
        ("Prepaid quota 10:00 h February 2027", Money.of("900.00"))
    ]
    assert [(line.description, line.net_amount) for line in corrective.draft.lines] == [
        ("Quota correction: Overdraft January 2027: 2:00 h at EUR 95.00 per hour", Money.of("190.00"))
    ]
    assert (fixed.service_item_references, corrective.service_item_references) == (
        {"quota#ctr_quota#2027-02"}, {"quota-correction#ctr_quota#2027-01"}
    )
    assert corrective.draft.gross_total == Money.of("226.10")  # 190.00 + 19 % VAT
    assert fixed.invoice_id != corrective.invoice_id
    assert {p.draft.payment_method for p in result.invoices} == {PaymentMethod.TRANSFER}
    assert {p.draft.kind for p in result.invoices} == {InvoiceKind.INVOICE}


def test_a_month_without_overdraft_has_only_the_fixed_invoice():
    from domain import contracts as ct

    contract = ct.new_contract(
        contract_id="ctr_quota", customer_id="cus_9", kind=ct.ContractKind.PREPAID_QUOTA, starts_on=date(2027, 1, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 12, 20, 9), quota=ct.QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True),
    )
    result = plan([], {"cus_9": CustomerAccount(BillingParty("cus_9"))}, service_items=[ct.quota_month_item(contract, "2027-02")],
                  now=utc(2027, 2, 1, 22), run_date=date(2027, 2, 1))
    assert [p.draft.net_total for p in result.invoices] == [Money.of("900.00")]


def hosting_contract(customer_id="cus_9", partner_id=None):
    from domain import contracts as ct

    return ct.new_contract(
        contract_id="ctr_dc", customer_id=customer_id, kind=ct.ContractKind.DATA_CENTRE_HOSTING, starts_on=date(2026, 11, 1),
        rates=ct.Rates(Money.of("95.00")), now=utc(2026, 10, 20, 9), monthly_flat_rate=Money.of("300.00"), partner_id=partner_id,
    )


def test_rental_and_hosting_are_billed_on_an_invoice_of_their_own_apart_from_service_reports():
    from domain import contracts as ct

    hosting = ct.flat_rate_item(hosting_contract(), "2026-12")
    report = ServiceItem("cus_9", "Service report SR-2026-1201", Decimal("1"), Money.of("80.00"), "sr_1201")
    result = plan([], {"cus_9": CustomerAccount(BillingParty("cus_9"))}, service_items=[hosting, report],
                  now=utc(2026, 12, 1, 22), run_date=date(2026, 12, 1))
    assert sorted(([line.description for line in p.draft.lines], p.draft.net_total) for p in result.invoices) == [
        (["Data-centre hosting December 2026"], Money.of("300.00")),
        (["Service report SR-2026-1201"], Money.of("80.00")),
    ]
    assert len({p.invoice_id for p in result.invoices}) == 2


def test_a_charge_without_partnership_link_is_skipped_not_billed():
    customers = {"cus_1": CustomerAccount(BillingParty("cus_1"))}  # the link to ptn_1 is gone
    result = plan([charge("100.00")], customers)
    assert result.invoices == ()
    assert [(s.customer_id, s.reason) for s in result.skipped] == [("cus_1", "customer cus_1 has no partnership link with ptn_1")]
    assert result.charge_ids == frozenset()


# --- idempotency --------------------------------------------------------------------------


def test_re_planning_the_same_charges_gives_the_same_invoice_ids():
    charges = [charge("100.00", ref="a"), charge("60.00", customer_id="cus_2", ref="b")]
    customers = {"cus_1": account(), "cus_2": account(customer_id="cus_2")}
    first = plan(charges, customers)
    again = plan(list(reversed(charges)), customers)
    assert [p.invoice_id for p in first.invoices] == [p.invoice_id for p in again.invoices]
    assert first == again


def test_invoice_id_is_derived_from_run_date_payer_customer_and_partner():
    key = invoice_id_for_run(date(2025, 7, 2), "cus_1", "cus_1", "ptn_1")
    assert key == invoice_id_for_run(date(2025, 7, 2), "cus_1", "cus_1", "ptn_1")
    assert key.startswith("inv_") and len(key) == 24
    assert key != invoice_id_for_run(date(2025, 7, 3), "cus_1", "cus_1", "ptn_1")
    assert key != invoice_id_for_run(date(2025, 7, 2), "ptn_1", "cus_1", "ptn_1")


def test_the_same_charge_passed_twice_is_billed_once():
    once = charge("100.00")
    planned = plan([once, once]).invoices[0]
    assert len(planned.draft.lines) == 1


def test_two_different_charges_with_one_id_are_refused():
    first = charge("100.00")
    with pytest.raises(Conflict):
        plan([first, replace(first, amount=Money.of("99.00"))])


# --- credits after a billing-mode switch: credited to whoever paid for the seats ----------------

from domain.billing import BilledCharge, CreditSource, trace_credit  # noqa: E402


def switched(first: BillingMode, then: BillingMode, at: datetime) -> CustomerAccount:
    periods = (BillingModePeriod(first, utc(2024, 1, 1), "usr_1"), BillingModePeriod(then, at, "usr_customer"))
    return CustomerAccount(BillingParty("cus_1"), (PartnerLink("ptn_1", "Reseller GmbH", AccessLevel.FULL, periods, utc(2024, 1, 1)),))


def issued(planned, number: str, at: datetime):
    return planned.draft.issue(number=number, issued_at=at)


def plan_credits(charges, customers, billed, *, now, run_date):
    """Plan ``charges`` with each credit traced through ``billed`` (charges with the invoices that billed them)."""
    sources = {c.charge_id: trace_credit(c, billed) for c in charges if c.kind is ChargeKind.CREDIT}
    return plan_billing_run(
        run_date=run_date, now=now, issuer_id="dst_1", charges=charges, customers=customers,
        partners={"ptn_1": PARTNER}, credit_sources=sources,
    )


def test_a_cancellation_after_a_switch_to_partner_pays_credits_the_customer_who_paid_at_public_price():
    # Customer pays 10 seats on 2025-07-01 (1398.60); switch to partner pays 2025-07-02; cancelled 2025-07-03 in the window.
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], {"cus_1": account(BillingMode.CUSTOMER_PAYS)}, now=utc(2025, 7, 1, 22), run_date=date(2025, 7, 1)).invoices[0],
                   "PH-2025-000001", utc(2025, 7, 1, 22))
    customers = {"cus_1": switched(BillingMode.CUSTOMER_PAYS, BillingMode.PARTNER_PAYS, utc(2025, 7, 2, 8))}
    (credit,) = opened.new_subscription.cancel(now=utc(2025, 7, 3, 9), actor_id="usr_partner").charges
    assert credit.amount == Money.of("-1390.94")  # 1398.60 × 363/365 unused days

    (note,) = plan_credits([credit], customers, [BilledCharge(opening, first), BilledCharge(credit)],
                           now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3)).invoices
    assert (note.draft.kind, note.draft.payer_id, note.draft.billing_mode) == (InvoiceKind.CREDIT_NOTE, "cus_1", BillingMode.CUSTOMER_PAYS)
    assert (note.draft.corrects_invoice_id, note.draft.corrects_invoice_number) == (first.id, "PH-2025-000001")
    (line,) = note.draft.lines
    assert (line.quantity, line.discount_percent, line.net_amount) == (-10, Decimal("0"), Money.of("-1390.94"))
    assert [(c.invoice_id, c.credited_net) for c in note.corrections] == [(first.id, Money.of("1390.94"))]
    assert note.cashback is None  # the ledger takes back the cashback of the corrected invoice, not a cashback of its own


def test_a_cancellation_after_a_switch_to_customer_pays_credits_the_partner_at_the_discount_it_was_billed():
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], {"cus_1": account(BillingMode.PARTNER_PAYS)}, now=utc(2025, 7, 1, 22), run_date=date(2025, 7, 1)).invoices[0],
                   "PH-2025-000001", utc(2025, 7, 1, 22))
    assert first.net_total == Money.of("1188.81")  # 1398.60 less 15%
    customers = {"cus_1": switched(BillingMode.PARTNER_PAYS, BillingMode.CUSTOMER_PAYS, utc(2025, 7, 2, 8))}
    (credit,) = opened.new_subscription.cancel(now=utc(2025, 7, 3, 9), actor_id="usr_partner").charges

    (note,) = plan_credits([credit], customers, [BilledCharge(opening, first)], now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3)).invoices
    assert (note.draft.payer_id, note.draft.billing_mode, note.draft.corrects_invoice_id) == ("ptn_1", BillingMode.PARTNER_PAYS, first.id)
    (line,) = note.draft.lines
    assert (line.discount_percent, line.net_amount) == (Decimal("15"), Money.of("-1182.30"))  # 1390.94 less 15%
    assert note.cashback is None  # the customer never paid these seats: no cashback to claw back


def test_a_credit_is_kept_apart_from_the_new_charges_of_its_payer_in_the_run():
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], now=utc(2025, 7, 1, 22), run_date=date(2025, 7, 1)).invoices[0], "PH-2025-000001", utc(2025, 7, 1, 22))
    (credit,) = opened.new_subscription.reduce_seats(4, now=utc(2025, 7, 3, 9), actor_id="usr_partner").charges
    new_order = charge("100.00", ref="other")

    result = plan_credits([credit, new_order], {"cus_1": account()}, [BilledCharge(opening, first)],
                          now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3))
    invoice, note = result.invoices
    assert (invoice.draft.kind, invoice.draft.net_total, invoice.corrections) == (InvoiceKind.INVOICE, Money.of("100.00"), ())
    assert (note.draft.kind, note.draft.net_total, note.draft.corrects_invoice_id) == (InvoiceKind.CREDIT_NOTE, Money.of("-556.37"), first.id)
    assert note.invoice_id != invoice.invoice_id  # 139.86 × 4 × 363/365 = 556.3692


def test_a_credit_of_seats_not_billed_yet_follows_the_mode_in_force_and_is_netted():
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    (credit,) = opened.new_subscription.reduce_seats(4, now=utc(2025, 7, 1, 12), actor_id="usr_partner").charges
    (invoice,) = plan_credits([opening, credit], {"cus_1": account(BillingMode.PARTNER_PAYS)}, [BilledCharge(opening), BilledCharge(credit)],
                              now=utc(2025, 7, 1, 22), run_date=date(2025, 7, 1)).invoices
    assert (invoice.draft.payer_id, invoice.draft.kind, invoice.draft.corrects_invoice_id, invoice.corrections) == (
        "ptn_1", InvoiceKind.INVOICE, None, ())
    assert [line.net_amount for line in invoice.draft.lines] == [Money.of("1188.81"), Money.of("-475.52")]  # 559.44 less 15%


def test_a_credit_of_seats_billed_to_two_payers_is_skipped_for_a_manual_credit():
    # 10 seats billed to the customer, switch, 5 more billed to the partner; cancelling takes back both.
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], now=utc(2025, 7, 1, 22), run_date=date(2025, 7, 1)).invoices[0], "PH-2025-000001", utc(2025, 7, 1, 22))
    subscription = opened.new_subscription
    (added,) = subscription.increase_seats(5, now=utc(2025, 7, 2, 10), actor_id="usr_partner").charges
    second = issued(plan([added], {"cus_1": account(BillingMode.PARTNER_PAYS)}, now=utc(2025, 7, 2, 22), run_date=date(2025, 7, 2)).invoices[0],
                    "PH-2025-000002", utc(2025, 7, 2, 22))
    customers = {"cus_1": switched(BillingMode.CUSTOMER_PAYS, BillingMode.PARTNER_PAYS, utc(2025, 7, 2, 8))}
    billed = [BilledCharge(opening, first), BilledCharge(added, second)]

    (reduction,) = subscription.reduce_seats(5, now=utc(2025, 7, 3, 9), actor_id="usr_partner").charges
    (note,) = plan_credits([reduction], customers, billed, now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3)).invoices
    assert (note.draft.payer_id, note.draft.corrects_invoice_number) == ("ptn_1", "PH-2025-000002")  # the newest seats go first

    (cancellation,) = subscription.cancel(now=utc(2025, 7, 3, 10), actor_id="usr_partner").charges
    result = plan_credits([cancellation], customers, billed + [BilledCharge(reduction, second)], now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3))
    assert result.invoices[0].draft.payer_id == "cus_1"  # the 5 newest seats were taken back already: all 10 are PH-2025-000001's

    both = plan_credits([cancellation], customers, billed, now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3))
    assert both.invoices == ()
    assert "different payers (PH-2025-000001, PH-2025-000002)" in both.skipped[0].reason


def test_a_credit_takes_back_the_newest_seats_first_after_those_earlier_credits_took():
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    subscription = opened.new_subscription
    (added,) = subscription.increase_seats(5, now=utc(2025, 7, 2, 10), actor_id="usr_partner").charges
    first = issued(plan([opening], run_date=date(2025, 7, 1)).invoices[0], "PH-2025-000001", utc(2025, 7, 1, 22))
    second = issued(plan([added], run_date=date(2025, 7, 2)).invoices[0], "PH-2025-000002", utc(2025, 7, 2, 22))
    (earlier,) = subscription.reduce_seats(2, now=utc(2025, 7, 3, 9), actor_id="usr_partner").charges
    (credit,) = subscription.reduce_seats(6, now=utc(2025, 7, 4, 9), actor_id="usr_partner").charges

    sources = trace_credit(credit, [BilledCharge(opening, first), BilledCharge(added, second), BilledCharge(earlier, second), BilledCharge(credit)])
    assert [(s.seats, s.invoice.number) for s in sources] == [(3, "PH-2025-000002"), (3, "PH-2025-000001")]
    assert trace_credit(credit, [BilledCharge(credit)]) == (CreditSource(6),)  # nothing billed: follows the mode in force


def test_a_second_reduction_takes_the_seats_added_after_the_first_not_those_the_first_took_back():
    # 10 seats (PH-2025-000001), +5 on 2025-07-02 (000002), -5 on 07-03 (took back 000002's), +5 on 07-04 (000003), -5 on 07-05.
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    subscription = opened.new_subscription
    (added,) = subscription.increase_seats(5, now=utc(2025, 7, 2, 10), actor_id="usr_partner").charges
    (first_reduction,) = subscription.reduce_seats(5, now=utc(2025, 7, 3, 9), actor_id="usr_partner").charges
    (added_again,) = subscription.increase_seats(5, now=utc(2025, 7, 4, 10), actor_id="usr_partner").charges
    (second_reduction,) = subscription.reduce_seats(5, now=utc(2025, 7, 5, 9), actor_id="usr_partner").charges
    first = issued(plan([opening], run_date=date(2025, 7, 1)).invoices[0], "PH-2025-000001", utc(2025, 7, 1, 22))
    second = issued(plan([added], run_date=date(2025, 7, 2)).invoices[0], "PH-2025-000002", utc(2025, 7, 2, 22))
    third = issued(plan([added_again], run_date=date(2025, 7, 4)).invoices[0], "PH-2025-000003", utc(2025, 7, 4, 22))
    note = issued(plan_credits([first_reduction], {"cus_1": account()}, [BilledCharge(opening, first), BilledCharge(added, second)],
                               now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3)).invoices[0], "PH-2025-000004", utc(2025, 7, 3, 22))
    billed = [BilledCharge(opening, first), BilledCharge(added, second), BilledCharge(first_reduction, note),
              BilledCharge(added_again, third), BilledCharge(second_reduction)]

    (source,) = trace_credit(second_reduction, billed)
    assert (source.seats, source.invoice.number) == (5, "PH-2025-000003")
    (earlier,) = trace_credit(first_reduction, billed)  # replayed: the lot added later does not change the first credit
    assert (earlier.seats, earlier.invoice.number) == (5, "PH-2025-000002")


def test_seats_added_and_cancelled_before_the_run_are_netted_and_the_billed_share_corrects_the_invoice_on_its_own_note():
    # 10 seats billed on PH-2025-000001; 5 added 2025-07-03 10:00 and all 15 cancelled at 12:00, before the run.
    opened = annual_upfront(at=utc(2025, 7, 1, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], now=utc(2025, 7, 1, 22), run_date=date(2025, 7, 1)).invoices[0], "PH-2025-000001", utc(2025, 7, 1, 22))
    subscription = opened.new_subscription
    (added,) = subscription.increase_seats(5, now=utc(2025, 7, 3, 10), actor_id="usr_partner").charges
    (credit,) = subscription.cancel(now=utc(2025, 7, 3, 12), actor_id="usr_partner").charges
    assert (added.amount, credit.amount) == (Money.of("695.47"), Money.of("-2086.40"))  # 139.86 × 5 (15) × 363/365

    planned = plan_credits([added, credit], {"cus_1": account()}, [BilledCharge(opening, first), BilledCharge(added), BilledCharge(credit)],
                           now=utc(2025, 7, 3, 22), run_date=date(2025, 7, 3)).invoices
    netted = next(p for p in planned if not p.corrections)
    note = next(p for p in planned if p.corrections)
    # The 5 seats added and cancelled net on the run's invoice; the 10 billed seats are credited on a note naming the invoice.
    assert [(line.quantity, line.net_amount) for line in netted.draft.lines] == [(5, Money.of("695.47")), (-5, Money.of("-695.47"))]
    assert [(line.quantity, line.net_amount) for line in note.draft.lines] == [(-10, Money.of("-1390.93"))]
    assert (note.draft.kind, note.draft.corrects_invoice_id) == (InvoiceKind.CREDIT_NOTE, first.id)
    assert [(c.invoice_number, c.credited_net) for c in note.corrections] == [("PH-2025-000001", Money.of("1390.93"))]
    assert netted.cashback is None  # 5 % of 695.47 - 695.47: nothing; PH-2025-000001's cashback is reduced in the ledger
    assert credit.charge_id in netted.credited_charge_ids | note.credited_charge_ids  # marked billed with the last of them


def test_seats_removed_before_seats_are_added_the_same_day_are_those_held_before_the_addition():
    # 10 seats billed on PH-2025-000001 (2025-03-05); on 2025-03-10, 3 removed at 09:00 (from those 10), 5 added at 15:00.
    opened = annual_upfront(at=utc(2025, 3, 5, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], now=utc(2025, 3, 5, 22), run_date=date(2025, 3, 5)).invoices[0], "PH-2025-000001", utc(2025, 3, 5, 22))
    subscription = opened.new_subscription
    reduction = subscription.reduce_seats(3, now=utc(2025, 3, 10, 9), actor_id="usr_partner")
    assert [lot.lot_id for lot in reduction.affected_lots] == [opened.affected_lots[0].lot_id]
    (credit,) = reduction.charges
    (added,) = subscription.increase_seats(5, now=utc(2025, 3, 10, 15), actor_id="usr_partner").charges
    assert (credit.amount, added.amount) == (Money.of("-413.83"), Money.of("689.72"))  # 139.86 × 3 (5) × 360/365

    def traced(credit, billed):
        return [(source.seats, source.invoice.number if source.invoice else None) for source in trace_credit(credit, billed)]

    # Not the 5 seats added after it (unbilled: the credit would net with their charge, PH-2025-000001 left uncorrected).
    assert traced(credit, [BilledCharge(opening, first), BilledCharge(added), BilledCharge(credit)]) == [(3, "PH-2025-000001")]
    second = issued(plan([added], now=utc(2025, 3, 10, 22), run_date=date(2025, 3, 10)).invoices[0], "PH-2025-000002", utc(2025, 3, 10, 22))
    billed = [BilledCharge(opening, first), BilledCharge(added, second), BilledCharge(credit)]
    assert traced(credit, billed) == [(3, "PH-2025-000001")]  # nor PH-2025-000002, once it billed them

    # A later reduction takes the 5 newest seats, all PH-2025-000002's (the replayed first credit took none of them).
    (later,) = subscription.reduce_seats(5, now=utc(2025, 3, 12, 9), actor_id="usr_partner").charges
    assert traced(later, billed + [BilledCharge(later)]) == [(5, "PH-2025-000002")]


def test_a_credit_stored_before_charges_kept_the_instant_of_their_seat_change_counts_before_the_days_later_additions():
    from infra.codec import decode, encode

    # 3 of PH-2025-000001's 10 seats removed on 2025-03-10 09:00 and stored without the instant; 5 added at 15:00 after.
    opened = annual_upfront(at=utc(2025, 3, 5, 10))
    (opening,) = opened.charges
    first = issued(plan([opening], now=utc(2025, 3, 5, 22), run_date=date(2025, 3, 5)).invoices[0], "PH-2025-000001", utc(2025, 3, 5, 22))
    subscription = opened.new_subscription
    (credit,) = subscription.reduce_seats(3, now=utc(2025, 3, 10, 9), actor_id="usr_partner").charges
    stored = {name: value for name, value in encode(credit).items() if name != "changed_at"}
    old_credit = decode(Charge, stored)
    assert old_credit == replace(credit, changed_at=None)
    (added,) = subscription.increase_seats(5, now=utc(2025, 3, 10, 15), actor_id="usr_partner").charges

    (source,) = trace_credit(old_credit, [BilledCharge(opening, first), BilledCharge(added), BilledCharge(old_credit)])
    assert (source.seats, source.invoice.number if source.invoice else None) == (3, "PH-2025-000001")


# --- the partner's rates come from its programme tier and the configured terms ------------------

from domain.partner_programme import ProgrammePartner, ProgrammeTerms, Tier, TierChange  # noqa: E402
from domain.services.billing import partner_terms  # noqa: E402

TERMS = ProgrammeTerms.from_config({
    "REGISTERED": {"commission_percent": "10", "cashback_percent": "3", "reseller_discount_percent": "5"},
    "QUALIFIED": {"commission_percent": "15", "cashback_percent": "4", "reseller_discount_percent": "10"},
    "CERTIFIED": {"commission_percent": "20", "cashback_percent": "5", "reseller_discount_percent": "15"},
})
RESELLER = new_organisation(
    id="ptn_1", kind=OrganisationKind.PARTNER, name="Reseller GmbH", address=Address.create("Ring 1", "50667", "Köln"),
    billing_email="billing@reseller.example", now=utc(2024, 1, 1),
)


def test_a_partner_is_billed_with_the_rates_of_its_tier_on_the_billing_date():
    member = ProgrammePartner("ptn_1", 7, "Reseller GmbH", (
        TierChange(Tier.REGISTERED, date(2025, 1, 2), "usr_dst"), TierChange(Tier.CERTIFIED, date(2025, 7, 1), "usr_dst")))
    before = partner_terms(RESELLER, member, TERMS, date(2025, 6, 30))
    after = partner_terms(RESELLER, member, TERMS, date(2025, 7, 1))
    assert (before.reseller_discount_percent, before.cashback_percent) == (Decimal("5"), Decimal("3"))
    assert (after.reseller_discount_percent, after.cashback_percent) == (Decimal("15"), Decimal("5"))


def test_a_reseller_outside_the_programme_buys_at_the_entry_tiers_configured_rates():
    terms = partner_terms(RESELLER, None, TERMS, date(2025, 7, 1))
    assert (terms.reseller_discount_percent, terms.cashback_percent) == (Decimal("5"), Decimal("3"))
    member_later = ProgrammePartner("ptn_1", 7, "Reseller GmbH", (TierChange(Tier.CERTIFIED, date(2025, 8, 1), "usr_dst"),))
    assert partner_terms(RESELLER, member_later, TERMS, date(2025, 7, 1)).reseller_discount_percent == Decimal("5")
