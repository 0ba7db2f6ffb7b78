"""Shared set-up of the billing tests: demo organisations, subscriptions ordered through the services, a run helper."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from pypdf import PdfReader

from domain.billing import ServiceItem
from domain.catalogue import M365_BUSINESS_STANDARD, Billing, Term
from domain.money import Money
from domain.policy import Principal
from domain.services import billing
from domain.services import subscriptions as subs
from infra.dynamo.unit_of_work import DynamoUnitOfWork
from infra.email import MemoryMailer
from infra.pdf import PdfInvoiceRenderer
from infra.settings import get_settings
from infra.storage import S3DocumentStore


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@dataclass
class World:
    data: object
    mailer: MemoryMailer
    documents: S3DocumentStore

    @property
    def ops(self) -> Principal:
        return Principal.of(self.data.users["distributor"])

    @property
    def sales(self) -> Principal:
        return Principal.of(self.data.users["nordit_sales"])

    def customer(self, key: str) -> str:
        return self.data.customers[key].id

    def partner(self, key: str) -> str:
        return self.data.partners[key].id

    def make_csp_ready(self, key: str) -> None:
        customer_id = self.customer(key)
        subs.create_tenant(DynamoUnitOfWork(), self.sales, customer_id=customer_id, prefix=f"{key}{customer_id[-6:]}")
        subs.accept_customer_agreement(
            DynamoUnitOfWork(), self.sales, customer_id=customer_id, name="Chef", email=f"chef@{key}.example", now=utc("2024-01-02T09:00:00")
        )

    def order(self, key: str, at: str, *, quantity: int = 10, billing_: Billing = Billing.ANNUAL) -> str:
        order = subs.SubscriptionOrder(self.customer(key), M365_BUSINESS_STANDARD, Term.P1Y, billing_, quantity)
        return subs.order_subscription(DynamoUnitOfWork(), self.sales, order, now=utc(at)).new_subscription.id

    def add_service_item(self, key: str, reference: str, amount: str, bill_date: date, *, partner: str | None = None) -> None:
        uow = DynamoUnitOfWork()
        with uow:
            uow.service_items.add(
                ServiceItem(self.customer(key), f"Servicebericht {reference}", Decimal("1"), Money.of(amount), reference,
                            partner_id=self.partner(partner) if partner else None),
                bill_date=bill_date,
            )
            uow.commit()

    def run(self, run_date: date, now: datetime, **kwargs):
        return billing.run_billing(
            DynamoUnitOfWork, run_date=run_date, now=now, documents=self.documents, mailer=self.mailer,
            renderer=PdfInvoiceRenderer(), prefix="PH", **kwargs,
        )

    def invoices_of(self, organisation_key: str):
        org = self.data.customers.get(organisation_key) or self.data.partners[organisation_key]
        page = DynamoUnitOfWork().invoices.list_for_payer(org.id, issued_from=None, issued_to=None, status=None, limit=100, cursor=None)
        return sorted(page.items, key=lambda i: i.number)


def build_world(seed_at: str = "2024-01-01T09:00:00") -> World:
    from infra.demo import seed

    data = seed(DynamoUnitOfWork(), utc(seed_at))
    return World(data=data, mailer=MemoryMailer(), documents=S3DocumentStore(get_settings()))
