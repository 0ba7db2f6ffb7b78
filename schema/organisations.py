"""Organisations, partnership links and users: the public contract."""

from datetime import date, datetime
from typing import Annotated, Union

import strawberry

from domain import organisations as d
from domain.sepa import SepaMandate as SepaMandateDomain
from schema.common import Error, Node, enum_of
from schema.pagination import Connection

OrganisationKind = enum_of(d.OrganisationKind)
AccessLevel = enum_of(d.AccessLevel, "FULL: the partner may change the customer and order for it; LIMITED: read only.")
BillingMode = enum_of(d.BillingMode, "Who is invoiced: the customer at public price, or the partner with its discount.")
BranchBilling = enum_of(d.BranchBilling)
Role = enum_of(d.Role)
PartnerPermission = enum_of(d.PartnerPermission)
PermissionLevel = enum_of(d.PermissionLevel, "REPORT_ONLY: opens tickets and sees those they reported; EXTENDED: all the organisation's tickets, "
                                              "also statistics, contracts, invoices.")


@strawberry.type
class Address:
    street: str
    postal_code: str
    city: str
    country: str

    @classmethod
    def of(cls, a: d.Address) -> "Address":
        return cls(street=a.street, postal_code=a.postal_code, city=a.city, country=a.country)


@strawberry.type
class Branch:
    key: str = strawberry.field(description="Stable within the customer (a slug of the name when the branch was added): "
                                            "contracts, tickets and invoices name the branch by it.")
    name: str
    address: Address
    receives_goods: bool
    receives_services: bool


@strawberry.type
class CustomerOnboarding:
    branches: list[Branch]
    branch_billing: BranchBilling
    service_report_email: str | None
    notify_on_new_ticket: list[str]
    notify_on_ticket_status_change: list[str]
    initial_inventory_wanted: bool
    existing_documentation: bool
    datev_consultant_number: str | None

    @classmethod
    def of(cls, o: d.CustomerOnboarding) -> "CustomerOnboarding":
        return cls(
            branches=[Branch(key=b.key, name=b.name, address=Address.of(b.address), receives_goods=b.receives_goods, receives_services=b.receives_services) for b in o.branches],
            branch_billing=o.branch_billing,
            service_report_email=o.service_report_email,
            notify_on_new_ticket=list(o.notify_on_new_ticket),
            notify_on_ticket_status_change=list(o.notify_on_ticket_status_change),
            initial_inventory_wanted=o.initial_inventory_wanted,
            existing_documentation=o.existing_documentation,
            datev_consultant_number=o.datev_consultant_number,
        )


@strawberry.type
class BillingModePeriod:
    mode: BillingMode
    since: datetime
    partner_notice_failed: bool = strawberry.field(
        default=False,
        description="The partner's e-mail notice of this switch could not be sent (the switch stands): "
                    "customerBillingModeNoticeResend sends the latest switch's notice again.",
    )


@strawberry.type(description="The link between a partner and a customer, seen from either side.")
class PartnerLink:
    partner_id: strawberry.ID
    partner_name: str
    customer_id: strawberry.ID
    access_level: AccessLevel
    billing_mode: BillingMode
    billing_mode_history: list[BillingModePeriod]
    linked_at: datetime

    @strawberry.field(description="The partner, when the viewer may see it (customers see only the name).")
    async def partner(self, info: strawberry.Info) -> Annotated["Partner", strawberry.lazy("schema.organisations")] | None:
        from resolvers.organisations import visible_organisation

        return await visible_organisation(info, self.partner_id, d.OrganisationKind.PARTNER)

    @classmethod
    def of(cls, customer_id: str, link: d.PartnerLink) -> "PartnerLink":
        return cls(
            partner_id=strawberry.ID(link.partner_id),
            partner_name=link.partner_name,
            customer_id=strawberry.ID(customer_id),
            access_level=link.access_level,
            billing_mode=link.billing_mode,
            billing_mode_history=[
                BillingModePeriod(mode=p.mode, since=p.since, partner_notice_failed=p.partner_notice_failed)
                for p in link.billing_mode_history
            ],
            linked_at=link.linked_at,
        )


@strawberry.type(description="A customer's signed SEPA direct-debit mandate on file; the IBAN is shown masked.")
class SepaMandate:
    reference: str
    iban_masked: str
    account_holder: str
    bic: str | None
    signed_on: date

    @classmethod
    def of(cls, m: "SepaMandateDomain") -> "SepaMandate":
        return cls(reference=m.reference, iban_masked=m.iban_masked, account_holder=m.account_holder, bic=m.bic, signed_on=m.signed_on)


@strawberry.type
class Distributor(Node):
    id: strawberry.ID
    name: str
    address: Address
    billing_email: str
    created_at: datetime


