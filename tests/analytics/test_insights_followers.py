"""Follower growth after posts (join_asof on snapshots) and content reach, hand-worked and vs pandas."""

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.analytics.effects import MIN_POSTS
from hashtag_core.analytics.followers import (
    content_reach,
    follower_lift,
    follower_relative,
    post_follower_growth,
)
from hashtag_core.analytics.insight_frames import (
    CONTENT_REACH_SCHEMA,
    FOLLOWERS_SCHEMA,
    LIFT_SCHEMA,
    RELATIVE_SCHEMA,
)
from hashtag_core.analytics.stats import t975
from tests.analytics.test_insights_lift import ABS, LIFT_KEYS, REL
from tests.analytics.test_performance import NOW, make_links, make_posts, random_frames
from tests.oracles.reference_insights import (
    NOT_CLOSED_FORM,
    content_reach_pd,
    follower_lift_pd,
    post_follower_growth_pd,
)
from tests.oracles.reference_pandas import frame_from_pandas, frame_to_pandas

T0 = NOW - timedelta(days=20)


def snapshots(rows: list[tuple[int, datetime, int]]) -> pl.LazyFrame:
    """FOLLOWERS_SCHEMA frame from (account_id, captured_at, followers)."""
    return pl.DataFrame(rows, schema=FOLLOWERS_SCHEMA, orient="row").lazy()


HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SNAPSHOTS = snapshots(
    [
        (1, T0, 1000),
        (1, T0 + HOUR, 1010),
        (1, T0 + 3 * DAY, 1050),
        (1, T0 + 3 * DAY + 2 * HOUR, 1060),
        (1, T0 + 10 * DAY, 1100),
        (1, NOW + DAY, 5000),  # after now: never used
        (2, T0, 500),  # another account: never matched to account 1's posts
        (2, T0 + 3 * DAY, 9999),
    ]
)
POSTS = make_posts(
    [
        {"post_id": 1, "posted_at": T0},  # start 1000 (at t), end 1050 (at t + 3 d)
        {"post_id": 2, "posted_at": T0 + 30 * timedelta(minutes=1)},  # 1010 and 1060
        {"post_id": 3, "posted_at": T0 + 5 * DAY},  # next snapshot 5 days later: unknown
        {"post_id": 4, "posted_at": NOW - DAY},  # t + 3 d is after now: unknown
    ]
)


def test_growth_uses_the_first_snapshot_at_or_after_each_end() -> None:
    out = post_follower_growth(POSTS, SNAPSHOTS, now=NOW).collect().sort("post_id")
    growth = dict(zip(out["post_id"], out["growth"], strict=True))
    # post 1: ln(1050 / 1000); post 2: start at T0 + 1 h (1010), end at T0 + 3 d + 2 h (1060)
    assert growth[1] == pytest.approx(math.log(1050 / 1000))
    assert growth[2] == pytest.approx(math.log(1060 / 1010))
    # post 3: the first snapshot after it is 5 days later (> max_gap of 1 day); post 4: future
    assert growth[3] is None
    assert growth[4] is None
    # a wider gap lets post 3 use T0 + 10 d (1100) for both ends: growth 0
    wide = post_follower_growth(POSTS, SNAPSHOTS, now=NOW, max_gap=timedelta(days=6)).collect()
    assert wide.filter(pl.col("post_id") == 3)["growth"][0] == 0.0


def test_excess_growth_against_the_account_mean() -> None:
    relative = follower_relative(POSTS, SNAPSHOTS, now=NOW).collect()
    assert relative.schema == RELATIVE_SCHEMA
    rows = relative.filter(pl.col("window") == "all").sort("post_id")
    g1, g2 = math.log(1.05), math.log(1060 / 1010)
    # baseline = mean(g1, g2) = (g1 + g2) / 2; excess = -/+ (g2 - g1) / 2
    assert rows["baseline"].to_list() == pytest.approx([(g1 + g2) / 2] * 2)
    assert rows["log_ratio"].to_list() == pytest.approx([(g1 - g2) / 2, (g2 - g1) / 2])
    # posts 1 and 2 are 20 days old: in 30d, 90d, 365d and all, not in 7d
    assert sorted(set(relative["window"].cast(pl.String))) == ["30d", "365d", "90d", "all"]


