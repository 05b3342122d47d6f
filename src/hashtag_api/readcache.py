"""A per-process cache of the read endpoints' answers, dropped whenever their data changes.

The analytic reads (`/hashtag-performance`, `/hashtags/{hashtag}`, `/engagement-trends`,
`/follower-trends`, `/recommendations`, `/reports/hashtags`, ...) answer from precomputed
tables that change only when posts are written or a recompute lands. So each API process keeps
the bytes of its recent GET answers, keyed by path, query string and `Accept`, and serves
them again until anything they were computed from changes:

* **Every change is announced.** A statement-level trigger on each table those endpoints read
  sends `NOTIFY hashtag_read_cache` (migration 0008). `CacheListener` holds one connection
  that LISTENs, and every notification empties the cache. PostgreSQL delivers notifications
  at commit, so a change from any process (an import, the worker's recompute, another API
  replica) empties every replica's cache within the notification's delivery time.
* **No listener, no cache.** Until the LISTEN is in place, and from the moment its connection
  is lost until it is back, every request is answered from the database (and a lost
  connection empties the cache), so missed notifications cannot leave stale answers behind.
* **An answer is kept only if nothing changed while it was computed.** Each entry records the
  cache's generation when its request started; a notification in between bumps the
  generation and the answer is not stored.
* **Read your own writes.** A write request empties its own process's cache when it commits,
  before its response is sent, without waiting for the notification.
* **Bounded.** At most `read_cache_mb` of bodies (least recently used go first), each kept at
  most `read_cache_ttl_s` (some answers depend on the clock: posts scheduled for later are
  left out until their time).

Authentication and rate limits run before the lookup (`ReadCacheDep` comes after the key
check in each cached route), so a cached answer is given only to a caller allowed the request.
Most hits never reach the routes: the fast path (hashtag_api.fastpath) serves them before
routing, with the same key check and rate limit, from this same store.

**Stored keys the usual path verified** are kept here too (by the key's SHA-256, as the table
stores it), so the fast path can tell their caller without the database. They go with every
invalidation, like the answers: revoking a key, changing its scopes or expiry, or deleting it
notifies the same channel (migration 0015), so a revocation is refused from the next request
on, as it always was. Each is also checked again by the usual path a minute after it was
verified (`KEY_RECHECK_S`), which writes the key's `last_used_at` when that is a minute old
(so it stays within a minute or two of the truth), and no key is used past its expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.engine import URL
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashtag_core.keys.schemas import Principal
from hashtag_core.keys.service import LAST_USED_RESOLUTION

__all__ = [
    "CHANNEL",
    "KEY_RECHECK_S",
    "CacheListener",
    "CachedAnswer",
    "ReadCache",
    "ReadCacheCapture",
    "ReadCacheDep",
    "VerifiedKey",
    "install",
]

logger = logging.getLogger(__name__)

CHANNEL = "hashtag_read_cache"
#: Key of the (cache key, generation) pair in the ASGI scope's state.
_STATE_KEY = "read_cache_pending"
_PING_S = 5.0
_RETRY_FIRST_S = 0.5
_RETRY_MAX_S = 10.0

Key = tuple[str, str, str]

#: A verified stored key is trusted this long before the usual path checks it again (and
#: writes its last_used_at, at most once a minute: `keys.service.LAST_USED_RESOLUTION`).
KEY_RECHECK_S = LAST_USED_RESOLUTION.total_seconds()
#: At most this many verified keys are kept (all are forgotten past it).
MAX_KEYS = 10_000


@dataclass(frozen=True)
class VerifiedKey:
    """A stored key the usual path accepted, and until when that stands."""

    principal: Principal
    until: float  # time.monotonic()


@dataclass(frozen=True)
class Entry:
    """One stored answer."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    stored_at: float
    #: The route template that computed it (metrics label); "" when not known.
    route: str = ""


@dataclass
class Stats:
    """Counters for /metrics."""

    hits: int = 0
    misses: int = 0
    bypassed: int = 0
    stored: int = 0
    invalidations: int = 0


