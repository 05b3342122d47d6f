"""Posts per language per hashtag, and how many of them carry a sentiment score
(LANGUAGE_SCHEMA).

Input: posts with a ``language`` and a ``sentiment`` column (LANGUAGE_POSTS_SCHEMA). Per
(scope, window, hashtag or ALL_HASHTAGS, language): the posts of the window in that language
and those with a score. The windows hold the same posts as every other insight's
(`baseline.window_rows`), so per hashtag and window the ``scored_posts`` summed over its
languages equal the ``posts`` of its `hashtag_sentiment` row, and sentiment coverage is
their ratio to the summed ``posts`` (docs/metrics.md, "Sentiment coverage").
"""

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from hashtag_core.analytics.baseline import window_rows
from hashtag_core.analytics.engagement import account_platforms, check_schema, conform, tagged_posts
from hashtag_core.analytics.frames import ALL_HASHTAGS, LINKS_SCHEMA
from hashtag_core.analytics.insight_frames import LANGUAGE_POSTS_SCHEMA, LANGUAGE_SCHEMA
from hashtag_core.analytics.stats import by_scope

__all__ = ["hashtag_languages"]

_COUNTS = ("posts", "scored_posts")


def hashtag_languages(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    *,
    now: datetime,
    windows: Sequence[str] = ("all",),
) -> pl.LazyFrame:
    """LANGUAGE_SCHEMA rows for every (scope, window, hashtag or ALL_HASHTAGS, language)."""
    check_schema(posts, LANGUAGE_POSTS_SCHEMA, "posts")
    check_schema(links, LINKS_SCHEMA, "links")
    rows = posts.select(
        "post_id",
        "account_id",
        "posted_at",
        "language",
        scored=pl.col("sentiment").is_not_null(),
    ).pipe(window_rows, now=now, windows=windows)
    columns = ["account_id", "window", "language", "scored"]
    every_post = rows.select(pl.lit(ALL_HASHTAGS, pl.Int64).alias("hashtag_id"), *columns)
    tagged = tagged_posts(rows, links, columns).select("hashtag_id", *columns)
    keys = ["window", "hashtag_id", "language"]
    per_account = (
        pl.concat([every_post, tagged])
        .group_by(["account_id", *keys])
        .agg(posts=pl.len().cast(pl.Int64), scored_posts=pl.col("scored").sum().cast(pl.Int64))
    )
    roll_up = [pl.col(name).sum() for name in _COUNTS]
    levels = by_scope(per_account, account_platforms(posts), keys, roll_up, [])
    return levels.with_columns(pl.col("window").cast(pl.String)).pipe(conform, LANGUAGE_SCHEMA)
