"""Measure 2: the full recompute against Postgres computing the same aggregates in SQL, the
polars compute step against the pandas reference on the same frames, and the peak RSS of a
recompute run in its own process.

The SQL baseline (`SQL_STATEMENTS`) covers, with the service's definitions (windows 7d, 30d,
90d, 365d and all ending at `now`; scopes account, platform and all platforms):

* hashtag_performance: posts, mean and median engagement, er_follower, er_reach, virality,
  reach and impressions means with their counts, per (scope, window, hashtag);
* hashtag_trend_cell and hashtag_daily: posts and engagement per (scope, hashtag incl. "all
  posts", local weekday x hour / local date, in each account's time zone);
* the baseline/lift core: each post's smoothed value for the four goals, the median of its
  account in each window, the capped log ratio, and n / mean / variance of the log ratio per
  (scope, window, goal, hashtag) with lift = exp(mean) - 1.

It leaves out what the service also computes: the t intervals, the empirical-Bayes shrinkage
and verdicts of the lift, the follower-growth lift, the slot lift and best slots, momentum,
content reach, co-occurrence and sentiment. The SQL writes its results into temporary tables;
the service writes its ten tables for real. The comparison therefore flatters SQL.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pandas as pd
import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy.ext.asyncio import create_async_engine
from tests.oracles.reference_insights import (
    NOT_CLOSED_FORM,
    NOT_CLOSED_FORM_SLOT,
    content_reach_pd,
    cooccurrence_pd,
    follower_lift_pd,
    hashtag_lift_pd,
    hashtag_momentum_pd,
    hashtag_sentiment_pd,
    relative_performance_pd,
    slot_lift_pd,
)
from tests.oracles.reference_pandas import (
    daily_series_pd,
    frame_from_pandas,
    frame_to_pandas,
    hashtag_performance_pd,
    trend_cells_pd,
)

from bench.services import plain
from hashtag_core.aggregates import repository as repo
from hashtag_core.aggregates.service import compute_frames
from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.followers import content_reach, follower_lift
from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.languages import hashtag_languages
from hashtag_core.analytics.lift import hashtag_lift
from hashtag_core.analytics.performance import hashtag_performance
from hashtag_core.analytics.sentiment import hashtag_sentiment
from hashtag_core.analytics.slots import best_slots, hashtag_momentum, slot_lift
from hashtag_core.analytics.trends import daily_series, trend_cells

__all__ = ["SQL_STATEMENTS", "measure_compute", "measure_process", "measure_sql"]

REL, ABS = 1e-9, 1e-12
_ENG = "(coalesce(p.likes, 0) + coalesce(p.comments, 0) + coalesce(p.shares, 0) "
_ENG += "+ coalesce(p.saves, 0))::float8"
_CAP = math.log(20.0)


def _windows(now: datetime) -> str:
    stamp = now.isoformat()
    rows = [
        f"('{name}', timestamptz '{stamp}' - interval '{days} days')"
        for name, days in (("7d", 7), ("30d", 30), ("90d", 90), ("365d", 365))
    ]
    return "w(win, start) AS (VALUES " + ", ".join(rows) + ", ('all', NULL::timestamptz))"


def _scopes(*keys: str) -> str:
    rest = ", ".join(keys)
    return f"GROUPING SETS ((platform, account_id, {rest}), (platform, {rest}), ({rest}))"


def sql_statements(now: datetime) -> dict[str, str]:
    """name -> CREATE TEMP TABLE statement of the SQL baseline."""
    stamp = f"timestamptz '{now.isoformat()}'"
    denominator = "CASE WHEN p.reach > 0 THEN p.reach ELSE p.impressions END"
    performance = f"""
CREATE TEMP TABLE sql_performance AS
WITH {_windows(now)},
pp AS (
  SELECT p.id, p.account_id, p.platform, p.posted_at, {_ENG} AS eng,
         CASE WHEN p.followers > 0 THEN {_ENG} / p.followers END AS er_f,
         CASE WHEN p.reach > 0 THEN {_ENG} / p.reach END AS er_r,
         CASE WHEN p.shares IS NOT NULL AND {denominator} > 0
              THEN p.shares::float8 / {denominator} END AS vir,
         p.reach::float8 AS reach, p.impressions::float8 AS impressions
  FROM post p WHERE p.posted_at <= {stamp}),
r AS (
  SELECT pp.*, w.win, ph.hashtag_id FROM pp
  JOIN w ON w.start IS NULL OR pp.posted_at >= w.start
  JOIN post_hashtag ph ON ph.post_id = pp.id)
