"""Demo data for `make dev` and the end-to-end tests, created through the same services users call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.organisations import (
    AccessLevel,
    Address,
    BillingMode,
    Branch,
    BranchBilling,
    CustomerOnboarding,
    Organisation,
    PartnerPermission,
    PermissionLevel,
    Role,
    User,
)
from domain.policy import Principal
from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
from domain.services import organisations as svc
from domain.services import subscriptions as subs
from domain.subscriptions import Subscription
from domain.ports import UnitOfWork
from domain import ids


@dataclass
class DemoData:
    distributor: Organisation
    partners: dict[str, Organisation] = field(default_factory=dict)
    customers: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)


def seed(uow: UnitOfWork, now: datetime) -> DemoData:
    distributor, admin = svc.bootstrap_distributor(
        uow, name="Cloud Distribution GmbH", address=Address.create("Am Datacenter 1", "60314", "Frankfurt am Main"),
        billing_email="billing@cloud-distribution.example", admin_email="ops@cloud-distribution.example",
        admin_name="Olga Ops", now=now,
    )
    data = DemoData(distributor=distributor, users={"distributor": admin})
    ops = Principal.of(admin)

    def partner(key: str, name: str, city: str, postal_code: str) -> Organisation:
        created = svc.create_partner(
            uow, ops, svc.NewPartner(name, Address.create("Industriestr. 7", postal_code, city), f"billing@{key}.example", "DE123456789"),
            now=now,
        )
        data.partners[key] = created
        return created

    nordit = partner("nordit", "NordIT Systemhaus GmbH", "Hamburg", "20095")
    suedcloud = partner("suedcloud", "SüdCloud Solutions KG", "München", "80331")
    svc.set_microsoft_ids(uow, ops, partner_id=nordit.id, microsoft_partner_network_id="6543210", microsoft_id="nordit-msid-01")

    def user(key: str, organisation: Organisation, name: str, role: Role, **extra) -> User:
        org_key, _, person = key.partition("_")
        created = svc.create_user(uow, ops, svc.NewUser(organisation.id, f"{person}@{org_key}.example", name, role, **extra), now=now)
        data.users[key] = created
        return created

    user("nordit_admin", nordit, "Nina Nord", Role.PARTNER_ADMIN)
    user("nordit_sales", nordit, "Sven Sales", Role.PARTNER_STAFF,
         permissions=frozenset({PartnerPermission.GENERAL_ACCESS, PartnerPermission.CUSTOMER_MANAGEMENT, PartnerPermission.CSP_ORDERING}))
    user("suedcloud_admin", suedcloud, "Sepp Süd", Role.PARTNER_ADMIN)

    def customer(key: str, name: str, partner: Organisation | None, mode: BillingMode, **onboarding) -> Organisation:
        created = svc.create_customer(
            uow, ops,
            svc.NewCustomer(
                name=name, address=Address.create("Marktplatz 3", "20095", "Hamburg"), billing_email=f"rechnung@{key}.example",
                onboarding=CustomerOnboarding.create(**onboarding), partner_id=partner.id if partner else None,
                billing_mode=mode, access_level=AccessLevel.FULL,
            ),
            now=now,
        )
        data.customers[key] = created
        return created

    hanse = customer(
        "hanse", "Hanse Logistik AG", nordit, BillingMode.PARTNER_PAYS,
        branches=(Branch("Lager Bremen", Address.create("Hafenstr. 12", "28195", "Bremen")),),
        branch_billing=BranchBilling.PER_BRANCH, service_report_email="it@hanse.example",
        notify_on_new_ticket=("it@hanse.example",), notify_on_ticket_status_change=("it@hanse.example",),
        initial_inventory_wanted=True, existing_documentation=False, datev_consultant_number="1234567",
    )
    kanzlei = customer("kanzlei", "Kanzlei Weber & Partner", nordit, BillingMode.CUSTOMER_PAYS, service_report_email="office@kanzlei.example")
    alpen = customer("alpen", "Alpen Bäckerei GmbH", suedcloud, BillingMode.PARTNER_PAYS)
    customer("direkt", "Direktkunde Müller e.K.", None, BillingMode.CUSTOMER_PAYS)

    user("hanse_it", hanse, "Hannes IT", Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
    user("hanse_staff", hanse, "Hilde Staff", Role.CUSTOMER_USER, permission_level=PermissionLevel.REPORT_ONLY)
    user("kanzlei_office", kanzlei, "Karl Kanzlei", Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)
    user("alpen_owner", alpen, "Anton Alpen", Role.CUSTOMER_USER, permission_level=PermissionLevel.EXTENDED)

    with uow:
        uow.catalogue.save(demo_catalogue())
        uow.commit()
    # Hanse is ready for CSP orders: tenant created, agreement accepted, one subscription running.
    sales = Principal.of(data.users["nordit_sales"])
    subs.create_tenant(uow, sales, customer_id=hanse.id, prefix=f"hanse{hanse.id[-6:]}")
    subs.accept_customer_agreement(uow, sales, customer_id=hanse.id, name="Hannes IT", email="it@hanse.example", now=now)
    order = subs.SubscriptionOrder(hanse.id, M365_BUSINESS_STANDARD, Term.P1Y, Billing.MONTHLY, quantity=12)
    data.subscriptions["hanse_standard"] = subs.order_subscription(uow, sales, order, now=now).new_subscription
    return data


def seed_invoices(uow_factory, data: DemoData, now: datetime) -> list:
    """A few issued invoices for `make dev` (not part of ``seed``: tests issue their own through the billing run).

    Kanzlei (pays itself): one paid from two months ago and one open; NordIT (pays for Hanse): one open;
    Direkt: one overdue. Marked delivered, so no billing run e-mails them; the PDF is rendered on first download.
    """
    from datetime import timedelta
    from decimal import Decimal

    from domain.calendar import berlin_date
    from domain.invoices import BillingParty, InvoiceDraft, InvoiceKind, InvoiceLine, notes_for, payment_method_for, vat_rate_for, vat_treatment_for
    from domain.money import Money
    from domain.services import invoices as invoicing

    def issue(payer: Organisation, customer: Organisation, mode: BillingMode | None, lines: list[tuple[str, int, str]], days_ago: int):
        party = BillingParty.of(payer)
        treatment = vat_treatment_for(party)
        issued_at = now - timedelta(days=days_ago)
        draft = InvoiceDraft(
            invoice_id=ids.new_id("inv"), kind=InvoiceKind.INVOICE, issuer_id=data.distributor.id, payer_id=payer.id,
            customer_id=customer.id, currency="EUR",
            lines=tuple(InvoiceLine.priced(text, qty, Money.of(price), vat_rate_for(treatment)) for text, qty, price in lines),
            vat_treatment=treatment, payment_method=payment_method_for(party), billing_mode=mode,
            partner_id=customer.partner_links[0].partner_id if customer.partner_links else None,
            payer_vat_id=party.vat_id, payer_country=party.country, notes=notes_for(treatment),
        )
        invoice = invoicing.issue_draft(uow_factory, draft, now=issued_at, prefix="PH", delivery_date=berlin_date(issued_at))
        uow_factory().invoices.mark_delivered(invoice.id, document_key=invoicing.document_key(invoice), now=issued_at)
        return invoice

    kanzlei, hanse, direkt = data.customers["kanzlei"], data.customers["hanse"], data.customers["direkt"]
    standard = ("Microsoft 365 Business Standard (P1Y, monatlich)", 5, "11.66")
    old = issue(kanzlei, kanzlei, BillingMode.CUSTOMER_PAYS, [standard], days_ago=60)
    invoicing.record_payment(
        uow_factory, Principal.of(data.users["distributor"]), old.id, amount=old.gross_total, paid_on=old.issue_date + timedelta(days=10),
        reference="DEMO-BANK-0001", listeners=(),
    )
    return [  # in order of issue, so the numbers follow the dates
        old,
        issue(direkt, direkt, None, [("Vor-Ort-Einsatz, 3 Stunden", 3, "95.00")], days_ago=30),
        issue(kanzlei, kanzlei, BillingMode.CUSTOMER_PAYS, [standard, ("Servicebericht SR-2026-0042", 1, "180.00")], days_ago=2),
        issue(data.partners["nordit"], hanse, BillingMode.PARTNER_PAYS, [("Microsoft 365 Business Standard (P1Y, monatlich), abzgl. 10 %", 12, "10.49")], days_ago=1),
    ]
