"""Prometheus metrics of the API at GET /metrics, and one access-log line per request.

Request latency is measured by `ObserveRequests`, the outermost middleware, labelled with the
route template (never the raw path, so label values stay few). The queue depth and the
freshness of the aggregates are read from Redis and PostgreSQL when /metrics is scraped. Each
app has its own registry: with `api --workers N` every process answers for itself, so scrape
each one (or run one API process per container). The worker's job metrics are served by the
worker itself (HASHTAG_WORKER_METRICS_PORT, see `hashtag_worker.metrics`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from arq.connections import ArqRedis
from arq.constants import default_queue_name
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashtag_api.deps import SessionDep
from hashtag_api.readcache import ReadCache
from hashtag_core.hashtags import repository as hashtag_repo

__all__ = ["ApiMetrics", "ObserveRequests", "install", "log_access", "router"]

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("hashtag_api.access")

UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Probes and scrapes arrive every few seconds: their access lines are DEBUG, not INFO.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_SOURCES = ("postgres", "redis")

router = APIRouter()
#: No `*_created` series: they double every histogram and counter, and Prometheus reads the
#: reset time from the counter itself (the switch is process-wide; the worker sets it too).
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client


@dataclass
class _Snapshot:
    """What the last scrape read from PostgreSQL and Redis (None: not read)."""

    up: dict[str, bool] = field(default_factory=dict)
    queue_due: int | None = None
    queue_deferred: int | None = None
    age_s: float | None = None
    versions_behind: int | None = None


class _ScrapeTimeCollector(Collector):
    """Gauges read at scrape time; a value that could not be read is left out."""

    def __init__(self) -> None:
        self.snapshot = _Snapshot()

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        up = GaugeMetricFamily(
            "hashtag_metrics_source_up",
            "1 if the last scrape could read its figures from this source (postgres, redis).",
            labels=["source"],
        )
        for source in _SOURCES:
            up.add_metric([source], 1.0 if snap.up.get(source) else 0.0)
        yield up
        queue = GaugeMetricFamily(
            "hashtag_queue_jobs",
            "Jobs in the arq queue: due (waiting or running) or deferred to a later time.",
            labels=["state"],
        )
        if snap.queue_due is not None and snap.queue_deferred is not None:
            queue.add_metric(["due"], snap.queue_due)
            queue.add_metric(["deferred"], snap.queue_deferred)
        yield queue
        if snap.age_s is not None:
            yield GaugeMetricFamily(
                "hashtag_aggregates_age_seconds",
                "Seconds since the aggregates were last computed (recompute_state.computed_at).",
                value=snap.age_s,
            )
        if snap.versions_behind is not None:
            yield GaugeMetricFamily(
                "hashtag_aggregates_versions_behind",
                "Data versions not yet in the aggregates (data_version - computed_version).",
                value=snap.versions_behind,
            )


class ApiMetrics:
    """One app's registry and its metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.request_seconds = Histogram(
            "hashtag_http_request_duration_seconds",
            "Time from request to the end of the response, by method, route template and "
            "status code.",
            # `code`, as Prometheus' own HTTP metrics and client_golang's promhttp name it.
            ["method", "route", "code"],
            registry=self.registry,
        )
        self.scraped = _ScrapeTimeCollector()
        self.registry.register(self.scraped)

    async def refresh(self, session: AsyncSession, redis: ArqRedis | None) -> None:
        """Read the scrape-time figures; a source that does not answer is marked down."""
        snap = _Snapshot()
        try:
            status = await hashtag_repo.recompute_status(session)
        except Exception as exc:  # a scrape must answer even while PostgreSQL is down
            logger.warning("metrics: cannot read the recompute state: %s", type(exc).__name__)
            await session.rollback()
        else:
            snap.up["postgres"] = True
            snap.versions_behind = max(0, status["requested"] - status["computed_version"])
            if status["computed_at"] is not None:
                snap.age_s = (datetime.now(UTC) - status["computed_at"]).total_seconds()
        try:
            assert redis is not None
            now_ms = int(time.time() * 1000)
            total = await redis.zcard(default_queue_name)
            snap.queue_deferred = await redis.zcount(default_queue_name, now_ms + 1, "+inf")
            snap.queue_due = total - snap.queue_deferred
            snap.up["redis"] = True
        except Exception as exc:
            logger.warning("metrics: cannot read the queue length: %s", type(exc).__name__)
        self.scraped.snapshot = snap

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one request."""
        method = method if method in _METHODS else "OTHER"
        self.request_seconds.labels(method, route, str(status)).observe(seconds)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ObserveRequests:
    """ASGI middleware: latency into the histogram, and one access-log line per request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, object] = {"status": 500, "request_id": None}

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"x-request-id":
                        seen["request_id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            seconds = time.perf_counter() - started
            status = seen["status"] if isinstance(seen["status"], int) else 500
            route = _route(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            log_access(scope, route, status, seconds, seen["request_id"])


def log_access(scope: Scope, route: str, status: int, seconds: float, request_id: object) -> None:
    """The access-log line of one request (also written by hashtag_api.fastpath)."""
    path: str = scope.get("path", "")
    level = logging.DEBUG if path in _QUIET_PATHS and status < 500 else logging.INFO
    duration_ms = round(seconds * 1000, 1)
    access_logger.log(
        level,
        "%s %s %d %.1f ms",
        scope["method"],
        path,
        status,
        duration_ms,
        extra={
            "method": scope["method"],
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
        },
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, session: SessionDep) -> Response:
    """Prometheus text format. Open like /healthz (no API key): it holds no business data;
    keep it to the monitoring network."""
    found: ApiMetrics = request.app.state.metrics
    await found.refresh(session, getattr(request.app.state, "arq", None))
    return Response(generate_latest(found.registry), media_type=CONTENT_TYPE_LATEST)


class _ReadCacheCollector(Collector):
    """The read cache's counters and size (hashtag_api.readcache), read at scrape time."""

    def __init__(self, cache: ReadCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        stats = self.cache.stats
        lookups = CounterMetricFamily(
            "hashtag_read_cache_lookups",
            "Cached read routes' lookups: hit, miss (computed), bypass (listener down or off).",
            labels=["result"],
        )
        for result, count in (
            ("hit", stats.hits),
            ("miss", stats.misses),
            ("bypass", stats.bypassed),
        ):
            lookups.add_metric([result], count)
        yield lookups
        yield CounterMetricFamily(
            "hashtag_read_cache_invalidations",
            "Times the read cache was emptied (a change notified, a write, the listener lost).",
            value=stats.invalidations,
        )
        yield GaugeMetricFamily(
            "hashtag_read_cache_bytes", "Bytes of answers in the read cache.", value=self.cache.size
        )
        yield GaugeMetricFamily(
            "hashtag_read_cache_live",
            "1 while the read cache's PostgreSQL listener is connected (else every read is "
            "computed).",
            value=int(self.cache.live),
        )


def install(app: FastAPI) -> None:
    """Serve /metrics and measure every request (call after adding the other middleware, so
    that this one is outermost and sees their answers too)."""
    app.state.metrics = ApiMetrics()
    cache = getattr(app.state, "read_cache", None)
    if cache is not None:
        app.state.metrics.registry.register(_ReadCacheCollector(cache))
    app.include_router(router)
    app.add_middleware(ObserveRequests, metrics=app.state.metrics)
