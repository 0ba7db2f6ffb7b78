"""Partner (affiliate) programme: applications, partner numbers, bank details, tiers and terms.

Referral attribution lives in ``domain.referrals``; commissions, approval and payouts in
``domain.commissions``. This module holds what those two build on.

Decided here, where ``DOMAIN.md`` leaves room:

* **Proof of trade** is a document uploaded beforehand (presigned S3 URL); the application
  stores its reference, declared content type and size. PDF, PNG and JPEG are accepted, up
  to 10 MiB (10 × 1024 × 1024 bytes) inclusive. The presigned upload form's policy pins the
  key, the declared content type and the size range, so S3 refuses any other file; the
  application service checks that the object exists before it accepts the application.
* **Phone numbers** are checked loosely (digits, spaces, ``+ - / ( ) .``, a ``+`` only in
  front, 6 to 20 digits): partners are in many countries and a strict parser would refuse
  real numbers written in local formats. The number is stored as entered (whitespace
  collapsed).
* **Enrolment** of a partner organisation that resold before it joined the programme is a
  registration like an application: the company address is the organisation's, the contact
  person (phone, e-mail) and the uploaded proof of trade are required, checked the same way
  (``submit_application``) and kept as an application approved at enrolment.
* **Decisions** are final: an approved or rejected application cannot be decided again
  (``Conflict``); a rejected company applies anew. Rejection needs a reason.
* **Partner numbers** are positive integers allocated by infra (atomically, unique); the
  domain only checks them. ``parse_partner_number`` accepts 1 to 12 ASCII digits only, so
  ``aff=+5``, ``aff=٣`` or ``aff=1e3`` never reach a lookup.
* **Bank details**: the IBAN is validated with ``python-stdnum`` (``stdnum.iban``: country,
  length, national structure, ISO 7064 checksum; not ``schwifty``, whose country database
  would not fit the Lambda package) and stored compact and upper-case; its country must be
  in the SEPA scheme (``domain.sepa.SEPA_COUNTRIES``, checks shared with direct-debit mandates), because payouts are SEPA credit transfers. The BIC is optional (not required for SEPA
  transfers since 2016) and validated when given. The account holder is at most 70
  characters, the SEPA limit for a name.
* **Tiers** change with an effective date (a history; ``tier_at(day)``). A change cannot
  be backdated (a commission fixes its rate when it is created, so a backdated tier would
  contradict commissions already made); a second change for the same date replaces the
  first. An individual agreement is the tier ``INDIVIDUAL`` carrying its own rates, so a
  renegotiated agreement is simply a new dated change.
* **Terms** (commission, cashback and reseller-discount percentages per tier) are settings:
  ``ProgrammeTerms.from_config`` reads them from a mapping or JSON; ``DEFAULT_TERMS_CONFIG``
  exists for demo data and tests only.
* **Inactive partners** (suspended or terminated) keep their history but their referral
  links are ignored and they earn no new commissions. What they earned before stays theirs:
  pending commissions are approved on their date, and approved ones are paid out on request
  like anyone's (threshold and bank details apply), since suspension stops new earning, not
  the payment of what is owed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Mapping

from domain.calendar import ensure_utc
from domain.errors import Conflict, DomainError, InvalidInputs, ValidationFailed
from domain.organisations import Address, PartnerPermission, Role
from domain.policy import Principal
from domain.sepa import SEPA_COUNTRIES, SEPA_NAME_MAX_LENGTH, mask_iban, sepa_bic, sepa_iban  # noqa: F401  (SEPA_COUNTRIES: re-exported)
from domain.validation import require_email, require_text

# --- partner numbers ----------------------------------------------------------------------

_PARTNER_NUMBER_TEXT = re.compile(r"[0-9]{1,12}")


def require_partner_number(value: object, field: str = "partnerNumber") -> int:
    """A partner number is a positive integer (``True`` is not one, although Python says it is an int)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed(
            f"{value!r} is not a partner number.",
            field=field,
            hint="Partner numbers are positive whole numbers, e.g. 1042.",
        )
    return value


def parse_partner_number(text: str | None) -> int | None:
    """The partner number in a referral link's ``aff`` parameter, or ``None`` when it is not one."""
    if text is None or not _PARTNER_NUMBER_TEXT.fullmatch(text):
        return None
    number = int(text)
    return number if number > 0 else None


