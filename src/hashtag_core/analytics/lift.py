"""Per-hashtag lift over the account baseline (raw, with a 95% t interval) and the hashtag
estimate every surface quotes (adjusted for companions and timing, shrunk; `effects`).

Plan:

1. the relative frame (`baseline.relative_performance`) joined to the links: one row per
   (post, window, goal, hashtag) with the post's log-ratio;
2. moments (n, mean, m2) per (account, window, goal, hashtag), merged up to platform and all
   platforms (`stats.by_scope`); per row the raw lift = exp(mean) - 1 and its t interval;
3. the joint fit of every post's log-ratio on its hashtags, slot and month
   (`effects.joint_fit`), and per (scope, window, goal) the mixture prior, each hashtag's
   posterior (score and its interval), lfsr, q-value and verdict (`effects.effect_rows`).
"""

import polars as pl

from hashtag_core.analytics.effects import effect_rows, joint_fit
from hashtag_core.analytics.engagement import check_schema, conform, tagged_posts
from hashtag_core.analytics.frames import LINKS_SCHEMA
from hashtag_core.analytics.insight_frames import LIFT_SCHEMA, RELATIVE_SCHEMA
from hashtag_core.analytics.stats import (
    by_scope,
    interval,
    merged,
    moments,
    roll_up_moments,
    sd,
)

__all__ = ["account_platforms_of", "hashtag_lift", "hashtag_lift_and_priors", "raw_figures"]

_KEYS = ["window", "goal", "hashtag_id"]
_ROW = ["platform", "account_id", "window", "goal", "hashtag_id"]


def hashtag_lift(relative: pl.LazyFrame, links: pl.LazyFrame) -> pl.LazyFrame:
    """LIFT_SCHEMA rows for every (scope, window, goal, hashtag) with at least one post."""
    return hashtag_lift_and_priors(relative, links)[0].lazy()


def hashtag_lift_and_priors(
    relative: pl.LazyFrame, links: pl.LazyFrame, *, fit: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(LIFT_SCHEMA rows, the fitted priors: `effects.PRIOR_SCHEMA`).

    ``fit``: the tags of `effects.joint_fit` on the same ``relative`` and ``links``, when the
    caller has fitted them already (the full pass fits the engagement regression once per
    window for the lift and the slots); fitted here otherwise."""
    check_schema(relative, RELATIVE_SCHEMA, "relative")
    check_schema(links, LINKS_SCHEMA, "links")
    tagged = tagged_posts(relative, links, ["account_id", "window", "goal", "log_ratio"])
    accounts = tagged.group_by(["account_id", *_KEYS]).agg(moments(pl.col("log_ratio")))
    levels = by_scope(accounts, account_platforms_of(relative), _KEYS, roll_up_moments(), merged())
    raw = levels.pipe(raw_figures).with_columns(pl.col("window", "goal").cast(pl.String)).collect()
    if fit is None:
        fit = joint_fit(relative, links).tags
    rows = raw.join(fit, on=_ROW, how="left")
    rows, priors = effect_rows(rows)
    return conform(rows.lazy(), LIFT_SCHEMA).collect(), priors


def account_platforms_of(frame: pl.LazyFrame) -> pl.LazyFrame:
    """account_id -> platform from any frame holding both columns (one platform per account)."""
    return frame.select("account_id", "platform").unique(subset=["account_id"], keep="any")


def raw_figures(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Raw lift and its t interval from ``n``/``mean``/``m2`` columns.

    Output renames ``n`` to ``posts`` and ``mean`` to ``mean_log_ratio`` and keeps ``m2``.
    """
    n, mean, m2 = pl.col("n"), pl.col("mean"), pl.col("m2")
    se = sd(n, m2) / n.sqrt()
    ci_low, ci_high = interval(mean, se, n - 1)
    return frame.with_columns(
        sd_log_ratio=sd(n, m2),
        lift=mean.exp() - 1,
        ci_low=ci_low,
        ci_high=ci_high,
    ).rename({"n": "posts", "mean": "mean_log_ratio"})
