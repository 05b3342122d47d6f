"""SQL for the recompute: load the analytics frames with COPY, swap aggregate rows, and keep
the version bookkeeping. Nothing here commits; the service owns the transaction."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection

from hashtag_core.analytics.frames import (
    DAILY_SCHEMA,
    LINKS_SCHEMA,
    PERFORMANCE_SCHEMA,
    TREND_CELL_SCHEMA,
)
from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    CONTENT_REACH_SCHEMA,
    COOCCURRENCE_SCHEMA,
    FOLLOWERS_SCHEMA,
    LANGUAGE_POSTS_SCHEMA,
    LANGUAGE_SCHEMA,
    LIFT_SCHEMA,
    MOMENTUM_SCHEMA,
    SENTIMENT_SCHEMA,
    SLOT_SCHEMA,
)
from hashtag_core.rawsql import driver, in_transaction

__all__ = [
    "AGGREGATE_TABLES",
    "APPLY_LOCK_KEY",
    "RECOMPUTE_LOCK_KEY",
    "DirtyPost",
    "IncrementalState",
    "Versions",
    "clear_dirty",
    "copy_payload",
    "csv_payload",
    "dirty_posts",
    "hashtags_of_posts",
    "load_baselines",
    "load_followers",
    "load_hashtag_rows",
    "load_links",
    "load_posts",
    "load_priors",
    "most_used_hashtags",
    "lock_apply",
    "read_state",
    "read_versions",
    "recompute_running",
    "replace_aggregates",
    "replace_frozen",
    "replace_hashtag_rows",
    "try_lock",
    "unlock",
    "unlock_apply",
    "update_display_spellings",
    "write_full_state",
    "write_incremental_state",
    "write_state",
]

#: pg advisory lock key held while a recompute pass runs (one pass at a time, cluster-wide).
RECOMPUTE_LOCK_KEY = 7_246_001
#: pg advisory lock key held while aggregate rows are written (a full recompute's swap or an
#: incremental pass): writers of aggregate rows take it before their transaction starts, so
#: their REPEATABLE READ snapshots never miss one another's rows.
APPLY_LOCK_KEY = 7_246_002
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
    "hashtag_language": LANGUAGE_SCHEMA,
}

_METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
# Local calendar fields come from each post's own account time zone (DST-correct in SQL).
_POSTS_QUERY = f"""
SELECT p.id AS post_id, p.account_id, p.platform,
       (extract(epoch FROM p.posted_at) * 1000000)::int8 AS posted_at_us,
       ((p.posted_at AT TIME ZONE a.timezone)::date - DATE '1970-01-01') AS local_days,
       extract(isodow FROM p.posted_at AT TIME ZONE a.timezone)::int2 AS local_weekday,
       extract(hour FROM p.posted_at AT TIME ZONE a.timezone)::int2 AS local_hour,
       {", ".join(f"p.{m}" for m in _METRICS)}, p.language, p.sentiment
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


def _id_list(ids: Iterable[int]) -> str:
    """A literal bigint[] of ids (COPY takes no parameters)."""
    return "'{" + ",".join(str(int(i)) for i in sorted(set(ids))) + "}'::bigint[]"


async def load_posts(
    conn: AsyncConnection,
    hashtags: Iterable[int] | None = None,
    *,
    post_ids: Iterable[int] | None = None,
) -> pl.DataFrame:
    """Every post (or every post linked to one of `hashtags`, or the posts `post_ids`) with its
    metrics, local calendar fields, language and sentiment (LANGUAGE_POSTS_SCHEMA)."""
    query = _POSTS_QUERY
    if hashtags is not None:
        query += (
            "WHERE p.id IN (SELECT post_id FROM post_hashtag "
            f"WHERE hashtag_id = ANY({_id_list(hashtags)}))"
        )
    elif post_ids is not None:
        query += f"WHERE p.id = ANY({_id_list(post_ids)})"
    raw = pl.read_csv(
        io.BytesIO(await _copy_out(conn, query)),
        schema_overrides={
            "platform": pl.String,
            "language": pl.String,
            **dict.fromkeys(_METRICS, pl.Int64),
        },
    )
    if raw.height == 0:
        return pl.DataFrame(schema=LANGUAGE_POSTS_SCHEMA)
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
        pl.col("language"),
        pl.col("sentiment").cast(pl.Float64),
    )


