"""Column names and dtypes of the frames that flow between Postgres and the polars analytics.

The repository loads frames with exactly these schemas; the analytics functions accept and
return them. Local calendar fields (weekday, hour, date) are computed in SQL from each post's
account time zone, because one polars column can hold only one time zone.
"""

import polars as pl

__all__ = [
    "ALL_ACCOUNTS",
    "ALL_HASHTAGS",
    "ALL_PLATFORMS",
    "DAILY_SCHEMA",
    "LINKS_SCHEMA",
    "PERFORMANCE_SCHEMA",
    "POSTS_SCHEMA",
    "TREND_CELL_SCHEMA",
    "WINDOWS",
]

#: Scope marker: the figures cover every platform.
ALL_PLATFORMS = "*"
#: Scope marker: the figures cover every account (of the platform scope).
ALL_ACCOUNTS = 0
#: Pseudo hashtag id for "all posts, with or without hashtags" in trends and series.
ALL_HASHTAGS = 0
#: Window name -> length in days (None = all history). Windows end at `now`.
WINDOWS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}

#: Typed so that mypy accepts dtype classes and instances side by side.
_POSTS_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "post_id": pl.Int64,
    "account_id": pl.Int64,
    "platform": pl.String,
    "posted_at": pl.Datetime("us", "UTC"),
    "local_date": pl.Date,  # calendar date in the account's time zone
    "local_weekday": pl.Int8,  # ISO: 1 = Monday ... 7 = Sunday, account's time zone
    "local_hour": pl.Int8,  # 0..23, account's time zone
    "likes": pl.Int64,
    "comments": pl.Int64,
    "shares": pl.Int64,
    "saves": pl.Int64,
    "impressions": pl.Int64,
    "reach": pl.Int64,
    "followers": pl.Int64,
}

POSTS_SCHEMA = pl.Schema(_POSTS_COLUMNS)

LINKS_SCHEMA = pl.Schema({"post_id": pl.Int64, "hashtag_id": pl.Int64})

_SCOPE = {"platform": pl.String, "account_id": pl.Int64}

PERFORMANCE_SCHEMA = pl.Schema(
    {
        **_SCOPE,
        "window": pl.String,
        "hashtag_id": pl.Int64,
        "posts": pl.Int64,
        "avg_engagement": pl.Float64,
        "median_engagement": pl.Float64,
        "er_follower": pl.Float64,
        "er_follower_posts": pl.Int64,
        "er_reach": pl.Float64,
        "er_reach_posts": pl.Int64,
        "virality": pl.Float64,
        "virality_posts": pl.Int64,
        "avg_reach": pl.Float64,
        "reach_posts": pl.Int64,
        "avg_impressions": pl.Float64,
        "impressions_posts": pl.Int64,
    }
)

TREND_CELL_SCHEMA = pl.Schema(
    {
        **_SCOPE,
        "hashtag_id": pl.Int64,
        "weekday": pl.Int8,
        "hour": pl.Int8,
        "posts": pl.Int64,
        "engagement_sum": pl.Int64,
        "avg_engagement": pl.Float64,
    }
)

DAILY_SCHEMA = pl.Schema(
    {
        **_SCOPE,
        "hashtag_id": pl.Int64,
        "local_date": pl.Date,
        "posts": pl.Int64,
        "engagement_sum": pl.Int64,
    }
)