@dataclass
class ReadCache:
    """The answers of one process (see the module docstring)."""

    max_bytes: int
    ttl_s: float
    live: bool = False
    generation: int = 0
    size: int = 0
    stats: Stats = field(default_factory=Stats)
    _entries: OrderedDict[Key, Entry] = field(default_factory=OrderedDict)
    _keys: dict[str, VerifiedKey] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def invalidate(self) -> None:
        """Forget every answer; answers being computed now are not stored."""
        self.generation += 1
        self.stats.invalidations += 1
        self._entries.clear()
        self._keys.clear()
        self.size = 0

    def set_live(self, live: bool) -> None:
        """The listener is (or is no longer) receiving every change."""
        self.invalidate()
        self.live = live

    def get(self, key: Key) -> Entry | None:
        """The stored answer, if fresh; None when it must be computed."""
        if not (self.live and self.enabled):
            self.stats.bypassed += 1
            return None
        found = self._entries.get(key)
        if found is not None and time.monotonic() - found.stored_at <= self.ttl_s:
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return found
        if found is not None:
            self._drop(key)
        self.stats.misses += 1
        return None

    def peek(self, key: Key) -> Entry | None:
        """The stored answer if it may be served, counting nothing (the fast path counts the
        hit with `served` once it answers from it)."""
        if not (self.live and self.enabled):
            return None
        found = self._entries.get(key)
        if found is None or time.monotonic() - found.stored_at > self.ttl_s:
            return None
        return found

    def served(self, key: Key) -> None:
        """Count a hit on `key` (just returned by `peek`) and mark it recently used."""
        self.stats.hits += 1
        self._entries.move_to_end(key)

    def put(
        self,
        key: Key,
        generation: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        route: str = "",
    ) -> bool:
        """Keep an answer computed since `generation`; False when something changed meanwhile
        (or the listener is down, or the body alone exceeds the budget)."""
        if not self.live or generation != self.generation or len(body) > self.max_bytes:
            return False
        if key in self._entries:
            self._drop(key)
        self._entries[key] = Entry(tuple(headers), body, time.monotonic(), route)
        self.size += len(body)
        while self.size > self.max_bytes:
            self._drop(next(iter(self._entries)))
        self.stats.stored += 1
        return True

    def remember_key(self, digest: str, principal: Principal, generation: int) -> bool:
        """Keep a stored key the usual path verified since `generation` (by its SHA-256);
        False when a change came meanwhile (a revocation, say) or the listener is down."""
        if not self.live or generation != self.generation or principal.bootstrap:
            return False
        if len(self._keys) >= MAX_KEYS:
            self._keys.clear()
        self._keys[digest] = VerifiedKey(principal, time.monotonic() + KEY_RECHECK_S)
        return True

    def known_key(self, digest: str) -> Principal | None:
        """The principal of a stored key verified less than KEY_RECHECK_S ago and not expired
        since; None when the usual path must check it."""
        found = self._keys.get(digest) if self.live else None
        if found is None or time.monotonic() >= found.until:
            return None
        expires = found.principal.expires_at
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return found.principal

    def _drop(self, key: Key) -> None:
        self.size -= len(self._entries.pop(key).body)


class CachedAnswer(Exception):
    """Raised by `lookup` with a stored answer; the app's handler sends it."""

    def __init__(self, entry: Entry) -> None:
        super().__init__("cached answer")
        self.entry = entry


def _key(request: Request) -> Key:
    scope = request.scope
    query = scope.get("query_string", b"").decode("latin-1")
    return (scope["path"], query, request.headers.get("accept", ""))


async def lookup(request: Request) -> None:
    """The last dependency of a cached route: answer from the cache, or note the key so that
    `ReadCacheCapture` keeps the answer the route computes."""
    cache: ReadCache | None = getattr(request.app.state, "read_cache", None)
    if cache is None or request.method != "GET":
        return
    key = _key(request)
    generation = cache.generation
    found = cache.get(key)
    if found is not None:
        raise CachedAnswer(found)
    if cache.live and cache.enabled:
        setattr(request.state, _STATE_KEY, (key, generation))


ReadCacheDep = Annotated[None, Depends(lookup)]


async def _answer(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CachedAnswer)
    response = Response(content=exc.entry.body, status_code=200)
    response.raw_headers = list(exc.entry.headers)
    return response


class ReadCacheCapture:
    """Innermost ASGI middleware: keeps the 200 answers of requests `lookup` marked."""

    def __init__(self, app: ASGIApp, cache: ReadCache) -> None:
        self.app, self.cache = app, cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] | None = None
        chunks: list[bytes] = []

        async def capturing_send(message: Message) -> None:
            nonlocal headers
            pending = scope.get("state", {}).get(_STATE_KEY)
            if pending is not None:
                if message["type"] == "http.response.start" and message["status"] == 200:
                    headers = list(message.get("headers", []))
                elif message["type"] == "http.response.body" and headers is not None:
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        key, generation = pending
                        path = getattr(scope.get("route"), "path", "")
                        route = path if isinstance(path, str) else ""
                        self.cache.put(key, generation, headers, b"".join(chunks), route)
            await send(message)

        await self.app(scope, receive, capturing_send)


class CacheListener:
    """Keeps one connection LISTENing on CHANNEL; the cache is live only while it does."""

    def __init__(self, cache: ReadCache, url: URL) -> None:
        self.cache = cache
        # asyncpg's own DSN (the engine's URL names the SQLAlchemy dialect).
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._task: asyncio.Task[None] | None = None
        self._was_live = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="read-cache-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.cache.set_live(False)

    async def _run(self) -> None:
        delay = _RETRY_FIRST_S
        while True:
            self._was_live = False
            try:
                await self._listen()
                reason = "its connection was closed"
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            self.cache.set_live(False)
            if self._was_live:
                logger.warning("read cache off: its PostgreSQL listener stopped (%s)", reason)
                delay = _RETRY_FIRST_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_S)

    async def _listen(self) -> None:
        """LISTEN until the connection is lost (returns) or cannot be made (raises)."""
        lost = asyncio.Event()
        conn = await asyncpg.connect(
            self._dsn, timeout=5, server_settings={"application_name": "hashtag-api-cache"}
        )
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, lambda *_args: self.cache.invalidate())
            self.cache.set_live(True)
            self._was_live = True
            logger.info("read cache on: listening for changes on '%s'", CHANNEL)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), _PING_S)
                    return
                # A connection that died without a close (host gone) shows on a query.
                await conn.fetchval("SELECT 1", timeout=_PING_S)
        finally:
            self.cache.set_live(False)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)


def install(app: FastAPI, cache: ReadCache) -> None:
    """The cache, its capture middleware (innermost: add before every other middleware) and
    the handler that sends a cached answer."""
    app.state.read_cache = cache
    app.add_middleware(ReadCacheCapture, cache=cache)
    app.add_exception_handler(CachedAnswer, _answer)
