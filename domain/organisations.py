"""Organisations (distributor, partners, customers), their users and partnership links.

A customer's partnership links live inside the customer aggregate: a customer has few
resellers, every read of a customer wants them, and a billing-mode switch then changes
one item under one version check.

Decided here, where ``DOMAIN.md`` leaves room:

* **Branch keys.** Each branch of the onboarding data has a stable ``key``, a slug of its name unique within the
  customer (``Lager Bremen`` → ``lager-bremen``; a second ``Lager  Bremen`` → ``lager-bremen-2``). Contracts, tickets,
  service items and invoices name a branch by its key, so renaming a branch or moving its address keeps what names
  it. A change of the branch list keeps the key of a branch given with its key, else of the branch of the same name
  and the same address (case ignored): a branch listed without its key at another address is a new site and gets a
  new key, so what names the old key (a rental contract) never moves to a new address unnoticed; the old branch, if
  no longer listed, is removed (refused while anything names it: ``domain.services.organisations``). The key of a
  removed branch is retired (``CustomerOnboarding.retired_branch_keys``) and never given again, so a branch removed
  and added again, or another of the same name, gets a new key, and items or invoices naming the old key never
  appear to belong to it. Data stored before keys existed get them derived from the names, in order, when read (the
  same keys each time, until saved).
* **Branches receiving services** are the ones service-desk work is delivered at: only they may be named by a
  contract or a ticket (``service_branch``). Whether naming one is refused when it is removed is the services'
  concern (``domain.services.organisations.update_customer``: refused while an open contract or ticket names it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Iterable

from domain.errors import Conflict, DomainError, ErrorCode, PreconditionFailed, ValidationFailed
from domain.sepa import SepaMandate
from domain.tenants import MicrosoftTenant
from domain.validation import (
    optional_datev_consultant_number,
    require_email,
    require_text,
)


class OrganisationKind(str, Enum):
    DISTRIBUTOR = "DISTRIBUTOR"
    PARTNER = "PARTNER"
    CUSTOMER = "CUSTOMER"


ID_PREFIX = {
    OrganisationKind.DISTRIBUTOR: "dst",
    OrganisationKind.PARTNER: "ptn",
    OrganisationKind.CUSTOMER: "cus",
}


class AccessLevel(str, Enum):
    FULL = "FULL"  # the partner may change the customer's data and order for it
    LIMITED = "LIMITED"  # the partner may only read


class BillingMode(str, Enum):
    CUSTOMER_PAYS = "CUSTOMER_PAYS"
    PARTNER_PAYS = "PARTNER_PAYS"


class BranchBilling(str, Enum):
    CENTRAL = "CENTRAL"
    PER_BRANCH = "PER_BRANCH"


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str = "DE"

    @classmethod
    def create(cls, street: str, postal_code: str, city: str, country: str = "DE", *, field_prefix: str = "address") -> "Address":
        country_code = (country or "").strip().upper()
        if len(country_code) != 2 or not country_code.isalpha():
            raise ValidationFailed(
                f"'{country}' is not a two-letter country code.",
                field=f"{field_prefix}.country",
                hint="Use ISO 3166-1 alpha-2, e.g. DE, AT, PL.",
            )
        return cls(
            street=require_text(street, f"{field_prefix}.street", label="Street"),
            postal_code=require_text(postal_code, f"{field_prefix}.postalCode", label="Postal code", max_length=20),
            city=require_text(city, f"{field_prefix}.city", label="City", max_length=100),
            country=country_code,
        )


BRANCH_KEY_MAX = 40
_GERMAN_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def branch_slug(name: str) -> str:
    """The key a branch name suggests: lower case ASCII letters, digits and hyphens (``Lager Bremen-Süd`` →
    ``lager-bremen-sued``), at most ``BRANCH_KEY_MAX`` characters; ``branch`` when nothing of the name is left."""
    text = unicodedata.normalize("NFKD", name.casefold().translate(_GERMAN_LETTERS)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:BRANCH_KEY_MAX].strip("-")
    return slug or "branch"


def _unique_key(wanted: str, taken: set[str]) -> str:
    key, n = wanted, 2
    while key in taken:
        suffix = f"-{n}"
        key, n = wanted[: BRANCH_KEY_MAX - len(suffix)] + suffix, n + 1
    return key


@dataclass(frozen=True)
class Branch:
    """A site of the customer that receives goods or services, named by a key stable within the customer."""

    name: str
    address: Address
    receives_goods: bool = True
    receives_services: bool = True
    key: str = ""  # assigned by ``CustomerOnboarding`` (from the name) when empty: a branch stored before keys existed

    @classmethod
    def create(
        cls, name: str, address: Address, *, receives_goods: bool = True, receives_services: bool = True,
        field_prefix: str = "branch", key: str | None = None,
    ) -> "Branch":
        """A branch as boarding records it: named, and receiving goods, services or both (else it is no branch)."""
        clean_name = require_text(name, f"{field_prefix}.name", label="Branch name")
        if not (receives_goods or receives_services):
            raise ValidationFailed(
                f"The branch '{clean_name}' receives neither goods nor services.",
                field=field_prefix,
                hint="Record only the sites that receive goods, services or both: set receivesGoods or receivesServices.",
            )
        clean_key = (key or "").strip()
        if clean_key and branch_slug(clean_key) != clean_key:
            raise ValidationFailed(
                f"'{key}' is not a branch key.", field=f"{field_prefix}.key",
                hint="Give the key the branch was listed with (lower-case letters, digits and hyphens), or leave it out for a new branch.",
            )
        return cls(
            name=clean_name, address=address, receives_goods=receives_goods, receives_services=receives_services, key=clean_key,
        )


@dataclass(frozen=True)
class OnboardingChanges:
    """What a change of the onboarding data sets. ``None`` leaves a field as it is, as everywhere in the
    API; an empty tuple (or, for the optional texts, an empty string) clears it."""

    branches: tuple[Branch, ...] | None = None
    branch_billing: BranchBilling | None = None
    service_report_email: str | None = None
    notify_on_new_ticket: tuple[str, ...] | None = None
    notify_on_ticket_status_change: tuple[str, ...] | None = None
    initial_inventory_wanted: bool | None = None
    existing_documentation: bool | None = None
    datev_consultant_number: str | None = None


MAX_TICKET_CONTACTS = 10


def _ticket_contacts(addresses: Iterable[str], field: str, notice: str) -> tuple[str, ...]:
    """Valid addresses, each once (compared case-insensitively; the first spelling is kept), at most
    ``MAX_TICKET_CONTACTS``: every notice is one message to all of them (SES takes 50 recipients per message)."""
    kept: dict[str, str] = {}
    for i, address in enumerate(addresses):
        email = require_email(address, f"{field}[{i}]")
        kept.setdefault(email.casefold(), email)
        if len(kept) > MAX_TICKET_CONTACTS:
            raise ValidationFailed(
                f"At most {MAX_TICKET_CONTACTS} different addresses receive {notice}.",
                field=field,
                hint="For more people, enter a shared mailbox or a distribution list.",
            )
    return tuple(kept.values())


@dataclass(frozen=True)
class CustomerOnboarding:
    """What MSP boarding collects about a new customer."""

    branches: tuple[Branch, ...] = ()
    branch_billing: BranchBilling = BranchBilling.CENTRAL
    service_report_email: str | None = None
    notify_on_new_ticket: tuple[str, ...] = ()
    notify_on_ticket_status_change: tuple[str, ...] = ()
    initial_inventory_wanted: bool = False
    existing_documentation: bool = False
    datev_consultant_number: str | None = None
    retired_branch_keys: tuple[str, ...] = ()  # keys of removed branches: never given again

    def __post_init__(self) -> None:
        if any(not branch.key for branch in self.branches):  # stored before keys existed: derived from the names
            taken = {branch.key for branch in self.branches if branch.key} | set(self.retired_branch_keys)
            keyed = []
            for branch in self.branches:
                if not branch.key:
                    branch = replace(branch, key=_unique_key(branch_slug(branch.name), taken))
                    taken.add(branch.key)
                keyed.append(branch)
            object.__setattr__(self, "branches", tuple(keyed))
        if len({branch.key for branch in self.branches}) != len(self.branches):
            raise ValidationFailed("Each branch key appears once.", field="onboarding.branches",
                                   hint="List each branch once; leave the key out for a new branch.")
        if self.branch_billing is BranchBilling.PER_BRANCH and not self.branches:
            raise ValidationFailed(
                "Billing per branch needs at least one branch.",
                field="onboarding.branches",
                hint="Add the branches or choose central billing.",
            )

    @classmethod
    def create(
        cls,
        *,
        branches: tuple[Branch, ...] = (),
        branch_billing: BranchBilling = BranchBilling.CENTRAL,
        service_report_email: str | None = None,
        notify_on_new_ticket: tuple[str, ...] = (),
        notify_on_ticket_status_change: tuple[str, ...] = (),
        initial_inventory_wanted: bool = False,
        existing_documentation: bool = False,
        datev_consultant_number: str | None = None,
    ) -> "CustomerOnboarding":
        return cls().with_changes(
            OnboardingChanges(
                branches=tuple(branches),
                branch_billing=branch_billing,
                service_report_email=service_report_email,
                notify_on_new_ticket=tuple(notify_on_new_ticket),
                notify_on_ticket_status_change=tuple(notify_on_ticket_status_change),
                initial_inventory_wanted=initial_inventory_wanted,
                existing_documentation=existing_documentation,
                datev_consultant_number=datev_consultant_number,
            )
        )

    def with_changes(self, changes: OnboardingChanges) -> "CustomerOnboarding":
        """These data with ``changes`` applied: what is set is validated, the rest stays as it is."""
        updated: dict[str, object] = {}
        if changes.branches is not None:
            updated["branches"] = self._keyed(changes.branches)
            listed = {branch.key for branch in updated["branches"]}
            updated["retired_branch_keys"] = self.retired_branch_keys + tuple(
                branch.key for branch in self.branches if branch.key not in listed
            )
        if changes.branch_billing is not None:
            updated["branch_billing"] = changes.branch_billing
        if changes.service_report_email is not None:
            updated["service_report_email"] = (
                require_email(changes.service_report_email, "onboarding.serviceReportEmail") if changes.service_report_email else None
            )
        if changes.notify_on_new_ticket is not None:
            updated["notify_on_new_ticket"] = _ticket_contacts(
                changes.notify_on_new_ticket, "onboarding.notifyOnNewTicket", "the notice of a new ticket"
            )
        if changes.notify_on_ticket_status_change is not None:
            updated["notify_on_ticket_status_change"] = _ticket_contacts(
                changes.notify_on_ticket_status_change, "onboarding.notifyOnTicketStatusChange", "the notice of a status change"
            )
        if changes.initial_inventory_wanted is not None:
            updated["initial_inventory_wanted"] = changes.initial_inventory_wanted
        if changes.existing_documentation is not None:
            updated["existing_documentation"] = changes.existing_documentation
        if changes.datev_consultant_number is not None:
            updated["datev_consultant_number"] = optional_datev_consultant_number(
                changes.datev_consultant_number, "onboarding.datevConsultantNumber"
            )
        return replace(self, **updated)  # __post_init__ checks the result as a whole (per-branch billing needs a branch)

    def _keyed(self, branches: Iterable[Branch]) -> tuple[Branch, ...]:
        """The new branch list with keys: a given key names a branch listed now; a branch without one keeps the key of
        the listed branch of the same name and address (case ignored), else gets a new key from its name, one no branch
        of the customer has or had (current and retired keys)."""
        branches = tuple(branches)
        current = {branch.key: branch for branch in self.branches}
        by_site = {_site(branch): branch.key for branch in self.branches}
        given: set[str] = set()
        for i, branch in enumerate(branches):
            if not branch.key:
                continue
            if branch.key not in current:
                raise ValidationFailed(
                    f"The customer has no branch with the key '{branch.key}'.", field=f"onboarding.branches[{i}].key",
                    hint="Leave the key out to add a new branch; the listed branches and their keys are in onboarding.branches.",
                )
            if branch.key in given:
                raise ValidationFailed(f"The branch key '{branch.key}' is given twice.", field=f"onboarding.branches[{i}].key")
            given.add(branch.key)
        taken = set(given)
        never_again = set(current) | set(self.retired_branch_keys)  # a new branch gets none of these
        keyed = []
        for branch in branches:
            if not branch.key:
                same_site = by_site.get(_site(branch))
                key = same_site if same_site is not None and same_site not in taken else _unique_key(branch_slug(branch.name), taken | never_again)
                branch = replace(branch, key=key)
                taken.add(key)
            keyed.append(branch)
        return tuple(keyed)

    def branch(self, key: str | None) -> Branch | None:
        return next((branch for branch in self.branches if branch.key == key), None) if key else None

    def service_branch(self, key: str, *, field: str = "branchKey") -> Branch:
        """The branch ``key`` names, when it receives services: the sites service-desk work is delivered at."""
        branch = self.branch(key)
        listed = ", ".join(b.key for b in self.branches if b.receives_services) or "none"
        if branch is None:
            raise ValidationFailed(
                f"The customer has no branch with the key '{key}'.", field=field,
                hint=f"Branches receiving services: {listed}. Record the branch in the customer's onboarding data first.",
            )
        if not branch.receives_services:
            raise ValidationFailed(
                f"The branch {branch.name} ('{key}') receives no services.", field=field,
                hint=f"Branches receiving services: {listed}. Or set receivesServices on {branch.name} in the onboarding data.",
            )
        return branch


def _site(branch: Branch) -> tuple[str, ...]:
    """What identifies a branch listed without its key: its name and address, case and spacing ignored."""
    address = branch.address
    return tuple(" ".join(part.split()).casefold() for part in (branch.name, address.street, address.postal_code, address.city, address.country))


def service_branch_of(customer: "Organisation", key: str | None, *, field: str = "branchKey") -> str | None:
    """The key of the customer's branch receiving services named by ``key`` (``None``/empty: none, head office);
    refused (``ValidationFailed`` naming ``field``) when the customer has no such branch or it receives no services."""
    key = (key or "").strip()
    if not key:
        return None
    return (customer.onboarding or CustomerOnboarding()).service_branch(key, field=field).key


@dataclass(frozen=True)
class BillingModePeriod:
    mode: BillingMode
    since: datetime
    changed_by: str
    # The partner's e-mail notice of this switch was refused by the mail service (sent after the switch is stored,
    # so the switch stands): someone tells the partner by hand. False also for the link's first period (no notice).
    partner_notice_failed: bool = False


class PartnerNoticeNotDelivered(DomainError):
    """The mail service refused the partner's notice of a billing-mode switch again; the switch stays marked."""

    code = ErrorCode.DELIVERY_FAILED

    def __init__(self, customer: "Organisation", partner_email: str) -> None:
        super().__init__(
            f"The billing-mode notice of {customer.name} could not be e-mailed to {partner_email}.",
            field="partnerId",
            hint="Try again later; the switch stands and stays marked partnerNoticeFailed until the notice is sent.",
        )
        self.customer = customer


