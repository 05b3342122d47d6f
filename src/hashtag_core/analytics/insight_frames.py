"""Column names and dtypes of the insight frames: relative performance, lift, slots and friends.

These complement `frames` (which they do not change). Figures that compare a post with its own
account's usual post are on the log scale (`*_log` / `log_ratio` columns) and are also given as
a ratio minus one (`lift`, `score`, `change`, `synergy`, ...): +0.25 = 25% better than usual.
Every table carries the number of posts each figure rests on.
"""

import polars as pl

from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS

__all__ = [
    "BEST_SLOT_SCHEMA",
    "CONTENT_REACH_SCHEMA",
    "COOCCURRENCE_SCHEMA",
    "FOLLOWERS_GOAL",
    "FOLLOWER_GROWTH_DAYS",
    "FOLLOWERS_SCHEMA",
    "GOALS",
    "GOAL_DTYPE",
    "LIFT_SCHEMA",
    "MOMENTUM_SCHEMA",
    "RELATIVE_SCHEMA",
    "LANGUAGE_POSTS_SCHEMA",
    "LANGUAGE_SCHEMA",
    "SENTIMENT_POSTS_SCHEMA",
    "SENTIMENT_SCHEMA",
    "SLOT_SCHEMA",
    "VERDICTS",
    "WINDOW_DTYPE",
]

#: Goals a post can be judged on against its account's baseline (see docs/metrics.md).
GOALS: tuple[str, ...] = ("engagement", "reach", "virality", "er_follower")
#: Extra goal of the follower-growth analysis (`followers.follower_relative`).
FOLLOWERS_GOAL = "followers"
#: Days after a post over which its follower growth is measured (`followers`): posts less than
#: this far apart share part of their growth window, so their errors are correlated.
FOLLOWER_GROWTH_DAYS = 3
#: Enum dtypes keep the hot group-by keys as small integers while reading like strings.
GOAL_DTYPE = pl.Enum([*GOALS, FOLLOWERS_GOAL])
WINDOW_DTYPE = pl.Enum(list(WINDOWS))
#: Verdict values of the hashtag estimate (`effects.verdict_of`): sign sure across the list
#: (q-value <= 5%) and positive / negative, anything else, or under 5 posts.
VERDICTS: tuple[str, ...] = ("lifts", "underperforms", "unclear", "too_few_posts")

#: Typed so that mypy accepts dtype classes and instances side by side.
_Columns = dict[str, pl.DataType | type[pl.DataType]]

_SCOPE: _Columns = {
    "platform": pl.String,
    "account_id": pl.Int64,
}

#: One row per (post, window containing it, goal whose metric the post has).
_RELATIVE_SCHEMA: _Columns = {
    "post_id": pl.Int64,
    "platform": pl.String,
    "account_id": pl.Int64,
    "window": WINDOW_DTYPE,
    "goal": GOAL_DTYPE,
    "value": pl.Float64,  # the post's smoothed goal value (see docs)
    "baseline": pl.Float64,  # median of `value` over the account's posts in the window
    "log_ratio": pl.Float64,  # ln(value / baseline); followers: value - baseline
    "slot": pl.Int16,  # local (weekday - 1) * 24 + hour, NULL when unknown
    "month": pl.Int32,  # calendar month of posted_at (UTC) as year * 12 + month - 1
    "day": pl.Int32,  # day of posted_at (UTC), days since 1970-01-01
}
RELATIVE_SCHEMA = pl.Schema(_RELATIVE_SCHEMA)

#: Per (scope, window, goal, hashtag): the raw (marginal) lift with its t interval, and the
#: hashtag estimate (adjusted for companions and timing, shrunk; `effects`) that every surface
#: quotes: score, its interval, lfsr, qvalue and the verdict.
_LIFT_SCHEMA: _Columns = {
    **_SCOPE,
    "window": pl.String,
    "goal": pl.String,
    "hashtag_id": pl.Int64,
    "posts": pl.Int64,
    "mean_log_ratio": pl.Float64,
    "sd_log_ratio": pl.Float64,  # NULL for posts < 2
    "lift": pl.Float64,  # raw: exp(mean_log_ratio) - 1
    "ci_low": pl.Float64,  # 95% t interval of the raw lift, NULL for posts < 2
    "ci_high": pl.Float64,
    "offset_sum": pl.Float64,  # sum over the posts of their companions' and timing's fit
    "resid_m2": pl.Float64,  # squared deviations of the posts' partial residuals
    "prior_var": pl.Float64,  # what resid_m2 / (posts - 1) is moderated towards (effects)
    "estimate": pl.Float64,  # adjusted effect (log scale) before shrinkage
    "estimate_se": pl.Float64,  # its standard error
    "score": pl.Float64,  # the headline: exp(posterior mean) - 1
    "score_low": pl.Float64,  # 95% interval (effects.interval)
    "score_high": pl.Float64,
    "lfsr": pl.Float64,  # local false sign rate
    "qvalue": pl.Float64,  # s-value across the list; NULL under MIN_POSTS posts
    "verdict": pl.String,  # one of VERDICTS
}
LIFT_SCHEMA = pl.Schema(_LIFT_SCHEMA)

