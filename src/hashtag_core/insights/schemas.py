"""Response shapes of GET /recommendations and GET /reports/hashtags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hashtag_core.hashtags.schemas import FIGURES_EXAMPLE, Goal, HashtagFigures, Window
from hashtag_core.sentiment import SentimentStatus

__all__ = [
    "REPORT_EXAMPLE",
    "RecommendationItem",
    "RecommendationSlot",
    "Recommendations",
    "ReportPage",
    "ReportRow",
]


class RecommendationSlot(BaseModel):
    """The hashtag's best posting slot (engagement, account-local time)."""

    weekday: int = Field(ge=1, le=7, description="ISO weekday in local time: 1 = Monday.")
    hour: int = Field(ge=0, le=23, description="Local hour, 0-23.")
    lift: float = Field(description="Raw engagement lift of its posts in that slot.")
    posts: int = Field(description="Posts in that slot.")
    score: float | None = Field(
        default=None,
        description="The slot's estimate for the hashtag (the heatmap's figure): adjusted for "
        "its companions and the month, shrunk.",
    )
    verdict: str | None = Field(
        default=None,
        description="The slot estimate's verdict; the reason names a slot only when it is lifts.",
    )


class RecommendationItem(BaseModel):
    """A hashtag to use or to avoid, with the evidence."""

    hashtag: str = Field(description="Display spelling, without '#'.")
    posts: int = Field(description="Posts the figures rest on.")
    expected_lift: float = Field(
        description="The hashtag estimate (the score): the lift to expect, adjusted for the "
        "hashtags used with it and the posting time, shrunk by its evidence (0.2 = +20%)."
    )
    expected_low: float = Field(description="95% interval of expected_lift, low end.")
    expected_high: float = Field(description="95% interval of expected_lift, high end.")
    qvalue: float | None = Field(
        description="Expected share of wrong signs among the list's verdicts at this hashtag's "
        "evidence (s-value); a verdict needs <= 0.05."
    )
    lift: float = Field(description="Raw (marginal) lift of its posts: secondary evidence only.")
    lift_ci_low: float | None = Field(description="95% t interval of the raw lift, low end.")
    lift_ci_high: float | None = Field(description="95% t interval of the raw lift, high end.")
    verdict: str = Field(description="lifts, underperforms, unclear or too_few_posts.")
    best_slot: RecommendationSlot | None = Field(description="When its posts do best.")
    companions: list[str] = Field(description="Hashtags that go well with it (best pair lift).")
    reason: str = Field(description="One sentence saying why, from the numbers.")


