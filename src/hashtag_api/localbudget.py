"""In-process request counts for the read fast path (hashtag_api.fastpath), sent to Redis in
batches instead of one round trip per request.

Per caller and window this process knows the count Redis last answered (`known`: every
process's requests), the requests it served since and has not sent yet (`pending`) and those
sent whose answer is not back (`sending`). The fast path serves a request on these alone while
the caller has plenty of budget left, and sends the counts at most `FLUSH_S` later, all callers
in one pipelined round trip (`INCRBY` + `EXPIRE` on the limiter's own keys, so the exact
limiter and other API processes see them). Otherwise it defers to the exact limiter
(`RateLimiter.hit`, one round trip, which also sends this caller's pending counts):

* a caller's **first request of a window** in this process (nothing known yet);
* the **last tenth of the budget** (`margin`, at least one request): every request near the
  limit, and every 429, is decided by Redis exactly as before;
* while the limiter **fails open** (Redis did not answer).

Accuracy: with one API process the budget is never exceeded, and a fast answer's
`RateLimit-Remaining` is never above the exact figure: every request this process served is in
`known + sending + pending`, and the exact limiter waits for a batch in flight and sends the
caller's pending count with its own request, so Redis' answer includes them (a batch sent
while that request waits may be counted twice for one round trip: fewer fast answers, never
more). With several processes, a caller can exceed its budget only by sending more than
`margin` requests to the *other* processes within about two flush intervals (their counts not
yet sent, or sent since this process last read the count): at the default 600 per minute
that is over 600 requests per second; its `RateLimit-Remaining` is then high by as many.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hashtag_api.ratelimit import TIMEOUT_S, Verdict, counter_key

if TYPE_CHECKING:
    from hashtag_api.ratelimit import RateLimiter

__all__ = ["FLUSH_S", "LocalBudget"]

#: Longest a count served here waits before it is sent to Redis.
FLUSH_S = 0.05
_KIND = "requests"


@dataclass
class _Count:
    known: int
    pending: int = 0
    sending: int = 0


class LocalBudget:
    """The requests budget of one limiter, counted here and reconciled with Redis."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._counts: dict[tuple[str, int], _Count] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._sent: asyncio.Event | None = None
        self._pruned = 0
        #: Requests this budget let through without asking Redis (tests and metrics read it).
        self.served = 0

    def __len__(self) -> int:
        """(Caller, window) counts held."""
        return len(self._counts)

    def margin(self, limit: int) -> int:
        """Requests at the end of each budget left to the exact limiter."""
        return max(1, limit // 10)

    def take(self, redis: Redis, identity: str, now: float) -> Verdict | None:
        """Count one read by `identity` and say how much budget is left; None: ask the exact
        limiter instead (see the module docstring)."""
        limiter = self.limiter
        limit = limiter.per_minute
        if time.monotonic() < limiter.paused_until:
            return None
        window = int(now // limiter.window_s)
        count = self._counts.get((identity, window))
        if count is None:
            return None
        used = count.known + count.sending + count.pending + 1
        if used > limit - self.margin(limit):
            return None
        count.pending += 1
        self.served += 1
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon(redis))
        reset_s = max(1, math.ceil((window + 1) * limiter.window_s - now))
        return Verdict(True, limit, limit - used, reset_s, _KIND)

    async def settled(self) -> None:
        """Wait for the counts being sent (the exact limiter's answer then includes them)."""
        if self._sent is not None:
            await self._sent.wait()

    def drain(self, identity: str, window: int) -> int:
        """Take the pending count of one caller's window (the exact limiter sends it)."""
        count = self._counts.get((identity, window))
        if count is None:
            return 0
        pending, count.pending = count.pending, 0
        return pending

    def seen(self, identity: str, window: int, total: int) -> None:
        """Redis answered `total` for this caller's window (the exact limiter's call)."""
        count = self._counts.get((identity, window))
        if count is None:
            if window > self._pruned:
                self._prune(window)
            self._counts[(identity, window)] = _Count(known=total)
        else:
            count.known = max(count.known, total)

    def _prune(self, window: int) -> None:
        """Forget the callers of windows before the previous one (nothing left to send)."""
        self._pruned = window
        for key in [k for k, c in self._counts.items() if k[1] < window - 1]:
            if not (self._counts[key].pending or self._counts[key].sending):
                del self._counts[key]

    async def _flush_soon(self, redis: Redis) -> None:
        try:
            while True:
                await asyncio.sleep(FLUSH_S)
                await self.flush(redis)
                if not any(c.pending for c in self._counts.values()):
                    return
        finally:
            self._flusher = None

    async def flush(self, redis: Redis) -> None:
        """Send every pending count in one round trip and note the totals Redis answers."""
        batch = [(key, c, c.pending) for key, c in self._counts.items() if c.pending]
        if not batch:
            return
        pipe = redis.pipeline(transaction=False)
        for (identity, window), count, n in batch:
            count.pending -= n
            count.sending += n
            redis_key = counter_key(_KIND, identity, window)
            pipe.incrby(redis_key, n)
            pipe.expire(redis_key, self.limiter.window_s * 2)
        sent = self._sent = asyncio.Event()
        results: list[Any] | None = None
        try:
            results = await asyncio.wait_for(pipe.execute(), TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as exc:
            self.limiter.fail_open(exc)
            results = None
        finally:
            for i, (_, count, n) in enumerate(batch):
                count.sending -= n
                if results is not None:
                    count.known = max(count.known, int(results[2 * i]))
            if self._sent is sent:
                self._sent = None
            sent.set()

    async def aclose(self, redis: Redis) -> None:
        """Send what is pending now (the app is stopping)."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush(redis)
