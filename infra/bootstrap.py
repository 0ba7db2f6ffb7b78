"""The composition root: wires the real adapters into what the API and the jobs need."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from domain.money import Money
from domain.ports import DocumentStore, InvoiceLedger, InvoiceRenderer, Mailer, SecretCipher
from domain.services.invoices import InvoicingSettings
from infra.auth import TokenVerifier
from infra.dynamo.models import configure
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.email import build_mailer
from infra.secrets import KmsSecretCipher
from infra.settings import Settings, get_settings
from infra.storage import S3DocumentStore


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LazyPdfInvoiceRenderer:
    """``InvoiceRenderer`` that imports the PDF code on first use: most requests never render a PDF."""

    def render(self, invoice, *, issuer, payer) -> bytes:
        from infra.pdf import PdfInvoiceRenderer

        return PdfInvoiceRenderer().render(invoice, issuer=issuer, payer=payer)


@dataclass
class Services:
    settings: Settings
    mailer: Mailer
    verifier: TokenVerifier
    documents: DocumentStore
    secrets: SecretCipher  # customers' credentials (KMS)
    clock: Callable[[], datetime] = field(default=utc_now)
    invoice_renderer: InvoiceRenderer = field(default_factory=LazyPdfInvoiceRenderer)

    @property
    def invoicing(self) -> InvoicingSettings:
        return InvoicingSettings(
            number_prefix=self.settings.invoice_number_prefix,
            online_months=self.settings.invoice_online_months,
            archive_hourly_rate=Money.of(self.settings.archive_hourly_rate),
        )

    @property
    def invoice_ledger(self) -> InvoiceLedger:
        """Who books paid and credited invoices, in their transaction: the partner programme (cashback, commission)."""
        from domain.services.commissions import PartnerProgrammeLedger
        from domain.services.partner_programme import programme_terms

        return PartnerProgrammeLedger(programme_terms(self.settings.partner_programme_terms))

    def uow(self) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self.settings)


def build_services(
    settings: Settings | None = None,
    *,
    mailer: Mailer | None = None,
    documents: DocumentStore | None = None,
    secrets: SecretCipher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Services:
    settings = settings or get_settings()
    configure(settings)
    return Services(
        settings=settings,
        mailer=mailer or build_mailer(settings),
        verifier=TokenVerifier(settings),
        documents=documents or S3DocumentStore(settings),
        secrets=secrets or KmsSecretCipher(settings),
        clock=clock or utc_now,
    )
