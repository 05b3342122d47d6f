"""Straightforward pandas versions of the analytics, for tests and the polars-vs-pandas benchmark.

The functions take and return pandas DataFrames with the columns of the frames in `frames`
and must give the same numbers as the polars implementation. They favour plain, readable
pandas (one group-by per scope level over all rows) over speed. Also holds the two
converters between polars and pandas frames (pyarrow is not a dependency).
"""

from datetime import datetime

import numpy as np
import pandas as pd
import polars as pl

from hashtag_core.analytics.frames import (
    ALL_ACCOUNTS,
    ALL_HASHTAGS,
    ALL_PLATFORMS,
    DAILY_SCHEMA,
    PERFORMANCE_SCHEMA,
    TREND_CELL_SCHEMA,
    WINDOWS,
)

__all__ = [
    "daily_series_pd",
    "frame_from_pandas",
    "frame_to_pandas",
    "hashtag_performance_pd",
    "trend_cells_pd",
]

_SCOPE = ["platform", "account_id"]


def hashtag_performance_pd(
    posts: pd.DataFrame, links: pd.DataFrame, *, now: datetime
) -> pd.DataFrame:
    """Per (scope, window, hashtag) engagement figures (PERFORMANCE_SCHEMA columns)."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    rows = _tag(_windowed(_per_post(posts), pd.Timestamp(now)), links)
    keys = [*_SCOPE, "window", "hashtag_id"]
    levels = [
        _by_scope(rows, level).groupby(keys, sort=False).agg(**_FIGURES).reset_index()
        for level in ("account", "platform", "all")
    ]
    return pd.concat(levels, ignore_index=True)[list(PERFORMANCE_SCHEMA)]


def trend_cells_pd(posts: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Posts and engagement per (scope, hashtag or ALL_HASHTAGS, weekday, hour)."""
    sums = _sums(posts, links, ["local_weekday", "local_hour"])
    sums = sums.rename(columns={"local_weekday": "weekday", "local_hour": "hour"})
    sums["avg_engagement"] = sums["engagement_sum"] / sums["posts"]
    return sums[list(TREND_CELL_SCHEMA)]


