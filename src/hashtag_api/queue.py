"""The arq-backed JobQueue: enqueue by job name, tolerate an unreachable Redis."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from hashtag_core.jobs import REQUEST_ID_KWARG
from hashtag_core.logging import current_request_id

__all__ = ["ArqJobQueue"]

logger = logging.getLogger(__name__)
_ENQUEUE_TIMEOUT_S = 2.0


class ArqJobQueue:
    """Queue jobs on arq. A Redis outage returns False instead of failing the request: the
    data is already committed together with its data-version bump, which the worker's
    catch-up cron turns into a recompute once Redis answers again."""

    def __init__(self, redis: ArqRedis | None) -> None:
        self.redis = redis

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
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("could not enqueue %s (%s): %s", name, job_id, exc)
            return False
        return True