async def load_links(conn: AsyncConnection, hashtags: Iterable[int] | None = None) -> pl.DataFrame:
    """Every post-hashtag link (or the links of `hashtags`), as LINKS_SCHEMA."""
    query = "SELECT post_id, hashtag_id FROM post_hashtag"
    if hashtags is not None:
        query += f" WHERE hashtag_id = ANY({_id_list(hashtags)})"
    data = await _copy_out(conn, query)
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
        await apg.execute(f"DELETE FROM {table}")
        out = await _copy_in(apg, table, frame, computed_at=computed_at)
        # Fresh statistics now, not when autovacuum gets round to it: planned on the old
        # ones, a table that grew from hundreds to 10,000 rows is joined by nested loops
        # (GET /hashtag-performance took 14 s instead of milliseconds).
        await apg.execute(f"ANALYZE {table}")
        written[table] = out.height
    return written


#: Rows per CSV chunk a COPY sends: the whole table's CSV is never held at once (at a million
#: posts the slots' 2.2M rows made ~660 MB of CSV, copied once more by BytesIO.getvalue).
COPY_CHUNK_ROWS = 100_000


def csv_payload(
    table: str, frame: pl.DataFrame, *, computed_at: datetime | None = None
) -> tuple[list[str], pl.DataFrame]:
    """The columns and rows COPY writes `frame` into an aggregate table with (columns as in
    AGGREGATE_TABLES, plus computed_at for hashtag_performance); `copy_payload` encodes the
    rows as CSV a chunk at a time while it sends them."""
    columns = AGGREGATE_TABLES[table].names()
    out = frame.select(columns)
    if table == "hashtag_performance":  # the one table whose rows say when they were made
        columns = [*columns, "computed_at"]
        out = out.with_columns(pl.lit(computed_at).alias("computed_at"))
    return columns, out


async def copy_payload(
    conn: AsyncConnection, target: str, columns: list[str], data: pl.DataFrame
) -> None:
    """COPY a `csv_payload` into the table `target`."""
    await _copy_csv(await in_transaction(conn), target, columns, data)


def _csv(rows: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    rows.write_csv(buffer, include_header=False)
    return buffer.getvalue()


async def _csv_chunks(data: pl.DataFrame) -> AsyncIterator[bytes]:
    """`data` as CSV rows (no header), COPY_CHUNK_ROWS rows at a time, each encoded in a
    thread (as the whole payload was before): the event loop keeps serving meanwhile."""
    for offset in range(0, data.height, COPY_CHUNK_ROWS):
        yield await asyncio.to_thread(_csv, data.slice(offset, COPY_CHUNK_ROWS))


async def _copy_csv(apg: Any, target: str, columns: list[str], data: pl.DataFrame) -> None:
    if data.height == 0:
        return
    await apg.copy_to_table(target, source=_csv_chunks(data), columns=columns, format="csv")


async def _copy_in(
    apg: Any, table: str, frame: pl.DataFrame, *, computed_at: datetime | None = None
) -> pl.DataFrame:
    """COPY `frame` into an aggregate table (columns as in AGGREGATE_TABLES); return it."""
    await _copy_csv(apg, table, *csv_payload(table, frame, computed_at=computed_at))
    return frame


def _keyed_rows(
    table: str,
    hashtags: Sequence[int],
    keys: pl.DataFrame | None,
    goals: Sequence[str],
) -> tuple[str, str, list[Any]]:
    """(USING clause, WHERE condition, arguments) selecting the rows of `hashtags` in `table`
    (hashtag_lift: only `goals`) whose key columns match a row of `keys` (None: all rows)."""
    ids = sorted(set(hashtags))
    where, args = ["t.hashtag_id = ANY($1::bigint[])"], [cast(list[Any], ids)]
    if table == "hashtag_lift":
        args.append(list(goals))
        where.append(f"t.goal = ANY(${len(args)}::text[])")
    using = ""
    if keys is not None:
        arrays = []
        for column in keys.columns:
            args.append(keys[column].to_list())
            arrays.append(f"${len(args)}::{_SQL_ARRAY[keys.schema[column]]}[]")
        names = ", ".join(f'"{c}"' for c in keys.columns)
        # keys x hashtags: one primary-key lookup per row (not every row of the hashtags)
        using = (
            f"unnest({', '.join(arrays)}) AS k({names}) "
            "CROSS JOIN unnest($1::bigint[]) AS h(hashtag_id)"
        )
        where[0] = "t.hashtag_id = h.hashtag_id"
        where += [f't."{c}" = k."{c}"' for c in keys.columns]
    return using, " AND ".join(where), args


async def load_hashtag_rows(
    conn: AsyncConnection,
    table: str,
    hashtags: Sequence[int],
    keys: pl.DataFrame | None,
    *,
    goals: Sequence[str],
) -> pl.DataFrame:
    """The stored rows of `hashtags` in `table` whose key columns match a row of `keys` (None:
    every row of the hashtags; hashtag_lift: only `goals`), as AGGREGATE_TABLES[table]."""
    schema = AGGREGATE_TABLES[table]
    using, where, args = _keyed_rows(table, hashtags, keys, goals)
    columns = ", ".join(f't."{c}"' for c in schema.names())
    source = f"{using}, {table} t" if using else f"{table} t"
    rows = await (await in_transaction(conn)).fetch(
        f"SELECT {columns} FROM {source} WHERE {where}", *args
    )
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


async def replace_hashtag_rows(
    conn: AsyncConnection,
    frames: dict[str, pl.DataFrame],
    hashtags: Sequence[int],
    *,
    computed_at: datetime,
    goals: Sequence[str],
    keys: dict[str, pl.DataFrame] | None = None,
) -> dict[str, int]:
    """Replace the rows of `hashtags` in each table of `frames` (hashtag_lift: only `goals`).

    With `keys` (table -> frame of key columns), only the rows of `hashtags` whose key columns
    match a row of that table's frame are replaced, and `frames` must hold just those."""
    apg = await in_transaction(conn)
    written = {}
    for table, frame in frames.items():
        using, where, args = _keyed_rows(
            table, hashtags, None if keys is None else keys[table], goals
        )
        using = f" USING {using}" if using else ""
        await apg.execute(f"DELETE FROM {table} t{using} WHERE {where}", *args)
        written[table] = (await _copy_in(apg, table, frame, computed_at=computed_at)).height
    return written


#: SQL element types of the key columns `replace_hashtag_rows` matches on.
_SQL_ARRAY: dict[pl.DataType, str] = {
    pl.String(): "text",
    pl.Int64(): "bigint",
    pl.Int16(): "smallint",
    pl.Date(): "date",
}


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


async def recompute_running(conn: AsyncConnection) -> bool:
    """Whether a session of this database holds the recompute lock: a pass is running now.

    A one-bigint advisory key below 2^32 shows in pg_locks as classid 0, objid key, objsubid 1.
    """
    return bool(
        await (await driver(conn)).fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = 0 AND objid = $1::bigint::oid AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            RECOMPUTE_LOCK_KEY,
        )
    )


