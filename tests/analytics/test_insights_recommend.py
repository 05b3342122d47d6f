"""Recommendations: selection rules and the plain-language reason, on literal frames."""

from typing import Any

import polars as pl

from hashtag_core.analytics.insight_frames import (
    BEST_SLOT_SCHEMA,
    COOCCURRENCE_SCHEMA,
    LIFT_SCHEMA,
)
from hashtag_core.analytics.recommend import Slot, recommend

NAMES = {1: "BuildTogether", 2: "ad", 3: "tiny", 4: "maybe", 7: "family", 8: "LEGO", 9: "Giveaway"}
PLATFORM, ACCOUNT = "instagram", 5
SCOPE: dict[str, Any] = {"platform": PLATFORM, "account_id": ACCOUNT}


def lift_rows(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """LIFT_SCHEMA rows in the scope above, goal engagement, window all."""
    base = {**SCOPE, "window": "all", "goal": "engagement", "mean_log_ratio": 0.0,
            "sd_log_ratio": 1.0, "weight": 0.5}  # fmt: skip
    return pl.DataFrame([{**base, **row} for row in rows], schema=LIFT_SCHEMA)


LIFT = lift_rows(
    [
        {"hashtag_id": 1, "posts": 45, "lift": 0.58, "ci_low": 0.31, "ci_high": 0.90,
         "score": 0.50, "score_low": 0.25, "score_high": 0.80, "verdict": "lifts"},
        {"hashtag_id": 2, "posts": 30, "lift": -0.36, "ci_low": -0.5, "ci_high": -0.2,
         "score": -0.30, "score_low": -0.45, "score_high": -0.12, "verdict": "underperforms"},
        # a higher score than everything, but on 3 posts: below min_posts
        {"hashtag_id": 3, "posts": 3, "lift": 3.0, "ci_low": -0.5, "ci_high": 9.0,
         "score": 0.90, "score_low": -0.2, "score_high": 2.0, "verdict": "unclear"},
        {"hashtag_id": 4, "posts": 20, "lift": 0.12, "ci_low": -0.04, "ci_high": 0.3,
         "score": 0.05, "score_low": -0.1, "score_high": 0.2, "verdict": "unclear"},
        {"hashtag_id": 7, "posts": 200, "lift": -0.01, "ci_low": -0.1, "ci_high": 0.08,
         "score": -0.01, "score_low": -0.1, "score_high": 0.08, "verdict": "unclear"},
    ]
)  # fmt: skip
SLOTS = pl.DataFrame(
    [
        {**SCOPE, "window": "all", "hashtag_id": 1, "weekday": 6, "hour": 10, "posts": 12,
         "mean_log_ratio": 0.8, "sd_log_ratio": 0.5, "lift": 1.2, "ci_low": 0.6, "ci_high": 2.0,
         "rank": 1},
        {**SCOPE, "window": "all", "hashtag_id": 1, "weekday": 7, "hour": 9, "posts": 12,
         "mean_log_ratio": 0.5, "sd_log_ratio": 0.5, "lift": 0.6, "ci_low": 0.2, "ci_high": 1.0,
         "rank": 2},
        # another window's best slot: not the one of window "all"
        {**SCOPE, "window": "7d", "hashtag_id": 1, "weekday": 2, "hour": 8, "posts": 6,
         "mean_log_ratio": 0.9, "sd_log_ratio": 0.5, "lift": 1.5, "ci_low": 0.7, "ci_high": 2.5,
         "rank": 1},
    ],
    schema=BEST_SLOT_SCHEMA,
)  # fmt: skip
PAIRS = pl.DataFrame(
    [
        {**SCOPE, "hashtag_a": 1, "hashtag_b": 7, "posts": 9, "pair_lift": 0.7},
        {**SCOPE, "hashtag_a": 1, "hashtag_b": 8, "posts": 6, "pair_lift": 0.9},
        {"platform": "*", "account_id": 0, "hashtag_a": 1, "hashtag_b": 9, "posts": 50,
         "pair_lift": 5.0},  # another scope: ignored
    ],
    schema=COOCCURRENCE_SCHEMA,
)  # fmt: skip


def test_use_and_avoid_lists_follow_the_rules() -> None:
    result = recommend(
        LIFT,
        SLOTS,
        PAIRS,
        platform=PLATFORM,
        account_id=ACCOUNT,
        goal="engagement",
        names=NAMES,
        scope_name="legolandwindsor",
    )
    assert [r.hashtag for r in result.use] == ["BuildTogether", "maybe"]  # by score; #tiny: n=3
    assert [r.hashtag for r in result.avoid] == ["ad"]
    first = result.use[0]
    assert (first.posts, first.expected_lift, first.expected_low) == (45, 0.50, 0.25)
    assert first.best_slot == Slot(weekday=6, hour=10, lift=1.2, posts=12)
    assert first.companions == ("LEGO", "family")  # pair lift 0.9 before 0.7
    assert first.reason == (
        "Posts with #BuildTogether on legolandwindsor got 58% more engagement than the "
        "account's typical post (95% CI +31% to +90%, 45 posts); best on Saturdays at 10:00; "
        "pairs best with #LEGO."
    )
    assert result.use[1].reason == (
        "Posts with #maybe on legolandwindsor got 12% more engagement than the account's "
        "typical post (95% CI -4.0% to +30%, 20 posts); the interval still includes no effect."
    )
    assert result.avoid[0].reason == (
        "Posts with #ad on legolandwindsor got 36% less engagement than the account's "
        "typical post (95% CI -50% to -20%, 30 posts)."
    )


def test_limit_min_posts_and_other_scopes() -> None:
    result = recommend(
        LIFT,
        SLOTS,
        PAIRS,
        platform=PLATFORM,
        account_id=ACCOUNT,
        goal="engagement",
        names=NAMES,
        min_posts=2,
        limit=1,
    )
    assert [r.hashtag for r in result.use] == ["tiny"]
    assert result.use[0].reason.startswith("Posts with #tiny on account 5 got 300% more")
    empty = recommend(LIFT, SLOTS, PAIRS, platform="x", account_id=0, goal="engagement", names={})
    assert empty.use == ()
    assert empty.avoid == ()


def test_follower_goal_reads_as_growth_across_all_accounts() -> None:
    lift = lift_rows(
        [{"hashtag_id": 9, "posts": 125, "lift": 0.0048, "ci_low": 0.0046, "ci_high": 0.0050,
          "score": 0.0048, "score_low": 0.0046, "score_high": 0.0050, "verdict": "lifts"}]
    ).with_columns(platform=pl.lit("*"), account_id=pl.lit(0, pl.Int64), goal=pl.lit("followers"))  # fmt: skip
    result = recommend(
        lift, SLOTS, PAIRS, platform="*", account_id=0, goal="followers", names=NAMES
    )
    # the pair (1, 9) lives in this scope, so #BuildTogether is #Giveaway's companion
    assert result.use[0].reason == (
        "Follower counts across all accounts grew 0.48% more after posts with #Giveaway than "
        "after their account's typical post (95% CI +0.46% to +0.50%, 125 posts); "
        "pairs best with #BuildTogether."
    )
