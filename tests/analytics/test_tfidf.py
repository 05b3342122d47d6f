"""TF-IDF similarity on a hand-worked example (docs/metrics.md, "Campaign plans")."""

from __future__ import annotations

import math

import polars as pl
import pytest

from hashtag_core.analytics.tfidf import similarity, terms

DOCS = pl.LazyFrame(
    {
        "doc_id": [1, 2, 3],
        "text": ["LEGO castle!", "#lego Dragon dragon", "summer sale"],
    }
)


def test_terms_lower_case_and_hashtags_as_words():
    out = pl.select(terms(pl.lit("#LEGO Ninjago, a 2x4 brick_set ゴジラ")).alias("t"))
    assert out["t"][0].to_list() == ["lego", "ninjago", "2x4", "brick_set", "ゴジラ"]


def test_hand_worked_example():
    # N = 3; "lego" in 2 texts: idf = ln(4/3) + 1; the other terms in 1: idf = ln(4/2) + 1.
    common, rare = math.log(4 / 3) + 1, math.log(2) + 1
    # query "dragon castle": weights (dragon rare, castle rare)
    q_norm = math.hypot(rare, rare)
    # text 1: lego common, castle rare -> shares castle
    sim1 = rare * rare / (math.hypot(common, rare) * q_norm)
    # text 2: lego common, dragon 2 x rare -> shares dragon
    sim2 = 2 * rare * rare / (math.hypot(common, 2 * rare) * q_norm)
    assert sim1 == pytest.approx(0.56283, abs=1e-5)  # worked by hand
    assert sim2 == pytest.approx(0.66093, abs=1e-5)
    out = similarity(DOCS, "Dragon castle").collect()
    assert out["doc_id"].to_list() == [2, 1]  # text 3 shares nothing: left out
    assert out["similarity"].to_list() == pytest.approx([sim2, sim1], rel=1e-12)


def test_identical_text_is_one_and_unknown_terms_drop_out():
    out = similarity(DOCS, "summer sale zzz").collect()
    assert out["doc_id"].to_list() == [3]
    assert out["similarity"][0] == pytest.approx(1.0)
    assert similarity(DOCS, "nothing shared").collect().is_empty()
