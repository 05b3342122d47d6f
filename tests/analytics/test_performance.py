"""Tests of `hashtag_performance`: hand-worked literal frames plus a polars-vs-pandas check."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.analytics.frames import LINKS_SCHEMA, PERFORMANCE_SCHEMA, POSTS_SCHEMA
from hashtag_core.analytics.performance import hashtag_performance
from tests.oracles.reference_pandas import (
    frame_from_pandas,
    frame_to_pandas,
    hashtag_performance_pd,
)

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
PERF_KEYS = ["platform", "account_id", "window", "hashtag_id"]
_COUNTERS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")


def make_posts(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    """Posts frame from partial rows: account 1 on x, posted a day before NOW, counters NULL."""
    defaults: dict[str, Any] = {
        "account_id": 1,
        "platform": "x",
        "posted_at": NOW - timedelta(days=1),
        "local_date": date(2024, 6, 29),
        "local_weekday": 6,
        "local_hour": 12,
        **dict.fromkeys(_COUNTERS),
    }
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=POSTS_SCHEMA).lazy()


def make_links(pairs: list[tuple[int, int]]) -> pl.LazyFrame:
    """Links frame from (post_id, hashtag_id) pairs."""
    return pl.DataFrame(pairs, schema=LINKS_SCHEMA, orient="row").lazy()


def perf_rows(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Expected performance rows; figures not given are NULL (counts 0)."""
    counts = {name: 0 for name, dtype in PERFORMANCE_SCHEMA.items() if name.endswith("_posts")}
    return pl.DataFrame([{**counts, **row} for row in rows], schema=PERFORMANCE_SCHEMA)


def run(posts: pl.LazyFrame, links: pl.LazyFrame, now: datetime = NOW) -> pl.DataFrame:
    """Collect hashtag_performance sorted by its keys."""
    return hashtag_performance(posts, links, now=now).collect().sort(PERF_KEYS)


def test_output_schema_and_column_order() -> None:
    out = hashtag_performance(make_posts([{"post_id": 1}]), make_links([(1, 1)]), now=NOW)
    assert out.collect_schema() == PERFORMANCE_SCHEMA
    assert out.collect().schema == PERFORMANCE_SCHEMA


def test_null_metrics_and_virality_fallback() -> None:
    posts = make_posts(
        [
            # engagement 10+2+3+0(NULL saves) = 15; er_f 15/1000 = 0.015; er_r 15/100 = 0.15;
            # virality 3/100 = 0.03 (reach known and > 0)
            {"post_id": 1, "likes": 10, "comments": 2, "shares": 3, "saves": None,
             "impressions": 200, "reach": 100, "followers": 1000},
            # everything unknown: engagement 0, counted in posts, in no ratio, no reach/impr.
            {"post_id": 2},
            # engagement 20+5+5+0 = 30; followers 0 and reach 0 -> no er_f, no er_r;
            # virality falls back to impressions: 5/500 = 0.01
            {"post_id": 3, "likes": 20, "comments": 5, "shares": 5, "saves": 0,
             "impressions": 500, "reach": 0, "followers": 0},
        ]
    )  # fmt: skip
    out = run(posts, make_links([(1, 7), (2, 7), (3, 7)]))
    expected = perf_rows(
        [
            {"platform": "*", "account_id": 0, "window": "all", "hashtag_id": 7,
             "posts": 3,
             "avg_engagement": 15.0,  # (15 + 0 + 30) / 3
             "median_engagement": 15.0,  # middle of 0, 15, 30
             "er_follower": 0.015, "er_follower_posts": 1,  # post 1 only
             "er_reach": 0.15, "er_reach_posts": 1,  # post 1 only
             "virality": 0.02, "virality_posts": 2,  # (0.03 + 0.01) / 2
             "avg_reach": 50.0, "reach_posts": 2,  # (100 + 0) / 2: a known 0 counts
             "avg_impressions": 350.0, "impressions_posts": 2},  # (200 + 500) / 2
        ]
    )  # fmt: skip
    row = out.filter(pl.col("platform") == "*", pl.col("window") == "all")
    assert_frame_equal(row, expected)


def test_virality_denominator_choice() -> None:
    posts = make_posts(
        [
            {"post_id": 1, "shares": 4, "reach": 0, "impressions": 400},  # 4/400 = 0.01
            {"post_id": 2, "shares": 6, "reach": None, "impressions": 300},  # 6/300 = 0.02
            {"post_id": 3, "shares": 2, "reach": 0, "impressions": 0},  # no denominator: out
            {"post_id": 4, "shares": None, "reach": 100, "impressions": 100},  # unknown: out
            {"post_id": 5, "shares": 10, "reach": 50, "impressions": 1000},  # reach: 0.2
        ]
    )
    out = run(posts, make_links([(i, 1) for i in range(1, 6)]))
    row = out.filter(pl.col("platform") == "*", pl.col("window") == "all")
    # (0.01 + 0.02 + 0.2) / 3 = 0.23 / 3
    assert row["virality"].to_list() == [pytest.approx(0.23 / 3, rel=1e-12)]
    assert row["virality_posts"].to_list() == [3]


