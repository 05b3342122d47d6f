"""Limits on what any input may carry before it is parsed further or reaches the database:
JSON nesting depth, record size, instants Python and PostgreSQL can both hold, and integers
that fit PostgreSQL's bigint. Each check raises ValueError with a message that can follow a
field name ("posted_at: is out of range ...")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_JSON_DEPTH",
    "MAX_RECORD_CHARS",
    "check_int64",
    "check_instant",
    "deeper_than",
    "json_extent",
]

#: Deepest nesting of arrays and objects accepted anywhere. A post record is an object of
#: scalars (depth 1); the slack is for unknown fields, which are ignored.
MAX_JSON_DEPTH = 32
#: Longest single record (an NDJSON line, a JSON array element), in characters. A record's
#: largest field, its text, may have 100,000 characters, each at most 12 as a JSON escape
#: pair (\ud83d\ude00): 1.2 M, plus the other fields.
MAX_RECORD_CHARS = 4 * 1024 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# A whole JSON string (escapes included), or one bracket outside strings.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def deeper_than(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON in `text` nests arrays and objects more than `limit` deep (linear;
    a text with few brackets is answered without scanning)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return json_extent(text, 0, limit)[1] > limit


def json_extent(text: str, start: int, limit: int = MAX_JSON_DEPTH) -> tuple[int | None, int]:
    """Scan the array or object at `text[start]` without building it: (the index just after
    it, or None if it does not end within `text`; its depth, counted up to `limit` + 1)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text, start):
        char = match.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, min(depth, limit + 1))
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                return match.end(), deepest
    return None, deepest


def check_instant(value: datetime) -> datetime:
    """`value` if its instant exists in UTC within Python's calendar (years 1 to 9999), else
    ValueError. 9999-12-31T23:59:59-14:00 is a valid ISO 8601 time whose UTC time is in year
    10000: comparing it, or handing it to the database driver, raises OverflowError."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range: its UTC time is not in years 0001 to 9999") from None
    return value


def check_int64(value: int) -> int:
    """`value` if PostgreSQL's bigint can hold it, else ValueError."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"is out of range: {INT64_MIN} to {INT64_MAX}")
    return value
