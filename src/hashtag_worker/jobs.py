"""The worker's jobs: thin adapters that open what they need and call one core service.

All are idempotent: a recompute brings the aggregates to the latest data version whatever it
was asked for, and the catch-up only enqueues under the version's own job id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx
from arq.constants import in_progress_key_prefix
from arq.jobs import Job, JobStatus
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_core.accounts.repository import due_accounts, get_account
from hashtag_core.aggregates import service as aggregate_service
from hashtag_core.aggregates.repository import read_versions, recompute_running
from hashtag_core.alerts import detect as alert_detect
from hashtag_core.alerts import report as report_service
from hashtag_core.alerts.delivery import deliver_alerts
from hashtag_core.jobs import (
    COLLECT_ACCOUNT,
    COLLECT_JOB_PREFIX,
    RECOMPUTE,
    REFRESH_POST,
    REQUEST_ID_KWARG,
    collect_job_id,
    recompute_job_id,
)
from hashtag_core.logging import current_request_id
from hashtag_core.sync import service as sync_service
from hashtag_core.sync.repository import collecting_now, due_refreshes, post_with_account
from hashtag_worker.metrics import count_collect_errors
from hashtag_worker.resources import resources

__all__ = [
    "RefetchUnavailable",
    "catch_up",
    "collect_account",
    "collect_due",
    "periodic_recompute",
    "recompute",
    "recover_collections",
    "recovery_job_id",
    "refresh_due",
    "refresh_post",
    "scan_alerts",
    "send_reports",
]

logger = logging.getLogger(__name__)
_REFRESH_BATCH = 500
#: How long an in-progress recompute job may go without holding the recompute lock before the
#: catch-up takes its worker for dead (a live job takes the lock within milliseconds).
ORPHAN_RECHECK_S = 2.0
#: Likewise for a collection and its account's sync lock (taken before its first request and
#: held until its results are committed).
COLLECT_ORPHAN_RECHECK_S = 2.0


class RefetchUnavailable(Exception):
    """Re-fetching needs a platform connector for the post's account."""


