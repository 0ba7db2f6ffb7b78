"""DynamoDB repositories implementing the domain's ports."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from pynamodb.models import Model

from domain.errors import DomainError
from domain.organisations import Organisation, OrganisationKind, User
from domain.ports import ClaimTally, IdempotencyRecord, Page
from domain.services.idempotency import IdempotencyRace
from infra.codec import decode, encode
from infra.dynamo.models import (
    IdempotencyModel,
    OrganisationModel,
    PartnerCustomerModel,
    UniqueClaimModel,
    UserModel,
)
from infra.dynamo.pagination import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

E = TypeVar("E")

IDEMPOTENCY_RETENTION = timedelta(hours=24)


def entity_data(entity: Any) -> dict[str, Any]:
    data = encode(entity)
    data.pop("version", None)
    return data


def versioned(entity: Any) -> dict[str, int]:
    """The version to check on save; a new entity (version 0) must not exist yet."""
    return {"version": entity.version} if entity.version else {}


def from_item(cls: type[E], item: Model) -> E:
    return dataclasses.replace(decode(cls, item.data), version=item.version or 0)


def get_by_id(model: type[Model], cls: type[E], item_id: str, *, consistent_read: bool = False) -> E | None:
    """GetItem by id. DynamoDB refuses an empty key value; an empty id, like an unknown one, finds nothing."""
    if not item_id:
        return None
    try:
        return from_item(cls, model.get(item_id, consistent_read=consistent_read))
    except model.DoesNotExist:
        return None


def batch_get(model: type[Model], cls: type[E], ids: Iterable[str]) -> dict[str, E]:
    unique_ids = [item_id for item_id in dict.fromkeys(ids) if item_id]
    if not unique_ids:
        return {}
    return {item.id: from_item(cls, item) for item in model.batch_get(unique_ids)}


def data_of(cls: type[E]) -> Callable[[Any], E]:
    """Read an item as ``cls`` from its data alone (``index_page``'s ``read``): for entities without a version."""
    return lambda item: decode(cls, item.data)


def index_page(
    index: Any, partition_attribute: str, partition_value: str, range_condition: Any = None, *,
    limit: int, cursor: str | None, cls: type[E] | None = None, read: Callable[[Any], Any] | None = None,
    filter_condition: Any = None, newest_first: bool = False,
) -> Page:
    """One page of the partition ``partition_value`` of ``index`` (a model's index, or a model for its table's key):
    at most ``limit`` items, read ``limit`` at a time (DynamoDB's Limit), with ``range_condition`` on the sort key and
    ``filter_condition`` after it if given, in the sort key's order or, ``newest_first``, the reverse.

    ``cursor`` goes on where a page of this partition ended; a cursor of another partition (whose key's
    ``partition_attribute`` is not ``partition_value``), or a text that is no cursor, is refused with ``ValidationFailed``.
    Each item becomes ``read(item)`` if given, else a ``cls`` with its version (``from_item``), else stays a model item."""
    result = index.query(
        partition_value,
        range_condition,
        filter_condition=filter_condition,
        scan_index_forward=False if newest_first else None,  # None: DynamoDB's default (ascending), not sent
        limit=limit,
        page_size=limit,
        last_evaluated_key=decode_cursor(cursor, partition=(partition_attribute, partition_value)),
    )
    if read is None:
        read = (lambda item: from_item(cls, item)) if cls else (lambda item: item)
    items = [read(item) for item in result]
    return Page(items, encode_cursor(result.last_evaluated_key))


def due_page(index: Any, queue: str, queue_attribute: str, key: Any, until: Any, cls: type[E], *, limit: int, cursor: str | None) -> Page:
    """A page of a job's sparse due index: the items of partition ``queue`` whose ``key`` ("<date>#<id>") is on or before
    ``until`` (a date), oldest first. Only due items are read."""
    return index_page(index, queue_attribute, queue, key <= f"{until.isoformat()}#~", cls=cls, limit=limit, cursor=cursor)


class OrganisationRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, organisation_id: str) -> Organisation | None:
        return get_by_id(OrganisationModel, Organisation, organisation_id)

    def get_many(self, organisation_ids: Iterable[str]) -> dict[str, Organisation]:
        return batch_get(OrganisationModel, Organisation, organisation_ids)

    def list_by_kind(self, kind: OrganisationKind, *, limit: int, cursor: str | None) -> Page[Organisation]:
        return index_page(OrganisationModel.kind_index, "kind", kind.value, cls=Organisation, limit=limit, cursor=cursor)

    def list_customers_of_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Organisation]:
        links = index_page(PartnerCustomerModel, "partner_id", partner_id, limit=limit, cursor=cursor)  # the table's own key
        customers = self.get_many(link.customer_id for link in links.items)
        return Page([customers[link.customer_id] for link in links.items if link.customer_id in customers], links.next_cursor)

    def _register(self, organisation: Organisation) -> None:
        item = OrganisationModel(
            organisation.id,
            kind=organisation.kind.value,
            sort_name=organisation.sort_name,
            data=entity_data(organisation),
            **versioned(organisation),
        )
        self._uow.register_save(item)
        for partner_id in organisation.linked_partner_ids:
            # Index items are idempotent puts, so writing all of them on every save is safe.
            self._uow.register_save(PartnerCustomerModel(partner_id, organisation.id))

    def add(self, organisation: Organisation) -> None:
        self._register(dataclasses.replace(organisation, version=0))

    def update(self, organisation: Organisation) -> None:
        self._register(organisation)


class UserRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, user_id: str) -> User | None:
        return get_by_id(UserModel, User, user_id)

    def get_many(self, user_ids: Iterable[str]) -> dict[str, User]:
        return batch_get(UserModel, User, user_ids)

    def list_by_organisation(self, organisation_id: str, *, limit: int, cursor: str | None) -> Page[User]:
        return index_page(UserModel.organisation_index, "organisation_id", organisation_id, cls=User, limit=limit, cursor=cursor)

    def add(self, user: User) -> None:
        self._uow.register_save(
            UserModel(user.id, organisation_id=user.organisation_id, email=user.email, data=entity_data(user))
        )

    def update(self, user: User, *, unchanged: Iterable[User] = ()) -> None:
        """Save ``user`` over the version read (ConcurrentUpdate when it changed meanwhile). ``unchanged``: users the change
        rests on (the organisation's remaining administrator); the transaction fails the same way when one of them changed
        meanwhile (checked by version, which the check increments: a concurrent change resting on this user fails too)."""
        self._uow.register_save(
            UserModel(user.id, organisation_id=user.organisation_id, email=user.email, data=entity_data(user), **versioned(user))
        )
        self.require_unchanged(unchanged)

    def require_unchanged(self, users: Iterable[User]) -> None:
        """The transaction fails (ConcurrentUpdate) if one of ``users`` changed since it was read; the check increments
        its version, so a concurrent change resting on it fails too."""
        for other in users:
            self._uow.register_update(
                UserModel(other.id, version=other.version),
                [UserModel.organisation_id.set(other.organisation_id)],
                condition=UserModel.version == other.version,
            )


class IdempotencyRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        try:
            item = IdempotencyModel.get(key, consistent_read=True)
        except IdempotencyModel.DoesNotExist:
            return None
        return IdempotencyRecord(item.key, item.request_hash, item.resource_id, item.created_at)

    def add(self, record: IdempotencyRecord) -> None:
        self._uow.register_save(
            IdempotencyModel(
                record.key,
                request_hash=record.request_hash,
                resource_id=record.resource_id,
                created_at=record.created_at,
                expires_at=record.created_at + IDEMPOTENCY_RETENTION,
            ),
            condition=IdempotencyModel.key.does_not_exist(),
            on_condition_failed=IdempotencyRace("A request with this idempotency key committed first."),
        )


class UniqueClaims:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def claim(self, key: str, owner_id: str, on_taken: DomainError) -> None:
        self._uow.register_save(
            UniqueClaimModel(key, owner_id=owner_id),
            condition=UniqueClaimModel.key.does_not_exist(),
            on_condition_failed=on_taken,
        )

    def is_claimed(self, key: str) -> bool:
        return self.owner_of(key) is not None

    def owner_of(self, key: str) -> str | None:
        try:
            return UniqueClaimModel.get(key, consistent_read=True).owner_id
        except UniqueClaimModel.DoesNotExist:
            return None

    def tally_of(self, key: str) -> ClaimTally | None:
        """The owners and total of the tally claimed at ``key``; None if nobody claimed it."""
        try:
            item = UniqueClaimModel.get(key, consistent_read=True)
        except UniqueClaimModel.DoesNotExist:
            return None
        if item.tally_cents is None:
            return ClaimTally((item.owner_id,), None)
        return ClaimTally(tuple(item.tally_owners or ()), int(item.tally_cents))

    def add_to_tally(
        self, key: str, owner_id: str, cents: int, *, at_most: int, on_refused: DomainError, untallied: ClaimTally | None = None,
    ) -> None:
        """Register an update that adds ``owner_id`` and its ``cents`` to the tally at ``key`` (claiming it, first owner,
        if nobody did), on condition that the total stays at most ``at_most``, whatever was added since it was read; the
        transaction fails with ``on_refused`` otherwise. ``untallied``: ``key`` was read as a plain claim (``tally_of``
        gave no cents), here with the cents its owner stands for: the tally starts from it, provided it is still plain.
        """
        start = untallied or ClaimTally((), 0)
        model = UniqueClaimModel
        within = model.key.does_not_exist() | (model.tally_cents <= at_most - cents)
        if untallied is not None:
            within = within | (model.tally_cents.does_not_exist() & (model.owner_id == untallied.owners[0]))
        self._uow.register_update(
            UniqueClaimModel(key),
            [
                model.owner_id.set(model.owner_id | owner_id),
                model.tally_owners.set((model.tally_owners | list(start.owners)).append([owner_id])),
                model.tally_cents.set((model.tally_cents | start.cents) + cents),
            ],
            condition=within,
            on_condition_failed=on_refused,
        )
