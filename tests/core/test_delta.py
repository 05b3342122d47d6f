"""hashtag_performance moved by difference (`aggregates.delta.performance_delta`), on frames
small enough to check by hand: stored - old + new, per row, with rows left without a post
dropped and rows the update does not touch kept as they were."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from hashtag_core.aggregates.delta import PERFORMANCE_KEYS, performance_delta
from hashtag_core.analytics.frames import PERFORMANCE_SCHEMA


def _rows(*rows: tuple[int, int, float]) -> pl.DataFrame:
    """(hashtag_id, posts, avg_engagement) rows of one scope; every post with a known reach of
    100 and no follower count or impressions."""
    records: list[dict[str, Any]] = [
        {
            "platform": "x",
            "account_id": 1,
            "window": "all",
            "hashtag_id": hashtag,
            "posts": posts,
            "avg_engagement": avg,
            "median_engagement": None,
            "er_follower": None,
            "er_follower_posts": 0,
            "er_reach": avg / 100,
            "er_reach_posts": posts,
            "virality": None,
            "virality_posts": 0,
            "avg_reach": 100.0,
            "reach_posts": posts,
            "avg_impressions": None,
            "impressions_posts": 0,
        }
        for hashtag, posts, avg in rows
    ]
    return pl.DataFrame(records, schema=PERFORMANCE_SCHEMA)


def test_rows_move_by_the_updated_posts_old_and_new_contributions():
    stored = _rows((1, 2, 15.0), (2, 1, 10.0), (3, 3, 20.0), (5, 2, 15.0))
    old = _rows((1, 1, 10.0), (2, 1, 10.0), (5, 1, 10.0))
    new = _rows((1, 1, 40.0), (4, 1, 7.0))
    medians = (
        pl.DataFrame({"hashtag_id": [1, 3, 4, 5], "median_engagement": [30.0, 20.0, 7.0, 20.0]})
        .with_columns(platform=pl.lit("x"), account_id=pl.lit(1, pl.Int64), window=pl.lit("all"))
        .select(*PERFORMANCE_KEYS, "median_engagement")
    )
    moved = performance_delta(stored, old, new, medians).sort("hashtag_id")
    got = moved.select("hashtag_id", "posts", "avg_engagement", "median_engagement").rows()
    assert got == [
        (1, 2, 30.0, 30.0),  # one post's engagement 10 -> 40: (30 - 10 + 40) / 2
        # 2: its one post lost the hashtag: no post left, no row
        (3, 3, 20.0, 20.0),  # not touched by the update
        (4, 1, 7.0, 7.0),  # new to the hashtag
        (5, 1, 20.0, 20.0),  # one of two posts lost the hashtag: (30 - 10) / 1
    ]
    assert moved["reach_posts"].to_list() == [2, 3, 1, 1]
    # A ratio mean carries rounding of about 1e-16 relative (the module's docstring).
    assert moved["er_reach"].to_list() == pytest.approx([0.3, 0.2, 0.07, 0.2], rel=1e-12)
    assert moved.schema == PERFORMANCE_SCHEMA