async def recompute(ctx: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    """Bring the aggregates up to date (the version argument only names the trigger)."""
    outcome = await aggregate_service.recompute(resources(ctx).engine)
    logger.info("recompute for version %s: %s", version, outcome.status)
    await _warm_after(ctx, outcome)
    return asdict(outcome)


async def periodic_recompute(ctx: dict[str, Any]) -> dict[str, Any]:
    """Recompute even without new data, so the 7d/30d/... windows move with the clock."""
    outcome = await aggregate_service.recompute(resources(ctx).engine, force=True)
    await _warm_after(ctx, outcome)
    return asdict(outcome)


async def _warm_after(ctx: dict[str, Any], outcome: aggregate_service.RecomputeOutcome) -> None:
    """After a full pass, read the popular hashtags' posts again for the incremental passes
    (the pass emptied the cache)."""
    if outcome.status == "computed":
        await warm_cache(resources(ctx).engine)


async def scan_alerts(ctx: dict[str, Any]) -> dict[str, Any]:
    """Find post outliers and accounts that stopped syncing, log a delivery per alert and
    subscription, and send every open one (idempotent: keys name alerts and deliveries)."""
    res = resources(ctx)
    now = datetime.now(UTC)
    async with res.sessionmaker() as session:
        outliers = await alert_detect.find_post_outliers(session, res.settings.alerts, now=now)
        stale = await alert_detect.find_stale_accounts(session, res.settings.alerts, now=now)
        planned = await alert_detect.plan_deliveries(session, now=now)
        await session.commit()
    async with httpx.AsyncClient(follow_redirects=False) as client:
        sent = await deliver_alerts(
            res.sessionmaker, alerts=res.settings.alerts, smtp=res.settings.smtp, client=client
        )
    return {"post_outliers": outliers, "sync_stale": stale, "planned": planned, **sent}


async def send_reports(ctx: dict[str, Any]) -> dict[str, Any]:
    """Send the scheduled reports due (each once per period and recipient)."""
    res = resources(ctx)
    return await report_service.send_due_reports(
        res.sessionmaker,
        smtp=res.settings.smtp,
        alerts=res.settings.alerts,
        report_hour_utc=res.settings.report_hour_utc,
        now=datetime.now(UTC),
    )


async def warm_cache(engine: AsyncEngine) -> None:
    """Fill the posts cache (at worker start, after a full pass). Never fails the job or the
    worker: a cold cache only makes the next incremental passes slower."""
    try:
        await aggregate_service.warm_posts(engine)
    except Exception:  # the database may be down or not migrated yet: the passes read it
        logger.warning("could not fill the posts cache", exc_info=True)


async def catch_up(ctx: dict[str, Any]) -> dict[str, Any]:
    """Enqueue a recompute if data changed without one being queued (Redis was down)."""
    async with resources(ctx).engine.connect() as conn:
        versions = await read_versions(conn)
    if versions.computed >= versions.requested:
        return {"stale": False}
    job_id = recompute_job_id(versions.requested)
    job = await ctx["redis"].enqueue_job(RECOMPUTE, versions.requested, _job_id=job_id)
    if job is None and await _orphaned(ctx, job_id):
        # Marked running, but its worker died (SIGKILL, OOM): arq then keeps the job
        # in-progress mark for the longest job timeout (an hour) before retrying it. A
        # recompute is idempotent and coalesces with a live one (advisory lock), so queue
        # another under this catch-up's own id rather than wait.
        job_id = f"{job_id}:catch-up:{int(time.time())}"
        job = await ctx["redis"].enqueue_job(RECOMPUTE, versions.requested, _job_id=job_id)
    logger.info(
        "catch-up: data version %s not computed; %s",
        versions.requested,
        "queued " + job_id if job else job_id + " already queued",
    )
    return {"stale": True, "job_id": job_id, "queued": job is not None}


async def _orphaned(ctx: dict[str, Any], job_id: str) -> bool:
    """Whether arq marks `job_id` in progress while no recompute pass runs, twice in a row.

    A live job holds the recompute lock (or finishes) within milliseconds of starting, so a job
    seen running without the lock at two looks ORPHAN_RECHECK_S apart lost its worker. One look
    would also catch a live job in the moment between its start and its lock.
    """
    for look in range(2):
        if look:
            await asyncio.sleep(ORPHAN_RECHECK_S)
        if await Job(job_id, ctx["redis"]).status() is not JobStatus.in_progress:
            return False
        async with resources(ctx).engine.connect() as conn:
            running = await recompute_running(conn)
        if running:
            return False
    return True


class _Queue:
    """JobQueue over the worker's own arq connection (the API's adapter is not ours to use)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.redis = ctx["redis"]

    async def enqueue(self, name: str, *args: object, job_id: str, defer_s: float = 0) -> bool:
        """Queue a job once under its id, with the request id this job was enqueued with."""
        request_id = current_request_id()
        extra: dict[str, Any] = {REQUEST_ID_KWARG: request_id} if request_id else {}
        await self.redis.enqueue_job(
            name, *args, _job_id=job_id, _defer_by=defer_s or None, **extra
        )
        return True


async def collect_account(ctx: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Collect one account's new posts, refreshed metrics and followers."""
    res = resources(ctx)
    async with res.sessionmaker() as session:
        row = await get_account(session, account_id)
        if row is None:
            return {"account_id": account_id, "status": "gone"}
        with count_collect_errors(row["platform"]):
            outcome = await sync_service.sync_account(
                session,
                account_id,
                connector=res.connector(row["platform"]),
                settings=res.settings,
                queue=_Queue(ctx),
                now=datetime.now(UTC),
                # The schedule and POST /collect can queue the same account together.
                queued_at=ctx.get("enqueue_time"),
            )
    return outcome.as_dict()


async def collect_due(ctx: dict[str, Any]) -> dict[str, Any]:
    """Queue a collection for every account whose next sync is due and that is not being
    collected right now (a running first sync has no next_sync_at yet)."""
    now = datetime.now(UTC)
    async with resources(ctx).sessionmaker() as session:
        running = await collecting_now(session)
        due = [row for row in await due_accounts(session, now) if row["id"] not in running]
    queued = []
    for row in due:
        slot = int((row["next_sync_at"] or now).timestamp())
        job = await ctx["redis"].enqueue_job(
            COLLECT_ACCOUNT, row["id"], _job_id=collect_job_id(row["id"], slot)
        )
        if job is not None:
            queued.append(row["id"])
    return {"due": len(due), "queued": queued}


def recovery_job_id(job_id: str) -> str:
    """The id under which `recover_collections` queues again the collection `job_id` (one
    id per dead job, so several workers recovering it at once queue it once)."""
    return f"{job_id}:recover"


async def recover_collections(ctx: dict[str, Any]) -> dict[str, Any]:
    """Queue again every collection whose worker died in the middle of it (SIGKILL, OOM).

    arq keeps a dead worker's job marked in progress for the longest job timeout + 10 s (an
    hour) and meanwhile refuses its id: a scheduled re-sync reuses it (`collect:{id}:{slot}`),
    so the account would wait that long. (When the mark expires arq runs the dead job once
    more, as its second and last try, collections having max_tries=2; by then the recovery has
    synced the account, so that run skips it as collected since it was queued.)
    A collection holds its account's sync lock from its first request until its results are
    committed, so one marked in progress while that lock is free at two looks
    COLLECT_ORPHAN_RECHECK_S apart has lost its worker; its account is queued again under
    `recovery_job_id` (a collection is idempotent: posts are upserted and it resumes from the
    watermark the dead run left). Runs at worker startup and every minute.
    """
    redis = ctx["redis"]
    candidates: dict[str, tuple[int, dict[str, Any], datetime]] = {}
    for job_id in await _collections_in_progress(redis):
        if await Job(recovery_job_id(job_id), redis).status() is not JobStatus.not_found:
            continue  # recovered already (arq keeps its mark on the dead job for an hour)
        info = await Job(job_id, redis).info()
        if info is None or info.function != COLLECT_ACCOUNT or not info.args:
            continue
        extra = {k: v for k, v in info.kwargs.items() if k == REQUEST_ID_KWARG}
        candidates[job_id] = (int(info.args[0]), extra, info.enqueue_time)
    for look in range(2):
        if not candidates:
            break
        if look:
            await asyncio.sleep(COLLECT_ORPHAN_RECHECK_S)
        still = await _collections_in_progress(redis)
        async with resources(ctx).sessionmaker() as session:
            running = await collecting_now(session)
        candidates = {
            job_id: found
            for job_id, found in candidates.items()
            if job_id in still and found[0] not in running
        }
    queued = []
    for job_id, (account_id, extra, enqueued) in candidates.items():
        async with resources(ctx).sessionmaker() as session:
            row = await get_account(session, account_id)
        if row is None or (row["last_sync_at"] and row["last_sync_at"] >= enqueued):
            continue  # gone, or collected (or failed) since: nothing to do again
        new_id = recovery_job_id(job_id)
        if await redis.enqueue_job(COLLECT_ACCOUNT, account_id, _job_id=new_id, **extra):
            queued.append(new_id)
            logger.warning(
                "collection %s of account %s lost its worker; queued %s", job_id, account_id, new_id
            )
    return {"orphaned": sorted(candidates), "queued": queued}


async def _collections_in_progress(redis: Any) -> set[str]:
    """Ids of the collection jobs arq marks in progress."""
    ids = [
        job_id
        for job_id in (raw.decode() for raw in await redis.zrange(redis.default_queue_name, 0, -1))
        if job_id.startswith(COLLECT_JOB_PREFIX)
    ]
    if not ids:
        return set()
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.exists(in_progress_key_prefix + job_id)
        marked = await pipe.execute()
    return {job_id for job_id, flag in zip(ids, marked, strict=True) if flag}


async def refresh_due(ctx: dict[str, Any]) -> dict[str, Any]:
    """Queue the re-fetches whose post age has come (1 h, 24 h, 7 d after posting)."""
    async with resources(ctx).sessionmaker() as session:
        due = await due_refreshes(session, datetime.now(UTC), _REFRESH_BATCH)
    for item in due:
        await ctx["redis"].enqueue_job(
            REFRESH_POST,
            item["post_id"],
            item["age_label"],
            _job_id=f"refresh:{item['post_id']}:{item['age_label']}",
        )
    return {"queued": len(due)}


async def refresh_post(
    ctx: dict[str, Any], post_pk: int, age_label: str | None = None
) -> dict[str, Any]:
    """Re-fetch one post's metrics from its platform (on request or at a planned age)."""
    res = resources(ctx)
    async with res.sessionmaker() as session:
        row = await post_with_account(session, post_pk)
        if row is None:
            return {"post_id": post_pk, "status": "gone"}
        if not row["collect_enabled"]:
            raise RefetchUnavailable(
                f"post {post_pk} cannot be re-fetched: its account {row['handle']!r} has no "
                "token_ref (register one with PATCH /accounts/{id}); update its metrics with "
                "POST /update-post or an import instead"
            )
        with count_collect_errors(row["platform"]):
            return await sync_service.refresh_post(
                session,
                post_pk,
                age_label,
                connector=res.connector(row["platform"]),
                settings=res.settings,
                queue=_Queue(ctx),
                now=datetime.now(UTC),
            )
