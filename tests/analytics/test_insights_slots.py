"""When to post: slot lift, best slots and momentum, hand-worked and against the pandas reference."""

import math
from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.analytics.effects import MIN_POSTS
from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    MOMENTUM_SCHEMA,
    SLOT_SCHEMA,
    VERDICTS,
)
from hashtag_core.analytics.slots import best_slots, hashtag_momentum, slot_lift
from tests.analytics.test_insights_lift import ABS, REL
from tests.analytics.test_performance import NOW, make_links, make_posts, random_frames
from tests.oracles.reference_insights import (
    NOT_CLOSED_FORM_SLOT,
    best_slots_pd,
    hashtag_momentum_pd,
    slot_lift_pd,
)
from tests.oracles.reference_pandas import frame_from_pandas, frame_to_pandas

SLOT_KEYS = ["platform", "account_id", "hashtag_id", "weekday", "hour"]
T1 = 12.706204736174676  # t975 with 1 degree of freedom
LN2 = math.log(2)


def test_slot_lift_hand_worked() -> None:
    saturday_10 = {"local_weekday": 6, "local_hour": 10}
    posts = make_posts(
        [
            {"post_id": 1, "likes": 9, **saturday_10},  # value 10
            {"post_id": 2, "likes": 39, **saturday_10},  # value 40
            {"post_id": 3, "likes": 19, "local_weekday": 1, "local_hour": 9},  # value 20
            # value 20, no local time: in the baseline, in no cell
            {"post_id": 4, "likes": 19, "local_weekday": None, "local_hour": None},
        ]
    )
    out = slot_lift(posts, make_links([(1, 5), (2, 5)]), now=NOW).collect()
    assert out.schema == SLOT_SCHEMA
    # baseline = median(10, 40, 20, 20) = 20 -> log-ratios ln 0.5, ln 2, 0, 0
    account = out.filter(pl.col("account_id") == 1).sort(SLOT_KEYS)
    assert account.select("hashtag_id", "weekday", "hour", "posts").rows() == [
        (0, 1, 9, 1),  # all posts, Monday 9 h: post 3 only
        (0, 6, 10, 2),  # all posts, Saturday 10 h: posts 1 and 2
        (5, 6, 10, 2),
    ]
    saturday = account.row(1, named=True)
    # mean (ln 0.5 + ln 2) / 2 = 0; var = 2 (ln 2)^2 / 1; se = sqrt(var / 2) = ln 2
    assert saturday["mean_log_ratio"] == pytest.approx(0.0, abs=1e-15)
    assert saturday["sd_log_ratio"] == pytest.approx(LN2 * math.sqrt(2))
    assert saturday["lift"] == pytest.approx(0.0, abs=1e-15)
    assert saturday["ci_low"] == pytest.approx(math.exp(-T1 * LN2) - 1)
    assert saturday["ci_high"] == pytest.approx(math.exp(T1 * LN2) - 1)
    monday = account.row(0, named=True)
    assert monday["lift"] == 0.0
    assert monday["ci_low"] is None
    # the scope levels repeat the one account's figures
    assert out.filter(pl.col("platform") == "*").height == 3


def _slots(rows: list[tuple[int, int, int, float | None, float, float]]) -> pl.LazyFrame:
    """SLOT_SCHEMA rows from (weekday, hour, posts, score, lift, ci_low); scope "*", hashtag 0."""
    return pl.DataFrame(
        [
            {"platform": "*", "account_id": 0, "hashtag_id": 0, "weekday": wd, "hour": h,
             "posts": n, "mean_log_ratio": 0.0, "sd_log_ratio": 1.0, "lift": lift,
             "ci_low": low, "ci_high": 1.0, "score": score,
             "score_low": None if score is None else score - 0.1,
             "score_high": None if score is None else score + 0.1,
             "verdict": "unclear" if score is not None else "too_few_posts"}
            for wd, h, n, score, lift, low in rows
        ],
        schema=SLOT_SCHEMA,
    ).lazy()  # fmt: skip


