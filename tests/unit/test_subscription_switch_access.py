"""A switch to another product (upgrade, product change scheduled for the renewal) needs what ordering that product
needs; a scheduled switch the customer may no longer have is dropped at the renewal; reads see a due renewal.

Demo prices (annual term, monthly billing): Business Basic EUR 5.10, Business Standard 10.50, until 2023-03-31;
+11% from 2023-04-01 (Basic 5.66). A monthly term costs 20% more (Basic 6.79 from 2023-04-01). The education
product added here costs EUR 2.50 (annual term, monthly billing) from 2022-03-01.
"""

import itertools
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from domain.catalogue import (
    DEFENDER_FOR_OFFICE_365_P1,
    M365_BUSINESS_BASIC,
    Billing,
    Catalogue,
    LicenceProgram,
    PriceListEntry,
    Product,
    ProductCategory,
    ProductKind,
    Term,
    demo_catalogue,
)
from domain.errors import ErrorCode, NotFound
from domain.money import Money
from domain.subscriptions import (
    CspReadiness,
    ProductAccess,
    ProductSwitchNotAllowed,
    ScheduleChange,
    ScheduledChange,
    SubscriptionEventKind,
    TenantState,
    UpgradeSeats,
    as_of,
    open_subscription,
    preview_change,
    renew_due,
)

UTC = timezone.utc
EDU_A3 = "prd_m365_a3_edu"


def education_catalogue() -> Catalogue:
    base = demo_catalogue()
    basic = base.product(M365_BUSINESS_BASIC)
    edu = Product(EDU_A3, "Microsoft 365 A3 (education)", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE,
                  licence_program=LicenceProgram.EDUCATION)
    products = [p for p in base.products.values() if p.id != M365_BUSINESS_BASIC]
    products += [replace(basic, upgrade_targets=basic.upgrade_targets | {EDU_A3}), edu]
    return Catalogue.of(products, [*base.price_list, PriceListEntry(EDU_A3, Term.P1Y, Billing.MONTHLY, Money.of("2.50"), date(2022, 3, 1))])


CATALOGUE = education_catalogue()
BASIC, EDU = CATALOGUE.product(M365_BUSINESS_BASIC), CATALOGUE.product(EDU_A3)
DEFENDER = CATALOGUE.product(DEFENDER_FOR_OFFICE_365_P1)  # an add-on of Business Standard
READY = CspReadiness(
    partner_mpn_id="6543210", partner_microsoft_id="b1c2d3e4-0000-4000-8000-000000000001", tenant_state=TenantState.CREATED,
    tenant_domain="kanzleiweber.onmicrosoft.com", mca_accepted_at=datetime(2023, 1, 10, 9, tzinfo=UTC),
)
COMMERCIAL_ONLY = ProductAccess(READY)
EDUCATION_GRANTED = ProductAccess(replace(READY, eligibility=frozenset({LicenceProgram.EDUCATION})))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def subscribe(*, term=Term.P1Y, at=utc(2023, 1, 15, 10), quantity=10):
    counter = itertools.count(1)
    return open_subscription(
        customer_id="cus_1", partner_id="ptn_1", product=BASIC, term=term, billing=Billing.MONTHLY, quantity=quantity,
        now=at, actor_id="usr_partner", price_lookup=CATALOGUE, id_factory=lambda prefix: f"{prefix}_{next(counter)}",
    ).new_subscription


def schedule(sub, change: ScheduledChange, product, access, at=utc(2023, 6, 1, 9)):
    return sub.schedule_change(change, now=at, actor_id="usr_partner", price_lookup=CATALOGUE, product=product, access=access)


# --- scheduling a product switch --------------------------------------------------------


def test_a_switch_to_an_education_product_scheduled_without_education_eligibility_is_refused_and_changes_nothing():
    sub = subscribe()
    history = list(sub.history)
    with pytest.raises(ProductSwitchNotAllowed) as refused:
        schedule(sub, ScheduledChange(product_id=EDU_A3), EDU, COMMERCIAL_ONLY)
    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.PRECONDITION_FAILED, "customer.eligibility")]
    hint = refused.value.errors[0].hint
    assert "Request the education status" in hint and "Otherwise schedule another product" in hint
    assert sub.scheduled_change is None and sub.history == history


