"""Rate-limit bookkeeping and headers: X windows, Meta usage percentages, LinkedIn daily caps."""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field

from hashtag_sandbox.config import SandboxConfig

__all__ = ["LinkedInQuota", "MetaQuota", "MetaUse", "XQuota"]


@dataclass
class _Window:
    start: float
    used: int = 0


class XQuota:
    """Fixed windows per (token, endpoint group), as X counts them."""

    def __init__(self, config: SandboxConfig) -> None:
        """Limits from `config`."""
        self._limit = config.x_rate_limit
        self._window_s = config.x_window_s
        self._windows: dict[tuple[str, str], _Window] = {}

    def take(self, token: str, group: str, now: float) -> tuple[dict[str, str], bool]:
        """Count one request; returns the `x-rate-limit-*` headers and whether it is over."""
        window = self._windows.get((token, group))
        if window is None or now >= window.start + self._window_s:
            window = self._windows[(token, group)] = _Window(now)
        window.used += 1
        headers = {
            "x-rate-limit-limit": str(self._limit),
            "x-rate-limit-remaining": str(max(self._limit - window.used, 0)),
            "x-rate-limit-reset": str(math.ceil(window.start + self._window_s)),
        }
        return headers, window.used > self._limit


@dataclass(frozen=True)
class MetaUse:
    """Usage after one call: headers to send and, if throttled, the error code to answer."""

    headers: dict[str, str]
    throttle_code: int | None = None


@dataclass
class _Rolling:
    calls: deque[float] = field(default_factory=deque)

    def add(self, now: float, window_s: float) -> int:
        self.calls.append(now)
        while self.calls and self.calls[0] <= now - window_s:
            self.calls.popleft()
        return len(self.calls)


class MetaQuota:
    """Rolling-window call counts reported as percent in Meta's usage headers."""

    def __init__(self, config: SandboxConfig) -> None:
        """Limits from `config`."""
        self._app_limit = config.meta_app_calls
        self._account_limit = config.meta_account_calls
        self._window_s = config.meta_window_s
        self._app = _Rolling()
        self._accounts: dict[str, _Rolling] = {}

    def take(self, account_id: str | None, kind: str, now: float) -> MetaUse:
        """Count one call for the app and (if known) the business object `account_id`."""
        app_used = self._app.add(now, self._window_s)
        app_pct = self._pct(app_used, self._app_limit)
        headers = {
            "X-App-Usage": json.dumps(
                {"call_count": app_pct, "total_cputime": app_pct // 2, "total_time": app_pct // 2}
            )
        }
        if app_used > self._app_limit:
            return MetaUse(headers, 4)
        if account_id is None:
            return MetaUse(headers)
        rolling = self._accounts.setdefault(account_id, _Rolling())
        used = rolling.add(now, self._window_s)
        pct = self._pct(used, self._account_limit)
        regain = math.ceil(self._window_s / 60) if pct >= 100 else 0
        entry = {
            "type": kind,
            "call_count": pct,
            "total_cputime": pct // 2,
            "total_time": pct // 2,
            "estimated_time_to_regain_access": regain,
        }
        headers["X-Business-Use-Case-Usage"] = json.dumps({account_id: [entry]})
        if used > self._account_limit:
            return MetaUse(headers, 80002 if kind == "instagram" else 80001)
        return MetaUse(headers)

    @staticmethod
    def _pct(used: int, limit: int) -> int:
        return min(math.floor(used * 100 / limit), 100)


class LinkedInQuota:
    """Calls per application per UTC day (LinkedIn publishes no headers)."""

    def __init__(self, config: SandboxConfig) -> None:
        """Limit from `config`."""
        self._limit = config.linkedin_daily_calls
        self._day = -1
        self._used = 0

    def take(self, now: float) -> bool:
        """Count one call; True when the day's limit is exceeded."""
        day = int(now // 86_400)
        if day != self._day:
            self._day, self._used = day, 0
        self._used += 1
        return self._used > self._limit
