"""The hashtag report on real data: the rOpenSci export and the Pfizer tweets go through the
import path and the recompute, and every figure of every row of GET /reports/hashtags (JSON and
CSV, several windows) equals the plain pandas computation of reference_pandas /
reference_insights on the same records (t and normal quantiles from scipy), to 1e-9 relative.

The exports lack some counters (docs/datasets.md): rOpenSci has impressions and shares but no
followers, Pfizer has followers but no impressions, and neither has reach. The columns resting
on a missing counter must then be empty, which the reference gives too; together the two
datasets fill every goal's lift and score except reach (and content reach), which no export here
can fill.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats  # type: ignore[import-untyped]

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates.service import recompute
from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS, POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.performance import window_bounds
from hashtag_core.db import create_sessionmaker
from hashtag_core.hashtags.repository import FIGURE_COLUMNS
from hashtag_core.ingest.mappings import iter_mapped_records
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.posts.service import import_rows
from tests.analytics.dataset_frames import (
    DATASETS,
    follower_snapshots,
    load_keyed,
    ropensci_paths,
)
from tests.oracles import reference_insights
from tests.oracles.reference_insights import (
    best_slots_pd,
    content_reach_pd,
    follower_lift_pd,
    hashtag_lift_pd,
    hashtag_momentum_pd,
    hashtag_sentiment_pd,
    relative_performance_pd,
    slot_lift_pd,
)
from tests.oracles.reference_pandas import frame_to_pandas, hashtag_performance_pd

pytestmark = [
    pytest.mark.datasets,
    pytest.mark.e2e,
    pytest.mark.skipif(not DATASETS.is_dir(), reason=f"dataset folder {DATASETS} is absent"),
]
REL, ABS = 1e-9, 1e-12
PFIZER = DATASETS / "pfizer-vaccine-tweets" / "vaccination_tweets.csv"
#: report prefix of each goal's lift columns, as in insights.repository
_PREFIX = {
    "engagement": "engagement_lift",
    "reach": "reach_lift",
    "virality": "virality_lift",
    "er_follower": "er_follower_lift",
    "followers": "followers_growth",
}


@pytest.fixture(autouse=True)
def independent_quantiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference takes its t and normal quantiles from scipy, not from `analytics.stats`."""
    monkeypatch.setattr(reference_insights, "t975_of", lambda df: stats.t.ppf(0.975, df))
    monkeypatch.setattr(reference_insights, "Z975", float(stats.norm.ppf(0.975)))


@pytest.fixture
def client(real_client):
    """Every test here runs on the app's real session dependencies, on committed data."""
    return real_client


async def _import(engine: Any, arq_redis: Any, paths: list[Path], mapping: str) -> int:
    def rows() -> Any:
        n = 0
        for path in paths:
            for mapped in iter_mapped_records(path, mapping):
                if mapped.record is not None:
                    n += 1
                    yield RawRow(n, dict(mapped.record))

    async with create_sessionmaker(engine)() as session:
        result = await import_rows(
            session, rows(), queue=ArqJobQueue(arq_redis), batch_rows=5000, max_errors=50
        )
    assert result.rejected == 0
    return result.inserted


def _scope(frame: pd.DataFrame, window: str | None = None) -> pd.DataFrame:
    """The rows of the all-posts scope (and of one window)."""
    rows = frame[(frame["platform"] == ALL_PLATFORMS) & (frame["account_id"] == ALL_ACCOUNTS)]
    return rows if window is None else rows[rows["window"] == window]


