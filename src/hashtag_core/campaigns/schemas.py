"""Request and response shapes for /campaigns (figures defined in docs/metrics.md,
"Campaign plans")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.insights.schemas import RecommendationItem, Recommendations
from hashtag_core.platforms import Platform

__all__ = [
    "CAMPAIGN_EXAMPLE",
    "MAX_BRIEF_CHARS",
    "MAX_CAMPAIGN_DAYS",
    "CampaignAccount",
    "CampaignCreate",
    "CampaignPlan",
    "CampaignPublic",
    "CampaignReview",
    "CampaignSummary",
    "CampaignsPage",
    "PlanSlot",
    "PlatformPlan",
    "RelatedHashtag",
    "RelatedPost",
    "ReviewFigure",
    "ReviewStatus",
]

MAX_BRIEF_CHARS = 2000
#: A campaign lasts at most a year (its review compares posts inside these dates).
MAX_CAMPAIGN_DAYS = 366

AccountName = Annotated[StorableText, StringConstraints(min_length=1, max_length=200)]
ReviewStatus = Literal["not_started", "running", "ended"]


class CampaignCreate(BaseModel):
    """A campaign to plan: what it should raise, when, where, and what it is about."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Summer opening",
                    "goal": "engagement",
                    "starts_on": "2026-06-01",
                    "ends_on": "2026-06-30",
                    "platforms": ["instagram"],
                    "accounts": ["legolandwindsor"],
                    "brief": "Family days out: the new water park opens, build together",
                    "window": "all",
                }
            ]
        }
    )

    name: StorableText = Field(min_length=1, max_length=200, description="What it is called.")
    goal: Goal = Field(default=Goal.ENGAGEMENT, description="What the campaign should raise.")
    starts_on: date = Field(description="First day (in each account's local calendar).")
    ends_on: date = Field(description="Last day, inclusive; at most 366 days after starts_on.")
    platforms: list[Platform] = Field(
        default_factory=list,
        max_length=4,
        description="Platforms it covers: every account on a platform named here without an "
        "account of its own in `accounts`.",
    )
    accounts: list[AccountName] = Field(
        default_factory=list,
        max_length=50,
        description="Accounts it covers (handle or id); with `platforms` to pick one by platform.",
    )
    brief: StorableText | None = Field(
        default=None,
        max_length=MAX_BRIEF_CHARS,
        description="What the campaign is about, in a few sentences: related past posts are "
        "found by their text's similarity to it.",
    )
    window: Window = Field(default=Window.ALL, description="Posts the evidence comes from.")

    @field_validator("ends_on")
    @classmethod
    def _after_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("starts_on")
        if isinstance(start, date):
            if value < start:
                raise ValueError("ends_on must be on or after starts_on")
            if (value - start).days >= MAX_CAMPAIGN_DAYS:
                raise ValueError(f"a campaign lasts at most {MAX_CAMPAIGN_DAYS} days")
        return value

    @field_validator("platforms")
    @classmethod
    def _distinct(cls, value: list[Platform]) -> list[Platform]:
        if len(set(value)) != len(value):
            raise ValueError("each platform at most once")
        return value


class CampaignAccount(BaseModel):
    """An account a campaign covers."""

    id: int = Field(description="The service's id of the account.")
    platform: Platform = Field(description="Its platform.")
    handle: str = Field(description="Its handle or page name.")


class PlatformPlan(BaseModel):
    """The hashtag set for one platform, from the same rules as /recommendations."""

    platform: Platform = Field(description="The platform.")
    account: str | None = Field(
        description="The account whose estimates these are, when the campaign has one account "
        "on the platform; null: the platform's (all its accounts pooled)."
    )
    use: list[RecommendationItem] = Field(
        description="Hashtags to use: verdict lifts, by the estimate (at most 5 on Instagram)."
    )
    worth_testing: list[RecommendationItem] = Field(
        description="Only when none lifts: the most promising, unproven ones."
    )
    avoid: list[RecommendationItem] = Field(description="Verdict underperforms: leave out.")
    note: str | None = Field(description="Plain words when no hashtag can be recommended.")


class RelatedPost(BaseModel):
    """A past post whose text resembles the brief."""

    platform: Platform = Field(description="Its platform.")
    account: str = Field(description="Its account's handle.")
    post_id: str = Field(description="The platform's id of the post.")
    url: str | None = Field(description="Link to the post.")
    posted_at: datetime = Field(description="When it was posted.")
    similarity: float = Field(description="TF-IDF cosine similarity of its text to the brief.")
    lift: float | None = Field(
        description="How it did against its account's typical post for the goal "
        "(exp(log-ratio) - 1); null when its account has no baseline yet."
    )
    hashtags: list[str] = Field(description="Its hashtags (display spelling).")


