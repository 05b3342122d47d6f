"""Per-post performance relative to the post's own account (RELATIVE_SCHEMA).

A big account's posts beat a small account's by size alone, so every insight compares a post
with its account's usual post instead: for each goal, ``log_ratio = ln(value / baseline)``
where ``baseline`` is the median ``value`` over the account's posts in the same window (one
account is on one platform, so this is also within the platform). The per-post ``value`` is
smoothed so that zeros stay finite (docs/metrics.md, "Relative performance"):

=========== ================================ ==============================================
goal        value                            posts it is defined for
=========== ================================ ==============================================
engagement  1 + engagement                   all
reach       1 + reach                        reach known
virality    (shares + 0.5) / (denom + 1)     shares known, denom (reach, else impr.) > 0
er_follower (1 + engagement) / followers     followers known and > 0
=========== ================================ ==============================================
"""

import math
from collections.abc import Sequence
from datetime import datetime

import polars as pl

from hashtag_core.analytics.engagement import check_schema, engagement, virality_denominator
from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.insight_frames import GOAL_DTYPE, GOALS, RELATIVE_SCHEMA, WINDOW_DTYPE
from hashtag_core.analytics.performance import window_bounds

__all__ = [
    "LOG_RATIO_CAP",
    "goal_value",
    "relative_performance",
    "timing",
    "window_rows",
    "with_baseline",
]

#: |log_ratio| is capped at ln 20: one post counts as at most 20 times (or 1/20 of) its
#: account's usual post, so a single viral hit cannot carry a hashtag on its own.
LOG_RATIO_CAP = math.log(20.0)

#: Columns of a post that identify it in the relative frame.
_IDS = ["post_id", "platform", "account_id"]


def relative_performance(
    posts: pl.LazyFrame,
    *,
    now: datetime,
    goals: Sequence[str] = GOALS,
    windows: Sequence[str] = tuple(WINDOWS),
) -> pl.LazyFrame:
    """One row per (post, window containing it, goal it has a value for), RELATIVE_SCHEMA."""
    check_schema(posts, POSTS_SCHEMA, "posts")
    unknown = set(goals) - set(GOALS)
    if unknown:
        raise ValueError(f"unknown goals {sorted(unknown)}; known: {list(GOALS)}")
    values = posts.select(*_IDS, "posted_at", *timing(), *(goal_value(g).alias(g) for g in goals))
    long = (
        values.pipe(window_rows, now=now, windows=windows)
        .unpivot(
            on=list(goals), index=[*_IDS, "window", "slot", "month", "day"], variable_name="goal"
        )
        .drop_nulls("value")
        .with_columns(pl.col("goal").cast(GOAL_DTYPE))
    )
    return long.pipe(with_baseline, keys=["account_id", "window", "goal"]).select(
        RELATIVE_SCHEMA.names()
    )


def timing() -> list[pl.Expr]:
    """``slot`` (local weekday x hour, 0..167) and ``month`` (UTC) of a post: the timing
    covariates of the hashtag estimate (`effects.joint_fit`); and its ``day`` (UTC, days
    since 1970-01-01), by which the estimate of follower growth counts posts whose growth
    windows overlap as one (`effects.joint_fit`)."""
    posted_at = pl.col("posted_at")
    return [
        (
            (pl.col("local_weekday").cast(pl.Int16) - 1) * 24 + pl.col("local_hour").cast(pl.Int16)
        ).alias("slot"),
        (posted_at.dt.year().cast(pl.Int32) * 12 + posted_at.dt.month().cast(pl.Int32) - 1).alias(
            "month"
        ),
        posted_at.dt.epoch("d").cast(pl.Int32).alias("day"),
    ]


def goal_value(goal: str) -> pl.Expr:
    """The smoothed per-post value of ``goal`` (NULL where the post has no such value).

    The +1 / +0.5 terms keep zero counts finite on the log scale: one extra engagement or
    reached account, or half a share out of one more viewer (the Jeffreys estimate of a
    rate), which barely moves typical values but keeps ln(0) out.
    """
    if goal == "engagement":
        return 1.0 + engagement().cast(pl.Float64)
    if goal == "reach":
        return 1.0 + pl.col("reach").cast(pl.Float64)
    if goal == "virality":
        shares, denominator = pl.col("shares"), virality_denominator()
        known = shares.is_not_null() & denominator.is_not_null() & (denominator > 0)
        return pl.when(known).then((shares + 0.5) / (denominator.cast(pl.Float64) + 1.0))
    if goal == "er_follower":
        followers = pl.col("followers")
        known = followers.is_not_null() & (followers > 0)
        return pl.when(known).then((1.0 + engagement()) / followers.cast(pl.Float64))
    raise ValueError(f"unknown goal {goal!r}")


def window_rows(
    posts: pl.LazyFrame, *, now: datetime, windows: Sequence[str] = tuple(WINDOWS)
) -> pl.LazyFrame:
    """One row per (post, window containing it) with a ``window`` column (WINDOW_DTYPE).

    A window contains the posts with ``start <= posted_at <= now`` (as in `hashtag_performance`).
    """
    bounds = window_bounds(now)
    end = bounds["all"][1]  # `now` in UTC
    table = pl.LazyFrame(
        {"window": list(windows), "window_start": [bounds[name][0] for name in windows]},
        schema={"window": WINDOW_DTYPE, "window_start": pl.Datetime("us", "UTC")},
    )
    start, posted_at = pl.col("window_start"), pl.col("posted_at")
    return (
        posts.filter(posted_at <= end)
        .join(table, how="cross")
        .filter(start.is_null() | (posted_at >= start))
        .drop("window_start", "posted_at")
    )


def with_baseline(
    frame: pl.LazyFrame, *, keys: Sequence[str], additive: bool = False
) -> pl.LazyFrame:
    """Add ``baseline`` (the account's usual ``value`` per ``keys``) and ``log_ratio``.

    By default ``baseline`` is the median ``value`` and ``log_ratio`` = ln(value / baseline)
    capped to +/-LOG_RATIO_CAP. With ``additive`` the values are already on the log scale
    (follower growth): ``baseline`` is the MEAN ``value`` and ``log_ratio = value - baseline``,
    uncapped (growth differences are small and have no viral tail to tame). The mean, not the
    median: growth is right-skewed (jumps after some posts), so the median sits below the mean
    and every hashtag's mean excess over it would be positive; over the mean, the excess of
    the account's posts sums to exactly 0 and a hashtag with no effect expects 0.
    """
    value, baseline = pl.col("value"), pl.col("baseline")
    centre = value.mean() if additive else value.median()
    baselines = frame.group_by(list(keys)).agg(baseline=centre)
    ratio = (
        value - baseline
        if additive
        else (value / baseline).log().clip(-LOG_RATIO_CAP, LOG_RATIO_CAP)
    )
    return frame.join(baselines, on=list(keys), how="left").with_columns(log_ratio=ratio)
