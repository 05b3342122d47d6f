"""A campaign's posts against their account baselines (docs/metrics.md, "Campaign plans")."""

from __future__ import annotations

import math

import polars as pl
import pytest

from hashtag_core.analytics.campaign import post_log_ratios, summarise

COUNTERS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")


def _posts(engagements: list[int], account_ids: list[int]) -> pl.LazyFrame:
    n = len(engagements)
    data: dict[str, list[int | None]] = {c: [None] * n for c in COUNTERS}
    data["likes"] = list(engagements)
    return pl.LazyFrame(
        {"post_id": list(range(1, n + 1)), "account_id": account_ids, **data},
        schema={"post_id": pl.Int64, "account_id": pl.Int64, **dict.fromkeys(COUNTERS, pl.Int64)},
    )


def test_log_ratios_against_the_stored_baseline_capped():
    posts = _posts([9, 39, 999, 5], [1, 1, 1, 2])
    baselines = pl.LazyFrame({"account_id": [1], "baseline": [20.0]})
    out = post_log_ratios(posts, baselines, goal="engagement").collect().sort("post_id")
    # account 2 has no baseline: its post is not judged
    assert out["post_id"].to_list() == [1, 2, 3]
    assert out["log_ratio"].to_list() == pytest.approx(
        [math.log(0.5), math.log(2), math.log(20)]  # 1000 / 20 = 50, capped at 20
    )


def test_summary_of_known_log_ratios():
    frame = pl.DataFrame(
        {"post_id": [1, 2, 3], "account_id": [1] * 3, "log_ratio": [0.5, 0.6, 0.7]}
    )
    out = summarise(frame)
    # docs/metrics.md, "Lift": m = 0.6, s = 0.1, t(2) = 4.303 -> +82.2%, +42.1% to +133.6%
    assert out["posts"] == 3
    assert out["mean_log_ratio"] == pytest.approx(0.6)
    assert out["lift"] == pytest.approx(math.exp(0.6) - 1)
    assert out["ci_low"] == pytest.approx(0.421, abs=5e-4)
    assert out["ci_high"] == pytest.approx(1.336, abs=5e-4)


def test_summary_of_one_and_of_no_post():
    one = summarise(pl.DataFrame({"post_id": [1], "account_id": [1], "log_ratio": [0.5]}))
    assert one["posts"] == 1
    assert one["lift"] == pytest.approx(math.exp(0.5) - 1)
    assert one["ci_low"] is None
    assert one["ci_high"] is None
    empty = summarise(pl.DataFrame(schema={"post_id": pl.Int64, "log_ratio": pl.Float64}))
    assert empty == {
        "posts": 0,
        "mean_log_ratio": None,
        "lift": None,
        "ci_low": None,
        "ci_high": None,
    }
