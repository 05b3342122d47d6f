"""The arq-backed JobQueue: enqueue by job name, tolerate an unreachable Redis, and hand what
could not be queued to arq as soon as Redis answers again (`EnqueueRelay`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_core.aggregates.repository import read_versions
from hashtag_core.jobs import (
    RECOMPUTE,
    REQUEST_ID_KWARG,
    parse_recompute_job_id,
    recompute_job_id,
)
from hashtag_core.logging import current_request_id

__all__ = ["ArqJobQueue", "EnqueueRelay"]

logger = logging.getLogger(__name__)
_ENQUEUE_TIMEOUT_S = 2.0
_QUEUE_ERRORS = (RedisError, OSError, TimeoutError)


class EnqueueRelay:
    """Hands jobs that could not be queued to arq once Redis answers again.

    The outbox is the one-row `data_version`, bumped in the same transaction as every write:
    "recompute up to version N" is durable before the API answers. So a failed recompute
    enqueue only marks the relay; when Redis answers it reads the versions and queues one
    recompute for the latest requested version (1,000 missed updates make one job, not
    1,000). Other jobs (re-fetches, collections) are kept by job id, up to `max_pending`, and
    queued again under the same id. The worker's catch-up cron stays the backstop for what
    this process could not hand over (it stopped, or the cap was reached).
    """

    def __init__(
        self,
        redis: ArqRedis,
        engine: AsyncEngine,
        *,
        retry_every_s: float = 0.5,
        max_pending: int = 10_000,
    ) -> None:
        self.redis, self.engine = redis, engine
        self.retry_every_s, self.max_pending = retry_every_s, max_pending
        self.recompute_wanted = False
        self.pending: dict[str, tuple[str, tuple[object, ...], dict[str, Any]]] = {}
        self.handed_over = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def missed(
        self, name: str, args: tuple[object, ...], job_id: str, extra: dict[str, Any]
    ) -> None:
        """Remember a job whose enqueue failed."""
        if parse_recompute_job_id(job_id) is not None:
            self.recompute_wanted = True
        elif job_id in self.pending or len(self.pending) < self.max_pending:
            self.pending[job_id] = (name, args, extra)
        else:
            logger.warning("relay full: %s left to the worker's schedules", job_id)
        self._wake.set()

    def start(self) -> None:
        """Run the relay in the background of the current event loop."""
        self._task = asyncio.create_task(self._run(), name="enqueue-relay")

    async def stop(self) -> None:
        """Stop the background task (what is still missed is left to the worker's catch-up)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not await self.flush():
                await asyncio.sleep(self.retry_every_s)

    async def flush(self) -> bool:
        """Queue what was missed; False when Redis or PostgreSQL still do not answer."""
        try:
            async with asyncio.timeout(_ENQUEUE_TIMEOUT_S):
                await self.redis.ping()
            if self.recompute_wanted:
                self.recompute_wanted = False
                try:
                    await self._enqueue_recompute()
                except BaseException:
                    self.recompute_wanted = True
                    raise
            for job_id, (name, args, extra) in list(self.pending.items()):
                async with asyncio.timeout(_ENQUEUE_TIMEOUT_S):
                    await self.redis.enqueue_job(name, *args, _job_id=job_id, **extra)
                del self.pending[job_id]
                self.handed_over += 1
        except (*_QUEUE_ERRORS, SQLAlchemyError) as exc:
            logger.debug("relay: still unreachable: %s", exc)
            return False
        return True

    async def _enqueue_recompute(self) -> None:
        async with self.engine.connect() as conn:
            versions = await read_versions(conn)
            await conn.rollback()
        if versions.computed >= versions.requested:
            return
        job_id = recompute_job_id(versions.requested)
        async with asyncio.timeout(_ENQUEUE_TIMEOUT_S):
            job = await self.redis.enqueue_job(RECOMPUTE, versions.requested, _job_id=job_id)
        self.handed_over += 1
        logger.info(
            "relay: Redis answers again; %s %s",
            job_id,
            "queued" if job is not None else "was already queued",
        )


class ArqJobQueue:
    """Queue jobs on arq. A Redis outage returns False instead of failing the request: the
    data is already committed together with its data-version bump, and the relay (when given)
    queues the work once Redis answers again; the worker's catch-up cron is the backstop."""

    def __init__(self, redis: ArqRedis | None, relay: EnqueueRelay | None = None) -> None:
        self.redis, self.relay = redis, relay

    async def enqueue(self, name: str, *args: object, job_id: str, defer_s: float = 0) -> bool:
        """Queue `name(*args)` once under `job_id`; False when Redis is unreachable.

        The job carries the current request id, so the worker's log lines for it name the
        request that caused it.
        """
        if self.redis is None:
            return False
        request_id = current_request_id()
        extra: dict[str, Any] = {REQUEST_ID_KWARG: request_id} if request_id else {}
        try:
            async with asyncio.timeout(_ENQUEUE_TIMEOUT_S):
                await self.redis.enqueue_job(
                    name, *args, _job_id=job_id, _defer_by=defer_s or None, **extra
                )
        except _QUEUE_ERRORS as exc:
            logger.warning("could not enqueue %s (%s): %s", name, job_id, exc)
            if self.relay is not None:
                self.relay.missed(name, args, job_id, extra)
            return False
        return True