class Reference:
    """Every report figure of the all-posts scope, computed with the pandas references."""

    def __init__(self, posts: Any, links: Any, now: datetime) -> None:
        base = frame_to_pandas(posts.select(list(POSTS_SCHEMA)))
        scored, plinks = frame_to_pandas(posts), frame_to_pandas(links)
        snapshots = frame_to_pandas(follower_snapshots(posts))
        windows = tuple(WINDOWS)
        self.performance = _scope(hashtag_performance_pd(base, plinks, now=now))
        lift = hashtag_lift_pd(relative_performance_pd(base, now=now), plinks)
        growth = follower_lift_pd(base, plinks, snapshots, now=now)
        self.lift = _scope(pd.concat([lift, growth], ignore_index=True))
        self.reach = _scope(content_reach_pd(base, plinks, now=now))
        self.sentiment = _scope(hashtag_sentiment_pd(scored, plinks, now=now, windows=windows))
        self.momentum = _scope(hashtag_momentum_pd(base, plinks, now=now))
        slots = best_slots_pd(slot_lift_pd(base, plinks, now=now, windows=windows))
        self.best = _scope(slots[slots["rank"] == 1])
        self.now, self.scored, self.links = now, scored, plinks

    def rows(self, window: str) -> dict[int, dict[str, Any]]:
        """hashtag id -> the report's columns (NaN where the report has null)."""
        out: dict[int, dict[str, Any]] = {}
        for row in _scope(self.performance, window).to_dict("records"):
            figures = {name: row[column] for name, column in FIGURE_COLUMNS.items()}
            out[int(row["hashtag_id"])] = figures
        for goal, prefix in _PREFIX.items():
            found = self.lift[(self.lift["goal"] == goal) & (self.lift["window"] == window)]
            self._add(out, found, {
                "lift": prefix, "ci_low": f"{prefix}_ci_low", "ci_high": f"{prefix}_ci_high",
                "posts": f"{prefix}_posts", "verdict": f"{goal}_verdict",
                "score": f"{goal}_score", "score_low": f"{goal}_score_ci_low",
                "score_high": f"{goal}_score_ci_high",
            })  # fmt: skip
        self._add(out, _scope(self.reach, window), {
            "reach_ratio": "content_reach", "ci_low": "content_reach_ci_low",
            "ci_high": "content_reach_ci_high", "posts": "content_reach_posts",
        })  # fmt: skip
        self._add(out, _scope(self.sentiment, window), {
            "posts": "sentiment_posts", "mean_compound": "sentiment_mean",
            "positive_share": "sentiment_positive_share",
            "neutral_share": "sentiment_neutral_share",
            "negative_share": "sentiment_negative_share",
            "correlation": "sentiment_engagement_corr", "corr_low": "sentiment_corr_ci_low",
            "corr_high": "sentiment_corr_ci_high",
        })  # fmt: skip
        for hashtag_id, figures in _languages(self.scored, self.links, self.now, window).items():
            if hashtag_id in out:
                out[hashtag_id].update(figures)
        self._add(out, self.momentum, {
            "change": "momentum_change", "ci_low": "momentum_ci_low",
            "ci_high": "momentum_ci_high", "direction": "momentum_direction",
            "recent_posts": "momentum_recent_posts", "previous_posts": "momentum_previous_posts",
        })  # fmt: skip
        self._add(out, _scope(self.best, window), {
            "weekday": "best_weekday", "hour": "best_hour", "lift": "best_slot_lift",
            "ci_low": "best_slot_ci_low", "ci_high": "best_slot_ci_high",
            "posts": "best_slot_posts",
        })  # fmt: skip
        return out

    @staticmethod
    def _add(out: dict[int, dict[str, Any]], frame: pd.DataFrame, columns: dict[str, str]) -> None:
        for row in frame.to_dict("records"):
            target = out.get(int(row["hashtag_id"]))
            if target is not None:  # the report lists hashtags with posts in the window
                target.update({name: row[column] for column, name in columns.items()})


def _languages(
    posts: pd.DataFrame, links: pd.DataFrame, now: datetime, window: str
) -> dict[int, dict[str, Any]]:
    """The report's language columns per hashtag, from the posts of the window (pandas)."""
    start, end = window_bounds(now)[window]
    inside = posts["posted_at"] <= end
    if start is not None:
        inside &= posts["posted_at"] >= start
    tagged = links.drop_duplicates().merge(
        posts.loc[inside, ["post_id", "language", "sentiment"]], on="post_id"
    )
    out: dict[int, dict[str, Any]] = {}
    for hashtag_id, group in tagged.groupby("hashtag_id"):
        counts = group.groupby("language").agg(n=("post_id", "size"), scored=("sentiment", "count"))
        counts = counts.reset_index().sort_values(["n", "language"], ascending=[False, True])
        coverage = counts["scored"].sum() / counts["n"].sum()
        scored = sorted(counts.loc[counts["scored"] > 0, "language"])
        out[int(hashtag_id)] = {
            "sentiment_coverage": coverage,
            "sentiment_languages": " ".join(scored) if scored else np.nan,
            "sentiment_status": "scored" if coverage >= 0.5 else "not scored",
            "languages": " ".join(f"{r.language}:{r.n}" for r in counts.itertuples()),
        }
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check(key: str, name: str, got: Any, expected: Any) -> None:
    if _missing(expected):
        assert _missing(got) or got == "", (key, name, got)
    elif isinstance(expected, str):
        assert got == expected, (key, name, got, expected)
    else:
        assert float(got) == pytest.approx(float(expected), rel=REL, abs=ABS), (key, name)