def test_skewed_growth_is_centred_on_the_mean_not_the_median() -> None:
    # Growth 1%, 1%, 1% and 5% (one post followed by a jump): median 1%, mean 2%. Against the
    # median every post would be at or above "usual" (excess 0, 0, 0, +4%: mean +1%), so a tag
    # on random posts would look like a driver; against the mean the excesses sum to 0.
    start = NOW - timedelta(days=30)
    day_posts, snaps = [], []
    for i, growth in enumerate([0.01, 0.01, 0.01, 0.05]):
        at = start + timedelta(days=5 * i)
        day_posts.append({"post_id": i + 1, "posted_at": at})
        snaps += [(1, at, 100_000), (1, at + 3 * DAY, round(100_000 * math.exp(growth)))]
    relative = (
        follower_relative(make_posts(day_posts), snapshots(snaps), now=NOW)
        .filter(pl.col("window") == "all")
        .sort("post_id")
        .collect()
    )
    values = relative["value"].to_list()
    mean = sum(values) / 4
    assert values[3] - values[0] == pytest.approx(0.04, abs=1e-4)
    assert relative["baseline"].to_list() == pytest.approx([mean] * 4, rel=1e-12)
    assert relative["log_ratio"].to_list() == pytest.approx([v - mean for v in values])
    assert sum(relative["log_ratio"]) == pytest.approx(0.0, abs=1e-15)
    # the follower lift of a tag on every post is therefore exactly 0, with a symmetric CI
    links = make_links([(i, 5) for i in range(1, 5)])
    lift = follower_lift(make_posts(day_posts), links, snapshots(snaps), now=NOW).collect()
    row = lift.filter(pl.col("account_id") == 1, pl.col("window") == "all").row(0, named=True)
    assert row["mean_log_ratio"] == pytest.approx(0.0, abs=1e-15)
    assert math.log1p(row["ci_low"]) == pytest.approx(-math.log1p(row["ci_high"]))
    # four posts are under MIN_POSTS: no estimate and no verdict
    assert row["posts"] == 4
    assert row["verdict"] == "too_few_posts"
    assert row["score"] is None


def test_follower_lift_of_a_driver_tag() -> None:
    # account 1 posts every day at noon; followers grow 0.1% a day, plus 1% in the 3 days
    # after each #9 post (days 0 and 10): their growth is ln(1.003 * 1.01)-ish vs ~ln(1.003).
    start = NOW - timedelta(days=40)
    day_posts, snaps, followers = [], [], 10_000.0
    for day in range(40):
        at = start + timedelta(days=day)
        day_posts.append({"post_id": day + 1, "posted_at": at})
        snaps.append((1, at, round(followers)))
        followers *= 1.001 * (1.01 ** (1 / 3) if day % 10 in (0, 1, 2) and day < 20 else 1)
    links = make_links([(1, 9), (11, 9)] + [(d, 8) for d in range(2, 40, 3)])
    out = follower_lift(make_posts(day_posts), links, snapshots(snaps), now=NOW).collect()
    assert out.schema == LIFT_SCHEMA
    row = {
        r["hashtag_id"]: r
        for r in out.filter(pl.col("account_id") == 1, pl.col("window") == "all").iter_rows(
            named=True
        )
    }
    # #9 posts see about +1% over the median 3-day growth; t interval with n = 2 is wide
    assert row[9]["goal"] == "followers"
    assert row[9]["posts"] == 2
    assert row[9]["lift"] == pytest.approx(0.01, abs=0.002)
    assert row[8]["lift"] < row[9]["lift"]


