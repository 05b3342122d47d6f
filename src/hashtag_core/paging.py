"""Opaque cursors for keyset paging: every list answers `items` and `next_cursor`.

A cursor is URL-safe base64 of a small JSON object. It carries everything the next page
needs (the sort, the filters, the last row's key), so a caller passes back `next_cursor`
alone; what it cannot decode is the caller's mistake, an `InvalidInput` naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hashtag_core.errors import InvalidInput

__all__ = ["decode_cursor", "encode_cursor", "foreign_cursor"]

_FOREIGN = "cursor is not one this endpoint returned; start again without it"


def encode_cursor(payload: dict[str, Any]) -> str:
    """The opaque form of `payload` (JSON values only)."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, kind: str) -> dict[str, Any]:
    """The payload of a cursor `encode_cursor` made with `{"kind": kind, ...}`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(_FOREIGN, field="cursor") from exc
    if not isinstance(payload, dict) or payload.get("kind") != kind:
        raise InvalidInput(_FOREIGN, field="cursor")
    return payload


def foreign_cursor() -> InvalidInput:
    """The error for a cursor whose payload does not have the expected shape."""
    return InvalidInput(_FOREIGN, field="cursor")
