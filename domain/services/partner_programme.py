"""Use cases of the partner programme: applications, decisions, tiers, bank details, referrals and sign-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping, Sequence

from domain.calendar import berlin_date
from domain.commissions import CommissionTotals
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.ids import new_id
from domain.organisations import ID_PREFIX, Address, Organisation, OrganisationKind, new_organisation
from domain.partner_programme import (
    MAX_PROOF_BYTES,
    BankDetails,
    DocumentKind,
    PartnerApplication,
    ProgrammePartner,
    ProgrammeTerms,
    ProofOfTrade,
    Tier,
    TierRates,
    can_change_tier,
    can_decide_application,
    can_manage_payouts,
    can_view_partner_programme,
    new_programme_partner,
    submit_application,
)
from domain.policy import Principal, require
from domain.ports import DocumentStore, Page, PresignedUpload, UnitOfWork
from domain.organisations import BillingMode
from domain.ports import SubscriptionFilter
from domain.referrals import (
    Attribution,
    ReferralClick,
    ReferralsOverview,
    ReferredCustomer,
    ReferredSubscription,
    SignUp,
    attribute_sign_up,
    referrals_overview,
)
from domain.subscriptions import SubscriptionStatus
from domain.services.organisations import NewCustomer, create_customer, page_size

PROOF_KEY_PREFIX = "partner-applications/"
APPROVAL_ATTEMPTS = 3  # a concurrent approval took the same partner number: allocate the next one


# --- applications ---------------------------------------------------------------------------


def proof_of_trade_upload(documents: DocumentStore, *, content_type: str, size_bytes: int) -> PresignedUpload:
    """A presigned form for the proof of trade; its policy pins the key, this type and at most 10 MiB."""
    proof = ProofOfTrade.create(
        kind=DocumentKind.TRADE_LICENCE, document_key="pending", content_type=content_type, size_bytes=size_bytes
    )
    key = f"{PROOF_KEY_PREFIX}{new_id('doc')}"
    return documents.upload_form(key, content_type=proof.content_type, max_bytes=MAX_PROOF_BYTES)


@dataclass(frozen=True)
class ApplicationCommand:
    company_name: str
    address: Address | Mapping[str, str]
    contact_name: str
    contact_phone: str
    contact_email: str
    proof_kind: DocumentKind
    proof_document_key: str
    proof_content_type: str
    proof_size_bytes: int


def submit_partner_application(uow: UnitOfWork, documents: DocumentStore, command: ApplicationCommand, *, now: datetime) -> PartnerApplication:
    """Anyone may apply (public, or the distributor on a company's behalf); the upload must exist."""
    application = _registration(documents, command, company_name=command.company_name, address=command.address, now=now)
    with uow:
        uow.partner_applications.save(application)
        uow.commit()
    return application


def _registration(
    documents: DocumentStore, command: ApplicationCommand | EnrolmentCommand, *, company_name: str,
    address: Address | Mapping[str, str], now: datetime,
) -> PartnerApplication:
    """The registration data of an application or an enrolment, validated (every problem at once), its proof uploaded."""
    application = submit_application(
        id=new_id("pap"),
        company_name=company_name,
        address=address,
        contact_name=command.contact_name,
        contact_phone=command.contact_phone,
        contact_email=command.contact_email,
        proof_kind=command.proof_kind,
        proof_document_key=command.proof_document_key,
        proof_content_type=command.proof_content_type,
        proof_size_bytes=command.proof_size_bytes,
        now=now,
    )
    key = application.proof_of_trade.document_key
    if not key.startswith(PROOF_KEY_PREFIX) or not documents.exists(key):
        raise ValidationFailed(
            "The proof of trade has not been uploaded.",
            field="proofOfTrade.documentKey",
            hint="Request an upload form (partnerApplicationProofUpload), post the file to it, then apply with its key.",
        )
    return application


def list_applications(uow: UnitOfWork, principal: Principal, status: str, *, first: int | None, after: str | None) -> Page[PartnerApplication]:
    if not can_decide_application(principal):
        return Page([], None)
    return uow.partner_applications.list_by_status(status, limit=page_size(first), cursor=after)


def _require_application(uow: UnitOfWork, principal: Principal, application_id: str) -> PartnerApplication:
    require(can_decide_application(principal), "decide partner applications")
    application = uow.partner_applications.get(application_id)
    if application is None:
        raise NotFound(f"No partner application with id '{application_id}'.", field="applicationId")
    return application


@dataclass(frozen=True)
class Approval:
    application: PartnerApplication
    partner: Organisation
    programme_partner: ProgrammePartner


def approve_application(uow: UnitOfWork, principal: Principal, application_id: str, *, now: datetime) -> Approval:
    """One transaction: the decision, the partner organisation, its programme entry and the next partner number."""
    for attempt in range(APPROVAL_ATTEMPTS):
        with uow:
            application = _require_application(uow, principal, application_id)
            partner = new_organisation(
                id=new_id(ID_PREFIX[OrganisationKind.PARTNER]),
                kind=OrganisationKind.PARTNER,
                name=application.company_name,
                address=application.address,
                billing_email=application.contact.email,
                now=now,
            )
            number = uow.programme_partners.next_partner_number()
            approved = application.approve(partner_id=partner.id, partner_number=number, decided_by=principal.user_id, now=now)
            programme_partner = new_programme_partner(approved, joined_on=berlin_date(now))
            uow.organisations.add(partner)
            uow.partner_applications.save(approved)
            uow.programme_partners.add(programme_partner)
            try:
                uow.commit()
            except Conflict:
                if attempt == APPROVAL_ATTEMPTS - 1:
                    raise
                continue  # re-read: another approval took the number, or decided this application
            return Approval(approved, partner, programme_partner)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class EnrolmentCommand:
    """What registration needs of a partner organisation beyond its name and company address, which are on record."""

    partner_id: str
    contact_name: str
    contact_phone: str
    contact_email: str
    proof_kind: DocumentKind
    proof_document_key: str
    proof_content_type: str
    proof_size_bytes: int


def enrol_partner(uow: UnitOfWork, documents: DocumentStore, principal: Principal, command: EnrolmentCommand, *, now: datetime) -> ProgrammePartner:
    """An existing partner organisation (created before the programme) registers and joins as Registered with a new number.

    Registration needs what an application needs: the organisation's company address, a contact person with phone and
    e-mail and an uploaded proof of trade. They are kept as an application the distributor approved at once, in the
    transaction that enrols the partner, so an enrolled partner's registration data is where an applicant's is.
    """
    require(can_decide_application(principal), "enrol partners in the programme")
    partner_id = command.partner_id
    for attempt in range(APPROVAL_ATTEMPTS):
        with uow:
            partner = uow.organisations.get(partner_id)
            if partner is None or partner.kind is not OrganisationKind.PARTNER:
                raise NotFound(f"No partner with id '{partner_id}'.", field="partnerId")
            if uow.programme_partners.get(partner_id) is not None:
                raise Conflict(f"{partner.name} is in the partner programme already.", field="partnerId")
            application = _registration(documents, command, company_name=partner.name, address=partner.address, now=now)
            number = uow.programme_partners.next_partner_number()
            approved = application.approve(partner_id=partner.id, partner_number=number, decided_by=principal.user_id, now=now)
            programme_partner = new_programme_partner(approved, joined_on=berlin_date(now))
            uow.partner_applications.save(approved)
            uow.programme_partners.add(programme_partner)
            try:
                uow.commit()
            except Conflict:
                if attempt == APPROVAL_ATTEMPTS - 1:
                    raise
                continue  # re-read: another approval or enrolment took the number
            return programme_partner
    raise AssertionError("unreachable")


def reject_application(uow: UnitOfWork, principal: Principal, application_id: str, *, reason: str, now: datetime) -> PartnerApplication:
    with uow:
        application = _require_application(uow, principal, application_id)
        rejected = application.reject(reason=reason, decided_by=principal.user_id, now=now)
        uow.partner_applications.save(rejected)
        uow.commit()
    return rejected


# --- programme partners -----------------------------------------------------------------------


def get_visible_programme_partner(uow: UnitOfWork, principal: Principal, partner_id: str) -> ProgrammePartner | None:
    if not can_view_partner_programme(principal, partner_id):
        return None
    return uow.programme_partners.get(partner_id)


def _require_programme_partner(uow: UnitOfWork, principal: Principal, partner_id: str) -> ProgrammePartner:
    partner = get_visible_programme_partner(uow, principal, partner_id)
    if partner is None:
        raise NotFound(f"No programme partner with id '{partner_id}'.", field="partnerId")
    return partner


def change_tier(
    uow: UnitOfWork, principal: Principal, partner_id: str, tier: Tier, *, effective_from: date,
    individual_rates: TierRates | None = None, now: datetime,
) -> ProgrammePartner:
    require(can_change_tier(principal), "change partner tiers")
    with uow:
        partner = _require_programme_partner(uow, principal, partner_id)
        changed = partner.with_tier(
            tier, effective_from=effective_from, today=berlin_date(now), changed_by=principal.user_id, individual_rates=individual_rates
        )
        uow.programme_partners.update(changed)
        uow.commit()
    return changed


def set_active(uow: UnitOfWork, principal: Principal, partner_id: str, *, active: bool) -> ProgrammePartner:
    """Suspend or reinstate a partner: an inactive partner's links are ignored and it earns no new commissions."""
    require(can_change_tier(principal), "suspend or reinstate partners")
    with uow:
        partner = _require_programme_partner(uow, principal, partner_id)
        changed = partner.reactivated() if active else partner.deactivated()
        uow.programme_partners.update(changed)
        uow.commit()
    return changed


def set_bank_details(uow: UnitOfWork, principal: Principal, partner_id: str, *, iban: str, account_holder: str, bic: str | None) -> ProgrammePartner:
    details = BankDetails.create(iban=iban, account_holder=account_holder, bic=bic)
    with uow:
        partner = _require_programme_partner(uow, principal, partner_id)
        require(can_manage_payouts(principal, partner_id), "change the bank details")
        changed = partner.with_bank_details(details)
        uow.programme_partners.update(changed)
        uow.commit()
    return changed


# --- referral sign-up -------------------------------------------------------------------------


def sign_up_customer(
    uow: UnitOfWork,
    principal: Principal,
    command: NewCustomer,
    *,
    cookie_clicks: Sequence[ReferralClick],
    referral_code: int | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[Organisation, Attribution | None]:
    """Create the customer and, in the same transaction, attribute it to the partner of the last valid click.

    ``cookie_clicks`` come from the verified, signed referral cookie, newest first (their timestamps are the
    signed ones, never the browser's expiry); each is weighed, so a newest click that no longer counts leaves the
    sign-up to the one before. ``referral_code`` is a partner number typed in.
    """
    # Oldest first: attribution lets the click given last win between clicks of the same instant.
    clicks = list(reversed(cookie_clicks))
    if referral_code is not None:
        try:
            clicks.append(ReferralClick.from_referral_code(referral_code, now))
        except ValidationFailed as error:
            raise ValidationFailed(error.message, field="referralCode", hint=error.hint) from None
    if principal.is_partner:
        # A partner signs up its own (resold) customer: that is no referral, neither its own (self-referral)
        # nor another partner's, whose referrals and commissions it must not write to.
        clicks = []
    attributed: list[Attribution] = []

    def attribute(uow: UnitOfWork, customer: Organisation) -> None:
        numbers = {c.partner_number for c in clicks}
        partners = {n: p for n in numbers if (p := uow.programme_partners.get_by_number(n)) is not None}
        sign_up = SignUp(customer.id, now, frozenset({principal.organisation_id}))
        attribution = attribute_sign_up(sign_up, clicks, partners)
        if attribution is not None:
            uow.referrals.add(attribution)
            attributed.append(attribution)

    customer = create_customer(uow, principal, command, now=now, idempotency_key=idempotency_key, on_created=attribute if clicks else None)
    return customer, (attributed[0] if attributed else uow.referrals.get_for_customer(customer.id) if clicks else None)


# --- referrals overview -------------------------------------------------------------------------


def referred_customers(uow: UnitOfWork, principal: Principal, partner_id: str, *, first: int | None, after: str | None) -> Page[Attribution]:
    if not can_view_partner_programme(principal, partner_id):
        return Page([], None)
    return uow.referrals.list_for_partner(partner_id, limit=page_size(first), cursor=after)


def commission_totals(uow: UnitOfWork, principal: Principal, partner_id: str) -> CommissionTotals:
    if not can_view_partner_programme(principal, partner_id):
        return CommissionTotals.zero()
    return CommissionTotals.of(uow.commissions.all_for_partner(partner_id))


def referrals_overview_page(
    uow: UnitOfWork, principal: Principal, partner_id: str, *, terms: ProgrammeTerms, now: datetime,
    first: int | None, after: str | None,
) -> tuple[ReferralsOverview | None, str | None]:
    """One page of referred customers, each with its active subscriptions and the commission they recur with.

    A subscription yields a referral commission only when the customer pays it and it is not
    sold by the referring partner itself (that partner earns cashback or its discount instead).
    """
    if not can_view_partner_programme(principal, partner_id):
        return None, None
    partner = uow.programme_partners.get(partner_id)
    if partner is None:
        return None, None
    page = uow.referrals.list_for_partner(partner_id, limit=page_size(first), cursor=after)
    customers = uow.organisations.get_many(a.customer_id for a in page.items)
    catalogue = uow.catalogue.get()
    referred = []
    for attribution in page.items:
        customer = customers.get(attribution.customer_id)
        if customer is None:
            continue
        active = uow.subscriptions.list_for_customer(
            customer.id, SubscriptionFilter(status=SubscriptionStatus.ACTIVE), limit=100, cursor=None
        ).items
        lines = []
        for subscription in active:
            link = customer.link_to(subscription.partner_id)
            customer_pays = link is None or link.billing_mode_at(now) is BillingMode.CUSTOMER_PAYS
            product = catalogue.products.get(subscription.product_id) if catalogue else None
            lines.append(
                ReferredSubscription(
                    product_name=product.name if product else subscription.product_id,
                    price=subscription.unit_price * subscription.quantity,
                    billing_cycle=subscription.billing,
                    earns_commission=customer_pays and subscription.partner_id != partner_id,
                )
            )
        referred.append(ReferredCustomer(customer.id, customer.name, attribution.referred_on, tuple(lines)))
    totals = CommissionTotals.of(uow.commissions.all_for_partner(partner_id))
    return referrals_overview(partner, referred, totals, terms, berlin_date(now)), page.next_cursor


def programme_terms(config: str | None) -> ProgrammeTerms:
    return ProgrammeTerms.from_json(config) if config else ProgrammeTerms.default()

