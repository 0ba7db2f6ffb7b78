"""A customer's Microsoft side: tenant, Microsoft Customer Agreement, licence eligibility.

These are the customer-held CSP order preconditions (DOMAIN.md, preconditions 2-4). The
partner-held one (its MPN ID and Microsoft ID) lives on the partner profile.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from domain.catalogue import LicenceProgram
from domain.errors import AlreadyExists, Conflict, PreconditionFailed, ValidationFailed
from domain.subscriptions import TenantState
from domain.validation import require_email, require_text

_PREFIX = re.compile(r"^[a-z0-9]{1,27}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class InstitutionType(str, Enum):
    """What kind of educational institution asks for education licences."""

    SCHOOL = "SCHOOL"
    UNIVERSITY = "UNIVERSITY"
    VOCATIONAL = "VOCATIONAL"
    LIBRARY_OR_MUSEUM = "LIBRARY_OR_MUSEUM"
    NURSERY_OR_PRE_SCHOOL = "NURSERY_OR_PRE_SCHOOL"  # not eligible


@dataclass(frozen=True)
class AgreementAcceptance:
    accepted_by_name: str
    accepted_by_email: str
    accepted_at: datetime
    recorded_by: str  # the user who recorded it


@dataclass(frozen=True)
class EligibilityGrant:
    program: LicenceProgram
    granted_at: datetime
    granted_by: str
    reference: str | None = None  # Microsoft's verification reference for non-profit


@dataclass(frozen=True)
class MicrosoftTenant:
    state: TenantState = TenantState.NONE
    domain: str | None = None  # <prefix>.onmicrosoft.com or the linked tenant's default domain
    admin_login: str | None = None
    link_contact_email: str | None = None
    link_token_sha256: str | None = None
    link_requested_at: datetime | None = None
    link_confirmed_at: datetime | None = None
    # The confirmation e-mail of the pending link was refused by the mail service (sent after the request is stored):
    # requesting the link again sends a new code.
    link_email_failed_at: datetime | None = None
    agreement: AgreementAcceptance | None = None
    eligibility: tuple[EligibilityGrant, ...] = ()

    @property
    def eligible_programs(self) -> frozenset[LicenceProgram]:
        return frozenset(g.program for g in self.eligibility)


def onmicrosoft_domain(prefix: str) -> str:
    text = (prefix or "").strip().lower()
    if not _PREFIX.match(text):
        raise ValidationFailed(
            f"'{prefix}' is not a valid tenant prefix.",
            field="prefix",
            hint="Use 1 to 27 lowercase letters and digits, e.g. 'hanselogistik'.",
        )
    return f"{text}.onmicrosoft.com"


def tenant_domain_claim(domain: str) -> str:
    return f"tenant-domain#{domain.lower()}"


def _require_no_tenant(tenant: MicrosoftTenant) -> None:
    if tenant.state is TenantState.CREATED or tenant.state is TenantState.LINKED:
        raise Conflict(
            f"The customer already has the Microsoft tenant {tenant.domain}.",
            field="customerId",
            hint="Several licences can be booked on the existing tenant; a second tenant is not needed.",
        )


def created_tenant(tenant: MicrosoftTenant, prefix: str) -> MicrosoftTenant:
    _require_no_tenant(tenant)
    domain = onmicrosoft_domain(prefix)
    return replace(tenant, state=TenantState.CREATED, domain=domain, admin_login=f"admin@{domain}",
                   link_contact_email=None, link_token_sha256=None, link_requested_at=None, link_email_failed_at=None)


def prefix_taken(domain: str) -> AlreadyExists:
    return AlreadyExists(
        f"The tenant {domain} exists already.",
        field="prefix",
        hint="Choose another prefix, e.g. with the city or a number appended.",
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_requested(tenant: MicrosoftTenant, default_domain: str, contact_email: str, token: str, now: datetime) -> MicrosoftTenant:
    _require_no_tenant(tenant)
    domain = (default_domain or "").strip().lower()
    if not _DOMAIN.match(domain):
        raise ValidationFailed(
            f"'{default_domain}' is not a domain name.", field="defaultDomain",
            hint="Enter the tenant's default domain, e.g. contoso.onmicrosoft.com or contoso.de.",
        )
    return replace(
        tenant, state=TenantState.LINK_PENDING, domain=domain, admin_login=None,
        link_contact_email=require_email(contact_email, "contactEmail"),
        link_token_sha256=token_digest(token), link_requested_at=now, link_confirmed_at=None, link_email_failed_at=None,
    )


def link_email_failed(tenant: MicrosoftTenant, token: str, now: datetime) -> MicrosoftTenant:
    """The confirmation e-mail carrying ``token`` could not be sent. Unchanged when that request is no longer the pending
    one (confirmed, or requested again meanwhile)."""
    if tenant.state is not TenantState.LINK_PENDING or tenant.link_token_sha256 != token_digest(token):
        return tenant
    return replace(tenant, link_email_failed_at=now)


def link_confirmed(tenant: MicrosoftTenant, token: str, now: datetime) -> MicrosoftTenant:
    if tenant.state is not TenantState.LINK_PENDING or tenant.link_token_sha256 is None:
        raise Conflict("There is no pending tenant link to confirm.", field="token")
    if token_digest((token or "").strip()) != tenant.link_token_sha256:
        raise ValidationFailed("The confirmation code does not match.", field="token", hint="Use the link from the most recent e-mail.")
    return replace(tenant, state=TenantState.LINKED, link_token_sha256=None, link_confirmed_at=now)


def agreement_accepted(tenant: MicrosoftTenant, *, name: str, email: str, now: datetime, recorded_by: str) -> MicrosoftTenant:
    if tenant.agreement is not None:
        accepted = tenant.agreement
        raise Conflict(
            f"The Microsoft Customer Agreement was accepted on {accepted.accepted_at:%Y-%m-%d} by {accepted.accepted_by_name}.",
            field="customerId",
            hint="It is accepted once per customer; nothing to do.",
        )
    acceptance = AgreementAcceptance(
        require_text(name, "acceptedByName", label="The name of the person accepting"),
        require_email(email, "acceptedByEmail"),
        now,
        recorded_by,
    )
    return replace(tenant, agreement=acceptance)


def eligibility_granted(
    tenant: MicrosoftTenant, program: LicenceProgram, *, now: datetime, granted_by: str,
    institution_type: InstitutionType | None = None, microsoft_reference: str | None = None,
) -> MicrosoftTenant:
    if program is LicenceProgram.COMMERCIAL:
        raise ValidationFailed("Commercial licences need no eligibility.", field="program")
    if program in tenant.eligible_programs:
        return tenant
    if program is LicenceProgram.EDUCATION:
        if institution_type is None:
            raise ValidationFailed("Name the kind of institution.", field="institutionType")
        if institution_type is InstitutionType.NURSERY_OR_PRE_SCHOOL:
            raise PreconditionFailed(
                "Nurseries and pre-schools are not eligible for education licences.",
                field="institutionType",
                hint="Order commercial licences for this customer.",
            )
    if program is LicenceProgram.NON_PROFIT and not (microsoft_reference or "").strip():
        raise PreconditionFailed(
            "Non-profit status is granted by Microsoft only.",
            field="microsoftReference",
            hint="Have the customer register with Microsoft's non-profit programme, then record Microsoft's confirmation reference.",
        )
    grant = EligibilityGrant(program, now, granted_by, (microsoft_reference or "").strip() or None)
    return replace(tenant, eligibility=tenant.eligibility + (grant,))
