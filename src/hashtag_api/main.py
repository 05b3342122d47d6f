"""The FastAPI application: `create_app()` builds it; uvicorn serves `hashtag_api.main:app`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashtag_api import errors, metrics, openapi, readcache, security
from hashtag_api.fastpath import FastReads
from hashtag_api.queue import EnqueueRelay
from hashtag_api.ratelimit import RateLimiter
from hashtag_api.readcache import CacheListener, ReadCache
from hashtag_api.routers import (
    accounts,
    alerts,
    campaigns,
    dashboard,
    hashtags,
    health,
    help,
    imports,
    insights,
    jobs,
    periods,
    posts,
    timeline,
    trends,
)
from hashtag_core.config import Settings, get_settings
from hashtag_core.db import create_engine, create_sessionmaker
from hashtag_core.logging import log_context

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

DESCRIPTION = """
Which hashtags drive engagement on a brand's social posts, when, and which to use next.

* **Figures** come from precomputed tables rebuilt by the worker after every change; each
  response says when they were computed and each mean says how many posts it rests on.
  Definitions: `docs/metrics.md`.
* **Keys:** writes (`POST /posts/import`, `POST /update-post`, `POST /collect`,
  `POST`/`DELETE /campaigns`) need `Authorization: Bearer <key>` with scope `write`; account
  changes need scope `admin`; reads need scope `read` only when the server sets
  HASHTAG_READ_REQUIRES_KEY. Scopes nest: admin > write > read. Keys are made with
  `hashtag-analysis keys create`.
* **Rate limits:** per key (or client address); over the limit, 429 with `Retry-After`.
  `RateLimit-Limit/Remaining/Reset` headers show the budget.
* **Errors** share one shape, RFC 9457 problem details (`application/problem+json`):
  `type`, `title`, `status`, `detail`, `instance`, and our `code`, `details` (one entry per
  invalid field) and `request_id`.
* **Imports are atomic:** the valid records of one `POST /posts/import` body are stored in
  one transaction, all or none. A 5xx (or no answer) means it may not be stored; send the
  same body again. (PostgreSQL lost at the very moment of the commit can leave all of it
  stored behind a 503, never a part.) Re-sending is always safe: posts are upserted, and a
  post whose metrics did not change gets no second metric snapshot.
"""

TAGS = [
    {"name": "hashtags", "description": "Per-hashtag figures and the posts behind them."},
    {"name": "trends", "description": "Engagement by local weekday x hour and over time."},
    {"name": "insights", "description": "Recommendations and the full hashtag report."},
    {"name": "campaigns", "description": "Stored campaign plans and how the campaigns did."},
    {"name": "posts", "description": "Getting posts in and keeping their metrics current."},
    {"name": "accounts", "description": "Accounts the worker collects, and their sync state."},
    {"name": "alerts", "description": "Scheduled report emails and signed alert webhooks."},
    {"name": "jobs", "description": "Background recomputes, collections and re-fetches."},
    {"name": "health", "description": "Liveness and readiness."},
]


def _operation_id(route: APIRoute) -> str:
    """Stable snake_case operation ids: the handler's name."""
    return route.name


class RequestContext:
    """ASGI middleware: a request id on every response, and an early 413 for large bodies."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        length = headers.get(b"content-length")
        if length and length.isdigit() and int(length) > self.max_body_bytes:
            await _too_large(send, request_id, self.max_body_bytes, scope.get("path", ""))
            return

        received = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            # A chunked body has no Content-Length to refuse early: count it as it arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise StarletteHTTPException(413, _too_large_message(limit))
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        # Every log line of the request, and every job it enqueues, carries its id.
        with log_context(request_id=request_id):
            await self.app(scope, receive_limited, send_with_id)


def _too_large_message(limit: int) -> str:
    return (
        f"request body is larger than {limit} bytes (HASHTAG_MAX_BODY_BYTES); "
        "split the file or use the command-line import"
    )


async def _too_large(send: Send, request_id: str, limit: int, path: str) -> None:
    body = (
        errors.problem(
            413, "too_large", _too_large_message(limit), request_id=request_id, instance=path
        )
        .model_dump_json()
        .encode()
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", errors.PROBLEM_MEDIA_TYPE.encode()),
                (b"x-request-id", request_id.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the engine and the Redis pool; close them on shutdown."""
    settings: Settings = app.state.settings
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError(
            "HASHTAG_DATABASE_URL and HASHTAG_REDIS_URL must be set; "
            "'hashtag-analysis up' or 'hashtag-analysis api' start embedded ones for you"
        )
    engine = create_engine(settings, application_name="hashtag-api")
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    # redis-py connects lazily, so the API starts (and reports not-ready) while Redis is down.
    app.state.arq = ArqRedis.from_url(
        settings.redis_url, socket_timeout=2, socket_connect_timeout=2
    )
    # Jobs Redis refused while it was down are queued as soon as it answers again.
    app.state.relay = EnqueueRelay(app.state.arq, engine)
    app.state.relay.start()
    listener = CacheListener(app.state.read_cache, engine.url)
    if app.state.read_cache.enabled:
        listener.start()
    logger.info("API ready")
    try:
        yield
    finally:
        await listener.stop()
        await app.state.relay.stop()
        limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
        if limiter is not None:
            await limiter.local.aclose(app.state.arq)  # the fast path's last counts
        await app.state.arq.aclose()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application, configured by `settings` (default: the environment)."""
    settings = settings or get_settings()
    app = FastAPIOffline(
        title="Hashtag Analysis",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    errors.install(app)
    openapi.install(app, read_requires_key=settings.read_requires_key)
    for module in (
        hashtags,
        trends,
        periods,
        timeline,
        insights,
        campaigns,
        posts,
        imports,
        accounts,
        alerts,
        jobs,
        health,
    ):
        app.include_router(module.router)
    dashboard.install(app)
    app.include_router(help.router)
    # Innermost middleware: it keeps the bytes the routes answered.
    readcache.install(
        app,
        ReadCache(max_bytes=settings.read_cache_mb * 2**20, ttl_s=settings.read_cache_ttl_s),
    )
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    app.state.rate_limiter = RateLimiter(
        per_minute=settings.rate_limit_per_minute,
        writes_per_minute=settings.rate_limit_writes_per_minute,
    )
    security.install(app, settings)  # CORS (if configured) and security headers
    metrics.install(app)  # measures every answer, the early 413 included
    # Outermost: cached reads answered before the framework (it observes and logs its own).
    app.add_middleware(FastReads, state=app.state)
    return app
