"""The interfaces the domain services need from the outside world.

Repositories read at once and *register* writes with their unit of work; nothing is
written until ``UnitOfWork.commit`` sends every registered write as one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Iterable, Protocol, TypeVar

from domain.errors import DomainError
from domain.organisations import Organisation, OrganisationKind, User

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

    def __enter__(self) -> "UnitOfWork": ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...


@dataclass(frozen=True)
class EmailMessage:
    to: tuple[str, ...]
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...
