"""Sentiment per hashtag and its relation with engagement (SENTIMENT_SCHEMA).

Input: posts with a ``sentiment`` column (VADER compound, see `hashtag_core.sentiment`;
SENTIMENT_POSTS_SCHEMA). Per (scope, window, hashtag or ALL_HASHTAGS), over the posts of the
window with a known sentiment: the mean compound, the shares of positive / neutral / negative
posts (compound >= 0.05 / between / <= -0.05), and Pearson's r between compound and the
engagement log-ratio (the post against its account's median in the same window) with a
Fisher-z 95% interval. The windows are those of `baseline.relative_performance` (default:
only "all").
"""

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.engagement import check_schema, conform, tagged_posts
from hashtag_core.analytics.frames import ALL_HASHTAGS, LINKS_SCHEMA, POSTS_SCHEMA
from hashtag_core.analytics.insight_frames import SENTIMENT_POSTS_SCHEMA, SENTIMENT_SCHEMA
from hashtag_core.analytics.lift import account_platforms_of
from hashtag_core.analytics.stats import Z975, by_scope, moments

__all__ = ["NEGATIVE_THRESHOLD", "POSITIVE_THRESHOLD", "R_EXACT_SLACK", "hashtag_sentiment"]

#: VADER's standard thresholds (the same as hashtag_core.sentiment; analytics imports polars only).
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05

_COUNTS = ("positive", "neutral", "negative")
#: |r| this close to 1 counts as 1 (no interval): a perfectly correlated sample (e.g. four
#: posts with two distinct values of each variable) comes out of the rolled-up sums a few
#: 1e-15 below 1, and its Fisher z would be a large finite number instead of none.
R_EXACT_SLACK = 1e-12


def hashtag_sentiment(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    *,
    now: datetime,
    windows: Sequence[str] = ("all",),
) -> pl.LazyFrame:
    """SENTIMENT_SCHEMA rows for every (scope, window, hashtag or ALL_HASHTAGS) with scored
    posts."""
    check_schema(posts, SENTIMENT_POSTS_SCHEMA, "posts")
    check_schema(links, LINKS_SCHEMA, "links")
    relative = relative_performance(
        posts.select(POSTS_SCHEMA.names()), now=now, goals=["engagement"], windows=windows
    )
    rows = relative.select("post_id", "account_id", "window", y="log_ratio").join(
        posts.select("post_id", x="sentiment").drop_nulls(), on="post_id", how="inner"
    )
    columns = ["account_id", "window", "x", "y"]
    every_post = rows.select(pl.lit(ALL_HASHTAGS, pl.Int64).alias("hashtag_id"), *columns)
    tagged = tagged_posts(rows, links, columns).select("hashtag_id", *columns)
    keys = ["window", "hashtag_id"]
    summed = pl.concat([every_post, tagged]).group_by(["account_id", *keys]).agg(*_account_aggs())
    platforms = account_platforms_of(relative)
    levels = by_scope(summed, platforms, keys, _roll_up(), _merged())
    return (
        levels.pipe(_figures)
        .with_columns(pl.col("window").cast(pl.String))
        .pipe(conform, SENTIMENT_SCHEMA)
    )


def _label_counts(x: pl.Expr) -> list[pl.Expr]:
    """Numbers of positive, neutral and negative posts in a group."""
    positive = x >= POSITIVE_THRESHOLD
    negative = x <= NEGATIVE_THRESHOLD
    return [
        positive.sum().cast(pl.Int64).alias("positive"),
        (~positive & ~negative).sum().cast(pl.Int64).alias("neutral"),
        negative.sum().cast(pl.Int64).alias("negative"),
    ]


def _account_aggs() -> list[pl.Expr]:
    """Moments of x and y, their co-moment, and the label counts, per account group."""
    x, y = pl.col("x"), pl.col("y")
    return [
        *moments(x, "x_"),
        y.mean().alias("y_mean"),
        (y.var(ddof=0) * pl.len()).alias("y_m2"),
        ((x * y).mean() - x.mean() * y.mean()).mul(pl.len()).alias("cxy"),
        *_label_counts(x),
    ]


def _roll_up() -> list[pl.Expr]:
    """Merge account groups: sums of n, n*mean, m2 + n*mean^2, cxy + n*mx*my and the counts."""
    n, x, y = pl.col("x_n"), pl.col("x_mean"), pl.col("y_mean")
    return [
        n.sum().alias("x_n"),
        (n * x).sum().alias("x_sum"),
        (n * y).sum().alias("y_sum"),
        (pl.col("x_m2") + n * x * x).sum().alias("x_sq"),
        (pl.col("y_m2") + n * y * y).sum().alias("y_sq"),
        (pl.col("cxy") + n * x * y).sum().alias("xy_sq"),
        *(pl.col(name).sum() for name in _COUNTS),
    ]


def _merged() -> list[pl.Expr]:
    """Means, m2s and the co-moment back from the `_roll_up` sums."""
    n = pl.col("x_n")
    x, y = pl.col("x_sum") / n, pl.col("y_sum") / n
    return [
        x.alias("x_mean"),
        y.alias("y_mean"),
        (pl.col("x_sq") - n * x * x).clip(lower_bound=0.0).alias("x_m2"),
        (pl.col("y_sq") - n * y * y).clip(lower_bound=0.0).alias("y_m2"),
        (pl.col("xy_sq") - n * x * y).alias("cxy"),
    ]


def _figures(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Shares, Pearson r (NULL when either variance is 0) and its Fisher-z interval (n >= 4)."""
    n = pl.col("x_n")
    spread = pl.col("x_m2") * pl.col("y_m2")
    r = pl.when(spread > 0).then((pl.col("cxy") / spread.sqrt()).clip(-1.0, 1.0))
    # Fisher z = atanh(r) is ~normal with sd 1/sqrt(n - 3); |r| = 1 has no finite z.
    z = pl.when((n >= 4) & (r.abs() < 1 - R_EXACT_SLACK)).then(r.arctanh())
    half = Z975 / (n - 3).cast(pl.Float64).sqrt()
    return frame.with_columns(
        posts=n,
        mean_compound=pl.col("x_mean"),
        **{f"{name}_share": pl.col(name) / n for name in _COUNTS},
        correlation=r,
        corr_low=(z - half).tanh(),
        corr_high=(z + half).tanh(),
    )
