"""Straightforward pandas/numpy versions of the insight figures, for tests and benchmarks.

Each function mirrors one polars function of the insight modules and must give the same numbers
(to rounding). They favour plain code over speed: every scope level is a separate group-by over
all rows (no roll-ups), variances come from pandas' ``var``, the posts "with a but not b" of a
co-occurring pair are found with an anti-join instead of by subtracting moments, and follower
snapshots are matched with ``pandas.merge_asof``. Inputs and outputs are pandas DataFrames with
the columns of the schemas in `frames` and `insight_frames` (see `reference_pandas` for the
polars <-> pandas converters).
"""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd

from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_HASHTAGS, ALL_PLATFORMS, WINDOWS
from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    CONTENT_REACH_SCHEMA,
    COOCCURRENCE_SCHEMA,
    FOLLOWERS_GOAL,
    GOALS,
    LIFT_SCHEMA,
    MOMENTUM_SCHEMA,
    RELATIVE_SCHEMA,
    SENTIMENT_SCHEMA,
    SLOT_SCHEMA,
)

# The oracle's constants, written out here from their definitions (docs/metrics.md) rather
# than imported from the modules it checks: a wrong constant there must make the two disagree.
#: Log ratios to the account baseline are capped at a factor of 20 either way.
LOG_RATIO_CAP = math.log(20.0)
#: Posts with more hashtags than this give no pair evidence.
MAX_TAGS_FOR_PAIRS = 50
#: |r| this close to 1 counts as 1 (no Fisher interval).
R_EXACT_SLACK = 1e-12
#: Welch-Satterthwaite degrees of freedom are floored after adding this slack.
WELCH_DF_SLACK = 1e-9
#: The standard normal's 97.5% quantile (the standard library's, not `stats.Z975`).
Z975 = NormalDist().inv_cdf(0.975)

__all__ = [
    "best_slots_pd",
    "content_reach_pd",
    "cooccurrence_pd",
    "follower_lift_pd",
    "hashtag_lift_pd",
    "hashtag_momentum_pd",
    "hashtag_sentiment_pd",
    "post_follower_growth_pd",
    "recommend_pd",
    "relative_performance_pd",
    "slot_lift_pd",
    "t975_of",
]

_SCOPE = ["platform", "account_id"]
_LEVELS = ("account", "platform", "all")


# --- shared helpers ------------------------------------------------------------------------------


def _floats(frame: pd.DataFrame, column: str) -> pd.Series:
    """A counter as float64 with NaN for unknown."""
    return frame[column].astype("float64")


def _engagement(posts: pd.DataFrame) -> pd.Series:
    """likes + comments + shares + saves, unknown counted as 0."""
    parts = ["likes", "comments", "shares", "saves"]
    return sum((_floats(posts, p).fillna(0.0) for p in parts), pd.Series(0.0, posts.index))


def _goal_value(posts: pd.DataFrame, goal: str) -> pd.Series:
    """The smoothed per-post value of a goal (NaN where undefined)."""
    engagement = _engagement(posts)
    reach, impressions = _floats(posts, "reach"), _floats(posts, "impressions")
    if goal == "engagement":
        return 1.0 + engagement
    if goal == "reach":
        return 1.0 + reach
    if goal == "virality":
        denominator = reach.where(reach > 0, impressions)
        shares = _floats(posts, "shares")
        return ((shares + 0.5) / (denominator + 1.0)).where(shares.notna() & (denominator > 0))
    followers = _floats(posts, "followers")
    return ((1.0 + engagement) / followers).where(followers > 0)


def _windowed(frame: pd.DataFrame, now: datetime, windows: Sequence[str]) -> pd.DataFrame:
    """One copy of each row per window containing its ``posted_at``, with ``window``."""
    stamp = pd.Timestamp(now)
    copies = []
    for name in windows:
        days = WINDOWS[name]
        inside = frame["posted_at"] <= stamp
        if days is not None:
            inside &= frame["posted_at"] >= stamp - pd.Timedelta(days=days)
        copies.append(frame[inside].assign(window=name))
    return pd.concat(copies, ignore_index=True)


