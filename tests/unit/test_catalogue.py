from datetime import date
from decimal import Decimal

import pytest

from domain.catalogue import (
    APRIL_2023_INCREASE_FROM,
    DEFENDER_FOR_OFFICE_365_P1,
    EXCHANGE_ONLINE_PLAN_1,
    M365_BUSINESS_BASIC,
    M365_BUSINESS_PREMIUM,
    M365_BUSINESS_STANDARD,
    O365_E3,
    SIGNATURES_FOR_M365,
    WINDOWS_SERVER_2022_STANDARD,
    Billing,
    Catalogue,
    NotEligible,
    PriceListEntry,
    Product,
    ProductCategory,
    ProductKind,
    Term,
    assert_add_on_base_present,
    assert_hosted_desktop_allowed,
    demo_catalogue,
    schedule_price_change,
    validate_term_billing,
)
from domain.errors import Conflict, ErrorCode, NotFound, ValidationFailed
from domain.money import Money

WIDGET = Product("prd_widget", "Widget 365", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE)


def catalogue_with(*entries: PriceListEntry) -> Catalogue:
    return Catalogue.of([WIDGET], entries)


def entry(term: Term, billing: Billing, amount: str, effective_from: date, currency: str = "EUR") -> PriceListEntry:
    return PriceListEntry(WIDGET.id, term, billing, Money.of(amount, currency), effective_from)


@pytest.mark.parametrize(
    "term, billing", [(Term.P1M, Billing.MONTHLY), (Term.P1Y, Billing.MONTHLY), (Term.P1Y, Billing.ANNUAL)]
)
def test_the_three_term_billing_combinations_are_valid(term, billing):
    validate_term_billing(term, billing)


def test_monthly_term_paid_annually_is_refused_naming_the_valid_combinations():
    with pytest.raises(ValidationFailed) as refused:
        validate_term_billing(Term.P1M, Billing.ANNUAL)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "billing"
    assert "P1M/MONTHLY, P1Y/MONTHLY, P1Y/ANNUAL" in refused.value.hint


def test_price_list_entry_for_monthly_term_billed_annually_is_refused():
    with pytest.raises(ValidationFailed):
        entry(Term.P1M, Billing.ANNUAL, "10.00", date(2023, 1, 1))


def test_price_on_picks_the_latest_entry_in_force_on_the_day():
    catalogue = catalogue_with(
        entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1)),
        entry(Term.P1Y, Billing.MONTHLY, "11.10", date(2023, 4, 1)),
    )
    assert catalogue.price_on(WIDGET, Term.P1Y, Billing.MONTHLY, date(2023, 3, 31)) == Money.of("10.00")
    assert catalogue.price_on(WIDGET, Term.P1Y, Billing.MONTHLY, date(2023, 4, 1)) == Money.of("11.10")


def test_no_price_before_the_first_entry_is_a_typed_not_found():
    catalogue = catalogue_with(entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1)))
    with pytest.raises(NotFound) as missing:
        catalogue.price_on(WIDGET.id, Term.P1Y, Billing.MONTHLY, date(2022, 2, 28))
    assert missing.value.field == "productId"


def test_no_price_in_another_currency_is_not_found():
    catalogue = catalogue_with(entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1)))
    with pytest.raises(NotFound):
        catalogue.price_on(WIDGET.id, Term.P1Y, Billing.MONTHLY, date(2023, 1, 1), currency="GBP")


def test_monthly_term_price_is_the_annual_term_price_plus_20_percent_rounded_half_up():
    catalogue = catalogue_with(entry(Term.P1Y, Billing.MONTHLY, "5.10", date(2022, 3, 1)))
    assert catalogue.price_on(WIDGET, Term.P1M, Billing.MONTHLY, date(2023, 1, 1)) == Money.of("6.12")
    catalogue = catalogue_with(entry(Term.P1Y, Billing.MONTHLY, "1.89", date(2022, 3, 1)))
    # 1.89 × 1.20 = 2.268 → 2.27
    assert catalogue.price_on(WIDGET, Term.P1M, Billing.MONTHLY, date(2023, 1, 1)) == Money.of("2.27")


def test_a_new_commerce_product_has_no_monthly_term_price_of_its_own():
    # It is always the annual-term price + 20%: an own P1M price (11.50 against the 12.00 that follows) is refused.
    with pytest.raises(ValidationFailed) as refused:
        catalogue_with(
            entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1)),
            entry(Term.P1M, Billing.MONTHLY, "11.50", date(2022, 3, 1)),
        )
    assert refused.value.field == "term" and "+ 20%" in refused.value.message


def test_a_saas_product_has_its_own_monthly_price():
    catalogue = demo_catalogue()
    assert catalogue.price_on(SIGNATURES_FOR_M365, Term.P1M, Billing.MONTHLY, date(2024, 1, 1)).amount > 0


def test_monthly_term_price_follows_an_annual_term_price_change():
    catalogue = catalogue_with(entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1))).with_price_change(
        currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1)
    )
    assert catalogue.price_on(WIDGET, Term.P1M, Billing.MONTHLY, date(2023, 4, 1)) == Money.of("13.32")


def test_price_change_adds_entries_from_the_effective_date_and_keeps_the_old_ones():
    old = entry(Term.P1Y, Billing.ANNUAL, "126.00", date(2022, 3, 1))
    new_entries = schedule_price_change([old], currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1))
    assert new_entries == [PriceListEntry(WIDGET.id, Term.P1Y, Billing.ANNUAL, Money.of("139.86"), date(2023, 4, 1))]


def test_price_change_rounds_each_new_price_half_up_to_the_cent():
    # 4.50 × 1.11 = 4.995 → 5.00
    old = entry(Term.P1Y, Billing.MONTHLY, "4.50", date(2022, 3, 1))
    (raised,) = schedule_price_change([old], currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1))
    assert raised.unit_price == Money.of("5.00")