def test_best_slots_rank_by_score_with_a_minimum_of_posts() -> None:
    slots = _slots(
        [
            (1, 9, 40, 0.10, 0.30, 0.05),
            (6, 10, 30, 0.40, 0.80, 0.10),  # best score
            (5, 20, 50, 0.20, 0.25, 0.50),  # best raw lower bound, but second on the score
            (7, 11, 4, 0.90, 2.00, 0.90),  # great but too few posts (min 5)
            (2, 12, 50, 0.10, 0.35, 0.05),  # ties with Monday 9 on score: higher lift first
            (3, 8, 60, None, 0.00, 0.00),  # no estimate: cannot be ranked
            (4, 8, 60, -0.20, 0.05, -0.30),
        ]
    )
    out = best_slots(slots, min_posts=5, limit=4).collect()
    assert out.schema == BEST_SLOT_SCHEMA
    assert out.select("weekday", "hour", "rank").rows() == [
        (6, 10, 1),
        (5, 20, 2),
        (2, 12, 3),
        (1, 9, 4),
    ]
    # the limit keeps the top cells; a lower min_posts lets the 4-post cell in first
    assert best_slots(slots, limit=1).collect().select("weekday", "hour").rows() == [(6, 10)]
    top = best_slots(slots, min_posts=4, limit=2).collect()
    assert top.select("weekday", "hour", "rank").rows() == [(7, 11, 1), (6, 10, 2)]
    with pytest.raises(ValueError, match="min_posts"):
        best_slots(slots, min_posts=1)


def test_momentum_hand_worked() -> None:
    recent, previous = NOW - timedelta(days=1), NOW - timedelta(days=45)
    posts = make_posts(
        [
            # account 1, recent period (<= 30 days): values 10, 20, 40 -> median 20
            {"post_id": 1, "likes": 9, "posted_at": recent},
            {"post_id": 2, "likes": 19, "posted_at": recent},  # #5: ln(20/20) = 0
            {"post_id": 3, "likes": 39, "posted_at": recent},  # #5: ln(40/20) = ln 2
            # previous period (30..60 days): values 10, 20, 5 -> median 10
            {"post_id": 4, "likes": 9, "posted_at": previous},
            {"post_id": 5, "likes": 19, "posted_at": previous},  # #5: ln 2
            {"post_id": 6, "likes": 4, "posted_at": previous},  # #5: ln 0.5
            {"post_id": 7, "likes": 99, "posted_at": NOW - timedelta(days=61)},  # neither
            # account 2: #7 at 4x the median recently, at the median before; no spread at all
            *({"post_id": 10 + i, "account_id": 2, "likes": 9, "posted_at": recent}
              for i in range(3)),
            *({"post_id": 13 + i, "account_id": 2, "likes": 39, "posted_at": recent}
              for i in range(2)),
            *({"post_id": 20 + i, "account_id": 2, "likes": 9, "posted_at": previous}
              for i in range(5)),
        ]
    )  # fmt: skip
    links = make_links([(2, 5), (3, 5), (5, 5), (6, 5), (7, 5), (13, 7), (14, 7), (20, 7), (21, 7)])
    out = hashtag_momentum(posts, links, now=NOW).collect()
    assert out.schema == MOMENTUM_SCHEMA
    five = out.filter(pl.col("account_id") == 1, pl.col("hashtag_id") == 5).row(0, named=True)
    # recent: mean ln2/2, var (ln 2)^2 / 2; previous: mean 0, var 2 (ln 2)^2
    # v1 = (ln 2)^2 / 4 = 0.120113, v2 = (ln 2)^2 = 0.480453, se = sqrt(0.600566) = 0.774962
    # Welch df = 0.600566^2 / (0.120113^2 + 0.480453^2) = 1.47 -> floored to 1, t = 12.7062
    assert (five["recent_posts"], five["previous_posts"]) == (2, 2)
    assert five["difference_log"] == pytest.approx(LN2 / 2)
    se = math.sqrt(LN2**2 / 4 + LN2**2)
    assert five["ci_low"] == pytest.approx(math.exp(LN2 / 2 - T1 * se) - 1)
    assert five["ci_high"] == pytest.approx(math.exp(LN2 / 2 + T1 * se) - 1)
    assert five["direction"] == "flat"
    seven = out.filter(pl.col("account_id") == 2, pl.col("hashtag_id") == 7).row(0, named=True)
    # recent median of 10, 10, 10, 40, 40 is 10: #7 at ln 4 twice; before: 0 twice.
    # Both variances are 0: the interval is the point ln 4, so the change +300% is "rising"
    assert seven["change"] == pytest.approx(3.0)
    assert seven["ci_low"] == pytest.approx(3.0)
    assert seven["direction"] == "rising"
    # a hashtag seen in only one period has the other's count 0 and no interval
    only = hashtag_momentum(posts, make_links([(2, 8)]), now=NOW).collect()
    row = only.filter(pl.col("account_id") == 1).row(0, named=True)
    assert (row["recent_posts"], row["previous_posts"]) == (1, 0)
    assert row["ci_low"] is None
    assert row["direction"] == "flat"