@strawberry.type
class Partner(Node):
    id: strawberry.ID
    name: str
    address: Address
    billing_email: str
    vat_id: str | None
    created_at: datetime
    microsoft_partner_network_id: str | None
    microsoft_id: str | None
    _profile: strawberry.Private[d.PartnerProfile]

    @strawberry.field(description="The partner-programme number (the `aff` of its referral link); null while not enrolled.")
    async def partner_number(self, info: strawberry.Info) -> int | None:
        enrolled = await info.context.loaders.programme_partner_by_id.load(str(self.id))
        return enrolled.partner_number if enrolled else self._profile.partner_number

    @strawberry.field(description="The partner-programme tier in force today (REGISTERED before enrolment).")
    async def tier(self, info: strawberry.Info) -> str:
        from domain.calendar import berlin_date

        enrolled = await info.context.loaders.programme_partner_by_id.load(str(self.id))
        tier = enrolled.tier_at(berlin_date(info.context.now)) if enrolled else None
        return tier.value if tier else self._profile.tier


@strawberry.type
class Customer(Node):
    id: strawberry.ID
    name: str
    address: Address
    billing_email: str
    vat_id: str | None
    created_at: datetime
    onboarding: CustomerOnboarding
    _organisation: strawberry.Private[d.Organisation]
    _microsoft: strawberry.Private[d.MicrosoftTenant | None] = None

    @strawberry.field(description="The customer's users and the distributor see every partner's link; a partner only its own.")
    def partner_links(self, info: strawberry.Info) -> list[PartnerLink]:
        from resolvers.organisations import visible_partner_links

        return visible_partner_links(info, self._organisation)

    @strawberry.field(
        description=(
            "The SEPA direct-debit mandate on file, under which rental and data-centre hosting invoices are collected: "
            "for the distributor and the customer's EXTENDED users; null for everyone else and when there is none."
        )
    )
    def sepa_mandate(self, info: strawberry.Info) -> SepaMandate | None:
        from domain.policy import can_view_sepa_mandate

        principal, mandate = info.context.principal, self._organisation.sepa_mandate
        if mandate is None or principal is None or not can_view_sepa_mandate(principal, self._organisation):
            return None
        return SepaMandate.of(mandate)

    @strawberry.field(description="Tenant, Microsoft Customer Agreement and eligibility: the customer's CSP preconditions.")
    def microsoft_tenant(self) -> Annotated["MicrosoftTenant", strawberry.lazy("schema.subscriptions")]:
        from domain.tenants import MicrosoftTenant as DomainTenant
        from schema.subscriptions import MicrosoftTenant

        return MicrosoftTenant.of(self._microsoft or DomainTenant())

    @strawberry.field(
        description="The customer's CSP subscriptions you may see, oldest first. Batched: a page of customers costs two requests."
    )
    async def subscriptions(
        self, info: strawberry.Info, first: int | None = 20, after: str | None = None,
    ) -> Connection[Annotated["Subscription", strawberry.lazy("schema.subscriptions")]]:
        from resolvers.subscriptions import customer_subscriptions

        return await customer_subscriptions(info, self.id, first=first, after=after)


Organisation = Annotated[Union[Distributor, Partner, Customer], strawberry.union("Organisation")]


def organisation_of(o: d.Organisation) -> Distributor | Partner | Customer:
    common = dict(id=strawberry.ID(o.id), name=o.name, address=Address.of(o.address), billing_email=o.billing_email, created_at=o.created_at)
    if o.kind is d.OrganisationKind.CUSTOMER:
        return Customer(
            **common,
            vat_id=o.vat_id,
            onboarding=CustomerOnboarding.of(o.onboarding or d.CustomerOnboarding()),
            _organisation=o,
            _microsoft=o.microsoft,
        )
    if o.kind is d.OrganisationKind.PARTNER:
        profile = o.partner_profile or d.PartnerProfile()
        return Partner(
            **common,
            vat_id=o.vat_id,
            microsoft_partner_network_id=profile.microsoft_partner_network_id,
            microsoft_id=profile.microsoft_id,
            _profile=profile,
        )
    return Distributor(**common)


@strawberry.type
class User(Node):
    id: strawberry.ID
    organisation_id: strawberry.ID
    organisation_kind: OrganisationKind
    email: str
    name: str
    role: Role
    permissions: list[PartnerPermission]
    permission_level: PermissionLevel | None
    active: bool = strawberry.field(description="False: deactivated (someone who left); every request of the login is refused.")
    deactivated_at: datetime | None = strawberry.field(description="When the login was deactivated; null while active.")

    @classmethod
    def of(cls, u: d.User) -> "User":
        return cls(
            id=strawberry.ID(u.id),
            organisation_id=strawberry.ID(u.organisation_id),
            organisation_kind=u.organisation_kind,
            email=u.email,
            name=u.name,
            role=u.role,
            permissions=sorted(u.permissions, key=lambda p: p.value),
            permission_level=u.permission_level,
            active=u.active,
            deactivated_at=u.deactivated_at,
        )


@strawberry.type(description="The signed-in user and its organisation.")
class Viewer:
    user: User
    organisation: Organisation


CustomerConnection = Connection[Customer]
PartnerConnection = Connection[Partner]
UserConnection = Connection[User]