def test_a_switch_to_an_education_product_is_scheduled_once_the_customer_has_the_eligibility():
    sub = subscribe()
    schedule(sub, ScheduledChange(product_id=EDU_A3), EDU, EDUCATION_GRANTED)
    assert sub.scheduled_change == ScheduledChange(product_id=EDU_A3)


def test_a_switch_to_an_add_on_is_refused_when_the_customer_lacks_its_base_product():
    sub = subscribe()
    with pytest.raises(ProductSwitchNotAllowed) as refused:
        schedule(sub, ScheduledChange(product_id=DEFENDER.id), DEFENDER, ProductAccess(READY, holds_base_product=False))
    assert [(e.code, e.field) for e in refused.value.errors] == [(ErrorCode.INVALID_INPUT, "scheduledChange.productId")]
    assert "Order the base product (prd_m365_business_standard) first." in refused.value.errors[0].hint
    schedule(sub, ScheduledChange(product_id=DEFENDER.id), DEFENDER, ProductAccess(READY, holds_base_product=True))
    assert sub.scheduled_change.product_id == DEFENDER.id


def test_the_preview_of_a_refused_switch_gives_the_same_answer():
    sub = subscribe()
    result = preview_change(sub, ScheduleChange(ScheduledChange(product_id=EDU_A3), EDU, COMMERCIAL_ONLY), utc(2023, 6, 1, 9), CATALOGUE)
    assert not result.allowed and isinstance(result.refusal, ProductSwitchNotAllowed)
    assert [e.field for e in result.refusal.errors] == ["customer.eligibility"]


# --- upgrading ------------------------------------------------------------------------------


def test_an_upgrade_to_an_education_product_without_education_eligibility_is_refused_and_moves_no_seat():
    sub = subscribe()
    with pytest.raises(ProductSwitchNotAllowed) as refused:
        sub.upgrade(from_product=BASIC, to_product=EDU, now=utc(2023, 3, 1, 10), actor_id="usr_partner", price_lookup=CATALOGUE,
                    access=COMMERCIAL_ONLY)
    assert [e.field for e in refused.value.errors] == ["customer.eligibility"]
    assert "Otherwise upgrade to another product (upgrades of Microsoft 365 Business Basic: " in refused.value.errors[0].hint
    assert (sub.quantity, sub.status.value, sub.product_id) == (10, "ACTIVE", M365_BUSINESS_BASIC)


def test_an_upgrade_to_an_education_product_with_the_eligibility_moves_the_seats_at_its_price():
    sub = subscribe()
    outcome = sub.upgrade(from_product=BASIC, to_product=EDU, seats=4, now=utc(2023, 3, 1, 10), actor_id="usr_partner",
                          price_lookup=CATALOGUE, access=EDUCATION_GRANTED)
    # cycle 2023-02-15..2023-03-15 (28 days), 14 left from 2023-03-01: 4 × 5.10 × 14/28 credited, 4 × 2.50 × 14/28 charged
    assert [str(c.amount.amount) for c in outcome.charges] == ["-10.20", "5.00"]
    assert (outcome.new_subscription.product_id, outcome.new_subscription.quantity, sub.quantity) == (EDU_A3, 4, 6)


# --- the renewal: a switch the customer may no longer have ------------------------------------


def test_a_dropped_switch_renews_on_the_current_product_and_keeps_the_scheduled_quantity_and_term():
    sub = subscribe()  # Basic, annual term from 2023-01-15 10:00, renews 2024-01-15 10:00
    schedule(sub, ScheduledChange(quantity=12, term=Term.P1M, product_id=EDU_A3), EDU, EDUCATION_GRANTED)
    # eligibility revoked meanwhile: the renewal job finds the switch no longer allowed
    refusal = ProductSwitchNotAllowed(EDU, COMMERCIAL_ONLY.refusals(EDU, field="scheduledChange.productId"))
    event = sub.drop_scheduled_product_switch(refusal, price_lookup=CATALOGUE, now=utc(2024, 1, 15, 22, 30))
    assert sub.scheduled_change == ScheduledChange(quantity=12, term=Term.P1M)
    assert (event.kind, event.at) == (SubscriptionEventKind.SCHEDULED_PRODUCT_SWITCH_DROPPED, utc(2024, 1, 15, 10))
    assert event.details["dropped_product_id"] == EDU_A3 and "no education eligibility" in event.details["reason"]
    assert (event.details["scheduled_quantity"], event.details["scheduled_term"]) == ("12", "P1M")

    sub.renew(CATALOGUE, now=utc(2024, 1, 15, 22, 30))
    assert (sub.product_id, sub.quantity, sub.term, str(sub.unit_price.amount)) == (M365_BUSINESS_BASIC, 12, Term.P1M, "6.79")
    assert sub.term_ends_at == utc(2024, 2, 15, 10)


