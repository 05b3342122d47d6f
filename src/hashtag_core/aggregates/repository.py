"""SQL for the recompute: load the analytics frames with COPY, swap aggregate rows, and keep
the version bookkeeping. Nothing here commits; the service owns the transaction."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection

from hashtag_core.analytics.frames import (
    DAILY_SCHEMA,
    LINKS_SCHEMA,
    PERFORMANCE_SCHEMA,
    POSTS_SCHEMA,
    TREND_CELL_SCHEMA,
)
from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    CONTENT_REACH_SCHEMA,
    COOCCURRENCE_SCHEMA,
    FOLLOWERS_SCHEMA,
    LIFT_SCHEMA,
    MOMENTUM_SCHEMA,
    SENTIMENT_SCHEMA,
    SLOT_SCHEMA,
)
from hashtag_core.rawsql import driver, in_transaction

__all__ = [
    "AGGREGATE_TABLES",
    "RECOMPUTE_LOCK_KEY",
    "Versions",
    "load_followers",
    "load_links",
    "load_posts",
    "read_versions",
    "replace_aggregates",
    "try_lock",
    "unlock",
    "update_display_spellings",
    "write_state",
]

#: pg advisory lock key held while a recompute pass runs (one pass at a time, cluster-wide).
RECOMPUTE_LOCK_KEY = 7_246_001
AGGREGATE_TABLES: dict[str, pl.Schema] = {
    "hashtag_performance": PERFORMANCE_SCHEMA,
    "hashtag_trend_cell": TREND_CELL_SCHEMA,
    "hashtag_daily": DAILY_SCHEMA,
    "hashtag_lift": LIFT_SCHEMA,
    "hashtag_slot": SLOT_SCHEMA,
    "hashtag_best_slot": BEST_SLOT_SCHEMA,
    "hashtag_momentum": MOMENTUM_SCHEMA,
    "hashtag_content_reach": CONTENT_REACH_SCHEMA,
    "hashtag_pair": COOCCURRENCE_SCHEMA,
    "hashtag_sentiment": SENTIMENT_SCHEMA,
}

_METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
# Local calendar fields come from each post's own account time zone (DST-correct in SQL).
_POSTS_QUERY = f"""
SELECT p.id AS post_id, p.account_id, p.platform,
       (extract(epoch FROM p.posted_at) * 1000000)::int8 AS posted_at_us,
       ((p.posted_at AT TIME ZONE a.timezone)::date - DATE '1970-01-01') AS local_days,
       extract(isodow FROM p.posted_at AT TIME ZONE a.timezone)::int2 AS local_weekday,
       extract(hour FROM p.posted_at AT TIME ZONE a.timezone)::int2 AS local_hour,
       {", ".join(f"p.{m}" for m in _METRICS)}, p.sentiment
FROM post p JOIN account a ON a.id = p.account_id
"""


@dataclass(frozen=True)
class Versions:
    """The data version written so far and the one the aggregates show."""

    requested: int
    computed: int


async def _copy_out(conn: AsyncConnection, query: str) -> bytes:
    chunks: list[bytes] = []

    async def sink(data: bytes) -> None:  # asyncpg awaits its output callable
        chunks.append(data)

    apg = await in_transaction(conn)
    await apg.copy_from_query(query, output=sink, format="csv", header=True)
    return b"".join(chunks)


async def read_versions(conn: AsyncConnection) -> Versions:
    """Both versions, read in the caller's snapshot."""
    row = await (await in_transaction(conn)).fetchrow(
        "SELECT (SELECT version FROM data_version WHERE id = 1) AS requested, "
        "(SELECT computed_version FROM recompute_state WHERE id = 1) AS computed"
    )
    return Versions(requested=row["requested"], computed=row["computed"])


