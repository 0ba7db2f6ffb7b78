"""DynamoDB repositories implementing the domain's ports."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, TypeVar

from pynamodb.models import Model

from domain.errors import DomainError
from domain.organisations import Organisation, OrganisationKind, User
from domain.ports import IdempotencyRecord, Page
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


def get_by_id(model: type[Model], cls: type[E], item_id: str) -> E | None:
    """GetItem by id. DynamoDB refuses an empty key value; an empty id, like an unknown one, finds nothing."""
    if not item_id:
        return None
    try:
        return from_item(cls, model.get(item_id))
    except model.DoesNotExist:
        return None


def batch_get(model: type[Model], cls: type[E], ids: Iterable[str]) -> dict[str, E]:
    unique_ids = [item_id for item_id in dict.fromkeys(ids) if item_id]
    if not unique_ids:
        return {}
    return {item.id: from_item(cls, item) for item in model.batch_get(unique_ids)}


def query_page(result: Any, cls: type[E] | None = None) -> tuple[list[Any], str | None]:
    items = [from_item(cls, item) if cls else item for item in result]
    return items, encode_cursor(result.last_evaluated_key)


def due_page(index: Any, queue: str, queue_attribute: str, key: Any, until: Any, cls: type[E], *, limit: int, cursor: str | None) -> Page:
    """A page of a job's sparse due index: the items of partition ``queue`` whose ``key`` ("<date>#<id>") is on or before
    ``until`` (a date), oldest first. Only due items are read."""
    result = index.query(
        queue, key <= f"{until.isoformat()}#~", limit=limit, page_size=limit,
        last_evaluated_key=decode_cursor(cursor, partition=(queue_attribute, queue)),
    )
    items, next_cursor = query_page(result, cls)
    return Page(items, next_cursor)


class OrganisationRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, organisation_id: str) -> Organisation | None:
        return get_by_id(OrganisationModel, Organisation, organisation_id)

    def get_many(self, organisation_ids: Iterable[str]) -> dict[str, Organisation]:
        return batch_get(OrganisationModel, Organisation, organisation_ids)

    def list_by_kind(self, kind: OrganisationKind, *, limit: int, cursor: str | None) -> Page[Organisation]:
        result = OrganisationModel.kind_index.query(
            kind.value,
            limit=limit,
            page_size=limit,
            last_evaluated_key=decode_cursor(cursor, partition=("kind", kind.value)),
        )
        items, next_cursor = query_page(result, Organisation)
        return Page(items, next_cursor)

    def list_customers_of_partner(self, partner_id: str, *, limit: int, cursor: str | None) -> Page[Organisation]:
        result = PartnerCustomerModel.query(
            partner_id,
            limit=limit,
            page_size=limit,
            last_evaluated_key=decode_cursor(cursor, partition=("partner_id", partner_id)),
        )
        links, next_cursor = query_page(result)
        customers = self.get_many(link.customer_id for link in links)
        return Page([customers[link.customer_id] for link in links if link.customer_id in customers], next_cursor)

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
        result = UserModel.organisation_index.query(
            organisation_id,
            limit=limit,
            page_size=limit,
            last_evaluated_key=decode_cursor(cursor, partition=("organisation_id", organisation_id)),
        )
        items, next_cursor = query_page(result, User)
        return Page(items, next_cursor)

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
        for other in unchanged:
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
        try:
            UniqueClaimModel.get(key, consistent_read=True)
            return True
        except UniqueClaimModel.DoesNotExist:
            return False
