"""The worker's Prometheus metrics and the wrapper every job runs in.

`instrumented(name, job)` times each run into `hashtag_job_duration_seconds{job,outcome}`,
counts failures in `hashtag_job_failures_total{job}`, and binds the job's name, id and the
request id it was enqueued with (the optional `request_id` keyword, see
`hashtag_core.jobs.REQUEST_ID_KWARG`) to its log lines. `count_collect_errors(platform)` counts
collection failures by platform and error class. The worker serves these on
HASHTAG_WORKER_METRICS_HOST:HASHTAG_WORKER_METRICS_PORT/metrics (0 = no server): each worker
process is a scrape target of its own, as Prometheus expects.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias
from wsgiref.simple_server import WSGIServer

from arq.worker import Retry
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)

from hashtag_core.collect.errors import CollectError
from hashtag_core.config import Settings
from hashtag_core.jobs import REQUEST_ID_KWARG
from hashtag_core.logging import log_context

__all__ = [
    "COLLECT_ERRORS",
    "JOB_FAILURES",
    "JOB_SECONDS",
    "REGISTRY",
    "JobFunction",
    "count_collect_errors",
    "instrumented",
    "start_metrics_server",
]

logger = logging.getLogger(__name__)

JobFunction: TypeAlias = Callable[..., Coroutine[Any, Any, Any]]

#: No `*_created` series: they double every histogram and counter (see hashtag_api.metrics).
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client
#: The worker process's registry (the API's metrics live in the API process).
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
JOB_SECONDS = Histogram(
    "hashtag_job_duration_seconds",
    "Run time of a job, by job name and outcome (success, failure, retry, cancelled).",
    ["job", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "hashtag_job_failures_total",
    "Job runs that raised (arq records the error at GET /jobs/{id}), by job name.",
    ["job"],
    registry=REGISTRY,
)
COLLECT_ERRORS = Counter(
    "hashtag_collect_errors_total",
    "Collections and re-fetches that failed, by platform and error (AuthExpired, ...).",
    ["platform", "error"],
    registry=REGISTRY,
)


def instrumented(name: str, job: JobFunction) -> JobFunction:
    """`job`, timed and counted under `name`, logging with its job and request ids."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        request_id = kwargs.pop(REQUEST_ID_KWARG, None)
        outcome = "failure"
        started = time.perf_counter()
        with log_context(request_id=request_id, job=name, job_id=ctx.get("job_id")):
            try:
                result = await job(ctx, *args, **kwargs)
            except Retry:
                outcome = "retry"
                raise
            except asyncio.CancelledError:  # a timeout, or the worker shutting down
                outcome = "cancelled"
                raise
            except Exception:
                JOB_FAILURES.labels(name).inc()
                raise
            else:
                outcome = "success"
                return result
            finally:
                JOB_SECONDS.labels(name, outcome).observe(time.perf_counter() - started)

    return run


@contextmanager
def count_collect_errors(platform: str) -> Iterator[None]:
    """Count a CollectError (directly or as the cause of the one raised) under `platform`."""
    try:
        yield
    except Exception as exc:
        cause = exc if isinstance(exc, CollectError) else exc.__cause__
        if isinstance(cause, CollectError):
            COLLECT_ERRORS.labels(platform, type(cause).__name__).inc()
        raise


def start_metrics_server(settings: Settings) -> WSGIServer | None:
    """Serve REGISTRY over HTTP when a port is configured; a port in use is logged, not fatal."""
    port = settings.worker_metrics_port
    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=settings.worker_metrics_host, registry=REGISTRY)
    except OSError as exc:
        logger.error("worker metrics not served on port %d: %s", port, exc)
        return None
    logger.info("worker metrics at http://%s:%d/metrics", settings.worker_metrics_host, port)
    return server
