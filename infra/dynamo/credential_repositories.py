"""Repositories of the credential store: credentials (one item each, access requests inside) and their audit trail."""

from __future__ import annotations

import dataclasses
from datetime import timezone
from typing import TYPE_CHECKING

from domain.credentials import Credential, CredentialEvent
from domain.errors import AlreadyExists
from domain.ports import Page
from infra.codec import encode
from infra.dynamo.models import CredentialEventModel, CredentialModel
from infra.dynamo.repositories import data_of, entity_data, get_by_id, index_page, versioned

if TYPE_CHECKING:
    from infra.dynamo.unit_of_work import DynamoUnitOfWork

PENDING_QUEUE = "PENDING"


def _instant_key(instant, entity_id: str) -> str:
    return f"{instant.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S.%fZ}#{entity_id}"


class CredentialRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def get(self, credential_id: str) -> Credential | None:
        return get_by_id(CredentialModel, Credential, credential_id, consistent_read=True)

    def list_for_customer(self, customer_id: str, *, limit: int, cursor: str | None) -> Page[Credential]:
        return index_page(CredentialModel.customer_index, "listed_customer_id", customer_id, cls=Credential, limit=limit, cursor=cursor)

    def list_awaiting_decision(self, *, limit: int, cursor: str | None) -> Page[Credential]:
        return index_page(CredentialModel.pending_index, "pending_queue", PENDING_QUEUE, cls=Credential, limit=limit, cursor=cursor)

    def _item(self, credential: Credential) -> CredentialModel:
        listed = not credential.deleted
        pending = credential.pending_since
        return CredentialModel(
            credential.id,
            listed_customer_id=credential.customer_id if listed else None,
            label_key=f"{credential.label.casefold()}#{credential.id}" if listed else None,
            pending_queue=PENDING_QUEUE if pending and listed else None,
            pending_key=_instant_key(pending, credential.id) if pending and listed else None,
            data=entity_data(credential),
            **versioned(credential),
        )

    def add(self, credential: Credential) -> None:
        self._uow.register_save(
            self._item(dataclasses.replace(credential, version=0)),
            condition=CredentialModel.id.does_not_exist(),
            on_condition_failed=AlreadyExists(f"Credential {credential.id} exists already.", field="credentialId"),
        )

    def update(self, credential: Credential) -> None:
        self._uow.register_save(self._item(credential))


class CredentialEventRepository:
    def __init__(self, uow: "DynamoUnitOfWork") -> None:
        self._uow = uow

    def add(self, event: CredentialEvent) -> None:
        self._uow.register_save(
            CredentialEventModel(event.credential_id, _instant_key(event.at, event.id), data=encode(event)),
            condition=CredentialEventModel.key.does_not_exist(),
            on_condition_failed=AlreadyExists(f"Audit event {event.id} exists already."),
        )

    def list_for_credential(self, credential_id: str, *, limit: int, cursor: str | None) -> Page[CredentialEvent]:
        if not credential_id:
            return Page([], None)
        return index_page(CredentialEventModel, "credential_id", credential_id, read=data_of(CredentialEvent), limit=limit, cursor=cursor,
                          newest_first=True)
