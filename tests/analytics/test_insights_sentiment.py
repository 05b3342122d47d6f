"""VADER scoring and sentiment per hashtag: hand-worked frames and the pandas reference."""

import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.analytics.insight_frames import SENTIMENT_POSTS_SCHEMA, SENTIMENT_SCHEMA
from hashtag_core.analytics.sentiment import hashtag_sentiment
from hashtag_core.sentiment import label, score_texts
from tests.analytics.test_insights_lift import ABS, REL
from tests.analytics.test_performance import NOW, make_links, make_posts, random_frames
from tests.oracles.reference_insights import hashtag_sentiment_pd
from tests.oracles.reference_pandas import frame_from_pandas, frame_to_pandas

SENTIMENT_KEYS = ["platform", "account_id", "hashtag_id"]


def test_score_texts_polarity_and_order() -> None:
    texts = ["What a wonderful, happy day!", "This was a terrible, awful mess.", "The park opens"]
    scores = score_texts(texts)
    assert len(scores) == 3
    assert scores[0] >= 0.05
    assert scores[1] <= -0.05
    assert scores[2] == 0.0
    assert [label(s) for s in scores] == ["positive", "negative", "neutral"]
    assert score_texts([]) == []


def test_labels_use_the_standard_thresholds_inclusively() -> None:
    assert [label(x) for x in (0.05, 0.0499, -0.0499, -0.05)] == [
        "positive",
        "neutral",
        "neutral",
        "negative",
    ]


def test_linkedin_markup_is_scored_as_plain_hashtags() -> None:
    markup = "Proud of our team {hashtag|\\#|Love} {hashtag|\\#|Careers}"
    plain = "Proud of our team #Love #Careers"
    assert score_texts([markup]) == score_texts([plain])
    # the word behind the sign counts ("#Love" reads as "love"), which the markup would hide
    assert score_texts([plain])[0] > score_texts(["Proud of our team"])[0]


def _posts(sentiments: list[float | None], likes: list[int]) -> pl.LazyFrame:
    """Posts of account 1 with the given likes and sentiment."""
    posts = make_posts([{"post_id": i + 1, "likes": n} for i, n in enumerate(likes)])
    return posts.with_columns(sentiment=pl.Series(sentiments, dtype=pl.Float64)).select(
        SENTIMENT_POSTS_SCHEMA.names()
    )


def test_shares_and_correlation_hand_worked() -> None:
    # values 1 + likes = 10, 20, 40, 10, 20 -> median 20; log-ratios -ln2, 0, ln2, -ln2, 0
    posts = _posts([0.5, 0.05, 0.0, -0.05, -0.6], [9, 19, 39, 9, 19])
    links = make_links([(i, 4) for i in range(1, 6)])
    out = hashtag_sentiment(posts, links, now=NOW).collect()
    assert out.schema == SENTIMENT_SCHEMA
    row = out.filter(pl.col("account_id") == 1, pl.col("hashtag_id") == 4).row(0, named=True)
    # positive: 0.5, 0.05 (the threshold counts); neutral: 0.0; negative: -0.05, -0.6
    assert row["posts"] == 5
    assert row["mean_compound"] == pytest.approx(-0.1 / 5)
    assert (row["positive_share"], row["neutral_share"], row["negative_share"]) == (0.4, 0.2, 0.4)
    x = np.array([0.5, 0.05, 0.0, -0.05, -0.6])
    y = np.log(np.array([10, 20, 40, 10, 20]) / 20)
    r = float(np.corrcoef(x, y)[0, 1])  # Pearson
    z, half = math.atanh(r), 1.959963984540054 / math.sqrt(5 - 3)  # Fisher z, sd 1/sqrt(n-3)
    assert row["correlation"] == pytest.approx(r)
    assert row["corr_low"] == pytest.approx(math.tanh(z - half))
    assert row["corr_high"] == pytest.approx(math.tanh(z + half))
    # ALL_HASHTAGS (0) covers every scored post of the scope: the same five here
    assert out.filter(pl.col("account_id") == 1, pl.col("hashtag_id") == 0)["posts"][0] == 5


def test_unscored_posts_are_left_out_and_small_groups_have_no_interval() -> None:
    # post 3 has no sentiment; posts 1, 2: values 10, 40 around median(10, 40, 20) = 20
    posts = _posts([0.3, 0.9, None], [9, 39, 19])
    out = hashtag_sentiment(posts, make_links([(1, 4), (2, 4), (3, 4)]), now=NOW).collect()
    row = out.filter(pl.col("account_id") == 1, pl.col("hashtag_id") == 4).row(0, named=True)
    assert row["posts"] == 2
    assert row["mean_compound"] == pytest.approx(0.6)
    assert row["correlation"] == pytest.approx(1.0)  # two points lie on a line
    assert row["corr_low"] is None  # n < 4
    flat = hashtag_sentiment(_posts([0.3, 0.3, 0.3], [9, 39, 19]), make_links([]), now=NOW)
    assert flat.collect()["correlation"].null_count() == 3  # no spread in compound: no r


def test_sentiment_matches_reference_on_random_frame() -> None:
    posts, links = random_frames(3_000, 9_000, seed=5, n_hashtags=60, n_accounts=7)
    rng = np.random.default_rng(5)
    scores = np.round(rng.uniform(-1, 1, posts.height), 2)  # rounded: exact threshold hits
    scores[rng.random(posts.height) < 0.1] = np.nan
    posts = posts.with_columns(sentiment=pl.Series(scores, nan_to_null=True))
    got = hashtag_sentiment(posts.lazy(), links.lazy(), now=NOW).collect()
    reference = hashtag_sentiment_pd(frame_to_pandas(posts), frame_to_pandas(links), now=NOW)
    expected = frame_from_pandas(reference, SENTIMENT_SCHEMA)
    assert got.filter(pl.col("corr_low").is_not_null()).height > 300
    assert_frame_equal(
        got.sort(SENTIMENT_KEYS), expected.sort(SENTIMENT_KEYS), rel_tol=REL, abs_tol=ABS
    )
