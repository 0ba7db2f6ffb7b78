"""Who may read an invoice: only the paying organisation (by role), and the distributor."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from domain.invoices import (
    InvoiceDraft,
    InvoiceKind,
    InvoiceLine,
    PaymentMethod,
    VatTreatment,
    can_view_invoice,
)
from domain.money import Money
from domain.organisations import BillingMode, OrganisationKind, PartnerPermission, PermissionLevel, Role
from domain.policy import Principal


def invoice_paid_by(payer_id: str, mode: BillingMode):
    return InvoiceDraft(
        invoice_id="inv_1",
        kind=InvoiceKind.INVOICE,
        issuer_id="dst_1",
        payer_id=payer_id,
        customer_id="cus_1",
        partner_id="ptn_1",
        billing_mode=mode,
        currency="EUR",
        lines=(InvoiceLine.priced("Office 365 E3", 5, Money.of("21.87"), Decimal("19")),),
        vat_treatment=VatTreatment.STANDARD,
        payment_method=PaymentMethod.TRANSFER,
    ).issue(number="PH-2025-000001", issued_at=datetime(2025, 3, 10, 9, tzinfo=timezone.utc))


CUSTOMER_PAYS = invoice_paid_by("cus_1", BillingMode.CUSTOMER_PAYS)
PARTNER_PAYS = invoice_paid_by("ptn_1", BillingMode.PARTNER_PAYS)

DISTRIBUTOR = Principal("usr_d", "dst_1", OrganisationKind.DISTRIBUTOR, Role.DISTRIBUTOR_STAFF)
CUSTOMER_EXTENDED = Principal(
    "usr_c1", "cus_1", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED
)
CUSTOMER_REPORT_ONLY = Principal(
    "usr_c2", "cus_1", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.REPORT_ONLY
)
PARTNER_ADMIN = Principal("usr_p1", "ptn_1", OrganisationKind.PARTNER, Role.PARTNER_ADMIN, frozenset(PartnerPermission))
PARTNER_STAFF_GENERAL = Principal(
    "usr_p2", "ptn_1", OrganisationKind.PARTNER, Role.PARTNER_STAFF, frozenset({PartnerPermission.GENERAL_ACCESS})
)
PARTNER_STAFF_NO_GENERAL = Principal(
    "usr_p3", "ptn_1", OrganisationKind.PARTNER, Role.PARTNER_STAFF, frozenset({PartnerPermission.DASHBOARD})
)
OTHER_CUSTOMER = Principal(
    "usr_x", "cus_2", OrganisationKind.CUSTOMER, Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED
)
OTHER_PARTNER = Principal("usr_y", "ptn_2", OrganisationKind.PARTNER, Role.PARTNER_ADMIN, frozenset(PartnerPermission))

CASES = [
    # principal, invoice, may view
    (DISTRIBUTOR, CUSTOMER_PAYS, True),
    (DISTRIBUTOR, PARTNER_PAYS, True),
    (CUSTOMER_EXTENDED, CUSTOMER_PAYS, True),
    (CUSTOMER_EXTENDED, PARTNER_PAYS, False),  # partner-pays invoices are invisible to the customer
    (CUSTOMER_REPORT_ONLY, CUSTOMER_PAYS, False),
    (PARTNER_ADMIN, PARTNER_PAYS, True),
    (PARTNER_ADMIN, CUSTOMER_PAYS, False),  # customer-pays invoices are invisible to the partner
    (PARTNER_STAFF_GENERAL, PARTNER_PAYS, True),
    (PARTNER_STAFF_NO_GENERAL, PARTNER_PAYS, False),
    (OTHER_CUSTOMER, CUSTOMER_PAYS, False),
    (OTHER_PARTNER, PARTNER_PAYS, False),
]


@pytest.mark.parametrize(
    "principal, invoice, allowed",
    CASES,
    ids=[f"{p.user_id}-{i.billing_mode.value}-{'sees' if a else 'hidden'}" for p, i, a in CASES],
)
def test_only_the_paying_organisation_and_the_distributor_see_an_invoice(principal, invoice, allowed):
    assert can_view_invoice(principal, invoice) is allowed


@pytest.mark.parametrize(
    "principal, invoice, allowed",
    CASES,
    ids=[f"list-{p.user_id}-{i.billing_mode.value}-{'sees' if a else 'hidden'}" for p, i, a in CASES],
)
def test_an_invoice_list_of_the_payer_is_open_to_exactly_those_who_may_see_its_invoices(principal, invoice, allowed):
    from domain.policy import can_view_invoices_of

    assert can_view_invoices_of(principal, invoice.payer_id) is allowed


@pytest.mark.parametrize(
    "principal, allowed",
    [(DISTRIBUTOR, True), (PARTNER_ADMIN, False), (CUSTOMER_EXTENDED, False), (PARTNER_STAFF_GENERAL, False)],
)
def test_only_distributor_staff_manage_invoices(principal, allowed):
    from domain.policy import can_manage_invoices

    assert can_manage_invoices(principal) is allowed
