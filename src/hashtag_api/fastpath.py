"""The fast path for cached reads: a pure-ASGI middleware, outside the framework, that answers
a GET from the read cache (hashtag_api.readcache) without routing, dependency solving or a
Redis round trip per request, and passes everything else to the app unchanged.

It answers only when all of this holds, else the request takes the usual path (which checks
and answers exactly as it always did):

* the cache holds a fresh answer for the path, query string and `Accept` (so the listener is
  live: the answer is for the current data; `ReadCache.peek`);
* the caller is known without the database: no `Authorization` header where reads are open
  (the client address is counted), a bootstrap key (HASHTAG_API_KEYS, compared in constant
  time as `deps` does), or a stored key the usual path verified less than a minute ago and
  nothing changed since (`ReadCache.known_key`: a revocation empties it; every stored key
  holds read). Unknown, revoked and expired keys and keyless reads where keys are required
  go the usual way, so they are checked and refused exactly as before;
* the in-process budget (hashtag_api.localbudget) has room well short of the limit; near the
  limit, at a window's first request and while the limiter fails open, the usual path asks
  Redis (and answers the 429s);
* no request body, and no `Origin` when CORS is configured (CORSMiddleware answers those).

The answer is what the usual path sends for a cache hit, header for header: the stored
headers and body, `X-Request-Id`, the security headers and the `RateLimit-*` headers. It is
observed in the request histogram under its route template, and gets its access-log line.
"""

from __future__ import annotations

import time
import uuid

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from hashtag_api.deps import bootstrap_principal
from hashtag_api.metrics import ApiMetrics, log_access
from hashtag_api.ratelimit import RateLimiter
from hashtag_api.readcache import ReadCache
from hashtag_api.security import base_headers, content_security_policy
from hashtag_core.config import Settings
from hashtag_core.keys.service import hash_key, looks_like_key

__all__ = ["FastReads"]

_WANTED = frozenset({b"accept", b"authorization", b"x-request-id", b"origin", b"content-length"})
_LAST_WINS = frozenset({b"x-request-id", b"content-length"})


class FastReads:
    """Outermost ASGI middleware: cached GET answers served before the framework."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app, self.state = app, state
        settings: Settings = state.settings
        self.settings = settings
        self.base = base_headers(settings.hsts_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not await self._serve(scope, send)
        ):
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, send: Send) -> bool:
        """Answer from the cache; False (nothing sent) when the usual path must answer."""
        started = time.perf_counter()
        cache: ReadCache | None = getattr(self.state, "read_cache", None)
        if cache is None or not cache.live:
            return False
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            # The first Accept and Authorization count (as Starlette's `headers.get`), the
            # last X-Request-Id and Content-Length (as RequestContext's dict of them).
            if name in _WANTED and (name not in found or name in _LAST_WINS):
                found[name] = value
            elif name == b"transfer-encoding":
                return False
        if found.get(b"content-length", b"0") != b"0":
            return False
        if b"origin" in found and self.settings.cors_origins:
            return False
        key = (
            scope["path"],
            scope["query_string"].decode("latin-1"),
            found.get(b"accept", b"").decode("latin-1"),
        )
        entry = cache.peek(key)
        if entry is None or not entry.route:
            return False
        identity = self._identity(scope, found.get(b"authorization"), cache)
        if identity is None:
            return False
        limits = self._limits(identity)
        if limits is None:
            return False
        cache.served(key)

        request_id = found.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        headers = [*entry.headers, (b"x-request-id", request_id.encode())]
        present = {name.lower() for name, _ in headers}
        csp = content_security_policy(scope["path"]).encode()
        extra = [*self.base, (b"content-security-policy", csp), *limits]
        headers += [(k, v) for k, v in extra if k not in present]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": entry.body})
        finally:
            seconds = time.perf_counter() - started
            metrics: ApiMetrics | None = getattr(self.state, "metrics", None)
            if metrics is not None:
                metrics.observe("GET", entry.route, 200, seconds)
            log_access(scope, entry.route, 200, seconds, request_id)
        return True

    def _identity(self, scope: Scope, authorization: bytes | None, cache: ReadCache) -> str | None:
        """Whom the request counts against; None when only the usual path can tell."""
        if authorization is None:
            if self.settings.read_requires_key:
                return None  # refused (401) the usual way
            client = scope.get("client")
            return f"ip:{client[0] if client else 'unknown'}"
        scheme, _, given = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        principal = bootstrap_principal(self.settings, given)
        if principal is None and looks_like_key(given):
            # Every stored key may read: scopes nest (admin > write > read) and the table
            # refuses a key without one (ck_api_key_scopes), so no scope check is due here.
            principal = cache.known_key(hash_key(given))
        return principal.identity if principal is not None else None

    def _limits(self, identity: str) -> list[tuple[bytes, bytes]] | None:
        """The RateLimit-* headers of one more read; None when Redis must decide."""
        limiter: RateLimiter | None = getattr(self.state, "rate_limiter", None)
        if limiter is None or limiter.per_minute <= 0:
            return []  # reads are not limited: no headers, as on the usual path
        redis = getattr(self.state, "arq", None)
        if redis is None:
            return None
        verdict = limiter.local.take(redis, identity, time.time())
        if verdict is None:
            return None
        return [
            (b"ratelimit-limit", str(verdict.limit).encode()),
            (b"ratelimit-remaining", str(verdict.remaining).encode()),
            (b"ratelimit-reset", str(verdict.reset_s).encode()),
        ]
