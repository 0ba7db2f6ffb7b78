"""DataLoaders, created once per request: each batches one key into one DynamoDB request."""

from __future__ import annotations

import asyncio
from typing import Callable, Iterable

from strawberry.dataloader import DataLoader

from domain.organisations import Organisation, User
from infra.dynamo.unit_of_work import DynamoUnitOfWork


def _batched(fetch: Callable[[list[str]], dict]) -> Callable:
    async def load(keys: list[str]) -> list:
        found = await asyncio.to_thread(fetch, list(keys))
        return [found.get(key) for key in keys]

    return load


class Loaders:
    def __init__(self, uow: DynamoUnitOfWork) -> None:
        self.organisation_by_id: DataLoader[str, Organisation | None] = DataLoader(
            load_fn=_batched(uow.organisations.get_many)
        )
        self.user_by_id: DataLoader[str, User | None] = DataLoader(load_fn=_batched(uow.users.get_many))
        self.subscription_by_id = DataLoader(load_fn=_batched(uow.subscriptions.get_many))
        # customer id -> its subscriptions (oldest first): one BatchGetItem for the ids, one for the items.
        self.subscriptions_by_customer = DataLoader(load_fn=_batched(self._subscriptions_of_customers))
        self.invoice_by_id = DataLoader(load_fn=_batched(uow.invoices.get_many))
        self.credit_notes_by_invoice = DataLoader(load_fn=_batched(uow.invoices.credit_notes_of))
        self._uow = uow
        self._catalogue: asyncio.Task | None = None

    def _subscriptions_of_customers(self, customer_ids: list[str]) -> dict:
        ids = self._uow.subscriptions.ids_for_customers(customer_ids)
        found = self._uow.subscriptions.get_many(sub_id for sub_ids in ids.values() for sub_id in sub_ids)
        return {
            customer_id: sorted((found[i] for i in sub_ids if i in found), key=lambda sub: (sub.started_at, sub.id))
            for customer_id, sub_ids in ids.items()
        }

    async def catalogue(self):
        """The catalogue, read at most once per request."""
        if self._catalogue is None:
            from domain.services.subscriptions import load_catalogue

            self._catalogue = asyncio.ensure_future(asyncio.to_thread(load_catalogue, self._uow))
        return await self._catalogue

    def prime_organisations(self, organisations: Iterable[Organisation]) -> None:
        self.organisation_by_id.prime_many({o.id: o for o in organisations})
