"""When to post: engagement lift per local weekday-hour cell, the best cells, and momentum.

Both figures rest on the engagement log-ratio of `baseline.relative_performance`. Slots are
computed per window (by default only "all"): each post in the window is compared with its
account's median post of the same window, as for the hashtag lift. Momentum has no window: it
compares two adjacent periods (the last ``days`` before ``now`` and the ``days`` before that),
each post against its account's median in its own period, so an account-wide rise or fall
does not show up as every hashtag's momentum.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from hashtag_core.analytics.baseline import goal_value, relative_performance, with_baseline
from hashtag_core.analytics.effects import MIN_POSTS, effect_rows, joint_fit, judged_rows
from hashtag_core.analytics.engagement import check_inputs, conform, tagged_posts
from hashtag_core.analytics.frames import ALL_HASHTAGS
from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    MOMENTUM_SCHEMA,
    SLOT_SCHEMA,
)
from hashtag_core.analytics.lift import account_platforms_of
from hashtag_core.analytics.performance import window_bounds
from hashtag_core.analytics.stats import (
    by_scope,
    direction,
    interval,
    merged,
    moments,
    one_period,
    roll_up_moments,
    sd,
    welch,
)

__all__ = ["SLOT_GOAL", "best_slots", "hashtag_momentum", "slot_lift"]

#: The goal whose log-ratios the slots compare (and whose regression they share).
SLOT_GOAL = "engagement"

_SCOPE = ["platform", "account_id"]
_CELL = ["weekday", "hour"]


def slot_lift(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    *,
    now: datetime,
    windows: Sequence[str] = ("all",),
    fitted_cells: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """SLOT_SCHEMA: engagement lift per (scope, window, hashtag or ALL_HASHTAGS, weekday, hour).

    Posts whose local weekday or hour is NULL cannot be placed in a cell and are left out
    of the cells (they still count in their account's baseline). ``fitted_cells``: the cells of
    `effects.joint_fit` on the engagement log-ratios of these windows, when the caller has
    fitted them already (with the lift's tags: one fit for both); fitted here otherwise.
    """
    check_inputs(posts, links)
    relative = relative_performance(posts, now=now, goals=[SLOT_GOAL], windows=windows)
    cells = posts.select(
        "post_id", weekday=pl.col("local_weekday"), hour=pl.col("local_hour")
    ).drop_nulls()
    rows = relative.select("post_id", "account_id", "window", "log_ratio").join(
        cells, on="post_id", how="inner"
    )
    keys = ["window", "hashtag_id", *_CELL]
    accounts = _with_all_hashtags(rows, links, ["account_id", "window", *_CELL, "log_ratio"])
    summed = accounts.group_by(["account_id", *keys]).agg(moments(pl.col("log_ratio")))
    levels = by_scope(summed, account_platforms_of(relative), keys, roll_up_moments(), merged())
    n, mean, m2 = pl.col("n"), pl.col("mean"), pl.col("m2")
    ci_low, ci_high = interval(mean, sd(n, m2) / n.sqrt(), n - 1)
    raw = (
        levels.with_columns(
            sd_log_ratio=sd(n, m2), lift=mean.exp() - 1, ci_low=ci_low, ci_high=ci_high
        )
        .rename({"n": "posts", "mean": "mean_log_ratio"})
        .with_columns(pl.col("window").cast(pl.String))
        .collect()
    )
    if fitted_cells is None:
        fitted_cells = joint_fit(relative, links, cells=True).cells
        assert fitted_cells is not None
    estimates = _cell_estimates(fitted_cells)
    few = pl.col("posts") < MIN_POSTS
    return (
        raw.join(estimates, on=[*_SCOPE, "window", "hashtag_id", *_CELL], how="left")
        .with_columns(
            verdict=pl.when(few).then(pl.lit("too_few_posts")).otherwise(pl.col("verdict"))
        )
        .lazy()
        .pipe(conform, SLOT_SCHEMA)
    )


def _cell_estimates(cells: pl.DataFrame) -> pl.DataFrame:
    """The estimate of each cell with at least MIN_POSTS posts (`effects.effect_rows`), one
    list per scope and window for the ALL_HASHTAGS cells and one for every hashtag's cells."""
    rows = cells.rename({"n": "posts", "mean": "mean_log_ratio"}).with_columns(
        goal=pl.when(pl.col("hashtag_id") == ALL_HASHTAGS)
        .then(pl.lit("all posts"))
        .otherwise(pl.lit("hashtags")),
        offset_sum=pl.lit(0.0),
        resid_m2=pl.col("m2"),
    )
    # Only cells with MIN_POSTS posts get an estimate (the others are too_few_posts, filled in
    # by `slot_lift`); the variances they are moderated towards come from every cell.
    estimated, _priors = effect_rows(judged_rows(rows))
    return estimated.select(
        *_SCOPE,
        "window",
        "hashtag_id",
        *_CELL,
        "score",
        "score_low",
        "score_high",
        "lfsr",
        "qvalue",
        "verdict",
    )


def best_slots(slots: pl.LazyFrame, *, min_posts: int = 5, limit: int = 3) -> pl.LazyFrame:
    """The ``limit`` cells per (scope, window, hashtag) with the highest estimate (score).

    Only cells with at least ``min_posts`` posts (and so an estimate) compete: the same figure
    the heatmap shows, so the best slot is the heatmap's best cell. Ties are broken by the
    higher raw lift, then the earlier weekday and hour.
    """
    if min_posts < 2:
        raise ValueError("min_posts must be >= 2 (a cell needs an interval to be ranked)")
    group = [*_SCOPE, "window", "hashtag_id"]
    order = ["score", "lift", "weekday", "hour"]
    ranked = (
        slots.filter(pl.col("posts") >= min_posts, pl.col("score").is_not_null())
        .sort([*group, *order], descending=[False] * len(group) + [True, True, False, False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(group))
    )
    return ranked.filter(pl.col("rank") <= limit).pipe(conform, BEST_SLOT_SCHEMA)


def hashtag_momentum(
    posts: pl.LazyFrame, links: pl.LazyFrame, *, now: datetime, days: int = 30
) -> pl.LazyFrame:
    """MOMENTUM_SCHEMA: recent vs previous period mean engagement log-ratio per (scope, hashtag).

    recent: ``now - days <= posted_at <= now``; previous: ``now - 2*days <= posted_at <
    now - days``. direction is "rising" / "falling" when the Welch interval of the change
    excludes 0, else "flat" (which includes too few posts in a period to tell).
    """
    check_inputs(posts, links)
    if days < 1:
        raise ValueError("days must be >= 1")
    rows = _period_rows(posts, now=now, days=days)
    tagged = tagged_posts(rows, links, ["account_id", "period", "log_ratio"])
    summed = tagged.group_by(["account_id", "hashtag_id", "period"]).agg(
        moments(pl.col("log_ratio"))
    )
    platforms = account_platforms_of(posts)
    levels = by_scope(summed, platforms, ["hashtag_id", "period"], roll_up_moments(), merged())
    recent = one_period(levels, 0, "recent_")
    previous = one_period(levels, 1, "previous_")
    keys = [*_SCOPE, "hashtag_id"]
    both = recent.join(previous, on=keys, how="full", coalesce=True)
    return both.pipe(_momentum_figures).pipe(conform, MOMENTUM_SCHEMA)


def _with_all_hashtags(rows: pl.LazyFrame, links: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """One row per (post, hashtag) plus one per post under ALL_HASHTAGS."""
    every_post = rows.select(pl.lit(ALL_HASHTAGS, pl.Int64).alias("hashtag_id"), *columns)
    tagged = tagged_posts(rows, links, columns).select("hashtag_id", *columns)
    return pl.concat([every_post, tagged])


def _period_rows(posts: pl.LazyFrame, *, now: datetime, days: int) -> pl.LazyFrame:
    """Posts of the two periods with ``period`` (0 recent, 1 previous) and log_ratio."""
    end = window_bounds(now)["all"][1]
    split = end - timedelta(days=days)
    start = split - timedelta(days=days)
    posted_at = pl.col("posted_at")
    return (
        posts.filter(posted_at.is_between(start, end, closed="both"))
        .select(
            "post_id",
            "account_id",
            period=pl.when(posted_at >= split)
            .then(pl.lit(0, pl.UInt8))
            .otherwise(pl.lit(1, pl.UInt8)),
            value=goal_value("engagement"),
        )
        .pipe(with_baseline, keys=["account_id", "period"])
    )


def _momentum_figures(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Change, Welch interval and direction from the two periods' moments."""
    recent = [pl.col(f"recent_{name}") for name in ("n", "mean", "m2")]
    previous = [pl.col(f"previous_{name}") for name in ("n", "mean", "m2")]
    difference, se, df = welch(*recent, *previous)
    ci_low, ci_high = interval(difference, se, df)
    return (
        frame.with_columns(
            pl.col("recent_n", "previous_n").fill_null(0),
            difference_log=difference,
            change=difference.exp() - 1,
            ci_low=ci_low,
            ci_high=ci_high,
        )
        .with_columns(direction=direction(pl.col("ci_low"), pl.col("ci_high")))
        .rename(
            {
                "recent_n": "recent_posts",
                "recent_mean": "recent_mean_log_ratio",
                "previous_n": "previous_posts",
                "previous_mean": "previous_mean_log_ratio",
            }
        )
    )
