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
        # (customer, seller filter, after, limit) -> a page of its subscriptions, oldest first
        self.subscription_pages = DataLoader(load_fn=_batched(self._subscription_pages))
        self.invoice_by_id = DataLoader(load_fn=_batched(uow.invoices.get_many))
        self.credit_notes_by_invoice = DataLoader(load_fn=_batched(uow.invoices.credit_notes_of))
        self._uow = uow
        self._catalogue: asyncio.Task | None = None

    def _subscription_pages(self, keys: list[tuple]) -> dict:
        """Keys (customer id, partner id or None for all, after, limit) -> (subscriptions of the page, more?).

        The references say age and seller, so each page is cut and filtered before any subscription is
        read: one BatchGetItem for the references, then one per 100 subscriptions actually shown.
        """
        from domain.errors import ValidationFailed

        refs = self._uow.subscriptions.refs_for_customers(key[0] for key in keys)
        windows: dict[tuple, object] = {}
        for key in keys:
            customer_id, partner_id, after, limit = key
            visible = [r for r in refs[customer_id] if partner_id is None or r.partner_id == partner_id]
            start = 0
            if after is not None:
                positions = [i for i, r in enumerate(visible) if r.subscription_id == after]
                if not positions:
                    windows[key] = ValidationFailed("The cursor does not belong to this list.", field="after", hint="Start again without `after`.")
                    continue
                start = positions[0] + 1
            windows[key] = (visible[start:start + limit], start + limit < len(visible))
        found = self._uow.subscriptions.get_many(
            r.subscription_id for window in windows.values() if isinstance(window, tuple) for r in window[0]
        )
        return {
            key: window if not isinstance(window, tuple)
            else ([found[r.subscription_id] for r in window[0] if r.subscription_id in found], window[1])
            for key, window in windows.items()
        }

    async def catalogue(self):
        """The catalogue, read at most once per request."""
        if self._catalogue is None:
            from domain.services.subscriptions import load_catalogue

            self._catalogue = asyncio.ensure_future(asyncio.to_thread(load_catalogue, self._uow))
        return await self._catalogue

    def prime_organisations(self, organisations: Iterable[Organisation]) -> None:
        self.organisation_by_id.prime_many({o.id: o for o in organisations})
