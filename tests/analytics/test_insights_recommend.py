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
#: What every reason says about the estimate behind it.
ADJUSTED = "allowing for the hashtags used with it and the posting time"


def lift_rows(rows: list[dict[str, Any]], **scope: Any) -> pl.DataFrame:
    """LIFT_SCHEMA rows in the scope above (or ``scope``), goal engagement, window all."""
    base = {**SCOPE, **scope, "window": "all", "goal": "engagement", "mean_log_ratio": 0.0,
            "sd_log_ratio": 1.0}  # fmt: skip
    return pl.DataFrame([{**base, **row} for row in rows], schema=LIFT_SCHEMA)


LIFT = lift_rows(
    [
        # raw lift +58%, but the estimate (the headline) is +41%
        {"hashtag_id": 1, "posts": 45, "lift": 0.58, "ci_low": 0.31, "ci_high": 0.90,
         "score": 0.41, "score_low": 0.22, "score_high": 0.63, "qvalue": 0.01,
         "verdict": "lifts"},
        {"hashtag_id": 8, "posts": 15, "lift": 0.35, "ci_low": 0.02, "ci_high": 0.8,
         "score": 0.20, "score_low": 0.05, "score_high": 0.38, "qvalue": 0.04,
         "verdict": "lifts"},
        {"hashtag_id": 2, "posts": 30, "lift": -0.36, "ci_low": -0.5, "ci_high": -0.2,
         "score": -0.30, "score_low": -0.45, "score_high": -0.12, "qvalue": 0.02,
         "verdict": "underperforms"},
        # the highest raw lift of all, but on 3 posts: no estimate, never recommended
        {"hashtag_id": 3, "posts": 3, "lift": 3.0, "ci_low": -0.5, "ci_high": 9.0,
         "verdict": "too_few_posts"},
        # a positive estimate whose sign is not sure: not "use" (something else lifts)
        {"hashtag_id": 4, "posts": 20, "lift": 0.12, "ci_low": -0.04, "ci_high": 0.3,
         "score": 0.05, "score_low": -0.1, "score_high": 0.2, "qvalue": 0.3,
         "verdict": "unclear"},
        {"hashtag_id": 7, "posts": 200, "lift": -0.01, "ci_low": -0.1, "ci_high": 0.08,
         "score": -0.01, "score_low": -0.1, "score_high": 0.08, "qvalue": 0.6,
         "verdict": "unclear"},
    ]
)  # fmt: skip


def slot_row(hashtag: int, weekday: int, hour: int, rank: int, **rest: Any) -> dict[str, Any]:
    """A BEST_SLOT_SCHEMA row in the scope above, window all, 12 posts."""
    return {**SCOPE, "window": "all", "hashtag_id": hashtag, "weekday": weekday, "hour": hour,
            "posts": 12, "mean_log_ratio": 0.5, "sd_log_ratio": 0.5, "rank": rank, **rest}  # fmt: skip