def _tag(rows: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per (row, hashtag of its post), for distinct known links."""
    pairs = links[["post_id", "hashtag_id"]].dropna().drop_duplicates()
    return pairs.merge(rows, on="post_id", how="inner")


def _with_all_hashtags(rows: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Tagged rows plus every row once under ALL_HASHTAGS."""
    return pd.concat([rows.assign(hashtag_id=ALL_HASHTAGS), _tag(rows, links)], ignore_index=True)


def _by_scope(rows: pd.DataFrame, level: str) -> pd.DataFrame:
    """``rows`` with platform / account_id replaced by the markers of a scope level."""
    if level == "platform":
        return rows.assign(account_id=ALL_ACCOUNTS)
    if level == "all":
        return rows.assign(platform=ALL_PLATFORMS, account_id=ALL_ACCOUNTS)
    return rows


def _stats(rows: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """n, mean and sample variance of ``column`` per keys, over all three scope levels."""
    tables = [
        _by_scope(rows, level)
        .groupby([*_SCOPE, *keys], sort=False)[column]
        .agg(n="size", mean="mean", var="var")
        .reset_index()
        for level in _LEVELS
    ]
    return pd.concat(tables, ignore_index=True)


def t975_of(df: np.ndarray) -> np.ndarray:
    """97.5% t quantile of each df in a float array (NaN where df is NaN or < 1), from
    scipy's t distribution (a dev dependency: this module serves tests and benchmarks), not
    from `stats.t975`, which it checks."""
    from scipy import stats  # lazily: the service itself never imports this module

    return np.asarray(stats.t.ppf(0.975, df), dtype=np.float64)


def _t(df: pd.Series) -> np.ndarray:
    """`t975_of` each df (NaN where df is NaN or < 1)."""
    values = df.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(t975_of(np.where(values >= 1, values, np.nan)), dtype=np.float64)


def _t_interval(mean: pd.Series, var: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """mean -/+ t975(n - 1) * sqrt(var / n) (NaN for n < 2)."""
    half = _t(n - 1) * np.sqrt(var / n)
    return mean - half, mean + half


# --- relative performance and lift ---------------------------------------------------------------


def relative_performance_pd(
    posts: pd.DataFrame,
    *,
    now: datetime,
    goals: Sequence[str] = GOALS,
    windows: Sequence[str] = tuple(WINDOWS),
) -> pd.DataFrame:
    """RELATIVE_SCHEMA columns: each post against its account's median in the window."""
    ids = ["post_id", "platform", "account_id"]
    values = posts[[*ids, "posted_at"]].copy()
    values["slot"], values["month"], values["day"] = _timing(posts)
    for goal in goals:
        values[goal] = _goal_value(posts, goal)
    long = _windowed(values, now, windows).melt(
        id_vars=[*ids, "window", "slot", "month", "day"],
        value_vars=list(goals),
        var_name="goal",
        value_name="value",
    )
    long = long.dropna(subset=["value"])
    long["baseline"] = long.groupby(["account_id", "window", "goal"])["value"].transform("median")
    ratio = np.log(long["value"] / long["baseline"])
    long["log_ratio"] = ratio.clip(-LOG_RATIO_CAP, LOG_RATIO_CAP)
    return long[list(RELATIVE_SCHEMA)].reset_index(drop=True)


def _timing(posts: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Local (weekday - 1) * 24 + hour, year * 12 + month - 1 of posted_at (UTC), and its
    UTC day as days since 1970-01-01."""
    slot = (posts["local_weekday"].astype("Int64") - 1) * 24 + posts["local_hour"].astype("Int64")
    stamp = pd.to_datetime(posts["posted_at"], utc=True)
    month = stamp.dt.year.astype("Int64") * 12 + stamp.dt.month.astype("Int64") - 1
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    day = ((stamp - epoch) // pd.Timedelta(days=1)).astype("Int64")
    return slot, month, day


#: LIFT_SCHEMA columns of the hashtag estimate (joint fit by conjugate gradients, mixture
#: prior by EM, posterior quantiles by bisection): not closed-form, so this oracle leaves them
#: NaN; tests/analytics/test_effects.py checks them against independent numerics instead.
NOT_CLOSED_FORM = (
    "offset_sum",
    "resid_m2",
    "prior_var",
    "estimate",
    "estimate_se",
    "score",
    "score_low",
    "score_high",
    "lfsr",
    "qvalue",
    "verdict",
)


#: SLOT_SCHEMA columns of the cell estimate (the same joint fit and prior): left NaN.
NOT_CLOSED_FORM_SLOT = ("score", "score_low", "score_high", "lfsr", "qvalue", "verdict")


def hashtag_lift_pd(relative: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """LIFT_SCHEMA columns: the raw lift and its t interval (NOT_CLOSED_FORM columns NaN)."""
    table = _stats(_tag(relative, links), ["window", "goal", "hashtag_id"], "log_ratio")
    table["posts"] = table["n"]
    table["mean_log_ratio"] = table["mean"]
    table["sd_log_ratio"] = np.sqrt(table["var"])
    table["lift"] = np.exp(table["mean"]) - 1
    low, high = _t_interval(table["mean"], table["var"], table["n"])
    table["ci_low"], table["ci_high"] = np.exp(low) - 1, np.exp(high) - 1
    for column in NOT_CLOSED_FORM:
        table[column] = None if column == "verdict" else np.nan
    return table[list(LIFT_SCHEMA)]


# --- slots and momentum --------------------------------------------------------------------------


def slot_lift_pd(
    posts: pd.DataFrame,
    links: pd.DataFrame,
    *,
    now: datetime,
    windows: Sequence[str] = ("all",),
) -> pd.DataFrame:
    """SLOT_SCHEMA columns: engagement lift per (scope, window, hashtag incl. 0, weekday, hour)."""
    relative = relative_performance_pd(posts, now=now, goals=["engagement"], windows=windows)
    cells = posts[["post_id", "local_weekday", "local_hour"]].dropna()
    cells = cells.rename(columns={"local_weekday": "weekday", "local_hour": "hour"})
    rows = relative.merge(cells, on="post_id", how="inner")
    keys = ["window", "hashtag_id", "weekday", "hour"]
    table = _stats(_with_all_hashtags(rows, links), keys, "log_ratio")
    table["posts"], table["mean_log_ratio"] = table["n"], table["mean"]
    table["sd_log_ratio"] = np.sqrt(table["var"])
    table["lift"] = np.exp(table["mean"]) - 1
    low, high = _t_interval(table["mean"], table["var"], table["n"])
    table["ci_low"], table["ci_high"] = np.exp(low) - 1, np.exp(high) - 1
    for column in NOT_CLOSED_FORM_SLOT:
        table[column] = None if column == "verdict" else np.nan
    return table[list(SLOT_SCHEMA)]


def best_slots_pd(slots: pd.DataFrame, *, min_posts: int = 5, limit: int = 3) -> pd.DataFrame:
    """BEST_SLOT_SCHEMA columns: the top cells by their estimate (score) per (scope, window,
    hashtag). The scores are not closed-form: pass the production slot table (this checks the
    ranking rule, not the estimate)."""
    ranked = slots[(slots["posts"] >= min_posts) & slots["score"].notna()]
    ranked = ranked.sort_values(
        [*_SCOPE, "window", "hashtag_id", "score", "lift", "weekday", "hour"],
        ascending=[True, True, True, True, False, False, True, True],
    )
    group = [*_SCOPE, "window", "hashtag_id"]
    ranked = ranked.assign(rank=ranked.groupby(group).cumcount() + 1)
    return ranked[ranked["rank"] <= limit][list(BEST_SLOT_SCHEMA)]


def hashtag_momentum_pd(
    posts: pd.DataFrame, links: pd.DataFrame, *, now: datetime, days: int = 30
) -> pd.DataFrame:
    """MOMENTUM_SCHEMA columns: recent vs previous period, Welch interval, direction."""
    stamp = pd.Timestamp(now)
    split, start = stamp - pd.Timedelta(days=days), stamp - pd.Timedelta(days=2 * days)
    inside = posts[(posts["posted_at"] >= start) & (posts["posted_at"] <= stamp)].copy()
    inside["period"] = np.where(inside["posted_at"] >= split, "recent", "previous")
    inside["value"] = _goal_value(inside, "engagement")
    median = inside.groupby(["account_id", "period"])["value"].transform("median")
    inside["log_ratio"] = np.log(inside["value"] / median).clip(-LOG_RATIO_CAP, LOG_RATIO_CAP)
    table = _stats(_tag(inside, links), ["hashtag_id", "period"], "log_ratio")
    keys = [*_SCOPE, "hashtag_id"]
    recent = table[table["period"] == "recent"].drop(columns="period")
    previous = table[table["period"] == "previous"].drop(columns="period")
    both = recent.merge(previous, on=keys, how="outer", suffixes=("_r", "_p"))
    v1, v2 = both["var_r"] / both["n_r"], both["var_p"] / both["n_p"]
    var = v1 + v2
    satterthwaite = var**2 / (v1**2 / (both["n_r"] - 1) + v2**2 / (both["n_p"] - 1))
    dof = np.where(
        var > 0,
        np.maximum(np.floor(satterthwaite + WELCH_DF_SLACK), 1.0),
        both["n_r"] + both["n_p"] - 2,
    )
    difference = both["mean_r"] - both["mean_p"]
    half = _t(pd.Series(dof).where(var.notna().to_numpy())) * np.sqrt(var.to_numpy())
    out = both[keys].copy()
    out["recent_posts"] = both["n_r"].fillna(0).astype(np.int64)
    out["recent_mean_log_ratio"] = both["mean_r"]
    out["previous_posts"] = both["n_p"].fillna(0).astype(np.int64)
    out["previous_mean_log_ratio"] = both["mean_p"]
    out["difference_log"] = difference
    out["change"] = np.exp(difference) - 1
    out["ci_low"] = np.exp(difference - half) - 1
    out["ci_high"] = np.exp(difference + half) - 1
    out["direction"] = np.where(
        out["ci_low"] > 0, "rising", np.where(out["ci_high"] < 0, "falling", "flat")
    )
    return out[list(MOMENTUM_SCHEMA)]


# --- followers and content reach -----------------------------------------------------------------


def post_follower_growth_pd(
    posts: pd.DataFrame,
    followers: pd.DataFrame,
    *,
    now: datetime,
    days: float = 3,
    max_gap: timedelta = timedelta(days=1),
) -> pd.DataFrame:
    """post_id, platform, account_id, posted_at, growth via pandas.merge_asof."""
    stamp = pd.Timestamp(now)
    snaps = followers[(followers["captured_at"] <= stamp) & (followers["followers"] > 0)]
    snaps = snaps.assign(followers=snaps["followers"].astype("float64"))
    snaps = snaps.sort_values("captured_at")[["account_id", "captured_at", "followers"]]
    frame = posts[posts["posted_at"] <= stamp][["post_id", "platform", "account_id", "posted_at"]]
    frame = frame.assign(target=frame["posted_at"] + pd.Timedelta(days=days))
    for at, name in (("posted_at", "f_start"), ("target", "f_end")):
        frame = pd.merge_asof(
            frame.sort_values(at),
            snaps.rename(columns={"captured_at": at, "followers": name}),
            on=at,
            by="account_id",
            direction="forward",
            tolerance=pd.Timedelta(max_gap),
        )
    frame["growth"] = np.log(frame["f_end"] / frame["f_start"])
    return frame[["post_id", "platform", "account_id", "posted_at", "growth"]]


def follower_lift_pd(
    posts: pd.DataFrame,
    links: pd.DataFrame,
    followers: pd.DataFrame,
    *,
    now: datetime,
    days: float = 3,
    max_gap: timedelta = timedelta(days=1),
) -> pd.DataFrame:
    """LIFT_SCHEMA columns for goal "followers": excess growth over the account's mean."""
    growth = post_follower_growth_pd(posts, followers, now=now, days=days, max_gap=max_gap)
    slot, month, day = _timing(posts)
    growth = growth.merge(
        pd.DataFrame({"post_id": posts["post_id"], "slot": slot, "month": month, "day": day}),
        on="post_id",
    )
    rows = _windowed(growth.dropna(subset=["growth"]), now, tuple(WINDOWS))
    rows = rows.rename(columns={"growth": "value"}).assign(goal=FOLLOWERS_GOAL)
    rows["baseline"] = rows.groupby(["account_id", "window"])["value"].transform("mean")
    rows["log_ratio"] = rows["value"] - rows["baseline"]
    return hashtag_lift_pd(rows, links)


def content_reach_pd(posts: pd.DataFrame, links: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """CONTENT_REACH_SCHEMA columns: mean reach / impressions with a t interval."""
    reach, impressions = _floats(posts, "reach"), _floats(posts, "impressions")
    known = reach.notna() & (impressions > 0)
    rows = posts[known][["post_id", "platform", "account_id", "posted_at"]].assign(
        ratio=(reach / impressions)[known]
    )
    table = _stats(
        _tag(_windowed(rows, now, tuple(WINDOWS)), links), ["window", "hashtag_id"], "ratio"
    )
    table["posts"], table["reach_ratio"] = table["n"], table["mean"]
    table["ci_low"], table["ci_high"] = _t_interval(table["mean"], table["var"], table["n"])
    return table[list(CONTENT_REACH_SCHEMA)]


# --- co-occurrence and sentiment -----------------------------------------------------------------


def cooccurrence_pd(
    posts: pd.DataFrame, links: pd.DataFrame, *, now: datetime, min_posts: int = 5
) -> pd.DataFrame:
    """COOCCURRENCE_SCHEMA columns: pair vs better single, found by anti-joins."""
    relative = relative_performance_pd(posts, now=now, goals=["engagement"], windows=["all"])
    rows = relative[["post_id", "platform", "account_id", "log_ratio"]]
    tagged = _tag(rows, links)
    unique_links = links[["post_id", "hashtag_id"]].dropna().drop_duplicates()
    per_post = unique_links.groupby("post_id")["hashtag_id"].transform("size")
    few = unique_links[per_post <= MAX_TAGS_FOR_PAIRS]
    pairs = tagged[tagged["post_id"].isin(few["post_id"])].merge(few, on="post_id")
    pairs = pairs[pairs["hashtag_id_x"] < pairs["hashtag_id_y"]].rename(
        columns={"hashtag_id_x": "hashtag_a", "hashtag_id_y": "hashtag_b"}
    )
    tables = []
    for level in _LEVELS:
        scoped_pairs, scoped_tags = _by_scope(pairs, level), _by_scope(tagged, level)
        stats = (
            scoped_pairs.groupby([*_SCOPE, "hashtag_a", "hashtag_b"])["log_ratio"]
            .agg(n="size", mean="mean", var="var")
            .reset_index()
        )
        stats = stats[stats["n"] >= min_posts]
        for side, other in (("a", "b"), ("b", "a")):
            stats = stats.merge(
                _only(stats, scoped_pairs, scoped_tags, side, other),
                on=[*_SCOPE, "hashtag_a", "hashtag_b"],
                how="left",
            )
        tables.append(stats)
    return _synergy_pd(pd.concat(tables, ignore_index=True))


def _only(
    stats: pd.DataFrame, pairs: pd.DataFrame, tagged: pd.DataFrame, side: str, other: str
) -> pd.DataFrame:
    """n, mean, var of the posts with tag ``side`` of each pair but not tag ``other``."""
    keys = [*_SCOPE, "hashtag_a", "hashtag_b"]
    candidates = stats[keys].merge(
        tagged.rename(columns={"hashtag_id": f"hashtag_{side}"}),
        on=[*_SCOPE, f"hashtag_{side}"],
    )
    both = pairs[[*keys, "post_id"]].assign(both=True)
    marked = candidates.merge(both, on=[*keys, "post_id"], how="left")
    alone = marked[marked["both"].isna()]
    result = alone.groupby(keys)["log_ratio"].agg(n="size", mean="mean", var="var").reset_index()
    return result.rename(columns={c: f"{side}_{c}" for c in ("n", "mean", "var")})


def _synergy_pd(table: pd.DataFrame) -> pd.DataFrame:
    """Better single, synergy and its Welch interval."""
    for side in ("a", "b"):
        table[f"{side}_n"] = table[f"{side}_n"].fillna(0).astype(np.int64)
    a_wins = table["b_mean"].isna() | (table["a_mean"] >= table["b_mean"])
    best_n = np.where(a_wins, table["a_n"], table["b_n"]).astype(np.float64)
    best_mean = np.where(a_wins, table["a_mean"], table["b_mean"])
    best_var = np.where(a_wins, table["a_var"], table["b_var"])
    v1 = (table["var"] / table["n"]).to_numpy()
    v2 = np.where(best_n >= 2, best_var / np.maximum(best_n, 1.0), np.nan)
    var = v1 + v2
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = var**2 / (v1**2 / (table["n"].to_numpy() - 1) + v2**2 / (best_n - 1))
    dof = np.where(
        var > 0, np.maximum(np.floor(sat + WELCH_DF_SLACK), 1.0), table["n"] + best_n - 2
    )
    dof = np.where(np.isnan(var), np.nan, dof)
    difference = table["mean"].to_numpy() - best_mean
    half = _t(pd.Series(dof)) * np.sqrt(var)
    both_null = table["a_mean"].isna() & table["b_mean"].isna()
    better = np.where(a_wins, table["hashtag_a"], table["hashtag_b"]).astype(np.float64)
    out = table[[*_SCOPE, "hashtag_a", "hashtag_b"]].copy()
    out["posts"], out["pair_mean_log"] = table["n"], table["mean"]
    out["pair_lift"] = np.exp(table["mean"]) - 1
    out["a_only_posts"], out["a_only_mean_log"] = table["a_n"], table["a_mean"]
    out["b_only_posts"], out["b_only_mean_log"] = table["b_n"], table["b_mean"]
    out["better_single"] = np.where(both_null, np.nan, better)
    out["synergy_log"] = difference
    out["synergy"] = np.exp(difference) - 1
    out["synergy_low"] = np.exp(difference - half) - 1
    out["synergy_high"] = np.exp(difference + half) - 1
    return out[list(COOCCURRENCE_SCHEMA)]


def hashtag_sentiment_pd(
    posts: pd.DataFrame,
    links: pd.DataFrame,
    *,
    now: datetime,
    windows: Sequence[str] = ("all",),
) -> pd.DataFrame:
    """SENTIMENT_SCHEMA columns: compound mean, label shares, Pearson r with Fisher interval."""
    relative = relative_performance_pd(posts, now=now, goals=["engagement"], windows=windows)
    scored = posts[["post_id", "sentiment"]].dropna()
    columns = ["post_id", *_SCOPE, "window", "log_ratio", "sentiment"]
    rows = relative.merge(scored, on="post_id")[columns]
    everything = _with_all_hashtags(rows, links)
    keys = [*_SCOPE, "window", "hashtag_id"]
    records = [
        {**dict(zip(keys, key, strict=True)), **_sentiment_figures(group)}
        for level in _LEVELS
        for key, group in _by_scope(everything, level).groupby(keys, sort=False)
    ]
    return pd.DataFrame(records, columns=list(SENTIMENT_SCHEMA))


def _sentiment_figures(group: pd.DataFrame) -> dict[str, float]:
    """Figures of one (scope, hashtag) group."""
    x = group["sentiment"].to_numpy(dtype=np.float64)
    y = group["log_ratio"].to_numpy(dtype=np.float64)
    n = len(x)
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float((dx * dx).sum()), float((dy * dy).sum())
    r = float(np.clip((dx * dy).sum() / np.sqrt(sxx * syy), -1, 1)) if sxx * syy > 0 else np.nan
    low = high = np.nan
    if n >= 4 and abs(r) < 1 - R_EXACT_SLACK:
        z, half = np.arctanh(r), Z975 / np.sqrt(n - 3)
        low, high = float(np.tanh(z - half)), float(np.tanh(z + half))
    return {
        "posts": n,
        "mean_compound": float(x.mean()),
        "positive_share": float((x >= 0.05).mean()),
        "neutral_share": float(((x > -0.05) & (x < 0.05)).mean()),
        "negative_share": float((x <= -0.05).mean()),
        "correlation": r,
        "corr_low": low,
        "corr_high": high,
    }


# --- recommendations -----------------------------------------------------------------------------


def recommend_pd(
    lift: pd.DataFrame,
    best_slots: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    platform: str,
    account_id: int,
    goal: str,
    window: str = "all",
    min_posts: int = 10,
    limit: int = 5,
    companions: int = 3,
) -> pd.DataFrame:
    """The use, worth-testing and avoid lists of one (scope, goal, window), one row per hashtag,
    from a lift table that carries the estimate (the production one: the rules are what is
    checked here, not the estimate).

    Columns: action ("use" / "test" / "avoid"), hashtag_id, posts, expected_lift / expected_low /
    expected_high (the score and its interval), lift, ci_low, ci_high, verdict, the rank-1 slot
    (slot_weekday, slot_hour, slot_lift, slot_posts; NaN without one) and companions (a tuple of
    partner ids, highest pair lift first). Rows are in list order: use, test (only when use is
    empty), avoid.
    """
    rows = lift[
        (lift["platform"] == platform)
        & (lift["account_id"] == account_id)
        & (lift["goal"] == goal)
        & (lift["window"] == window)
        & (lift["posts"] >= min_posts)
        & lift["score"].notna()
    ]
    if platform == "instagram":
        limit = min(limit, 5)
    use = rows[rows["verdict"] == "lifts"]
    use = use.sort_values(["score", "hashtag_id"], ascending=[False, True]).head(limit)
    test = rows[(rows["verdict"] == "unclear") & (rows["score"] > 0)] if use.empty else rows[:0]
    test = test.sort_values(["score", "hashtag_id"], ascending=[False, True]).head(limit)
    avoid = rows[rows["verdict"] == "underperforms"]
    avoid = avoid.sort_values(["score", "hashtag_id"], ascending=[True, True]).head(limit)
    chosen = pd.concat(
        [use.assign(action="use"), test.assign(action="test"), avoid.assign(action="avoid")]
    )
    out = pd.DataFrame(
        {
            "action": chosen["action"],
            "hashtag_id": chosen["hashtag_id"],
            "posts": chosen["posts"],
            "expected_lift": chosen["score"],
            "expected_low": chosen["score_low"],
            "expected_high": chosen["score_high"],
            "lift": chosen["lift"],
            "ci_low": chosen["ci_low"],
            "ci_high": chosen["ci_high"],
            "verdict": chosen["verdict"],
        }
    ).reset_index(drop=True)
    slot_rows = [_rank_one(best_slots, platform, account_id, window, h) for h in out["hashtag_id"]]
    for name in ("weekday", "hour", "lift", "posts"):
        out[f"slot_{name}"] = [np.nan if s is None else float(s[name]) for s in slot_rows]
    scoped = pairs[(pairs["platform"] == platform) & (pairs["account_id"] == account_id)]
    out["companions"] = [_partners(scoped, int(h), companions) for h in out["hashtag_id"]]
    return out


def _rank_one(
    best_slots: pd.DataFrame, platform: str, account_id: int, window: str, hashtag_id: int
) -> pd.Series | None:
    """The hashtag's rank-1 best slot in the scope and window, if any."""
    found = best_slots[
        (best_slots["platform"] == platform)
        & (best_slots["account_id"] == account_id)
        & (best_slots["hashtag_id"] == hashtag_id)
        & (best_slots["rank"] == 1)
    ]
    if "window" in found.columns:
        found = found[found["window"] == window]
    return None if found.empty else found.iloc[0]


def _partners(pairs: pd.DataFrame, hashtag_id: int, limit: int) -> tuple[int, ...]:
    """Partner ids of the hashtag's pairs, highest pair lift first (ties: lower id)."""
    with_a = pairs[pairs["hashtag_a"] == hashtag_id].assign(partner=lambda f: f["hashtag_b"])
    with_b = pairs[pairs["hashtag_b"] == hashtag_id].assign(partner=lambda f: f["hashtag_a"])
    both = pd.concat([with_a, with_b])
    both = both.sort_values(["pair_lift", "partner"], ascending=[False, True])
    return tuple(int(p) for p in both["partner"].head(limit))
