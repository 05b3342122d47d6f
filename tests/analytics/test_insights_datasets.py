"""Real data: the rOpenSci Twitter Analytics export through the mapping, the performance table
and the lift figures, each checked against a plain pandas/numpy computation written here (it
does not call the polars code)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats  # type: ignore[import-untyped]

from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.frames import LINKS_SCHEMA, POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.lift import hashtag_lift
from hashtag_core.analytics.performance import hashtag_performance
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.mappings import iter_mapped_records

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
ROPENSCI = DATASETS / "ropensci-twitter-analytics"
REL = 1e-9
Tweets = tuple[pd.DataFrame, pd.DataFrame, datetime]

pytestmark = [
    pytest.mark.datasets,
    pytest.mark.skipif(not ROPENSCI.is_dir(), reason=f"dataset folder {ROPENSCI} is absent"),
]


@pytest.fixture(scope="module")
def tweets() -> Tweets:
    """Posts and (post_id, hashtag key) rows of every monthly export, and a `now` after them."""
    posts, tags = [], []
    for path in sorted(ROPENSCI.glob("tweet_activity_metrics_*.csv")):
        for row in iter_mapped_records(path, "x-analytics"):
            record = row.record
            assert record is not None, row.skip_reason
            post_id = int(str(record["post_id"]))
            posted = datetime.fromisoformat(str(record["posted_at"])).astimezone(UTC)
            posts.append({"post_id": post_id, "posted_at": posted, **_counters(record)})
            tags += [(post_id, key) for key, _ in hashtags_in_post(str(record["text"]), "x")]
    frame = pd.DataFrame(posts)
    assert len(frame) == 1_668
    assert frame["post_id"].is_unique
    now = frame["posted_at"].max().to_pydatetime() + timedelta(days=1)
    return frame, pd.DataFrame(tags, columns=["post_id", "hashtag"]), now


def _counters(record: dict[str, str | int | None]) -> dict[str, float]:
    """The mapped counters as floats, NaN for unknown."""
    names = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
    return {name: np.nan if record[name] is None else float(record[name]) for name in names}  # type: ignore[arg-type]


def _frames(
    posts: pd.DataFrame, tags: pd.DataFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame, dict[str, int]]:
    """POSTS/LINKS frames (one account, UTC calendar fields: the export has no time zone)."""
    ids = {key: i for i, key in enumerate(sorted(tags["hashtag"].unique()), start=1)}
    stamps = posts["posted_at"].dt.tz_convert("UTC")
    counters = {
        name: pl.Series(name, posts[name].to_numpy(), nan_to_null=True).cast(pl.Int64)
        for name in ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
    }
    frame = pl.DataFrame(
        {
            "post_id": posts["post_id"].to_numpy(),
            "account_id": np.ones(len(posts), dtype=np.int64),
            "platform": ["x"] * len(posts),
            "posted_at": pl.Series([t.to_pydatetime() for t in stamps]).dt.cast_time_unit("us"),
            "local_date": [t.date() for t in stamps],
            "local_weekday": [t.isoweekday() for t in stamps],
            "local_hour": [t.hour for t in stamps],
            **counters,
        }
    )
    links = pl.DataFrame(
        {"post_id": tags["post_id"].to_numpy(), "hashtag_id": tags["hashtag"].map(ids).to_numpy()}
    )
    return frame.cast(POSTS_SCHEMA).lazy(), links.cast(LINKS_SCHEMA).lazy(), ids


def _in_window(posts: pd.DataFrame, now: datetime, window: str) -> pd.DataFrame:
    """Posts with now - days <= posted_at <= now."""
    days = WINDOWS[window]
    inside = posts["posted_at"] <= pd.Timestamp(now)
    if days is not None:
        inside &= posts["posted_at"] >= pd.Timestamp(now) - pd.Timedelta(days=days)
    return posts[inside]


def _close(got: float | None, expected: float) -> bool:
    """Equal to REL relative (both may be missing)."""
    if got is None or np.isnan(expected):
        return got is None and np.isnan(expected)
    return bool(np.isclose(got, expected, rtol=REL, atol=0.0))


def test_performance_table_equals_plain_computation(tweets: Tweets) -> None:
    posts, tags, now = tweets
    posts_pl, links_pl, ids = _frames(posts, tags)
    table = hashtag_performance(posts_pl, links_pl, now=now).collect()
    table = table.filter(pl.col("platform") == "*")
    checked = 0
    for window in WINDOWS:
        inside = _in_window(posts, now, window)
        engagement = inside[["likes", "comments", "shares", "saves"]].fillna(0).sum(axis=1)
        virality = inside["shares"] / inside["impressions"].where(inside["impressions"] > 0)
        tagged = tags.merge(inside.assign(e=engagement, v=virality), on="post_id")
        for key, group in tagged.groupby("hashtag"):
            row = table.filter(pl.col("window") == window, pl.col("hashtag_id") == ids[str(key)])
            got = row.row(0, named=True)
            assert got["posts"] == len(group)
            assert _close(got["avg_engagement"], group["e"].mean())
            assert _close(got["median_engagement"], float(np.median(group["e"])))
            assert got["virality_posts"] == group["v"].notna().sum()
            assert _close(got["virality"], group["v"].mean())
            assert _close(got["avg_impressions"], group["impressions"].mean())
            assert got["reach_posts"] == 0
            assert got["er_follower"] is None
            checked += 1
    assert checked == table.height > 200


def test_lift_and_interval_equal_plain_computation(tweets: Tweets) -> None:
    posts, tags, now = tweets
    posts_pl, links_pl, ids = _frames(posts, tags)
    relative = relative_performance(posts_pl, now=now, goals=["engagement"])
    lift = hashtag_lift(relative, links_pl).collect().filter(pl.col("platform") == "*")
    checked = 0
    for window in WINDOWS:
        inside = _in_window(posts, now, window)
        value = 1 + inside[["likes", "comments", "shares", "saves"]].fillna(0).sum(axis=1)
        # one account: the baseline is the median over the window; ratios capped at 20x
        ratio = np.clip(np.log(value / np.median(value)), -np.log(20), np.log(20))
        tagged = tags.merge(inside.assign(r=ratio), on="post_id")
        for key, group in tagged.groupby("hashtag"):
            got = lift.filter(pl.col("window") == window, pl.col("hashtag_id") == ids[str(key)])
            row = got.row(0, named=True)
            r = group["r"].to_numpy()
            n, mean = len(r), float(r.mean())
            assert row["posts"] == n
            assert _close(row["mean_log_ratio"], mean)
            assert _close(row["lift"], float(np.expm1(mean)))
            if n < 5:  # too few posts for the estimate's verdict (effects.MIN_POSTS)
                assert row["verdict"] == "too_few_posts"
            if n < 2:
                assert row["ci_low"] is None
                continue
            se = float(r.std(ddof=1)) / np.sqrt(n)
            t = float(stats.t.ppf(0.975, n - 1))  # scipy, not the code under test
            low, high = np.expm1(mean - t * se), np.expm1(mean + t * se)
            assert _close(row["sd_log_ratio"], float(r.std(ddof=1)))
            assert _close(row["ci_low"], float(low))
            assert _close(row["ci_high"], float(high))
            # The verdict is the hashtag estimate's (not closed-form: tests/analytics/test_effects.py)
            checked += 1
    assert checked > 50
    rstats = lift.filter(pl.col("window") == "all", pl.col("hashtag_id") == ids["rstats"])
    assert rstats["posts"][0] > 900  # docs/datasets.md: #rstats on 935 tweets