@dataclass(frozen=True)
class PartnerLink:
    """The partnership between a partner and this customer."""

    partner_id: str
    partner_name: str
    access_level: AccessLevel
    billing_mode_history: tuple[BillingModePeriod, ...]
    linked_at: datetime

    @property
    def billing_mode(self) -> BillingMode:
        return self.billing_mode_history[-1].mode

    def billing_mode_at(self, instant: datetime) -> BillingMode:
        """The mode in force at ``instant``: a switch applies to invoices issued after it."""
        mode = self.billing_mode_history[0].mode
        for period in self.billing_mode_history:
            if period.since <= instant:
                mode = period.mode
        return mode


@dataclass(frozen=True)
class PartnerProfile:
    partner_number: int | None = None
    microsoft_partner_network_id: str | None = None
    microsoft_id: str | None = None
    tier: str = "REGISTERED"


@dataclass(frozen=True)
class Organisation:
    id: str
    kind: OrganisationKind
    name: str
    address: Address
    billing_email: str
    created_at: datetime
    vat_id: str | None = None
    onboarding: CustomerOnboarding | None = None
    partner_links: tuple[PartnerLink, ...] = ()
    partner_profile: PartnerProfile | None = None
    microsoft: MicrosoftTenant | None = None  # customers only
    sepa_mandate: SepaMandate | None = None  # customers only: the direct-debit mandate on file (domain.sepa)
    version: int = 0

    @property
    def sort_name(self) -> str:
        return f"{self.name.casefold()}#{self.id}"

    def link_to(self, partner_id: str) -> PartnerLink | None:
        return next((link for link in self.partner_links if link.partner_id == partner_id), None)

    @property
    def linked_partner_ids(self) -> tuple[str, ...]:
        return tuple(link.partner_id for link in self.partner_links)

    def with_link(self, partner: "Organisation", access_level: AccessLevel, billing_mode: BillingMode, now: datetime, actor_id: str) -> "Organisation":
        if self.kind is not OrganisationKind.CUSTOMER or partner.kind is not OrganisationKind.PARTNER:
            raise ValidationFailed("A partnership links a partner to a customer.", field="partnerId")
        if self.link_to(partner.id):
            raise Conflict(
                f"{partner.name} is already linked to {self.name}.",
                field="partnerId",
                hint="Change the existing link's access level or billing mode instead.",
            )
        link = PartnerLink(
            partner_id=partner.id,
            partner_name=partner.name,
            access_level=access_level,
            billing_mode_history=(BillingModePeriod(billing_mode, now, actor_id),),
            linked_at=now,
        )
        return replace(self, partner_links=self.partner_links + (link,))

    def with_sepa_mandate(self, mandate: SepaMandate | None) -> "Organisation":
        """The customer with ``mandate`` on file (``None``: revoked, invoices are paid by transfer again)."""
        if self.kind is not OrganisationKind.CUSTOMER:
            raise ValidationFailed("Only a customer has a direct-debit mandate on file.", field="customerId")
        return replace(self, sepa_mandate=mandate)

    def with_billing_mode(self, partner_id: str, mode: BillingMode, now: datetime, actor_id: str) -> tuple["Organisation", bool]:
        """Switch the billing mode of one link; returns the customer and whether anything changed."""
        link = self._require_link(partner_id)
        if link.billing_mode is mode:
            return self, False
        updated = replace(link, billing_mode_history=link.billing_mode_history + (BillingModePeriod(mode, now, actor_id),))
        return self._replace_link(updated), True

    def with_partner_notice_failed(self, partner_id: str, mode: BillingMode, since: datetime) -> "Organisation":
        """Record that the partner's notice of the switch to ``mode`` made at ``since`` could not be sent (the latest
        such switch; the link's first period is no switch). Unchanged when the history holds no such switch."""
        return self._with_notice_mark(partner_id, mode, since, failed=True)

    def with_partner_notified(self, partner_id: str, mode: BillingMode, since: datetime) -> "Organisation":
        """The notice of the switch to ``mode`` made at ``since`` went out after all (re-sent): no longer marked failed."""
        return self._with_notice_mark(partner_id, mode, since, failed=False)

    def notice_to_resend(self, partner_id: str) -> BillingModePeriod:
        """The switch whose notice to the partner is to be sent again: the link's latest switch, when its notice failed.

        Refused (``PreconditionFailed``) when there is nothing to re-send: the link was never switched, or the partner
        was e-mailed about its latest switch (an older failed notice is out of date: it names a mode no longer in force).
        """
        link = self._require_link(partner_id)
        latest = link.billing_mode_history[-1]
        if len(link.billing_mode_history) < 2:
            raise PreconditionFailed(
                f"The billing mode of {self.name} with {link.partner_name} was never switched: there is no notice to re-send.",
                field="partnerId",
            )
        if not latest.partner_notice_failed:
            raise PreconditionFailed(
                f"{link.partner_name} was e-mailed about the latest billing-mode switch of {self.name} "
                f"({latest.mode.value}, {latest.since:%Y-%m-%d %H:%M} UTC): there is no notice to re-send.",
                field="partnerId",
                hint="Only a notice the mail service refused (partnerNoticeFailed on the latest switch) is sent again.",
            )
        return latest

    def _with_notice_mark(self, partner_id: str, mode: BillingMode, since: datetime, *, failed: bool) -> "Organisation":
        link = self._require_link(partner_id)
        history = list(link.billing_mode_history)
        for i in range(len(history) - 1, 0, -1):
            if history[i].mode is mode and history[i].since == since:
                history[i] = replace(history[i], partner_notice_failed=failed)
                return self._replace_link(replace(link, billing_mode_history=tuple(history)))
        return self

    def with_access_level(self, partner_id: str, access_level: AccessLevel) -> "Organisation":
        return self._replace_link(replace(self._require_link(partner_id), access_level=access_level))

    def _require_link(self, partner_id: str) -> PartnerLink:
        link = self.link_to(partner_id)
        if link is None:
            raise ValidationFailed("This partner is not linked to the customer.", field="partnerId")
        return link

    def _replace_link(self, updated: PartnerLink) -> "Organisation":
        return replace(
            self,
            partner_links=tuple(updated if link.partner_id == updated.partner_id else link for link in self.partner_links),
        )


