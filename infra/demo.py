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
from domain.partner_programme import DocumentKind, ProgrammePartner
from domain.policy import Principal
from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term, demo_catalogue
from domain.services import organisations as svc
from domain.services import subscriptions as subs
from domain.subscriptions import Subscription
from domain.ports import DocumentStore, UnitOfWork
from domain import ids


@dataclass
class DemoData:
    distributor: Organisation
    partners: dict[str, Organisation] = field(default_factory=dict)
    customers: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    partner_numbers: dict[str, int] = field(default_factory=dict)


def seed(uow: UnitOfWork, now: datetime, *, partner_programme: bool = False) -> DemoData:
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
    if partner_programme:
        seed_partner_programme(uow, data, now)
    return data


def seed_partner_programme(uow: UnitOfWork, data: DemoData, now: datetime) -> None:
    """Partner numbers for both partners, NordIT's bank details, a customer NordIT referred and its commissions.

    Off by default (``make dev`` turns it on) so the end-to-end tests start from an empty programme.
    Both partners joined the programme 200 days before ``now``; Direktkunde Müller was referred by NordIT
    and paid two invoices: one 120 days ago (commission approved) and one 10 days ago (pending).
    """
    from datetime import timedelta
    from decimal import Decimal

    from domain.calendar import berlin_date
    from domain.invoices import InvoiceDraft, InvoiceKind, InvoiceLine, PaymentMethod, VatTreatment, record_payment
    from domain.money import Money
    from domain.partner_programme import ProgrammeTerms
    from domain.referrals import Attribution
    from domain.services import commissions as ledger
    from domain.services import partner_programme as programme

    from infra.settings import get_settings
    from infra.storage import S3DocumentStore

    ops = Principal.of(data.users["distributor"])
    joined = now - timedelta(days=200)
    documents = S3DocumentStore(get_settings())
    for key in ("nordit", "suedcloud"):
        data.partner_numbers[key] = enrol_demo_partner(uow, documents, ops, data.partners[key].id, now=joined).partner_number
    nordit = data.partners["nordit"].id
    programme.set_bank_details(uow, ops, nordit, iban="DE89 3704 0044 0532 0130 00", account_holder="NordIT Systemhaus GmbH", bic="COBADEFFXXX")
    direkt = data.customers["direkt"]
    with uow:  # as customerSignUp would have recorded it, had Müller signed up through NordIT's link
        uow.referrals.add(Attribution(direkt.id, nordit, data.partner_numbers["nordit"], joined + timedelta(days=1), joined + timedelta(days=3)))
        uow.commit()
    for n, (net, paid_days_ago) in enumerate([("1200.00", 120), ("480.00", 10)], start=1):
        issued = now - timedelta(days=paid_days_ago + 7)
        draft = InvoiceDraft(
            invoice_id=f"inv_demo{n:016d}", kind=InvoiceKind.INVOICE, issuer_id=data.distributor.id, payer_id=direkt.id,
            customer_id=direkt.id, currency="EUR", lines=(InvoiceLine.priced("Managed Backup, annual", 1, Money.of(net), Decimal("19")),),
            vat_treatment=VatTreatment.STANDARD, payment_method=PaymentMethod.TRANSFER, billing_mode=BillingMode.CUSTOMER_PAYS,
        )
        invoice = draft.issue(number=f"DEMO-{berlin_date(issued).year}-{n:06d}", issued_at=issued)
        paid = record_payment(invoice, invoice.amount_due, berlin_date(now) - timedelta(days=paid_days_ago), f"demo-{n}", today=berlin_date(now))
        ledger.record_commission_for_payment(uow, paid.invoice, paid.event, terms=ProgrammeTerms.default(), now=now)
    ledger.approve_due_commissions(lambda: uow, run_date=berlin_date(now), now=now)


def enrol_demo_partner(uow: UnitOfWork, documents: DocumentStore, ops: Principal, partner_id: str, *, now: datetime) -> ProgrammePartner:
    """Enrol an existing partner with demo registration data: a contact person and a trade licence uploaded to ``documents``."""
    from domain.services import partner_programme as programme

    key = f"{programme.PROOF_KEY_PREFIX}demo-{partner_id}"
    proof = b"%PDF-1.7 demo trade licence"
    documents.put(key, proof, "application/pdf")
    command = programme.EnrolmentCommand(
        partner_id, "Paula Partner", "+49 40 1234567", "partnerprogramm@partner.example", DocumentKind.TRADE_LICENCE, key,
        "application/pdf", len(proof),
    )
    return programme.enrol_partner(uow, documents, ops, command, now=now)


# --- service desk (loaded by `make dev`; the tests' demo data stays without tickets) -----------------------


class _DemoMailer:
    """Demo set-up sends nothing."""

    def send(self, message) -> None:  # noqa: D401 - the Mailer port
        pass


