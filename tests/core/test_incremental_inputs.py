"""The incremental pass's inputs, without the database: which windows an updated post moves,
and the lift rows of a pass that has no stored offsets (issue 20: mutants that survived)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.aggregates.incremental import (
    FROZEN_LIFT,
    incremental_frames,
    priors_of,
    windows_of,
)
from hashtag_core.aggregates.service import compute_frames
from hashtag_core.analytics.frames import WINDOWS
from tests.analytics.test_insights_demo import END, build_demo

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _at(*moments: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {"posted_at": list(moments)}, schema={"posted_at": pl.Datetime("us", "UTC")}
    )


def test_a_post_at_a_window_s_either_end_is_in_it_and_one_just_outside_is_not() -> None:
    every = tuple(WINDOWS)
    assert windows_of(_at(NOW), NOW) == every  # the windows end at `now`, inclusive
    assert windows_of(_at(NOW - timedelta(days=7)), NOW) == every  # and start inclusive
    just_before = NOW - timedelta(days=7, microseconds=1)
    assert windows_of(_at(just_before), NOW) == ("30d", "90d", "365d", "all")
    assert windows_of(_at(NOW - timedelta(days=400)), NOW) == ("all",)
    # A post newer than the last full pass (its `now`) is in no window of that pass.
    assert windows_of(_at(NOW + timedelta(microseconds=1)), NOW) == ()
    assert windows_of(_at(NOW + timedelta(days=1), NOW - timedelta(days=20)), NOW) == (
        "30d",
        "90d",
        "365d",
        "all",
    )


@pytest.fixture(scope="module")
def stored() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, pl.DataFrame]]:
    demo = build_demo(3_000)
    posts, links = demo.posts.collect(), demo.links.collect()
    return posts, links, compute_frames(posts, links, now=END, baselines=True)


def test_a_pass_without_stored_offsets_gives_the_rows_of_an_empty_store(stored) -> None:
    # `frozen` is None when the caller has no stored rows to hand over, and an empty frame
    # when none matched: both mean "no offset, the raw spread" for every row.
    posts, links, full = stored
    hashtags = links["hashtag_id"].unique().sort().head(6).to_list()
    common = {
        "now": END,
        "baselines": full["account_baseline"],
        "priors": priors_of(full["hashtag_lift"]),
        "tables": ("hashtag_lift",),
    }
    empty = full["hashtag_lift"].select(FROZEN_LIFT).clear()
    without = incremental_frames(posts, links, hashtags, frozen=None, **common)["hashtag_lift"]
    nothing = incremental_frames(posts, links, hashtags, frozen=empty, **common)["hashtag_lift"]
    assert without.height > 0
    key = ["platform", "account_id", "window", "goal", "hashtag_id"]
    assert_frame_equal(without.sort(key), nothing.sort(key))