class RelatedHashtag(BaseModel):
    """A hashtag the related posts used, and its estimate."""

    platform: Platform = Field(description="The platform of the posts.")
    hashtag: str = Field(description="Display spelling, without '#'.")
    related_posts: int = Field(description="Related posts carrying it.")
    posts: int | None = Field(description="Posts its estimate rests on (the plan's scope).")
    score: float | None = Field(description="The hashtag estimate for the goal (0.2 = +20%).")
    score_low: float | None = Field(description="95% interval, low end.")
    score_high: float | None = Field(description="95% interval, high end.")
    qvalue: float | None = Field(description="Its q-value across the list.")
    verdict: str | None = Field(description="lifts, underperforms, unclear or too_few_posts.")


class PlanSlot(BaseModel):
    """One of an account's best local posting slots (all posts, engagement)."""

    account: str = Field(description="The account's handle.")
    platform: Platform = Field(description="Its platform.")
    timezone: str = Field(description="The account's time zone: weekday and hour are local.")
    rank: int = Field(description="1 = best by the slot estimate.")
    weekday: int = Field(ge=1, le=7, description="ISO weekday, 1 = Monday.")
    hour: int = Field(ge=0, le=23, description="Local hour.")
    posts: int = Field(description="Posts in the slot.")
    lift: float = Field(description="Raw engagement lift of the slot's posts.")
    score: float | None = Field(description="The slot estimate (adjusted, shrunk).")
    score_low: float | None = Field(description="95% interval, low end.")
    score_high: float | None = Field(description="95% interval, high end.")
    verdict: str | None = Field(
        description="lifts only when surely better than the account's typical slot."
    )


class CampaignPlan(BaseModel):
    """The plan as made at creation (stored; later estimates do not change it)."""

    goal: Goal = Field(description="The goal the hashtags are judged on.")
    window: Window = Field(description="Posts the evidence comes from.")
    computed_at: datetime | None = Field(description="When the estimates were computed.")
    evidence_posts: int = Field(description="Posts of the campaign's accounts in the window.")
    platforms: list[PlatformPlan] = Field(description="The hashtag set per platform.")
    related_posts: list[RelatedPost] = Field(
        description="Past posts most similar to the brief (none without a brief)."
    )
    related_hashtags: list[RelatedHashtag] = Field(
        description="Hashtags of the related posts, most used first, with their estimate."
    )
    slots: list[PlanSlot] = Field(description="Up to 3 best local slots per account.")
    caveat: str = Field(description="What the plan can and cannot say, in one sentence.")


class ReviewFigure(BaseModel):
    """A group of the campaign's posts against their account baselines."""

    posts: int = Field(description="Posts judged (with a value for the goal and a baseline).")
    mean_log_ratio: float | None = Field(description="Mean of their log-ratios.")
    lift: float | None = Field(description="exp(mean) - 1: the typical post's lift.")
    ci_low: float | None = Field(description="95% t interval of the lift, low end (n >= 2).")
    ci_high: float | None = Field(description="95% t interval of the lift, high end.")


class PlannedUse(BaseModel):
    """A planned hashtag and how many of the campaign's posts carried it."""

    platform: Platform = Field(description="The platform it was planned for.")
    hashtag: str = Field(description="Display spelling.")
    posts: int = Field(description="Campaign posts on that platform carrying it.")


class CampaignReview(BaseModel):
    """How the campaign's posts did, computed when asked (partial while it runs)."""

    status: ReviewStatus = Field(description="not_started, running (partial) or ended.")
    goal: Goal = Field(
        description="The goal judged: the campaign's, engagement for a followers campaign."
    )
    posts: int = Field(description="Posts of its accounts in its dates.")
    all_posts: ReviewFigure = Field(description="Every judged post against its baseline.")
    with_planned: ReviewFigure = Field(
        description="Posts carrying at least one hashtag of their platform's planned set."
    )
    without_planned: ReviewFigure = Field(description="The other posts.")
    planned_used: list[PlannedUse] = Field(description="Planned hashtags and posts using them.")
    note: str = Field(description="What the figures compare, in one sentence.")