class Recommendations(BaseModel):
    """Hashtags to use and to avoid for a goal in a scope."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "goal": "engagement",
                    "window": "all",
                    "platform": "instagram",
                    "account": "legolandwindsor",
                    "computed_at": "2025-06-09T08:02:11Z",
                    "use": [
                        {
                            "hashtag": "BuildTogether",
                            "posts": 45,
                            "expected_lift": 0.41,
                            "expected_low": 0.22,
                            "expected_high": 0.63,
                            "qvalue": 0.004,
                            "lift": 0.58,
                            "lift_ci_low": 0.31,
                            "lift_ci_high": 0.9,
                            "verdict": "lifts",
                            "best_slot": {"weekday": 6, "hour": 10, "lift": 0.72, "posts": 9},
                            "companions": ["LEGO", "family"],
                            "reason": "Posts with #BuildTogether on legolandwindsor got 41% more "
                            "engagement than the account's typical post, allowing for the "
                            "hashtags used with it and the posting time (95% interval +22% to "
                            "+63%, 45 posts); best on Saturdays at 10:00; pairs best with #LEGO.",
                        }
                    ],
                    "avoid": [
                        {
                            "hashtag": "MondayMotivation",
                            "posts": 22,
                            "expected_lift": -0.21,
                            "expected_low": -0.35,
                            "expected_high": -0.05,
                            "qvalue": 0.03,
                            "lift": -0.34,
                            "lift_ci_low": -0.48,
                            "lift_ci_high": -0.17,
                            "verdict": "underperforms",
                            "best_slot": {"weekday": 1, "hour": 8, "lift": -0.3, "posts": 6},
                            "companions": [],
                            "reason": "Posts with #MondayMotivation on legolandwindsor got 21% "
                            "less engagement than the account's typical post, allowing for the "
                            "hashtags used with it and the posting time (95% interval -35% to "
                            "-5%, 22 posts).",
                        }
                    ],
                    "worth_testing": [],
                    "note": None,
                }
            ]
        }
    )

    goal: Goal = Field(description="The goal the hashtags are judged on.")
    window: Window = Field(
        description="Posts the evidence comes from: last 7/30/90/365 days, or all."
    )
    platform: str | None = Field(description="Platform of the scope; null for all platforms.")
    account: str | None = Field(description="Account (handle) of the scope; null for all accounts.")
    computed_at: datetime | None = Field(description="When the figures were computed.")
    use: list[RecommendationItem] = Field(
        description="Hashtags whose lift is sure across the list (verdict lifts), best first."
    )
    avoid: list[RecommendationItem] = Field(description="Reliably below the baseline.")
    worth_testing: list[RecommendationItem] = Field(
        default_factory=list,
        description="Only when `use` is empty: the most promising unproven hashtags.",
    )
    note: str | None = Field(
        default=None, description="Plain words when no hashtag can be recommended with confidence."
    )


class ReportRow(HashtagFigures):
    """Every figure for one hashtag in the report's window (definitions in docs/metrics.md).

    Everything is over the posts of the window except momentum, which always compares the
    last 30 days with the 30 before them."""

    hashtag: str = Field(description="Display spelling, without '#'.")
    key: str = Field(description="Grouping key (NFKC + casefold).")
    engagement_lift: float | None = Field(
        description="Raw (marginal) engagement lift vs the account median: secondary evidence."
    )
    engagement_lift_ci_low: float | None = Field(description="95% CI of engagement_lift, low.")
    engagement_lift_ci_high: float | None = Field(description="95% CI of engagement_lift, high.")
    engagement_lift_posts: int | None = Field(description="Posts behind engagement_lift.")
    engagement_score: float | None = Field(
        description="The hashtag estimate for engagement (adjusted, shrunk): "
        "the headline; null under 5 posts."
    )
    engagement_score_ci_low: float | None = Field(
        description="95% interval of engagement_score, low end."
    )
    engagement_score_ci_high: float | None = Field(
        description="95% interval of engagement_score, high end."
    )
    engagement_qvalue: float | None = Field(
        description="q-value (s-value) of engagement_score: share of wrong signs at its evidence."
    )
    engagement_verdict: str | None = Field(
        description="lifts / underperforms (sure across the list) / unclear / too_few_posts."
    )
    reach_lift: float | None = Field(
        description="Raw (marginal) reach lift vs the account median: secondary evidence."
    )
    reach_lift_ci_low: float | None = Field(description="95% CI of reach_lift, low end.")
    reach_lift_ci_high: float | None = Field(description="95% CI of reach_lift, high end.")
    reach_lift_posts: int | None = Field(description="Posts behind reach_lift (reach known).")
    reach_score: float | None = Field(
        description="The hashtag estimate for reach (adjusted, shrunk): "
        "the headline; null under 5 posts."
    )
    reach_score_ci_low: float | None = Field(description="95% interval of reach_score, low.")
    reach_score_ci_high: float | None = Field(description="95% interval of reach_score, high.")
    reach_qvalue: float | None = Field(
        description="q-value (s-value) of reach_score: share of wrong signs at its evidence."
    )
    reach_verdict: str | None = Field(
        description="lifts / underperforms (sure across the list) / unclear / too_few_posts."
    )
    virality_lift: float | None = Field(
        description="Raw (marginal) virality lift vs the account median: secondary evidence."
    )
    virality_lift_ci_low: float | None = Field(description="95% CI of virality_lift, low end.")
    virality_lift_ci_high: float | None = Field(description="95% CI of virality_lift, high end.")
    virality_lift_posts: int | None = Field(
        description="Posts behind virality_lift (shares and reach or impressions known)."
    )
    virality_score: float | None = Field(
        description="The hashtag estimate for virality (adjusted, shrunk): "
        "the headline; null under 5 posts."
    )
    virality_score_ci_low: float | None = Field(
        description="95% interval of virality_score, low end."
    )
    virality_score_ci_high: float | None = Field(
        description="95% interval of virality_score, high end."
    )
    virality_qvalue: float | None = Field(
        description="q-value (s-value) of virality_score: share of wrong signs at its evidence."
    )
    virality_verdict: str | None = Field(
        description="lifts / underperforms (sure across the list) / unclear / too_few_posts."
    )
    er_follower_lift: float | None = Field(
        description="Raw (marginal) per-follower engagement rate lift: secondary evidence."
    )
    er_follower_lift_ci_low: float | None = Field(description="95% CI of er_follower_lift, low.")
    er_follower_lift_ci_high: float | None = Field(description="95% CI of er_follower_lift, high.")
    er_follower_lift_posts: int | None = Field(
        description="Posts behind er_follower_lift (followers known and > 0)."
    )
    er_follower_score: float | None = Field(
        description="The hashtag estimate for er_follower (adjusted, shrunk): "
        "the headline; null under 5 posts."
    )
    er_follower_score_ci_low: float | None = Field(
        description="95% interval of er_follower_score, low end."
    )
    er_follower_score_ci_high: float | None = Field(
        description="95% interval of er_follower_score, high end."
    )
    er_follower_qvalue: float | None = Field(
        description="q-value (s-value) of er_follower_score: share of wrong signs at its evidence."
    )
    er_follower_verdict: str | None = Field(
        description="lifts / underperforms (sure across the list) / unclear / too_few_posts."
    )
    followers_growth: float | None = Field(
        description="Extra follower growth in 3 days after its posts vs the account's usual."
    )
    followers_growth_ci_low: float | None = Field(description="95% CI of followers_growth, low.")
    followers_growth_ci_high: float | None = Field(description="95% CI of followers_growth, high.")
    followers_growth_posts: int | None = Field(description="Posts behind followers_growth.")
    followers_score: float | None = Field(
        description="The hashtag estimate for followers (adjusted, shrunk): "
        "the headline; null under 5 posts."
    )
    followers_score_ci_low: float | None = Field(
        description="95% interval of followers_score, low end."
    )
    followers_score_ci_high: float | None = Field(
        description="95% interval of followers_score, high end."
    )
    followers_qvalue: float | None = Field(
        description="q-value (s-value) of followers_score: share of wrong signs at its evidence."
    )
    followers_verdict: str | None = Field(
        description="lifts / underperforms (sure across the list) / unclear / too_few_posts."
    )
    content_reach: float | None = Field(
        description="Mean reach/impressions over its posts with reach known and impressions > 0."
    )
    content_reach_ci_low: float | None = Field(description="95% CI of content_reach, low end.")
    content_reach_ci_high: float | None = Field(description="95% CI of content_reach, high end.")
    content_reach_posts: int | None = Field(
        description="Posts behind content_reach (reach known, impressions known and > 0)."
    )
    sentiment_posts: int | None = Field(
        description="Posts in the window with a sentiment score (the scored posts)."
    )
    sentiment_mean: float | None = Field(
        description="Mean sentiment score of its scored posts (VADER compound; AFINN for Danish)."
    )
    sentiment_positive_share: float | None = Field(description="Share of posts scored positive.")
    sentiment_neutral_share: float | None = Field(description="Share of posts scored neutral.")
    sentiment_negative_share: float | None = Field(description="Share of posts scored negative.")
    sentiment_engagement_corr: float | None = Field(
        description="Pearson r of sentiment vs engagement relative to the account median."
    )
    sentiment_corr_ci_low: float | None = Field(description="95% CI of that correlation, low.")
    sentiment_corr_ci_high: float | None = Field(description="95% CI of that correlation, high.")
    sentiment_coverage: float | None = Field(
        description="sentiment_posts / its posts in the window: the share with a score."
    )
    sentiment_languages: str | None = Field(
        description="Languages of the scored posts, space-separated (e.g. 'da en')."
    )
    sentiment_status: SentimentStatus = Field(
        description="'not scored' when sentiment_coverage is below 0.5 (or unknown): the "
        "sentiment figures then speak for a minority of its posts."
    )
    languages: str | None = Field(
        description="Its posts per language, most used first (e.g. 'en:120 da:40 ja:12')."
    )
    momentum_change: float | None = Field(
        description="Engagement lift in the last 30 days vs the 30 before (any window), minus 1."
    )
    momentum_ci_low: float | None = Field(description="95% CI of momentum_change, low end.")
    momentum_ci_high: float | None = Field(description="95% CI of momentum_change, high end.")
    momentum_direction: str | None = Field(description="rising / falling / flat.")
    momentum_recent_posts: int | None = Field(
        description="Posts of the last 30 days behind momentum_change."
    )
    momentum_previous_posts: int | None = Field(
        description="Posts of the 30 days before those behind momentum_change."
    )
    best_weekday: int | None = Field(description="Best slot's ISO weekday (account-local).")
    best_hour: int | None = Field(description="Best slot's local hour.")
    best_slot_lift: float | None = Field(description="Engagement lift in the best slot.")
    best_slot_ci_low: float | None = Field(description="95% CI of best_slot_lift, low end.")
    best_slot_ci_high: float | None = Field(description="95% CI of best_slot_lift, high end.")
    best_slot_posts: int | None = Field(description="Posts in the best slot in the window.")


#: The example of GET /reports/hashtags (the CSV example is rendered from it).
REPORT_EXAMPLE: dict[str, Any] = {
    "computed_at": "2025-06-09T08:02:11Z",
    "window": "all",
    "platform": None,
    "account": None,
    "items": [
        {
            "hashtag": "BuildTogether",
            "key": "buildtogether",
            **FIGURES_EXAMPLE,
            "engagement_lift": 0.58,
            "engagement_lift_ci_low": 0.52,
            "engagement_lift_ci_high": 0.64,
            "engagement_lift_posts": 2140,
            "engagement_score": 0.55,
            "engagement_score_ci_low": 0.49,
            "engagement_score_ci_high": 0.61,
            "engagement_qvalue": 0.0001,
            "engagement_verdict": "lifts",
            "reach_lift": 0.12,
            "reach_lift_ci_low": 0.05,
            "reach_lift_ci_high": 0.19,
            "reach_lift_posts": 1066,
            "reach_score": 0.11,
            "reach_score_ci_low": 0.04,
            "reach_score_ci_high": 0.18,
            "reach_qvalue": 0.004,
            "reach_verdict": "lifts",
            "virality_lift": 0.09,
            "virality_lift_ci_low": -0.02,
            "virality_lift_ci_high": 0.21,
            "virality_lift_posts": 1180,
            "virality_score": 0.06,
            "virality_score_ci_low": -0.03,
            "virality_score_ci_high": 0.16,
            "virality_qvalue": 0.02,
            "virality_verdict": "unclear",
            "er_follower_lift": 0.49,
            "er_follower_lift_ci_low": 0.43,
            "er_follower_lift_ci_high": 0.55,
            "er_follower_lift_posts": 2098,
            "er_follower_score": 0.46,
            "er_follower_score_ci_low": 0.4,
            "er_follower_score_ci_high": 0.52,
            "er_follower_qvalue": 0.0003,
            "er_follower_verdict": "lifts",
            "followers_growth": 0.0012,
            "followers_growth_ci_low": -0.0004,
            "followers_growth_ci_high": 0.0029,
            "followers_growth_posts": 1890,
            "followers_score": 0.0008,
            "followers_score_ci_low": -0.0005,
            "followers_score_ci_high": 0.0021,
            "followers_qvalue": 0.04,
            "followers_verdict": "unclear",
            "content_reach": 0.71,
            "content_reach_ci_low": 0.69,
            "content_reach_ci_high": 0.73,
            "content_reach_posts": 1004,
            "sentiment_posts": 2131,
            "sentiment_mean": 0.42,
            "sentiment_positive_share": 0.68,
            "sentiment_neutral_share": 0.28,
            "sentiment_negative_share": 0.04,
            "sentiment_engagement_corr": 0.11,
            "sentiment_corr_ci_low": 0.07,
            "sentiment_corr_ci_high": 0.15,
            "sentiment_coverage": 0.81,
            "sentiment_languages": "da en",
            "sentiment_status": "scored",
            "languages": "en:1720 da:411 ja:500",
            "momentum_change": 0.08,
            "momentum_ci_low": -0.05,
            "momentum_ci_high": 0.23,
            "momentum_direction": "flat",
            "momentum_recent_posts": 41,
            "momentum_previous_posts": 37,
            "best_weekday": 6,
            "best_hour": 10,
            "best_slot_lift": 0.72,
            "best_slot_ci_low": 0.31,
            "best_slot_ci_high": 1.26,
            "best_slot_posts": 9,
        }
    ],
}


class OverCapPost(BaseModel):
    """An Instagram post with more hashtags than Instagram allows (5 since December 2025)."""

    post_id: str = Field(description="The platform's post id.")
    account: str = Field(description="The account (handle) that posted it.")
    posted_at: datetime = Field(description="When it went out (UTC).")
    url: str | None = Field(default=None, description="Link to the post on the platform.")
    hashtags: int = Field(description="Hashtags on the post (caption and first comment).")


class ReportPage(BaseModel):
    """The hashtag report: one row per hashtag with every figure."""

    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_EXAMPLE]})

    computed_at: datetime | None = Field(
        description="When the figures were computed; null when there are no rows."
    )
    window: Window = Field(
        description="Posts from the last 7/30/90/365 days, or all (momentum: always 30 + 30 days)."
    )
    platform: str | None = Field(description="Platform of the scope; null for all platforms.")
    account: str | None = Field(description="Account (handle) of the scope; null for all accounts.")
    items: list[ReportRow] = Field(
        description="One row per hashtag on at least min_posts posts, best engagement score first."
    )
    instagram_over_hashtag_cap: list[OverCapPost] = Field(
        default_factory=list,
        description=(
            "Instagram posts of the scope and window with more than 5 hashtags (Instagram's cap "
            "since December 2025), newest first, at most 100. Empty outside Instagram."
        ),
    )
