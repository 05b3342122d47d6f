"""Rebuilding the precomputed aggregates.

One pass reads the data in a REPEATABLE READ snapshot (so the posts, links and the data version
it records are consistent), computes every table with polars in a worker thread, and replaces
the aggregate rows in the same transaction: readers see the old figures or the new ones, never
a mix. A cluster-wide advisory lock keeps passes one at a time. A trigger that finds the lock
taken returns at once: the running pass re-checks the data version after releasing the lock
and goes again if anything arrived meanwhile, so concurrent triggers coalesce without losing
an update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hashtag_core.aggregates import repository as repo
from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.followers import content_reach, follower_lift
from hashtag_core.analytics.frames import POSTS_SCHEMA
from hashtag_core.analytics.insight_frames import FOLLOWERS_SCHEMA
from hashtag_core.analytics.lift import hashtag_lift
from hashtag_core.analytics.performance import hashtag_performance
from hashtag_core.analytics.sentiment import hashtag_sentiment
from hashtag_core.analytics.slots import best_slots, hashtag_momentum, slot_lift
from hashtag_core.analytics.trends import daily_series, trend_cells

__all__ = ["RecomputeOutcome", "compute_frames", "recompute"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecomputeOutcome:
    """What a recompute trigger did."""

    status: str  # "computed" | "up_to_date" | "coalesced"
    computed_version: int | None = None
    passes: int = 0
    rows: dict[str, int] | None = None
    duration_ms: int | None = None


def compute_frames(
    posts: pl.DataFrame,
    links: pl.DataFrame,
    *,
    now: datetime,
    followers: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """Every aggregate table from the input frames (CPU-bound: run it in a thread).

    `posts` may carry a `sentiment` column (needed for the sentiment table); `followers` are
    the follower snapshots (needed for the follower-growth lift).
    """
    lposts, llinks = posts.select(list(POSTS_SCHEMA)).lazy(), links.lazy()
    follower_frame = followers if followers is not None else pl.DataFrame(schema=FOLLOWERS_SCHEMA)
    relative = relative_performance(lposts, now=now)
    slots = slot_lift(lposts, llinks, now=now)
    plans = {
        "hashtag_performance": hashtag_performance(lposts, llinks, now=now),
        "hashtag_trend_cell": trend_cells(lposts, llinks),
        "hashtag_daily": daily_series(lposts, llinks),
        "hashtag_lift": pl.concat(
            [
                hashtag_lift(relative, llinks),
                follower_lift(lposts, llinks, follower_frame.lazy(), now=now),
            ]
        ),
        "hashtag_slot": slots,
        "hashtag_best_slot": best_slots(slots),
        "hashtag_momentum": hashtag_momentum(lposts, llinks, now=now),
        "hashtag_content_reach": content_reach(lposts, llinks, now=now),
        "hashtag_pair": cooccurrence(lposts, llinks, now=now),
    }
    if "sentiment" in posts.columns:
        plans["hashtag_sentiment"] = hashtag_sentiment(posts.lazy(), llinks, now=now)
    frames = pl.collect_all(list(plans.values()))
    return dict(zip(plans, frames, strict=True))


async def _pass(
    conn: AsyncConnection, now: datetime | None, *, force: bool = False
) -> RecomputeOutcome | None:
    """One snapshot pass; None when the aggregates already show the latest data."""
    started = time.perf_counter()
    rr = await conn.execution_options(isolation_level="REPEATABLE READ")
    async with rr.begin():
        versions = await repo.read_versions(rr)
        if versions.computed >= versions.requested and not force:
            return None
        posts = await repo.load_posts(rr)
        links = await repo.load_links(rr)
        followers = await repo.load_followers(rr)
        at = now or datetime.now(UTC)
        frames = await asyncio.to_thread(compute_frames, posts, links, now=at, followers=followers)
        rows = await repo.replace_aggregates(rr, frames, computed_at=at)
        await repo.update_display_spellings(rr)
        duration_ms = int((time.perf_counter() - started) * 1000)
        await repo.write_state(
            rr, version=versions.requested, computed_at=at, duration_ms=duration_ms
        )
    logger.info(
        "recomputed aggregates to version %s in %d ms: %s", versions.requested, duration_ms, rows
    )
    return RecomputeOutcome("computed", versions.requested, 1, rows, duration_ms)


async def recompute(
    engine: AsyncEngine, *, now: datetime | None = None, force: bool = False
) -> RecomputeOutcome:
    """Bring the aggregates up to the latest data version (or leave it to a running pass).

    `force` recomputes even when no data changed: time windows end at "now" and move on.
    """
    last: RecomputeOutcome | None = None
    passes = 0
    async with engine.connect() as conn:
        while True:
            if not await repo.try_lock(conn):
                await conn.commit()
                return last or RecomputeOutcome("coalesced")
            await conn.commit()
            try:
                outcome = await _pass(conn, now, force=force and passes == 0)
            finally:
                await repo.unlock(conn)
                await conn.commit()
            if outcome is None:
                if last is None:
                    versions = await repo.read_versions(conn)
                    await conn.commit()
                    return RecomputeOutcome("up_to_date", versions.computed, passes)
                return RecomputeOutcome(
                    "computed", last.computed_version, passes, last.rows, last.duration_ms
                )
            passes += 1
            last = outcome