@dataclass(frozen=True)
class IncrementalState:
    """The version bookkeeping the incremental pass needs, read in one snapshot."""

    requested: int  # data version written so far
    computed: int  # data version the aggregates show (full or incremental)
    applied: int  # dirty posts up to this version are in the aggregates
    full_version: int | None  # data version of the last full recompute (None: none yet)
    full_computed_at: datetime | None  # its time: the windows' anchor


@dataclass(frozen=True)
class DirtyPost:
    """One single-post update waiting to be (or already) applied incrementally."""

    version: int
    post_id: int
    old_hashtag_ids: list[int]


async def read_state(conn: AsyncConnection) -> IncrementalState:
    """Versions and the last full recompute, in the caller's snapshot."""
    row = await (await in_transaction(conn)).fetchrow(
        "SELECT d.version AS requested, r.computed_version, r.applied_version, r.full_version, "
        "r.full_computed_at FROM data_version d, recompute_state r WHERE d.id = 1 AND r.id = 1"
    )
    return IncrementalState(
        requested=row["requested"],
        computed=row["computed_version"],
        applied=row["applied_version"],
        full_version=row["full_version"],
        full_computed_at=row["full_computed_at"],
    )


async def dirty_posts(conn: AsyncConnection, *, after: int, upto: int) -> list[DirtyPost]:
    """Dirty-post records with `after` < version <= `upto`, oldest first."""
    rows = await (await in_transaction(conn)).fetch(
        "SELECT version, post_id, old_hashtag_ids FROM dirty_post "
        "WHERE version > $1 AND version <= $2 ORDER BY version, post_id",
        after,
        upto,
    )
    return [DirtyPost(r["version"], r["post_id"], list(r["old_hashtag_ids"])) for r in rows]


async def load_links_of_posts(conn: AsyncConnection, post_ids: Sequence[int]) -> pl.DataFrame:
    """The links of the posts `post_ids`, as LINKS_SCHEMA."""
    data = await _copy_out(
        conn,
        f"SELECT post_id, hashtag_id FROM post_hashtag WHERE post_id = ANY({_id_list(post_ids)})",
    )
    return pl.read_csv(io.BytesIO(data), schema=LINKS_SCHEMA)


