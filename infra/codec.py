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
from typing import Any

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
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(cls: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(cls) if a is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin in (tuple,):
        args = typing.get_args(cls)
        item = args[0] if args else Any
        return tuple(decode(item, v) for v in data)
    if origin in (list,):
        (item,) = typing.get_args(cls) or (Any,)
        return [decode(item, v) for v in data]
    if origin in (frozenset, set):
        (item,) = typing.get_args(cls) or (Any,)
        return frozenset(decode(item, v) for v in data)
    if origin in (dict, collections.abc.Mapping):
        key_type, value_type = typing.get_args(cls) or (Any, Any)
        return {decode(key_type, k): decode(value_type, v) for k, v in data.items()}
    if cls is Any:
        return data
    if cls is Money:
        return Money.from_cents(int(data["cents"]), data["currency"])
    if dataclasses.is_dataclass(cls):
        hints = _hints(cls)
        kwargs = {f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
        return cls(**kwargs)
    if isinstance(cls, type) and issubclass(cls, Enum):
        return cls(data)
    if cls is datetime:
        return datetime.fromisoformat(data)
    if cls is date:
        return date.fromisoformat(data)
    if cls is Decimal:
        return Decimal(str(data))
    if cls in (int, float, str, bool):
        return cls(data)
    return data