def test_price_change_only_touches_the_given_currency():
    gbp = entry(Term.P1Y, Billing.MONTHLY, "9.00", date(2022, 3, 1), currency="GBP")
    eur = entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1))
    new_entries = schedule_price_change(
        [gbp, eur], currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1)
    )
    assert [e.unit_price for e in new_entries] == [Money.of("11.10")]


def test_price_change_raises_the_price_in_force_the_day_before():
    entries = [
        entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1)),
        entry(Term.P1Y, Billing.MONTHLY, "12.00", date(2023, 1, 1)),
    ]
    (raised,) = schedule_price_change(entries, currency="EUR", percent=Decimal("10"), effective_from=date(2023, 4, 1))
    assert raised.unit_price == Money.of("13.20")


def test_scheduling_the_same_price_change_day_twice_is_a_conflict():
    catalogue = catalogue_with(entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1))).with_price_change(
        currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1)
    )
    with pytest.raises(Conflict):
        catalogue.with_price_change(currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1))


def test_price_change_of_minus_100_percent_is_refused():
    with pytest.raises(ValidationFailed):
        schedule_price_change([], currency="EUR", percent=Decimal("-100"), effective_from=date(2023, 4, 1))


def test_catalogue_refuses_two_prices_for_the_same_offer_and_day():
    with pytest.raises(ValidationFailed):
        catalogue_with(
            entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1)),
            entry(Term.P1Y, Billing.MONTHLY, "11.00", date(2022, 3, 1)),
        )


def test_catalogue_refuses_prices_for_unknown_products():
    with pytest.raises(ValidationFailed):
        Catalogue.of([], [entry(Term.P1Y, Billing.MONTHLY, "10.00", date(2022, 3, 1))])


def test_catalogue_refuses_upgrade_targets_that_do_not_exist():
    product = Product("prd_a", "A", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE, upgrade_targets={"prd_b"})
    with pytest.raises(ValidationFailed):
        Catalogue.of([product])


def test_unknown_product_is_not_found():
    with pytest.raises(NotFound):
        demo_catalogue().product("prd_nope")


def test_perpetual_products_have_a_one_time_price():
    catalogue = demo_catalogue(include_april_2023_increase=False)
    assert catalogue.price_on(WINDOWS_SERVER_2022_STANDARD, None, None, date(2023, 1, 1)) == Money.of("976.00")


def test_perpetual_products_cannot_have_term_prices():
    server = Product("prd_srv", "Server", ProductCategory.WINDOWS_SERVER, ProductKind.PERPETUAL)
    with pytest.raises(ValidationFailed):
        Catalogue.of([server], [PriceListEntry("prd_srv", Term.P1Y, Billing.ANNUAL, Money.of("900"), date(2022, 1, 1))])


def test_demo_catalogue_prices_before_and_after_the_april_2023_increase():
    catalogue = demo_catalogue()
    assert catalogue.price_on(M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY, date(2023, 3, 31)) == Money.of("10.50")
    assert catalogue.price_on(M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY, APRIL_2023_INCREASE_FROM) == Money.of(
        "11.66"
    )
    assert catalogue.price_on(M365_BUSINESS_BASIC, Term.P1Y, Billing.ANNUAL, date(2023, 1, 1)) == Money.of("61.20")


def test_demo_catalogue_april_2023_increase_leaves_reseller_saas_prices_alone():
    catalogue = demo_catalogue()
    assert catalogue.price_on(SIGNATURES_FOR_M365, Term.P1M, Billing.MONTHLY, date(2024, 1, 1)) == Money.of("1.25")


def test_demo_catalogue_marks_add_ons_and_upgrades():
    catalogue = demo_catalogue()
    assert catalogue.product(DEFENDER_FOR_OFFICE_365_P1).add_on_of == M365_BUSINESS_STANDARD
    assert [p.id for p in catalogue.add_ons_of(M365_BUSINESS_STANDARD)] == [DEFENDER_FOR_OFFICE_365_P1]
    assert catalogue.product(M365_BUSINESS_BASIC).can_upgrade_to(catalogue.product(M365_BUSINESS_PREMIUM))
    assert not catalogue.product(M365_BUSINESS_PREMIUM).can_upgrade_to(catalogue.product(M365_BUSINESS_BASIC))
    assert catalogue.product(EXCHANGE_ONLINE_PLAN_1).can_upgrade_to(catalogue.product(M365_BUSINESS_BASIC))


def test_the_catalogue_is_a_price_lookup():
    catalogue = demo_catalogue()
    assert catalogue(O365_E3, Term.P1Y, Billing.MONTHLY, date(2023, 1, 1), currency="EUR") == Money.of("19.70")


def test_hosted_desktop_is_allowed_for_business_premium_and_office_365_e3():
    catalogue = demo_catalogue()
    assert_hosted_desktop_allowed(catalogue.product(M365_BUSINESS_PREMIUM))
    assert_hosted_desktop_allowed(catalogue.product(O365_E3))


def test_hosted_desktop_is_refused_for_business_standard_as_not_eligible():
    with pytest.raises(NotEligible) as refused:
        assert_hosted_desktop_allowed(demo_catalogue().product(M365_BUSINESS_STANDARD))
    assert refused.value.code is ErrorCode.NOT_ELIGIBLE
    assert "Business Premium" in refused.value.hint


def test_add_on_needs_its_base_product():
    defender = demo_catalogue().product(DEFENDER_FOR_OFFICE_365_P1)
    with pytest.raises(ValidationFailed):
        assert_add_on_base_present(defender, [M365_BUSINESS_BASIC])
    assert_add_on_base_present(defender, [M365_BUSINESS_STANDARD])
