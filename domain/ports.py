"""The interfaces the domain services need from the outside world.

Repositories read at once and *register* writes with their unit of work; nothing is
written until ``UnitOfWork.commit`` sends every registered write as one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Generic, Iterable, Protocol, TypeVar

from domain.errors import DomainError
from domain.catalogue import Catalogue
from domain.organisations import Organisation, OrganisationKind, User
from domain.subscriptions import Charge, SaasSubscription, Subscription, SubscriptionEvent, SubscriptionStatus

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
    def update(self, user: User, *, unchanged: Iterable[User] = ()) -> None: ...
    def require_unchanged(self, users: Iterable[User]) -> None:
        """Fail the transaction (ConcurrentUpdate) if one of ``users`` changed since it was read."""


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str  # scope (organisation, operation) plus the client's key
    request_hash: str
    resource_id: str
    created_at: datetime


class IdempotencyRepository(Protocol):
    def get(self, key: str) -> IdempotencyRecord | None: ...
    def add(self, record: IdempotencyRecord) -> None: ...


@dataclass(frozen=True)
class ClaimTally:
    """A claim that adds up amounts for its owners (``UniqueClaims.add_to_tally``)."""

    owners: tuple[str, ...]
    cents: int | None  # None: a plain claim (``UniqueClaims.claim``) by ``owners[0]``; what it stands for is not kept


class UniqueClaims(Protocol):
    def claim(self, key: str, owner_id: str, on_taken: DomainError) -> None:
        """Register a write that fails the transaction with ``on_taken`` if ``key`` is claimed."""
    def is_claimed(self, key: str) -> bool: ...
    def owner_of(self, key: str) -> str | None:
        """The id that claimed ``key``, None if nobody did."""
    def tally_of(self, key: str) -> ClaimTally | None:
        """The owners and total of the tally claimed at ``key``; None if nobody claimed it."""
    def add_to_tally(
        self, key: str, owner_id: str, cents: int, *, at_most: int, on_refused: DomainError, untallied: ClaimTally | None = None,
    ) -> None:
        """Register an update that adds ``owner_id`` and its ``cents`` to the tally at ``key`` (claiming it if nobody
        did), on condition that the total stays at most ``at_most``; the transaction fails with ``on_refused`` otherwise.
        ``untallied``: ``key`` was read as a plain claim, here with the cents its owner stands for."""


class UnitOfWork(Protocol):
    organisations: OrganisationRepository
    users: UserRepository
    idempotency: IdempotencyRepository
    uniques: UniqueClaims
    catalogue: CatalogueRepository
    subscriptions: SubscriptionRepository
    charges: ChargeRepository
    saas_subscriptions: SaasSubscriptionRepository
    partner_applications: PartnerApplicationRepository
    programme_partners: ProgrammePartnerRepository
    referrals: ReferralRepository
    commissions: CommissionRepository
    payouts: PayoutRepository
    # service desk (protocols at the end of this module)
    tickets: "TicketRepository"
    ticket_numbers: "TicketNumbers"
    inbound_emails: "InboundEmailRepository"
    service_reports: "ServiceReportRepository"
    service_items: "ServiceItemRepository"
    contracts: "ContractRepository"
    quota_ledger: "QuotaLedgerRepository"
    maintenance_schedules: "MaintenanceScheduleRepository"
    assets: "AssetRepository"
    credentials: "CredentialRepository"
    credential_events: "CredentialEventRepository"

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
    def history_pages(self, subscription: Subscription) -> list[SubscriptionEvent]:
        """The events the store moved out of the subscription's ``history`` to its ``history_pages``, oldest first."""
    def add(self, subscription: Subscription) -> None: ...
    def update(self, subscription: Subscription) -> None: ...


class ChargeRepository(Protocol):
    def add(self, charge: Charge, *, bill_date: date | None = None) -> None: ...
    def list_for_subscription(self, subscription_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Charge]: ...