def new_organisation(
    *,
    id: str,
    kind: OrganisationKind,
    name: str,
    address: Address,
    billing_email: str,
    now: datetime,
    vat_id: str | None = None,
    onboarding: CustomerOnboarding | None = None,
) -> Organisation:
    return Organisation(
        id=id,
        kind=kind,
        name=require_text(name, "name", label="Company name"),
        address=address,
        billing_email=require_email(billing_email, "billingEmail"),
        created_at=now,
        vat_id=(vat_id or "").strip().upper() or None,
        onboarding=onboarding if kind is OrganisationKind.CUSTOMER else None,
        partner_profile=PartnerProfile() if kind is OrganisationKind.PARTNER else None,
        microsoft=MicrosoftTenant() if kind is OrganisationKind.CUSTOMER else None,
    )


class Role(str, Enum):
    DISTRIBUTOR_STAFF = "DISTRIBUTOR_STAFF"
    PARTNER_ADMIN = "PARTNER_ADMIN"
    PARTNER_STAFF = "PARTNER_STAFF"
    CUSTOMER_USER = "CUSTOMER_USER"


ROLES_BY_KIND = {
    OrganisationKind.DISTRIBUTOR: {Role.DISTRIBUTOR_STAFF},
    OrganisationKind.PARTNER: {Role.PARTNER_ADMIN, Role.PARTNER_STAFF},
    OrganisationKind.CUSTOMER: {Role.CUSTOMER_USER},
}


