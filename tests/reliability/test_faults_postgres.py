"""PostgreSQL restarted under read and write load: requests fail only during the outage, as
503 with Retry-After (never a 500, never a hang), and the API and the worker recover without
being restarted (the pools pre-ping and reconnect).

Real processes on private servers (tests/rig.py); PostgreSQL is stopped with
`pg_ctl stop -m fast` (open connections are terminated) and started again on the same port.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import ndjson
from tests.rig import AUTH, Rig, api_process, computed, worker_process

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

logger = logging.getLogger(__name__)
CLIENTS = 6
POSTS = 200
#: The client's timeout: an answer slower than this counts as none (a hang).
HANG_S = 10.0


@dataclass
class Outcome:
    started: float
    ended: float
    status: int | None  # None: no answer (connection error or timeout)
    retry_after: str | None = None
    error: str = ""


def _posts() -> list[dict[str, object]]:
    start = datetime.now(UTC) - timedelta(days=10)
    return [
        {
            "platform": "instagram",
            "account": "pg_brand",
            "account_timezone": "Europe/Paris",
            "post_id": f"q{i}",
            "text": f"post {i} #pgrestart #tag{i % 7}",
            "posted_at": (start + timedelta(hours=i)).isoformat(),
            "likes": i,
        }
        for i in range(POSTS)
    ]


async def _load(
    client: httpx.AsyncClient, n: int, stop_at: list[float], out: list[Outcome]
) -> None:
    i = 0
    while time.monotonic() < stop_at[0]:
        i += 1
        started = time.monotonic()
        try:
            if i % 2:
                response = await client.get(
                    "/hashtag-performance", params={"window": "all", "limit": 20}
                )
            else:
                body = {"platform": "instagram", "post_id": f"q{(n * 31 + i) % POSTS}", "likes": i}
                response = await client.post("/update-post", json=body)
            out.append(
                Outcome(
                    started,
                    time.monotonic(),
                    response.status_code,
                    response.headers.get("retry-after"),
                )
            )
        except httpx.HTTPError as exc:
            out.append(Outcome(started, time.monotonic(), None, error=repr(exc)))
        await asyncio.sleep(0.02)


def _served(out: list[Outcome], *, since: float) -> int:
    """Successful answers to requests started after `since`."""
    return sum(1 for o in out if o.started > since and o.status in (200, 202))


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for `condition` (the test's timeout bounds a wait that never ends)."""
    while not condition():
        await asyncio.sleep(0.02)


async def test_postgres_restart_under_load(rig: Rig) -> None:
    api, url = api_process(rig.env(), rig.log("api"))
    worker = worker_process(rig.env(), rig.log("worker"))
    try:
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=HANG_S) as client:
            imported = await client.post(
                "/posts/import",
                content=ndjson(_posts()),
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert imported.status_code == 202, imported.text
            await computed(client, version=imported.json()["data_version"])

            out: list[Outcome] = []
            stop_at = [math.inf]
            load = [asyncio.create_task(_load(client, n, stop_at, out)) for n in range(CLIENTS)]
            # Each step waits for an event, not for a length of time the machine may not keep.
            await _until(lambda: _served(out, since=-math.inf) >= CLIENTS)  # load is flowing
            down = time.monotonic()
            await asyncio.to_thread(rig.pg.stop)
            stopped = time.monotonic()
            await _until(lambda: any(o.status == 503 for o in out))  # the outage is noticed
            await asyncio.to_thread(rig.pg.start)
            up = time.monotonic()
            await _until(lambda: _served(out, since=up) >= 2 * CLIENTS)  # and it is over
            stop_at[0] = -math.inf
            await asyncio.gather(*load)

            # After the restart, without restarting anything: a write is stored and recomputed.
            final = await client.post(
                "/update-post", json={"platform": "instagram", "post_id": "q0", "likes": 123_456}
            )
            assert final.status_code == 202, final.text
            page = await computed(client, version=final.json()["data_version"], timeout=60)
            assert any(i["key"] == "pgrestart" for i in page["items"])

        statuses = [o.status for o in out]
        unavailable = [o for o in out if o.status == 503]
        # Every answer: success, or 503 with Retry-After; none missing, none hung (the client's
        # timeout turns a hang into a missing answer).
        assert not [o for o in out if o.status is None], [o.error for o in out if o.error][:5]
        assert set(statuses) <= {200, 202, 503}, sorted(set(statuses))
        assert all(o.retry_after for o in unavailable)
        assert unavailable, "the outage was not noticed: the test did not test anything"
        # 503s only while PostgreSQL was down: none answered before the stop began, none begun
        # after a request begun once it was back had succeeded.
        recovered = min(o.ended for o in out if o.started > up and o.status in (200, 202))
        assert all(o.ended >= down and o.started <= recovered for o in unavailable)
        before = [o for o in out if o.ended < down]
        after = [o for o in out if o.started > recovered]
        assert before
        assert all(o.status in (200, 202) for o in before)
        assert after
        assert all(o.status in (200, 202) for o in after)
        assert api.process is not None
        assert api.process.poll() is None
        assert worker.process is not None
        assert worker.process.poll() is None
        logger.info(
            "postgres restart: %d requests from %d clients; PostgreSQL down %.1f s (stop took "
            "%.2f s); %d answered 503 with Retry-After, first %.2f s after the stop began, last "
            "%.2f s after it was up again; slowest answer %.2f s; no 500, no hang",
            len(out),
            CLIENTS,
            up - down,
            stopped - down,
            len(unavailable),
            min(o.started for o in unavailable) - down,
            max(o.ended for o in unavailable) - up,
            max(o.ended - o.started for o in out),
        )
    finally:
        worker.stop()
        api.stop()
