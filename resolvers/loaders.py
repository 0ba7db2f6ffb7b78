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
        self.invoice_by_id = DataLoader(load_fn=_batched(uow.invoices.get_many))
        self.credit_notes_by_invoice = DataLoader(load_fn=_batched(uow.invoices.credit_notes_of))
        self._uow = uow
        self._catalogue: asyncio.Task | None = None

    async def catalogue(self):
        """The catalogue, read at most once per request."""
        if self._catalogue is None:
            from domain.services.subscriptions import load_catalogue

            self._catalogue = asyncio.ensure_future(asyncio.to_thread(load_catalogue, self._uow))
        return await self._catalogue

    def prime_organisations(self, organisations: Iterable[Organisation]) -> None:
        self.organisation_by_id.prime_many({o.id: o for o in organisations})
