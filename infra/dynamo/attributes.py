"""PynamoDB attribute types of our own, and the size of an item as DynamoDB counts it against its 400 KB limit."""

from __future__ import annotations

import base64
import json
from typing import Any

from pynamodb.attributes import JSONAttribute
from pynamodb.models import Model


class CompactJSONAttribute(JSONAttribute):
    """JSON stored as UTF-8 text: ``ä`` as itself (2 bytes) instead of ``\\u00e4`` (6 bytes), no blanks after separators.

    PynamoDB's ``JSONAttribute`` escapes every non-ASCII character, which roughly doubles German text against
    DynamoDB's item limit. Reading is unchanged (``json.loads``), so items written by ``JSONAttribute`` read the same.
    A value holding a lone surrogate (undecodable bytes a parser kept) cannot be sent as UTF-8; it is written with
    ASCII escapes as before.
    """

    def serialize(self, value: Any) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, separators=(",", ":"))
        return text


def item_size(item: Model) -> int:
    """The bytes ``item`` counts against DynamoDB's limit of 400 KB (409,600 bytes) per item: attribute names and values
    as UTF-8, numbers one byte per two digits plus one, as the DynamoDB documentation counts them."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.serialize().items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, content), = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        return _number_size(content)
    if kind == "B":
        return len(content if isinstance(content, bytes) else base64.b64decode(content))
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in content)
    if kind == "NS":
        return sum(_number_size(v) for v in content)
    if kind == "BS":
        return sum(len(v if isinstance(v, bytes) else base64.b64decode(v)) for v in content)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in content.items())
    return 1  # BOOL, NULL


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1