def test_window_boundaries() -> None:
    us = timedelta(microseconds=1)
    posts = make_posts(
        [
            {"post_id": 1, "likes": 1, "posted_at": NOW},  # every window
            {"post_id": 2, "likes": 2, "posted_at": NOW - timedelta(days=7)},  # 7d bound: in
            {"post_id": 3, "likes": 4, "posted_at": NOW - timedelta(days=7) - us},  # 30d on
            {"post_id": 4, "likes": 8, "posted_at": NOW - timedelta(days=30)},  # 30d on
            {"post_id": 5, "likes": 16, "posted_at": NOW - timedelta(days=365, seconds=1)},
            {"post_id": 6, "likes": 32, "posted_at": NOW + us},  # after now: nowhere
        ]
    )
    links = make_links([(i, 1) for i in range(1, 7)] + [(5, 2)])
    out = run(posts, links).filter(pl.col("platform") == "*")
    expected = pl.DataFrame(
        {
            # hashtag 2 is only on the 365-days-and-a-second-old post 5: only "all".
            "window": ["30d", "365d", "7d", "90d", "all", "all"],
            "hashtag_id": [1, 1, 1, 1, 1, 2],
            "posts": [4, 4, 2, 4, 5, 1],
            # 30d/90d/365d: (1+2+4+8)/4 = 3.75; 7d: (1+2)/2 = 1.5; all: 31/5 = 6.2
            "avg_engagement": [3.75, 3.75, 1.5, 3.75, 6.2, 16.0],
        },
        schema_overrides={"hashtag_id": pl.Int64, "posts": pl.Int64},
    )
    got = out.select(expected.columns).sort("hashtag_id", "window")
    assert_frame_equal(got, expected.sort("hashtag_id", "window"))


def test_scope_levels_and_post_under_two_hashtags() -> None:
    posts = make_posts(
        [
            {"post_id": 1, "account_id": 1, "platform": "x", "likes": 10},
            {"post_id": 2, "account_id": 2, "platform": "x", "likes": 20},
            {"post_id": 3, "account_id": 3, "platform": "instagram", "likes": 60},
            {"post_id": 4, "account_id": 1, "platform": "x", "likes": 30},
        ]
    )
    # Post 1 carries hashtags 5 and 6: it counts once under each.
    links = make_links([(1, 5), (2, 5), (3, 5), (4, 5), (1, 6)])
    out = run(posts, links).filter(pl.col("window") == "all")
    expected = pl.DataFrame(
        [
            ("*", 0, 5, 4, 30.0, 25.0),  # 10,20,30,60: mean 120/4, median (20+30)/2
            ("*", 0, 6, 1, 10.0, 10.0),
            ("instagram", 0, 5, 1, 60.0, 60.0),
            ("instagram", 3, 5, 1, 60.0, 60.0),
            ("x", 0, 5, 3, 20.0, 20.0),  # 10,20,30
            ("x", 0, 6, 1, 10.0, 10.0),
            ("x", 1, 5, 2, 20.0, 20.0),  # 10,30
            ("x", 1, 6, 1, 10.0, 10.0),
            ("x", 2, 5, 1, 20.0, 20.0),
        ],
        schema={
            "platform": pl.String,
            "account_id": pl.Int64,
            "hashtag_id": pl.Int64,
            "posts": pl.Int64,
            "avg_engagement": pl.Float64,
            "median_engagement": pl.Float64,
        },
        orient="row",
    )
    assert_frame_equal(out.select(expected.columns), expected)


def test_duplicate_link_rows_count_once() -> None:
    posts = make_posts([{"post_id": 1, "likes": 10}, {"post_id": 2, "likes": 20}])
    once = run(posts, make_links([(1, 5), (2, 5)]))
    twice = run(posts, make_links([(1, 5), (1, 5), (2, 5)]))
    assert_frame_equal(twice, once)
    assert once.filter(pl.col("platform") == "*", pl.col("window") == "all")["posts"][0] == 2


def test_posts_without_hashtags_or_links_without_posts_add_nothing() -> None:
    posts = make_posts([{"post_id": 1, "likes": 10}, {"post_id": 2, "likes": 99}])
    out = run(posts, make_links([(1, 5), (3, 5)]))  # post 2 untagged, post 3 unknown
    assert out["posts"].unique().to_list() == [1]
    assert out["avg_engagement"].unique().to_list() == [10.0]


