"""Response shapes of the hashtag read endpoints. Each field's description is its one-line
definition; docs/metrics.md has the full definitions with worked examples."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hashtag_core.posts.schemas import POST_EXAMPLE, PostPublic
from hashtag_core.sentiment import SentimentStatus

__all__ = [
    "FIGURES_EXAMPLE",
    "Goal",
    "HashtagFigures",
    "HashtagInsights",
    "PairFigures",
    "LiftFigures",
    "HashtagPage",
    "HashtagStandouts",
    "LanguageShare",
    "PerformanceItem",
    "PerformancePage",
    "PerformanceSort",
    "PostSort",
    "SortOrder",
    "StandoutPost",
    "Window",
]


class Window(StrEnum):
    """How far back the figures look from the time they were computed."""

    D7 = "7d"
    D30 = "30d"
    D90 = "90d"
    D365 = "365d"
    ALL = "all"


class Goal(StrEnum):
    """What a lift compares: engagement, reach, virality (shares per reach), engagement rate per
    follower, or follower growth after posting."""

    ENGAGEMENT = "engagement"
    REACH = "reach"
    VIRALITY = "virality"
    ER_FOLLOWER = "er_follower"
    FOLLOWERS = "followers"


class PerformanceSort(StrEnum):
    """Figures `GET /hashtag-performance` can sort by."""

    SCORE = "score"
    LIFT = "lift"
    POSTS = "posts"
    AVG_ENGAGEMENT = "avg_engagement"
    MEDIAN_ENGAGEMENT = "median_engagement"
    ENGAGEMENT_RATE_FOLLOWER = "engagement_rate_follower"
    ENGAGEMENT_RATE_REACH = "engagement_rate_reach"
    VIRALITY = "virality"
    AVG_REACH = "avg_reach"
    AVG_IMPRESSIONS = "avg_impressions"
    HASHTAG = "hashtag"


class SortOrder(StrEnum):
    """Direction of a sort; nulls come last either way."""

    ASC = "asc"
    DESC = "desc"


class PostSort(StrEnum):
    """Order of the posts under a hashtag."""

    NEWEST = "newest"
    ENGAGEMENT = "engagement"


#: All-time figures of #BuildTogether over all platforms (shared by the page and report examples).
FIGURES_EXAMPLE: dict[str, Any] = {
    "posts": 2140,
    "avg_engagement": 2486.3,
    "median_engagement": 1105.0,
    "engagement_rate_follower": 0.0187,
    "engagement_rate_follower_posts": 2140,
    "engagement_rate_reach": 0.058,
    "engagement_rate_reach_posts": 1066,
    "virality": 0.0039,
    "virality_posts": 1702,
    "avg_reach": 20350.0,
    "reach_posts": 1066,
    "avg_impressions": 45120.0,
    "impressions_posts": 1371,
}

#: One row of /hashtag-performance (engagement goal, 90-day window, all platforms).
_PERFORMANCE_ITEM_EXAMPLE: dict[str, Any] = {
    "hashtag": "BuildTogether",
    "key": "buildtogether",
    "posts": 818,
    "avg_engagement": 2911.9,
    "median_engagement": 1240.0,
    "engagement_rate_follower": 0.0213,
    "engagement_rate_follower_posts": 818,
    "engagement_rate_reach": 0.061,
    "engagement_rate_reach_posts": 402,
    "virality": 0.0042,
    "virality_posts": 640,
    "avg_reach": 21500.0,
    "reach_posts": 402,
    "avg_impressions": 48000.0,
    "impressions_posts": 512,
    "goal": "engagement",
    "lift_posts": 818,
    "lift": 0.61,
    "lift_ci_low": 0.53,
    "lift_ci_high": 0.70,
    "score": 0.55,
    "score_ci_low": 0.47,
    "score_ci_high": 0.63,
    "lfsr": 0.0001,
    "qvalue": 0.0001,
    "verdict": "lifts",
}


class HashtagFigures(BaseModel):
    """Per-hashtag figures for one scope and window; every mean says how many posts it rests on."""

    posts: int = Field(description="Posts carrying the hashtag (n).")
    avg_engagement: float = Field(
        description="Mean engagement (likes+comments+shares+saves, unknown adding 0) per post."
    )
    median_engagement: float = Field(description="Median engagement per post.")
    engagement_rate_follower: float | None = Field(
        description="Mean of engagement/followers over posts with known followers > 0."
    )
    engagement_rate_follower_posts: int = Field(
        description="Posts behind engagement_rate_follower."
    )
    engagement_rate_reach: float | None = Field(
        description="Mean of engagement/reach over posts with known reach > 0."
    )
    engagement_rate_reach_posts: int = Field(description="Posts behind engagement_rate_reach.")
    virality: float | None = Field(
        description="Mean of shares/reach per post (shares/impressions when reach is unknown "
        "or 0), over posts with shares known and that denominator > 0."
    )
    virality_posts: int = Field(description="Posts behind virality.")
    avg_reach: float | None = Field(
        description="Mean reach over posts that report reach (a reported 0 counts)."
    )
    reach_posts: int = Field(description="Posts behind avg_reach.")
    avg_impressions: float | None = Field(
        description="Mean impressions over posts that report impressions (a reported 0 counts)."
    )
    impressions_posts: int = Field(description="Posts behind avg_impressions.")


class LiftFigures(BaseModel):
    """How posts with the hashtag do against their own account's typical post, for one goal."""

    goal: Goal = Field(description="The figure compared (see docs/metrics.md).")
    lift_posts: int = Field(description="Posts the lift rests on (the goal's metric known).")
    lift: float | None = Field(
        description="Raw (marginal) lift, secondary evidence: typical ratio of its posts to "
        "their account's median post, minus 1 (0.25 = 25% better), crediting it with its "
        "companions' effect."
    )
    lift_ci_low: float | None = Field(description="95% t interval of the raw lift, low end.")
    lift_ci_high: float | None = Field(description="95% t interval of the raw lift, high end.")
    score: float | None = Field(
        description="The hashtag estimate, the headline and ranking key: its effect adjusted "
        "for the hashtags used with it and the posting time, shrunk by its evidence "
        "(0.25 = +25%). Null under 5 posts (too few to judge)."
    )
    score_ci_low: float | None = Field(description="95% interval of score, low end.")
    score_ci_high: float | None = Field(description="95% interval of score, high end.")
    lfsr: float | None = Field(
        description="Local false sign rate: the probability that the sign of score is wrong."
    )
    qvalue: float | None = Field(
        description="Expected share of wrong signs among the list's verdicts at this "
        "hashtag's evidence (s-value); a verdict needs <= 0.05."
    )
    verdict: str | None = Field(
        description="lifts / underperforms (sign sure across the list: qvalue <= 0.05), "
        "unclear, or too_few_posts (under 5 posts)."
    )