class SaasSubscriptionRepository(Protocol):
    def get(self, subscription_id: str) -> SaasSubscription | None: ...
    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[SaasSubscription]: ...
    def list_all(self, *, limit: int, cursor: str | None) -> Page[SaasSubscription]: ...
    def list_payments_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[SaasSubscription]:
        """Active subscriptions whose next payment date is on or before ``run_date`` (sparse index, oldest first)."""
    def history_pages(self, subscription: SaasSubscription) -> list[SubscriptionEvent]:
        """The events the store moved out of the subscription's ``history`` to its ``history_pages``, oldest first."""
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


# --- partner programme (applications, programme partners, referrals, commissions, payouts) ---


class PartnerApplicationRepository(Protocol):
    def get(self, application_id: str) -> "PartnerApplication | None": ...
    def list_by_status(self, status: str, *, limit: int, cursor: str | None) -> Page["PartnerApplication"]: ...
    def save(self, application: "PartnerApplication") -> None: ...


class ProgrammePartnerRepository(Protocol):
    def get(self, partner_id: str) -> "ProgrammePartner | None": ...
    def get_many(self, partner_ids: Iterable[str]) -> dict[str, "ProgrammePartner"]: ...
    def get_by_number(self, partner_number: int) -> "ProgrammePartner | None": ...
    def next_partner_number(self) -> int:
        """Read the counter and register its conditional advance: a concurrent allocation fails the commit."""
    def add(self, partner: "ProgrammePartner") -> None: ...
    def update(self, partner: "ProgrammePartner") -> None: ...


class ReferralRepository(Protocol):
    def get_for_customer(self, customer_id: str) -> "Attribution | None": ...
    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page["Attribution"]: ...
    def add(self, attribution: "Attribution") -> None: ...


class CommissionRepository(Protocol):
    def get(self, commission_id: str) -> "Commission | None": ...
    def list_for_invoice(self, invoice_id: str) -> list["Commission"]: ...
    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page["Commission"]: ...
    def list_due_for_approval(self, run_date: date, *, limit: int, cursor: str | None) -> Page["Commission"]: ...
    def all_for_partner(self, partner_id: str) -> list["Commission"]: ...
    def list_payable(self, partner_id: str, *, limit: int) -> list["Commission"]: ...
    def add(self, commission: "Commission") -> None: ...
    def update(self, commission: "Commission") -> None: ...


class PayoutRepository(Protocol):
    def get(self, payout_id: str) -> "Payout | None": ...
    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page["Payout"]: ...
    def list_open(self, *, limit: int) -> list["Payout"]: ...
    def list_for_run(self, run_id: str, *, limit: int, cursor: str | None) -> Page["Payout"]: ...
    def add(self, payout: "Payout") -> None: ...
    def update(self, payout: "Payout") -> None: ...
    def get_run(self, run_id: str) -> "PayoutRun | None": ...
    def list_runs(self, *, limit: int, cursor: str | None) -> Page["PayoutRun"]: ...
    def add_run(self, run: "PayoutRun") -> None: ...


if TYPE_CHECKING:  # annotations only: the programme modules import nothing from here
    from domain.commissions import Commission, Payout, PayoutRun
    from domain.partner_programme import PartnerApplication, ProgrammePartner
    from domain.referrals import Attribution
# --- service desk ----------------------------------------------------------------------------
# Imported here, at the end, so the service-desk additions stay one block when branches merge.

from domain.assets import Asset  # noqa: E402
from domain.billing import ServiceItem  # noqa: E402
from domain.contracts import Contract, ContractKind, LedgerEntry, MaintenanceSchedule  # noqa: E402
from domain.tickets import EmailTriage, ServiceReport, Ticket, TicketStatus  # noqa: E402


class TicketRepository(Protocol):
    def get(self, ticket_id: str) -> Ticket | None: ...
    def get_many(self, ticket_ids: Iterable[str]) -> dict[str, Ticket]: ...
    def get_by_number(self, distributor_id: str, number: str) -> Ticket | None: ...
    def list_for_customer(self, customer_id: str, *, status: TicketStatus | None, limit: int, cursor: str | None) -> Page[Ticket]: ...
    def list_reported_by(
        self, customer_id: str, user_id: str, *, status: TicketStatus | None, limit: int, cursor: str | None
    ) -> Page[Ticket]:
        """The customer's tickets ``user_id`` reported, newest first."""
    def list_by_status(self, status: TicketStatus, *, limit: int, cursor: str | None) -> Page[Ticket]: ...
    def existing_ids(self, ticket_ids: Iterable[str]) -> set[str]:
        """Which of these tickets exist (read consistently, in batches)."""
    def add(self, ticket: Ticket) -> None:
        """Register a new ticket; the transaction fails with ``Conflict`` if its id exists already."""
    def update(self, ticket: Ticket) -> None: ...