# --- inputs ------------------------------------------------------------------------------


@strawberry.input
class AddressInput:
    street: str
    postal_code: str
    city: str
    country: str = "DE"


@strawberry.input
class BranchInput:
    key: str | None = strawberry.field(
        default=None,
        description="The key of a listed branch this entry keeps (e.g. renamed or moved); left out: the listed branch of the "
                    "same name keeps its key, another name is a new branch. A listed branch left out of the list is removed "
                    "(refused while an open contract or ticket names it).",
    )
    name: str
    address: AddressInput
    receives_goods: bool = True
    receives_services: bool = True


@strawberry.input(
    description=(
        "Onboarding data. In customerUpdate a field left out (or null) stays as it is; an empty list, or an empty "
        "string for serviceReportEmail and datevConsultantNumber, clears it. In customerCreate a field left out takes "
        "its default: no branches, CENTRAL billing, nobody notified, false."
    )
)
class CustomerOnboardingInput:
    branches: list[BranchInput] | None = None
    branch_billing: BranchBilling | None = None
    service_report_email: str | None = None
    notify_on_new_ticket: list[str] | None = None
    notify_on_ticket_status_change: list[str] | None = None
    initial_inventory_wanted: bool | None = None
    existing_documentation: bool | None = None
    datev_consultant_number: str | None = None


@strawberry.input
class PartnerCreateInput:
    name: str
    address: AddressInput
    billing_email: str
    vat_id: str | None = None


@strawberry.input
class CustomerCreateInput:
    name: str
    address: AddressInput
    billing_email: str
    vat_id: str | None = None
    onboarding: CustomerOnboardingInput | None = None
    partner_id: strawberry.ID | None = strawberry.field(default=None, description="Distributor only: link a partner at once. A partner creating a customer is always linked.")
    billing_mode: BillingMode = d.BillingMode.PARTNER_PAYS
    access_level: AccessLevel = d.AccessLevel.FULL


@strawberry.input
class CustomerUpdateInput:
    name: str | None = None
    address: AddressInput | None = None
    billing_email: str | None = None
    vat_id: str | None = None
    onboarding: CustomerOnboardingInput | None = None


@strawberry.input(description="A signed SEPA Core mandate, as on the form the customer signed.")
class CustomerSepaMandateSetInput:
    customer_id: strawberry.ID
    reference: str = strawberry.field(description="1 to 35 letters, digits or ' : ? , - ( + . ) / without spaces; unique, never reused.")
    iban: str = strawberry.field(description="An account in the SEPA zone; spaces are fine.")
    account_holder: str
    signed_on: date = strawberry.field(description="The date on the signed mandate (Berlin), not in the future.")
    bic: str | None = None


@strawberry.input
class PartnershipCreateInput:
    partner_id: strawberry.ID
    customer_id: strawberry.ID
    access_level: AccessLevel = d.AccessLevel.FULL
    billing_mode: BillingMode = d.BillingMode.PARTNER_PAYS


@strawberry.input
class PartnershipAccessLevelSetInput:
    partner_id: strawberry.ID
    customer_id: strawberry.ID
    access_level: AccessLevel


@strawberry.input
class BillingModeSwitchInput:
    customer_id: strawberry.ID
    partner_id: strawberry.ID
    billing_mode: BillingMode


@strawberry.input
class BillingModeNoticeResendInput:
    customer_id: strawberry.ID
    partner_id: strawberry.ID = strawberry.field(description="The partner of the link whose latest switch's notice failed.")


@strawberry.input
class PartnerMicrosoftIdsSetInput:
    partner_id: strawberry.ID
    microsoft_partner_network_id: str
    microsoft_id: str


@strawberry.input
class UserCreateInput:
    organisation_id: strawberry.ID
    email: str
    name: str
    role: Role
    permissions: list[PartnerPermission] = strawberry.field(default_factory=list)
    permission_level: PermissionLevel | None = strawberry.field(
        default=None,
        description="Customer users only. A partner creating a user for its customer gives REPORT_ONLY; EXTENDED users are made "
                    "by the customer's EXTENDED users or the distributor.",
    )


@strawberry.input
class UserPermissionLevelSetInput:
    user_id: strawberry.ID
    permission_level: PermissionLevel


@strawberry.input
class UserDeactivateInput:
    user_id: strawberry.ID


@strawberry.input
class UserReactivateInput:
    user_id: strawberry.ID


# --- payloads ----------------------------------------------------------------------------


@strawberry.type
class PartnerPayload:
    partner: Partner | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class BillingModeSwitchPayload:
    customer: Customer | None = None
    partner_notified: bool = strawberry.field(
        default=False,
        description="The partner's e-mail notice went out. False when the mode did not change, and when the mail service "
                    "refused the notice: the switch stands all the same, its billingModeHistory entry shows partnerNoticeFailed "
                    "(customerBillingModeNoticeResend sends it again).",
    )
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class UserPayload:
    user: User | None = None
    errors: list[Error] = strawberry.field(default_factory=list)