class PerformanceItem(HashtagFigures, LiftFigures):
    """One hashtag's figures."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PERFORMANCE_ITEM_EXAMPLE]})

    hashtag: str = Field(description="The hashtag as spelled most often, without '#'.")
    key: str = Field(description="Grouping key (NFKC + casefold); use it in /hashtags/{key}.")


class PairFigures(BaseModel):
    """A hashtag used together with this one, and whether the pair beats each tag alone."""

    hashtag: str = Field(description="The other hashtag (display spelling).")
    posts: int = Field(description="Posts carrying both.")
    pair_lift: float | None = Field(description="Engagement lift of posts with both tags.")
    synergy: float | None = Field(
        description="Pair lift vs the better of the two tags used alone (0.1 = 10% better)."
    )
    synergy_ci_low: float | None = Field(description="95% (Welch) interval of synergy, low.")
    synergy_ci_high: float | None = Field(description="95% (Welch) interval of synergy, high.")


class LanguageShare(BaseModel):
    """The hashtag's posts in one language (in the scope and window)."""

    language: str = Field(description="ISO 639-1 code (en, da, ja, ...) or 'unknown'.")
    posts: int = Field(description="Its posts in that language.")
    share: float = Field(description="Their share of the hashtag's posts.")
    scored_posts: int = Field(description="Those with a sentiment score.")


