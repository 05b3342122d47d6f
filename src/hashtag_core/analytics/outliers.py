"""Posts far above or below their account's usual post (docs/metrics.md, "Alerts")."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

__all__ = ["MAD_TO_SD", "OUTLIER_POSTS_SCHEMA", "post_outliers"]

#: Input: one row per post of the accounts' reference period.
OUTLIER_POSTS_SCHEMA = pl.Schema(
    [
        ("post_id", pl.Int64),
        ("account_id", pl.Int64),
        ("posted_at", pl.Datetime("us", "UTC")),
        ("engagement", pl.Int64),
    ]
)
#: The median absolute deviation times this estimates a normal spread's sd.
MAD_TO_SD = 1.4826


def _log_ratio() -> pl.Expr:
    value = (pl.col("engagement") + 1).cast(pl.Float64)
    return (value / value.median().over("account_id")).log()


def post_outliers(
    posts: pl.LazyFrame,
    *,
    now: datetime,
    multiple: float,
    min_age: timedelta,
    max_age: timedelta,
    min_posts: int,
) -> pl.LazyFrame:
    """The posts aged between `min_age` and `max_age` whose engagement log-ratio to their
    account's median lies beyond `multiple` robust spreads (1.4826 x the median absolute
    deviation of the account's log-ratios) from the account's median log-ratio. `posts` is the
    accounts' reference period; an account with fewer than `min_posts` posts in it, or a spread
    of 0, is not judged. Columns: post_id, account_id, log_ratio, spread, deviations."""
    judged = (
        posts.with_columns(log_ratio=_log_ratio())
        .with_columns(
            centre=pl.col("log_ratio").median().over("account_id"),
            n=pl.len().over("account_id"),
        )
        .with_columns(
            spread=(pl.col("log_ratio") - pl.col("centre")).abs().median().over("account_id")
            * MAD_TO_SD
        )
        .with_columns(deviations=(pl.col("log_ratio") - pl.col("centre")) / pl.col("spread"))
    )
    return judged.filter(
        (pl.col("n") >= min_posts)
        & (pl.col("spread") > 0)
        & (pl.col("posted_at") <= now - min_age)
        & (pl.col("posted_at") >= now - max_age)
        & (pl.col("deviations").abs() > multiple)
    ).select("post_id", "account_id", "log_ratio", "spread", "deviations")
