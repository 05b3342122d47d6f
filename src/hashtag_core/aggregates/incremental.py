"""The per-hashtag figures of a few hashtags, from their posts alone (pure polars).

A full recompute reads every post; the incremental pass reads only the posts of the hashtags
an update touched, and recomputes those hashtags' rows of the tables in `INCREMENTAL_TABLES`.
Everything a hashtag's rows depend on beyond its own posts is frozen at the last full
recompute and passed in:

- the window anchor `now` (the full recompute's time), so every row shares the same windows;
- the account baselines (median goal value per account, window and goal), `BASELINE_SCHEMA`;
- the hashtag estimate's prior per (scope, window, goal): the pooled residual variance, the
  mixture weights and the list's q-value curve, `PRIOR_SCHEMA` (`analytics.effects`);
- per lift row, the joint fit's companion-and-timing offset and residual spread
  (``offset_sum``, ``resid_m2``): a changed post moves its hashtags' own estimates, not the
  fitted effects of their companions, slots and months; and the variance its own is
  moderated towards (``prior_var``: its accounts' pooled variances, weighted by its posts).

With those held equal, the rows are the ones a full recompute would write, but for the
q-value, which is read off the stored curve (see tests/core/test_incremental.py). Rows for
ALL_HASHTAGS and the follower-growth lift depend on
other posts or on follower snapshots and wait for the full recompute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from hashtag_core.analytics.baseline import LOG_RATIO_CAP, goal_value, window_rows
from hashtag_core.analytics.effects import PRIOR_SCHEMA, effect_rows, priors_of
from hashtag_core.analytics.engagement import conform, tagged_posts
from hashtag_core.analytics.frames import (
    ALL_ACCOUNTS,
    ALL_HASHTAGS,
    ALL_PLATFORMS,
    POSTS_SCHEMA,
    WINDOWS,
)
from hashtag_core.analytics.insight_frames import GOAL_DTYPE, GOALS, LIFT_SCHEMA, WINDOW_DTYPE
from hashtag_core.analytics.lift import account_platforms_of, raw_figures
from hashtag_core.analytics.performance import hashtag_performance, window_bounds
from hashtag_core.analytics.stats import by_scope, merged, moments, roll_up_moments
from hashtag_core.analytics.trends import daily_series, trend_cells

__all__ = [
    "BASELINE_SCHEMA",
    "FROZEN_LIFT",
    "INCREMENTAL_TABLES",
    "PRIOR_SCHEMA",
    "baselines_of",
    "incremental_frames",
    "lift_rows",
    "priors_of",
    "restrict_to",
    "touched_keys",
    "windows_of",
]

#: Aggregate tables whose rows of the affected hashtags an incremental pass rewrites
#: (hashtag_lift: the goals in GOALS; the follower-growth rows wait for the full recompute).
INCREMENTAL_TABLES = ("hashtag_performance", "hashtag_lift", "hashtag_trend_cell", "hashtag_daily")

BASELINE_SCHEMA = pl.Schema(
    {"account_id": pl.Int64, "window": pl.String, "goal": pl.String, "baseline": pl.Float64}
)
_GROUP = ["platform", "account_id", "window", "goal"]
#: Key of a lift row, and the stored columns an incremental pass holds fixed in it.
LIFT_ROW = ["platform", "account_id", "window", "goal", "hashtag_id"]
FROZEN_LIFT = [*LIFT_ROW, "offset_sum", "resid_m2", "prior_var"]
_KEYS = ["window", "goal", "hashtag_id"]


def baselines_of(relative: pl.LazyFrame) -> pl.LazyFrame:
    """The account baselines a relative-performance frame used (BASELINE_SCHEMA)."""
    return (
        relative.group_by(["account_id", "window", "goal"])
        .agg(pl.col("baseline").first())
        .with_columns(pl.col("window", "goal").cast(pl.String))
        .pipe(conform, BASELINE_SCHEMA)
    )


def incremental_frames(
    posts: pl.DataFrame,
    links: pl.DataFrame,
    hashtags: Sequence[int],
    *,
    now: datetime,
    baselines: pl.DataFrame,
    priors: pl.DataFrame,
    frozen: pl.DataFrame | None = None,
    touched: pl.DataFrame | None = None,
    tables: Sequence[str] = INCREMENTAL_TABLES,
) -> dict[str, pl.DataFrame]:
    """The rows of `hashtags` in every table of `tables` (of INCREMENTAL_TABLES).

    `posts` must hold every post linked to one of `hashtags` (other posts do no harm);
    `links` their links (links to other hashtags are ignored).

    With `touched` (POSTS_SCHEMA rows of the updated posts), each table is computed only from
    the posts its rows of `touched_keys(touched, now)` rest on: the windows holding an updated
    post, and for the trend cells and daily series, the posts of an updated post's weekday x
    hour cell or local date. The rows of those keys are the same as without `touched`; other
    rows may be missing or rest on a part of their posts, so pass the result to `restrict_to`.

    `frozen` holds the stored lift rows' ``offset_sum``, ``resid_m2`` and ``prior_var``
    (`FROZEN_LIFT`); a row without one (a hashtag new to its scope and window) has no offset,
    its raw spread and the prior variance of the account rows at hand.
    """
    mine = links.filter(pl.col("hashtag_id").is_in(list(hashtags)))
    llinks = mine.lazy()
    lposts = posts.lazy().select(list(POSTS_SCHEMA)).join(llinks, on="post_id", how="semi")
    if touched is None or {"hashtag_performance", "hashtag_lift"} & set(tables):
        # Narrowed once, eagerly: the plans below start from these posts, not from all of
        # `posts` (which may be a cache of many hashtags' posts).
        lposts = lposts.collect().lazy()
    windows: tuple[str, ...] = tuple(WINDOWS)
    cell_posts, day_posts = lposts, lposts
    cell_links, day_links = llinks, llinks
    if touched is not None:
        windows = windows_of(touched, now)
        cells, days = ["local_weekday", "local_hour"], ["local_date"]
        # The cell (day) first: a few posts of all, then those of the hashtags (eagerly, as
        # each is used twice).
        cell_posts, cell_links = _within(posts, mine, touched, cells)
        day_posts, day_links = _within(posts, mine, touched, days)
    real = pl.col("hashtag_id") != ALL_HASHTAGS
    plans = {
        "hashtag_performance": hashtag_performance(lposts, llinks, now=now, windows=windows),
        "hashtag_lift": _lift(
            lposts,
            llinks,
            now=now,
            baselines=baselines,
            priors=priors,
            frozen=frozen,
            windows=windows,
        )
        if "hashtag_lift" in tables
        else pl.LazyFrame(),
        "hashtag_trend_cell": trend_cells(cell_posts, cell_links).filter(real),
        "hashtag_daily": daily_series(day_posts, day_links).filter(real),
    }
    chosen = {table: plan for table, plan in plans.items() if table in tables}
    frames = pl.collect_all(list(chosen.values()))
    return dict(zip(chosen, frames, strict=True))


def _within(
    posts: pl.DataFrame, links: pl.DataFrame, touched: pl.DataFrame, columns: list[str]
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The posts of `links` that share the values of `columns` with a post of `touched`, and
    their links."""
    some = posts.select(list(POSTS_SCHEMA)).join(touched.select(columns), on=columns, how="semi")
    some_links = links.join(some, on="post_id", how="semi")
    return some.join(some_links, on="post_id", how="semi").lazy(), some_links.lazy()


