"""Shared test helpers (not fixtures)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.aggregates import repository as agg_repo
from hashtag_core.aggregates.service import compute_frames

API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
NDJSON = {"Content-Type": "application/x-ndjson", **AUTH}


async def recompute_in(session: AsyncSession, now: datetime) -> None:
    """The recompute pass inside the test's own transaction (same code, no lock/snapshot)."""
    conn = await session.connection()
    posts = await agg_repo.load_posts(conn)
    links = await agg_repo.load_links(conn)
    followers = await agg_repo.load_followers(conn)
    frames = compute_frames(posts, links, now=now, followers=followers)
    await agg_repo.replace_aggregates(conn, frames, computed_at=now)
    await agg_repo.update_display_spellings(conn)
    versions = await agg_repo.read_versions(conn)
    await agg_repo.write_state(conn, version=versions.requested, computed_at=now, duration_ms=1)


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
    "hashtag_sentiment, hashtag_language, dirty_post, account_baseline, lift_prior"
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
