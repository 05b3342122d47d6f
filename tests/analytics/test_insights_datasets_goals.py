"""Real data, every goal: the lift, its 95% interval and the shrunk score for reach, virality
and engagement per follower, content reach, and the recommendations built from them, each equal
to the plain pandas computation in reference_insights to 1e-9 relative (t and normal quantiles
from scipy, so nothing rests on the polars code under test).

Which counters the three exports have (docs/datasets.md): rOpenSci (one account) has shares and
impressions, so virality is checked there; Pfizer (thousands of accounts) has each author's
follower count, so engagement per follower and follower growth are checked there. None of them
has reach (X reports impressions only, never unique reach): on every dataset the reach lift and
content reach (reach / impressions) have no rows, in the polars tables and the reference alike,
which is what their definitions give; their arithmetic is covered on literal frames in
test_insights_followers.py and test_insights_lift.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats  # type: ignore[import-untyped]

from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.followers import content_reach, follower_lift
from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS, POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.insight_frames import CONTENT_REACH_SCHEMA, LIFT_SCHEMA
from hashtag_core.analytics.lift import hashtag_lift
from hashtag_core.analytics.recommend import recommend
from hashtag_core.analytics.slots import best_slots, slot_lift
from tests.analytics.dataset_frames import (
    DATASETS,
    Dataset,
    follower_snapshots,
    load,
    ropensci_paths,
)
from tests.oracles import reference_insights
from tests.oracles.reference_insights import (
    NOT_CLOSED_FORM,
    NOT_CLOSED_FORM_SLOT,
    best_slots_pd,
    content_reach_pd,
    cooccurrence_pd,
    follower_lift_pd,
    hashtag_lift_pd,
    recommend_pd,
    relative_performance_pd,
)
from tests.oracles.reference_pandas import frame_from_pandas, frame_to_pandas

REL, ABS = 1e-9, 1e-12
ITERATIVE_REL, ITERATIVE_ABS = 1e-6, 1e-9
_LIFT_KEYS = ["platform", "account_id", "window", "goal", "hashtag_id"]

pytestmark = [
    pytest.mark.datasets,
    pytest.mark.skipif(not DATASETS.is_dir(), reason=f"dataset folder {DATASETS} is absent"),
]


@pytest.fixture(autouse=True)
def independent_quantiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference takes its t and normal quantiles from scipy, not from `analytics.stats`."""
    monkeypatch.setattr(reference_insights, "t975_of", lambda df: stats.t.ppf(0.975, df))
    monkeypatch.setattr(reference_insights, "Z975", float(stats.norm.ppf(0.975)))


@pytest.fixture(scope="module")
def ropensci() -> Dataset:
    return load(ropensci_paths(), "x-analytics")


@pytest.fixture(scope="module")
def pfizer() -> Dataset:
    return load([DATASETS / "pfizer-vaccine-tweets" / "vaccination_tweets.csv"], "pfizer-kaggle")


@pytest.fixture(scope="module")
def fivethirtyeight() -> Dataset:
    folder = DATASETS / "fivethirtyeight-twitter-ratio"
    return load([folder / "BarackObama.csv", folder / "realDonaldTrump.csv"], "fivethirtyeight")


def _base(posts: pl.DataFrame) -> pl.DataFrame:
    return posts.select(list(POSTS_SCHEMA))


def _lift_pl(data: Dataset, goal: str) -> pl.DataFrame:
    posts, links, now = data
    relative = relative_performance(_base(posts).lazy(), now=now, goals=[goal])
    return hashtag_lift(relative, links.lazy()).collect()


def _lift_pd(data: Dataset, goal: str) -> pd.DataFrame:
    posts, links, now = data
    relative = relative_performance_pd(frame_to_pandas(_base(posts)), now=now, goals=[goal])
    return hashtag_lift_pd(relative, frame_to_pandas(links))


def _same(got: pl.DataFrame, expected_pd: pd.DataFrame, schema: pl.Schema, keys: list[str]) -> None:
    """Equal in every closed-form column (the oracle leaves the estimate's columns NaN:
    tests/analytics/test_effects.py checks those against independent numerics)."""
    expected = frame_from_pandas(expected_pd, schema)
    assert got.height == expected.height
    skip = [c for c in (*NOT_CLOSED_FORM, *NOT_CLOSED_FORM_SLOT) if c in schema]
    assert_frame_equal(
        got.sort(keys).drop(skip), expected.sort(keys).drop(skip), rel_tol=REL, abs_tol=ABS
    )


