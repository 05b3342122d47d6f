"""arq WorkerSettings. `hashtag-analysis worker` runs it with `worker_options(settings)`, which
adds what depends on the environment (Redis address, cron intervals)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings
from arq.cron import CronJob
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hashtag_core.collect.registry import build_connectors, make_clients
from hashtag_core.collect.versions import version_warnings
from hashtag_core.config import Settings, get_settings
from hashtag_core.db import create_engine, create_sessionmaker
from hashtag_core.jobs import ALERTS, COLLECT_ACCOUNT, RECOMPUTE, REFRESH_POST
from hashtag_worker import jobs
from hashtag_worker.metrics import JobFunction, instrumented, start_metrics_server
from hashtag_worker.resources import RESOURCES_KEY, WorkerResources

__all__ = [
    "WorkerSettings",
    "cron_jobs",
    "functions",
    "on_shutdown",
    "on_startup",
    "worker_options",
]

logger = logging.getLogger(__name__)
_RECOMPUTE_TIMEOUT_S = 1800
_COLLECT_TIMEOUT_S = 3600
_METRICS_SERVER_KEY = "hashtag_metrics_server"
_WARM_KEY = "hashtag_warm_cache"
_REDIS_RETRIES = 900
_ALERTS_TIMEOUT_S = 1800


async def on_startup(ctx: dict[str, Any]) -> None:
    """Build the engine once per worker process."""
    settings = ctx.get("settings") or get_settings()
    engine = create_engine(settings, application_name="hashtag-worker")
    clients = make_clients(settings.collect)
    connectors = build_connectors(settings.collect, clients)
    ctx[RESOURCES_KEY] = WorkerResources(
        settings, engine, create_sessionmaker(engine), clients, connectors
    )
    ctx[_METRICS_SERVER_KEY] = start_metrics_server(settings)
    # In the background: jobs run meanwhile (a pass waits for the cache's lock, then uses it).
    ctx[_WARM_KEY] = asyncio.create_task(jobs.warm_cache(engine))
    for warning in version_warnings(settings.collect, datetime.now(UTC).date()):
        logger.warning("%s", warning)
    logger.info("worker ready")


async def on_shutdown(ctx: dict[str, Any]) -> None:
    """Close the engine and the metrics server."""
    warming = ctx.pop(_WARM_KEY, None)
    if warming is not None:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming
    server = ctx.pop(_METRICS_SERVER_KEY, None)
    if server is not None:
        server.shutdown()
        server.server_close()
    found = ctx.get(RESOURCES_KEY)
    if isinstance(found, WorkerResources):
        for client in found.http_clients.values():
            await client.aclose()
        await found.engine.dispose()


def functions() -> list[Any]:
    """The jobs this worker runs, under the names the API enqueues (each one instrumented:
    timed, counted, and logging with its job and request ids)."""
    return [
        func(
            instrumented(RECOMPUTE, jobs.recompute),
            name=RECOMPUTE,
            timeout=_RECOMPUTE_TIMEOUT_S,
            max_tries=5,
        ),
        func(instrumented(REFRESH_POST, jobs.refresh_post), name=REFRESH_POST, max_tries=1),
        func(
            instrumented(ALERTS, jobs.scan_alerts),
            name=ALERTS,
            max_tries=2,
            timeout=_ALERTS_TIMEOUT_S,
        ),
        func(
            instrumented(COLLECT_ACCOUNT, jobs.collect_account),
            name=COLLECT_ACCOUNT,
            # 2: a collection cancelled by a SIGTERM drain (job_completion_wait) is re-queued
            # by arq and runs once more; a failure that raises is not retried by arq.
            max_tries=2,
            timeout=_COLLECT_TIMEOUT_S,
        ),
    ]


def _cron(job: JobFunction) -> JobFunction:
    # Named as arq names the cron job (cron:<function name>), which the wrapper keeps.
    return instrumented(f"cron:{job.__qualname__}", job)


def cron_jobs(settings: Settings) -> list[CronJob]:
    """Catch-up, due re-fetches and the recovery of collections whose worker died, every
    minute; due collections every `collect_cron_minutes`; alerts every `alerts.cron_minutes`;
    due scheduled reports hourly; a forced recompute every `recompute_cron_minutes`."""
    found = [
        cron(_cron(jobs.catch_up), second=7, run_at_startup=True, unique=True, timeout=60),
        cron(_cron(jobs.refresh_due), second=37, unique=True, timeout=60),
        # Also when scheduled collection is off: POST /collect queues collections too.
        cron(
            _cron(jobs.recover_collections),
            second=47,
            run_at_startup=True,
            unique=True,
            timeout=60,
        ),
    ]
    if settings.collect_cron_minutes:
        step = settings.collect_cron_minutes
        found.append(
            cron(
                _cron(jobs.collect_due),
                minute=set(range(0, 60, step)) if step < 60 else {0},
                second=17,
                run_at_startup=True,
                unique=True,
                timeout=60,
            )
        )
    step = settings.alerts.cron_minutes
    if step:
        found.append(
            cron(
                _cron(jobs.scan_alerts),
                minute=set(range(0, 60, step)) if step < 60 else {0},
                second=53,
                unique=True,
                timeout=_ALERTS_TIMEOUT_S,
            )
        )
    # Hourly: a report is due from its period's first day at report_hour_utc.
    found.append(
        cron(_cron(jobs.send_reports), minute={5}, second=0, unique=True, timeout=_ALERTS_TIMEOUT_S)
    )
    every = settings.recompute_cron_minutes
    if every:
        minutes = set(range(0, 60, every)) if every < 60 else {0}
        found.append(
            cron(
                _cron(jobs.periodic_recompute),
                minute=minutes,
                second=30,
                unique=True,
                timeout=_RECOMPUTE_TIMEOUT_S,
            )
        )
    return found


def worker_options(settings: Settings) -> dict[str, Any]:
    """Options resolved from settings when the worker starts (not at import)."""
    if not settings.redis_url:
        raise RuntimeError("HASHTAG_REDIS_URL is not set; 'hashtag-analysis up' starts one")
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    # Ride out a Redis outage (restart, failover) instead of exiting: every command retries
    # connection errors with backoff (at most 2 s apart) for about half an hour.
    # (OSError: a refused connection surfaces as one inside redis-py's connect retry.)
    redis_settings.retry_on_error = [RedisConnectionError, RedisTimeoutError, OSError, TimeoutError]
    redis_settings.retry = Retry(ExponentialBackoff(cap=2, base=0.1), _REDIS_RETRIES)
    return {
        "redis_settings": redis_settings,
        "cron_jobs": cron_jobs(settings),
        "keep_result": settings.job_keep_result_s,
        "job_completion_wait": settings.worker_shutdown_grace_s,
    }


class WorkerSettings:
    """The static part of the arq settings (see `worker_options`)."""

    functions: ClassVar[list[Any]] = functions()
    on_startup = on_startup
    on_shutdown = on_shutdown
    max_jobs = 4
    job_timeout = _RECOMPUTE_TIMEOUT_S
    health_check_interval = 30
    #: How often an idle worker asks Redis for jobs (arq's default is 0.5 s): an update's
    #: incremental recompute should show within a second, and this wait is part of it.
    poll_delay = 0.05
    #: On SIGTERM/SIGINT stop taking jobs and give running ones this long to finish; those
    #: still running are then cancelled and re-queued (arq retries a cancelled job). Under the
    #: 30 s grace period container platforms give before SIGKILL. `worker_options` replaces it
    #: with the `worker_shutdown_grace_s` setting.
    job_completion_wait = 25
