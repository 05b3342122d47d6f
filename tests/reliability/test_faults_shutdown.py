"""Graceful shutdown of the API: on SIGTERM, uvicorn stops accepting connections, finishes the
requests in flight (here a streaming import that is still sending its body) and exits.
The worker's side (SIGTERM mid-recompute) is in test_faults_worker.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.rig import AUTH, Rig, api_process, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

logger = logging.getLogger(__name__)
CHUNKS = 10
PER_CHUNK = 500


async def _slow_body(sent: asyncio.Event) -> AsyncIterator[bytes]:
    start = datetime.now(UTC) - timedelta(days=30)
    for chunk in range(CHUNKS):
        lines = []
        for i in range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK):
            record = {
                "platform": "linkedin",
                "account": "shutdown_brand",
                "post_id": f"s{i}",
                "text": f"post {i} #graceful",
                "posted_at": (start + timedelta(minutes=i)).isoformat(),
                "likes": 1,
            }
            lines.append(json.dumps(record) + "\n")
        yield "".join(lines).encode()
        sent.set()
        await asyncio.sleep(0.3)


async def test_sigterm_lets_the_api_finish_requests_in_flight(rig: Rig) -> None:
    api, url = api_process(rig.env(), rig.log("api"))
    try:
        sent = asyncio.Event()
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=60) as client:
            upload = asyncio.create_task(
                client.post(
                    "/posts/import",
                    content=_slow_body(sent),
                    headers={"Content-Type": "application/x-ndjson"},
                )
            )
            await sent.wait()  # the request is in flight, its body still coming
            api.signal(signal.SIGTERM)
            termed = time.monotonic()
            wait_for(lambda: "Shutting down" in api.output(), timeout=30, what="shutdown")
            with pytest.raises(httpx.ConnectError):  # no new connections meanwhile
                await client.get("/healthz", headers={"Connection": "close"})
            response = await upload
            code = await asyncio.to_thread(api.wait, 60)
            exit_s = time.monotonic() - termed
        assert response.status_code == 202, response.text
        assert response.json()["stored"] == CHUNKS * PER_CHUNK
        # uvicorn shuts down cleanly, then re-raises the signal it caught, so the status
        # says "terminated by SIGTERM" (what systemd and container runtimes expect).
        assert code in (0, -signal.SIGTERM), api.output()[-3000:]
        assert "Finished server process" in api.output()
        conn = await asyncpg.connect(rig.database_url.replace("+asyncpg", ""))
        try:
            stored = await conn.fetchval("SELECT count(*) FROM post")
        finally:
            await conn.close()
        assert stored == CHUNKS * PER_CHUNK
        logger.info(
            "api shutdown: SIGTERM during a %d-record streaming import; it completed (202), "
            "then the API exited (status %s), %.1f s after the signal",
            CHUNKS * PER_CHUNK,
            code,
            exit_s,
        )
    finally:
        api.stop()
