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

from domain.errors import Conflict, DomainError
from infra.dynamo.connection import connection as shared_connection
from infra.settings import Settings, get_settings

log = logging.getLogger(__name__)

CONFLICT = Conflict(
    "The object was changed by someone else in the meantime.",
    hint="Load it again and repeat the change.",
)


@dataclass
class _PendingWrite:
    model: Model
    condition: Condition | None
    on_condition_failed: DomainError
    actions: list[Action] | None = None  # an UpdateItem instead of a PutItem


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
        from infra.dynamo import invoice_repositories

        self.invoices = invoice_repositories.InvoiceRepository(self)
        self.invoice_numbers = invoice_repositories.InvoiceNumberCounter(self)
        self.service_items = invoice_repositories.ServiceItemRepository(self)
        self.cashbacks = invoice_repositories.CashbackRepository(self)
        self.unbilled_charges = invoice_repositories.UnbilledCharges(self)

    def __enter__(self) -> "DynamoUnitOfWork":
        self._pending = []
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pending = []

    def register_save(self, model: Model, *, condition: Condition | None = None, on_condition_failed: DomainError = CONFLICT) -> None:
        self._pending.append(_PendingWrite(model, condition, on_condition_failed))

    def register_update(
        self, model: Model, actions: list[Action], *, condition: Condition | None = None, on_condition_failed: DomainError = CONFLICT
    ) -> None:
        """An UpdateItem of some attributes (no version check: ``condition`` guards it; a version is incremented)."""
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
                if write.actions is not None:
                    write.model.update(write.actions, condition=write.condition, add_version_condition=False)
                else:
                    write.model.save(condition=write.condition)
            except (PutError, UpdateError) as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise write.on_condition_failed from None
                raise
            return
        try:
            with TransactWrite(connection=self.connection()) as transaction:
                for write in pending:
                    if write.actions is not None:
                        transaction.update(write.model, write.actions, condition=write.condition, add_version_condition=False)
                    else:
                        transaction.save(write.model, condition=write.condition)
        except TransactWriteError as exc:
            for write, reason in zip(pending, exc.cancellation_reasons or []):
                if reason is not None and reason.code == "ConditionalCheckFailed":
                    raise write.on_condition_failed from None
            if exc.cause_response_code == "TransactionCanceledException":
                raise CONFLICT from None
            raise
