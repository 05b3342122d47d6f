"""The full recompute swaps in freshly built tables (issue 7): same indexes, constraints and
triggers afterwards, and a reader that locks first never sees a table half-swapped."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates import service, staging
from hashtag_core.aggregates.repository import AGGREGATE_TABLES
from hashtag_core.aggregates.service import recompute
from hashtag_core.db import create_sessionmaker
from hashtag_core.ingest.parsers import ImportFormat, iter_rows
from hashtag_core.posts.service import import_rows
from tests.helpers import wipe

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 7, 1, tzinfo=UTC)
BODY = b"""{"platform":"x","post_id":"1","account":"lw","text":"#Lego #Fun","posted_at":"2025-06-28T10:00:00+01:00","likes":10,"comments":2,"shares":3,"followers":1000,"impressions":500,"account_timezone":"Europe/London"}
{"platform":"x","post_id":"2","account":"lw","text":"#lego","posted_at":"2025-06-01T23:30:00+01:00","likes":4,"followers":1000}
"""
TABLE = "hashtag_momentum"


@pytest.fixture
async def committed(engine: AsyncEngine):
    yield engine
    await wipe(engine)


async def _import(engine: AsyncEngine, arq_redis: Any) -> None:
    async with create_sessionmaker(engine)() as session:
        rows = iter_rows(io.BytesIO(BODY), ImportFormat.NDJSON)
        await import_rows(session, rows, queue=ArqJobQueue(arq_redis), batch_rows=100, max_errors=9)


async def _catalog(engine: AsyncEngine) -> dict[str, Any]:
    """Index definitions, constraints and triggers of the aggregate tables, and any table
    left with the staged suffix."""
    tables = list(AGGREGATE_TABLES)
    async with engine.connect() as conn:
        indexes = (
            await conn.execute(
                text(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = ANY(:t) ORDER BY 1, 2"
                ),
                {"t": tables},
            )
        ).all()
        constraints = (
            await conn.execute(
                text(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE conrelid::regclass::text = ANY(:t) ORDER BY 1, 2"
                ),
                {"t": tables},
            )
        ).all()
        triggers = (
            await conn.execute(
                text(
                    "SELECT tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
                    "WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(:t) ORDER BY 1, 2"
                ),
                {"t": tables},
            )
        ).all()
        leftovers = (
            await conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE '%next'"))
        ).all()
    return {
        "indexes": indexes,
        "constraints": constraints,
        "triggers": triggers,
        "leftovers": leftovers,
    }


async def test_full_pass_swaps_tables_keeping_indexes_constraints_and_triggers(
    committed: AsyncEngine, arq_redis
) -> None:
    before = await _catalog(committed)
    assert before["indexes"]
    assert before["constraints"]
    assert before["triggers"]
    await _import(committed, arq_redis)
    async with committed.connect() as conn:
        oid_before = (await conn.execute(text(f"SELECT '{TABLE}'::regclass::oid"))).scalar()
    assert (await recompute(committed, now=NOW)).status == "computed"
    async with committed.connect() as conn:
        oid_after = (await conn.execute(text(f"SELECT '{TABLE}'::regclass::oid"))).scalar()
        posts = (
            await conn.execute(
                text(
                    "SELECT posts FROM hashtag_performance hp JOIN hashtag h ON h.id = hp.hashtag_id "
                    "WHERE h.key = 'lego' AND hp.platform = '*' AND hp.window = 'all'"
                )
            )
        ).scalar_one()
    assert oid_after != oid_before  # a new table, not the old one rewritten
    assert posts == 2
    assert await _catalog(committed) == before


async def _count(conn: AsyncConnection) -> int:
    return int((await conn.execute(text(f"SELECT count(*) FROM {TABLE}"))).scalar_one())


async def _stage_one_row(engine: AsyncEngine) -> None:
    """Every table staged; TABLE's staged copy holds one row (committed)."""
    tables = list(AGGREGATE_TABLES)
    async with engine.connect() as setup:
        async with setup.begin():
            await staging.create_staged(setup, tables)
            await setup.execute(
                text(
                    f"INSERT INTO {staging.staged(TABLE)} (platform, account_id, hashtag_id, "
                    "recent_posts, previous_posts, direction) VALUES ('*', 0, 1, 3, 1, 'steady')"
                )
            )
        async with setup.begin():
            await staging.finish_staged(setup, tables)


