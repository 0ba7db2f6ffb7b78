"""Maps domain errors onto the `errors` list every mutation payload carries."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Mapping, TypeVar

from domain.errors import DomainError
from schema.common import Error

P = TypeVar("P")


def to_errors(error: DomainError, fields: Mapping[str, str] | None = None) -> list[Error]:
    """The error as payload errors; ``fields`` renames domain field names to the mutation's input names."""
    # Errors that collect several problems (InvalidInputs, CspOrderNotReady) list each one.
    nested = getattr(error, "errors", None)
    errors = nested if isinstance(nested, list) and nested and all(isinstance(e, DomainError) for e in nested) else [error]
    fields = fields or {}
    return [Error(code=e.code, message=e.message, field=fields.get(e.field, e.field), hint=e.hint) for e in errors]


def payload_errors(
    payload_type: Callable[..., P], *, fields: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Awaitable[P]]], Callable[..., Awaitable[P]]]:
    """Turn a DomainError raised by a mutation into ``payload_type(errors=[...])``."""

    def decorate(resolver: Callable[..., Awaitable[P]]) -> Callable[..., Awaitable[P]]:
        @functools.wraps(resolver)
        async def wrapper(*args: Any, **kwargs: Any) -> P:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as error:
                return payload_type(errors=to_errors(error, fields))

        return wrapper

    return decorate
