"""Request and response shapes for /campaigns (figures defined in docs/metrics.md,
"Campaign plans")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.insights.schemas import RecommendationItem
from hashtag_core.platforms import Platform

__all__ = [
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

    model_config = {
        "json_schema_extra": {
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
    }

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
    score_low: float | None = Field(description="95% credible interval, low end.")
    score_high: float | None = Field(description="95% credible interval, high end.")
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
    score_low: float | None = Field(description="95% credible interval, low end.")
    score_high: float | None = Field(description="95% credible interval, high end.")
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


class CampaignSummary(BaseModel):
    """A campaign without its plan (the list's row)."""

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

    plan: CampaignPlan = Field(description="The plan as made at creation.")
    review: CampaignReview = Field(
        description="How its posts did so far (status not_started before its first day)."
    )


class CampaignsPage(BaseModel):
    """A page of campaigns, newest first."""

    items: list[CampaignSummary] = Field(description="The campaigns on this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