def daily_series_pd(posts: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Posts and engagement per (scope, hashtag or ALL_HASHTAGS, local date)."""
    return _sums(posts, links, ["local_date"])[list(DAILY_SCHEMA)]


# Named aggregations: output column -> (per-post column, pandas aggregation).
_FIGURES: dict[str, tuple[str, str]] = {
    "posts": ("engagement", "size"),
    "avg_engagement": ("engagement", "mean"),
    "median_engagement": ("engagement", "median"),
    "er_follower": ("er_follower", "mean"),
    "er_follower_posts": ("er_follower", "count"),
    "er_reach": ("er_reach", "mean"),
    "er_reach_posts": ("er_reach", "count"),
    "virality": ("virality", "mean"),
    "virality_posts": ("virality", "count"),
    "avg_reach": ("reach", "mean"),
    "reach_posts": ("reach", "count"),
    "avg_impressions": ("impressions", "mean"),
    "impressions_posts": ("impressions", "count"),
}


def _floats(posts: pd.DataFrame, column: str) -> pd.Series:
    """A counter as float64 with NaN for unknown."""
    return posts[column].astype("float64")


def _engagement(posts: pd.DataFrame) -> pd.Series:
    """likes + comments + shares + saves, unknown counted as 0."""
    parts = ["likes", "comments", "shares", "saves"]
    return sum((_floats(posts, part).fillna(0.0) for part in parts), pd.Series(0.0, posts.index))


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator where both are known and denominator > 0, else NaN."""
    return (numerator / denominator).where(numerator.notna() & (denominator > 0))


def _per_post(posts: pd.DataFrame) -> pd.DataFrame:
    """Posts with engagement and the per-post ratios added (NaN where unknown)."""
    out = posts.copy()
    reach, impressions = _floats(posts, "reach"), _floats(posts, "impressions")
    out["engagement"] = _engagement(posts)
    out["er_follower"] = _ratio(out["engagement"], _floats(posts, "followers"))
    out["er_reach"] = _ratio(out["engagement"], reach)
    out["virality"] = _ratio(_floats(posts, "shares"), reach.where(reach > 0, impressions))
    out["reach"], out["impressions"] = reach, impressions
    return out


def _windowed(posts: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """One copy of each post per window it falls in, with a ``window`` column."""
    posted_at = posts["posted_at"]
    copies = []
    for name, days in WINDOWS.items():
        inside = posted_at <= now
        if days is not None:
            inside &= posted_at >= now - pd.Timedelta(days=days)
        copies.append(posts[inside].assign(window=name))
    return pd.concat(copies, ignore_index=True)


def _tag(posts: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per (post, hashtag) for the posts' distinct, known hashtags."""
    pairs = links[["post_id", "hashtag_id"]].dropna().drop_duplicates()
    return pairs.merge(posts, on="post_id", how="inner")


def _by_scope(rows: pd.DataFrame, level: str) -> pd.DataFrame:
    """``rows`` with platform / account_id replaced by the scope markers of ``level``."""
    if level == "platform":
        return rows.assign(account_id=ALL_ACCOUNTS)
    if level == "all":
        return rows.assign(platform=ALL_PLATFORMS, account_id=ALL_ACCOUNTS)
    return rows


def _sums(posts: pd.DataFrame, links: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """posts and engagement_sum per (scope, hashtag incl. ALL_HASHTAGS, keys), every level."""
    placed = posts.dropna(subset=keys).assign(engagement=_engagement(posts))
    rows = pd.concat([placed.assign(hashtag_id=ALL_HASHTAGS), _tag(placed, links)])
    group = [*_SCOPE, "hashtag_id", *keys]
    levels = [
        _by_scope(rows, level)
        .groupby(group, sort=False)
        .agg(posts=("engagement", "size"), engagement_sum=("engagement", "sum"))
        .reset_index()
        for level in ("account", "platform", "all")
    ]
    return pd.concat(levels, ignore_index=True)


def frame_to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Polars -> pandas without pyarrow: integers become nullable Int*, datetimes keep UTC."""
    return pd.DataFrame({name: _column_to_pandas(frame[name]) for name in frame.columns})


def _column_to_pandas(column: pl.Series) -> pd.Series:
    """One polars column as a pandas Series (NULL -> <NA> / NaT / NaN / None)."""
    dtype = column.dtype
    if dtype.is_integer():
        values = column.fill_null(0).to_numpy()
        return pd.Series(pd.arrays.IntegerArray(values, column.is_null().to_numpy()))
    if isinstance(dtype, pl.Datetime):
        naive = pd.Series(column.dt.replace_time_zone(None).to_numpy())
        return naive.dt.tz_localize(dtype.time_zone) if dtype.time_zone else naive
    if dtype.is_numeric() or dtype.is_temporal():
        return pd.Series(column.to_numpy())
    return pd.Series(column.to_list(), dtype=object)


def frame_from_pandas(frame: pd.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Pandas -> polars for the output frames (NaN in float columns becomes NULL)."""
    return pl.DataFrame(
        [_column_from_pandas(name, frame[name], dtype) for name, dtype in schema.items()]
    )


def _column_from_pandas(name: str, column: pd.Series, dtype: pl.DataType) -> pl.Series:
    """One pandas column as a polars Series of ``dtype``."""
    if dtype.is_float():
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return pl.Series(name, values, nan_to_null=True).cast(dtype)
    if dtype.is_integer():
        return pl.Series(name, column.to_numpy(dtype=np.int64)).cast(dtype)
    if dtype == pl.Date:
        return pl.Series(name, column.to_numpy(dtype="datetime64[ms]")).cast(dtype)
    return pl.Series(name, column.to_list(), dtype=dtype)
