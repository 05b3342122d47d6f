"""Per-hashtag lift over the account baseline, with a 95% interval and a shrunk score.

Plan (one lazy query):

1. the relative frame (`baseline.relative_performance`) joined to the links: one row per
   (post, window, goal, hashtag) with the post's log-ratio;
2. moments (n, mean, m2) per (account, window, goal, hashtag), merged up to platform and all
   platforms (`stats.by_scope`);
3. per row: lift = exp(mean) - 1 and its t interval; per (scope, window, goal): the
   empirical-Bayes prior spread tau2 and each hashtag's shrunk score (`stats.shrinkage`).
"""

import polars as pl

from hashtag_core.analytics.engagement import check_schema, conform, tagged_posts
from hashtag_core.analytics.frames import LINKS_SCHEMA
from hashtag_core.analytics.insight_frames import LIFT_SCHEMA, RELATIVE_SCHEMA
from hashtag_core.analytics.stats import (
    Z975,
    by_scope,
    interval,
    merged,
    moments,
    roll_up_moments,
    sd,
    shrinkage,
    verdict,
)

__all__ = ["account_platforms_of", "hashtag_lift", "lift_figures"]

_KEYS = ["window", "goal", "hashtag_id"]


def hashtag_lift(relative: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """LIFT_SCHEMA rows for every (scope, window, goal, hashtag) with at least one post."""
    check_schema(relative, RELATIVE_SCHEMA, "relative")
    check_schema(links, LINKS_SCHEMA, "links")
    tagged = tagged_posts(relative, links, ["account_id", "window", "goal", "log_ratio"])
    accounts = tagged.group_by(["account_id", *_KEYS]).agg(moments(pl.col("log_ratio")))
    levels = by_scope(accounts, account_platforms_of(relative), _KEYS, roll_up_moments(), merged())
    return (
        levels.pipe(lift_figures, group=["platform", "account_id", "window", "goal"])
        .with_columns(pl.col("window", "goal").cast(pl.String))
        .pipe(conform, LIFT_SCHEMA)
    )


def account_platforms_of(frame: pl.LazyFrame) -> pl.LazyFrame:
    """account_id -> platform from any frame holding both columns (one platform per account)."""
    return frame.select("account_id", "platform").unique(subset=["account_id"], keep="any")


def lift_figures(frame: pl.LazyFrame, *, group: list[str]) -> pl.LazyFrame:
    """Lift, interval, shrunk score and verdict from ``n``/``mean``/``m2`` columns.

    ``group`` are the columns within which hashtags share one prior (scope, window, goal).
    Output renames ``n`` to ``posts`` and ``mean`` to ``mean_log_ratio``.
    """
    n, mean, m2 = pl.col("n"), pl.col("mean"), pl.col("m2")
    se = sd(n, m2) / n.sqrt()
    ci_low, ci_high = interval(mean, se, n - 1)
    post_mean, post_half = pl.col("post_mean"), Z975 * pl.col("post_sd")
    return (
        frame.with_columns(
            sd_log_ratio=sd(n, m2),
            lift=mean.exp() - 1,
            ci_low=ci_low,
            ci_high=ci_high,
        )
        .pipe(shrinkage, group=group)
        .with_columns(
            score=post_mean.exp() - 1,
            score_low=(post_mean - post_half).exp() - 1,
            score_high=(post_mean + post_half).exp() - 1,
            verdict=verdict(pl.col("ci_low"), pl.col("ci_high")),
        )
        .rename({"n": "posts", "mean": "mean_log_ratio"})
    )
