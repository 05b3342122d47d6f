"""period_change on tiny literal frames, worked by hand (docs/metrics.md, "Period change")."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import polars as pl
import pytest

from hashtag_core.analytics.period_change import PERIOD_POSTS_SCHEMA
from tests.oracles.period_change import period_change

START = datetime(2025, 1, 1, tzinfo=UTC)
SPLIT = datetime(2025, 1, 11, tzinfo=UTC)
END = datetime(2025, 1, 21, tzinfo=UTC)
T975_DF1 = 12.706204736174698


def _frames(
    posts: list[tuple[int, int, datetime, int]], links: list[tuple[int, int]]
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    frame = pl.LazyFrame(posts, schema=PERIOD_POSTS_SCHEMA, orient="row")
    tags = pl.LazyFrame(links, schema={"post_id": pl.Int64, "hashtag_id": pl.Int64}, orient="row")
    return frame, tags


def _run(posts, links) -> dict[int, dict]:
    frame, tags = _frames(posts, links)
    out = period_change(frame, tags, start=START, split=SPLIT, end=END).collect()
    return {row["hashtag_id"]: row for row in out.iter_rows(named=True)}


def test_the_momentum_example_over_any_range() -> None:
    now, before = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 5, tzinfo=UTC)
    # current values 10, 20, 40 (median 20), tag 7 on 20 and 40 -> 0, ln 2
    # previous values 10, 20, 5 (median 10), tag 7 on 20 and 5 -> ln 2, -ln 2
    posts = [
        (1, 1, now, 9), (2, 1, now, 19), (3, 1, now, 39),
        (4, 1, before, 9), (5, 1, before, 19), (6, 1, before, 4),
        (7, 1, END, 1000),  # at the end: outside (the range is half-open)
        (8, 1, datetime(2024, 12, 31, tzinfo=UTC), 1000),  # before the start: outside
    ]  # fmt: skip
    links = [(2, 7), (3, 7), (5, 7), (6, 7), (7, 7), (8, 7), (3, 7)]
    row = _run(posts, links)[7]
    assert (row["current_posts"], row["previous_posts"]) == (2, 2)
    ln2 = math.log(2)
    assert row["current_mean_log_ratio"] == pytest.approx(ln2 / 2)
    assert row["previous_mean_log_ratio"] == pytest.approx(0.0, abs=1e-12)
    assert row["change"] == pytest.approx(math.sqrt(2) - 1)  # +41.4%
    # s1^2/n1 = (ln2)^2/2/2 = 0.120, s2^2/n2 = (2 ln2)^2/2/2 = 0.480, df 1.47 -> 1
    se = math.sqrt(ln2**2 / 4 + 4 * ln2**2 / 4)
    assert row["change_ci_low"] == pytest.approx(math.expm1(ln2 / 2 - T975_DF1 * se))
    assert row["change_ci_high"] == pytest.approx(math.expm1(ln2 / 2 + T975_DF1 * se))
    assert row["direction"] == "flat"


def test_each_period_has_its_own_account_median() -> None:
    # An account that doubles everything doubles no hashtag: both periods' log-ratios are 0.
    now, before = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 5, tzinfo=UTC)
    posts = [(1, 1, now, 19), (2, 1, now, 19), (3, 1, before, 9), (4, 1, before, 9)]
    row = _run(posts, [(1, 3), (2, 3), (3, 3), (4, 3)])[3]
    assert row["change"] == pytest.approx(0.0, abs=1e-12)
    # both variances 0: the interval is the point itself, and that is not a rise
    assert row["change_ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert row["change_ci_high"] == pytest.approx(0.0, abs=1e-12)
    assert row["direction"] == "flat"


def test_a_clear_rise_and_a_hashtag_without_a_previous_period() -> None:
    now, before = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 5, tzinfo=UTC)
    # account 1: current values 100 x2 (tag 5) and 1 x2 (untagged) -> median 50.5;
    # previous values 10 x4, tag 5 on two -> log-ratio 0.
    posts = [
        (1, 1, now, 99), (2, 1, now, 99), (3, 1, now, 0), (4, 1, now, 0),
        (5, 1, before, 9), (6, 1, before, 9), (7, 1, before, 9), (8, 1, before, 9),
    ]  # fmt: skip
    # tag 5 also sits on post 1 twice (a duplicate link counts once); tag 6 only now.
    rows = _run(posts, [(1, 5), (1, 5), (2, 5), (5, 5), (6, 5), (3, 6), (4, 6)])
    rise = rows[5]
    assert rise["change"] == pytest.approx(100 / 50.5 - 1)
    assert rise["change_ci_low"] == pytest.approx(100 / 50.5 - 1)  # no spread at all
    assert rise["direction"] == "rising"
    only_now = rows[6]
    assert (only_now["current_posts"], only_now["previous_posts"]) == (2, 0)
    assert only_now["change"] is None
    assert only_now["change_ci_low"] is None
    assert only_now["direction"] == "flat"


def test_the_range_must_be_ordered() -> None:
    frame, tags = _frames([], [])
    with pytest.raises(ValueError, match="start < split < end"):
        period_change(frame, tags, start=SPLIT, split=SPLIT, end=END)