SELECT coalesce(platform, '*') AS platform, coalesce(account_id, 0) AS account_id, win,
       hashtag_id, count(*) AS posts, avg(eng) AS avg_engagement,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY eng) AS median_engagement,
       avg(er_f) AS er_follower, count(er_f) AS er_follower_posts,
       avg(er_r) AS er_reach, count(er_r) AS er_reach_posts,
       avg(vir) AS virality, count(vir) AS virality_posts,
       avg(reach) AS avg_reach, count(reach) AS reach_posts,
       avg(impressions) AS avg_impressions, count(impressions) AS impressions_posts
FROM r GROUP BY {_scopes("win", "hashtag_id")}
"""
    local = f"""
CREATE TEMP TABLE sql_local AS
SELECT p.id, p.account_id, p.platform, {_ENG} AS eng,
       extract(isodow FROM p.posted_at AT TIME ZONE a.timezone)::int2 AS weekday,
       extract(hour FROM p.posted_at AT TIME ZONE a.timezone)::int2 AS hour,
       (p.posted_at AT TIME ZONE a.timezone)::date AS local_date
FROM post p JOIN account a ON a.id = p.account_id
"""
    tagged = """
  SELECT account_id, platform, 0::bigint AS hashtag_id, {keys}, eng FROM sql_local
  UNION ALL
  SELECT l.account_id, l.platform, ph.hashtag_id, {lkeys}, l.eng
  FROM sql_local l JOIN post_hashtag ph ON ph.post_id = l.id"""

    def sums(name: str, keys: list[str], mean: bool) -> str:
        joined = ", ".join(keys)
        lkeys = ", ".join(f"l.{k}" for k in keys)
        extra = ", avg(eng) AS avg_engagement" if mean else ""
        return f"""
CREATE TEMP TABLE {name} AS
WITH r AS ({tagged.format(keys=joined, lkeys=lkeys)})
SELECT coalesce(platform, '*') AS platform, coalesce(account_id, 0) AS account_id,
       hashtag_id, {joined}, count(*) AS posts, sum(eng) AS engagement_sum{extra}
FROM r GROUP BY {_scopes("hashtag_id", *keys)}
"""

    relative = f"""
CREATE TEMP TABLE sql_relative AS
WITH {_windows(now)},
v AS (
  SELECT p.id, p.account_id, p.platform, p.posted_at, g.goal, g.value
  FROM post p CROSS JOIN LATERAL (VALUES
    ('engagement', 1.0::float8 + {_ENG}),
    ('reach', 1.0::float8 + p.reach),
    ('virality', CASE WHEN p.shares IS NOT NULL AND {denominator} > 0
                      THEN (p.shares + 0.5::float8) / ({denominator} + 1.0::float8) END),
    ('er_follower', CASE WHEN p.followers > 0
                         THEN (1.0::float8 + {_ENG}) / p.followers END)
  ) AS g(goal, value)
  WHERE p.posted_at <= {stamp} AND g.value IS NOT NULL),
r AS (SELECT v.*, w.win FROM v JOIN w ON w.start IS NULL OR v.posted_at >= w.start),
b AS (
  SELECT account_id, win, goal, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS baseline
  FROM r GROUP BY account_id, win, goal)
SELECT r.id, r.account_id, r.platform, r.win, r.goal,
       greatest(-{_CAP}, least({_CAP}, ln(r.value / b.baseline))) AS log_ratio
FROM r JOIN b USING (account_id, win, goal)
"""
    lift = f"""
CREATE TEMP TABLE sql_lift AS
SELECT coalesce(platform, '*') AS platform, coalesce(account_id, 0) AS account_id, win, goal,
       hashtag_id, count(*) AS posts, avg(log_ratio) AS mean_log_ratio,
       var_samp(log_ratio) AS var_log_ratio, exp(avg(log_ratio)) - 1 AS lift
FROM sql_relative r JOIN post_hashtag ph ON ph.post_id = r.id
GROUP BY {_scopes("win", "goal", "hashtag_id")}
"""
    return {
        "performance": performance,
        "local_fields": local,
        "trend_cells": sums("sql_trend_cell", ["weekday", "hour"], mean=True),
        "daily": sums("sql_daily", ["local_date"], mean=False),
        "relative": relative,
        "lift": lift,
    }


SQL_STATEMENTS = sql_statements  # documented name


async def _sql(url: str, now: datetime) -> dict[str, Any]:
    conn = await asyncpg.connect(plain(url))
    steps: dict[str, float] = {}
    rows: dict[str, int] = {}
    try:
        async with conn.transaction():
            started = time.perf_counter()
            for name, statement in sql_statements(now).items():
                t0 = time.perf_counter()
                status = await conn.execute(statement)
                steps[name] = time.perf_counter() - t0
                rows[name] = int(status.split()[-1])
            total = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await conn.close()
    return {"seconds": total, "steps_s": steps, "rows": rows}


class _Rollback(Exception):
    """Leaves the baseline's temporary tables behind a rolled-back transaction."""


