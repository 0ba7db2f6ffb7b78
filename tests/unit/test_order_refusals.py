"""What an order that cannot be placed is told: a product that is no subscription is refused first, and the tenant
domain precondition names the operations that store the domain."""

import pytest

from domain.catalogue import LicenceProgram, Product, ProductCategory, ProductKind
from domain.errors import ValidationFailed
from domain.subscriptions import CspReadiness, TenantState, assert_orderable_as_subscription, csp_order_precondition_failures

A3 = Product("prd_m365_a3", "Microsoft 365 A3", ProductCategory.MICROSOFT_365, ProductKind.CSP_NCE,
             licence_program=LicenceProgram.EDUCATION)
WINDOWS_SERVER = Product("prd_ws", "Windows Server 2022 Standard", ProductCategory.WINDOWS_SERVER, ProductKind.PERPETUAL)
SIGNATURES = Product("prd_sig", "Email Signatures for Microsoft 365", ProductCategory.EMAIL_SIGNATURE, ProductKind.SAAS)


def readiness(state):
    return CspReadiness("1234567", "ms-1", state, None, None, frozenset({LicenceProgram.EDUCATION}))


def tenant_domain_hint(state):
    return next(f.hint for f in csp_order_precondition_failures(readiness(state), A3) if f.field == "customer.tenantDomain")


def test_without_a_tenant_the_tenant_domain_hint_names_creating_or_linking_one():
    hint = tenant_domain_hint(TenantState.NONE)
    assert "customerTenantCreate" in hint and "customerTenantLink" in hint


def test_with_a_pending_link_the_tenant_domain_hint_names_the_confirmation():
    assert tenant_domain_hint(TenantState.LINK_PENDING).startswith(
        "The domain is stored when the customer confirms the pending tenant link (customerTenantLinkConfirm")


def test_a_perpetual_licence_is_refused_as_a_one_time_purchase_ordered_through_the_distributor():
    with pytest.raises(ValidationFailed) as refused:
        assert_orderable_as_subscription(WINDOWS_SERVER)
    assert refused.value.field == "productId" and "one-time purchase" in refused.value.message
    assert refused.value.hint.startswith("The distributor orders perpetual licences through CSP outside Partnerhub: ask it")


def test_a_saas_product_is_sent_to_its_own_subscriptions():
    with pytest.raises(ValidationFailed) as refused:
        assert_orderable_as_subscription(SIGNATURES)
    assert refused.value.hint == "Create a reseller subscription for it (saasSubscriptionCreate)."