class TicketNumbers(Protocol):
    def next(self, distributor_id: str) -> int:
        """Allocate the distributor's next ticket sequence at once (atomic; a crash may leave a gap)."""
    def reserve(self, distributor_id: str, count: int) -> range:
        """Allocate the next ``count`` sequences at once (atomic; those left unused are a gap)."""


class ServiceReportRepository(Protocol):
    def get(self, report_id: str) -> ServiceReport | None: ...
    def list_for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[ServiceReport]: ...
    def add(self, report: ServiceReport, *, pdf_key: str) -> None: ...
    def pdf_key(self, report_id: str) -> str | None: ...


class ServiceItemRepository(Protocol):
    def add(self, item: ServiceItem, *, bill_date: date) -> None: ...
    def list_due(self, bill_date: date, *, limit: int, cursor: str | None) -> Page[ServiceItem]: ...
    def register_billed(self, reference: str, invoice_id: str) -> None: ...
    def billed_invoice_ids(self, references: Iterable[str]) -> dict[str, str | None]:
        """The invoice that billed each item (None: not billed yet); items that do not exist are left out (consistent reads)."""
    def withdraw(self, reference: str) -> None:
        """Take an unbilled item off billing (it stays, neither due nor billed); the transaction fails with
        ``AlreadyBilled`` if it was billed (or withdrawn) meanwhile."""


class ContractRepository(Protocol):
    def get(self, contract_id: str) -> Contract | None: ...
    def list_for_customer(self, customer_id: str) -> list[Contract]: ...
    def list_by_kind(self, kind: "ContractKind", *, limit: int, cursor: str | None) -> Page[Contract]: ...
    def list_flat_rates_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[Contract]:
        """Rental and hosting contracts whose next month is due on or before ``run_date`` (a sparse index)."""
    def list_quota_months_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[Contract]:
        """Prepaid quota contracts whose next quota month is due on or before ``run_date`` (a sparse index)."""
    def save(self, contract: Contract) -> None: ...


class QuotaLedgerRepository(Protocol):
    def entries(self, contract_id: str) -> list[LedgerEntry]: ...
    def add(self, entry: LedgerEntry) -> None:
        """Register an entry; an entry with the same key exists already → the transaction fails."""


class MaintenanceScheduleRepository(Protocol):
    def get(self, schedule_id: str) -> MaintenanceSchedule | None: ...
    def list_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[MaintenanceSchedule]: ...
    def list_for_contract(self, contract_id: str) -> list[MaintenanceSchedule]:
        """Every schedule of a contract (a handful), through an index: read again in the transaction that changes them."""
    def save(self, schedule: MaintenanceSchedule) -> None: ...


class AssetRepository(Protocol):
    def get(self, asset_id: str) -> Asset | None: ...
    def list_for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[Asset]: ...
    def list_expiring(self, customer_id: str, until: date, *, limit: int, cursor: str | None) -> Page[Asset]: ...
    def list_interrupting_software(self, customer_id: str) -> list[Asset]:
        """Every asset of the customer marked as interrupting users (all pages; the maintenance job reads it once per customer)."""
        ...
    def save(self, asset: Asset) -> None: ...


# The outcome (infra.inbound_email.Outcome) of a mail that waits for the service desk's triage.
UNKNOWN_SENDER = "UNKNOWN_SENDER"