def test_a_dropped_switch_also_drops_a_billing_the_current_product_has_no_price_for():
    sub = subscribe()
    # as scheduled with the eligibility (set directly: the education product here has no upfront price either)
    sub.scheduled_change = ScheduledChange(quantity=8, billing=Billing.ANNUAL, product_id=EDU_A3)

    def no_upfront_basic(product_id, term, billing, on, *, currency="EUR"):
        if product_id == M365_BUSINESS_BASIC and billing is Billing.ANNUAL:
            raise NotFound("Microsoft 365 Business Basic has no P1Y/ANNUAL price.")
        return CATALOGUE(product_id, term, billing, on, currency=currency)

    refusal = ProductSwitchNotAllowed(EDU, COMMERCIAL_ONLY.refusals(EDU, field="scheduledChange.productId"))
    sub.drop_scheduled_product_switch(refusal, price_lookup=no_upfront_basic, now=utc(2024, 1, 15, 22, 30))
    assert sub.scheduled_change == ScheduledChange(quantity=8)


def test_a_dropped_switch_with_nothing_else_scheduled_leaves_no_scheduled_change():
    sub = subscribe()
    schedule(sub, ScheduledChange(product_id=EDU_A3), EDU, EDUCATION_GRANTED)
    refusal = ProductSwitchNotAllowed(EDU, COMMERCIAL_ONLY.refusals(EDU, field="scheduledChange.productId"))
    sub.drop_scheduled_product_switch(refusal, price_lookup=CATALOGUE, now=utc(2024, 1, 15, 22, 30))
    assert sub.scheduled_change is None
    sub.renew(CATALOGUE, now=utc(2024, 1, 15, 22, 30))
    assert (sub.product_id, sub.quantity, str(sub.unit_price.amount)) == (M365_BUSINESS_BASIC, 10, "5.66")


# --- reads while a renewal is due ----------------------------------------------------------------


def test_a_read_while_the_renewal_is_due_shows_the_new_term_and_leaves_the_stored_subscription_alone():
    # 12:00 Berlin: 10 seats at 6.12 (5.10 + 20%), renews 2023-04-15 12:00 Berlin (summer time: 10:00 UTC)
    sub = subscribe(term=Term.P1M, at=utc(2023, 3, 15, 11))
    now = utc(2023, 4, 15, 12)  # two hours after the term end; the job has not run
    shown = as_of(sub, now, CATALOGUE, access_to=no_reads)
    assert (shown.term_ends_at, shown.next_window_opens_at) == (utc(2023, 5, 15, 10), utc(2023, 5, 15, 10))
    assert (shown.reducible_seats(now), str(shown.unit_price.amount)) == (10, "6.79")
    assert shown.history[-1].kind is SubscriptionEventKind.RENEWED
    assert (sub.term_ends_at, sub.reducible_seats(now), str(sub.unit_price.amount)) == (utc(2023, 4, 15, 10), 0, "6.12")
    assert as_of(sub, utc(2023, 4, 15, 9), CATALOGUE, access_to=no_reads) is sub  # an hour before the term end: nothing due


def no_reads(product):
    raise AssertionError(f"nothing needs to know whether the customer may have {product.name}")


