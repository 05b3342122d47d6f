"""Nothing accepted is lost when Redis is down: 1,000 `POST /update-post` answered 2xx while
Redis is stopped are all stored and all recomputed once Redis is back, in one recompute.

Real processes on private servers (tests/rig.py): `hashtag-analysis api` (uvicorn) and
`hashtag-analysis worker` (arq), a PostgreSQL and a redis-server of the test's own. Redis is
really stopped (the process exits) and started again on the same port.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.helpers import ndjson
from tests.rig import AUTH, Rig, api_process, computed, worker_process

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

logger = logging.getLogger(__name__)
UPDATES = 1_000
TAG = "faultoutbox"
#: arq's log line for a recompute job starting (full or incremental, whatever its id).
RECOMPUTE_RUNS = re.compile(r"→ recompute:")


def _posts() -> list[dict[str, object]]:
    start = datetime.now(UTC) - timedelta(days=20)
    return [
        {
            "platform": "x",
            "account": "fault_brand",
            "account_timezone": "UTC",
            "post_id": f"p{i}",
            "text": f"post {i} #{TAG}",
            "posted_at": (start + timedelta(minutes=i)).isoformat(),
            "likes": 0,
            "comments": 0,
            "shares": 0,
        }
        for i in range(UPDATES)
    ]


async def _update_all(client: httpx.AsyncClient) -> list[httpx.Response]:
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> httpx.Response:
        async with gate:
            body = {"platform": "x", "post_id": f"p{i}", "likes": 10}
            return await client.post("/update-post", json=body)

    return await asyncio.gather(*(one(i) for i in range(UPDATES)))


async def test_updates_accepted_while_redis_is_down_are_all_recomputed(rig: Rig) -> None:
    api, url = api_process(rig.env(), rig.log("api"))
    worker = worker_process(rig.env(), rig.log("worker"))
    try:
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as client:
            imported = await client.post(
                "/posts/import",
                content=ndjson(_posts()),
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert imported.status_code == 202, imported.text
            before = await computed(client, version=imported.json()["data_version"])
            (item,) = [i for i in before["items"] if i["key"] == TAG]
            assert item["avg_engagement"] == 0

            rig.redis.stop()
            started = time.monotonic()
            answers = await _update_all(client)
            sent_s = time.monotonic() - started
            runs_before = len(RECOMPUTE_RUNS.findall(worker.output()))
            # The worker does not recompute while Redis is down (nothing reaches it).
            assert {r.status_code for r in answers} == {202}, answers[0].text
            assert not any(r.json()["job_queued"] for r in answers)
            version = max(r.json()["data_version"] for r in answers)

            rig.redis.start()
            restarted = time.monotonic()
            after = await computed(client, version=version, timeout=120)
            recovery_s = time.monotonic() - restarted
        (item,) = [i for i in after["items"] if i["key"] == TAG]
        assert item["posts"] == UPDATES
        assert item["avg_engagement"] == 10  # every update is in the figures
        assert after["data_version"] == version

        conn = await asyncpg.connect(rig.database_url.replace("+asyncpg", ""))
        try:
            updated = await conn.fetchval("SELECT count(*) FROM post WHERE likes = 10")
            snapshots = await conn.fetchval(
                "SELECT count(*) FROM post_metric_snapshot WHERE likes = 10"
            )
        finally:
            await conn.close()
        assert updated == UPDATES
        assert snapshots == UPDATES  # one stored snapshot per accepted update

        # One recompute job covers the 1,000 updates: the relay queued the latest version
        # once (the worker's catch-up backstop, if it ran, found it queued or done).
        runs = len(RECOMPUTE_RUNS.findall(worker.output())) - runs_before
        assert runs == 1, worker.output()[-3000:]
        assert "relay: Redis answers again" in api.output()
        logger.info(
            "outbox: %d updates with Redis down in %.1f s, all 202; recomputed %.1f s after "
            "Redis restarted, by %d recompute job(s)",
            UPDATES,
            sent_s,
            recovery_s,
            runs,
        )
    finally:
        worker.stop()
        api.stop()
