"""PostgreSQL restarted in the middle of a large import, then the import sent again as the 503
advises (issue 14): the interrupted import stored nothing, and the retry stores the file once,
with one metric snapshot per post. Before, every 5,000 rows were committed as they went: the
interrupted import kept half the file and the retry doubled its snapshots.

Real processes on private servers (tests/rig.py), as in test_faults_postgres.py."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.helpers import ndjson
from tests.rig import AUTH, Rig, api_process

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

logger = logging.getLogger(__name__)
ROWS = 30_000
BATCH_ROWS = 1_000
STOP_AFTER_S = 2.0
OUTAGE_S = 2.0


def _body() -> bytes:
    start = datetime.now(UTC) - timedelta(days=300)
    return ndjson(
        [
            {
                "platform": "x",
                "account": f"restart_brand{i % 7}",
                "post_id": f"r{i}",
                "text": f"post {i} #restart #tag{i % 11}",
                "posted_at": (start + timedelta(minutes=i)).isoformat(),
                "likes": i % 1000,
                "followers": 5000,
            }
            for i in range(ROWS)
        ]
    )


async def _counts(rig: Rig) -> tuple[int, int, int]:
    conn = await asyncpg.connect(rig.database_url.replace("+asyncpg", ""), timeout=10)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM post) AS posts, "
            "(SELECT count(*) FROM post_metric_snapshot) AS snapshots, "
            "(SELECT count(DISTINCT post_id) FROM post_metric_snapshot) AS snapped"
        )
    finally:
        await conn.close()
    return row["posts"], row["snapshots"], row["snapped"]


async def test_an_interrupted_import_and_its_retry_store_the_file_once(rig: Rig) -> None:
    api, url = api_process(rig.env(HASHTAG_IMPORT_BATCH_ROWS=str(BATCH_ROWS)), rig.log("api"))
    body = _body()
    headers = {**AUTH, "Content-Type": "application/x-ndjson"}
    try:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            started = time.monotonic()
            first = asyncio.create_task(client.post("/posts/import", content=body, headers=headers))
            await asyncio.sleep(STOP_AFTER_S)
            assert not first.done(), "the import ended before the restart: nothing was tested"
            await asyncio.to_thread(rig.pg.stop)
            try:
                interrupted = await first
            except httpx.HTTPError as exc:  # no answer is allowed; a half import is not
                interrupted = None
                logger.info("interrupted import: no answer (%r)", exc)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(rig.pg.start)
            if interrupted is not None:
                assert interrupted.status_code == 503, interrupted.text
                assert interrupted.headers.get("retry-after")
            assert await _counts(rig) == (0, 0, 0)  # nothing of the interrupted import

            retried = await client.post("/posts/import", content=body, headers=headers)
            assert retried.status_code == 202, retried.text
            assert retried.json()["inserted"] == ROWS
            assert await _counts(rig) == (ROWS, ROWS, ROWS)

            # Sent once more (a client that did not see the 202): nothing is added.
            again = await client.post("/posts/import", content=body, headers=headers)
            assert again.status_code == 202, again.text
            assert await _counts(rig) == (ROWS, ROWS, ROWS)
        logger.info(
            "interrupted import: %d rows, PostgreSQL stopped %.1f s in; answer %s; after the "
            "restart 0 posts stored; the retry stored %d posts and %d snapshots in %.1f s",
            ROWS,
            STOP_AFTER_S,
            interrupted.status_code if interrupted is not None else "none",
            ROWS,
            ROWS,
            time.monotonic() - started,
        )
    finally:
        api.stop()
