"""End to end with the real arq worker: import over HTTP -> worker recomputes -> figures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_worker.settings import WorkerSettings, functions
from tests.api.data import POSTS
from tests.helpers import API_KEY, NDJSON, ndjson, wipe

pytestmark = pytest.mark.e2e


@pytest.fixture
async def app_client(engine, arq_redis, database_url) -> AsyncIterator[httpx.AsyncClient]:
    """The app with real sessions (data is committed), cleaned up afterwards."""
    await arq_redis.flushdb()
    app = create_app(
        Settings(database_url=database_url, redis_url="redis://unused", api_keys=API_KEY)
    )
    app.state.engine, app.state.arq = engine, arq_redis
    app.state.sessionmaker = create_sessionmaker(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
    await wipe(engine)
    await arq_redis.flushdb()


async def run_worker(services, database_url) -> Worker:
    """A real arq worker in burst mode (own Redis pool), run until the queue is empty."""
    pool = await create_pool(RedisSettings.from_dsn(services.redis_url))
    ctx = {"settings": Settings(database_url=database_url, redis_url=services.redis_url)}
    worker = Worker(
        functions=functions(),
        redis_pool=pool,
        burst=True,
        poll_delay=0,
        ctx=ctx,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        max_jobs=4,
        handle_signals=False,
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def test_import_then_worker_then_figures(app_client, services, database_url):
    first = (
        await app_client.post("/posts/import", content=ndjson(POSTS[:3]), headers=NDJSON)
    ).json()
    second = (
        await app_client.post("/posts/import", content=ndjson(POSTS[3:]), headers=NDJSON)
    ).json()
    assert (await app_client.get(f"/jobs/{second['job_id']}")).json()["status"] == "queued"
    page = (
        await app_client.get("/hashtag-performance", params={"window": "all", "min_posts": 1})
    ).json()
    assert page["items"] == []
    assert page["pending_version"] == second["data_version"]

    worker = await run_worker(services, database_url)

    for job_id in (first["job_id"], second["job_id"]):
        job = (await app_client.get(f"/jobs/{job_id}")).json()
        assert job["status"] == "complete", job
    page = (
        await app_client.get("/hashtag-performance", params={"window": "all", "min_posts": 1})
    ).json()
    figures = {i["key"]: i["posts"] for i in page["items"]}
    assert figures == {"legoland": 4, "family": 2, "ninjago": 1}
    assert page["pending_version"] is None
    assert page["data_version"] == second["data_version"]
    # Two triggers, one pass with data: the second trigger found the aggregates current.
    assert worker.jobs_complete == 2
    assert worker.jobs_failed == 0


async def test_refetch_of_an_uncollected_account_fails_with_a_reason(
    app_client, services, database_url
):
    await app_client.post("/posts/import", content=ndjson(POSTS[:1]), headers=NDJSON)
    body = {"platform": "x", "post_id": "b1", "refetch": True}
    job_id = (
        await app_client.post(
            "/update-post", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
        )
    ).json()["refetch_job_id"]
    await run_worker(services, database_url)
    job = (await app_client.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "failed"
    assert "has no token_ref" in job["error"]