def test_a_read_while_the_renewal_is_due_drops_a_switch_the_customer_may_no_longer_have_as_the_renewal_does():
    # monthly term from 2023-03-15 11:00 UTC (12:00 Berlin), 10 seats; A3 with 12 seats scheduled while eligible
    sub = subscribe(term=Term.P1M, at=utc(2023, 3, 15, 11))
    schedule(sub, ScheduledChange(quantity=12, product_id=EDU_A3), EDU, EDUCATION_GRANTED, at=utc(2023, 3, 20, 9))
    now = utc(2023, 4, 15, 12)  # the eligibility was withdrawn; two hours after the term end, the job has not run
    shown = as_of(sub, now, CATALOGUE, access_to=lambda product: COMMERCIAL_ONLY)
    assert (shown.product_id, shown.quantity, str(shown.unit_price.amount)) == (M365_BUSINESS_BASIC, 12, "6.79")
    assert [e.kind for e in shown.history[-2:]] == [SubscriptionEventKind.SCHEDULED_PRODUCT_SWITCH_DROPPED, SubscriptionEventKind.RENEWED]
    assert (sub.product_id, sub.term_index, sub.scheduled_change.product_id) == (M365_BUSINESS_BASIC, 0, EDU_A3)  # stored as it was

    renew_due(sub, CATALOGUE, now=now, access_to=lambda product: COMMERCIAL_ONLY)  # what the job then does
    assert (sub.product_id, sub.quantity, sub.unit_price, sub.term_ends_at) == (
        shown.product_id, shown.quantity, shown.unit_price, shown.term_ends_at)
    assert [(e.kind, e.at, e.details) for e in sub.history] == [(e.kind, e.at, e.details) for e in shown.history]


def test_a_read_while_the_renewal_is_due_applies_a_switch_the_customer_may_still_have():
    sub = subscribe(term=Term.P1M, at=utc(2023, 3, 15, 11))
    schedule(sub, ScheduledChange(product_id=EDU_A3), EDU, EDUCATION_GRANTED, at=utc(2023, 3, 20, 9))
    shown = as_of(sub, utc(2023, 4, 15, 12), CATALOGUE, access_to=lambda product: EDUCATION_GRANTED)
    # 2.50 annual term + 20% for the monthly term
    assert (shown.product_id, shown.quantity, str(shown.unit_price.amount)) == (EDU_A3, 10, "3.00")
    assert shown.history[-1].kind is SubscriptionEventKind.RENEWED


def test_a_switch_to_a_product_no_longer_in_the_catalogue_is_dropped_at_the_renewal_without_asking_about_the_customer():
    sub = subscribe(term=Term.P1M, at=utc(2023, 3, 15, 11))
    schedule(sub, ScheduledChange(quantity=8, product_id=EDU_A3), EDU, EDUCATION_GRANTED, at=utc(2023, 3, 20, 9))
    retired = demo_catalogue()  # the education product is gone
    outcome = renew_due(sub, retired, now=utc(2023, 4, 15, 12), access_to=no_reads)
    assert (sub.product_id, sub.quantity, str(sub.unit_price.amount)) == (M365_BUSINESS_BASIC, 8, "6.79")
    dropped = outcome.events[0]
    assert (dropped.kind, dropped.at) == (SubscriptionEventKind.SCHEDULED_PRODUCT_SWITCH_DROPPED, utc(2023, 4, 15, 10))
    assert dropped.details["reason"] == "The product prd_m365_a3_edu scheduled for the renewal is no longer offered."


def test_a_switch_to_a_product_without_a_price_on_the_renewal_date_is_dropped_at_the_renewal():
    sub = subscribe(term=Term.P1M, at=utc(2023, 3, 15, 11))
    schedule(sub, ScheduledChange(product_id=EDU_A3), EDU, EDUCATION_GRANTED, at=utc(2023, 3, 20, 9))
    unpriced = Catalogue.of(CATALOGUE.products.values(), [e for e in CATALOGUE.price_list if e.product_id != EDU_A3])
    shown = as_of(sub, utc(2023, 4, 15, 12), unpriced, access_to=no_reads)
    assert (shown.product_id, str(shown.unit_price.amount)) == (M365_BUSINESS_BASIC, "6.79")
    assert shown.history[-2].details["reason"] == "Microsoft 365 A3 (education) has no P1M/MONTHLY price in EUR on 2023-04-15."