class HashtagInsights(BaseModel):
    """Insight figures for the hashtag in the requested scope and window."""

    lifts: list[LiftFigures] = Field(description="Lift, interval, score and verdict per goal.")
    content_reach: float | None = Field(
        description="Mean reach/impressions over its posts with reach known and impressions > 0."
    )
    content_reach_posts: int = Field(
        description="Posts behind content_reach (reach known, impressions known and > 0)."
    )
    sentiment_mean: float | None = Field(
        description="Mean sentiment score of its scored posts (VADER compound; AFINN for Danish)."
    )
    sentiment_positive_share: float | None = Field(description="Share scored positive.")
    sentiment_negative_share: float | None = Field(description="Share scored negative.")
    sentiment_engagement_corr: float | None = Field(
        description="Pearson r of sentiment vs engagement relative to the account median."
    )
    sentiment_scored_posts: int = Field(
        default=0, description="Posts the sentiment figures rest on (those with a score)."
    )
    sentiment_coverage: float | None = Field(
        default=None,
        description="sentiment_scored_posts / its posts in the window (null before the first "
        "recompute that counts languages).",
    )
    sentiment_languages: list[str] = Field(
        default_factory=list, description="Languages of the scored posts."
    )
    sentiment_status: SentimentStatus = Field(
        default="not scored",
        description="'not scored' when coverage is below 0.5: most of its posts are in "
        "languages no validated scorer reads, and the figures would speak for the rest only.",
    )
    languages: list[LanguageShare] = Field(
        default_factory=list, description="Its posts per language, most used first."
    )
    pairs: list[PairFigures] = Field(
        description="Most-used companions (>= 5 posts together), over all history."
    )