async def _swap(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        async with conn.begin():
            await staging.swap_in(conn, list(AGGREGATE_TABLES))


async def _waiting(conn: AsyncConnection) -> None:
    """Until a session waits for a lock."""
    for _ in range(500):
        waiting = (
            await conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        ).scalar_one()
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no session waited for a lock")


async def _reader(engine: AsyncEngine, *, lock: bool) -> tuple[AsyncConnection, AsyncConnection]:
    """A REPEATABLE READ reader whose snapshot is taken (by a read of a table not swapped)."""
    conn = await engine.connect()
    rr = await conn.execution_options(isolation_level="REPEATABLE READ")
    await rr.begin()
    if lock:
        await staging.lock_for_read(rr, list(AGGREGATE_TABLES))
    await rr.execute(text("SELECT version FROM data_version"))
    return conn, rr


async def test_a_read_never_straddles_a_swap(committed: AsyncEngine) -> None:
    async with committed.begin() as conn:  # the old figures: two rows
        await conn.execute(
            text(
                f"INSERT INTO {TABLE} (platform, account_id, hashtag_id, recent_posts, "
                "previous_posts, direction) VALUES ('*', 0, 1, 1, 1, 'steady'), "
                "('*', 0, 2, 1, 1, 'steady')"
            )
        )
    # Without the lock, a reader whose snapshot predates the staged rows' commit finds the
    # swapped-in table empty: neither the old figures nor the new. This is the hazard.
    conn, plain = await _reader(committed, lock=False)
    await _stage_one_row(committed)
    await _swap(committed)
    assert await _count(plain) == 0
    await conn.close()

    # With the lock taken first, the swap waits for the reader, which sees the old figures
    # throughout; a reader arriving while the swap holds its locks waits and sees the new.
    await wipe_table(committed, 2)
    conn, locked = await _reader(committed, lock=True)
    await _stage_one_row(committed)
    swap = asyncio.create_task(_swap(committed))
    async with committed.connect() as watcher:
        await _waiting(watcher)
        assert not swap.done()
        assert await _count(locked) == 2
        await locked.commit()
        await conn.close()
        await swap
        later, late = await _reader(committed, lock=True)
        assert await _count(late) == 1
        await later.close()


async def wipe_table(engine: AsyncEngine, rows: int) -> None:
    """TABLE back to `rows` rows of old figures."""
    async with engine.begin() as conn:
        await conn.execute(text(f"DELETE FROM {TABLE}"))
        for hashtag in range(1, rows + 1):
            await conn.execute(
                text(
                    f"INSERT INTO {TABLE} (platform, account_id, hashtag_id, recent_posts, "
                    "previous_posts, direction) VALUES ('*', 0, :h, 1, 1, 'steady')"
                ),
                {"h": hashtag},
            )


async def test_swap_gives_way_to_a_long_read_and_tries_again(
    committed: AsyncEngine, arq_redis, monkeypatch, caplog
) -> None:
    await _import(committed, arq_redis)
    monkeypatch.setattr(service, "SWAP_LOCK_TIMEOUT_MS", 50)
    conn, reader = await _reader(committed, lock=True)  # a read left open
    caplog.set_level(logging.WARNING, logger=service.__name__)
    task = asyncio.create_task(recompute(committed, now=NOW))
    for _ in range(3000):
        if "trying again" in caplog.text or task.done():
            break
        await asyncio.sleep(0.01)
    assert "trying again (attempt 2 of" in caplog.text
    assert await _count(reader) == 0  # the read still sees the old (empty) figures
    await reader.commit()
    await conn.close()
    outcome = await task
    assert outcome.status == "computed"
    async with committed.connect() as check:
        assert await _count(check) > 0