def windows_of(posts: pl.DataFrame, now: datetime) -> tuple[str, ...]:
    """The windows (ending at `now`, in WINDOWS order) that hold at least one of `posts`."""
    posted_at = posts["posted_at"]
    held = []
    for name, (start, end) in window_bounds(now).items():
        inside = posted_at <= end
        if start is not None:
            inside &= posted_at >= start
        if inside.any():
            held.append(name)
    return tuple(held)


#: Per table, the key columns besides hashtag_id that say which rows one post can change.
_TOUCH_KEYS = {
    "hashtag_performance": ["platform", "account_id", "window"],
    "hashtag_lift": ["platform", "account_id", "window"],
    "hashtag_trend_cell": ["platform", "account_id", "weekday", "hour"],
    "hashtag_daily": ["platform", "account_id", "local_date"],
}


def touched_keys(dirty: pl.DataFrame, now: datetime) -> dict[str, pl.DataFrame]:
    """Per table of INCREMENTAL_TABLES, the keys (besides hashtag_id) of the rows that
    updating the posts in `dirty` (POSTS_SCHEMA rows) can change.

    A post counts in three scopes (its account, its platform, every platform). Its account,
    platform and posting time never change in an update (only its counters and text do), and
    the windows are anchored at the last full recompute (`now`), so the other rows of its
    hashtags are the same before and after: per scope, the windows of hashtag_performance and
    hashtag_lift that hold the post, the post's local weekday x hour cell of
    hashtag_trend_cell, and its local date of hashtag_daily.
    """
    bounds = window_bounds(now)
    starts = pl.DataFrame(
        {"window": list(bounds), "window_start": [start for start, _end in bounds.values()]},
        schema={"window": pl.String, "window_start": pl.Datetime("us", "UTC")},
    )
    start, posted_at = pl.col("window_start"), pl.col("posted_at")
    # A post after `now` is in no window but still in its cell and day.
    windows = (
        dirty.select("platform", "account_id", "posted_at")
        .join(starts, how="cross")
        .filter(posted_at <= bounds["all"][1], start.is_null() | (posted_at >= start))
    )
    cells = dirty.select(
        "platform",
        "account_id",
        pl.col("local_weekday").cast(pl.Int16).alias("weekday"),
        pl.col("local_hour").cast(pl.Int16).alias("hour"),
        "local_date",
    )

    def scopes(frame: pl.DataFrame) -> pl.DataFrame:
        return pl.concat(
            [
                frame,
                frame.with_columns(account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)),
                frame.with_columns(
                    platform=pl.lit(ALL_PLATFORMS, pl.String),
                    account_id=pl.lit(ALL_ACCOUNTS, pl.Int64),
                ),
            ]
        )

    by_window, by_cell = scopes(windows), scopes(cells)
    keys = {}
    for table, columns in _TOUCH_KEYS.items():
        rows = by_window if "window" in columns else by_cell
        keys[table] = rows.select(columns).unique().sort(columns)
    return keys


