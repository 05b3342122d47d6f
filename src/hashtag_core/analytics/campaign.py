"""A campaign's posts against their account baselines (docs/metrics.md, "Campaign plans").

Each post's ``log_ratio = ln(value / baseline)`` capped to +/-ln 20, exactly the relative
performance of `baseline.relative_performance`, with ``baseline`` the account's stored median
for the goal (window `all` of the last full recompute). A group of posts is summarised as
``posts`` (n), ``mean_log_ratio``, ``lift = exp(mean) - 1`` and its 95% t interval, as for
the raw lift of a hashtag (`lift`).
"""

import math

import polars as pl

from hashtag_core.analytics.baseline import LOG_RATIO_CAP, goal_value
from hashtag_core.analytics.stats import interval, moments, sd

__all__ = ["LOG_RATIO_SCHEMA", "SUMMARY_SCHEMA", "post_log_ratios", "summarise"]

LOG_RATIO_SCHEMA = pl.Schema({"post_id": pl.Int64, "account_id": pl.Int64, "log_ratio": pl.Float64})
SUMMARY_SCHEMA = pl.Schema(
    {
        "posts": pl.Int64,
        "mean_log_ratio": pl.Float64,
        "lift": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    }
)


def post_log_ratios(posts: pl.LazyFrame, baselines: pl.LazyFrame, *, goal: str) -> pl.LazyFrame:
    """LOG_RATIO_SCHEMA rows of the ``posts`` (POSTS_SCHEMA counters plus post_id, account_id)
    that have a value for ``goal`` and whose account has a ``baselines`` row (account_id,
    baseline)."""
    value = goal_value(goal)
    return (
        posts.select("post_id", "account_id", value=value)
        .drop_nulls("value")
        .join(baselines.select("account_id", "baseline"), on="account_id", how="inner")
        .select(
            "post_id",
            "account_id",
            log_ratio=(pl.col("value") / pl.col("baseline"))
            .log()
            .clip(-LOG_RATIO_CAP, LOG_RATIO_CAP),
        )
    )


def summarise(log_ratios: pl.DataFrame) -> dict[str, float | int | None]:
    """n, mean log-ratio, lift and its 95% t interval of a LOG_RATIO_SCHEMA frame (one row of
    SUMMARY_SCHEMA as a dict; figures NULL for no post, the interval NULL under 2 posts)."""
    if log_ratios.is_empty():
        return {"posts": 0, "mean_log_ratio": None, "lift": None, "ci_low": None, "ci_high": None}
    n, mean = pl.col("n"), pl.col("mean")
    low, high = interval(mean, sd(n, pl.col("m2")) / n.cast(pl.Float64).sqrt(), n - 1)
    row = (
        log_ratios.lazy()
        .select(moments(pl.col("log_ratio")))
        .select(
            posts=n,
            mean_log_ratio=mean,
            lift=mean.exp() - 1,
            ci_low=low,
            ci_high=high,
        )
        .collect()
        .row(0, named=True)
    )
    return {k: _finite(v) for k, v in row.items()}


def _finite(value: object) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None