# --- the application ----------------------------------------------------------------------

_PHONE_CHARACTERS = re.compile(r"\+?[0-9 ()/.\-]+")
MIN_PHONE_DIGITS = 6
MAX_PHONE_DIGITS = 20


def require_phone(value: str | None, field: str) -> str:
    text = " ".join((value or "").split())
    digits = sum(ch.isdigit() for ch in text)
    if not text or not _PHONE_CHARACTERS.fullmatch(text) or not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        raise ValidationFailed(
            f"'{value}' is not a phone number.",
            field=field,
            hint=(
                f"Enter {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits; spaces, '-', '/', '.' and "
                "parentheses are fine, '+' only in front, e.g. +49 30 1234567."
            ),
        )
    return text


@dataclass(frozen=True)
class ContactPerson:
    name: str
    phone: str
    email: str

    @classmethod
    def create(cls, *, name: str, phone: str, email: str, field_prefix: str = "contact") -> "ContactPerson":
        return cls(
            name=require_text(name, f"{field_prefix}.name", label="Contact name"),
            phone=require_phone(phone, f"{field_prefix}.phone"),
            email=require_email(email, f"{field_prefix}.email"),
        )


class DocumentKind(str, Enum):
    TRADE_LICENCE = "TRADE_LICENCE"  # Gewerbeanmeldung / Gewerbeschein
    COMMERCIAL_REGISTER_EXTRACT = "COMMERCIAL_REGISTER_EXTRACT"  # Handelsregisterauszug


ALLOWED_PROOF_CONTENT_TYPES: Mapping[str, str] = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}
MAX_PROOF_BYTES = 10 * 1024 * 1024


class UnsupportedDocument(ValidationFailed):
    """The proof of trade is of a type or size the programme does not accept."""


def _allowed_types_text() -> str:
    return ", ".join(ALLOWED_PROOF_CONTENT_TYPES.values())


@dataclass(frozen=True)
class ProofOfTrade:
    kind: DocumentKind
    document_key: str  # where the uploaded file lives (the S3 object key); opaque to the domain
    content_type: str
    size_bytes: int

    @classmethod
    def create(
        cls, *, kind: DocumentKind, document_key: str, content_type: str, size_bytes: int, field_prefix: str = "proofOfTrade"
    ) -> "ProofOfTrade":
        # "image/JPEG; charset=binary" is still a JPEG: compare the bare media type.
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in ALLOWED_PROOF_CONTENT_TYPES:
            raise UnsupportedDocument(
                f"A proof of trade of type '{content_type}' is not accepted.",
                field=f"{field_prefix}.contentType",
                hint=f"Upload the document as {_allowed_types_text()} (a scan or photo of the paper is fine).",
            )
        if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes <= 0:
            raise UnsupportedDocument(
                "The proof of trade is empty.", field=f"{field_prefix}.sizeBytes", hint="Upload the document again."
            )
        if size_bytes > MAX_PROOF_BYTES:
            raise UnsupportedDocument(
                f"The proof of trade has {size_bytes / (1024 * 1024):.1f} MB; at most 10 MB are accepted.",
                field=f"{field_prefix}.sizeBytes",
                hint="Scan at a lower resolution or compress the PDF to 10 MB or less.",
            )
        return cls(
            kind=kind,
            document_key=require_text(document_key, f"{field_prefix}.documentKey", label="Document reference", max_length=1024),
            content_type=media_type,
            size_bytes=size_bytes,
        )


class ApplicationStatus(str, Enum):
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ApplicationAlreadyDecided(Conflict):
    pass


