"""Dataclass <-> JSON-ready dict, driven by the type hints of the domain classes.

Money goes to integer cents with its currency, instants to ISO 8601 UTC, dates to ISO
dates, enums to their values, tuples and frozensets to lists.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any, Callable

from domain.money import Money


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def encode(value: Any) -> Any:
    if isinstance(value, Money):
        return {"cents": value.cents, "currency": value.currency}
    if dataclasses.is_dataclass(value):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(encode(v) for v in value)
    if isinstance(value, dict):
        return {str(encode(k)): encode(v) for k, v in value.items()}
    return value


def decode(cls: Any, data: Any) -> Any:
    """The value of type ``cls`` that ``encode`` turned into ``data`` (None stays None, whatever the type)."""
    return None if data is None else _decoder(cls)(data)


@lru_cache(maxsize=None)
def _decoder(cls: Any) -> Callable[[Any], Any]:
    """A function decoding non-None data of type ``cls``, built once per type from its hints.

    Every stored item read goes through it; building the field decoders once instead of inspecting type hints for every
    field of every object read is most of the cost of turning a DynamoDB answer into domain objects.
    """
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(cls) if a is not type(None)]
        return _optional(_decoder(options[0])) if len(options) == 1 else _as_is
    if origin in (tuple, list, frozenset, set):
        args = typing.get_args(cls)
        item = _optional(_decoder(args[0])) if args else _as_is
        collection = {tuple: tuple, list: list, frozenset: frozenset, set: frozenset}[origin]
        return lambda data: collection(item(v) for v in data)
    if origin in (dict, collections.abc.Mapping):
        key_type, value_type = typing.get_args(cls) or (Any, Any)
        key, value = _optional(_decoder(key_type)), _optional(_decoder(value_type))
        return lambda data: {key(k): value(v) for k, v in data.items()}
    if cls is Any:
        return _as_is
    if cls is Money:
        return lambda data: Money.from_cents(int(data["cents"]), data["currency"])
    if dataclasses.is_dataclass(cls):
        return _dataclass_decoder(cls)
    if isinstance(cls, type) and issubclass(cls, Enum):
        return cls
    if cls is datetime:
        return datetime.fromisoformat
    if cls is date:
        return date.fromisoformat
    if cls is Decimal:
        return lambda data: Decimal(str(data))
    if cls in (int, float, str, bool):
        return cls
    return _as_is


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    hints, names = _hints(cls), [f.name for f in dataclasses.fields(cls)]
    fields: list[tuple[str, Callable[[Any], Any]]] = []

    def decode_dataclass(data: Any) -> Any:
        if not fields:  # resolved on first use, so that a class may (indirectly) contain itself
            fields.extend((name, _optional(_decoder(hints[name]))) for name in names)
        return cls(**{name: field(data[name]) for name, field in fields if name in data})

    return decode_dataclass


def _optional(decoder: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda data: None if data is None else decoder(data)


def _as_is(data: Any) -> Any:
    return data
