"""The worker's metrics: job durations and failures by job, collection errors by platform, and
the HTTP server that exposes them (HASHTAG_WORKER_METRICS_PORT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_worker.metrics import REGISTRY
from hashtag_worker.settings import WorkerSettings, functions, on_shutdown, on_startup
from tests.api.data import POSTS
from tests.helpers import API_KEY, AUTH, NDJSON, ndjson, wipe
from tests.sandbox import free_port

pytestmark = pytest.mark.e2e


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot() -> dict[str, float]:
    return {
        "recompute_ok": sample(
            "hashtag_job_duration_seconds_count", job="recompute", outcome="success"
        ),
        "refresh_failed": sample(
            "hashtag_job_duration_seconds_count", job="refresh_post", outcome="failure"
        ),
        "refresh_failures": sample("hashtag_job_failures_total", job="refresh_post"),
        "collect_failures": sample("hashtag_job_failures_total", job="collect_account"),
        "ig_auth_errors": sample(
            "hashtag_collect_errors_total", platform="instagram", error="AuthExpired"
        ),
    }


@pytest.fixture
async def app_client(engine, arq_redis, database_url) -> AsyncIterator[httpx.AsyncClient]:
    """The app with real sessions (data is committed), cleaned up afterwards."""
    await arq_redis.flushdb()
    app = create_app(
        Settings(
            database_url=database_url,
            redis_url="redis://unused",
            api_keys=API_KEY,
            platform_tokens={"brand-ig": "metrics-test-token"},
        )
    )
    app.state.engine, app.state.arq = engine, arq_redis
    app.state.sessionmaker = create_sessionmaker(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
    await wipe(engine)
    await arq_redis.flushdb()


async def run_worker(settings: Settings) -> Worker:
    assert settings.redis_url
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    worker = Worker(
        functions=functions(),
        redis_pool=pool,
        burst=True,
        poll_delay=0,
        ctx={"settings": settings},
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


async def test_jobs_and_collection_errors_are_counted(app_client, services, database_url):
    before = snapshot()
    await app_client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    refetch = {"platform": "x", "post_id": "b1", "refetch": True}
    assert (await app_client.post("/update-post", json=refetch, headers=AUTH)).status_code == 202
    account = {"platform": "instagram", "external_id": "17", "handle": "brand"}
    created = await app_client.post(
        "/accounts", json=account | {"token_ref": "brand-ig"}, headers=AUTH
    )
    collect = {"account_id": created.json()["id"]}
    assert (await app_client.post("/collect", json=collect, headers=AUTH)).status_code == 202

    # This worker has no token for brand-ig: the collection fails as AuthExpired.
    worker = await run_worker(Settings(database_url=database_url, redis_url=services.redis_url))
    after = snapshot()

    assert worker.jobs_failed == 2  # the re-fetch (no token_ref) and the collection
    assert after["recompute_ok"] - before["recompute_ok"] == 1
    assert after["refresh_failed"] - before["refresh_failed"] == 1
    assert after["refresh_failures"] - before["refresh_failures"] == 1
    assert after["collect_failures"] - before["collect_failures"] == 1
    assert after["ig_auth_errors"] - before["ig_auth_errors"] == 1


async def test_the_worker_serves_its_metrics_while_it_runs(database_url, services):
    port = free_port()
    settings = Settings(
        database_url=database_url, redis_url=services.redis_url, worker_metrics_port=port
    )
    ctx: dict[str, Any] = {"settings": settings}
    await on_startup(ctx)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        await on_shutdown(ctx)

    assert response.status_code == 200
    for family in ("hashtag_job_duration_seconds", "hashtag_job_failures_total"):
        assert f"# TYPE {family.removesuffix('_total')}" in response.text
    assert "hashtag_collect_errors_total" in response.text
    assert "_created" not in response.text
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/metrics")


async def test_no_metrics_server_by_default(database_url, services):
    ctx: dict[str, Any] = {
        "settings": Settings(database_url=database_url, redis_url=services.redis_url)
    }
    await on_startup(ctx)
    try:
        assert ctx["hashtag_metrics_server"] is None
    finally:
        await on_shutdown(ctx)