@dataclass(frozen=True)
class PartnerApplication:
    id: str
    company_name: str
    address: Address
    contact: ContactPerson
    proof_of_trade: ProofOfTrade
    submitted_at: datetime
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    decided_at: datetime | None = None
    decided_by: str | None = None
    rejection_reason: str | None = None
    partner_id: str | None = None  # the partner organisation created on approval
    partner_number: int | None = None
    version: int = 0

    def approve(self, *, partner_id: str, partner_number: int, decided_by: str, now: datetime) -> "PartnerApplication":
        """Approval makes the company a Registered partner; infra has allocated ``partner_number``."""
        self._require_undecided()
        return replace(
            self,
            status=ApplicationStatus.APPROVED,
            decided_at=ensure_utc(now),
            decided_by=decided_by,
            partner_id=require_text(partner_id, "partnerId", label="Partner id"),
            partner_number=require_partner_number(partner_number),
        )

    def reject(self, *, reason: str, decided_by: str, now: datetime) -> "PartnerApplication":
        self._require_undecided()
        return replace(
            self,
            status=ApplicationStatus.REJECTED,
            decided_at=ensure_utc(now),
            decided_by=decided_by,
            rejection_reason=require_text(reason, "reason", label="Rejection reason", max_length=2000),
        )

    def _require_undecided(self) -> None:
        if self.status is not ApplicationStatus.SUBMITTED:
            raise ApplicationAlreadyDecided(
                f"The application of {self.company_name} was already {self.status.value.lower()}.",
                field="applicationId",
                hint="A decision is final; a rejected company may submit a new application.",
            )


def submit_application(
    *,
    id: str,
    company_name: str,
    address: Mapping[str, str] | Address,
    contact_name: str,
    contact_phone: str,
    contact_email: str,
    proof_kind: DocumentKind,
    proof_document_key: str,
    proof_content_type: str,
    proof_size_bytes: int,
    now: datetime,
) -> PartnerApplication:
    """Validate everything at once: an applicant sees every problem in one answer."""
    errors: list[DomainError] = []

    def attempt(build: Any) -> Any:
        try:
            return build()
        except InvalidInputs as many:
            errors.extend(many.errors)
        except DomainError as error:
            errors.append(error)
        return None

    name = attempt(lambda: require_text(company_name, "companyName", label="Company name"))
    company_address = (
        address if isinstance(address, Address) else attempt(lambda: Address.create(**dict(address), field_prefix="address"))
    )
    person = attempt(lambda: require_text(contact_name, "contact.name", label="Contact name"))
    phone = attempt(lambda: require_phone(contact_phone, "contact.phone"))
    email = attempt(lambda: require_email(contact_email, "contact.email"))
    proof = attempt(
        lambda: ProofOfTrade.create(
            kind=proof_kind, document_key=proof_document_key, content_type=proof_content_type, size_bytes=proof_size_bytes
        )
    )
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidInputs(errors)
    return PartnerApplication(
        id=id,
        company_name=name,
        address=company_address,
        contact=ContactPerson(name=person, phone=phone, email=email),
        proof_of_trade=proof,
        submitted_at=ensure_utc(now),
    )


# --- bank details -------------------------------------------------------------------------


@dataclass(frozen=True)
class BankDetails:
    iban: str  # compact, upper-case: DE89370400440532013000
    account_holder: str
    bic: str | None = None

    @property
    def iban_formatted(self) -> str:
        """In groups of four, as people read and write it."""
        from stdnum import iban as stdnum_iban

        return stdnum_iban.format(self.iban)

    @property
    def iban_masked(self) -> str:
        """For lists and e-mails: country, check digits and the last four characters only."""
        return mask_iban(self.iban)

    @classmethod
    def create(cls, *, iban: str, account_holder: str, bic: str | None = None) -> "BankDetails":
        return cls(
            iban=sepa_iban(iban, field="bankDetails.iban", outside_sepa="Payouts are SEPA credit transfers"),
            account_holder=require_text(
                account_holder, "bankDetails.accountHolder", label="Account holder", max_length=SEPA_NAME_MAX_LENGTH
            ),
            bic=sepa_bic(bic, field="bankDetails.bic"),
        )


# --- tiers and terms ----------------------------------------------------------------------


class Tier(str, Enum):
    REGISTERED = "REGISTERED"
    QUALIFIED = "QUALIFIED"
    CERTIFIED = "CERTIFIED"
    INDIVIDUAL = "INDIVIDUAL"  # rates by individual agreement, carried by the tier change


STANDARD_TIERS = (Tier.REGISTERED, Tier.QUALIFIED, Tier.CERTIFIED)
HUNDRED = Decimal(100)