@pytest.mark.parametrize(
    ("dataset", "goal", "least_rows"),
    [
        ("ropensci", "virality", 200),  # shares / impressions (no reach: impressions used)
        ("pfizer", "er_follower", 2_000),  # (1 + engagement) / the author's followers
        ("pfizer", "engagement", 2_000),  # thousands of accounts, each its own baseline
    ],
)
def test_goal_lift_interval_and_score(
    dataset: str, goal: str, least_rows: int, request: pytest.FixtureRequest
) -> None:
    data: Dataset = request.getfixturevalue(dataset)
    got = _lift_pl(data, goal)
    assert got.height > least_rows
    _same(got, _lift_pd(data, goal), LIFT_SCHEMA, _LIFT_KEYS)
    # the data exercise the interval, the estimate and more than one verdict
    assert got["ci_low"].drop_nulls().len() > least_rows // 4
    judged = got.filter(pl.col("posts") >= 5)
    assert judged["score"].null_count() == 0
    assert judged["lfsr"].is_between(0.0, 1.0).all()
    assert got["verdict"].n_unique() >= 2


def test_follower_growth_score_on_pfizer(pfizer: Dataset) -> None:
    posts, links, now = pfizer
    snapshots = follower_snapshots(posts)
    got = follower_lift(_base(posts).lazy(), links.lazy(), snapshots.lazy(), now=now).collect()
    expected = follower_lift_pd(
        frame_to_pandas(_base(posts)),
        frame_to_pandas(links),
        frame_to_pandas(snapshots),
        now=now,
    )
    assert got.height > 0
    _same(got, expected, LIFT_SCHEMA, _LIFT_KEYS)


@pytest.mark.parametrize("dataset", ["ropensci", "pfizer", "fivethirtyeight"])
def test_goals_without_their_counter_have_no_rows(
    dataset: str, request: pytest.FixtureRequest
) -> None:
    data: Dataset = request.getfixturevalue(dataset)
    posts, links, now = data
    has = {name: posts[name].is_not_null().any() for name in ("reach", "impressions", "followers")}
    assert not has["reach"]  # no export here reports reach
    for goal, known in (
        ("reach", False),
        ("virality", has["impressions"]),
        ("er_follower", has["followers"]),
    ):
        if known:
            continue
        assert _lift_pl(data, goal).height == 0 == len(_lift_pd(data, goal)), goal
    got = content_reach(_base(posts).lazy(), links.lazy(), now=now).collect()
    expected = content_reach_pd(frame_to_pandas(_base(posts)), frame_to_pandas(links), now=now)
    assert got.height == 0 == len(expected)
    assert got.schema == CONTENT_REACH_SCHEMA


# --- recommendations -----------------------------------------------------------------------------


def _insight_tables(data: Dataset, goal: str) -> tuple[pl.DataFrame, ...]:
    """lift (goal), best slots and pairs from the polars code."""
    posts, links, now = data
    base = _base(posts).lazy()
    if goal == "followers":
        snaps = follower_snapshots(posts).lazy()
        lift = follower_lift(base, links.lazy(), snaps, now=now).collect()
    else:
        lift = _lift_pl(data, goal)
    slots = best_slots(slot_lift(base, links.lazy(), now=now, windows=tuple(WINDOWS))).collect()
    pairs = cooccurrence(base, links.lazy(), now=now).collect()
    return lift, slots, pairs


