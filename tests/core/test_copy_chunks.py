"""The aggregate tables' COPY sends its rows as CSV a chunk at a time (`repository.copy_payload`):
every row arrives once and intact, in any number of chunks."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.aggregates import repository


@pytest.mark.parametrize("chunk", [3, 10, 1_000])
async def test_every_row_arrives_once_whatever_the_chunk_size(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # 10 rows: chunks of 3 (3 + 3 + 3 + 1), exactly one chunk, and one larger than the frame.
    # Breaks: an offset stepping past a chunk, a last partial chunk dropped, a header sent.
    monkeypatch.setattr(repository, "COPY_CHUNK_ROWS", chunk)
    conn = await session.connection()
    await conn.execute(text("CREATE TEMP TABLE copied (LIKE hashtag_daily) ON COMMIT DROP"))
    frame = pl.DataFrame(
        {
            "platform": ["x", "instagram", "*", "x", "x", "x", "x", "x", "x", "x"],
            "account_id": list(range(10)),
            "hashtag_id": [100 + i for i in range(10)],
            "local_date": [date(2026, 1, 1 + i) for i in range(10)],
            "posts": [i + 1 for i in range(10)],
            "engagement_sum": [10 * i for i in range(10)],
        }
    )
    columns, rows = repository.csv_payload("hashtag_daily", frame)
    await repository.copy_payload(conn, "copied", columns, rows)
    stored = (
        await conn.execute(text(f"SELECT {', '.join(columns)} FROM copied ORDER BY account_id"))
    ).all()
    assert [tuple(r) for r in stored] == [tuple(r) for r in frame.select(columns).iter_rows()]


async def test_an_empty_payload_copies_nothing(session: AsyncSession) -> None:
    conn = await session.connection()
    await conn.execute(text("CREATE TEMP TABLE copied_empty (LIKE hashtag_daily) ON COMMIT DROP"))
    frame = pl.DataFrame(schema=repository.AGGREGATE_TABLES["hashtag_daily"])
    await repository.copy_payload(
        conn, "copied_empty", *repository.csv_payload("hashtag_daily", frame)
    )
    assert (await conn.execute(text("SELECT count(*) FROM copied_empty"))).scalar_one() == 0
