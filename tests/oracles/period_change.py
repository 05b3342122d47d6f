"""The period-change moments computed in polars from the posts: the definition of
docs/metrics.md, "Period change", against which the service's SQL
(`hashtag_core.periods.repository.span_levels`) and `change_of` are checked."""

from datetime import datetime

import polars as pl

from hashtag_core.analytics.baseline import with_baseline
from hashtag_core.analytics.period_change import PERIOD_LEVELS_SCHEMA, change_of
from hashtag_core.analytics.stats import moments

__all__ = ["period_change", "period_levels"]


def _period_rows(
    posts: pl.LazyFrame, *, start: datetime, split: datetime, end: datetime
) -> pl.LazyFrame:
    """Posts in [start, end) with ``period`` (0 current: from split, 1 previous) and log_ratio."""
    posted_at = pl.col("posted_at")
    return (
        posts.filter(posted_at >= start, posted_at < end)
        .select(
            "post_id",
            "account_id",
            period=pl.when(posted_at >= split)
            .then(pl.lit(0, pl.Int8))
            .otherwise(pl.lit(1, pl.Int8)),
            value=1.0 + pl.col("engagement").fill_null(0).cast(pl.Float64),
        )
        .pipe(with_baseline, keys=["account_id", "period"])
    )


def period_change(
    posts: pl.LazyFrame, links: pl.LazyFrame, *, start: datetime, split: datetime, end: datetime
) -> pl.LazyFrame:
    """PERIOD_CHANGE_SCHEMA: per hashtag, current [split, end) against previous [start, split).

    ``direction`` is "rising" / "falling" when the 95% Welch interval of the change excludes
    0, else "flat" (which includes fewer than 2 posts in a period: no interval).
    """
    return change_of(period_levels(posts, links, start=start, split=split, end=end))


def period_levels(
    posts: pl.LazyFrame, links: pl.LazyFrame, *, start: datetime, split: datetime, end: datetime
) -> pl.LazyFrame:
    """PERIOD_LEVELS_SCHEMA of the posts in [start, end) (the service reads the same from
    PostgreSQL, `periods.repository.span_levels`, without loading the posts)."""
    if not start < split < end:
        raise ValueError("start < split < end is required")
    rows = _period_rows(posts, start=start, split=split, end=end)
    tagged = links.select("post_id", "hashtag_id").unique().join(rows, on="post_id", how="inner")
    return (
        tagged.group_by(["hashtag_id", "period"])
        .agg(moments(pl.col("log_ratio")))
        .select(PERIOD_LEVELS_SCHEMA.names())
    )