def _reference_tables(data: Dataset, goal: str) -> tuple[pd.DataFrame, ...]:
    """The three tables the reference rules read: the closed-form columns from
    reference_insights, the estimate's columns (not closed-form) from the polars code; best
    slots ranked by the reference rule over the polars slot estimates."""
    posts, links, now = data
    base, plinks = frame_to_pandas(_base(posts)), frame_to_pandas(links)
    if goal == "followers":
        snaps = frame_to_pandas(follower_snapshots(posts))
        lift = follower_lift_pd(base, plinks, snaps, now=now)
        produced = follower_lift(
            _base(posts).lazy(), links.lazy(), follower_snapshots(posts).lazy(), now=now
        ).collect()
    else:
        lift = _lift_pd(data, goal)
        produced = _lift_pl(data, goal)
    keys = ["platform", "account_id", "window", "goal", "hashtag_id"]
    lift = lift.drop(columns=list(NOT_CLOSED_FORM)).merge(
        frame_to_pandas(produced.select(*keys, *NOT_CLOSED_FORM)), on=keys, how="left"
    )
    produced_slots = slot_lift(_base(posts).lazy(), links.lazy(), now=now, windows=tuple(WINDOWS))
    slots = best_slots_pd(frame_to_pandas(produced_slots.collect()))
    return lift, slots, cooccurrence_pd(base, plinks, now=now)


def _busiest_account(posts: pl.DataFrame) -> int:
    return int(posts["account_id"].value_counts(sort=True)["account_id"][0])


_CASES = [
    ("ropensci", "engagement", "all", 10),
    ("ropensci", "virality", "all", 10),
    ("ropensci", "virality", "365d", 5),
    ("pfizer", "engagement", "all", 10),
    ("pfizer", "er_follower", "all", 10),
    ("pfizer", "er_follower", "90d", 5),
    ("pfizer", "followers", "all", 10),
]


@pytest.mark.parametrize(("dataset", "goal", "window", "min_posts"), _CASES)
def test_recommendations_equal_plain_computation(
    dataset: str, goal: str, window: str, min_posts: int, request: pytest.FixtureRequest
) -> None:
    data: Dataset = request.getfixturevalue(dataset)
    lift, slots, pairs = _insight_tables(data, goal)
    ref_lift, ref_slots, ref_pairs = _reference_tables(data, goal)
    names = {int(h): f"t{h}" for h in data[1]["hashtag_id"].unique()}
    scopes = [(ALL_PLATFORMS, ALL_ACCOUNTS), ("x", _busiest_account(data[0]))]
    listed = 0
    for platform, account_id in scopes:
        args: dict[str, Any] = {"platform": platform, "account_id": account_id, "goal": goal}
        args |= {"window": window, "min_posts": min_posts, "limit": 50}
        got = recommend(lift, slots, pairs, names=names, **args)
        expected = recommend_pd(ref_lift, ref_slots, ref_pairs, **args)
        items = [*got.use, *got.worth_testing, *got.avoid]
        assert [(i.action, i.hashtag_id) for i in items] == list(
            zip(expected["action"], expected["hashtag_id"], strict=True)
        )
        for item, row in zip(items, expected.itertuples(index=False), strict=True):
            _check_item(item, row, names)
        listed += len(items)
    assert listed > 0


def _close(got: float | None, expected: float, *, rel: float = REL, atol: float = ABS) -> bool:
    if got is None or np.isnan(expected):
        return got is None and bool(np.isnan(expected))
    return bool(np.isclose(got, expected, rtol=rel, atol=atol))


def _check_item(item: Any, row: Any, names: dict[int, str]) -> None:
    """One recommendation against one reference row."""
    assert item.posts == row.posts
    assert item.verdict == row.verdict
    for name in ("lift", "ci_low", "ci_high"):
        assert _close(getattr(item, name), getattr(row, name)), (item.hashtag, name)
    # The estimate's columns come from two runs of an iterative fit (conjugate gradients to
    # 1e-8 of the right-hand side), whose last digits depend on summation order: 1e-6
    # relative, and 1e-9 absolute for the follower goal's lifts of order 1e-5.
    for name in ("expected_lift", "expected_low", "expected_high"):
        got, expected = getattr(item, name), getattr(row, name)
        assert _close(got, expected, rel=ITERATIVE_REL, atol=ITERATIVE_ABS), (item.hashtag, name)
    slot = item.best_slot
    if np.isnan(row.slot_weekday):
        assert slot is None
    else:
        assert slot is not None
        assert (slot.weekday, slot.hour, slot.posts) == (
            row.slot_weekday,
            row.slot_hour,
            row.slot_posts,
        )
        assert _close(slot.lift, row.slot_lift)
    assert item.companions == tuple(names[p] for p in row.companions)
    assert f"#{item.hashtag} " in item.reason
