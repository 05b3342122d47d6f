"""Shared test helpers (not fixtures)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.aggregates import repository as agg_repo
from hashtag_core.aggregates import staging
from hashtag_core.aggregates.service import compute_slice, install_staged
from hashtag_core.aggregates.slices import FROZEN, slices

API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
NDJSON = {"Content-Type": "application/x-ndjson", **AUTH}


async def recompute_in(session: AsyncSession, now: datetime) -> None:
    """A full recompute pass inside the test's own transaction, through the production path:
    the data cut into slices, each computed (`compute_slice`) and COPYed into the staged
    tables, their indexes built, then swapped in and recorded (`install_staged`). Only the
    orchestration differs from `aggregates.service.recompute`: one slice after another on
    the test's connection (no second connection, no commits), so it sees the test's rows and
    rolls back with them."""
    conn = await session.connection()
    posts = await agg_repo.load_posts(conn)
    links = await agg_repo.load_links(conn)
    followers = await agg_repo.load_followers(conn)
    versions = await agg_repo.read_versions(conn)
    tables = list(agg_repo.AGGREGATE_TABLES)
    await staging.create_staged(conn, tables)
    frozen: dict[str, list[pl.DataFrame]] = {name: [] for name in FROZEN}
    for piece in slices(posts, links, followers, now=now):
        kept, payloads = compute_slice(piece, at=now)
        for name, frame in kept.items():
            frozen[name].append(frame)
        for table, (columns, data, _rows) in payloads.items():
            await agg_repo.copy_payload(conn, staging.staged(table), columns, data)
    await staging.finish_staged(conn, tables)
    await install_staged(
        conn,
        version=versions.requested,
        at=now,
        baselines=pl.concat(frozen["account_baseline"]),
        priors=pl.concat(frozen["lift_prior"]),
        started=time.perf_counter(),
    )


async def query(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    conn = await session.connection()
    return list((await conn.execute(text(sql), params)).all())


def ndjson(records: list[dict[str, Any]]) -> bytes:
    import json

    return "".join(json.dumps(r) + "\n" for r in records).encode()


DATA_TABLES = (
    "account, post, hashtag, post_hashtag, post_metric_snapshot, follower_snapshot, "
    "post_refresh, hashtag_performance, hashtag_trend_cell, hashtag_daily, hashtag_lift, "
    "hashtag_slot, hashtag_best_slot, hashtag_momentum, hashtag_content_reach, hashtag_pair, "
    "hashtag_sentiment, hashtag_language, dirty_post, account_baseline, lift_prior, campaign, "
    "report_schedule, alert_subscription, alert_event, delivery, delivery_attempt"
)


async def wipe(engine: Any) -> None:
    """Remove committed test data and reset the version bookkeeping."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {DATA_TABLES} CASCADE"))
        await conn.execute(text("UPDATE data_version SET version = 0"))
        await conn.execute(
            text(
                "UPDATE recompute_state SET computed_version = 0, computed_at = NULL, "
                "full_version = NULL, full_computed_at = NULL, applied_version = 0"
            )
        )
