"""Concurrent importers and retried imports (issue 14): overlapping post ids imported by 20
clients under different accounts all answer 202, with no deadlock, no duplicate post and no
duplicate snapshot; an import either stores all its rows or none; importing the same file
again adds no second metric snapshot of an unchanged post."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from tests.helpers import API_KEY, NDJSON, ndjson

CLIENTS = 20
IMPORTS_PER_CLIENT = 3
POST_IDS = 400
POSTS_PER_IMPORT = 250


def _record(post_id: int, account: str) -> dict[str, Any]:
    # The metrics depend on the post alone: every import says the same about a post, so a
    # post has exactly one snapshot however often it is imported.
    return {
        "platform": ("x", "instagram")[post_id % 2],
        "post_id": f"c{post_id}",
        "account": account,
        "text": f"Post {post_id} #concurrent #tag{post_id % 13}",
        "posted_at": f"2025-05-{1 + post_id % 28:02d}T10:00:00+00:00",
        "likes": post_id,
        "comments": post_id % 7,
        "followers": 1000,
    }


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            name: (await conn.execute(text(sql))).scalar_one()
            for name, sql in {
                "posts": "SELECT count(*) FROM post",
                "snapshots": "SELECT count(*) FROM post_metric_snapshot",
                "max_snapshots": "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n "
                "FROM post_metric_snapshot GROUP BY post_id) s",
                "links": "SELECT count(*) FROM post_hashtag",
            }.items()
        }


async def test_twenty_clients_with_overlapping_ids_never_deadlock(
    committed_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rng = random.Random(14)

    async def one_client(n: int) -> list[int]:
        statuses = []
        for _ in range(IMPORTS_PER_CLIENT):
            ids = rng.sample(range(POST_IDS), POSTS_PER_IMPORT)  # in random order
            body = ndjson([_record(i, f"brand{n}") for i in ids])
            response = await committed_client.post("/posts/import", content=body, headers=NDJSON)
            statuses.append(response.status_code)
            assert response.status_code == 202, response.text
        return statuses

    results = await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
    assert [s for statuses in results for s in statuses] == [202] * CLIENTS * IMPORTS_PER_CLIENT
    counts = await _counts(engine)
    assert counts["posts"] == counts["snapshots"]  # one snapshot per post: nothing twice
    assert counts["max_snapshots"] == 1
    assert counts["posts"] <= POST_IDS
    assert counts["links"] == 2 * counts["posts"]


async def test_importing_the_same_file_again_adds_no_snapshot(
    committed_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    body = ndjson([_record(i, "again") for i in range(50)])
    for _ in range(3):
        response = await committed_client.post("/posts/import", content=body, headers=NDJSON)
        assert response.status_code == 202, response.text
    assert (await _counts(engine))["snapshots"] == 50
    changed = ndjson([{**_record(i, "again"), "likes": 1000 + i} for i in range(10)])
    response = await committed_client.post("/posts/import", content=changed, headers=NDJSON)
    assert response.status_code == 202, response.text
    assert (await _counts(engine))["snapshots"] == 60


async def test_a_failing_import_stores_nothing(
    committed_client: httpx.AsyncClient,
    engine: AsyncEngine,
    arq_redis: ArqRedis,
    database_url: str,
) -> None:
    # The database refuses row 501 (a trigger stands in for a failure only PostgreSQL sees)
    # after five batches of 100 were written: none of them may stay.
    app = create_app(
        Settings(
            database_url=database_url,
            redis_url="redis://u",
            api_keys=API_KEY,
            import_batch_rows=100,
        )
    )
    app.state.engine, app.state.arq = engine, arq_redis
    app.state.sessionmaker = create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse_post() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF NEW.platform_post_id = 'c5500' THEN "
                "RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER refuse_post BEFORE INSERT ON post "
                "FOR EACH ROW EXECUTE FUNCTION refuse_post()"
            )
        )
    try:
        body = ndjson([_record(i, "half") for i in range(5000, 6000)])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/posts/import", content=body, headers=NDJSON)
        assert response.status_code == 500, response.text
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER refuse_post ON post"))
            await conn.execute(text("DROP FUNCTION refuse_post()"))
    counts = await _counts(engine)
    assert counts == {"posts": 0, "snapshots": 0, "max_snapshots": 0, "links": 0}, json.dumps(
        counts
    )


async def test_an_import_rolled_back_for_a_deadlock_runs_again(
    committed_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # A trigger reports a deadlock on the import's first post, once (a sequence is not rolled
    # back with the transaction): the import runs again from the start and stores it all once.
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SEQUENCE fake_deadlock"))
        await conn.execute(
            text(
                "CREATE FUNCTION fake_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF nextval('fake_deadlock') = 1 THEN "
                "RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = '40P01'; "
                "END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER fake_deadlock BEFORE INSERT ON post "
                "FOR EACH ROW EXECUTE FUNCTION fake_deadlock()"
            )
        )
    try:
        body = ndjson([_record(i, "retried") for i in range(100)])
        response = await committed_client.post("/posts/import", content=body, headers=NDJSON)
        assert response.status_code == 202, response.text
        assert response.json()["inserted"] == 100
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER fake_deadlock ON post"))
            await conn.execute(text("DROP FUNCTION fake_deadlock()"))
            await conn.execute(text("DROP SEQUENCE fake_deadlock"))
    counts = await _counts(engine)
    assert (counts["posts"], counts["snapshots"], counts["links"]) == (100, 100, 200)