_RECOMMENDATIONS: Any = Recommendations.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "name": "Summer opening",
    "goal": "engagement",
    "starts_on": "2026-06-01",
    "ends_on": "2026-06-30",
    "platforms": ["instagram"],
    "accounts": [{"id": 4, "platform": "instagram", "handle": "legolandwindsor"}],
    "brief": "Family days out: the new water park opens, build together",
    "window": "all",
    "created_at": "2026-05-20T09:12:44Z",
}
_FIGURE_EXAMPLE: dict[str, Any] = {
    "posts": 24,
    "mean_log_ratio": 0.18,
    "lift": 0.197,
    "ci_low": 0.04,
    "ci_high": 0.378,
}
#: A campaign as GET /campaigns/{id} answers it (also the CSV example's source).
CAMPAIGN_EXAMPLE: dict[str, Any] = {
    **_SUMMARY_EXAMPLE,
    "plan": {
        "goal": "engagement",
        "window": "all",
        "computed_at": "2026-05-20T09:00:02Z",
        "evidence_posts": 3120,
        "platforms": [
            {
                "platform": "instagram",
                "account": "legolandwindsor",
                "use": _RECOMMENDATIONS["use"],
                "worth_testing": [],
                "avoid": _RECOMMENDATIONS["avoid"],
                "note": None,
            }
        ],
        "related_posts": [
            {
                "platform": "instagram",
                "account": "legolandwindsor",
                "post_id": "17900000000000123",
                "url": "https://www.instagram.com/p/C0ffee/",
                "posted_at": "2025-07-12T09:00:00Z",
                "similarity": 0.42,
                "lift": 0.35,
                "hashtags": ["BuildTogether", "family"],
            }
        ],
        "related_hashtags": [
            {
                "platform": "instagram",
                "hashtag": "BuildTogether",
                "related_posts": 6,
                "posts": 45,
                "score": 0.41,
                "score_low": 0.22,
                "score_high": 0.63,
                "qvalue": 0.004,
                "verdict": "lifts",
            }
        ],
        "slots": [
            {
                "account": "legolandwindsor",
                "platform": "instagram",
                "timezone": "Europe/London",
                "rank": 1,
                "weekday": 6,
                "hour": 10,
                "posts": 61,
                "lift": 0.52,
                "score": 0.38,
                "score_low": 0.2,
                "score_high": 0.57,
                "verdict": "lifts",
            }
        ],
        "caveat": "Association, not causation: these figures compare 3120 past posts of the "
        "campaign's accounts (all their history as of 2026-05-20) with each account's typical "
        "post, and a hashtag or slot that did well before may not do so in this campaign.",
    },
    "review": {
        "status": "ended",
        "goal": "engagement",
        "posts": 24,
        "all_posts": _FIGURE_EXAMPLE,
        "with_planned": {
            **_FIGURE_EXAMPLE,
            "posts": 15,
            "lift": 0.31,
            "ci_low": 0.1,
            "ci_high": 0.55,
            "mean_log_ratio": 0.27,
        },
        "without_planned": {
            **_FIGURE_EXAMPLE,
            "posts": 9,
            "lift": 0.02,
            "ci_low": -0.2,
            "ci_high": 0.3,
            "mean_log_ratio": 0.02,
        },
        "planned_used": [{"platform": "instagram", "hashtag": "BuildTogether", "posts": 15}],
        "note": "Each post of the campaign's accounts in its dates against its account's "
        "typical post (engagement, all history as of the last full recompute); planned "
        "hashtags compared with posts without them, association not causation.",
    },
}


class CampaignSummary(BaseModel):
    """A campaign without its plan (the list's row)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: int = Field(description="The service's id of the campaign.")
    name: str = Field(description="Its name.")
    goal: Goal = Field(description="What it should raise.")
    starts_on: date = Field(description="First day.")
    ends_on: date = Field(description="Last day, inclusive.")
    platforms: list[Platform] = Field(description="Platforms covered.")
    accounts: list[CampaignAccount] = Field(description="Accounts covered.")
    brief: str | None = Field(description="What it is about.")
    window: Window = Field(description="Posts the plan's evidence came from.")
    created_at: datetime = Field(description="When the plan was made.")


class CampaignPublic(CampaignSummary):
    """A campaign with its stored plan and its review."""

    model_config = ConfigDict(json_schema_extra={"examples": [CAMPAIGN_EXAMPLE]})

    plan: CampaignPlan = Field(description="The plan as made at creation.")
    review: CampaignReview = Field(
        description="How its posts did so far (status not_started before its first day)."
    )


class CampaignsPage(BaseModel):
    """A page of campaigns, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_SUMMARY_EXAMPLE], "next_cursor": None}]}
    )

    items: list[CampaignSummary] = Field(description="The campaigns on this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
