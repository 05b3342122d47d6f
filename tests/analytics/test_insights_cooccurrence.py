"""Hashtag pairs and their synergy: a hand-worked frame and the pandas reference."""

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.insight_frames import COOCCURRENCE_SCHEMA
from tests.analytics.test_insights_lift import ABS, REL
from tests.analytics.test_performance import NOW, make_links, make_posts, random_frames
from tests.oracles.reference_insights import cooccurrence_pd
from tests.oracles.reference_pandas import frame_from_pandas, frame_to_pandas

LN2 = math.log(2)
PAIR_KEYS = ["platform", "account_id", "hashtag_a", "hashtag_b"]


def test_synergy_hand_worked() -> None:
    # values (1 + engagement): fillers 10, 10, 10; a+b: 40, 20; a only: 20, 10; b only: 10, 5.
    # Sorted 5, 10, 10, 10, 10, 10, 20, 20, 40: the account's median is 10.
    values = {1: 10, 2: 10, 3: 10, 4: 40, 5: 20, 6: 20, 7: 10, 8: 10, 9: 5}
    posts = make_posts([{"post_id": p, "likes": v - 1} for p, v in values.items()])
    links = make_links([(4, 1), (4, 2), (5, 1), (5, 2), (6, 1), (7, 1), (8, 2), (9, 2)])
    out = cooccurrence(posts, links, now=NOW, min_posts=2).collect()
    assert out.schema == COOCCURRENCE_SCHEMA
    row = out.filter(pl.col("account_id") == 1).row(0, named=True)
    # pair: ln 4, ln 2 -> mean 1.5 ln 2; a only: ln 2, 0 -> 0.5 ln 2; b only: 0, -ln 2
    assert (row["hashtag_a"], row["hashtag_b"], row["posts"]) == (1, 2, 2)
    assert row["pair_mean_log"] == pytest.approx(1.5 * LN2)
    assert row["pair_lift"] == pytest.approx(2**1.5 - 1)
    assert (row["a_only_posts"], row["b_only_posts"]) == (2, 2)
    assert row["a_only_mean_log"] == pytest.approx(0.5 * LN2)
    assert row["b_only_mean_log"] == pytest.approx(-0.5 * LN2)
    # better single: a. synergy = 1.5 ln 2 - 0.5 ln 2 = ln 2 (the pair doubles a alone)
    assert row["better_single"] == 1
    assert row["synergy_log"] == pytest.approx(LN2)
    assert row["synergy"] == pytest.approx(1.0)
    # Welch: both variances (ln 2)^2 / 2, v = 0.120113 each, se = sqrt(0.240227) = 0.490129,
    # df = 0.240227^2 / (2 * 0.120113^2 / 1) = 2 -> t(2) = 4.302653
    half = 4.302652729749459 * math.sqrt(LN2**2 / 2)
    assert row["synergy_low"] == pytest.approx(math.exp(LN2 - half) - 1)
    assert row["synergy_high"] == pytest.approx(math.exp(LN2 + half) - 1)
    # the pair is below min_posts = 3: no rows
    assert cooccurrence(posts, links, now=NOW, min_posts=3).collect().is_empty()


def test_pair_always_together_has_no_single_to_beat() -> None:
    posts = make_posts([{"post_id": p, "likes": p} for p in range(1, 5)])
    links = make_links([(p, t) for p in (1, 2) for t in (5, 6)])
    row = cooccurrence(posts, links, now=NOW, min_posts=2).collect().row(0, named=True)
    assert (row["a_only_posts"], row["b_only_posts"]) == (0, 0)
    assert row["better_single"] is None
    assert row["synergy_log"] is None


def test_min_posts_is_checked() -> None:
    with pytest.raises(ValueError, match="min_posts"):
        cooccurrence(make_posts([{"post_id": 1}]), make_links([]), now=NOW, min_posts=0)


def test_cooccurrence_matches_reference_on_random_frame() -> None:
    posts, links = random_frames(3_000, 9_000, seed=4, n_hashtags=60, n_accounts=7)
    got = cooccurrence(posts.lazy(), links.lazy(), now=NOW, min_posts=3).collect()
    reference = cooccurrence_pd(
        frame_to_pandas(posts), frame_to_pandas(links), now=NOW, min_posts=3
    )
    expected = frame_from_pandas(reference, COOCCURRENCE_SCHEMA)
    assert got.filter(pl.col("synergy_low").is_not_null()).height > 500
    assert_frame_equal(got.sort(PAIR_KEYS), expected.sort(PAIR_KEYS), rel_tol=REL, abs_tol=ABS)
