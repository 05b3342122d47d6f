"""Response shapes of GET /recommendations and GET /reports/hashtags."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hashtag_core.hashtags.schemas import Goal, HashtagFigures, Window

__all__ = ["RecommendationItem", "RecommendationSlot", "Recommendations", "ReportPage", "ReportRow"]


class RecommendationSlot(BaseModel):
    """The hashtag's best posting slot (engagement, account-local time)."""

    weekday: int = Field(ge=1, le=7, description="ISO weekday in local time: 1 = Monday.")
    hour: int = Field(ge=0, le=23, description="Local hour, 0-23.")
    lift: float = Field(description="Engagement lift of its posts in that slot.")
    posts: int = Field(description="Posts in that slot.")


class RecommendationItem(BaseModel):
    """A hashtag to use or to avoid, with the evidence."""

    hashtag: str = Field(description="Display spelling, without '#'.")
    posts: int = Field(description="Posts the figures rest on.")
    expected_lift: float = Field(description="Shrunk score: the lift to expect (0.2 = +20%).")
    expected_low: float = Field(description="95% posterior interval of expected_lift, low end.")
    expected_high: float = Field(description="95% posterior interval of expected_lift, high end.")
    lift: float = Field(description="Observed lift of its posts (before shrinkage).")
    lift_ci_low: float | None = Field(description="95% confidence interval of lift, low end.")
    lift_ci_high: float | None = Field(description="95% confidence interval of lift, high end.")
    verdict: str = Field(description="lifts, underperforms or unclear.")
    best_slot: RecommendationSlot | None = Field(description="When its posts do best.")
    companions: list[str] = Field(description="Hashtags that go well with it (best pair lift).")
    reason: str = Field(description="One sentence saying why, from the numbers.")


class Recommendations(BaseModel):
    """Hashtags to use and to avoid for a goal in a scope."""

    goal: Goal
    window: Window
    platform: str | None
    account: str | None
    computed_at: datetime | None = Field(description="When the figures were computed.")
    use: list[RecommendationItem] = Field(description="Best first by expected lift.")
    avoid: list[RecommendationItem] = Field(description="Reliably below the baseline.")


class ReportRow(HashtagFigures):
    """Every figure for one hashtag (definitions in docs/metrics.md)."""

    hashtag: str = Field(description="Display spelling, without '#'.")
    key: str = Field(description="Grouping key (NFKC + casefold).")
    engagement_lift: float | None = Field(description="Engagement lift vs the account median.")
    engagement_lift_ci_low: float | None = Field(description="95% CI of engagement_lift, low.")
    engagement_lift_ci_high: float | None = Field(description="95% CI of engagement_lift, high.")
    engagement_score: float | None = Field(description="Shrunk engagement lift (ranking score).")
    engagement_verdict: str | None = Field(description="lifts / underperforms / unclear.")
    reach_lift: float | None = Field(description="Reach lift vs the account median.")
    reach_lift_ci_low: float | None = Field(description="95% CI of reach_lift, low end.")
    reach_lift_ci_high: float | None = Field(description="95% CI of reach_lift, high end.")
    reach_lift_posts: int | None = Field(description="Posts behind reach_lift (reach known).")
    reach_verdict: str | None = Field(description="lifts / underperforms / unclear.")
    virality_lift: float | None = Field(description="Virality lift vs the account median.")
    virality_lift_ci_low: float | None = Field(description="95% CI of virality_lift, low end.")
    virality_lift_ci_high: float | None = Field(description="95% CI of virality_lift, high end.")
    virality_verdict: str | None = Field(description="lifts / underperforms / unclear.")
    er_follower_lift: float | None = Field(description="Per-follower engagement rate lift.")
    er_follower_lift_ci_low: float | None = Field(description="95% CI of er_follower_lift, low.")
    er_follower_lift_ci_high: float | None = Field(description="95% CI of er_follower_lift, high.")
    er_follower_verdict: str | None = Field(description="lifts / underperforms / unclear.")
    followers_growth: float | None = Field(
        description="Extra follower growth in 3 days after its posts vs the account's usual."
    )
    followers_growth_ci_low: float | None = Field(description="95% CI of followers_growth, low.")
    followers_growth_ci_high: float | None = Field(description="95% CI of followers_growth, high.")
    followers_growth_posts: int | None = Field(description="Posts behind followers_growth.")
    followers_verdict: str | None = Field(description="lifts / underperforms / unclear.")
    content_reach: float | None = Field(description="Mean reach/impressions of its posts.")
    content_reach_ci_low: float | None = Field(description="95% CI of content_reach, low end.")
    content_reach_ci_high: float | None = Field(description="95% CI of content_reach, high end.")
    content_reach_posts: int | None = Field(description="Posts with reach and impressions known.")
    sentiment_mean: float | None = Field(description="Mean VADER compound score of its posts.")
    sentiment_positive_share: float | None = Field(description="Share of posts scored positive.")
    sentiment_neutral_share: float | None = Field(description="Share of posts scored neutral.")
    sentiment_negative_share: float | None = Field(description="Share of posts scored negative.")
    sentiment_engagement_corr: float | None = Field(
        description="Pearson r of sentiment vs engagement relative to the account median."
    )
    sentiment_corr_ci_low: float | None = Field(description="95% CI of that correlation, low.")
    sentiment_corr_ci_high: float | None = Field(description="95% CI of that correlation, high.")
    momentum_change: float | None = Field(description="Last 30 days vs the 30 before.")
    momentum_ci_low: float | None = Field(description="95% CI of momentum_change, low end.")
    momentum_ci_high: float | None = Field(description="95% CI of momentum_change, high end.")
    momentum_direction: str | None = Field(description="rising / falling / flat.")
    best_weekday: int | None = Field(description="Best slot's ISO weekday (account-local).")
    best_hour: int | None = Field(description="Best slot's local hour.")
    best_slot_lift: float | None = Field(description="Engagement lift in the best slot.")


class ReportPage(BaseModel):
    """The hashtag report: one row per hashtag with every figure."""

    computed_at: datetime | None
    window: Window
    platform: str | None
    account: str | None
    rows: list[ReportRow]
