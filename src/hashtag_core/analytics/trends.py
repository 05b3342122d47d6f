"""Posting-time trend cells (TREND_CELL_SCHEMA) and daily series (DAILY_SCHEMA).

Both are sums and counts, which combine exactly: the post rows are grouped once per account,
and the platform and all-platform levels are sums over those (much smaller) account rows.
Both cover all history. Posts whose local calendar fields are NULL cannot be placed in a cell
or on a day and are left out.
"""

import polars as pl

from hashtag_core.analytics.engagement import (
    account_platforms,
    check_inputs,
    conform,
    engagement,
    post_count,
    tagged_posts,
)
from hashtag_core.analytics.frames import (
    ALL_ACCOUNTS,
    ALL_HASHTAGS,
    ALL_PLATFORMS,
    DAILY_SCHEMA,
    TREND_CELL_SCHEMA,
)

__all__ = ["daily_series", "trend_cells"]

_SCOPE = ["platform", "account_id"]
_SUMS = ["posts", "engagement_sum"]


def trend_cells(posts: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """Posts and engagement per (scope, hashtag or ALL_HASHTAGS, local weekday, local hour)."""
    check_inputs(posts, links)
    cell = ["local_weekday", "local_hour"]
    return (
        _sums_by_scope(posts, links, cell)
        .rename({"local_weekday": "weekday", "local_hour": "hour"})
        .with_columns(avg_engagement=pl.col("engagement_sum") / pl.col("posts"))
        .pipe(conform, TREND_CELL_SCHEMA)
    )


def daily_series(posts: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """Posts and engagement per (scope, hashtag or ALL_HASHTAGS, local date)."""
    check_inputs(posts, links)
    return _sums_by_scope(posts, links, ["local_date"]).pipe(conform, DAILY_SCHEMA)


def _sums_by_scope(posts: pl.LazyFrame, links: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Account-level sums plus their roll-ups to platform and to all platforms."""
    accounts = _account_sums(posts, links, keys)
    order = [*_SCOPE, "hashtag_id", *keys, *_SUMS]
    platforms = _roll_up(accounts, ["platform"], keys).with_columns(
        account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)
    )
    everything = _roll_up(accounts, [], keys).with_columns(
        platform=pl.lit(ALL_PLATFORMS, pl.String), account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)
    )
    return pl.concat([frame.select(order) for frame in (accounts, platforms, everything)])


def _account_sums(posts: pl.LazyFrame, links: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Posts and engagement_sum per (account, hashtag incl. ALL_HASHTAGS, keys)."""
    columns = ["account_id", *keys, "engagement"]
    per_post = posts.drop_nulls(keys).with_columns(engagement=engagement())
    every_post = per_post.select(pl.lit(ALL_HASHTAGS, pl.Int64).alias("hashtag_id"), *columns)
    tagged = tagged_posts(per_post, links, columns).select("hashtag_id", *columns)
    return (
        pl.concat([every_post, tagged])
        .group_by(["account_id", "hashtag_id", *keys])
        .agg(posts=post_count(), engagement_sum=pl.col("engagement").sum())
        .join(account_platforms(posts), on="account_id", how="left")
    )


def _roll_up(accounts: pl.LazyFrame, scope: list[str], keys: list[str]) -> pl.LazyFrame:
    """Sum account-level rows up to ``scope`` (e.g. ["platform"], or [] for all posts)."""
    return accounts.group_by([*scope, "hashtag_id", *keys]).agg(pl.col(_SUMS).sum())
