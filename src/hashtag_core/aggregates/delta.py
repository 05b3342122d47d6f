"""Incremental rows by difference: the stored row, less the updated posts' old contribution,
plus their new one (pure polars).

An update changes a few posts of a hashtag that may have hundreds of thousands; recomputing
its rows reads them all. Every figure of hashtag_performance and hashtag_lift except the
median is made of sums, so it can be moved by the difference instead:

- hashtag_performance: each mean is sum / count. The stored sum is mean x count, rounded back
  to a whole number where the values are whole (engagement, reach, impressions): those sums
  are exact, and the new mean is the very division a full recompute makes. The ratio means
  (er_follower, er_reach, virality) carry rounding of about 1e-16 relative per pass. The
  median is recomputed from the hashtag's posts (`engagement_medians`).
- hashtag_lift: n, mean and m2 (= sd^2 (n - 1)) of the log-ratios; the old posts' moments are
  taken out and the new ones merged in (Chan et al.'s pairwise formulas); the interval, the
  estimate and verdict follow from the moments, the stored row's offset and the stored prior
  as in a recompute (`lift_rows`).

Old and new contributions are the same tables computed over just the updated posts (their
old and new versions and links), so the definitions stay in one place. The rows must be as
of the state the old versions belong to (see `postcache.Before`).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from hashtag_core.aggregates.incremental import lift_rows
from hashtag_core.analytics.baseline import window_rows
from hashtag_core.analytics.engagement import conform, engagement
from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS, PERFORMANCE_SCHEMA, WINDOWS

__all__ = ["LIFT_KEYS", "PERFORMANCE_KEYS", "engagement_medians", "lift_delta", "performance_delta"]

PERFORMANCE_KEYS = ["platform", "account_id", "window", "hashtag_id"]
LIFT_KEYS = ["platform", "account_id", "window", "goal", "hashtag_id"]
#: (mean, count, whether the per-post values are whole numbers) of hashtag_performance.
_MEANS = (
    ("avg_engagement", "posts", True),
    ("er_follower", "er_follower_posts", False),
    ("er_reach", "er_reach_posts", False),
    ("virality", "virality_posts", False),
    ("avg_reach", "reach_posts", True),
    ("avg_impressions", "impressions_posts", True),
)
_MEDIAN = "median_engagement"


def _sums(frame: pl.DataFrame, tag: str) -> pl.DataFrame:
    """Key columns, then `<count>_<tag>` and `<mean>_<tag>` as the sum behind the mean."""
    columns: list[pl.Expr] = []
    for mean, count, whole in _MEANS:
        total = pl.when(pl.col(count) > 0).then(pl.col(mean) * pl.col(count)).otherwise(0.0)
        columns += [
            pl.col(count).alias(f"{count}_{tag}"),
            (total.round(0) if whole else total).alias(f"{mean}_{tag}"),
        ]
    return frame.select(*PERFORMANCE_KEYS, *columns)


def performance_delta(
    stored: pl.DataFrame, old: pl.DataFrame, new: pl.DataFrame, medians: pl.DataFrame
) -> pl.DataFrame:
    """hashtag_performance rows: `stored` - `old` + `new` (all PERFORMANCE_SCHEMA, `old` and
    `new` computed over the updated posts alone), with `medians` (PERFORMANCE_KEYS +
    median_engagement) of every resulting row. Rows left with no post are dropped."""
    joined = (
        _sums(stored, "s")
        .join(_sums(old, "a"), on=PERFORMANCE_KEYS, how="full", coalesce=True)
        .join(_sums(new, "b"), on=PERFORMANCE_KEYS, how="full", coalesce=True)
    )
    figures: list[pl.Expr] = []
    for mean, count, _whole in _MEANS:
        n, total = _moved(count), _moved(mean)
        figures += [n.alias(count), pl.when(n > 0).then(total / n).alias(mean)]
    return (
        joined.select(*PERFORMANCE_KEYS, *figures)
        .filter(pl.col("posts") > 0)
        .join(medians, on=PERFORMANCE_KEYS, how="left")
        .pipe(lambda frame: conform(frame.lazy(), PERFORMANCE_SCHEMA).collect())
    )


def _moved(name: str) -> pl.Expr:
    """stored - old + new of one column (absent = 0)."""
    stored, old, new = (pl.col(f"{name}_{tag}").fill_null(0) for tag in "sab")
    return stored - old + new


def _moments(frame: pl.DataFrame, tag: str) -> pl.DataFrame:
    n, sd = pl.col("posts"), pl.col("sd_log_ratio")
    return frame.select(
        *LIFT_KEYS,
        n.alias(f"n_{tag}"),
        pl.col("mean_log_ratio").alias(f"mean_{tag}"),
        pl.when(n >= 2).then(sd * sd * (n - 1)).otherwise(0.0).alias(f"m2_{tag}"),
    )


def lift_delta(
    stored: pl.DataFrame, old: pl.DataFrame, new: pl.DataFrame, priors: pl.DataFrame
) -> pl.DataFrame:
    """hashtag_lift rows (LIFT_SCHEMA) with the moments of `stored`, less those of `old`, plus
    those of `new` (`old` and `new` computed over the updated posts alone with the stored
    baselines); the hashtag estimate from the stored `priors` and the stored rows' offsets
    (`incremental.FROZEN_LIFT`). Rows left with no post are dropped."""
    joined = (
        _moments(stored, "s")
        .join(_moments(old, "a"), on=LIFT_KEYS, how="full", coalesce=True)
        .join(_moments(new, "b"), on=LIFT_KEYS, how="full", coalesce=True)
        .with_columns(pl.col(f"{m}_{t}").fill_null(0) for m in ("n", "mean", "m2") for t in "sab")
    )
    n_s, mean_s, m2_s = pl.col("n_s"), pl.col("mean_s"), pl.col("m2_s")
    n_a, mean_a, m2_a = pl.col("n_a"), pl.col("mean_a"), pl.col("m2_a")
    n_b, mean_b, m2_b = pl.col("n_b"), pl.col("mean_b"), pl.col("m2_b")
    # Take the old posts out: stored = rest + old.
    n_r, mean_r = pl.col("n_r"), pl.col("mean_r")
    rest = joined.with_columns(n_r=n_s - n_a).with_columns(
        mean_r=pl.when(n_r > 0).then((n_s * mean_s - n_a * mean_a) / n_r).otherwise(0.0)
    )
    rest = rest.with_columns(
        m2_r=pl.when(n_r > 1)
        .then(m2_s - m2_a - (mean_a - mean_r) ** 2 * n_a * n_r / n_s)
        .otherwise(0.0)
        .clip(lower_bound=0.0)
    )
    # Merge the new ones in.
    n = n_r + n_b
    merged = rest.select(
        *LIFT_KEYS,
        n.alias("n"),
        pl.when(n > 0).then((n_r * mean_r + n_b * mean_b) / n).alias("mean"),
        pl.when(n > 1)
        .then(pl.col("m2_r") + m2_b + (mean_b - mean_r) ** 2 * n_r * n_b / n)
        .otherwise(0.0)
        .clip(lower_bound=0.0)
        .alias("m2"),
    ).filter(pl.col("n") > 0)
    return lift_rows(merged.lazy(), priors, stored).collect()


def engagement_medians(
    posts: pl.DataFrame, links: pl.DataFrame, keys: pl.DataFrame, *, now: datetime
) -> pl.DataFrame:
    """median_engagement of the hashtag_performance rows `keys` (PERFORMANCE_KEYS rows), from
    `posts` and `links` (every post of the keys' hashtags, as of now; links unique, as
    stored), as in `performance.hashtag_performance`."""
    windows = keys["window"].unique().to_list()
    hashtags = keys["hashtag_id"].unique().to_list()
    mine = links.filter(pl.col("hashtag_id").is_in(hashtags)).lazy()
    per_post = posts.lazy().select(
        "post_id", "platform", "account_id", "posted_at", engagement().alias("engagement")
    )
    # A plain join, not `tagged_posts`: links are unique (post_id, hashtag_id) as stored.
    rows = (
        mine.join(per_post, on="post_id", how="inner")
        .pipe(window_rows, now=now, windows=[w for w in WINDOWS if w in windows])
        .collect()  # once, for the three levels
    )
    median = pl.col("engagement").median().alias(_MEDIAN)
    account, platform = pl.col("account_id"), pl.col("platform")
    accounts = keys.filter(account != ALL_ACCOUNTS)
    platforms = keys.filter((account == ALL_ACCOUNTS) & (platform != ALL_PLATFORMS))
    # Each level is grouped over the rows of its keys' accounts (platforms), then cut to the
    # keys themselves: cheaper than matching every row against the keys.
    levels = [
        rows.filter(account.is_in(accounts["account_id"].implode()))
        .group_by(["platform", "account_id", "window", "hashtag_id"])
        .agg(median),
        rows.filter(platform.is_in(platforms["platform"].implode()))
        .group_by(["platform", "window", "hashtag_id"])
        .agg(median)
        .with_columns(account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)),
        rows.group_by(["window", "hashtag_id"])
        .agg(median)
        .with_columns(
            platform=pl.lit(ALL_PLATFORMS, pl.String), account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)
        ),
    ]
    found = pl.concat(
        [
            level.select(*PERFORMANCE_KEYS, _MEDIAN).with_columns(pl.col("window").cast(pl.String))
            for level in levels
        ]
    )
    return found.join(keys.select(PERFORMANCE_KEYS), on=PERFORMANCE_KEYS, how="semi")
