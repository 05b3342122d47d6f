"""Small building blocks shared by the analytics: per-post metric expressions and frame checks.

Every per-post metric is NULL when it cannot be computed (unknown is not zero), so that
``mean()`` and ``count()`` in an aggregation automatically rest on the posts where it is known.
"""

from collections.abc import Iterable

import polars as pl

from hashtag_core.analytics.frames import LINKS_SCHEMA, POSTS_SCHEMA

__all__ = [
    "ENGAGEMENT_PARTS",
    "account_platforms",
    "check_inputs",
    "check_schema",
    "conform",
    "engagement",
    "er_follower",
    "er_reach",
    "post_count",
    "safe_ratio",
    "tagged_posts",
    "virality",
    "virality_denominator",
]

#: Counters that add up to a post's engagement.
ENGAGEMENT_PARTS: tuple[str, ...] = ("likes", "comments", "shares", "saves")


def engagement() -> pl.Expr:
    """Likes + comments + shares + saves of a post, with NULL counted as 0."""
    return pl.sum_horizontal(pl.col(name).fill_null(0) for name in ENGAGEMENT_PARTS).cast(pl.Int64)


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as Float64, NULL unless both are known and denominator > 0."""
    known = numerator.is_not_null() & denominator.is_not_null() & (denominator > 0)
    return pl.when(known).then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))


def er_follower() -> pl.Expr:
    """Engagement per follower of one post (NULL when followers is unknown or 0)."""
    return safe_ratio(engagement(), pl.col("followers"))


def er_reach() -> pl.Expr:
    """Engagement per reached account of one post (NULL when reach is unknown or 0)."""
    return safe_ratio(engagement(), pl.col("reach"))


def virality_denominator() -> pl.Expr:
    """Reach when it is known and > 0, otherwise impressions (possibly NULL or 0)."""
    reach = pl.col("reach")
    return pl.when(reach.is_not_null() & (reach > 0)).then(reach).otherwise(pl.col("impressions"))


def virality() -> pl.Expr:
    """Shares per reach (or per impression when reach is unknown or 0) of one post."""
    return safe_ratio(pl.col("shares"), virality_denominator())


def post_count() -> pl.Expr:
    """Number of rows in a group as Int64 (one row per post and hashtag)."""
    return pl.len().cast(pl.Int64)


def check_schema(frame: pl.LazyFrame, expected: pl.Schema, name: str) -> None:
    """Raise ValueError unless ``frame`` has every column of ``expected`` with its exact dtype."""
    actual = frame.collect_schema()
    problems = [
        f"{column}: expected {dtype}, got {actual.get(column, 'missing column')}"
        for column, dtype in expected.items()
        if actual.get(column) != dtype
    ]
    if problems:
        raise ValueError(f"{name} frame does not match its schema: " + "; ".join(problems))


def conform(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """Select exactly the columns of ``schema``, in its order and with its dtypes."""
    return frame.select([pl.col(column).cast(dtype) for column, dtype in schema.items()])


def tagged_posts(posts: pl.LazyFrame, links: pl.LazyFrame, columns: Iterable[str]) -> pl.LazyFrame:
    """One row per (post, hashtag): ``columns`` of the post plus ``hashtag_id``.

    Link rows are de-duplicated and links to unknown posts or with a NULL hashtag are dropped,
    so a post counts once per hashtag.
    """
    pairs = links.select(LINKS_SCHEMA.names()).drop_nulls().unique()
    return pairs.join(posts.select(["post_id", *columns]), on="post_id", how="inner")


def account_platforms(posts: pl.LazyFrame) -> pl.LazyFrame:
    """account_id -> platform, one row per account (an account belongs to one platform).

    Grouping by account_id alone and attaching the platform afterwards is cheaper than
    hashing the platform string on every row.
    """
    return posts.select("account_id", "platform").unique(subset=["account_id"], keep="any")


def check_inputs(posts: pl.LazyFrame, links: pl.LazyFrame) -> None:
    """Check both input frames against POSTS_SCHEMA and LINKS_SCHEMA."""
    check_schema(posts, POSTS_SCHEMA, "posts")
    check_schema(links, LINKS_SCHEMA, "links")
