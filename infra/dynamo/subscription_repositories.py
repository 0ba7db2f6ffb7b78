"""Repositories of the subscriptions area: catalogue, CSP subscriptions, charges, SaaS subscriptions."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from domain.calendar import berlin_date
from domain.catalogue import Catalogue
from domain.errors import Conflict
from domain.ports import Page, SubscriptionFilter
from domain.subscriptions import (
    Charge,
    SaasStatus,
    SaasSubscription,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
    next_cycle_due,
)
from infra.codec import decode, encode
from infra.dynamo.attributes import CompactJSONAttribute, item_size
from infra.dynamo.connection import attach
from infra.dynamo.models import CatalogueModel, ChargeModel, CustomerSubscriptionsModel, SaasSubscriptionModel, SubscriptionModel
from infra.dynamo.repositories import batch_get, data_of, due_page, entity_data, from_item, get_by_id, index_page, versioned

if TYPE_CHECKING:
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

CATALOGUE_ID = "current"
SAAS_PAYMENT_SHARD = "due"


class CatalogueRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow
        self._version: int | None = None

    def get(self) -> Catalogue | None:
        try:
            item = CatalogueModel.get(CATALOGUE_ID)
        except CatalogueModel.DoesNotExist:
            return None
        self._version = item.version
        return decode(Catalogue, item.data)

    def save(self, catalogue: Catalogue) -> None:
        """Save a catalogue read through this repository (optimistic lock on that read)."""
        item = CatalogueModel(CATALOGUE_ID, data=encode(catalogue))
        if self._version:
            item.version = self._version
        self._uow.register_save(item)


def _created_key(subscription: Subscription) -> str:
    return f"{subscription.started_at.isoformat()}#{subscription.id}"


def _renewal_key(instant: datetime, subscription_id: str) -> str:
    """Sortable as text: fixed-width UTC with microseconds, then the id."""
    return f"{instant.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}#{subscription_id}"


def _subscription_filter(model, flt: SubscriptionFilter):
    condition = None

    def both(c):
        return c if condition is None else condition & c

    if flt.status is not None:
        condition = both(model.status == flt.status.value)
    if flt.product_id is not None:
        condition = both(model.product_id == flt.product_id)
    if flt.renewal_from is not None:
        condition = both(model.renewal_date >= flt.renewal_from.isoformat())
    if flt.renewal_to is not None:
        condition = both(model.renewal_date <= flt.renewal_to.isoformat())
    return condition


@dataclass(frozen=True, order=True)
class SubscriptionRef:
    """What a customer's list needs to page and filter its subscriptions before reading them."""

    started_at: str  # ISO, UTC: sorts by age
    partner_id: str
    subscription_id: str

    def encode(self) -> str:
        return f"{self.started_at}#{self.partner_id}#{self.subscription_id}"

    @classmethod
    def decode(cls, text: str) -> "SubscriptionRef":
        started_at, partner_id, subscription_id = text.rsplit("#", 2)
        return cls(started_at, partner_id, subscription_id)


def _due_page(index, key_attribute, date_attribute: str, day: date, until: datetime, limit: int, cursor: str | None) -> Page[Subscription]:
    """One page of a sparse due-date index: the day's partition, keys up to the instant ``until``."""
    return index_page(
        index, date_attribute, day.isoformat(), key_attribute <= _renewal_key(until, "~"), cls=Subscription, limit=limit, cursor=cursor
    )


# A subscription is one item, its history inside, and DynamoDB refuses items above 400 KB (409,600 bytes): one seat
# added and removed a day for 2.5 years made 1,797 events (444 KB) and every later change of it failed; a reseller SaaS
# subscription whose users changed twice a day failed the same way after 2,041 events (405 KB, under three years). So
# once the item grows past SUBSCRIPTION_ITEM_BUDGET, the oldest events move, in the transaction that saves it, to
# history pages of their own (each at most HISTORY_PAGE_BUDGET) until it is back to SUBSCRIPTION_ITEM_TARGET; the gap
# between the two means a page is written only every ~64 KB of new history (some 250 seat changes). Pages are never
# rewritten. The rest of the item is small by construction (a CSP subscription has few seat lots:
# ``MAX_OPEN_SEAT_LOTS``, ~25 KB at most; a SaaS subscription no list but its history), so no sequence of changes can
# outgrow the limit, and reading a subscription stays cheap (at most 96 KB, 24 read units). ``HistoryPaging`` does it
# for both kinds, each in its own table.
SUBSCRIPTION_ITEM_BUDGET = 96_000
SUBSCRIPTION_ITEM_TARGET = 32_000
HISTORY_PAGE_BUDGET = 128_000


class SubscriptionHistoryPageModel(Model):
    """Older events of one subscription, oldest first: an item of the subscriptions table whose id is
    "<subscription id>#history#<page number, 6 digits>" and which has no index attributes, so no index lists it. Read by
    id (BatchGetItem of a subscription's ``history_pages`` pages) only when its full history is asked for."""

    class Meta:
        table_name = "subscriptions"

    id = UnicodeAttribute(hash_key=True)
    data = CompactJSONAttribute()  # the encoded events


class SaasSubscriptionHistoryPageModel(Model):
    """The same for a reseller SaaS subscription, in the saas_subscriptions table: no ``partner_id``, ``kind`` or
    ``payment_shard``, so neither the partner's nor the distributor's list nor the billing job's index lists it."""

    class Meta:
        table_name = "saas_subscriptions"

    id = UnicodeAttribute(hash_key=True)
    data = CompactJSONAttribute()  # the encoded events


def _json_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


HistoryKey = tuple[str, int]  # (subscription id, its ``history_pages``)


@dataclass(frozen=True)
class HistoryPaging:
    """Keeps an aggregate with a ``history`` of events and a ``history_pages`` count within its item budget (see above):
    the pages live in the table of ``owner`` (the aggregate's model), as items of ``page``."""

    owner: type[Model]
    page: type[Model]

    def model(self) -> type[Model]:
        """The page model on the owner's table wherever ``models.configure`` pointed that table."""
        model, table = self.page, self.owner.Meta
        where = (table.table_name, getattr(table, "region", None), getattr(table, "host", None))
        if (model.Meta.table_name, getattr(model.Meta, "region", None), getattr(model.Meta, "host", None)) != where:
            model.Meta.table_name, model.Meta.region, model.Meta.host = where
            attach(model)
        return model

    @staticmethod
    def page_id(owner_id: str, number: int) -> str:
        return f"{owner_id}#history#{number:06d}"

    def read(self, keys: Iterable[HistoryKey]) -> dict[HistoryKey, list[SubscriptionEvent]]:
        """The events of the first ``history_pages`` pages of each key's subscription, oldest first: the pages of all
        keys in one BatchGetItem per 100 pages (none for keys without pages)."""
        keys = list(dict.fromkeys(keys))
        ids = list(dict.fromkeys(self.page_id(owner_id, n) for owner_id, count in keys for n in range(count)))
        found = {item.id: item.data for item in self.model().batch_get(ids)} if ids else {}
        return {
            (owner_id, count): [
                decode(SubscriptionEvent, event) for n in range(count) for event in found.get(self.page_id(owner_id, n), [])
            ]
            for owner_id, count in keys
        }

    def register(self, uow: "DynamoUnitOfWork", entity, item_of: Callable[[object], Model]) -> None:
        """Register the save of ``entity`` (its item built by ``item_of``) and of the history pages it needs. A page
        written meanwhile by another save of the same version: that save wins (this one fails with CONFLICT)."""
        item, pages = self.within_budget(entity, item_of)
        uow.register_save(item)
        for page in pages:
            uow.register_save(page, condition=self.page.id.does_not_exist())

    def within_budget(self, entity, item_of: Callable[[object], Model]) -> tuple[Model, list[Model]]:
        """The entity's item and, if it grew past the budget, the history pages its oldest events move to. The
        entity itself is left as it is (its history complete in memory, its page count as read)."""
        item = item_of(entity)
        size = item_size(item)
        if size <= SUBSCRIPTION_ITEM_BUDGET or not entity.history:
            return item, []
        events = [encode(event) for event in entity.history]
        moving, freed = 0, 0
        while moving < len(events) and size - freed > SUBSCRIPTION_ITEM_TARGET:
            freed += _json_size(events[moving]) + 2
            moving += 1
        model, pages, page, page_size = self.model(), [], [], 2
        for event in events[:moving]:
            event_size = _json_size(event) + 1
            if page and page_size + event_size > HISTORY_PAGE_BUDGET:
                pages.append(page)
                page, page_size = [], 2
            page.append(event)
            page_size += event_size
        pages.append(page)
        first = entity.history_pages
        trimmed = dataclasses.replace(entity, history=entity.history[moving:], history_pages=first + len(pages))
        return item_of(trimmed), [model(self.page_id(entity.id, first + n), data=p) for n, p in enumerate(pages)]


CSP_HISTORY = HistoryPaging(SubscriptionModel, SubscriptionHistoryPageModel)
SAAS_HISTORY = HistoryPaging(SaasSubscriptionModel, SaasSubscriptionHistoryPageModel)


class SubscriptionRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def history_pages(self, subscription: Subscription) -> list[SubscriptionEvent]:
        """The events moved out of the subscription's ``history``, oldest first: one BatchGetItem per 100 pages."""
        key = (subscription.id, subscription.history_pages)
        return CSP_HISTORY.read([key])[key]

    def history_pages_of(self, keys: Iterable[HistoryKey]) -> dict[HistoryKey, list[SubscriptionEvent]]:
        """``history_pages`` of many subscriptions, by (id, ``history_pages``): one BatchGetItem per 100 pages of all."""
        return CSP_HISTORY.read(keys)

    def get(self, subscription_id: str) -> Subscription | None:
        return get_by_id(SubscriptionModel, Subscription, subscription_id)

    def get_many(self, subscription_ids: Iterable[str]) -> dict[str, Subscription]:
        return batch_get(SubscriptionModel, Subscription, subscription_ids)

    def _list(self, index, attribute: str, value: str, flt: SubscriptionFilter, limit: int, cursor: str | None) -> Page[Subscription]:
        if not value:  # DynamoDB refuses an empty key value; no subscription has one
            return Page([], None)
        return index_page(
            index, attribute, value, filter_condition=_subscription_filter(SubscriptionModel, flt),
            cls=Subscription, limit=limit, cursor=cursor,
        )

    def list_for_customer(self, customer_id: str, flt: SubscriptionFilter, *, limit: int, cursor: str | None) -> Page[Subscription]:
        return self._list(SubscriptionModel.customer_index, "customer_id", customer_id, flt, limit, cursor)

    def list_for_partner(self, partner_id: str, flt: SubscriptionFilter, *, limit: int, cursor: str | None) -> Page[Subscription]:
        return self._list(SubscriptionModel.partner_index, "partner_id", partner_id, flt, limit, cursor)

    def list_due_for_renewal(self, renewal_date: date, until: datetime, *, limit: int, cursor: str | None) -> Page[Subscription]:
        """Subscriptions whose term ends on ``renewal_date`` (Berlin) at or before ``until``: only due items are read."""
        return _due_page(SubscriptionModel.renewal_index, SubscriptionModel.renewal_key, "renewal_date", renewal_date, until, limit, cursor)

    def list_partner_renewals(self, partner_id: str, start: datetime, end: datetime, *, limit: int, cursor: str | None) -> Page[Subscription]:
        if not partner_id:
            return Page([], None)
        return index_page(
            SubscriptionModel.partner_renewal_index, "partner_id", partner_id,
            SubscriptionModel.renewal_key.between(_renewal_key(start, ""), _renewal_key(end, "~")),
            cls=Subscription, limit=limit, cursor=cursor,
        )

    def list_due_cycles(self, cycle_date: date, until: datetime, *, limit: int, cursor: str | None) -> Page[Subscription]:
        """Subscriptions whose next billing cycle starts on ``cycle_date`` (Berlin) at or before ``until``."""
        return _due_page(SubscriptionModel.cycle_index, SubscriptionModel.cycle_key, "cycle_date", cycle_date, until, limit, cursor)

    def list_renewals_on(self, renewal_date: date, *, limit: int, cursor: str | None) -> Page[Subscription]:
        return index_page(
            SubscriptionModel.renewal_index, "renewal_date", renewal_date.isoformat(), cls=Subscription, limit=limit, cursor=cursor
        )

    def _register(self, subscription: Subscription) -> None:
        CSP_HISTORY.register(self._uow, subscription, self._item)

    def _item(self, subscription: Subscription) -> SubscriptionModel:
        renews = subscription.status is SubscriptionStatus.ACTIVE
        term_end = subscription.term_ends_at
        cycle = next_cycle_due(subscription)
        created_key = _created_key(subscription)
        return SubscriptionModel(
            subscription.id,
            customer_id=subscription.customer_id,
            partner_id=subscription.partner_id,
            product_id=subscription.product_id,
            status=subscription.status.value,
            created_key=created_key,
            customer_key=f"{subscription.customer_id}#{created_key}",
            # Active subscriptions are due at term end, to renew or (auto-renew off) to expire.
            renewal_date=berlin_date(term_end).isoformat() if renews else None,
            renewal_key=_renewal_key(term_end, subscription.id) if renews else None,
            # Monthly billing inside an annual term: due when the next cycle starts.
            cycle_date=berlin_date(cycle.starts_at).isoformat() if cycle else None,
            cycle_key=_renewal_key(cycle.starts_at, subscription.id) if cycle else None,
            data=entity_data(subscription),
            **versioned(subscription),
        )

    def add(self, subscription: Subscription) -> None:
        self._register(dataclasses.replace(subscription, version=0))
        ref = SubscriptionRef(subscription.started_at.isoformat(), subscription.partner_id, subscription.id)
        self._uow.register_update(
            CustomerSubscriptionsModel(subscription.customer_id),
            [CustomerSubscriptionsModel.subscription_refs.add({ref.encode()})],
        )

    def refs_for_customers(self, customer_ids: Iterable[str]) -> dict[str, list[SubscriptionRef]]:
        """Each customer's subscription references, oldest first: one BatchGetItem per 100 customers."""
        unique_ids = list(dict.fromkeys(customer_ids))
        items = CustomerSubscriptionsModel.batch_get(unique_ids) if unique_ids else []
        found = {item.customer_id: sorted(SubscriptionRef.decode(r) for r in item.subscription_refs or ()) for item in items}
        return {customer_id: found.get(customer_id, []) for customer_id in unique_ids}

    def sold_to_customers_between(self, partner_id: str, first_customer_id: str, last_customer_id: str) -> dict[str, list[Subscription]]:
        """What the partner sells to the customers whose ids lie between the two (inclusive), by customer, oldest
        first: one Query per MB of subscriptions, however many customers the range holds."""
        result = SubscriptionModel.partner_customer_index.query(
            partner_id, SubscriptionModel.customer_key.between(f"{first_customer_id}#", f"{last_customer_id}#\uffff"),
        )
        sold: dict[str, list[Subscription]] = {}
        for item in result:
            sold.setdefault(item.customer_id, []).append(from_item(Subscription, item))
        return sold

    def update(self, subscription: Subscription) -> None:
        self._register(subscription)


class ChargeRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def add(self, charge: Charge, *, bill_date: date | None = None) -> None:
        """A charge is booked once: its id is deterministic, so a second booking fails the transaction. It is billed by
        the run of ``bill_date`` (default: its first day) or, if missed, by one of the next days (``CATCH_UP_DAYS``)."""
        bill_date = bill_date or charge.period_start
        self._uow.register_save(
            ChargeModel(charge.charge_id, subscription_id=charge.subscription_id, bill_date=bill_date.isoformat(), data=encode(charge)),
            condition=ChargeModel.id.does_not_exist(),
            on_condition_failed=Conflict(f"Charge {charge.charge_id} was booked already."),
        )

    def list_for_subscription(self, subscription_id: str, *, limit: int = 100, cursor: str | None = None) -> Page[Charge]:
        return index_page(
            ChargeModel.subscription_index, "subscription_id", subscription_id, read=data_of(Charge), limit=limit, cursor=cursor
        )


class SaasSubscriptionRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, subscription_id: str) -> SaasSubscription | None:
        return get_by_id(SaasSubscriptionModel, SaasSubscription, subscription_id)

    def list_for_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[SaasSubscription]:
        return index_page(SaasSubscriptionModel.partner_index, "partner_id", partner_id, cls=SaasSubscription, limit=limit, cursor=cursor)

    def list_all(self, *, limit: int, cursor: str | None) -> Page[SaasSubscription]:
        return index_page(SaasSubscriptionModel.kind_index, "kind", "SAAS", cls=SaasSubscription, limit=limit, cursor=cursor)

    def list_payments_due(self, run_date: date, *, limit: int, cursor: str | None) -> Page[SaasSubscription]:
        """Active subscriptions whose next payment date is on or before ``run_date``: only due ones are read."""
        return due_page(SaasSubscriptionModel.payment_index, SAAS_PAYMENT_SHARD, "payment_shard", SaasSubscriptionModel.payment_due_key,
                        run_date, SaasSubscription, limit=limit, cursor=cursor)

    def history_pages(self, subscription: SaasSubscription) -> list[SubscriptionEvent]:
        """The events moved out of the subscription's ``history``, oldest first: one BatchGetItem per 100 pages."""
        key = (subscription.id, subscription.history_pages)
        return SAAS_HISTORY.read([key])[key]

    def save(self, subscription: SaasSubscription) -> None:
        SAAS_HISTORY.register(self._uow, subscription, self._item)

    @staticmethod
    def _item(subscription: SaasSubscription) -> SaasSubscriptionModel:
        active = subscription.status is SaasStatus.ACTIVE
        return SaasSubscriptionModel(
            subscription.id, partner_id=subscription.partner_id,
            payment_shard=SAAS_PAYMENT_SHARD if active else None,
            payment_due_key=f"{subscription.next_payment_date.isoformat()}#{subscription.id}" if active else None,
            data=entity_data(subscription), **versioned(subscription),
        )
