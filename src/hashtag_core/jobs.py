"""Job names and argument conventions shared by the API (which enqueues by name) and the
worker (which registers the functions under these names)."""

from __future__ import annotations

from typing import Protocol

__all__ = [
    "ALERTS",
    "COLLECT_ACCOUNT",
    "COLLECT_JOB_PREFIX",
    "collect_job_id",
    "JobQueue",
    "RECOMPUTE",
    "RECOMPUTE_JOB_PREFIX",
    "REFRESH_POST",
    "REQUEST_ID_KWARG",
    "parse_recompute_job_id",
    "recompute_job_id",
]

#: Rebuild the precomputed aggregates up to the current data version.
RECOMPUTE = "recompute"
#: Re-fetch one post's metrics from its platform (argument: post id in our database).
REFRESH_POST = "refresh_post"
#: Collect one account's new posts, metrics and followers (argument: account id).
COLLECT_ACCOUNT = "collect_account"
#: Find alerts (post outliers, accounts not syncing), plan and send their deliveries.
ALERTS = "scan_alerts"
#: Every collection job id starts with this (the worker finds them in the queue by it).
COLLECT_JOB_PREFIX = "collect:"
RECOMPUTE_JOB_PREFIX = "recompute:"
#: Optional keyword every job accepts: the id of the API request that caused it (for the logs).
#: The worker's job wrapper takes it off before calling the job function.
REQUEST_ID_KWARG = "request_id"


def collect_job_id(account_id: int, slot: int) -> str:
    """Job id of a collection of `account_id` in time slot `slot` (same slot = same job)."""
    return f"{COLLECT_JOB_PREFIX}{account_id}:{slot}"


def recompute_job_id(version: int) -> str:
    """The job id of the recompute that covers data version `version`.

    One id per version means re-enqueueing for the same version is a no-op (arq refuses a
    duplicate id) while a newer version gets its own job, which the running one absorbs.
    """
    return f"{RECOMPUTE_JOB_PREFIX}{version}"


def parse_recompute_job_id(job_id: str) -> int | None:
    """The data version a recompute job id names, or None for other jobs."""
    if not job_id.startswith(RECOMPUTE_JOB_PREFIX):
        return None
    tail = job_id[len(RECOMPUTE_JOB_PREFIX) :]
    return int(tail) if tail.isdigit() else None


class JobQueue(Protocol):
    """Where services put jobs. The API and worker pass an arq-backed implementation."""

    async def enqueue(self, name: str, *args: object, job_id: str, defer_s: float = 0) -> bool:
        """Queue `name(*args)` once under `job_id`; False when the queue is unreachable."""
        ...
