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
        # (subscription id, its history_pages) -> the events moved to those pages, oldest first: the history pages of
        # every subscription of a list in one BatchGetItem (per 100 pages)
        self.history_pages = DataLoader(load_fn=_batched(uow.subscriptions.history_pages_of))
        self.invoice_by_id = DataLoader(load_fn=_batched(uow.invoices.get_many))
        self.credit_notes_by_invoice = DataLoader(load_fn=_batched(uow.invoices.credit_notes_of))
        self.ticket_by_id = DataLoader(load_fn=_batched(uow.tickets.get_many))
        self.programme_partner_by_id = DataLoader(load_fn=_batched(uow.programme_partners.get_many))
        self._uow = uow
        self._catalogue: asyncio.Task | None = None
        self._customer_pages: list[tuple[str, frozenset[str]]] = []  # (partner id, a page of its own customer list)

    def note_customer_page(self, partner_id: str, customer_ids: list[str]) -> None:
        """A page of the partner's own customer list: contiguous in customer id order (partner_customers), so the
        subscriptions it sells them are one range of partner-customer-index."""
        if customer_ids:
            self._customer_pages.append((partner_id, frozenset(customer_ids)))

    def _subscription_pages(self, keys: list[tuple]) -> dict:
        """Keys (customer id, partner id or None for all, after, limit) -> (subscriptions of the page, more?).

        Customers of a page of a partner's own customer list (`note_customer_page`), seen by that partner: one Query
        for all their subscriptions it sells (one per MB). Any other: the references say age and seller, so each
        page is cut and filtered before any subscription is read: one BatchGetItem for the references, then one per
        100 subscriptions actually shown.
        """
        pages: dict[int, list[tuple]] = {}  # keys by the noted page their customer is on (seen by that partner)
        for key in keys:
            page = next((i for i, (partner_id, ids) in enumerate(self._customer_pages) if key[1] == partner_id and key[0] in ids), None)
            if page is not None:
                pages.setdefault(page, []).append(key)
        windows: dict[tuple, object] = {}
        for page, page_keys in pages.items():
            customer_ids = sorted(key[0] for key in page_keys)
            sold = self._uow.subscriptions.sold_to_customers_between(self._customer_pages[page][0], customer_ids[0], customer_ids[-1])
            for key in page_keys:
                windows[key] = _window(sold.get(key[0], []), lambda subscription: subscription.id, key[2], key[3])
        by_refs = [key for key in keys if key not in windows]
        refs = self._uow.subscriptions.refs_for_customers(key[0] for key in by_refs) if by_refs else {}
        ref_windows = {
            key: _window([r for r in refs[key[0]] if key[1] is None or r.partner_id == key[1]], lambda ref: ref.subscription_id, key[2], key[3])
            for key in by_refs
        }
        found = self._uow.subscriptions.get_many(
            r.subscription_id for window in ref_windows.values() if isinstance(window, tuple) for r in window[0]
        )
        windows.update({
            key: window if not isinstance(window, tuple)
            else ([found[r.subscription_id] for r in window[0] if r.subscription_id in found], window[1])
            for key, window in ref_windows.items()
        })
        return windows

    async def catalogue(self):
        """The catalogue, read at most once per request."""
        if self._catalogue is None:
            from domain.services.subscriptions import load_catalogue

            self._catalogue = asyncio.ensure_future(asyncio.to_thread(load_catalogue, self._uow))
        return await self._catalogue

    def prime_organisations(self, organisations: Iterable[Organisation]) -> None:
        self.organisation_by_id.prime_many({o.id: o for o in organisations})


def _window(items: list, id_of: Callable, after: str | None, limit: int):
    """The `limit` items after the one with id `after` (from the start without), and whether more follow; a typed
    error if `after` is not in the list."""
    from domain.errors import ValidationFailed

    start = 0
    if after is not None:
        positions = [i for i, item in enumerate(items) if id_of(item) == after]
        if not positions:
            return ValidationFailed("The cursor does not belong to this list.", field="after", hint="Start again without `after`.")
        start = positions[0] + 1
    return items[start:start + limit], start + limit < len(items)
