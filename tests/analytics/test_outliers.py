"""Post outliers against the account's robust spread (docs/metrics.md, "Alerts")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from hashtag_core.analytics.outliers import OUTLIER_POSTS_SCHEMA, post_outliers

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _posts(newest: list[int], *, account: int = 1, older: int = 30) -> pl.DataFrame:
    """`older` posts of engagement 80-119 (3 to 61 days old) and `newest` ones 2 days old."""
    engagement = [80 + (i * 7) % 40 for i in range(older)] + newest
    posted = [NOW - timedelta(days=3 + 2 * i) for i in range(older)]
    posted += [NOW - timedelta(days=2)] * len(newest)
    return pl.DataFrame(
        {
            "post_id": [account * 1000 + i for i in range(len(engagement))],
            "account_id": [account] * len(engagement),
            "posted_at": posted,
            "engagement": engagement,
        },
        schema=OUTLIER_POSTS_SCHEMA,
    )


def _run(frame: pl.DataFrame, multiple: float = 3.0, min_posts: int = 10) -> pl.DataFrame:
    return post_outliers(
        frame.lazy(),
        now=NOW,
        multiple=multiple,
        min_age=timedelta(hours=24),
        max_age=timedelta(days=7),
        min_posts=min_posts,
    ).collect()


def test_the_worked_example_above():
    found = _run(_posts([5000]))
    assert found["post_id"].to_list() == [1030]
    assert found["log_ratio"][0] == pytest.approx(3.902273, abs=1e-6)
    assert found["spread"][0] == pytest.approx(0.166448, abs=1e-6)
    assert found["deviations"][0] == pytest.approx(23.444, abs=1e-3)


def test_below_and_ordinary_posts():
    below = _run(_posts([30]))
    assert below["post_id"].to_list() == [1030]
    assert below["log_ratio"][0] == pytest.approx(-1.161133, abs=1e-6)
    assert below["deviations"][0] == pytest.approx(-7.35488, abs=1e-5)
    assert _run(_posts([105])).height == 0  # an ordinary new post
    assert _run(_posts([30]), multiple=8).height == 0  # within 8 spreads


def test_old_posts_small_accounts_and_other_accounts_are_not_judged():
    # The same 5000 post 10 days old is past max_age.
    frame = _posts([5000])
    aged = frame.with_columns(
        pl.when(pl.col("engagement") == 5000)
        .then(pl.lit(NOW - timedelta(days=10)))
        .otherwise(pl.col("posted_at"))
        .alias("posted_at")
    )
    assert _run(aged).height == 0
    assert _run(_posts([5000], older=5)).height == 0  # 6 posts < min_posts
    both = pl.concat([_posts([5000], account=1), _posts([100], account=2)])
    assert _run(both)["account_id"].to_list() == [1]
