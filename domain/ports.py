"""The interfaces the domain services need from the outside world.

Repositories read at once and *register* writes with their unit of work; nothing is
written until ``UnitOfWork.commit`` sends every registered write as one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Iterable, Protocol, TypeVar

from domain.errors import DomainError
from domain.catalogue import Catalogue
from domain.organisations import Organisation, OrganisationKind, User
from domain.subscriptions import Charge, SaasSubscription, Subscription, SubscriptionStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # opaque; None when there is nothing more


class OrganisationRepository(Protocol):
    def get(self, organisation_id: str) -> Organisation | None: ...
    def get_many(self, organisation_ids: Iterable[str]) -> dict[str, Organisation]: ...
    def list_by_kind(self, kind: OrganisationKind, *, limit: int, cursor: str | None) -> Page[Organisation]: ...
    def list_customers_of_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Organisation]: ...
    def add(self, organisation: Organisation) -> None: ...
    def update(self, organisation: Organisation, *, links_changed: bool = False) -> None: ...


class UserRepository(Protocol):
    def get(self, user_id: str) -> User | None: ...
    def get_many(self, user_ids: Iterable[str]) -> dict[str, User]: ...
    def list_by_organisation(self, organisation_id: str, *, limit: int, cursor: str | None) -> Page[User]: ...
    def add(self, user: User) -> None: ...


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str  # scope (organisation, operation) plus the client's key
    request_hash: str
    resource_id: str
    created_at: datetime


class IdempotencyRepository(Protocol):
    def get(self, key: str) -> IdempotencyRecord | None: ...
    def add(self, record: IdempotencyRecord) -> None: ...


class UniqueClaims(Protocol):
    def claim(self, key: str, owner_id: str, on_taken: DomainError) -> None:
        """Register a write that fails the transaction with ``on_taken`` if ``key`` is claimed."""
    def is_claimed(self, key: str) -> bool: ...


class UnitOfWork(Protocol):
    organisations: OrganisationRepository
    users: UserRepository
    idempotency: IdempotencyRepository
    uniques: UniqueClaims
    catalogue: CatalogueRepository
    subscriptions: SubscriptionRepository
    charges: ChargeRepository
    saas_subscriptions: SaasSubscriptionRepository

    def __enter__(self) -> "UnitOfWork": ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...


@dataclass(frozen=True)
class SubscriptionFilter:
    status: SubscriptionStatus | None = None
    product_id: str | None = None
    renewal_from: date | None = None  # Berlin dates, inclusive
    renewal_to: date | None = None


class CatalogueRepository(Protocol):
    def get(self) -> Catalogue | None: ...
    def save(self, catalogue: Catalogue) -> None: ...


class SubscriptionRepository(Protocol):
    def get(self, subscription_id: str) -> Subscription | None: ...
    def get_many(self, subscription_ids: Iterable[str]) -> dict[str, Subscription]: ...
    def list_for_customer(self, customer_id: str, flt: SubscriptionFilter, *, limit: int, cursor: str | None) -> Page[Subscription]: ...
    def list_for_partner(self, partner_id: str, flt: SubscriptionFilter, *, limit: int, cursor: str | None) -> Page[Subscription]: ...
    def list_due_for_renewal(self, renewal_date: date, until: datetime, *, limit: int, cursor: str | None) -> Page[Subscription]: ...
    def list_partner_renewals(self, partner_id: str, start: datetime, end: datetime, *, limit: int, cursor: str | None) -> Page[Subscription]: ...
    def list_renewals_on(self, renewal_date: date, *, limit: int, cursor: str | None) -> Page[Subscription]: ...
    def add(self, subscription: Subscription) -> None: ...
    def update(self, subscription: Subscription) -> None: ...


class ChargeRepository(Protocol):
    def add(self, charge: Charge) -> None: ...
    def list_for_subscription(self, subscription_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Charge]: ...


class SaasSubscriptionRepository(Protocol):
    def get(self, subscription_id: str) -> SaasSubscription | None: ...
    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[SaasSubscription]: ...
    def save(self, subscription: SaasSubscription) -> None: ...


@dataclass(frozen=True)
class EmailAttachment:
    filename: str
    content_type: str  # e.g. "application/pdf"
    data: bytes


@dataclass(frozen=True)
class EmailMessage:
    to: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[EmailAttachment, ...] = ()


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class PresignedUpload:
    """Where a browser posts a file directly to storage: a form POST of ``fields`` plus the file."""

    url: str
    fields: dict[str, str]
    key: str
    expires_in_seconds: int


class DocumentStore(Protocol):
    """Files kept outside the database (invoice PDFs, uploads, raw e-mails), addressed by key."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def download_url(self, key: str, *, filename: str, expires_in_seconds: int = 300) -> str: ...
    def upload_form(self, key: str, *, content_type: str, max_bytes: int, expires_in_seconds: int = 900) -> PresignedUpload: ...


# --- invoicing (issue 4) --------------------------------------------------------------------


class InvoiceRenderer(Protocol):
    """Turns an issued invoice into its document (a PDF); infra renders it, the domain only stores and sends it."""

    def render(self, invoice: "Invoice", *, issuer: Organisation, payer: Organisation) -> bytes: ...


class InvoicePaidListener(Protocol):
    """Called once per invoice that became fully paid, after the payment is committed.

    The commission feature plugs in here (``domain.services.invoices.on_invoice_paid``);
    by default nothing listens.
    """

    def __call__(self, event: "InvoicePaid") -> None: ...


from domain.invoices import Invoice, InvoicePaid  # noqa: E402  (type names for the protocols above)