@dataclass(frozen=True)
class InboundEmailRecord:
    """What became of one raw inbound e-mail (keyed by its S3 key); the raw message stays in S3."""

    key: str
    outcome: str
    received_at: datetime
    message_id: str | None = None
    sender: str | None = None
    subject: str | None = None
    ticket_id: str | None = None
    detail: str | None = None
    # Recorded for UNKNOWN_SENDER mails, so the triage list needs no read of the raw message:
    sender_name: str | None = None
    preview: str | None = None
    triage: EmailTriage | None = None  # the service desk's decision about an UNKNOWN_SENDER mail
    version: int = 0  # optimistic locking; infra increments it

    @property
    def awaiting_triage(self) -> bool:
        """An unknown sender's mail nobody has made a ticket of or dismissed yet."""
        return self.outcome == UNKNOWN_SENDER and self.triage is None


class InboundEmailRepository(Protocol):
    def get(self, key: str) -> InboundEmailRecord | None: ...
    def add(self, record: InboundEmailRecord) -> None:
        """Register the record; a record for the same key exists already → the transaction fails."""
    def update(self, record: InboundEmailRecord) -> None:
        """Register the changed record; changed by someone else since it was read → the transaction fails."""
    def list_awaiting_triage(self, *, limit: int, cursor: str | None) -> Page[InboundEmailRecord]:
        """The mails awaiting triage, newest first (a sparse index: handled mails are not in it)."""


# --- invoicing (issue 4) --------------------------------------------------------------------


class InvoiceRenderer(Protocol):
    """Turns an issued invoice into its document (a PDF); infra renders it, the domain only stores and sends it.

    ``issuer`` and ``payer`` are printed as given: the invoice's own (fixed at issue) when it has them."""

    def render(self, invoice: "Invoice", *, issuer: "InvoiceParty", payer: "InvoiceParty") -> bytes: ...


class DirectDebitRunRepository(Protocol):
    """``uow.direct_debit_runs``; the invoices' side is ``uow.invoices.list_to_collect`` and ``register_collection``."""

    def get(self, run_id: str) -> "DirectDebitRun | None": ...
    def list(self, *, limit: int, cursor: str | None) -> Page["DirectDebitRun"]: ...
    def add(self, run: "DirectDebitRun") -> None: ...


class InvoiceLedger(Protocol):
    """Whoever keeps accounts of paid and credited invoices (the partner programme's commissions and cashback).

    Called while the payment or credit note is written, with its unit of work: it registers its writes there and does
    not commit, so the payment or credit note and the ledger are one transaction (``infra.bootstrap.Services.invoice_ledger``).
    """

    def register_paid(self, uow: "UnitOfWork", invoice: "Invoice", event: "InvoicePaid", *, now: datetime) -> None: ...

    def register_credit_note(
        self, uow: "UnitOfWork", credit_note: "Invoice", corrected: "Invoice", event: "InvoicePaid | None", *, now: datetime
    ) -> None: ...


from domain.direct_debits import DirectDebitRun  # noqa: E402
from domain.invoices import Invoice, InvoicePaid, InvoiceParty  # noqa: E402  (type names for the protocols above)


# --- credentials known to technicians (domain.credentials) ---------------------------------------------------------

from domain.credentials import Credential, CredentialEvent  # noqa: E402


class SecretCipher(Protocol):
    """Encrypts a secret for storage and decrypts it to reveal it (infra.secrets: AWS KMS). The ciphertext is opaque
    text; ``context`` binds it: decrypting with another context fails."""

    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str: ...
    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str: ...


class CredentialRepository(Protocol):
    def get(self, credential_id: str) -> Credential | None:
        """Read consistently, deleted ones (tombstones) too."""
    def list_for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[Credential]:
        """The customer's credentials not deleted, by label (a sparse index)."""
    def list_awaiting_decision(self, *, limit: int, cursor: str | None) -> Page[Credential]:
        """Credentials with an access request waiting for a decision, oldest request first (a sparse index)."""
    def add(self, credential: Credential) -> None: ...
    def update(self, credential: Credential) -> None:
        """Register the changed credential; changed by someone else since it was read → the transaction fails."""


class CredentialEventRepository(Protocol):
    def add(self, event: CredentialEvent) -> None: ...
    def list_for_credential(self, credential_id: str, *, limit: int, cursor: str | None) -> Page[CredentialEvent]:
        """The credential's audit trail, newest first."""