class PartnerPermission(str, Enum):
    GENERAL_ACCESS = "GENERAL_ACCESS"
    DASHBOARD = "DASHBOARD"
    CUSTOMER_MANAGEMENT = "CUSTOMER_MANAGEMENT"
    CSP_ORDERING = "CSP_ORDERING"


class PermissionLevel(str, Enum):
    """A customer portal user's level."""

    REPORT_ONLY = "REPORT_ONLY"  # open tickets, comment, see own tickets (those they reported)
    EXTENDED = "EXTENDED"  # also statistics, contract status, service reports, invoices when payer


@dataclass(frozen=True)
class User:
    id: str
    organisation_id: str
    organisation_kind: OrganisationKind
    email: str
    name: str
    role: Role
    permissions: frozenset[PartnerPermission] = frozenset()
    permission_level: PermissionLevel | None = None
    active: bool = True
    created_at: datetime | None = None
    deactivated_at: datetime | None = None  # when the login was last deactivated; None while active
    # When the login was last reactivated or its permission level changed (None: neither since it was created or since
    # this was kept): access to credentials granted before no longer counts (domain.credentials.grant_in_force).
    standing_changed_at: datetime | None = None
    version: int = 0

    @property
    def administers_organisation(self) -> bool:
        """An active login that keeps its organisation able to run itself: a partner admin, distributor staff, or one of a
        customer's EXTENDED users (who see its invoices, decide who pays and manage its users)."""
        if not self.active:
            return False
        if self.organisation_kind is OrganisationKind.CUSTOMER:
            return self.permission_level is PermissionLevel.EXTENDED
        return self.role in (Role.PARTNER_ADMIN, Role.DISTRIBUTOR_STAFF)

    def with_permission_level(self, level: PermissionLevel, *, now: datetime) -> "User":
        """A customer user with ``level`` (REPORT_ONLY or EXTENDED); partner and distributor staff have none. A change
        ends the grants of credentials made before it (``standing_changed_at``)."""
        if self.organisation_kind is not OrganisationKind.CUSTOMER:
            raise ValidationFailed(
                "Permission levels apply to customer users only.",
                field="permissionLevel",
                hint="Partner staff act with their role and area permissions; distributor staff have full access.",
            )
        if level is self.permission_level:
            return self
        return replace(self, permission_level=level, standing_changed_at=now)

    def deactivated(self, now: datetime) -> "User":
        """The login refused from now on (someone who left); it keeps its tickets, name and e-mail address."""
        return self if not self.active else replace(self, active=False, deactivated_at=now)

    def reactivated(self, *, now: datetime) -> "User":
        """The login back, with its role and level; grants of credentials made before do not come back with it."""
        return self if self.active else replace(self, active=True, deactivated_at=None, standing_changed_at=now)