def restrict_to(
    frames: dict[str, pl.DataFrame], keys: dict[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """The rows of `frames` whose keys are in `keys` (see `touched_keys`)."""
    out = {}
    for table, frame in frames.items():
        wanted = keys[table]
        cast = {c: frame.schema[c] for c in wanted.columns}
        out[table] = frame.join(wanted.cast(cast), on=wanted.columns, how="semi")  # type: ignore[arg-type]
    return out


def _lift(
    posts: pl.LazyFrame,
    links: pl.LazyFrame,
    *,
    now: datetime,
    baselines: pl.DataFrame,
    priors: pl.DataFrame,
    frozen: pl.DataFrame | None,
    windows: Sequence[str],
) -> pl.LazyFrame:
    """`lift.hashtag_lift` for GOALS and `windows` with the stored baselines, prior and
    per-row offsets."""
    ids = ["post_id", "platform", "account_id"]
    held = baselines.lazy().with_columns(
        pl.col("window").cast(WINDOW_DTYPE), pl.col("goal").cast(GOAL_DTYPE)
    )
    # Posts are joined to their hashtags before the unpivot to one row per goal (the full
    # recompute joins after it): here the posts are already the hashtags' own, so this joins
    # a quarter of the rows.
    per_post = posts.select(*ids, "posted_at", *(goal_value(g).alias(g) for g in GOALS))
    tagged = (
        tagged_posts(per_post, links, ["account_id", "posted_at", *GOALS])
        .pipe(window_rows, now=now, windows=windows)
        .unpivot(on=list(GOALS), index=["hashtag_id", "account_id", "window"], variable_name="goal")
        .drop_nulls("value")
        .with_columns(pl.col("goal").cast(GOAL_DTYPE))
        .join(held, on=["account_id", "window", "goal"], how="inner")
        .with_columns(
            log_ratio=(pl.col("value") / pl.col("baseline"))
            .log()
            .clip(-LOG_RATIO_CAP, LOG_RATIO_CAP)
        )
    )
    accounts = tagged.group_by(["account_id", *_KEYS]).agg(moments(pl.col("log_ratio")))
    levels = by_scope(accounts, account_platforms_of(per_post), _KEYS, roll_up_moments(), merged())
    return lift_rows(levels.with_columns(pl.col("window", "goal").cast(pl.String)), priors, frozen)


def lift_rows(
    levels: pl.LazyFrame, priors: pl.DataFrame, frozen: pl.DataFrame | None
) -> pl.LazyFrame:
    """LIFT_SCHEMA rows from per-(scope, window, goal, hashtag) moments `n`, `mean`, `m2`
    (window and goal as strings), the stored prior and the stored rows' `FROZEN_LIFT` columns
    (computed eagerly: the estimate's posterior is numpy)."""
    raw = levels.pipe(raw_figures).collect()
    if frozen is None or frozen.height == 0:
        raw = raw.with_columns(
            offset_sum=pl.lit(None, pl.Float64),
            resid_m2=pl.lit(None, pl.Float64),
            prior_var=pl.lit(None, pl.Float64),
        )
    else:
        raw = raw.join(frozen.select(FROZEN_LIFT), on=LIFT_ROW, how="left")
    rows, _priors = effect_rows(raw, priors)
    return conform(rows.lazy(), LIFT_SCHEMA)
