"""The full recompute in slices: each aggregate table one window at a time (the lift one window
and goal at a time), so the worker holds one slice of the results, never every table at once.
The slots of a window come in its engagement lift's slice: both rest on one regression.

Slicing changes no figure: every group a table aggregates over lies within one window, and
within one goal for the lift, including the (scope, window, goal) groups that share an
empirical-Bayes prior and the (scope, window, hashtag) groups the best slots are ranked in.
The slices of a table concatenated are the table `service.compute_frames` computes whole
(tests/core/test_slices.py). At a million posts the tables alone take ~2 GB and the joins
behind them several times that; the largest slice (all time, one goal) a few hundred MB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from hashtag_core.aggregates.incremental import baselines_of
from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.effects import PRIOR_SCHEMA, joint_fit
from hashtag_core.analytics.followers import content_reach, follower_relative
from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.insight_frames import GOALS
from hashtag_core.analytics.languages import hashtag_languages
from hashtag_core.analytics.lift import hashtag_lift_and_priors
from hashtag_core.analytics.performance import hashtag_performance
from hashtag_core.analytics.sentiment import hashtag_sentiment
from hashtag_core.analytics.slots import SLOT_GOAL, best_slots, hashtag_momentum, slot_lift
from hashtag_core.analytics.trends import daily_series, trend_cells

__all__ = ["Slice", "collect_slice", "slices"]

#: Frames a slice may carry besides aggregate tables: the baselines and prior the
#: incremental passes reuse (small: one row per account or scope, window and goal).
FROZEN = ("account_baseline", "lift_prior")


#: Computes a frame from a slice's collected frames.
Derive = Callable[[dict[str, pl.DataFrame]], pl.DataFrame]


@dataclass(frozen=True)
class Slice:
    """Plans for one slice: table -> plan, plus frames derived from the collected ones."""

    label: str
    plans: dict[str, pl.LazyFrame]
    derived: dict[str, Derive] = field(default_factory=dict)


def collect_slice(piece: Slice) -> dict[str, pl.DataFrame]:
    """Every frame of the slice (CPU-bound: run it in a thread)."""
    frames = dict(zip(piece.plans, pl.collect_all(list(piece.plans.values())), strict=True))
    for name, derive in piece.derived.items():
        frames[name] = derive(frames)
    return frames


def _best_slots(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return best_slots(frames["hashtag_slot"].lazy()).collect()


def _held(priors: pl.DataFrame) -> Derive:
    """The priors the slice's lift was estimated with (fitted with it: `effect_rows`), in
    PRIOR_SCHEMA's columns."""
    kept = priors.select(PRIOR_SCHEMA.names())
    return lambda _frames: kept


def slices(
    posts: pl.DataFrame,
    links: pl.DataFrame,
    followers: pl.DataFrame,
    *,
    now: datetime,
) -> Iterator[Slice]:
    """The slices of a full recompute, in table order (AGGREGATE_TABLES); each slice's frames
    go to the tables they are named after, plus FROZEN frames to be concatenated."""
    lposts, llinks = posts.select(list(POSTS_SCHEMA)).lazy(), links.lazy()
    lfollowers = followers.lazy()
    for window in WINDOWS:
        plan = hashtag_performance(lposts, llinks, now=now, windows=(window,))
        yield Slice(f"performance {window}", {"hashtag_performance": plan})
    yield Slice("trend cells", {"hashtag_trend_cell": trend_cells(lposts, llinks)})
    yield Slice("daily", {"hashtag_daily": daily_series(lposts, llinks)})
    for window in WINDOWS:
        for goal in GOALS:
            relative = relative_performance(lposts, now=now, goals=(goal,), windows=(window,))
            plans = {"account_baseline": baselines_of(relative)}
            derived: dict[str, Derive] = {}
            if goal == SLOT_GOAL:
                # The slots rest on the same regression as this goal's lift (the engagement
                # log-ratios on hashtags, slot and month): fitted once for both.
                fit = joint_fit(relative, llinks, cells=True)
                lift, priors = hashtag_lift_and_priors(relative, llinks, fit=fit.tags)
                plans["hashtag_slot"] = slot_lift(
                    lposts, llinks, now=now, windows=(window,), fitted_cells=fit.cells
                )
                derived["hashtag_best_slot"] = _best_slots
            else:
                lift, priors = hashtag_lift_and_priors(relative, llinks)
            plans["hashtag_lift"] = lift.lazy()
            derived["lift_prior"] = _held(priors)
            yield Slice(f"lift {window} {goal}", plans, derived)
    # Follower growth: the snapshot lookups of every post once, for every window; then one
    # slice per window (at a million posts, all windows in one slice peaked ~300 MB higher).
    growth = follower_relative(lposts, lfollowers, now=now).collect()
    for window in WINDOWS:
        relative = growth.lazy().filter(pl.col("window") == window)
        lift, priors = hashtag_lift_and_priors(relative, llinks)
        plans = {"hashtag_lift": lift.lazy()}
        yield Slice(f"lift followers {window}", plans, {"lift_prior": _held(priors)})
    del growth
    yield Slice("momentum", {"hashtag_momentum": hashtag_momentum(lposts, llinks, now=now)})
    for window in WINDOWS:
        plan = content_reach(lposts, llinks, now=now, windows=(window,))
        yield Slice(f"content reach {window}", {"hashtag_content_reach": plan})
    yield Slice("pairs", {"hashtag_pair": cooccurrence(lposts, llinks, now=now)})
    if "sentiment" in posts.columns:
        lsentiment = posts.lazy()
        for window in WINDOWS:
            plan = hashtag_sentiment(lsentiment, llinks, now=now, windows=(window,))
            yield Slice(f"sentiment {window}", {"hashtag_sentiment": plan})
    if "language" in posts.columns and "sentiment" in posts.columns:
        plan = hashtag_languages(posts.lazy(), llinks, now=now, windows=tuple(WINDOWS))
        yield Slice("languages", {"hashtag_language": plan})