class LastAdministrator(PreconditionFailed):
    """A change would leave an organisation without an active administrator (``User.administers_organisation``)."""

    def __init__(self, organisation: Organisation, user: User) -> None:
        if organisation.kind is OrganisationKind.CUSTOMER:
            what = f"the last active EXTENDED user of {organisation.name}: without one, nobody there sees its invoices, " \
                   "decides who pays or manages its users"
            hint = "Make another user EXTENDED first (userPermissionLevelSet, or userCreate), then change or deactivate this one."
        elif organisation.kind is OrganisationKind.PARTNER:
            what = f"the last active partner admin of {organisation.name}: without one, nobody there manages its users"
            hint = "Add another PARTNER_ADMIN user first (userCreate), then deactivate this one."
        else:
            what = f"the last active staff user of {organisation.name}: without one, nobody operates the platform"
            hint = "Add another DISTRIBUTOR_STAFF user first (userCreate), then deactivate this one."
        super().__init__(f"{user.name} ({user.email}) is {what}.", field="userId", hint=hint)


def remaining_administrator(organisation: Organisation, before: User, after: User, users: Iterable[User]) -> User | None:
    """When changing ``before`` into ``after`` takes an administrator away from ``organisation``: another active
    administrator among ``users`` (its users; the change rests on that one staying so). None when the change takes no
    administrator away. Raises ``LastAdministrator`` when there is no other one."""
    if not before.administers_organisation or after.administers_organisation:
        return None
    other = next((u for u in users if u.id != before.id and u.organisation_id == organisation.id and u.administers_organisation), None)
    if other is None:
        raise LastAdministrator(organisation, before)
    return other