async def load_posts(conn: AsyncConnection) -> pl.DataFrame:
    """Every post with its metrics, local calendar fields and sentiment (POSTS_SCHEMA + 1)."""
    raw = pl.read_csv(
        io.BytesIO(await _copy_out(conn, _POSTS_QUERY)),
        schema_overrides={"platform": pl.String, **dict.fromkeys(_METRICS, pl.Int64)},
    )
    if raw.height == 0:
        return pl.DataFrame(schema=POSTS_SCHEMA)
    return raw.select(
        pl.col("post_id").cast(pl.Int64),
        pl.col("account_id").cast(pl.Int64),
        pl.col("platform"),
        pl.from_epoch(pl.col("posted_at_us"), time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("posted_at"),
        pl.col("local_days").cast(pl.Int32).cast(pl.Date).alias("local_date"),
        pl.col("local_weekday").cast(pl.Int8),
        pl.col("local_hour").cast(pl.Int8),
        *[pl.col(m).cast(pl.Int64) for m in _METRICS],
        pl.col("sentiment").cast(pl.Float64),
    )


async def load_links(conn: AsyncConnection) -> pl.DataFrame:
    """Every post-hashtag link, as LINKS_SCHEMA."""
    data = await _copy_out(conn, "SELECT post_id, hashtag_id FROM post_hashtag")
    return pl.read_csv(io.BytesIO(data), schema=LINKS_SCHEMA)


async def load_followers(conn: AsyncConnection) -> pl.DataFrame:
    """Every follower-count snapshot, as FOLLOWERS_SCHEMA."""
    data = await _copy_out(
        conn,
        "SELECT account_id, (extract(epoch FROM captured_at) * 1000000)::int8 AS at_us, "
        "followers FROM follower_snapshot",
    )
    raw = pl.read_csv(
        io.BytesIO(data), schema={"account_id": pl.Int64, "at_us": pl.Int64, "followers": pl.Int64}
    )
    return raw.select(
        "account_id",
        pl.from_epoch("at_us", time_unit="us").dt.replace_time_zone("UTC").alias("captured_at"),
        "followers",
    ).cast(dict(FOLLOWERS_SCHEMA))  # type: ignore[arg-type]


async def replace_aggregates(
    conn: AsyncConnection, frames: dict[str, pl.DataFrame], *, computed_at: datetime
) -> dict[str, int]:
    """Delete and rewrite each aggregate table; return rows written per table."""
    apg = await in_transaction(conn)
    written = {}
    for table, frame in frames.items():
        columns = AGGREGATE_TABLES[table].names()
        out = frame.select(columns)
        if table == "hashtag_performance":  # the one table whose rows say when they were made
            columns = [*columns, "computed_at"]
            out = out.with_columns(pl.lit(computed_at).alias("computed_at"))
        buffer = io.BytesIO()
        out.write_csv(buffer, include_header=False)
        buffer.seek(0)
        await apg.execute(f"DELETE FROM {table}")
        await apg.copy_to_table(table, source=buffer, columns=columns, format="csv")
        # Fresh statistics now, not when autovacuum gets round to it: planned on the old
        # ones, a table that grew from hundreds to 10,000 rows is joined by nested loops
        # (GET /hashtag-performance took 14 s instead of milliseconds).
        await apg.execute(f"ANALYZE {table}")
        written[table] = out.height
    return written


async def update_display_spellings(conn: AsyncConnection) -> None:
    """Show each hashtag as the spelling used on most posts (ties: code point order)."""
    await (await in_transaction(conn)).execute(
        """
        WITH counts AS (
            SELECT hashtag_id, spelling, count(*) AS n FROM post_hashtag GROUP BY 1, 2
        ), best AS (
            SELECT DISTINCT ON (hashtag_id) hashtag_id, spelling FROM counts
            ORDER BY hashtag_id, n DESC, spelling COLLATE "C"
        )
        UPDATE hashtag h SET display = b.spelling FROM best b
        WHERE b.hashtag_id = h.id AND h.display IS DISTINCT FROM b.spelling
        """
    )


async def write_state(
    conn: AsyncConnection, *, version: int, computed_at: datetime, duration_ms: int
) -> None:
    """Record which data version the aggregates now show."""
    await (await in_transaction(conn)).execute(
        "UPDATE recompute_state SET computed_version = $1, computed_at = $2, last_duration_ms = $3 "
        "WHERE id = 1",
        version,
        computed_at,
        duration_ms,
    )


async def try_lock(conn: AsyncConnection) -> bool:
    """Take the session-level recompute lock if free."""
    return bool(
        await (await driver(conn)).fetchval("SELECT pg_try_advisory_lock($1)", RECOMPUTE_LOCK_KEY)
    )


async def unlock(conn: AsyncConnection) -> None:
    """Release the recompute lock."""
    await (await driver(conn)).execute("SELECT pg_advisory_unlock($1)", RECOMPUTE_LOCK_KEY)
