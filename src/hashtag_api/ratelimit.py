"""Per-caller rate limits in Redis: fixed one-minute windows, one round trip per request.

Each caller (an API key, or the client address when no valid key is sent) has a budget of
HASHTAG_RATE_LIMIT_PER_MINUTE requests per window, and writes also count against
HASHTAG_RATE_LIMIT_WRITES_PER_MINUTE. A request INCRements its window's counter(s) and sets
their expiry in one pipelined round trip. Fixed windows let a caller spend up to twice its
budget across a window boundary; that is accepted for the simplicity (no script, no clock
in Redis).

Cached reads served by the fast path (hashtag_api.fastpath) are counted in-process and sent in
batches (hashtag_api.localbudget); the last tenth of every budget, and every 429, is still
decided here.

If Redis does not answer (or is slower than `TIMEOUT_S`), the limiter **fails open**: the
request goes through, a warning is logged at most once per `_WARN_EVERY_S`, and Redis is not
asked again for `_PAUSE_S` so that an outage does not add a timeout to every request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from hashtag_api.localbudget import LocalBudget

__all__ = ["TIMEOUT_S", "RateLimiter", "Verdict", "counter_key"]

logger = logging.getLogger(__name__)

WINDOW_S = 60
TIMEOUT_S = 0.5
_PAUSE_S = 5.0
_WARN_EVERY_S = 60.0
_KEY = "hashtag:ratelimit:{kind}:{identity}:{window}"


def counter_key(kind: str, identity: str, window: int) -> str:
    """The Redis key counting `kind` ('requests' or 'writes') of a caller in a window."""
    return _KEY.format(kind=kind, identity=identity, window=window)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one request against the budget that is closest to running out."""

    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the window (and the budget) resets.
    reset_s: int
    #: Which budget: 'requests' or 'writes'.
    budget: str


class RateLimiter:
    """Counts requests per caller and window; `hit()` says whether one may go through."""

    def __init__(
        self, *, per_minute: int, writes_per_minute: int, window_s: int = WINDOW_S
    ) -> None:
        """Budgets per `window_s` (a minute; tests shorten it to see a window pass)."""
        self.per_minute, self.writes_per_minute = per_minute, writes_per_minute
        self.window_s = window_s
        self._paused_until = 0.0
        self._last_warning = -math.inf
        from hashtag_api.localbudget import LocalBudget  # it builds on this module

        #: The fast path's in-process counts of reads (hashtag_api.fastpath).
        self.local: LocalBudget = LocalBudget(self)

    @property
    def paused_until(self) -> float:
        """`time.monotonic()` until which Redis is not asked (it did not answer)."""
        return self._paused_until

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 or self.writes_per_minute > 0

    async def hit(
        self, redis: Redis, identity: str, *, write: bool, now: float | None = None
    ) -> Verdict | None:
        """Count one request; None when nothing limits it (limits off, or Redis unreachable)."""
        budgets = []
        if self.per_minute > 0:
            budgets.append(("requests", self.per_minute))
        if write and self.writes_per_minute > 0:
            budgets.append(("writes", self.writes_per_minute))
        if not budgets or time.monotonic() < self._paused_until:
            return None
        now = time.time() if now is None else now
        window = int(now // self.window_s)
        reset_s = max(1, math.ceil((window + 1) * self.window_s - now))
        await self.local.settled()  # so that Redis' count includes the fast path's
        pipe = redis.pipeline(transaction=False)
        for kind, _ in budgets:
            key = counter_key(kind, identity, window)
            # This request, and the caller's reads the fast path counted and has not sent yet.
            local = self.local.drain(identity, window) if kind == "requests" else 0
            pipe.incrby(key, 1 + local)
            pipe.expire(key, self.window_s * 2)
        try:
            results = await asyncio.wait_for(pipe.execute(), TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as exc:
            self.fail_open(exc)
            return None
        if budgets[0][0] == "requests":
            self.local.seen(identity, window, int(results[0]))
        verdicts = [
            Verdict(count <= limit, limit, max(0, limit - count), reset_s, kind)
            for (kind, limit), count in zip(budgets, results[::2], strict=True)
        ]
        refused = [v for v in verdicts if not v.allowed]
        return refused[0] if refused else min(verdicts, key=lambda v: v.remaining)

    def fail_open(self, exc: BaseException) -> None:
        """Redis did not answer: let requests through unlimited for `_PAUSE_S`."""
        self._paused_until = time.monotonic() + _PAUSE_S
        if time.monotonic() - self._last_warning >= _WARN_EVERY_S:
            self._last_warning = time.monotonic()
            logger.warning(
                "rate limiter: Redis does not answer (%s); requests are not limited until it does",
                type(exc).__name__,
            )