def new_user(
    *,
    id: str,
    organisation: Organisation,
    email: str,
    name: str,
    role: Role,
    permissions: frozenset[PartnerPermission] = frozenset(),
    permission_level: PermissionLevel | None = None,
    now: datetime,
) -> User:
    if role not in ROLES_BY_KIND[organisation.kind]:
        allowed = ", ".join(sorted(r.value for r in ROLES_BY_KIND[organisation.kind]))
        raise ValidationFailed(
            f"Role {role.value} does not exist in a {organisation.kind.value.lower()} organisation.",
            field="role",
            hint=f"Choose one of: {allowed}.",
        )
    if organisation.kind is OrganisationKind.CUSTOMER:
        if permission_level is None:
            raise ValidationFailed(
                "A customer portal user needs a permission level.",
                field="permissionLevel",
                hint="REPORT_ONLY may open and follow their own tickets; EXTENDED also sees the organisation's other tickets, "
                     "statistics, contracts and invoices.",
            )
        if permissions:
            raise ValidationFailed("Partner permissions do not apply to customer users.", field="permissions")
    else:
        if permission_level is not None:
            raise ValidationFailed("Permission levels apply to customer users only.", field="permissionLevel")
    if role is Role.PARTNER_ADMIN:
        permissions = frozenset(PartnerPermission)
    return User(
        id=id,
        organisation_id=organisation.id,
        organisation_kind=organisation.kind,
        email=require_email(email, "email"),
        name=require_text(name, "name", label="Name"),
        role=role,
        permissions=frozenset(permissions),
        permission_level=permission_level,
        created_at=now,
    )
