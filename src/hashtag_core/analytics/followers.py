"""Follower growth after a post, per hashtag, and the content reach ratio per hashtag.

Follower growth of a post: ``ln(f(t + days) / f(t))``, where f(x) is the first follower
snapshot of the account captured at or after x (and at most ``max_gap`` after it; otherwise
the growth is unknown). Excess growth = that minus the MEAN growth of the account's posts in
the window, so a fast-growing account does not make its every hashtag look like a driver. The
mean and not the median: growth is right-skewed (the jumps after some posts), so every hashtag
would sit above the median on average, while over the mean a no-effect hashtag expects 0.
This is association, not causation: see docs/metrics.md, "Follower growth".
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from hashtag_core.analytics.baseline import timing, window_rows, with_baseline
from hashtag_core.analytics.engagement import (
    check_inputs,
    check_schema,
    conform,
    tagged_posts,
)
from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.insight_frames import (
    CONTENT_REACH_SCHEMA,
    FOLLOWER_GROWTH_DAYS,
    FOLLOWERS_GOAL,
    FOLLOWERS_SCHEMA,
    GOAL_DTYPE,
    RELATIVE_SCHEMA,
)
from hashtag_core.analytics.lift import account_platforms_of, hashtag_lift
from hashtag_core.analytics.performance import window_bounds
from hashtag_core.analytics.stats import by_scope, merged, moments, roll_up_moments, sd, t_bounds

__all__ = [
    "content_reach",
    "follower_lift",
    "follower_relative",
    "post_follower_growth",
]

_DEFAULT_DAYS = FOLLOWER_GROWTH_DAYS
_DEFAULT_GAP = timedelta(days=1)


def post_follower_growth(
    posts: pl.LazyFrame,
    followers: pl.LazyFrame,
    *,
    now: datetime,
    days: float = _DEFAULT_DAYS,
    max_gap: timedelta = _DEFAULT_GAP,
) -> pl.LazyFrame:
    """post_id, platform, account_id, posted_at and ``growth`` (NULL when not measurable).

    Snapshots after ``now`` are ignored, so a post younger than ``days`` has no growth yet.
    """
    check_schema(posts, POSTS_SCHEMA, "posts")
    check_schema(followers, FOLLOWERS_SCHEMA, "followers")
    end = window_bounds(now)["all"][1]
    snapshots = (
        followers.select(FOLLOWERS_SCHEMA.names())
        .filter(pl.col("captured_at") <= end, pl.col("followers") > 0)
        .sort("captured_at")
    )
    span = timedelta(days=days)
    return (
        posts.select("post_id", "platform", "account_id", "posted_at")
        .filter(pl.col("posted_at") <= end)
        .sort("posted_at")
        .pipe(_snapshot_at, snapshots, "posted_at", "f_start", max_gap)
        .with_columns(target=pl.col("posted_at") + span)  # a shift keeps the sort order
        .pipe(_snapshot_at, snapshots, "target", "f_end", max_gap)
        .select(
            "post_id",
            "platform",
            "account_id",
            "posted_at",
            growth=(pl.col("f_end").cast(pl.Float64) / pl.col("f_start")).log(),
        )
    )


def follower_relative(
    posts: pl.LazyFrame,
    followers: pl.LazyFrame,
    *,
    now: datetime,
    days: float = _DEFAULT_DAYS,
    max_gap: timedelta = _DEFAULT_GAP,
    windows: Sequence[str] = tuple(WINDOWS),
) -> pl.LazyFrame:
    """RELATIVE_SCHEMA rows with goal "followers": value = growth, log_ratio = excess growth.

    The baseline is the mean growth over the account's posts (with a known growth) in the
    window; ``log_ratio = growth - baseline`` (growth is already a log ratio), so the excess
    of an account's posts averages exactly 0 (`baseline.with_baseline`, ``additive``).
    """
    growth = post_follower_growth(posts, followers, now=now, days=days, max_gap=max_gap)
    times = posts.select("post_id", *timing())
    return (
        growth.drop_nulls("growth")
        .join(times, on="post_id", how="left")
        .rename({"growth": "value"})
        .pipe(window_rows, now=now, windows=windows)
        .with_columns(goal=pl.lit(FOLLOWERS_GOAL, GOAL_DTYPE))
        .pipe(with_baseline, keys=["account_id", "window", "goal"], additive=True)
        .select(RELATIVE_SCHEMA.names())
    )


def follower_lift(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    followers: pl.LazyFrame,
    *,
    now: datetime,
    days: float = _DEFAULT_DAYS,
    max_gap: timedelta = _DEFAULT_GAP,
    windows: Sequence[str] = tuple(WINDOWS),
) -> pl.LazyFrame:
    """LIFT_SCHEMA rows (goal "followers"): mean excess growth per (scope, window, hashtag).

    ``lift`` = exp(mean excess growth) - 1: +0.005 = 0.5% more followers gained in the
    ``days`` after posts with the hashtag than after the account's typical post.
    """
    check_inputs(posts, links)
    relative = follower_relative(
        posts, followers, now=now, days=days, max_gap=max_gap, windows=windows
    )
    return hashtag_lift(relative, links)


def content_reach(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    *,
    now: datetime,
    windows: Sequence[str] = tuple(WINDOWS),
) -> pl.LazyFrame:
    """CONTENT_REACH_SCHEMA: mean reach / impressions per (scope, window, hashtag).

    Rests on the posts with reach known and impressions known and > 0. The interval is the
    plain 95% t interval of the mean ratio (NULL for fewer than 2 posts).
    """
    check_inputs(posts, links)
    reach, impressions = pl.col("reach"), pl.col("impressions")
    known = reach.is_not_null() & impressions.is_not_null() & (impressions > 0)
    rows = (
        posts.filter(known)
        .select(
            "post_id",
            "account_id",
            "posted_at",
            ratio=reach.cast(pl.Float64) / impressions.cast(pl.Float64),
        )
        .pipe(window_rows, now=now, windows=windows)
    )
    keys = ["window", "hashtag_id"]
    tagged = tagged_posts(rows, links, ["account_id", "window", "ratio"])
    summed = tagged.group_by(["account_id", *keys]).agg(moments(pl.col("ratio")))
    levels = by_scope(summed, account_platforms_of(posts), keys, roll_up_moments(), merged())
    n, mean, m2 = pl.col("n"), pl.col("mean"), pl.col("m2")
    ci_low, ci_high = t_bounds(mean, sd(n, m2) / n.sqrt(), n - 1)
    return (
        levels.with_columns(
            pl.col("window").cast(pl.String), reach_ratio=mean, ci_low=ci_low, ci_high=ci_high
        )
        .rename({"n": "posts"})
        .pipe(conform, CONTENT_REACH_SCHEMA)
    )


def _snapshot_at(
    frame: pl.LazyFrame, snapshots: pl.LazyFrame, at: str, name: str, max_gap: timedelta
) -> pl.LazyFrame:
    """Add ``name`` = followers of the first snapshot in [at, at + max_gap] of the account."""
    found = snapshots.select(
        "account_id", pl.col("captured_at").alias(f"{name}_at"), pl.col("followers").alias(name)
    )
    # Both sides are sorted by their time column (globally, hence within each account), which
    # polars cannot verify when `by` groups are given; it would only warn.
    return frame.join_asof(
        found,
        left_on=at,
        right_on=f"{name}_at",
        by="account_id",
        strategy="forward",
        tolerance=max_gap,
        check_sortedness=False,
    ).drop(f"{name}_at")