def test_content_reach_hand_worked() -> None:
    posts = make_posts(
        [
            {"post_id": 1, "reach": 50, "impressions": 100},  # 0.5
            {"post_id": 2, "reach": 80, "impressions": 100},  # 0.8
            {"post_id": 3, "reach": 90, "impressions": 0},  # no ratio (impressions 0)
            {"post_id": 4, "reach": None, "impressions": 100},  # no ratio (reach unknown)
        ]
    )
    out = content_reach(posts, make_links([(i, 3) for i in range(1, 5)]), now=NOW).collect()
    assert out.schema == CONTENT_REACH_SCHEMA
    row = out.filter(pl.col("platform") == "*", pl.col("window") == "all").row(0, named=True)
    # mean 0.65, sd = sqrt(2 * 0.15^2 / 1) = 0.212132, se = 0.15, t(1) = 12.7062
    assert row["posts"] == 2
    assert row["reach_ratio"] == pytest.approx(0.65)
    assert row["ci_low"] == pytest.approx(0.65 - t975(1) * 0.15)
    assert row["ci_high"] == pytest.approx(0.65 + t975(1) * 0.15)


def test_followers_schema_is_checked() -> None:
    bad = pl.LazyFrame({"account_id": [1], "captured_at": [NOW], "followers": [1.0]})
    with pytest.raises(ValueError, match="followers frame"):
        post_follower_growth(POSTS, bad, now=NOW)


def test_followers_and_reach_match_reference_on_random_frame() -> None:
    posts, links = random_frames(3_000, 9_000, seed=3, n_hashtags=60, n_accounts=7)
    rng = np.random.default_rng(3)
    # one snapshot per post, 0-30 hours after it, with the post's follower count
    snaps = posts.select(
        "account_id",
        captured_at=pl.col("posted_at")
        + pl.duration(hours=pl.lit(pl.Series(rng.integers(0, 30, posts.height)))),
        followers="followers",
    )
    posts_pd, links_pd, snaps_pd = map(frame_to_pandas, (posts, links, snaps))
    growth = post_follower_growth(posts.lazy(), snaps.lazy(), now=NOW).collect().sort("post_id")
    growth_ref = post_follower_growth_pd(posts_pd, snaps_pd, now=NOW).sort_values("post_id")
    known = growth["growth"].is_not_null()
    assert known.sum() > 500
    assert known.to_list() == growth_ref["growth"].notna().to_list()
    assert growth["growth"].to_numpy()[known.to_numpy()] == pytest.approx(
        growth_ref["growth"].to_numpy()[known.to_numpy()], rel=1e-12
    )
    lift = follower_lift(posts.lazy(), links.lazy(), snaps.lazy(), now=NOW).collect()
    lift_ref = follower_lift_pd(posts_pd, links_pd, snaps_pd, now=NOW)
    # the reference computes the closed-form columns only (test_effects.py checks the rest)
    assert_frame_equal(
        lift.sort(LIFT_KEYS).drop(NOT_CLOSED_FORM),
        frame_from_pandas(lift_ref, LIFT_SCHEMA).sort(LIFT_KEYS).drop(NOT_CLOSED_FORM),
        rel_tol=REL,
        abs_tol=ABS,
    )
    assert set(lift.filter(pl.col("posts") < MIN_POSTS)["verdict"]) == {"too_few_posts"}
    judged = lift.filter(pl.col("posts") >= MIN_POSTS)
    assert judged.height > 100
    assert judged["score"].null_count() == 0
    assert set(judged["verdict"]) <= {"lifts", "underperforms", "unclear"}
    keys = ["platform", "account_id", "window", "hashtag_id"]
    reach = content_reach(posts.lazy(), links.lazy(), now=NOW).collect()
    reach_ref = frame_from_pandas(
        content_reach_pd(posts_pd, links_pd, now=NOW), CONTENT_REACH_SCHEMA
    )
    assert_frame_equal(reach.sort(keys), reach_ref.sort(keys), rel_tol=REL, abs_tol=ABS)
