"""Catalogue, CSP subscriptions, previews, the customer's Microsoft side, reseller SaaS subscriptions."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry

from domain import catalogue as c
from domain import subscriptions as s
from domain import tenants as tn
from schema.common import Error, Money, Node, enum_of
from schema.organisations import Customer

Term = enum_of(c.Term, "P1M: monthly term; P1Y: annual term.")
Billing = enum_of(c.Billing, "MONTHLY, or ANNUAL (the whole term upfront).")
ProductCategory = enum_of(c.ProductCategory)
ProductKind = enum_of(c.ProductKind)
LicenceProgram = enum_of(c.LicenceProgram)
SubscriptionStatus = enum_of(s.SubscriptionStatus)
EndReason = enum_of(s.EndReason)
ChargeKind = enum_of(s.ChargeKind)
SubscriptionEventKind = enum_of(s.SubscriptionEventKind)
TenantState = enum_of(s.TenantState)
InstitutionType = enum_of(tn.InstitutionType)
SaasStatus = enum_of(s.SaasStatus)
SaasInvitationStatus = enum_of(
    s.SaasInvitationStatus,
    "Whether the invitation e-mail went out: PENDING (no outcome recorded yet), SENT, or FAILED (send it again with "
    "saasSubscriptionInvitationResend).",
)


@strawberry.type
class Product(Node):
    id: strawberry.ID
    name: str
    category: ProductCategory
    kind: ProductKind
    licence_program: LicenceProgram
    add_on_of: strawberry.ID | None
    upgrade_targets: list[strawberry.ID]
    allows_hosted_desktop: bool = strawberry.field(description="May run on a hosted terminal server (cloud desktop).")
    _catalogue: strawberry.Private[c.Catalogue]

    @strawberry.field(description="The unit price per seat and billing period on a date (a monthly term is 20% above annual).")
    def price(
        self, info: strawberry.Info, term: Term | None = None, billing: Billing | None = None, on: date | None = None, currency: str = "EUR"
    ) -> Money | None:
        from domain.calendar import berlin_date
        from domain.errors import DomainError

        try:
            day = on or berlin_date(info.context.now)
            return Money.of(self._catalogue.price_on(str(self.id), term, billing, day, currency=currency))
        except DomainError:
            return None

    @classmethod
    def of(cls, product: c.Product, catalogue: c.Catalogue) -> "Product":
        return cls(
            id=strawberry.ID(product.id), name=product.name, category=product.category, kind=product.kind,
            licence_program=product.licence_program, add_on_of=product.add_on_of,
            upgrade_targets=sorted(product.upgrade_targets), allows_hosted_desktop=product.allows_hosted_desktop,
            _catalogue=catalogue,
        )


@strawberry.type
class SeatLot:
    id: strawberry.ID
    quantity: int
    added_at: datetime
    cancellation_window_closes_at: datetime = strawberry.field(description="Seats of this lot can be removed until then (168 hours).")
    window_open: bool


@strawberry.type
class ScheduledChange:
    quantity: int | None
    term: Term | None
    billing: Billing | None
    product_id: strawberry.ID | None


@strawberry.type
class KeyValue:
    key: str
    value: str


@strawberry.type
class SubscriptionEvent:
    id: strawberry.ID
    kind: SubscriptionEventKind
    at: datetime
    actor_id: str
    details: list[KeyValue]


@strawberry.type(description="What billing must book: a charge, or a credit (negative amount).")
class Charge:
    id: strawberry.ID
    kind: ChargeKind
    period_start: date
    period_end: date = strawberry.field(description="Exclusive.")
    quantity: int
    unit_price: Money
    amount: Money
    description: str

    @classmethod
    def of(cls, charge: s.Charge) -> "Charge":
        return cls(
            id=strawberry.ID(charge.charge_id), kind=charge.kind, period_start=charge.period_start, period_end=charge.period_end,
            quantity=charge.quantity, unit_price=Money.of(charge.unit_price), amount=Money.of(charge.amount), description=charge.description,
        )


def scheduled_change_of(change: s.ScheduledChange | None) -> ScheduledChange | None:
    if change is None:
        return None
    return ScheduledChange(quantity=change.quantity, term=change.term, billing=change.billing, product_id=change.product_id)


@strawberry.type
class Subscription(Node):
    id: strawberry.ID
    customer_id: strawberry.ID
    partner_id: strawberry.ID
    product_id: strawberry.ID
    term: Term
    billing: Billing
    status: SubscriptionStatus
    auto_renew: bool
    hosted_desktop: bool = strawberry.field(description="The licences run on a hosted desktop (terminal server, cloud desktop).")
    unit_price: Money = strawberry.field(description="Per seat and billing period, locked for the current term.")
    quantity: int
    started_at: datetime
    term_started_at: datetime
    term_ends_at: datetime
    next_renewal_at: datetime | None
    next_window_opens_at: datetime | None = strawberry.field(description="When seats can next be reduced: the next renewal.")
    reducible_seats: int = strawberry.field(
        description="Seats that can be removed now: those whose 168-hour window is open; every seat of a legacy "
                    "subscription billed monthly."
    )
    seat_lots: list[SeatLot]
    scheduled_change: ScheduledChange | None
    parent_subscription_id: strawberry.ID | None
    ended_at: datetime | None
    end_reason: EndReason | None
    _domain: strawberry.Private[s.Subscription]

    @strawberry.field(description="The unit price the next renewal will take, with announced price changes.")
    async def price_after_next_renewal(self, info: strawberry.Info) -> Money | None:
        catalogue = await info.context.loaders.catalogue()
        price = s.price_after_next_renewal(self._domain, catalogue)
        return Money.of(price) if price else None

    @strawberry.field
    async def product(self, info: strawberry.Info) -> Product | None:
        catalogue = await info.context.loaders.catalogue()
        product = catalogue.products.get(str(self.product_id))
        return Product.of(product, catalogue) if product else None

    @strawberry.field(description="Every change, oldest first (older events are read from the subscription's history pages).")
    async def history(self, info: strawberry.Info) -> list[SubscriptionEvent]:
        from resolvers.subscriptions import full_history

        return [
            SubscriptionEvent(id=strawberry.ID(e.event_id), kind=e.kind, at=e.at, actor_id=e.actor_id,
                              details=[KeyValue(key=k, value=v) for k, v in sorted(e.details.items())])
            for e in await full_history(info, self._domain)
        ]

    @strawberry.field(description="The customer, when the viewer may see it.")
    async def customer(self, info: strawberry.Info) -> Customer | None:
        from domain.organisations import OrganisationKind
        from resolvers.organisations import visible_organisation

        return await visible_organisation(info, str(self.customer_id), OrganisationKind.CUSTOMER)

    @classmethod
    def of(cls, sub: s.Subscription, now: datetime) -> "Subscription":
        return cls(
            id=strawberry.ID(sub.id), customer_id=strawberry.ID(sub.customer_id), partner_id=strawberry.ID(sub.partner_id),
            product_id=strawberry.ID(sub.product_id), term=sub.term, billing=sub.billing, status=sub.status,
            auto_renew=sub.auto_renew, hosted_desktop=sub.hosted_desktop, unit_price=Money.of(sub.unit_price), quantity=sub.quantity, started_at=sub.started_at,
            term_started_at=sub.term_started_at, term_ends_at=sub.term_ends_at, next_renewal_at=sub.next_renewal_at,
            next_window_opens_at=sub.next_window_opens_at,
            reducible_seats=sub.reducible_seats(now) if sub.status is s.SubscriptionStatus.ACTIVE else 0,
            seat_lots=[
                SeatLot(id=strawberry.ID(lot.lot_id), quantity=lot.quantity, added_at=lot.added_at,
                        cancellation_window_closes_at=lot.cancellation_window_closes_at, window_open=lot.window_open_at(now))
                for lot in sub.seat_lots
            ],
            scheduled_change=scheduled_change_of(sub.scheduled_change),
            parent_subscription_id=sub.parent_subscription_id, ended_at=sub.ended_at, end_reason=sub.end_reason,
            _domain=sub,
        )


@strawberry.type(description="Why a reduction or cancellation was refused, and when it becomes possible.")
class CancellationWindow:
    next_window_opens_at: datetime | None
    reducible_seats_now: int
    alternatives: list[str]


@strawberry.type
class SubscriptionPayload:
    subscription: Subscription | None = None
    charges: list[Charge] = strawberry.field(default_factory=list)
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type
class SubscriptionChangePayload:
    subscription: Subscription | None = None
    new_subscription: Subscription | None = strawberry.field(default=None, description="Upgrades: the subscription the seats moved to.")
    charges: list[Charge] = strawberry.field(default_factory=list, description="Charges and credits of this change (and of a renewal that was due).")
    scheduled_change_deleted: bool = strawberry.field(default=False, description="A mid-term change deletes the change scheduled for the renewal, as at Microsoft.")
    deleted_scheduled_change: ScheduledChange | None = None
    window: CancellationWindow | None = strawberry.field(default=None, description="Set when the 7-day window refused the change.")
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.type(description="What a change would do, computed by the same rules as the change itself. Nothing is written.")
class SubscriptionPreview:
    allowed: bool
    errors: list[Error]
    amount: Money | None = strawberry.field(description="Net of charges (positive) and credits (negative).")
    charges: list[Charge]
    cancellation_window_deadlines: list[datetime]
    next_window_opens_at: datetime | None
    scheduled_change_would_be_deleted: bool
    price_after_next_renewal: Money | None
    next_renewal_at: datetime | None
    quantity_after: int


@strawberry.enum
class SubscriptionChangeKind(Enum):
    INCREASE_SEATS = "INCREASE_SEATS"
    REDUCE_SEATS = "REDUCE_SEATS"
    SET_QUANTITY = "SET_QUANTITY"
    CANCEL = "CANCEL"
    SET_AUTO_RENEW = "SET_AUTO_RENEW"
    SCHEDULE_FOR_RENEWAL = "SCHEDULE_FOR_RENEWAL"
    REMOVE_SCHEDULED_CHANGE = "REMOVE_SCHEDULED_CHANGE"
    UPGRADE = "UPGRADE"
    SET_HOSTED_DESKTOP = "SET_HOSTED_DESKTOP"


@strawberry.input
class SubscriptionChangeInput:
    kind: SubscriptionChangeKind
    seats: int | None = None
    quantity: int | None = None
    auto_renew: bool | None = None
    term: Term | None = None
    billing: Billing | None = None
    product_id: strawberry.ID | None = strawberry.field(default=None, description="Scheduled product change, or the upgrade target.")
    hosted_desktop: bool | None = strawberry.field(default=None, description="SET_HOSTED_DESKTOP: assign (true) or take off (false).")


@strawberry.input
class SubscriptionOrderInput:
    customer_id: strawberry.ID
    product_id: strawberry.ID
    term: Term
    billing: Billing
    quantity: int
    auto_renew: bool = True
    partner_id: strawberry.ID | None = strawberry.field(default=None, description="Distributor only: the partner that sells it.")
    hosted_desktop: bool = strawberry.field(
        default=False, description="The licences run on a hosted desktop (terminal server): only plans with that right (Product.allowsHostedDesktop)."
    )


@strawberry.input(description="A legacy (pre-New-Commerce) subscription as its previous provider records it.")
class LegacySubscriptionImportInput:
    customer_id: strawberry.ID
    partner_id: strawberry.ID = strawberry.field(description="The customer's partner that sells the licences (one of its partner links).")
    product_id: strawberry.ID = strawberry.field(description="A legacy CSP product (Product.kind CSP_LEGACY).")
    term: Term
    billing: Billing
    quantity: int
    started_at: datetime = strawberry.field(
        description="When the subscription started at Microsoft (before March 2022), with its time zone: its terms and "
                    "billing cycles count from it."
    )
    renews_on: date = strawberry.field(description="Its next renewal date (Europe/Berlin), as the previous provider shows it.")
    charged_through: date = strawberry.field(
        description="The previous provider billed up to this date (exclusive): the end of the billing cycle running now "
                    "(for annual billing the renewal date). Later cycles are billed here."
    )
    previous_subscription_id: str = strawberry.field(description="The subscription's id at the previous provider.")
    auto_renew: bool = True


@strawberry.input
class SubscriptionSeatsInput:
    subscription_id: strawberry.ID
    seats: int


@strawberry.input
class SubscriptionIdInput:
    subscription_id: strawberry.ID


@strawberry.input
class SubscriptionAutoRenewInput:
    subscription_id: strawberry.ID
    enabled: bool


@strawberry.input
class SubscriptionHostedDesktopInput:
    subscription_id: strawberry.ID
    hosted_desktop: bool = strawberry.field(description="Assign the licences to a hosted desktop (true) or take them off it (false).")


@strawberry.input
class SubscriptionRenewalChangeInput:
    subscription_id: strawberry.ID
    quantity: int | None = None
    term: Term | None = None
    billing: Billing | None = None
    product_id: strawberry.ID | None = None


@strawberry.input
class SubscriptionUpgradeInput:
    subscription_id: strawberry.ID
    to_product_id: strawberry.ID
    seats: int | None = strawberry.field(default=None, description="Seats to move; all when omitted.")


@strawberry.input
class SubscriptionFilterInput:
    status: SubscriptionStatus | None = None
    product_id: strawberry.ID | None = None
    renewal_from: date | None = None
    renewal_to: date | None = None


# --- the customer's Microsoft side ---------------------------------------------------------


@strawberry.type
class MicrosoftTenant:
    state: TenantState
    domain: str | None
    admin_login: str | None
    link_requested_at: datetime | None
    link_confirmed_at: datetime | None
    link_email_failed_at: datetime | None = strawberry.field(
        description="The confirmation e-mail of the pending link could not be sent (the request stands): request the link "
                    "again to send a new code.",
    )
    agreement_accepted_at: datetime | None
    agreement_accepted_by: str | None
    eligibility: list[LicenceProgram]

    @classmethod
    def of(cls, t: tn.MicrosoftTenant) -> "MicrosoftTenant":
        return cls(
            state=t.state, domain=t.domain, admin_login=t.admin_login, link_requested_at=t.link_requested_at,
            link_confirmed_at=t.link_confirmed_at, link_email_failed_at=t.link_email_failed_at,
            agreement_accepted_at=t.agreement.accepted_at if t.agreement else None,
            agreement_accepted_by=t.agreement.accepted_by_name if t.agreement else None,
            eligibility=sorted(t.eligible_programs, key=lambda p: p.value),
        )


@strawberry.input
class TenantCreateInput:
    customer_id: strawberry.ID
    prefix: str = strawberry.field(description="The tenant becomes <prefix>.onmicrosoft.com.")


@strawberry.input
class TenantLinkInput:
    customer_id: strawberry.ID
    default_domain: str
    contact_email: str = strawberry.field(description="Receives the confirmation link.")


@strawberry.input
class TenantLinkConfirmInput:
    customer_id: strawberry.ID
    code: str


@strawberry.input
class AgreementAcceptInput:
    customer_id: strawberry.ID
    accepted_by_name: str
    accepted_by_email: str


@strawberry.input
class EligibilityGrantInput:
    customer_id: strawberry.ID
    program: LicenceProgram
    institution_type: InstitutionType | None = None
    microsoft_reference: str | None = strawberry.field(default=None, description="Non-profit: Microsoft's confirmation reference.")


@strawberry.type
class TenantCreatePayload:
    customer: Customer | None = None
    admin_login: str | None = None
    initial_password: str | None = strawberry.field(default=None, description="Shown once; Partnerhub does not store it.")
    errors: list[Error] = strawberry.field(default_factory=list)


@strawberry.input
class PriceChangeScheduleInput:
    currency: str
    percent: Decimal
    effective_from: date
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The products whose prices change. Without them: Microsoft's price change, for every product ordered "
                    "through CSP (New Commerce, legacy, perpetual); reseller SaaS products change only when named.",
    )


@strawberry.type
class CataloguePayload:
    products: list[Product] = strawberry.field(default_factory=list)
    errors: list[Error] = strawberry.field(default_factory=list)


# --- reseller SaaS subscriptions ------------------------------------------------------------


@strawberry.type
class SaasSubscription(Node):
    id: strawberry.ID
    partner_id: strawberry.ID
    product_id: strawberry.ID
    customer_id: strawberry.ID | None
    customer_company_name: str
    users: int
    status: SaasStatus
    next_payment_date: date
    invited_contact_name: str | None
    invited_email: str | None
    customer_may_manage_designs: bool
    customer_has_billing_access: bool
    invitation_status: SaasInvitationStatus | None = strawberry.field(description="Null without an invitation.")
    invitation_sent_at: datetime | None = strawberry.field(description="When the mail service last accepted the invitation.")

    @classmethod
    def of(cls, sub: s.SaasSubscription, today: date) -> "SaasSubscription":
        grants = sub.invitation.grants if sub.invitation else frozenset()
        return cls(
            id=strawberry.ID(sub.id), partner_id=strawberry.ID(sub.partner_id), product_id=strawberry.ID(sub.product_id),
            customer_id=sub.customer_id, customer_company_name=sub.customer_company_name, users=sub.users, status=sub.status,
            next_payment_date=sub.next_payment_on(today),
            invited_contact_name=sub.invitation.contact_name if sub.invitation else None,
            invited_email=sub.invitation.email if sub.invitation else None,
            customer_may_manage_designs=s.SaasCustomerAccess.DESIGN_MANAGEMENT in grants,
            customer_has_billing_access=s.SaasCustomerAccess.BILLING in grants,
            invitation_status=sub.invitation.status if sub.invitation else None,
            invitation_sent_at=sub.invitation.sent_at if sub.invitation else None,
        )


@strawberry.input
class SaasSubscriptionCreateInput:
    product_id: strawberry.ID
    customer_company_name: str
    users: int
    customer_id: strawberry.ID | None = None
    invite_contact_name: str | None = None
    invite_email: str | None = None


@strawberry.input
class SaasSubscriptionUsersChangeInput:
    saas_subscription_id: strawberry.ID
    users: int


@strawberry.input
class SaasSubscriptionIdInput:
    saas_subscription_id: strawberry.ID


@strawberry.type
class SaasSubscriptionPayload:
    saas_subscription: SaasSubscription | None = None
    errors: list[Error] = strawberry.field(default_factory=list)
