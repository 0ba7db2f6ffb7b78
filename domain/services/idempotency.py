"""Create operations with Stripe-style idempotency keys.

The idempotency record is written in the same transaction as the object it created, so
a retry either finds both or neither. A retry with the same key and the same input gets
the object the first call created and writes nothing; the same key with other input is
refused. Keys are scoped to the caller's organisation and the operation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Callable, TypeVar

from domain.errors import DomainError, IdempotencyKeyReused, ValidationFailed
from domain.policy import Principal
from domain.ports import IdempotencyRecord, UnitOfWork

T = TypeVar("T")

MAX_KEY_LENGTH = 255


class IdempotencyRace(DomainError):
    """Another request with the same key committed first; read its result instead."""


def request_hash(payload: object) -> str:
    data = asdict(payload) if is_dataclass(payload) and not isinstance(payload, type) else payload
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    uow: UnitOfWork,
    *,
    principal: Principal,
    operation: str,
    key: str | None,
    payload: object,
    now: datetime,
    perform: Callable[[UnitOfWork], tuple[str, T]],
    load: Callable[[UnitOfWork, str], T],
) -> T:
    """Run ``perform`` (which registers writes and returns (resource id, result)) once per key."""
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
        raise ValidationFailed(f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.", field="idempotencyKey")
    scoped_key = f"{principal.organisation_id}#{operation}#{key}"
    fingerprint = request_hash(payload)
    for _ in range(2):
        with uow:
            if key is not None:
                previous = uow.idempotency.get(scoped_key)
                if previous is not None:
                    if previous.request_hash != fingerprint:
                        raise IdempotencyKeyReused(
                            "This idempotency key was already used with different input.",
                            field="idempotencyKey",
                            hint="Use a new key for a new request; retry only with identical input.",
                        )
                    return load(uow, previous.resource_id)
            resource_id, result = perform(uow)
            if key is not None:
                uow.idempotency.add(IdempotencyRecord(scoped_key, fingerprint, resource_id, now))
            try:
                uow.commit()
            except IdempotencyRace:
                continue  # the other request won: the next round returns its result
            return result
    raise IdempotencyKeyReused("A concurrent request with this idempotency key is still being processed.", field="idempotencyKey")
