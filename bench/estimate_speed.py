"""Time the hashtag estimate's steps at scale: `python -m bench.estimate_speed [posts]`.

A synthetic brand (accounts 60x apart, Zipf-like hashtag use, ~3.1 links per post, 20k
hashtags at 1M posts) through `relative_performance` and `hashtag_lift` for one window and
goal (what one slice of the full recompute does), beside the raw-lift-only part of the same
slice as the same-run baseline. Prints seconds and the ratio.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
import polars as pl

from hashtag_core.analytics import effects
from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.engagement import tagged_posts
from hashtag_core.analytics.frames import POSTS_SCHEMA
from hashtag_core.analytics.lift import account_platforms_of, hashtag_lift, raw_figures
from hashtag_core.analytics.stats import by_scope, merged, moments, roll_up_moments

NOW = datetime(2026, 12, 1, tzinfo=UTC)
T = TypeVar("T")


def brand(posts: int, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Posts and links of a synthetic brand."""
    rng = np.random.default_rng(seed)
    tags = max(50, posts // 50)
    accounts = rng.choice(12, posts, p=np.r_[np.full(6, 0.15), np.full(6, 0.1 / 6)]) + 1
    hours = rng.integers(1, 24 * 365 * 2, posts)
    stamp = np.datetime64(NOW.replace(tzinfo=None), "us") - hours.astype("timedelta64[h]")
    weight = 1.0 / np.arange(1, tags + 1) ** 1.1
    per_post = rng.poisson(2.1, posts) + 1
    post_ids = np.repeat(np.arange(posts), per_post)
    hashtag = rng.choice(tags, len(post_ids), p=weight / weight.sum()) + 1
    effect = rng.normal(0, 0.1, tags + 1) * (rng.random(tags + 1) < 0.1)
    y = rng.normal(0, 0.9, posts) + np.bincount(post_ids, effect[hashtag], minlength=posts)
    likes = np.round(np.exp(np.log(50.0 * accounts) + y)).astype(np.int64)
    frame = pl.DataFrame(
        {
            "post_id": np.arange(posts),
            "account_id": accounts,
            "platform": np.where(accounts % 2 == 0, "instagram", "x"),
            "posted_at": stamp,
            "likes": likes,
        }
    ).with_columns(
        pl.col("posted_at").dt.replace_time_zone("UTC"),
        local_date=pl.col("posted_at").dt.date(),
        local_weekday=pl.col("posted_at").dt.weekday().cast(pl.Int8),
        local_hour=pl.col("posted_at").dt.hour().cast(pl.Int8),
        comments=pl.lit(0),
        shares=pl.lit(0),
        saves=pl.lit(0),
        impressions=pl.lit(None),
        reach=pl.lit(None),
        followers=pl.lit(None),
    )
    posts_frame = frame.select(
        [pl.col(c).cast(t) for c, t in POSTS_SCHEMA.items()]  # type: ignore[arg-type]
    )
    links = pl.DataFrame({"post_id": post_ids, "hashtag_id": hashtag}).unique()
    return posts_frame, links


def raw_only(relative: pl.LazyFrame, links: pl.LazyFrame) -> pl.DataFrame:
    """The raw lift of the same slice (what the recompute did before the estimate)."""
    keys = ["window", "goal", "hashtag_id"]
    tagged = tagged_posts(relative, links, ["account_id", "window", "goal", "log_ratio"])
    accounts = tagged.group_by(["account_id", *keys]).agg(moments(pl.col("log_ratio")))
    levels = by_scope(accounts, account_platforms_of(relative), keys, roll_up_moments(), merged())
    return levels.pipe(raw_figures).collect()


def _timed(step: Callable[[], T]) -> tuple[T, float, float]:
    """step's result, wall seconds and CPU seconds (every thread: on a shared machine the wall
    time measures the neighbours too)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(posts: int) -> None:
    frame, links = brand(posts)
    relative = (
        relative_performance(frame.lazy(), now=NOW, goals=["engagement"], windows=["all"])
        .collect()
        .lazy()
    )
    print(f"{posts:,} posts, {links.height:,} links, {links['hashtag_id'].n_unique():,} hashtags")
    raw, base, base_cpu = _timed(lambda: raw_only(relative, links.lazy()))
    fit, fitted, fitted_cpu = _timed(lambda: effects.joint_fit(relative, links.lazy()).tags)
    rows, whole, whole_cpu = _timed(lambda: hashtag_lift(relative, links.lazy()).collect())
    print(f"raw lift only (baseline): {base:.2f} s wall, {base_cpu:.2f} s CPU ({raw.height:,})")
    print(f"joint fit alone: {fitted:.2f} s wall, {fitted_cpu:.2f} s CPU ({fit.height:,} rows)")
    print(
        f"raw lift + estimate (hashtag_lift): {whole:.2f} s wall = {whole / base:.1f}x the "
        f"baseline; {whole_cpu:.2f} s CPU = {whole_cpu / max(base_cpu, 1e-9):.1f}x"
    )
    verdicts = rows.group_by("verdict").len().sort("verdict")
    print(dict(zip(verdicts["verdict"], verdicts["len"], strict=True)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
