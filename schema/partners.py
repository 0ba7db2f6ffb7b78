"""Partner programme types: applications, programme partners (number, tiers, bank details)."""

from datetime import date, datetime
from decimal import Decimal

import strawberry

from domain import partner_programme as d
from schema.common import Error, PresignedUpload, enum_of
from schema.organisations import AddressInput

Tier = enum_of(d.Tier, "Registered (entry), Qualified, Certified, or an individual agreement with its own rates.")
ApplicationStatus = enum_of(d.ApplicationStatus)
ProofOfTradeKind = enum_of(d.DocumentKind, "Trade licence (Gewerbeschein) or commercial-register extract.")


@strawberry.type
class ContactPerson:
    name: str
    phone: str
    email: str


@strawberry.type
class PartnerApplication:
    id: strawberry.ID
    company_name: str
    street: str
    postal_code: str
    city: str
    country: str
    contact: ContactPerson
    proof_of_trade_kind: ProofOfTradeKind
    proof_of_trade_content_type: str
    proof_of_trade_size_bytes: int
    status: ApplicationStatus
    submitted_at: datetime
    decided_at: datetime | None
    rejection_reason: str | None
    partner_id: strawberry.ID | None
    partner_number: int | None
    proof_of_trade_download_url: str | None = strawberry.field(default=None, description="Distributor's list only; valid for 5 minutes.")

    @classmethod
    def of(cls, a: d.PartnerApplication, proof_of_trade_download_url: str | None = None) -> "PartnerApplication":
        return cls(
            id=strawberry.ID(a.id), company_name=a.company_name, street=a.address.street, postal_code=a.address.postal_code,
            city=a.address.city, country=a.address.country,
            contact=ContactPerson(name=a.contact.name, phone=a.contact.phone, email=a.contact.email),
            proof_of_trade_kind=a.proof_of_trade.kind, proof_of_trade_content_type=a.proof_of_trade.content_type,
            proof_of_trade_size_bytes=a.proof_of_trade.size_bytes, status=a.status, submitted_at=a.submitted_at,
            decided_at=a.decided_at, rejection_reason=a.rejection_reason,
            partner_id=strawberry.ID(a.partner_id) if a.partner_id else None, partner_number=a.partner_number,
            proof_of_trade_download_url=proof_of_trade_download_url,
        )


@strawberry.type
class TierRates:
    commission_percent: Decimal
    cashback_percent: Decimal
    reseller_discount_percent: Decimal

    @classmethod
    def of(cls, r: d.TierRates) -> "TierRates":
        return cls(commission_percent=r.commission_percent, cashback_percent=r.cashback_percent, reseller_discount_percent=r.reseller_discount_percent)


@strawberry.type
class TierChange:
    tier: Tier
    effective_from: date
    individual_rates: TierRates | None


@strawberry.type(description="Bank details for payouts; the IBAN is shown masked.")
class BankDetails:
    iban_masked: str
    account_holder: str
    bic: str | None


@strawberry.type(description="A partner's standing in the partner programme.")
class ProgrammePartner:
    partner_id: strawberry.ID
    partner_number: int = strawberry.field(description="The positive integer of the referral link `/r?aff=<partnerNumber>`.")
    company_name: str
    active: bool
    tier: Tier | None = strawberry.field(description="The tier in force today.")
    rates: TierRates | None = strawberry.field(description="The rates in force today.")
    tier_history: list[TierChange]
    bank_details: BankDetails | None
    referral_link: str

    @classmethod
    def of(cls, p: d.ProgrammePartner, *, today: date, terms: d.ProgrammeTerms, link_base: str) -> "ProgrammePartner":
        rates = p.rates_at(today, terms)
        bank = p.bank_details
        return cls(
            partner_id=strawberry.ID(p.partner_id), partner_number=p.partner_number, company_name=p.company_name, active=p.active,
            tier=p.tier_at(today), rates=TierRates.of(rates) if rates else None,
            tier_history=[
                TierChange(tier=c.tier, effective_from=c.effective_from, individual_rates=TierRates.of(c.individual_rates) if c.individual_rates else None)
                for c in p.tier_history
            ],
            bank_details=BankDetails(iban_masked=bank.iban_masked, account_holder=bank.account_holder, bic=bank.bic) if bank else None,
            referral_link=f"{link_base}/r?aff={p.partner_number}",
        )


@strawberry.input
class PartnerApplicationProofUploadInput:
    content_type: str = strawberry.field(description="application/pdf, image/png or image/jpeg.")
    size_bytes: int = strawberry.field(description="At most 10 MiB.")


@strawberry.type
class PresignedUploadPayload:
    upload: PresignedUpload | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class PartnerApplicationSubmitInput:
    company_name: str
    address: AddressInput
    contact_name: str
    contact_phone: str
    contact_email: str
    proof_of_trade_kind: ProofOfTradeKind
    proof_of_trade_key: str = strawberry.field(description="The `key` of partnerApplicationProofUpload, after the upload.")
    proof_of_trade_content_type: str
    proof_of_trade_size_bytes: int


@strawberry.input(description="An existing partner organisation registers: its name and company address are on record.")
class PartnerProgrammeEnrolInput:
    partner_id: strawberry.ID
    contact_name: str
    contact_phone: str
    contact_email: str
    proof_of_trade_kind: ProofOfTradeKind
    proof_of_trade_key: str = strawberry.field(description="The `key` of partnerApplicationProofUpload, after the upload.")
    proof_of_trade_content_type: str
    proof_of_trade_size_bytes: int


@strawberry.type
class PartnerApplicationPayload:
    application: PartnerApplication | None = None
    programme_partner: ProgrammePartner | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class TierRatesInput:
    commission_percent: Decimal
    cashback_percent: Decimal
    reseller_discount_percent: Decimal


@strawberry.input
class PartnerTierChangeInput:
    partner_id: strawberry.ID
    tier: Tier
    effective_from: date = strawberry.field(description="Berlin date, today or later; invoices dated from then on use the new rates.")
    individual_rates: TierRatesInput | None = strawberry.field(default=None, description="Only, and required, for INDIVIDUAL.")


@strawberry.input
class PartnerBankDetailsSetInput:
    partner_id: strawberry.ID
    iban: str
    account_holder: str
    bic: str | None = None


@strawberry.type
class ProgrammePartnerPayload:
    programme_partner: ProgrammePartner | None = None
    errors: list[Error] = strawberry.field(default_factory=list)
