"""The unit of work: repositories register writes, ``commit`` sends them as one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
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

    def __enter__(self) -> "DynamoUnitOfWork":
        self._pending = []
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pending = []

    def register_save(self, model: Model, *, condition: Condition | None = None, on_condition_failed: DomainError = CONFLICT) -> None:
        self._pending.append(_PendingWrite(model, condition, on_condition_failed))

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
                write.model.save(condition=write.condition)
            except PutError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise _fresh(write.on_condition_failed) from None
                raise
            return
        try:
            with TransactWrite(connection=self.connection()) as transaction:
                for write in pending:
                    transaction.save(write.model, condition=write.condition)
        except TransactWriteError as exc:
            for write, reason in zip(pending, exc.cancellation_reasons or []):
                if reason is not None and reason.code == "ConditionalCheckFailed":
                    raise _fresh(write.on_condition_failed) from None
            if exc.cause_response_code == "TransactionCanceledException":
                raise _fresh(CONFLICT) from None
            raise
