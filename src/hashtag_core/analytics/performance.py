"""Per-hashtag engagement figures for every scope and window (PERFORMANCE_SCHEMA).

Plan (one lazy query, collected once by the caller):

1. per-post metrics (engagement and the three ratios), NULL where unknown;
2. one row per (post, window it falls in), via a cross join with a tiny window table;
3. one row per (post, window, hashtag), via one join with the links;
4. account level: one ``group_by`` producing sums, counts and the median;
5. platform and all-platform levels: sums and counts are rolled up from the (much smaller)
   account rows; medians cannot be combined, so they get one median-only ``group_by`` per
   level over the step-3 rows, which polars computes once and shares (CACHE in the plan);
6. means = sum / count, window index -> name, and the three levels concatenated.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl

from hashtag_core.analytics.engagement import (
    account_platforms,
    check_inputs,
    conform,
    engagement,
    er_follower,
    er_reach,
    safe_ratio,
    tagged_posts,
    virality,
)
from hashtag_core.analytics.frames import (
    ALL_ACCOUNTS,
    ALL_PLATFORMS,
    PERFORMANCE_SCHEMA,
    WINDOWS,
)

__all__ = ["hashtag_performance", "window_bounds"]

_WINDOW_IDX = "window_idx"
#: (mean figure, count figure, per-post column): mean = sum of known values / their count.
_MEANS = (
    ("avg_engagement", "posts", "engagement"),
    ("er_follower", "er_follower_posts", "er_follower"),
    ("er_reach", "er_reach_posts", "er_reach"),
    ("virality", "virality_posts", "virality"),
    ("avg_reach", "reach_posts", "reach"),
    ("avg_impressions", "impressions_posts", "impressions"),
)
_PER_POST = [column for _mean, _count, column in _MEANS]
_MEDIAN = "median_engagement"


def hashtag_performance(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    *,
    now: datetime,
    windows: Sequence[str] = tuple(WINDOWS),
) -> pl.LazyFrame:
    """Per (scope, window, hashtag) engagement figures, in PERFORMANCE_SCHEMA column order
    (the rows of `windows` only: each row rests on the posts of its own window)."""
    check_inputs(posts, links)
    rows = posts.pipe(_post_metrics).pipe(_window_rows, now=_as_utc(now), windows=windows)
    base = tagged_posts(rows, links, ["platform", "account_id", _WINDOW_IDX, *_PER_POST])
    accounts = (
        base.group_by(["account_id", _WINDOW_IDX, "hashtag_id"])
        .agg(*_sums(), pl.col("engagement").median().alias(_MEDIAN))
        .join(account_platforms(posts), on="account_id", how="left")
    )
    levels = [
        accounts,
        _roll_up(base, accounts, ["platform"]).with_columns(
            account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)
        ),
        _roll_up(base, accounts, []).with_columns(
            platform=pl.lit(ALL_PLATFORMS, pl.String), account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)
        ),
    ]
    return pl.concat([level.pipe(_finish) for level in levels], how="vertical")


def window_bounds(now: datetime) -> dict[str, tuple[datetime | None, datetime]]:
    """Inclusive (start, end) of every window in WINDOWS ending at ``now`` (start None = open)."""
    now_utc = _as_utc(now)
    return {
        name: (None if days is None else now_utc - timedelta(days=days), now_utc)
        for name, days in WINDOWS.items()
    }


def _as_utc(now: datetime) -> datetime:
    """``now`` converted to UTC; a naive datetime is rejected because its zone is unknown."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (e.g. datetime.now(UTC))")
    return now.astimezone(UTC)


def _post_metrics(posts: pl.LazyFrame) -> pl.LazyFrame:
    """Per-post engagement and ratios; unknown values stay NULL."""
    return posts.with_columns(
        engagement=engagement(),
        er_follower=er_follower(),
        er_reach=er_reach(),
        virality=virality(),
    )


def _window_table(now: datetime, windows: Sequence[str]) -> pl.LazyFrame:
    """One row per window of `windows`: its index in WINDOWS and its start (NULL = no lower
    bound)."""
    unknown = set(windows) - set(WINDOWS)
    if unknown:
        raise ValueError(f"unknown windows {sorted(unknown)}; known: {list(WINDOWS)}")
    bounds = window_bounds(now)
    chosen = [i for i, name in enumerate(WINDOWS) if name in windows]
    return pl.LazyFrame(
        {_WINDOW_IDX: chosen, "window_start": [bounds[list(WINDOWS)[i]][0] for i in chosen]},
        schema={_WINDOW_IDX: pl.UInt8, "window_start": pl.Datetime("us", "UTC")},
    )


def _window_rows(posts: pl.LazyFrame, *, now: datetime, windows: Sequence[str]) -> pl.LazyFrame:
    """One row per (post, window containing it): ``start <= posted_at <= now``."""
    start, posted_at = pl.col("window_start"), pl.col("posted_at")
    return (
        posts.filter(posted_at <= now)
        .join(_window_table(now, windows), how="cross")
        .filter(start.is_null() | (posted_at >= start))
        .drop("window_start")
    )


def _sums() -> list[pl.Expr]:
    """Sum (as Float64, so it cannot overflow) and count of the known values per column."""
    return [
        expr
        for _mean, count, column in _MEANS
        for expr in (
            pl.col(column).cast(pl.Float64).sum().alias(f"{column}_sum"),
            pl.col(column).count().cast(pl.Int64).alias(count),
        )
    ]


def _roll_up(base: pl.LazyFrame, accounts: pl.LazyFrame, scope: list[str]) -> pl.LazyFrame:
    """Sums and counts of the account rows within ``scope``, joined to that level's medians."""
    keys = [*scope, _WINDOW_IDX, "hashtag_id"]
    summed = [f"{column}_sum" for column in _PER_POST] + [count for _m, count, _c in _MEANS]
    totals = accounts.group_by(keys).agg(pl.col(summed).sum())
    medians = base.group_by(keys).agg(pl.col("engagement").median().alias(_MEDIAN))
    return totals.join(medians, on=keys, how="inner")


def _finish(level: pl.LazyFrame) -> pl.LazyFrame:
    """Means from sums, window index -> name, then PERFORMANCE_SCHEMA columns and dtypes."""
    window = pl.col(_WINDOW_IDX).replace_strict(
        list(range(len(WINDOWS))), list(WINDOWS), return_dtype=pl.String
    )
    means = [
        safe_ratio(pl.col(f"{column}_sum"), pl.col(count)).alias(mean)
        for mean, count, column in _MEANS
    ]
    return level.with_columns(*means, window=window).pipe(conform, PERFORMANCE_SCHEMA)