def _columns() -> list[str]:
    """Every report column the reference computes (each row is also checked for the rest)."""
    names = list(FIGURE_COLUMNS)
    for goal, prefix in _PREFIX.items():
        names += [prefix, f"{prefix}_ci_low", f"{prefix}_ci_high", f"{prefix}_posts"]
        names += [f"{goal}_verdict", f"{goal}_score", f"{goal}_score_ci_low"]
        names += [f"{goal}_score_ci_high", f"{goal}_qvalue"]
    names += ["content_reach", "content_reach_ci_low", "content_reach_ci_high"]
    names += ["content_reach_posts", "sentiment_posts", "sentiment_mean"]
    names += [f"sentiment_{s}_share" for s in ("positive", "neutral", "negative")]
    names += ["sentiment_engagement_corr", "sentiment_corr_ci_low", "sentiment_corr_ci_high"]
    names += ["momentum_change", "momentum_ci_low", "momentum_ci_high", "momentum_direction"]
    names += ["momentum_recent_posts", "momentum_previous_posts", "best_weekday", "best_hour"]
    names += ["best_slot_lift", "best_slot_ci_low", "best_slot_ci_high", "best_slot_posts"]
    names += ["sentiment_coverage", "sentiment_languages", "sentiment_status", "languages"]
    return names


#: Report columns of the hashtag and slot estimates (joint fit, mixture prior): not closed-form,
#: so the pandas reference leaves them out; tests/analytics/test_effects.py checks the estimate
#: against independent numerics and tests/api/test_report_windows.py checks that the report
#: serves the same values as the other endpoints.
_ESTIMATE = (
    {
        f"{goal}_{part}"
        for goal in _PREFIX
        for part in ("verdict", "score", "score_ci_low", "score_ci_high", "qvalue")
    }
    | {"best_weekday", "best_hour", "best_slot_lift", "best_slot_ci_low", "best_slot_ci_high"}
    | {"best_slot_posts"}
)


async def _compare_report(
    client: Any, reference: Reference, keys: dict[str, int], window: str
) -> dict[str, dict[str, Any]]:
    """Check the JSON and CSV report of `window`; return the JSON rows by key."""
    expected = reference.rows(window)
    ids = {i: k for k, i in keys.items()}
    page = (await client.get("/reports/hashtags", params={"window": window})).json()
    served = {row["key"]: row for row in page["items"]}
    assert set(served) == {ids[i] for i in expected}
    text = (await client.get("/reports/hashtags", params={"window": window, "format": "csv"})).text
    as_csv = {row["key"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(as_csv) == set(served)
    names = _columns()
    assert set(names) | {"hashtag", "key"} == set(page["items"][0])  # every column is checked
    for hashtag_id, figures in expected.items():
        key = ids[hashtag_id]
        for name in names:
            if name in _ESTIMATE:
                continue
            value = figures.get(name, np.nan)
            _check(key, name, served[key][name], value)
            _check(key, name, as_csv[key][name], value)
    return served


async def test_ropensci_report_every_window(client, engine, arq_redis):
    (posts, links, now), keys = load_keyed(ropensci_paths(), "x-analytics")
    assert await _import(engine, arq_redis, ropensci_paths(), "x-analytics") == posts.height
    outcome = await recompute(engine, now=now, force=True)
    assert outcome.status == "computed"
    reference = Reference(posts, links, now)
    reports = {w: await _compare_report(client, reference, keys, w) for w in ("all", "365d", "90d")}
    rstats = {w: rows["rstats"] for w, rows in reports.items()}
    # the data fill the windowed columns, and the windows differ from all history
    assert rstats["all"]["virality_score"] is not None
    assert rstats["365d"]["sentiment_mean"] != rstats["all"]["sentiment_mean"]
    assert rstats["365d"]["sentiment_posts"] < rstats["all"]["sentiment_posts"]
    assert rstats["all"]["best_slot_posts"] is not None
    assert rstats["365d"]["momentum_change"] == rstats["all"]["momentum_change"]  # no window


async def test_pfizer_report_followers_goals(client, engine, arq_redis):
    (posts, links, now), keys = load_keyed([PFIZER], "pfizer-kaggle")
    assert await _import(engine, arq_redis, [PFIZER], "pfizer-kaggle") == posts.height
    outcome = await recompute(engine, now=now, force=True)
    assert outcome.status == "computed"
    reference = Reference(posts, links, now)
    for window in ("all", "90d"):
        served = await _compare_report(client, reference, keys, window)
        # a headline only from 5 posts up (too_few_posts below): pfizer's many small authors
        filled = [r for r in served.values() if r["er_follower_score"] is not None]
        assert len(filled) > 20
        assert any(r["followers_score"] is not None for r in served.values())
