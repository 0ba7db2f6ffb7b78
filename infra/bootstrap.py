"""The composition root: wires the real adapters into what the API and the jobs need."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from domain.ports import DocumentStore, Mailer
from infra.auth import TokenVerifier
from infra.dynamo.models import configure
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.email import build_mailer
from infra.settings import Settings, get_settings
from infra.storage import S3DocumentStore


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    settings: Settings
    mailer: Mailer
    verifier: TokenVerifier
    documents: DocumentStore
    clock: Callable[[], datetime] = field(default=utc_now)

    def uow(self) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self.settings)


def build_services(
    settings: Settings | None = None,
    *,
    mailer: Mailer | None = None,
    documents: DocumentStore | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Services:
    settings = settings or get_settings()
    configure(settings)
    return Services(
        settings=settings,
        mailer=mailer or build_mailer(settings),
        verifier=TokenVerifier(settings),
        documents=documents or S3DocumentStore(settings),
        clock=clock or utc_now,
    )
