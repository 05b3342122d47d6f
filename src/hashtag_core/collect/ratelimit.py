"""Reading the platforms' rate-limit signals into "wait this many seconds" (pure functions).

* `Retry-After` (any platform): delta seconds or an HTTP date.
* X: `x-rate-limit-remaining` / `x-rate-limit-reset` (epoch seconds of the window reset).
* Meta: `X-App-Usage` and `X-Business-Use-Case-Usage`, JSON objects of percent-used values
  (throttling at 100); the BUC header also carries `estimated_time_to_regain_access` in minutes.
* LinkedIn: no headers; a 429 whose message names a DAY throttle lasts until 00:00 UTC.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "MetaUsage",
    "linkedin_day_reset_wait",
    "meta_usage",
    "retry_after_s",
    "x_reset_wait",
]


def retry_after_s(headers: httpx.Headers, now: float) -> float | None:
    """Seconds the `Retry-After` header asks for, or None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; the parser leaves "-0000" naive
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now, 0.0)


def x_reset_wait(headers: httpx.Headers, now: float) -> float | None:
    """Seconds until X's window resets when `x-rate-limit-remaining` is 0, else None."""
    remaining = headers.get("x-rate-limit-remaining")
    reset = headers.get("x-rate-limit-reset")
    if remaining is None or reset is None:
        return None
    try:
        if int(remaining) > 0:
            return None
        # The reset is whole seconds: wait one more so we do not arrive a moment too early.
        return max(int(reset) - now, 0.0) + 1.0
    except ValueError:
        return None


@dataclass(frozen=True)
class MetaUsage:
    """The highest percent-used figure in Meta's usage headers and the announced lockout."""

    percent: float
    regain_s: float | None  # estimated_time_to_regain_access, converted to seconds


def _percents(entry: Any) -> list[float]:
    """The numeric percent fields of one usage object."""
    if not isinstance(entry, dict):
        return []
    names = ("call_count", "total_cputime", "total_time")
    return [float(entry[n]) for n in names if isinstance(entry.get(n), int | float)]


def _buc_entries(raw: str | None) -> list[dict[str, Any]]:
    """The per-object entries of an `X-Business-Use-Case-Usage` header."""
    data = _json_object(raw)
    entries: list[dict[str, Any]] = []
    for value in data.values():
        if isinstance(value, list):
            entries += [e for e in value if isinstance(e, dict)]
    return entries


def _json_object(raw: str | None) -> dict[str, Any]:
    """Parse a JSON header value; anything else counts as absent."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def meta_usage(headers: httpx.Headers) -> MetaUsage | None:
    """Meta's reported usage, or None when neither usage header is present."""
    app = headers.get("x-app-usage")
    buc = headers.get("x-business-use-case-usage")
    if app is None and buc is None:
        return None
    entries = _buc_entries(buc)
    percents = _percents(_json_object(app))
    for entry in entries:
        percents += _percents(entry)
    minutes = [
        float(e["estimated_time_to_regain_access"])
        for e in entries
        if isinstance(e.get("estimated_time_to_regain_access"), int | float)
    ]
    regain = max(minutes) * 60 if minutes and max(minutes) > 0 else None
    return MetaUsage(max(percents, default=0.0), regain)


def linkedin_day_reset_wait(message: str, now: float) -> float | None:
    """Seconds to the next 00:00 UTC when a LinkedIn 429 names a DAY throttle, else None."""
    if "DAY limit" not in message:
        return None
    current = datetime.fromtimestamp(now, UTC)
    midnight = datetime.combine(current.date() + timedelta(days=1), datetime.min.time(), UTC)
    return math.ceil(midnight.timestamp() - now)
