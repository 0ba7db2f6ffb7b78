"""Opaque cursors: the DynamoDB LastEvaluatedKey, encoded for clients."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from domain.errors import ValidationFailed


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, partition: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """Decode a cursor; with ``partition`` (attribute, value) it must belong to that partition."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, dict) or not all(isinstance(v, dict) and len(v) == 1 for v in key.values()):
            raise ValueError("not a key")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not valid.", field="after", hint="Pass an endCursor from a previous page.") from None
    if partition is not None:
        attribute, value = partition
        if key.get(attribute) != {"S": value}:
            raise ValidationFailed("The cursor belongs to another list.", field="after", hint="Pass an endCursor from this list.")
    return key