def _percent(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValidationFailed(f"{value!r} is not a percentage.", field=field, hint="Write a number such as \"7.5\".")
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(f"{value!r} is not a percentage.", field=field, hint="Write a number such as \"7.5\".") from None
    if not percent.is_finite() or not Decimal(0) <= percent <= HUNDRED:
        raise ValidationFailed(f"{value!r} is not between 0 and 100 percent.", field=field)
    return percent


@dataclass(frozen=True)
class TierRates:
    commission_percent: Decimal  # of the eligible net of each paid invoice of a referred customer
    cashback_percent: Decimal  # of the eligible net of each paid order or renewal under customer-pays billing
    reseller_discount_percent: Decimal  # off the public price under partner-pays billing

    @classmethod
    def of(
        cls,
        *,
        commission_percent: object,
        cashback_percent: object,
        reseller_discount_percent: object,
        field_prefix: str = "rates",
    ) -> "TierRates":
        return cls(
            commission_percent=_percent(commission_percent, f"{field_prefix}.commissionPercent"),
            cashback_percent=_percent(cashback_percent, f"{field_prefix}.cashbackPercent"),
            reseller_discount_percent=_percent(reseller_discount_percent, f"{field_prefix}.resellerDiscountPercent"),
        )


# Demo data and tests only: production reads PARTNER_PROGRAMME_TERMS (or the like) through infra settings.
DEFAULT_TERMS_CONFIG: Mapping[str, Mapping[str, str]] = {
    "REGISTERED": {"commission_percent": "10", "cashback_percent": "3", "reseller_discount_percent": "5"},
    "QUALIFIED": {"commission_percent": "15", "cashback_percent": "4", "reseller_discount_percent": "10"},
    "CERTIFIED": {"commission_percent": "20", "cashback_percent": "5", "reseller_discount_percent": "15"},
}

_RATE_KEYS = ("commission_percent", "cashback_percent", "reseller_discount_percent")


@dataclass(frozen=True)
class ProgrammeTerms:
    """The rates of each standard tier, read from configuration."""

    rates_by_tier: Mapping[Tier, TierRates]

    @classmethod
    def from_config(cls, config: Mapping[str, Mapping[str, object]]) -> "ProgrammeTerms":
        """``{"REGISTERED": {"commission_percent": "10", "cashback_percent": "3", "reseller_discount_percent": "5"}, ...}``"""
        if not isinstance(config, Mapping):
            raise ValidationFailed("Programme terms must map each tier to its rates.", field="terms")
        names = {tier.value for tier in STANDARD_TIERS}
        unknown = sorted(set(config) - names)
        if unknown:
            raise ValidationFailed(
                f"Unknown tier(s) in the programme terms: {', '.join(map(str, unknown))}.",
                field="terms",
                hint=f"Configure exactly {', '.join(sorted(names))}; individual rates belong to each partner's agreement.",
            )
        missing = sorted(names - set(config))
        if missing:
            raise ValidationFailed(f"The programme terms lack the tier(s) {', '.join(missing)}.", field="terms")
        rates: dict[Tier, TierRates] = {}
        for tier in STANDARD_TIERS:
            entry = config[tier.value]
            if not isinstance(entry, Mapping) or set(entry) != set(_RATE_KEYS):
                raise ValidationFailed(
                    f"The terms of tier {tier.value} must give exactly {', '.join(_RATE_KEYS)}.", field=f"terms.{tier.value}"
                )
            rates[tier] = TierRates.of(**{key: entry[key] for key in _RATE_KEYS}, field_prefix=f"terms.{tier.value}")
        return cls(rates_by_tier=rates)

    @classmethod
    def from_json(cls, text: str) -> "ProgrammeTerms":
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"The programme terms are not valid JSON: {exc}.", field="terms") from None
        return cls.from_config(config)

    @classmethod
    def default(cls) -> "ProgrammeTerms":
        return cls.from_config(DEFAULT_TERMS_CONFIG)

    def rates_for(self, tier: Tier) -> TierRates:
        if tier is Tier.INDIVIDUAL:
            raise ValueError("Individual rates come from the partner's agreement, not from the programme terms")
        return self.rates_by_tier[tier]


@dataclass(frozen=True)
class TierChange:
    tier: Tier
    effective_from: date  # Berlin calendar date; invoices dated from this day on use the new rates
    changed_by: str
    individual_rates: TierRates | None = None  # only, and always, for Tier.INDIVIDUAL


