"""Opaque keyset cursors (base64url JSON) for newest-first listings."""

from __future__ import annotations

import base64
import json
from typing import Any

from stamen.errors import InputValidation

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(position, dict) or set(position) != set(keys):
            raise ValueError
        if not all(isinstance(position[k], (int, str)) and not isinstance(position[k], bool) for k in keys):
            raise ValueError
        return position
    except (ValueError, UnicodeError, json.JSONDecodeError):
        raise InputValidation.field("cursor", "is not a cursor returned by this endpoint") from None


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InputValidation.field("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit
