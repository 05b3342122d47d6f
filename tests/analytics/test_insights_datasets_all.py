"""Real data, every insight figure: on the rOpenSci export (one account, 5 years) and the Pfizer
tweets (thousands of accounts with follower counts), each polars table equals the independent
pandas computation in reference_insights to 1e-9 relative. The reference's t quantiles come from
scipy here (`independent_quantiles`), so the intervals do not rest on the code under test."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats  # type: ignore[import-untyped]

from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.followers import follower_lift
from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    COOCCURRENCE_SCHEMA,
    LIFT_SCHEMA,
    MOMENTUM_SCHEMA,
    SENTIMENT_SCHEMA,
    SLOT_SCHEMA,
)
from hashtag_core.analytics.sentiment import hashtag_sentiment
from hashtag_core.analytics.slots import best_slots, hashtag_momentum, slot_lift
from tests.analytics.dataset_frames import (
    DATASETS,
    Dataset,
    follower_snapshots,
    load,
    ropensci_paths,
)
from tests.oracles import reference_insights
from tests.oracles.reference_insights import (
    best_slots_pd,
    cooccurrence_pd,
    follower_lift_pd,
    hashtag_momentum_pd,
    hashtag_sentiment_pd,
    slot_lift_pd,
)
from tests.oracles.reference_pandas import frame_from_pandas, frame_to_pandas

REL, ABS = 1e-9, 1e-12

pytestmark = [
    pytest.mark.datasets,
    pytest.mark.skipif(not DATASETS.is_dir(), reason=f"dataset folder {DATASETS} is absent"),
]


@pytest.fixture(autouse=True)
def independent_quantiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference takes its t and normal quantiles from scipy, not from `analytics.stats`."""
    monkeypatch.setattr(reference_insights, "t975_of", lambda df: stats.t.ppf(0.975, df))
    monkeypatch.setattr(reference_insights, "Z975", float(stats.norm.ppf(0.975)))


def _same(got: pl.DataFrame, expected_pd: object, schema: pl.Schema, keys: list[str]) -> None:
    """Equal in every closed-form column (the oracle leaves the estimate's columns NaN)."""
    expected = frame_from_pandas(expected_pd, schema)  # type: ignore[arg-type]
    assert got.height == expected.height > 0
    skip = [c for c in (*reference_insights.NOT_CLOSED_FORM, "verdict") if c in schema]
    assert_frame_equal(
        got.sort(keys).drop(skip), expected.sort(keys).drop(skip), rel_tol=REL, abs_tol=ABS
    )


@pytest.fixture(scope="module")
def ropensci() -> Dataset:
    return load(ropensci_paths(), "x-analytics")


@pytest.fixture(scope="module")
def pfizer() -> Dataset:
    path = DATASETS / "pfizer-vaccine-tweets" / "vaccination_tweets.csv"
    return load([path], "pfizer-kaggle")


def test_slots_best_slots_and_momentum(ropensci) -> None:
    posts, links, now = ropensci
    pposts, plinks = frame_to_pandas(posts.select(list(POSTS_SCHEMA))), frame_to_pandas(links)
    slot_keys = ["platform", "account_id", "window", "hashtag_id", "weekday", "hour"]
    base = posts.select(list(POSTS_SCHEMA)).lazy()
    slots = slot_lift(base, links.lazy(), now=now, windows=tuple(WINDOWS)).collect()
    _same(
        slots, slot_lift_pd(pposts, plinks, now=now, windows=tuple(WINDOWS)), SLOT_SCHEMA, slot_keys
    )
    assert set(slots["window"]) == set(WINDOWS)
    best = best_slots(slots.lazy()).collect()
    _same(best, best_slots_pd(frame_to_pandas(slots)), BEST_SLOT_SCHEMA, slot_keys)
    # each window ranks its own cells: the last year's best slots are not all-history's
    year, ever = (best.filter(pl.col("window") == w).drop("window") for w in ("365d", "all"))
    assert not year.equals(ever)
    keys = ["platform", "account_id", "hashtag_id"]
    momentum = hashtag_momentum(
        posts.select(list(POSTS_SCHEMA)).lazy(), links.lazy(), now=now, days=90
    ).collect()
    _same(momentum, hashtag_momentum_pd(pposts, plinks, now=now, days=90), MOMENTUM_SCHEMA, keys)


def test_pairs_and_sentiment(ropensci) -> None:
    posts, links, now = ropensci
    pair_keys = ["platform", "account_id", "hashtag_a", "hashtag_b"]
    pairs = cooccurrence(posts.select(list(POSTS_SCHEMA)).lazy(), links.lazy(), now=now).collect()
    expected = cooccurrence_pd(
        frame_to_pandas(posts.select(list(POSTS_SCHEMA))), frame_to_pandas(links), now=now
    )
    _same(pairs, expected, COOCCURRENCE_SCHEMA, pair_keys)
    sentiment = hashtag_sentiment(
        posts.lazy(), links.lazy(), now=now, windows=tuple(WINDOWS)
    ).collect()
    expected = hashtag_sentiment_pd(
        frame_to_pandas(posts), frame_to_pandas(links), now=now, windows=tuple(WINDOWS)
    )
    keys = ["platform", "account_id", "window", "hashtag_id"]
    _same(sentiment, expected, SENTIMENT_SCHEMA, keys)
    assert set(sentiment["window"]) == set(WINDOWS)


def test_follower_growth_across_many_accounts(pfizer) -> None:
    posts, links, now = pfizer
    followers = follower_snapshots(posts)
    base = posts.select(list(POSTS_SCHEMA))
    got = follower_lift(base.lazy(), links.lazy(), followers.lazy(), now=now).collect()
    expected = follower_lift_pd(
        frame_to_pandas(base), frame_to_pandas(links), frame_to_pandas(followers), now=now
    )
    _same(got, expected, LIFT_SCHEMA, ["platform", "account_id", "window", "goal", "hashtag_id"])