async def state_token(conn: AsyncConnection) -> str:
    """Which write of the recompute bookkeeping this snapshot sees (the row's xmin: every full
    or incremental pass, and any reset, writes a new one)."""
    token = await (await in_transaction(conn)).fetchval(
        "SELECT xmin::text FROM recompute_state WHERE id = 1"
    )
    return str(token)


async def most_used_hashtags(conn: AsyncConnection, links: int) -> list[int]:
    """The most used hashtags (all platforms, all time, as the aggregates show them) whose
    post counts add up to at most `links`, most used first."""
    rows = await (await in_transaction(conn)).fetch(
        "SELECT hashtag_id FROM (SELECT hashtag_id, sum(posts) OVER "
        "(ORDER BY posts DESC, hashtag_id ROWS UNBOUNDED PRECEDING) AS running "
        "FROM hashtag_performance "
        "WHERE platform = '*' AND account_id = 0 AND \"window\" = 'all') t "
        "WHERE running <= $1 ORDER BY running",
        links,
    )
    return [r["hashtag_id"] for r in rows]


async def hashtags_of_posts(conn: AsyncConnection, post_ids: Sequence[int]) -> set[int]:
    """The hashtags the posts are linked to now."""
    rows = await (await in_transaction(conn)).fetch(
        "SELECT DISTINCT hashtag_id FROM post_hashtag WHERE post_id = ANY($1::bigint[])",
        list(post_ids),
    )
    return {r["hashtag_id"] for r in rows}


async def clear_dirty(conn: AsyncConnection, *, covered: int) -> None:
    """Forget the dirty posts a full recompute of data version `covered` included (and any
    record from beyond the current data version, which only a reset database leaves)."""
    await (await in_transaction(conn)).execute(
        "DELETE FROM dirty_post WHERE version <= $1 "
        "OR version > (SELECT version FROM data_version WHERE id = 1)",
        covered,
    )


async def replace_frozen(
    conn: AsyncConnection, baselines: pl.DataFrame, priors: pl.DataFrame
) -> None:
    """Store the baselines and prior a full recompute used (the incremental passes reuse them)."""
    apg = await in_transaction(conn)
    for table, frame in (("account_baseline", baselines), ("lift_prior", priors)):
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False)
        buffer.seek(0)
        await apg.execute(f"DELETE FROM {table}")
        await apg.copy_to_table(table, source=buffer, columns=frame.columns, format="csv")


async def load_baselines(conn: AsyncConnection, schema: pl.Schema) -> pl.DataFrame:
    """The stored account baselines (as `schema`)."""
    data = await _copy_out(conn, f"SELECT {_quoted(schema)} FROM account_baseline")
    return pl.read_csv(io.BytesIO(data), schema=schema)


async def load_priors(conn: AsyncConnection, schema: pl.Schema) -> pl.DataFrame:
    """The stored empirical-Bayes prior (as `schema`)."""
    data = await _copy_out(conn, f"SELECT {_quoted(schema)} FROM lift_prior")
    return pl.read_csv(io.BytesIO(data), schema=schema)


def _quoted(schema: pl.Schema) -> str:
    return ", ".join(f'"{name}"' for name in schema.names())


async def write_full_state(
    conn: AsyncConnection, *, full_version: int, computed_version: int, applied: int, at: datetime
) -> None:
    """Record a full recompute of `full_version` (plus dirty posts applied on top of it)."""
    await (await in_transaction(conn)).execute(
        "UPDATE recompute_state SET full_version = $1, full_computed_at = $2, "
        "computed_version = $3, applied_version = $4 WHERE id = 1",
        full_version,
        at,
        computed_version,
        applied,
    )


async def write_incremental_state(
    conn: AsyncConnection, *, computed_version: int, applied: int, at: datetime
) -> None:
    """Record an incremental pass (computed_at: when the aggregates last changed)."""
    await (await in_transaction(conn)).execute(
        "UPDATE recompute_state SET computed_version = GREATEST(computed_version, $1), "
        "applied_version = GREATEST(applied_version, $2), computed_at = $3 WHERE id = 1",
        computed_version,
        applied,
        at,
    )


async def lock_apply(conn: AsyncConnection) -> None:
    """Wait for the aggregate-writing lock (held for one swap or one incremental pass)."""
    await (await driver(conn)).execute("SELECT pg_advisory_lock($1)", APPLY_LOCK_KEY)


async def unlock_apply(conn: AsyncConnection) -> None:
    """Release the aggregate-writing lock."""
    await (await driver(conn)).execute("SELECT pg_advisory_unlock($1)", APPLY_LOCK_KEY)