#: Engagement per (scope, window, hashtag or ALL_HASHTAGS, local weekday, local hour): the raw
#: lift with its t interval, and the cell's estimate (adjusted for the hashtags posted in it
#: and the month, shrunk; `effects`) with its interval, lfsr, q-value and verdict.
_SLOT_SCHEMA: _Columns = {
    **_SCOPE,
    "window": pl.String,
    "hashtag_id": pl.Int64,
    "weekday": pl.Int8,
    "hour": pl.Int8,
    "posts": pl.Int64,
    "mean_log_ratio": pl.Float64,
    "sd_log_ratio": pl.Float64,
    "lift": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "score": pl.Float64,
    "score_low": pl.Float64,
    "score_high": pl.Float64,
    "lfsr": pl.Float64,
    "qvalue": pl.Float64,
    "verdict": pl.String,
}
SLOT_SCHEMA = pl.Schema(_SLOT_SCHEMA)

_BEST_SLOT_SCHEMA: _Columns = {**_SLOT_SCHEMA, "rank": pl.Int64}
BEST_SLOT_SCHEMA = pl.Schema(_BEST_SLOT_SCHEMA)

#: Recent period vs the one before it, per (scope, hashtag).
_MOMENTUM_SCHEMA: _Columns = {
    **_SCOPE,
    "hashtag_id": pl.Int64,
    "recent_posts": pl.Int64,
    "recent_mean_log_ratio": pl.Float64,
    "previous_posts": pl.Int64,
    "previous_mean_log_ratio": pl.Float64,
    "difference_log": pl.Float64,  # recent - previous mean log-ratio
    "change": pl.Float64,  # exp(difference_log) - 1
    "ci_low": pl.Float64,  # Welch 95% interval of the change
    "ci_high": pl.Float64,
    "direction": pl.String,  # rising / falling / flat
}
MOMENTUM_SCHEMA = pl.Schema(_MOMENTUM_SCHEMA)

#: Follower-count snapshots of the accounts.
_FOLLOWERS_SCHEMA: _Columns = {
    "account_id": pl.Int64,
    "captured_at": pl.Datetime("us", "UTC"),
    "followers": pl.Int64,
}
FOLLOWERS_SCHEMA = pl.Schema(_FOLLOWERS_SCHEMA)

#: Mean reach / impressions per (scope, window, hashtag).
_CONTENT_REACH_SCHEMA: _Columns = {
    **_SCOPE,
    "window": pl.String,
    "hashtag_id": pl.Int64,
    "posts": pl.Int64,
    "reach_ratio": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}
CONTENT_REACH_SCHEMA = pl.Schema(_CONTENT_REACH_SCHEMA)

#: Pairs of hashtags on the same post (hashtag_a < hashtag_b), engagement goal, all history.
_COOCCURRENCE_SCHEMA: _Columns = {
    **_SCOPE,
    "hashtag_a": pl.Int64,
    "hashtag_b": pl.Int64,
    "posts": pl.Int64,  # posts carrying both
    "pair_mean_log": pl.Float64,
    "pair_lift": pl.Float64,  # exp(pair_mean_log) - 1
    "a_only_posts": pl.Int64,  # posts with a but not b
    "a_only_mean_log": pl.Float64,
    "b_only_posts": pl.Int64,
    "b_only_mean_log": pl.Float64,
    "better_single": pl.Int64,  # the hashtag whose solo mean is higher
    "synergy_log": pl.Float64,  # pair mean - better solo mean
    "synergy": pl.Float64,  # exp(synergy_log) - 1
    "synergy_low": pl.Float64,  # Welch 95% interval of the synergy
    "synergy_high": pl.Float64,
}
COOCCURRENCE_SCHEMA = pl.Schema(_COOCCURRENCE_SCHEMA)

#: POSTS_SCHEMA plus each post's VADER compound score (NULL = not scored).
_SENTIMENT_POSTS_SCHEMA: _Columns = {**POSTS_SCHEMA, "sentiment": pl.Float64}
SENTIMENT_POSTS_SCHEMA = pl.Schema(_SENTIMENT_POSTS_SCHEMA)

#: Sentiment per (scope, window, hashtag or ALL_HASHTAGS).
_SENTIMENT_SCHEMA: _Columns = {
    **_SCOPE,
    "window": pl.String,
    "hashtag_id": pl.Int64,
    "posts": pl.Int64,
    "mean_compound": pl.Float64,
    "positive_share": pl.Float64,
    "neutral_share": pl.Float64,
    "negative_share": pl.Float64,
    "correlation": pl.Float64,  # Pearson r of compound vs engagement log-ratio
    "corr_low": pl.Float64,  # Fisher-z 95% interval, NULL for posts < 4
    "corr_high": pl.Float64,
}
SENTIMENT_SCHEMA = pl.Schema(_SENTIMENT_SCHEMA)

#: POSTS_SCHEMA plus each post's language (hashtag_core.language code or "unknown") and
#: sentiment score (NULL = not scored).
_LANGUAGE_POSTS_SCHEMA: _Columns = {
    **POSTS_SCHEMA,
    "language": pl.String,
    "sentiment": pl.Float64,
}
LANGUAGE_POSTS_SCHEMA = pl.Schema(_LANGUAGE_POSTS_SCHEMA)

#: Posts per language per (scope, window, hashtag or ALL_HASHTAGS), and how many of them
#: have a sentiment score.
_LANGUAGE_SCHEMA: _Columns = {
    **_SCOPE,
    "window": pl.String,
    "hashtag_id": pl.Int64,
    "language": pl.String,
    "posts": pl.Int64,
    "scored_posts": pl.Int64,
}
LANGUAGE_SCHEMA = pl.Schema(_LANGUAGE_SCHEMA)
