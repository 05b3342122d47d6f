"""Hashtag pairs used on the same post, and whether the pair beats each tag used without the other.

For a pair (a, b) in a scope, over all history and the engagement goal: the posts carrying both
are compared with the posts carrying a but not b, and with those carrying b but not a. The
"better single" is the one of those two groups with the higher mean log-ratio, and
``synergy_log = pair mean - better single mean`` with a Welch interval: a positive interval
means the pair does better than the better tag does on its own.
"""

from datetime import datetime

import polars as pl

from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.engagement import check_inputs, conform
from hashtag_core.analytics.frames import LINKS_SCHEMA
from hashtag_core.analytics.insight_frames import COOCCURRENCE_SCHEMA
from hashtag_core.analytics.lift import account_platforms_of
from hashtag_core.analytics.stats import by_scope, interval, merged, moments, roll_up_moments, welch

__all__ = ["cooccurrence"]

_SCOPE = ["platform", "account_id"]
_PAIR = ["hashtag_a", "hashtag_b"]
_MOMENTS = ("n", "mean", "m2")
#: Posts with more hashtags than this give no pair evidence. A post's pairs grow with the
#: square of its tags (10,000 tags: 50 million pairs), and a wall of tags says nothing about
#: any two of them; Instagram itself allows 30.
MAX_TAGS_FOR_PAIRS = 50


def cooccurrence(
    posts: pl.LazyFrame, links: pl.LazyFrame, *, now: datetime, min_posts: int = 5
) -> pl.LazyFrame:
    """COOCCURRENCE_SCHEMA rows for every pair used together on >= ``min_posts`` posts."""
    check_inputs(posts, links)
    if min_posts < 1:
        raise ValueError("min_posts must be >= 1")
    relative = relative_performance(posts, now=now, goals=["engagement"], windows=["all"])
    rows = relative.select("post_id", "account_id", "log_ratio")
    tags = links.select(LINKS_SCHEMA.names()).drop_nulls().unique()
    platforms = account_platforms_of(relative)
    pairs = _pair_moments(rows, tags, platforms, min_posts)
    singles = _single_moments(rows, tags, platforms)
    return (
        pairs.join(_as(singles, "a"), on=[*_SCOPE, "hashtag_a"], how="left")
        .join(_as(singles, "b"), on=[*_SCOPE, "hashtag_b"], how="left")
        .pipe(_synergy)
        .pipe(conform, COOCCURRENCE_SCHEMA)
    )


def _pair_moments(
    rows: pl.LazyFrame, tags: pl.LazyFrame, platforms: pl.LazyFrame, min_posts: int
) -> pl.LazyFrame:
    """Moments of the posts carrying both tags, per scope and pair with n >= min_posts."""
    tags = tags.filter(pl.len().over("post_id") <= MAX_TAGS_FOR_PAIRS)
    pairs = (
        tags.join(tags, on="post_id", suffix="_b")
        .filter(pl.col("hashtag_id") < pl.col("hashtag_id_b"))
        .rename({"hashtag_id": "hashtag_a", "hashtag_id_b": "hashtag_b"})
        .join(rows, on="post_id", how="inner")
    )
    # A pair used fewer than min_posts times overall is below it in every scope too: dropping
    # it before the per-account group-by keeps the long tail of one-off pairs cheap.
    frequent = pairs.group_by(_PAIR).agg(pl.len()).filter(pl.col("len") >= min_posts)
    summed = (
        pairs.join(frequent.select(_PAIR), on=_PAIR, how="semi")
        .group_by(["account_id", *_PAIR])
        .agg(moments(pl.col("log_ratio")))
    )
    levels = by_scope(summed, platforms, _PAIR, roll_up_moments(), merged())
    return levels.filter(pl.col("n") >= min_posts)


def _single_moments(
    rows: pl.LazyFrame, tags: pl.LazyFrame, platforms: pl.LazyFrame
) -> pl.LazyFrame:
    """Moments of all posts carrying each hashtag, per scope."""
    summed = (
        tags.join(rows, on="post_id", how="inner")
        .group_by(["account_id", "hashtag_id"])
        .agg(moments(pl.col("log_ratio")))
    )
    return by_scope(summed, platforms, ["hashtag_id"], roll_up_moments(), merged())


def _as(singles: pl.LazyFrame, side: str) -> pl.LazyFrame:
    """Single moments renamed for one side of the pair: hashtag_<side>, <side>_all_n, ..."""
    renames = {name: f"{side}_all_{name}" for name in _MOMENTS}
    return singles.rename({"hashtag_id": f"hashtag_{side}", **renames})


def _without_pair(side: str) -> dict[str, pl.Expr]:
    """Moments of the posts with ``side``'s tag but not the other: all posts minus the pair's.

    The inverse of the pairwise merge: n_o = n - n_p, mean_o = (n mean - n_p mean_p) / n_o,
    m2_o = m2 - m2_p - n_o n_p / n (mean_o - mean_p)^2 (clipped at 0 against rounding).
    """
    n, mean, m2 = (pl.col(f"{side}_all_{name}") for name in _MOMENTS)
    n_p, mean_p, m2_p = pl.col("n"), pl.col("mean"), pl.col("m2")
    n_o = n - n_p
    mean_o = pl.when(n_o > 0).then((n * mean - n_p * mean_p) / n_o)
    m2_o = (m2 - m2_p - n_o * n_p / n * (mean_o - mean_p) ** 2).clip(lower_bound=0.0)
    return {f"{side}_only_n": n_o, f"{side}_only_mean": mean_o, f"{side}_only_m2": m2_o}


def _synergy(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Pair vs the better of the two singles, with a Welch interval."""
    a_mean, b_mean = pl.col("a_only_mean"), pl.col("b_only_mean")
    a_wins = b_mean.is_null() | (a_mean >= b_mean)
    best = {
        name: pl.when(a_wins).then(pl.col(f"a_only_{name}")).otherwise(pl.col(f"b_only_{name}"))
        for name in _MOMENTS
    }
    pair = (pl.col("n"), pl.col("mean"), pl.col("m2"))
    difference, se, df = welch(*pair, best["n"], best["mean"], best["m2"])
    low, high = interval(difference, se, df)
    both_null = a_mean.is_null() & b_mean.is_null()
    return (
        frame.with_columns(**_without_pair("a"), **_without_pair("b"))
        .with_columns(
            better_single=pl.when(both_null)
            .then(None)
            .when(a_wins)
            .then(pl.col("hashtag_a"))
            .otherwise(pl.col("hashtag_b")),
            synergy_log=difference,
            synergy=difference.exp() - 1,
            synergy_low=low,
            synergy_high=high,
        )
        .rename(
            {
                "n": "posts",
                "mean": "pair_mean_log",
                "a_only_n": "a_only_posts",
                "a_only_mean": "a_only_mean_log",
                "b_only_n": "b_only_posts",
                "b_only_mean": "b_only_mean_log",
            }
        )
        .with_columns(pair_lift=pl.col("pair_mean_log").exp() - 1)
    )
