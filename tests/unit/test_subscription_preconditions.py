"""Preconditions before a partner may order CSP products for a customer."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from domain.catalogue import (
    M365_BUSINESS_STANDARD,
    SIGNATURES_FOR_M365,
    WINDOWS_SERVER_2022_STANDARD,
    LicenceProgram,
    Product,
    ProductCategory,
    ProductKind,
    demo_catalogue,
)
from domain.errors import ErrorCode, PreconditionFailed, ValidationFailed
from domain.subscriptions import (
    CspOrderNotReady,
    CspReadiness,
    TenantState,
    assert_csp_order_ready,
    csp_order_precondition_failures,
)

CATALOGUE = demo_catalogue()
COMMERCIAL = CATALOGUE.product(M365_BUSINESS_STANDARD)
PERPETUAL = CATALOGUE.product(WINDOWS_SERVER_2022_STANDARD)
EDUCATION = Product(
    "prd_o365_a3_faculty",
    "Office 365 A3 for faculty",
    ProductCategory.OFFICE_365,
    ProductKind.CSP_NCE,
    LicenceProgram.EDUCATION,
)
NON_PROFIT = Product(
    "prd_m365_bp_nonprofit",
    "Microsoft 365 Business Premium (Nonprofit)",
    ProductCategory.MICROSOFT_365,
    ProductKind.CSP_NCE,
    LicenceProgram.NON_PROFIT,
)

READY = CspReadiness(
    partner_mpn_id="6543210",
    partner_microsoft_id="b1c2d3e4-0000-4000-8000-000000000001",
    tenant_state=TenantState.LINKED,
    tenant_domain="muellergmbh.onmicrosoft.com",
    mca_accepted_at=datetime(2023, 1, 10, 9, tzinfo=timezone.utc),
    eligibility=frozenset({LicenceProgram.EDUCATION, LicenceProgram.NON_PROFIT}),
)


def fields(failures):
    return [failure.field for failure in failures]


@pytest.mark.parametrize("product", [COMMERCIAL, PERPETUAL, EDUCATION, NON_PROFIT])
def test_a_ready_partner_and_customer_may_order(product):
    assert csp_order_precondition_failures(READY, product) == []
    assert_csp_order_ready(READY, product)


def test_a_created_tenant_counts_as_ready():
    assert csp_order_precondition_failures(replace(READY, tenant_state=TenantState.CREATED), COMMERCIAL) == []


@pytest.mark.parametrize(
    "missing, field",
    [
        ({"partner_mpn_id": None}, "partner.microsoftPartnerNetworkId"),
        ({"partner_mpn_id": "  "}, "partner.microsoftPartnerNetworkId"),
        ({"partner_microsoft_id": None}, "partner.microsoftId"),
        ({"tenant_state": TenantState.NONE}, "customer.tenant"),
        ({"mca_accepted_at": None}, "customer.microsoftCustomerAgreement"),
    ],
)
def test_each_missing_precondition_is_its_own_failure_naming_the_field(missing, field):
    failures = csp_order_precondition_failures(replace(READY, **missing), COMMERCIAL)
    assert fields(failures) == [field]
    assert all(isinstance(f, PreconditionFailed) and f.hint for f in failures)


def test_a_pending_tenant_link_is_not_enough():
    (failure,) = csp_order_precondition_failures(replace(READY, tenant_state=TenantState.LINK_PENDING), COMMERCIAL)
    assert failure.field == "customer.tenant"
    assert "confirm" in failure.hint


def test_commercial_products_need_no_tenant_domain_or_eligibility():
    readiness = replace(READY, tenant_domain=None, eligibility=frozenset())
    assert csp_order_precondition_failures(readiness, COMMERCIAL) == []


def test_perpetual_licences_need_the_tenant_domain():
    failures = csp_order_precondition_failures(replace(READY, tenant_domain=None), PERPETUAL)
    assert fields(failures) == ["customer.tenantDomain"]


def test_perpetual_licences_need_no_eligibility():
    assert csp_order_precondition_failures(replace(READY, eligibility=frozenset()), PERPETUAL) == []


def test_education_licences_need_the_tenant_domain_and_education_eligibility():
    readiness = replace(READY, tenant_domain=None, eligibility=frozenset({LicenceProgram.NON_PROFIT}))
    failures = csp_order_precondition_failures(readiness, EDUCATION)
    assert fields(failures) == ["customer.tenantDomain", "customer.eligibility"]
    assert "distributor" in failures[1].hint


def test_non_profit_licences_need_eligibility_granted_by_microsoft():
    readiness = replace(READY, eligibility=frozenset({LicenceProgram.EDUCATION}))
    (failure,) = csp_order_precondition_failures(readiness, NON_PROFIT)
    assert failure.field == "customer.eligibility"
    assert "Microsoft only" in failure.hint


def test_all_failures_are_raised_together():
    nothing = CspReadiness(None, None, TenantState.NONE, None, None)
    with pytest.raises(CspOrderNotReady) as refused:
        assert_csp_order_ready(nothing, NON_PROFIT)
    assert refused.value.code is ErrorCode.PRECONDITION_FAILED
    assert fields(refused.value.errors) == [
        "partner.microsoftPartnerNetworkId",
        "partner.microsoftId",
        "customer.tenant",
        "customer.microsoftCustomerAgreement",
        "customer.tenantDomain",
        "customer.eligibility",
    ]


def test_a_single_failure_keeps_its_field_and_hint_on_the_raised_error():
    with pytest.raises(CspOrderNotReady) as refused:
        assert_csp_order_ready(replace(READY, mca_accepted_at=None), COMMERCIAL)
    assert refused.value.field == "customer.microsoftCustomerAgreement"
    assert refused.value.hint


def test_reseller_saas_products_are_not_csp_orders():
    with pytest.raises(ValidationFailed):
        csp_order_precondition_failures(READY, CATALOGUE.product(SIGNATURES_FOR_M365))