def seed_service_desk(uow: UnitOfWork, data: DemoData, now: datetime) -> dict[str, object]:
    """A few tickets of Hanse (portal, hotline, worked with time), a prepaid quota with its first month,
    a monthly patch-day schedule, and assets with a warranty and a licence ending soon."""
    from datetime import timedelta

    from domain.assets import AssetKind
    from domain.calendar import berlin_date
    from domain.contracts import ContractKind, QuotaTerms, Rates, month_key
    from domain.money import Money
    from domain.services import contracts as contract_svc
    from domain.services import tickets as ticket_svc
    from domain.tickets import TicketStatus

    mailer = _DemoMailer()
    ops = Principal.of(data.users["distributor"])
    hanse = data.customers["hanse"].id
    today = berlin_date(now)
    created: dict[str, object] = {}
    created["portal"] = ticket_svc.open_portal_ticket(
        uow, Principal.of(data.users["hanse_staff"]),
        ticket_svc.NewTicket(hanse, "Drucker im Lager druckt nur leere Seiten", "Seit heute früh, Lager Bremen."), now=now, mailer=mailer,
    )
    hotline = ticket_svc.open_hotline_ticket(
        uow, ops, ticket_svc.NewHotlineTicket(hanse, "VPN-Verbindung bricht ab", "Anruf: Außendienst kommt nicht ins VPN.", "Hannes IT"),
        now=now, mailer=mailer,
    )
    ticket_svc.change_status(uow, ops, hotline.id, status=TicketStatus.IN_PROGRESS, note=None, now=now, mailer=mailer)
    ticket_svc.add_comment(uow, ops, hotline.id, body="Firewall-Log prüfen; Zugang im Tresor.", internal=True, now=now, mailer=mailer)
    ticket_svc.record_time(uow, ops, hotline.id, ticket_svc.NewTimeEntry(today, 75, True, "VPN-Profil neu ausgerollt"), now=now)
    ticket_svc.record_time(uow, ops, hotline.id, ticket_svc.NewTimeEntry(today, 15, False, "Rückruf", reason="Kulanz"), now=now)
    created["hotline"] = hotline
    contract = contract_svc.create_contract(
        uow, ops,
        contract_svc.NewContract(hanse, ContractKind.PREPAID_QUOTA, today.replace(day=1), Rates(Money.of("95.00"), Money.of("680.00"), Money.of("45.00")),
                                 quota=QuotaTerms(600, Money.of("900.00"), overdraft_allowed=True), account_manager="Olga Ops"),
        now=now,
    )
    contract_svc.book_quota_month(uow, ops, contract.id, month=month_key(today), now=now)
    created["contract"] = contract
    created["schedule"] = contract_svc.add_maintenance_schedule(
        uow, ops, contract.id, subject="Patchday Server", every_months=1, anchor=(today.replace(day=1) + timedelta(days=32)).replace(day=1),
        lead_days=3, description="Windows-Updates nach Absprache; Buchhaltungssoftware nie automatisch.", now=now,
    )
    created["server"] = contract_svc.create_asset(
        uow, ops, hanse, now=now, kind=AssetKind.HARDWARE, name="Server HV01", manufacturer="Dell", model="PowerEdge R650",
        serial_number="7XK2M93", technical_data={"CPU": "2x Xeon Silver 4314", "RAM": "256 GB"},
        purchased_on=today - timedelta(days=3 * 365), warranty_until=today + timedelta(days=20),
    )
    created["datev"] = contract_svc.create_asset(
        uow, ops, hanse, now=now, kind=AssetKind.SOFTWARE, name="DATEV Rechnungswesen", licence_expires_on=today + timedelta(days=45),
        interrupts_users=True,  # accounting software: updated only on request, scheduled with Hanse
    )
    return created


def seed_credentials(uow: UnitOfWork, cipher, data: DemoData, now: datetime):
    """Hanse's firewall login, recorded by the service desk (``make dev``; needs the KMS key, infra.secrets)."""
    from domain.services import credentials as credential_svc

    command = credential_svc.NewCredential(
        data.customers["hanse"].id, "Firewall admin", "Demo-Passwort-2026!", system="https://fw.hanse.example:4444", username="admin",
        note="Sophos XGS im Serverraum Bremen; Änderungen nur nach Ticket.",
    )
    return credential_svc.create_credential(uow, cipher, Principal.of(data.users["distributor"]), command, now=now)


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
        reference="DEMO-BANK-0001", now=now, ledger=None,
    )
    return [  # in order of issue, so the numbers follow the dates
        old,
        issue(direkt, direkt, None, [("Vor-Ort-Einsatz, 3 Stunden", 3, "95.00")], days_ago=30),
        issue(kanzlei, kanzlei, BillingMode.CUSTOMER_PAYS, [standard, ("Servicebericht SR-2026-0042", 1, "180.00")], days_ago=2),
        issue(data.partners["nordit"], hanse, BillingMode.PARTNER_PAYS, [("Microsoft 365 Business Standard (P1Y, monatlich), abzgl. 5 % (Registered)", 12, "11.08")], days_ago=1),
    ]