def measure_sql(url: str, now: datetime) -> dict[str, Any]:
    """Time the SQL baseline on the database at `url`."""
    return asyncio.run(_sql(url, now))


def measure_process(url: str, profile: Path | None = None) -> dict[str, Any]:
    """A forced full recompute in a child process: wall time and the child's peak RSS."""
    command = [sys.executable, "-m", "bench.recompute_child", "--database-url", url]
    if profile is not None:
        command += ["--profile", str(profile)]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    if done.returncode != 0:
        raise RuntimeError(f"recompute child failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def _frames(url: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, float]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            started = time.perf_counter()
            posts = await repo.load_posts(conn)
            links = await repo.load_links(conn)
            followers = await repo.load_followers(conn)
            elapsed = time.perf_counter() - started
            await conn.rollback()
    finally:
        await engine.dispose()
    return posts, links, followers, elapsed


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


#: Slots and sentiment per window, as the recompute stores them.
_WINDOWS = tuple(WINDOWS)


def _polars_plans(
    posts: pl.DataFrame, links: pl.DataFrame, followers: pl.DataFrame, now: datetime
) -> dict[str, Callable[[], pl.DataFrame]]:
    lp, ll, lf = posts.select(list(POSTS_SCHEMA)).lazy(), links.lazy(), followers.lazy()
    return {
        "hashtag_performance": lambda: hashtag_performance(lp, ll, now=now).collect(),
        "hashtag_trend_cell": lambda: trend_cells(lp, ll).collect(),
        "hashtag_daily": lambda: daily_series(lp, ll).collect(),
        "hashtag_lift": lambda: pl.concat(
            [
                hashtag_lift(relative_performance(lp, now=now), ll),
                follower_lift(lp, ll, lf, now=now),
            ]
        ).collect(),
        "hashtag_slot": lambda: slot_lift(lp, ll, now=now, windows=_WINDOWS).collect(),
        "hashtag_best_slot": lambda: best_slots(
            slot_lift(lp, ll, now=now, windows=_WINDOWS)
        ).collect(),
        "hashtag_momentum": lambda: hashtag_momentum(lp, ll, now=now).collect(),
        "hashtag_content_reach": lambda: content_reach(lp, ll, now=now).collect(),
        "hashtag_pair": lambda: cooccurrence(lp, ll, now=now).collect(),
        "hashtag_sentiment": lambda: hashtag_sentiment(
            posts.lazy(), ll, now=now, windows=_WINDOWS
        ).collect(),
        "hashtag_language": lambda: hashtag_languages(
            posts.lazy(), ll, now=now, windows=_WINDOWS
        ).collect(),
    }


def _pandas_plans(
    posts: pd.DataFrame,
    base: pd.DataFrame,
    links: pd.DataFrame,
    followers: pd.DataFrame,
    now: datetime,
) -> dict[str, Callable[[], pd.DataFrame]]:
    def lift() -> pd.DataFrame:
        relative = relative_performance_pd(base, now=now)
        return pd.concat(
            [
                hashtag_lift_pd(relative, links),
                follower_lift_pd(base, links, followers, now=now),
            ],
            ignore_index=True,
        )

    return {
        "hashtag_performance": lambda: hashtag_performance_pd(base, links, now=now),
        "hashtag_trend_cell": lambda: trend_cells_pd(base, links),
        "hashtag_daily": lambda: daily_series_pd(base, links),
        "hashtag_lift": lift,
        "hashtag_slot": lambda: slot_lift_pd(base, links, now=now, windows=_WINDOWS),
        # hashtag_best_slot has no pandas version: it ranks the slot estimate (not closed-form).
        "hashtag_momentum": lambda: hashtag_momentum_pd(base, links, now=now),
        "hashtag_content_reach": lambda: content_reach_pd(base, links, now=now),
        "hashtag_pair": lambda: cooccurrence_pd(base, links, now=now),
        "hashtag_sentiment": lambda: hashtag_sentiment_pd(posts, links, now=now, windows=_WINDOWS),
    }


def _same(got: pl.DataFrame, expected: pd.DataFrame, schema: pl.Schema) -> dict[str, Any] | None:
    """None when the frames agree to 1e-9 relative, else what differs: a description and the
    figures of the difference (rows per side, rows on one side only, float cells null on one
    side only, the largest absolute gap)."""
    theirs = frame_from_pandas(expected, schema)
    # The hashtag and slot estimates are not closed-form: the references leave them out.
    skip = [c for c in (*NOT_CLOSED_FORM, *NOT_CLOSED_FORM_SLOT) if c in schema]
    got, theirs = got.drop(skip), theirs.drop(skip)
    keys = [name for name, dtype in theirs.schema.items() if not dtype.is_float()]
    try:
        assert_frame_equal(
            got.sort(keys, nulls_last=True),
            theirs.sort(keys, nulls_last=True),
            rel_tol=REL,
            abs_tol=ABS,
        )
    except AssertionError as error:
        gap = _gap(got, theirs, keys)
        return {"text": f"{str(error).splitlines()[0][:200]}; {gap['text']}", **gap}
    return None


def _gap(ours: pl.DataFrame, theirs: pl.DataFrame, keys: list[str]) -> dict[str, Any]:
    """Rows on each side and the largest absolute gap per float column after a key join."""
    joined = ours.join(theirs, on=keys, how="full", suffix="_pd", nulls_equal=True)
    gaps, largest, nulls_total, material = [], 0.0, 0, 0
    for name, dtype in ours.schema.items():
        if dtype.is_float():
            a, b = joined[name], joined[f"{name}_pd"]
            gap = (a - b).abs().max()
            nulls = int((a.is_null() != b.is_null()).sum())
            largest = max(largest, float(gap) if isinstance(gap, int | float) else 0.0)
            nulls_total += nulls
            # More than rounding: beyond 1e-6 relative, and beyond 1e-9 absolute (near-zero
            # variances differ in their last bits between the two formulas).
            x, y = pl.col("a"), pl.col("b")
            off = (x - y).abs() > pl.max_horizontal(x.abs(), y.abs()) * 1e-6 + 1e-9
            material += int(pl.DataFrame({"a": a, "b": b}).select(off.sum()).item())
            gaps.append(f"{name}: max gap {gap}, null mismatches {nulls}")
    unmatched = joined.height - ours.join(theirs, on=keys, how="inner", nulls_equal=True).height
    return {
        "text": f"rows {ours.height} vs {theirs.height}; " + "; ".join(gaps),
        "rows": [ours.height, theirs.height],
        "unmatched_rows": unmatched,
        "null_mismatches": nulls_total,
        "max_abs_gap": largest,
        "material_cells": material,
    }


#: pandas references left out above this many posts (hashtag_pair's pandas anti-joins took
#: 199 s at 100k posts and grow faster than linearly; the polars side is timed regardless).
PANDAS_SKIP_ABOVE = {"hashtag_pair": 100_000}


def measure_compute(url: str, now: datetime, *, pandas: bool = True) -> dict[str, Any]:
    """Load the frames once, then time compute_frames (polars) and the pandas references."""
    posts, links, followers, load_s = asyncio.run(_frames(url))
    frames, polars_s = _timed(lambda: compute_frames(posts, links, now=now, followers=followers))
    result: dict[str, Any] = {
        "load_s": load_s,
        "frame_rows": {"posts": posts.height, "links": links.height, "followers": followers.height},
        "polars_s": polars_s,
        "output_rows": {name: frame.height for name, frame in frames.items()},
    }
    per_table: dict[str, dict[str, Any]] = {}
    for name, plan in _polars_plans(posts, links, followers, now).items():
        _out, seconds = _timed(plan)
        per_table[name] = {"polars_s": seconds}
    result["per_table"] = per_table
    if not pandas:
        return result
    pd_posts = frame_to_pandas(posts)
    pd_base = frame_to_pandas(posts.select(list(POSTS_SCHEMA)))
    pd_links, pd_followers = frame_to_pandas(links), frame_to_pandas(followers)
    total, mismatches, skipped = 0.0, {}, []
    for name, plan in _pandas_plans(pd_posts, pd_base, pd_links, pd_followers, now).items():
        if posts.height > PANDAS_SKIP_ABOVE.get(name, posts.height):
            skipped.append(name)
            continue
        expected, seconds = _timed(plan)
        total += seconds
        per_table[name]["pandas_s"] = seconds
        problem = _same(frames[name], expected, repo.AGGREGATE_TABLES[name])
        per_table[name]["identical"] = problem is None
        if problem:
            mismatches[name] = problem["text"]
            per_table[name]["difference"] = {k: v for k, v in problem.items() if k != "text"}
    result["pandas_s"] = total
    result["pandas_skipped"] = skipped
    if skipped:  # compare like with like: the polars times of the same tables, one by one
        same = sum(t["polars_s"] for name, t in per_table.items() if name not in skipped)
        result["speedup"], result["speedup_basis"] = total / same, "tables compared, one by one"
    else:
        result["speedup"], result["speedup_basis"] = total / polars_s, "compute_frames"
    result["identical"] = not mismatches
    result["mismatches"] = mismatches
    return result


def utc_now() -> datetime:
    """`now` for one size's recompute measures (all of them use the same instant)."""
    return datetime.now(UTC)