class PerformancePage(BaseModel):
    """Hashtag figures from the precomputed tables."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "computed_at": "2025-06-09T08:02:11Z",
                    "full_recompute_at": "2025-06-09T08:00:04Z",
                    "data_version": 43,
                    "pending_version": None,
                    "platform": None,
                    "account": None,
                    "window": "90d",
                    "goal": "engagement",
                    "total": 214,
                    "items": [_PERFORMANCE_ITEM_EXAMPLE],
                    "next_cursor": "eyJraW5kIjoicGVyZm9ybWFuY2UiLCJvZmZzZXQiOjF9",
                }
            ]
        }
    )

    computed_at: datetime | None = Field(description="When these figures were computed.")
    full_recompute_at: datetime | None = Field(
        default=None,
        description="When the last full recompute ran: the windows end then, and the account "
        "baselines, shrinkage prior, co-occurrence and recommendations are as of then "
        "(single-post updates since are applied incrementally; docs/metrics.md, Freshness).",
    )
    data_version: int = Field(description="Data version the figures include.")
    pending_version: int | None = Field(
        description="Newer data version not yet included (a recompute is due), else null."
    )
    platform: str | None = Field(description="Platform the figures cover; null for all platforms.")
    account: str | None = Field(description="Account (handle) they cover; null for all accounts.")
    window: Window = Field(description="Posts from the last 7/30/90/365 days, or all.")
    goal: Goal = Field(description="Goal of the lift, score and verdict fields.")
    total: int = Field(description="Hashtags matching the filters (before limit/offset).")
    items: list[PerformanceItem] = Field(
        description="One row per hashtag, in the requested order (after limit/offset)."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` (alone) for the next page; null on the last page."
    )


class HashtagPage(BaseModel):
    """A hashtag, its figures and a page of the posts that carry it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hashtag": "BuildTogether",
                    "key": "buildtogether",
                    "window": "all",
                    "figures": FIGURES_EXAMPLE,
                    "insights": {
                        "lifts": [
                            {
                                "goal": "engagement",
                                "lift_posts": 2140,
                                "lift": 0.58,
                                "lift_ci_low": 0.52,
                                "lift_ci_high": 0.64,
                                "score": 0.55,
                                "score_ci_low": 0.49,
                                "score_ci_high": 0.61,
                                "lfsr": 0.0001,
                                "qvalue": 0.0001,
                                "verdict": "lifts",
                            },
                            {
                                "goal": "reach",
                                "lift_posts": 1066,
                                "lift": 0.12,
                                "lift_ci_low": 0.05,
                                "lift_ci_high": 0.19,
                                "score": 0.11,
                                "score_ci_low": 0.04,
                                "score_ci_high": 0.18,
                                "lfsr": 0.002,
                                "qvalue": 0.001,
                                "verdict": "lifts",
                            },
                        ],
                        "content_reach": 0.71,
                        "content_reach_posts": 1004,
                        "sentiment_mean": 0.42,
                        "sentiment_positive_share": 0.68,
                        "sentiment_negative_share": 0.04,
                        "sentiment_engagement_corr": 0.11,
                        "sentiment_scored_posts": 1480,
                        "sentiment_coverage": 0.69,
                        "sentiment_languages": ["da", "en"],
                        "sentiment_status": "scored",
                        "languages": [
                            {"language": "en", "posts": 1120, "share": 0.52, "scored_posts": 1120},
                            {"language": "da", "posts": 360, "share": 0.17, "scored_posts": 360},
                            {"language": "de", "posts": 410, "share": 0.19, "scored_posts": 0},
                            {"language": "ja", "posts": 250, "share": 0.12, "scored_posts": 0},
                        ],
                        "pairs": [
                            {
                                "hashtag": "LEGO",
                                "posts": 388,
                                "pair_lift": 0.83,
                                "synergy": 0.14,
                                "synergy_ci_low": 0.02,
                                "synergy_ci_high": 0.27,
                            }
                        ],
                    },
                    "computed_at": "2025-06-09T08:02:11Z",
                    "sort": "newest",
                    "items": [POST_EXAMPLE],
                    "next_cursor": "WyIyMDI1LTA2LTA3VDA5OjE1OjAwKzAwOjAwIiw0ODIxM10",
                }
            ]
        }
    )

    hashtag: str = Field(description="Display spelling, without '#'.")
    key: str = Field(description="Grouping key (NFKC + casefold) of the hashtag.")
    window: Window = Field(
        description="Posts figures and insights cover: last 7/30/90/365 days, or all."
    )
    figures: HashtagFigures | None = Field(
        description="Figures in the window for the platform/account (null if no posts there)."
    )
    insights: HashtagInsights | None = Field(
        description="Lifts, content reach and sentiment in the window; pairs (null if none)."
    )
    computed_at: datetime | None = Field(
        description="When the figures were computed; null before the first recompute."
    )
    sort: PostSort = Field(description="Order of items: newest first, or by engagement.")
    items: list[PostPublic] = Field(description="This page of the posts carrying the hashtag.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


_STANDOUT_EXAMPLE: dict[str, Any] = {**POST_EXAMPLE, "relative": 2.4, "account_baseline": 5.0}


class StandoutPost(PostPublic):
    """A post carrying the hashtag, with how it did against its account's usual post."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STANDOUT_EXAMPLE]})

    relative: float = Field(
        description="Engagement relative to the account's median post in the window, "
        "exp(log_ratio) - 1 with the log-ratio capped to +-ln 20 (1.5 = +150%; "
        "docs/metrics.md, Standout posts)."
    )
    account_baseline: float = Field(
        description="The account's median of 1 + engagement in the window (as of the last "
        "full recompute)."
    )


class HashtagStandouts(BaseModel):
    """A hashtag's best and weakest posts against their own accounts' usual post."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hashtag": "LEGOLAND",
                    "key": "legoland",
                    "window": "all",
                    "baselines_at": "2025-06-09T08:00:04Z",
                    "posts": 4,
                    "best": [_STANDOUT_EXAMPLE],
                    "worst": [{**_STANDOUT_EXAMPLE, "relative": 0.0}],
                }
            ]
        }
    )

    hashtag: str = Field(description="Display spelling, without '#'.")
    key: str = Field(description="Grouping key (NFKC + casefold) of the hashtag.")
    window: Window = Field(description="Posts covered: last 7/30/90/365 days, or all.")
    baselines_at: datetime | None = Field(
        description="When the account baselines were computed (the last full recompute); the "
        "window ends then. Null before the first recompute (then no post is listed)."
    )
    posts: int = Field(
        description="Posts carrying the hashtag in the scope and window that "
        "have an account baseline (the pool both lists come from)."
    )
    best: list[StandoutPost] = Field(
        description="Highest relative performance first (ties: newest first)."
    )
    worst: list[StandoutPost] = Field(
        description="Lowest relative performance first (ties: newest first)."
    )
