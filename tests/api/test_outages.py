"""Dependencies down: clear 503s with Retry-After, never a 500 or a hang, and writes that
reach Postgres are accepted even when Redis is down."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from arq.connections import ArqRedis

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_engine, create_sessionmaker
from tests.api.data import POSTS
from tests.helpers import API_KEY, NDJSON, ndjson

CLOSED_PORT_PG = "postgresql+asyncpg://postgres@127.0.0.1:9/nothing"
CLOSED_PORT_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture
async def no_postgres(arq_redis) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=CLOSED_PORT_PG,
        redis_url="redis://unused",
        api_keys=API_KEY,
        db_pool_timeout_s=1,
    )
    app = create_app(settings)
    app.state.engine = create_engine(settings, application_name="test")
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.arq = arq_redis
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
    await app.state.engine.dispose()


@pytest.fixture
async def no_redis(client, session) -> AsyncIterator[httpx.AsyncClient]:
    app = client._transport.app  # the app of the normal client, with Redis swapped out
    healthy = app.state.arq
    app.state.arq = ArqRedis.from_url(CLOSED_PORT_REDIS, socket_connect_timeout=1)
    yield client
    await app.state.arq.aclose()
    app.state.arq = healthy


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/hashtag-performance"), ("GET", "/hashtags/legoland"), ("GET", "/engagement-trends")],
)
async def test_reads_answer_503_with_retry_after_when_postgres_is_down(no_postgres, method, path):
    response = await no_postgres.request(method, path)
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert response.json()["error"]["code"] == "unavailable"


async def test_writes_answer_503_when_postgres_is_down(no_postgres):
    response = await no_postgres.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert response.status_code == 503
    assert "retry" in response.json()["error"]["message"]


async def test_readiness_reports_which_dependency_is_down(no_postgres):
    response = await no_postgres.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"status": "unavailable", "postgres": False, "redis": True}
    assert (await no_postgres.get("/healthz")).status_code == 200


async def test_import_is_accepted_while_redis_is_down(no_redis):
    response = await no_redis.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    body = response.json()
    assert response.status_code == 202
    assert body["inserted"] == len(POSTS)
    assert body["job_queued"] is False
    assert body["job_id"] == f"recompute:{body['data_version']}"
    # the job id stays meaningful: its state is answered from the database
    job = (await no_redis.get(f"/jobs/{body['job_id']}")).json()
    assert job["status"] == "queued"
    ready = await no_redis.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["redis"] is False
    other = await no_redis.get("/jobs/refresh:1:abc")
    assert other.status_code == 503
