"""Tests of `trend_cells` and `daily_series`: hand-worked frames plus a polars-vs-pandas check."""

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.analytics.frames import DAILY_SCHEMA, LINKS_SCHEMA, TREND_CELL_SCHEMA
from hashtag_core.analytics.trends import daily_series, trend_cells
from tests.analytics.test_performance import make_links, make_posts, random_frames
from tests.oracles.reference_pandas import (
    daily_series_pd,
    frame_from_pandas,
    frame_to_pandas,
    trend_cells_pd,
)

CELL_KEYS = ["platform", "account_id", "hashtag_id", "weekday", "hour"]
DAY_KEYS = ["platform", "account_id", "hashtag_id", "local_date"]


def cells(posts: pl.LazyFrame, links: pl.LazyFrame) -> pl.DataFrame:
    """Collect trend_cells sorted by its keys."""
    return trend_cells(posts, links).collect().sort(CELL_KEYS)


def days(posts: pl.LazyFrame, links: pl.LazyFrame) -> pl.DataFrame:
    """Collect daily_series sorted by its keys."""
    return daily_series(posts, links).collect().sort(DAY_KEYS)


def test_trend_cells_by_scope_with_all_hashtags_row() -> None:
    posts = make_posts(
        [
            {"post_id": 1, "likes": 10, "local_weekday": 1, "local_hour": 9},  # x/1, tag 1
            {"post_id": 2, "likes": 20, "local_weekday": 1, "local_hour": 9},  # x/1, tags 1, 2
            {"post_id": 3, "account_id": 2, "platform": "instagram", "shares": 5,
             "local_weekday": 3, "local_hour": 18},  # no hashtag
            {"post_id": 4, "local_weekday": 1, "local_hour": 10},  # no hashtag, all NULL: 0
        ]
    )  # fmt: skip
    links = make_links([(1, 1), (2, 1), (2, 2)])
    x_rows = [
        (0, 1, 9, 2, 30, 15.0),  # posts 1 + 2: 10 + 20, 30 / 2
        (0, 1, 10, 1, 0, 0.0),  # post 4 (no hashtag) still in ALL_HASHTAGS
        (1, 1, 9, 2, 30, 15.0),  # posts 1 + 2
        (2, 1, 9, 1, 20, 20.0),  # post 2
    ]
    expected = pl.DataFrame(
        [
            ("*", 0, 0, 1, 9, 2, 30, 15.0),
            ("*", 0, 0, 1, 10, 1, 0, 0.0),
            ("*", 0, 0, 3, 18, 1, 5, 5.0),  # post 3 (no hashtag)
            ("*", 0, 1, 1, 9, 2, 30, 15.0),
            ("*", 0, 2, 1, 9, 1, 20, 20.0),
            ("instagram", 0, 0, 3, 18, 1, 5, 5.0),
            ("instagram", 2, 0, 3, 18, 1, 5, 5.0),
            *[("x", 0, *row) for row in x_rows],
            *[("x", 1, *row) for row in x_rows],
        ],
        schema=TREND_CELL_SCHEMA,
        orient="row",
    )
    assert_frame_equal(cells(posts, links), expected)


def test_trend_cells_skip_posts_without_local_time() -> None:
    posts = make_posts(
        [
            {"post_id": 1, "likes": 4, "local_weekday": 2, "local_hour": 8},
            {"post_id": 2, "likes": 6, "local_weekday": None, "local_hour": 8},
        ]
    )
    out = cells(posts, make_links([(1, 1), (2, 1)]))
    assert out["posts"].to_list() == [1] * out.height  # post 2 cannot be placed
    assert out["engagement_sum"].to_list() == [4] * out.height


def test_daily_series_by_scope() -> None:
    june_1, june_2 = date(2024, 6, 1), date(2024, 6, 2)
    posts = make_posts(
        [
            {"post_id": 1, "account_id": 1, "likes": 10, "local_date": june_1},  # tag 1
            {"post_id": 2, "account_id": 1, "likes": 5, "local_date": june_1},  # no tag
            {"post_id": 3, "account_id": 2, "likes": 7, "local_date": june_2},  # tag 1
        ]
    )
    links = make_links([(1, 1), (3, 1)])
    every_account = [
        (0, june_1, 2, 15),  # posts 1 + 2
        (0, june_2, 1, 7),
        (1, june_1, 1, 10),
        (1, june_2, 1, 7),
    ]
    expected = pl.DataFrame(
        [
            *[("*", 0, *row) for row in every_account],
            *[("x", 0, *row) for row in every_account],
            ("x", 1, 0, june_1, 2, 15),
            ("x", 1, 1, june_1, 1, 10),
            ("x", 2, 0, june_2, 1, 7),
            ("x", 2, 1, june_2, 1, 7),
        ],
        schema=DAILY_SCHEMA,
        orient="row",
    )
    assert_frame_equal(days(posts, links), expected)


def test_duplicate_links_count_once_in_trends() -> None:
    posts = make_posts([{"post_id": 1, "likes": 3}])
    once, twice = make_links([(1, 1)]), make_links([(1, 1), (1, 1)])
    assert_frame_equal(cells(posts, twice), cells(posts, once))
    assert_frame_equal(days(posts, twice), days(posts, once))


def test_output_schemas() -> None:
    posts, links = make_posts([{"post_id": 1}]), make_links([(1, 1)])
    assert trend_cells(posts, links).collect_schema() == TREND_CELL_SCHEMA
    assert daily_series(posts, links).collect_schema() == DAILY_SCHEMA
    assert cells(posts, links).schema == TREND_CELL_SCHEMA
    assert days(posts, links).schema == DAILY_SCHEMA


def test_schema_mismatch_raises() -> None:
    posts = make_posts([{"post_id": 1}]).with_columns(pl.col("local_hour").cast(pl.Int32))
    with pytest.raises(ValueError, match="posts frame.*local_hour: expected Int8, got Int32"):
        trend_cells(posts, make_links([(1, 1)]))
    links = pl.LazyFrame({"post_id": [1]}, schema={"post_id": pl.Int64})
    with pytest.raises(ValueError, match="links frame.*hashtag_id: expected Int64, got missing"):
        daily_series(make_posts([{"post_id": 1}]), links)
    assert LINKS_SCHEMA.names() == ["post_id", "hashtag_id"]


def test_polars_matches_pandas_reference_on_random_frame() -> None:
    posts, links = random_frames(4_000, 12_000, seed=2, n_hashtags=300, n_accounts=9)
    pd_posts, pd_links = frame_to_pandas(posts), frame_to_pandas(links)

    got_cells = cells(posts.lazy(), links.lazy())
    ref_cells = frame_from_pandas(trend_cells_pd(pd_posts, pd_links), TREND_CELL_SCHEMA)
    assert got_cells.height > 1_000
    assert_frame_equal(got_cells, ref_cells.sort(CELL_KEYS), rel_tol=1e-9, abs_tol=0.0)

    got_days = days(posts.lazy(), links.lazy())
    ref_days = frame_from_pandas(daily_series_pd(pd_posts, pd_links), DAILY_SCHEMA)
    assert got_days.height > 1_000
    assert_frame_equal(got_days, ref_days.sort(DAY_KEYS), check_exact=True)