class TierChangeRefused(ValidationFailed):
    pass


@dataclass(frozen=True)
class ProgrammePartner:
    """A partner organisation's standing in the programme."""

    partner_id: str  # the partner organisation (ptn_…)
    partner_number: int
    company_name: str
    tier_history: tuple[TierChange, ...]  # ordered by effective_from, one change per date
    active: bool = True
    bank_details: BankDetails | None = None
    version: int = 0

    def tier_at(self, day: date) -> Tier | None:
        """The tier in force on ``day``; ``None`` before the partner joined the programme."""
        change = self._change_at(day)
        return change.tier if change else None

    def rates_at(self, day: date, terms: ProgrammeTerms) -> TierRates | None:
        change = self._change_at(day)
        if change is None:
            return None
        if change.tier is Tier.INDIVIDUAL:
            assert change.individual_rates is not None
            return change.individual_rates
        return terms.rates_for(change.tier)

    def _change_at(self, day: date) -> TierChange | None:
        in_force = None
        for change in self.tier_history:
            if change.effective_from <= day:
                in_force = change
        return in_force

    def with_tier(
        self,
        tier: Tier,
        *,
        effective_from: date,
        today: date,
        changed_by: str,
        individual_rates: TierRates | None = None,
    ) -> "ProgrammePartner":
        if effective_from < today:
            raise TierChangeRefused(
                f"A tier change cannot take effect in the past ({effective_from.isoformat()}).",
                field="effectiveFrom",
                hint=f"Choose {today.isoformat()} or later; commissions already created keep the rate they were made with.",
            )
        if tier is Tier.INDIVIDUAL and individual_rates is None:
            raise TierChangeRefused(
                "An individual partnership needs the agreed rates.",
                field="individualRates",
                hint="Enter the commission, cashback and reseller-discount percentages of the agreement.",
            )
        if tier is not Tier.INDIVIDUAL and individual_rates is not None:
            raise TierChangeRefused(
                f"Tier {tier.value} uses the programme's rates; individual rates apply only to INDIVIDUAL.",
                field="individualRates",
            )
        change = TierChange(tier=tier, effective_from=effective_from, changed_by=changed_by, individual_rates=individual_rates)
        others = tuple(c for c in self.tier_history if c.effective_from != effective_from)
        history = tuple(sorted(others + (change,), key=lambda c: c.effective_from))
        return replace(self, tier_history=history)

    def with_bank_details(self, bank_details: BankDetails) -> "ProgrammePartner":
        return replace(self, bank_details=bank_details)

    def deactivated(self) -> "ProgrammePartner":
        return replace(self, active=False)

    def reactivated(self) -> "ProgrammePartner":
        return replace(self, active=True)


def new_programme_partner(application: PartnerApplication, *, joined_on: date) -> ProgrammePartner:
    """The Registered partner an approved application makes, starting on ``joined_on`` (Berlin date of approval)."""
    if application.status is not ApplicationStatus.APPROVED:
        raise ValueError("Only an approved application makes a partner")
    assert application.partner_id is not None and application.partner_number is not None
    return ProgrammePartner(
        partner_id=application.partner_id,
        partner_number=application.partner_number,
        company_name=application.company_name,
        tier_history=(TierChange(Tier.REGISTERED, joined_on, application.decided_by or "system"),),
    )


# --- who may do what (object checks, next to domain.policy's) -----------------------------


def can_decide_application(principal: Principal) -> bool:
    return principal.is_distributor


def can_change_tier(principal: Principal) -> bool:
    return principal.is_distributor


def can_view_partner_programme(principal: Principal, partner_id: str) -> bool:
    """Referrals, commissions and payouts of one partner: the distributor, or that partner's dashboard users."""
    if principal.is_distributor:
        return True
    return principal.organisation_id == partner_id and principal.has(PartnerPermission.DASHBOARD)


def can_manage_payouts(principal: Principal, partner_id: str) -> bool:
    """Bank details and payout requests move money: the distributor, or the partner's administrators."""
    if principal.is_distributor:
        return True
    return principal.organisation_id == partner_id and principal.role is Role.PARTNER_ADMIN