SLOTS = pl.DataFrame(
    [
        slot_row(1, 6, 10, 1, lift=1.2, ci_low=0.6, ci_high=2.0, score=0.9, verdict="lifts"),
        slot_row(1, 7, 9, 2, lift=0.6, ci_low=0.2, ci_high=1.0, score=0.4, verdict="lifts"),
        # another window's best slot: not the one of window "all"
        {**slot_row(1, 2, 8, 1, lift=1.5, score=1.1, verdict="lifts"), "window": "7d"},
        # #LEGO's best slot is not surely better than its other posts: not named
        slot_row(8, 3, 18, 1, lift=0.3, ci_low=-0.1, ci_high=0.8, score=0.1, verdict="unclear"),
    ],
    schema=BEST_SLOT_SCHEMA,
)
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
    # verdict "lifts" only, by score; #maybe is unclear, #tiny has too few posts
    assert [r.hashtag for r in result.use] == ["BuildTogether", "LEGO"]
    assert [r.hashtag for r in result.avoid] == ["ad"]
    assert result.worth_testing == ()  # only when nothing qualifies for use
    assert result.note is None
    first = result.use[0]
    assert first.action == "use"
    assert (first.posts, first.expected_lift, first.expected_low, first.expected_high) == (
        45,
        0.41,
        0.22,
        0.63,
    )
    assert (first.lift, first.ci_low, first.qvalue, first.verdict) == (0.58, 0.31, 0.01, "lifts")
    assert first.best_slot == Slot(
        weekday=6, hour=10, lift=1.2, posts=12, score=0.9, verdict="lifts"
    )
    assert first.companions == ("LEGO", "family")  # pair lift 0.9 before 0.7
    # the sentence quotes the estimate (41%), not the raw lift (58%)
    assert first.reason == (
        "Posts with #BuildTogether on legolandwindsor got 41% more engagement than the "
        f"account's typical post, {ADJUSTED} (95% interval +22% to +63%, 45 posts); "
        "best on Saturdays at 10:00; pairs best with #LEGO."
    )
    second = result.use[1]
    assert second.best_slot is not None
    assert second.best_slot.verdict == "unclear"
    assert second.reason == (
        "Posts with #LEGO on legolandwindsor got 20% more engagement than the account's "
        f"typical post, {ADJUSTED} (95% interval +5.0% to +38%, 15 posts); "
        "pairs best with #BuildTogether."
    )  # its best slot is not named: not surely better
    assert result.avoid[0].reason == (
        "Posts with #ad on legolandwindsor got 30% less engagement than the account's "
        f"typical post, {ADJUSTED} (95% interval -45% to -12%, 30 posts)."
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
    # #tiny passes min_posts = 2 but has no estimate (3 posts < MIN_POSTS): never listed
    assert [r.hashtag for r in result.use] == ["BuildTogether"]
    assert result.use[0].reason.startswith("Posts with #BuildTogether on account 5 got 41% more")
    listed = [r.hashtag_id for r in (*result.use, *result.worth_testing, *result.avoid)]
    assert 3 not in listed
    # min_posts = 16: #LEGO (15 posts) drops out of use
    fewer = recommend(
        LIFT, SLOTS, PAIRS, platform=PLATFORM, account_id=ACCOUNT, goal="engagement",
        names=NAMES, min_posts=16,
    )  # fmt: skip
    assert [r.hashtag for r in fewer.use] == ["BuildTogether"]
    empty = recommend(LIFT, SLOTS, PAIRS, platform="x", account_id=0, goal="engagement", names={})
    assert (empty.use, empty.worth_testing, empty.avoid) == ((), (), ())
    assert empty.note is not None
    assert "surely enough to recommend" in empty.note
    assert "worth testing" not in empty.note  # nothing to test either


def test_worth_testing_and_a_note_when_nothing_lifts() -> None:
    unsure = LIFT.filter(pl.col("verdict") != "lifts").vstack(
        lift_rows(
            [{"hashtag_id": 9, "posts": 40, "lift": 0.4, "ci_low": 0.0, "ci_high": 0.9,
              "score": 0.15, "score_low": -0.02, "score_high": 0.4, "qvalue": 0.08,
              "verdict": "unclear"}]
        )
    )  # fmt: skip
    result = recommend(
        unsure,
        SLOTS,
        PAIRS,
        platform=PLATFORM,
        account_id=ACCOUNT,
        goal="engagement",
        names=NAMES,
        scope_name="legolandwindsor",
    )
    assert result.use == ()
    # unclear with a positive score, highest first; #family (negative) is not worth testing
    assert [r.hashtag for r in result.worth_testing] == ["Giveaway", "maybe"]
    assert {r.action for r in result.worth_testing} == {"test"}
    assert [r.hashtag for r in result.avoid] == ["ad"]
    assert result.note is not None
    assert result.note.startswith("No hashtag on legolandwindsor lifts engagement surely enough")
    assert "worth testing, not proven" in result.note
    assert result.worth_testing[1].reason == (
        "Posts with #maybe on legolandwindsor got 5.0% more engagement than the account's "
        f"typical post, {ADJUSTED} (95% interval -10% to +20%, 20 posts); "
        "not proven yet: worth testing on comparable posts."
    )


def test_an_instagram_scope_gets_at_most_five_hashtags() -> None:
    many = [
        {"hashtag_id": 100 + k, "posts": 30, "lift": 0.5, "ci_low": 0.1, "ci_high": 0.9,
         "score": 0.1 + k / 100, "score_low": 0.05, "score_high": 0.3, "qvalue": 0.01,
         "verdict": "lifts"}
        for k in range(7)
    ]  # fmt: skip
    on_instagram = recommend(
        lift_rows(many), SLOTS, PAIRS, platform="instagram", account_id=ACCOUNT,
        goal="engagement", names={}, limit=10,
    )  # fmt: skip
    # Instagram allows 5 hashtags per post: the 5 highest scores
    assert [r.hashtag_id for r in on_instagram.use] == [106, 105, 104, 103, 102]
    elsewhere = recommend(
        lift_rows(many, platform="x"), SLOTS, PAIRS, platform="x", account_id=ACCOUNT,
        goal="engagement", names={}, limit=10,
    )  # fmt: skip
    assert len(elsewhere.use) == 7


def test_follower_goal_reads_as_growth_across_all_accounts() -> None:
    # raw lift +1.0%, estimate +0.48%: the sentence quotes the estimate
    lift = lift_rows(
        [{"hashtag_id": 9, "posts": 125, "lift": 0.0100, "ci_low": 0.0080, "ci_high": 0.0120,
          "score": 0.0048, "score_low": 0.0046, "score_high": 0.0050, "qvalue": 0.001,
          "verdict": "lifts"}]
    ).with_columns(platform=pl.lit("*"), account_id=pl.lit(0, pl.Int64), goal=pl.lit("followers"))  # fmt: skip
    result = recommend(
        lift, SLOTS, PAIRS, platform="*", account_id=0, goal="followers", names=NAMES
    )
    # the pair (1, 9) lives in this scope, so #BuildTogether is #Giveaway's companion
    assert result.use[0].reason == (
        "Follower counts across all accounts grew 0.48% more after posts with #Giveaway than "
        f"after their account's typical post, {ADJUSTED} (95% interval +0.46% to +0.50%, "
        "125 posts); pairs best with #BuildTogether."
    )
