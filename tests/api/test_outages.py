"""Dependencies down: clear 503s with Retry-After, never a 500 or a hang, and writes that
reach Postgres are accepted even when Redis is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import text

from hashtag_api.deps import SessionDep, SnapshotDep
from hashtag_api.main import create_app
from hashtag_core.accounts.repository import due_accounts
from hashtag_core.config import Settings
from hashtag_core.db import create_engine, create_sessionmaker
from hashtag_core.jobs import collect_job_id
from hashtag_core.sync.repository import due_refreshes
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
    assert response.json()["code"] == "unavailable"


async def test_writes_answer_503_when_postgres_is_down(no_postgres):
    response = await no_postgres.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert response.status_code == 503
    assert "retry" in response.json()["detail"]


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


async def test_a_refetch_asked_for_while_redis_is_down_is_kept_for_the_worker(no_redis, session):
    """The request is a post_refresh row written with the answer; the worker's refresh_due cron
    queues it under the job id the API named once Redis answers."""
    imported = await no_redis.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert imported.status_code == 202
    conn = await session.connection()
    await conn.execute(
        text("UPDATE account SET token_ref = 'tok', collect_enabled = true, status = 'active'")
    )
    first = POSTS[0]
    response = await no_redis.post(
        "/update-post",
        json={"platform": first["platform"], "post_id": first["post_id"], "refetch": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["job_queued"] is False
    due = await due_refreshes(session, datetime.now(UTC) + timedelta(seconds=1), 10)
    assert [f"refresh:{d['post_id']}:{d['age_label']}" for d in due] == [body["refetch_job_id"]]


async def test_a_collection_asked_for_while_redis_is_down_is_due_for_the_worker(no_redis, session):
    """POST /collect brings the account's next sync forward in its transaction: collect_due
    then queues it under the job id the API answered with, once Redis is back."""
    account = {
        "platform": "instagram",
        "external_id": "17841400000000001",
        "handle": "legolandwindsor",
        "timezone": "Europe/London",
        "token_ref": "windsor_ig",
    }
    auth = {"Authorization": f"Bearer {API_KEY}"}
    registered = await no_redis.post("/accounts", json=account, headers=auth)
    assert registered.status_code == 201, registered.text
    conn = await session.connection()
    # Synced a moment ago: not due on the schedule for another hour.
    await conn.execute(text("UPDATE account SET next_sync_at = now() + interval '1 hour'"))
    assert await due_accounts(session, datetime.now(UTC)) == []
    started = await no_redis.post("/collect", json={}, headers=auth)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["job_queued"] is False
    due = await due_accounts(session, datetime.now(UTC))
    assert [collect_job_id(row["id"], int(row["next_sync_at"].timestamp())) for row in due] == body[
        "job_ids"
    ]


@pytest.mark.parametrize("dep", ["session", "snapshot"])
async def test_a_session_that_cannot_commit_answers_503_not_a_broken_response(database_url, dep):
    """PostgreSQL gone between the handler's last query and the session's end: the failed
    commit is answered as a 503 (the session ends before the response starts)."""
    settings = Settings(database_url=database_url, redis_url="redis://unused", api_keys=API_KEY)
    app = create_app(settings)
    app.state.engine = create_engine(settings, application_name="test-terminate")
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    engine = app.state.engine

    async def work(session) -> dict[str, bool]:
        conn = await session.connection()
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return {"ok": True}

    if dep == "session":

        @app.get("/_terminate")
        async def terminate_session(session: SessionDep) -> dict[str, bool]:
            return await work(session)
    else:

        @app.get("/_terminate")
        async def terminate_snapshot(session: SnapshotDep) -> dict[str, bool]:
            return await work(session)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/_terminate")
    finally:
        await engine.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    assert response.json()["code"]