def test_momentum_rejects_bad_days() -> None:
    with pytest.raises(ValueError, match="days"):
        hashtag_momentum(make_posts([{"post_id": 1}]), make_links([]), now=NOW, days=0)


def test_slots_and_momentum_match_reference_on_random_frame() -> None:
    posts, links = random_frames(3_000, 9_000, seed=2, n_hashtags=60, n_accounts=7)
    posts_pd, links_pd = frame_to_pandas(posts), frame_to_pandas(links)
    slots = slot_lift(posts.lazy(), links.lazy(), now=NOW).collect().sort(SLOT_KEYS)
    expected = frame_from_pandas(slot_lift_pd(posts_pd, links_pd, now=NOW), SLOT_SCHEMA)
    # the reference computes the raw (closed-form) columns; the cell estimate is the joint
    # fit's (tests/analytics/test_effects.py)
    assert_frame_equal(
        slots.drop(NOT_CLOSED_FORM_SLOT),
        expected.sort(SLOT_KEYS).drop(NOT_CLOSED_FORM_SLOT),
        rel_tol=REL,
        abs_tol=ABS,
    )
    assert set(slots["verdict"]) <= set(VERDICTS)
    few = slots.filter(pl.col("posts") < MIN_POSTS)
    assert set(few["verdict"]) == {"too_few_posts"}
    assert few["score"].null_count() == few.height
    assert slots.filter(pl.col("posts") >= MIN_POSTS)["score"].null_count() == 0
    # the ranking rule, applied by the reference to the production estimates
    best = best_slots(slots.lazy()).collect().sort(SLOT_KEYS)
    best_ref = best_slots_pd(frame_to_pandas(slots))
    assert best.height > 50
    assert best["rank"].max() == 3  # some lists have more cells than the limit
    assert best["posts"].min() >= MIN_POSTS  # type: ignore[operator]
    assert_frame_equal(best, frame_from_pandas(best_ref, BEST_SLOT_SCHEMA).sort(SLOT_KEYS))
    keys = ["platform", "account_id", "hashtag_id"]
    # 60-day periods so that the random frame has posts in both
    momentum = hashtag_momentum(posts.lazy(), links.lazy(), now=NOW, days=60).collect()
    momentum_ref = hashtag_momentum_pd(posts_pd, links_pd, now=NOW, days=60)
    assert momentum.filter(pl.col("ci_low").is_not_null()).height > 100
    assert_frame_equal(
        momentum.sort(keys),
        frame_from_pandas(momentum_ref, MOMENTUM_SCHEMA).sort(keys),
        rel_tol=REL,
        abs_tol=ABS,
    )
