"""The unit of work: repositories register writes, ``commit`` sends them as one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from domain.errors import ConcurrentUpdate, DomainError
from infra.dynamo.connection import connection as shared_connection
from infra.settings import Settings, get_settings

log = logging.getLogger(__name__)

CONFLICT = ConcurrentUpdate(
    "The object was changed by someone else in the meantime.",
    hint="Load it again and repeat the change.",
)


def _fresh(error: DomainError) -> DomainError:
    """The error instances above are shared: each raise would extend one traceback that is never freed."""
    return error.with_traceback(None)


@dataclass
class _PendingWrite:
    model: Model
    condition: Condition | None
    on_condition_failed: DomainError
    actions: list[Action] | None = None  # an UpdateItem with these actions instead of a PutItem

    def single(self) -> None:
        if self.actions is None:
            self.model.save(condition=self.condition)
        else:
            self.model.update(self.actions, condition=self.condition, add_version_condition=False)

    def add_to(self, transaction: TransactWrite) -> None:
        if self.actions is None:
            transaction.save(self.model, condition=self.condition)
        else:
            transaction.update(self.model, self.actions, condition=self.condition, add_version_condition=False)


class DynamoUnitOfWork:
    def __init__(self, settings: Settings | None = None) -> None:
        from infra.dynamo import repositories, subscription_repositories  # local: they import this module

        self.settings = settings or get_settings()
        self._pending: list[_PendingWrite] = []
        self.organisations = repositories.OrganisationRepository(self)
        self.users = repositories.UserRepository(self)
        self.idempotency = repositories.IdempotencyRepository(self)
        self.uniques = repositories.UniqueClaims(self)
        self.catalogue = subscription_repositories.CatalogueRepository(self)
        self.subscriptions = subscription_repositories.SubscriptionRepository(self)
        self.charges = subscription_repositories.ChargeRepository(self)
        self.saas_subscriptions = subscription_repositories.SaasSubscriptionRepository(self)
        from infra.dynamo import invoice_repositories, partner_repositories

        self.invoices = invoice_repositories.InvoiceRepository(self)
        self.invoice_numbers = invoice_repositories.InvoiceNumberCounter(self)
        self.service_items = invoice_repositories.ServiceItemRepository(self)  # written by the service desk, billed here
        self.cashbacks = invoice_repositories.CashbackRepository(self)
        self.unbilled_charges = invoice_repositories.UnbilledCharges(self)
        self.direct_debit_runs = invoice_repositories.DirectDebitRunRepository(self)
        self.partner_applications = partner_repositories.PartnerApplicationRepository(self)
        self.programme_partners = partner_repositories.ProgrammePartnerRepository(self)
        self.referrals = partner_repositories.ReferralRepository(self)
        self.commissions = partner_repositories.CommissionRepository(self)
        self.payouts = partner_repositories.PayoutRepository(self)
        self._add_service_desk_repositories()

    def _add_service_desk_repositories(self) -> None:
        from infra.dynamo import ticket_repositories as sd

        self.tickets = sd.TicketRepository(self)
        self.ticket_numbers = sd.TicketNumbers(self)
        self.inbound_emails = sd.InboundEmailRepository(self)
        self.service_reports = sd.ServiceReportRepository(self)
        self.contracts = sd.ContractRepository(self)
        self.quota_ledger = sd.QuotaLedgerRepository(self)
        self.maintenance_schedules = sd.MaintenanceScheduleRepository(self)
        self.assets = sd.AssetRepository(self)
        from infra.dynamo import credential_repositories as credentials

        self.credentials = credentials.CredentialRepository(self)
        self.credential_events = credentials.CredentialEventRepository(self)

    def __enter__(self) -> "DynamoUnitOfWork":
        self._pending = []
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pending = []

    def register_save(self, model: Model, *, condition: Condition | None = None, on_condition_failed: DomainError = CONFLICT) -> None:
        self._pending.append(_PendingWrite(model, condition, on_condition_failed))

    def register_update(
        self, model: Model, actions: list[Action], *, condition: Condition | None = None, on_condition_failed: DomainError = CONFLICT,
    ) -> None:
        """An UpdateItem of some attributes (e.g. ADD to a set) in the same transaction; ``condition`` guards it
        (no version check; a versioned model's version is incremented)."""
        self._pending.append(_PendingWrite(model, condition, on_condition_failed, actions))

    def connection(self) -> Connection:
        return shared_connection(self.settings.region, self.settings.dynamodb_endpoint)

    def commit(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if len(pending) == 1:
            # One item needs no transaction: a conditional PutItem is atomic and half the price.
            write = pending[0]
            try:
                write.single()
            except (PutError, UpdateError) as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise _fresh(write.on_condition_failed) from None
                raise
            return
        # PynamoDB sends a transaction's puts before its updates, and DynamoDB gives the cancellation reasons in the
        # order sent: keep that order here, so each reason finds the write (and the error) it belongs to.
        pending = [w for w in pending if w.actions is None] + [w for w in pending if w.actions is not None]
        try:
            with TransactWrite(connection=self.connection()) as transaction:
                for write in pending:
                    write.add_to(transaction)
        except TransactWriteError as exc:
            for write, reason in zip(pending, exc.cancellation_reasons or []):
                if reason is not None and reason.code == "ConditionalCheckFailed":
                    raise _fresh(write.on_condition_failed) from None
            if exc.cause_response_code == "TransactionCanceledException":
                raise _fresh(CONFLICT) from None
            raise