def test_empty_input_gives_empty_frame() -> None:
    empty_posts = pl.LazyFrame(schema=POSTS_SCHEMA)
    out = hashtag_performance(empty_posts, pl.LazyFrame(schema=LINKS_SCHEMA), now=NOW)
    assert_frame_equal(out.collect(), pl.DataFrame(schema=PERFORMANCE_SCHEMA))


def test_schema_mismatch_raises() -> None:
    good_posts, good_links = make_posts([{"post_id": 1}]), make_links([(1, 1)])
    bad_posts = good_posts.with_columns(pl.col("likes").cast(pl.Int32)).drop("reach")
    with pytest.raises(ValueError, match=r"posts frame.*likes: expected Int64, got Int32.*reach"):
        hashtag_performance(bad_posts, good_links, now=NOW)
    bad_links = good_links.with_columns(pl.col("hashtag_id").cast(pl.String))
    with pytest.raises(ValueError, match="links frame.*hashtag_id"):
        hashtag_performance(good_posts, bad_links, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        hashtag_performance(good_posts, good_links, now=NOW.replace(tzinfo=None))


def test_now_in_another_time_zone_is_the_same_instant() -> None:
    posts = make_posts([{"post_id": 1, "likes": 3}])
    other = NOW.astimezone(ZoneInfo("America/New_York"))
    assert_frame_equal(run(posts, make_links([(1, 1)]), other), run(posts, make_links([(1, 1)])))


# --- random frames, shared with test_trends and the benchmark --------------------------------


def _counts(rng: np.random.Generator, n: int, high: int, null_share: float) -> pl.Series:
    """Random non-negative counts with a share of NULLs and some zeros."""
    values = np.floor(rng.pareto(1.5, n) * high / 10).clip(0, high).astype(np.float64)
    values[rng.random(n) < 0.05] = 0.0
    values[rng.random(n) < null_share] = np.nan
    return pl.Series(values, nan_to_null=True).cast(pl.Int64)


def random_frames(
    n_posts: int, n_links: int, *, seed: int = 0, n_hashtags: int = 20_000, n_accounts: int = 40
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Random posts and links frames (links de-duplicated) with the real schemas."""
    rng = np.random.default_rng(seed)
    account = rng.integers(1, n_accounts + 1, n_posts)
    age_us = rng.integers(-2 * 86_400, 3 * 365 * 86_400, n_posts) * 1_000_000
    for i, days in enumerate([7, 30, 90, 365, 0]):  # a few posts exactly on window bounds
        age_us[i % n_posts] = days * 86_400 * 1_000_000
    posts = pl.DataFrame(
        {
            "post_id": np.arange(1, n_posts + 1),
            "account_id": account,
            "platform": np.array(["x", "instagram", "facebook", "linkedin"])[account % 4],
            "age": pl.Series(age_us).cast(pl.Duration("us")),
            **{name: _counts(rng, n_posts, 10_000, 0.1) for name in _COUNTERS},
        }
    ).with_columns(posted_at=pl.lit(NOW, POSTS_SCHEMA["posted_at"]) - pl.col("age"))
    local = pl.col("posted_at") + pl.duration(hours=pl.col("account_id") % 5 - 2)
    posts = posts.with_columns(
        local_date=local.dt.date(), local_weekday=local.dt.weekday(), local_hour=local.dt.hour()
    ).with_columns(  # a few posts whose local fields are unknown
        pl.when(pl.col("post_id") % 211 != 0).then(pl.col("^local_.*$"))
    )
    hashtags = np.floor(n_hashtags ** rng.random(n_links)).astype(np.int64)  # log-uniform
    links = pl.DataFrame({"post_id": rng.integers(1, n_posts + 1, n_links), "hashtag_id": hashtags})
    return posts.select(POSTS_SCHEMA.names()).cast(POSTS_SCHEMA), links.unique()


def test_polars_matches_pandas_reference_on_random_frame() -> None:
    posts, links = random_frames(4_000, 12_000, seed=1, n_hashtags=300, n_accounts=9)
    got = run(posts.lazy(), links.lazy())
    reference = hashtag_performance_pd(frame_to_pandas(posts), frame_to_pandas(links), now=NOW)
    expected = frame_from_pandas(reference, PERFORMANCE_SCHEMA).sort(PERF_KEYS)
    assert got.height > 1_000
    assert set(got["window"]) == {"7d", "30d", "90d", "365d", "all"}
    assert_frame_equal(got, expected, rel_tol=1e-9, abs_tol=0.0)
