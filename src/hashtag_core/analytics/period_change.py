"""Change per hashtag between a date range and the period of the same length just before it.

As momentum (docs/metrics.md, "Momentum"), but over any range: each post's engagement
log-ratio is taken against its account's median in its own period, the periods' mean
log-ratios per hashtag are compared, and the difference gets a Welch interval. Defined in
docs/metrics.md, "Period change". PostgreSQL computes the per-period moments
(`periods.repository.span_levels`); `change_of` compares them. The same moments computed in
polars from the posts are the tests' oracle (tests/oracles/period_change.py).
"""

import polars as pl
from polars._typing import PolarsDataType

from hashtag_core.analytics.engagement import conform
from hashtag_core.analytics.stats import direction, interval, one_period, welch

__all__ = [
    "PERIOD_CHANGE_SCHEMA",
    "PERIOD_LEVELS_SCHEMA",
    "PERIOD_POSTS_SCHEMA",
    "change_of",
]

#: One row per post of the scope: its account, time and engagement (unknown counts as 0).
_PERIOD_POSTS_SCHEMA: dict[str, PolarsDataType] = {
    "post_id": pl.Int64,
    "account_id": pl.Int64,
    "posted_at": pl.Datetime("us", "UTC"),
    "engagement": pl.Int64,
}
PERIOD_POSTS_SCHEMA = pl.Schema(_PERIOD_POSTS_SCHEMA)

#: Per (hashtag, period): the moments of its posts' log-ratios (period 0 current, 1 previous).
PERIOD_LEVELS_SCHEMA = pl.Schema(
    {
        "hashtag_id": pl.Int64,
        "period": pl.Int8,
        "n": pl.Int64,
        "mean": pl.Float64,
        "m2": pl.Float64,
    }
)

_PERIOD_CHANGE_SCHEMA: dict[str, PolarsDataType] = {
    "hashtag_id": pl.Int64,
    "current_posts": pl.Int64,
    "previous_posts": pl.Int64,
    "current_mean_log_ratio": pl.Float64,
    "previous_mean_log_ratio": pl.Float64,
    "change": pl.Float64,
    "change_ci_low": pl.Float64,
    "change_ci_high": pl.Float64,
    "direction": pl.String,
}
PERIOD_CHANGE_SCHEMA = pl.Schema(_PERIOD_CHANGE_SCHEMA)


def change_of(levels: pl.LazyFrame) -> pl.LazyFrame:
    """PERIOD_CHANGE_SCHEMA from PERIOD_LEVELS_SCHEMA rows."""
    both = one_period(levels, 0, "c_").join(
        one_period(levels, 1, "p_"), on="hashtag_id", how="full", coalesce=True
    )
    current = [pl.col(f"c_{name}") for name in ("n", "mean", "m2")]
    previous = [pl.col(f"p_{name}") for name in ("n", "mean", "m2")]
    difference, se, df = welch(*current, *previous)
    low, high = interval(difference, se, df)
    return (
        both.with_columns(
            current_posts=pl.col("c_n").fill_null(0),
            previous_posts=pl.col("p_n").fill_null(0),
            current_mean_log_ratio=pl.col("c_mean"),
            previous_mean_log_ratio=pl.col("p_mean"),
            change=difference.exp() - 1,
            change_ci_low=low,
            change_ci_high=high,
        )
        .with_columns(direction=direction(pl.col("change_ci_low"), pl.col("change_ci_high")))
        .pipe(conform, PERIOD_CHANGE_SCHEMA)
    )
