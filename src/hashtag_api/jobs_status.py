"""Job status for GET /jobs/{job_id}: arq's record, checked against the database for
recomputes (whose effect is the data version the aggregates show)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.errors import NotFound, ServiceUnavailable
from hashtag_core.hashtags import repository as hashtag_repo
from hashtag_core.jobs import parse_recompute_job_id

__all__ = ["JobInfo", "JobState", "job_info"]


class JobState(StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class JobInfo(BaseModel):
    """A background job."""

    job_id: str
    status: JobState
    function: str | None = Field(default=None, description="Job name, e.g. recompute.")
    result: dict[str, Any] | None = Field(default=None, description="What it did, when complete.")
    error: str | None = Field(default=None, description="Why it failed, when failed.")
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


_ARQ_STATES = {
    JobStatus.deferred: JobState.QUEUED,
    JobStatus.queued: JobState.QUEUED,
    JobStatus.in_progress: JobState.RUNNING,
}


async def _arq_info(redis: ArqRedis, job_id: str) -> JobInfo | None:
    job = Job(job_id, redis)
    status = await job.status()
    if status is JobStatus.not_found:
        return None
    info = await job.info()
    base = JobInfo(
        job_id=job_id,
        status=_ARQ_STATES.get(status, JobState.COMPLETE),
        function=info.function if info else None,
        enqueued_at=info.enqueue_time if info else None,
    )
    result = await job.result_info() if status is JobStatus.complete else None
    if result is None:
        return base
    base.started_at, base.finished_at = result.start_time, result.finish_time
    if not result.success:
        base.status, base.error = JobState.FAILED, str(result.result)
    elif isinstance(result.result, dict):
        base.result = result.result
    return base


async def _recompute_info(
    session: AsyncSession, job_id: str, version: int, found: JobInfo | None
) -> JobInfo:
    status = await hashtag_repo.recompute_status(session)
    info = found or JobInfo(job_id=job_id, status=JobState.QUEUED, function="recompute")
    if status["computed_version"] >= version:
        info.status, info.error = JobState.COMPLETE, None
        info.result = {
            **(info.result or {}),
            "computed_version": status["computed_version"],
            "computed_at": status["computed_at"].isoformat() if status["computed_at"] else None,
        }
        return info
    if found is None and status["requested"] < version:
        raise NotFound(f"no job {job_id!r}")
    if info.status is JobState.COMPLETE:
        info.status = JobState.RUNNING  # absorbed by a pass that is still running
    return info


async def job_info(session: AsyncSession, redis: ArqRedis, job_id: str) -> JobInfo:
    """The state of a job; recompute ids are answered from the database if Redis is down."""
    version = parse_recompute_job_id(job_id)
    try:
        found = await _arq_info(redis, job_id)
    except (RedisError, OSError) as exc:
        if version is None:
            raise ServiceUnavailable(
                "the job queue (Redis) does not answer; retry shortly"
            ) from exc
        found = None
    if version is not None:
        return await _recompute_info(session, job_id, version, found)
    if found is None:
        raise NotFound(f"no job {job_id!r} (finished jobs are kept for a day)")
    return found
