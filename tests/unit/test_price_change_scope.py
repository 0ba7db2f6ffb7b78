"""A price change announced without naming products is Microsoft's: it applies to the products ordered through CSP and
leaves the resellers' SaaS products alone (their vendor prices them). Demo catalogue before the April 2023 increase."""

from datetime import date
from decimal import Decimal

import pytest

from domain.catalogue import (
    M365_BUSINESS_STANDARD,
    O365_E3_LEGACY,
    SIGNATURES_FOR_M365,
    WINDOWS_SERVER_2022_STANDARD,
    Billing,
    Term,
    demo_catalogue,
)
from domain.errors import NotFound

BEFORE = demo_catalogue(include_april_2023_increase=False)


def prices(catalogue, product_id, term, billing):
    return [str(catalogue.price_on(product_id, term, billing, day).amount) for day in (date(2023, 3, 31), date(2023, 4, 1))]


def eleven_percent(product_ids=None):
    return BEFORE.with_price_change(currency="EUR", percent=Decimal("11"), effective_from=date(2023, 4, 1), product_ids=product_ids)


def test_without_products_microsoft_products_change_and_saas_products_keep_their_price():
    changed = eleven_percent()
    assert prices(changed, M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY) == ["10.50", "11.66"]
    assert prices(changed, O365_E3_LEGACY, Term.P1Y, Billing.MONTHLY) == ["19.70", "21.87"]
    assert prices(changed, WINDOWS_SERVER_2022_STANDARD, None, None) == ["976.00", "1083.36"]
    assert prices(changed, SIGNATURES_FOR_M365, Term.P1M, Billing.MONTHLY) == ["1.25", "1.25"]


def test_a_named_saas_product_changes():
    changed = eleven_percent([SIGNATURES_FOR_M365])
    assert prices(changed, SIGNATURES_FOR_M365, Term.P1M, Billing.MONTHLY) == ["1.25", "1.39"]
    assert prices(changed, M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY) == ["10.50", "10.50"]


def test_a_named_product_must_exist():
    with pytest.raises(NotFound) as refused:
        eleven_percent(["prd_nothing"])
    assert refused.value.field == "productId"
