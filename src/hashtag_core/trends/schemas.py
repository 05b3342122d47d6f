"""Response shapes of GET /engagement-trends."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hashtag_core.hashtags.schemas import Window

__all__ = [
    "BestSlot",
    "Granularity",
    "HashtagTrend",
    "Momentum",
    "SeriesPoint",
    "TrendCell",
    "TrendsPage",
]


class Granularity(StrEnum):
    """Length of one step of the series."""

    DAY = "day"
    WEEK = "week"


class TrendCell(BaseModel):
    """Posts and engagement in one local weekday x hour slot."""

    weekday: int = Field(
        ge=1, le=7, description="ISO weekday in local time: 1 = Monday, 7 = Sunday."
    )
    hour: int = Field(ge=0, le=23, description="Local hour of posting, 0-23.")
    posts: int = Field(description="Posts in this slot (n), all history.")
    avg_engagement: float = Field(description="Mean engagement of those posts.")
    lift: float | None = Field(
        default=None,
        description="In the window: engagement vs the post's account median there, minus 1.",
    )
    lift_ci_low: float | None = Field(default=None, description="95% interval of lift, low end.")
    lift_ci_high: float | None = Field(default=None, description="95% interval of lift, high end.")
    lift_posts: int | None = Field(
        default=None, description="Posts of the slot in the window, behind lift; null if none."
    )
    score: float | None = Field(
        default=None,
        description="The slot's estimate (the headline): engagement vs the account median, "
        "adjusted for the hashtags posted in it and the month, shrunk by its evidence; null "
        "under 5 posts and in live (tz) answers.",
    )
    score_ci_low: float | None = Field(default=None, description="95% interval of score, low.")
    score_ci_high: float | None = Field(default=None, description="95% interval of score, high.")
    qvalue: float | None = Field(
        default=None, description="q-value of score across the scope's slots (verdict <= 0.05)."
    )
    verdict: str | None = Field(
        default=None, description="lifts, underperforms, unclear or too_few_posts (score's)."
    )


class BestSlot(BaseModel):
    """A weekday x hour slot with at least 5 posts, ranked by its estimate (score); live (tz)
    answers rank by the low end of the raw lift's interval."""

    rank: int = Field(description="1 = the best slot.")
    weekday: int = Field(ge=1, le=7, description="ISO weekday in local time: 1 = Monday.")
    hour: int = Field(ge=0, le=23, description="Local hour, 0-23.")
    posts: int = Field(description="Posts the slot's figures rest on.")
    lift: float | None = Field(description="Raw engagement vs the account's median, minus 1.")
    lift_ci_low: float | None = Field(description="95% interval of lift, low end.")
    lift_ci_high: float | None = Field(description="95% interval of lift, high end.")
    score: float | None = Field(
        default=None,
        description="The slot's estimate (the headline): engagement vs the account median, "
        "adjusted for the hashtags posted in it and the month, shrunk by its evidence; null "
        "under 5 posts and in live (tz) answers.",
    )
    score_ci_low: float | None = Field(default=None, description="95% interval of score, low.")
    score_ci_high: float | None = Field(default=None, description="95% interval of score, high.")
    qvalue: float | None = Field(
        default=None, description="q-value of score across the scope's slots (verdict <= 0.05)."
    )
    verdict: str | None = Field(
        default=None, description="lifts, underperforms, unclear or too_few_posts (score's)."
    )


class Momentum(BaseModel):
    """Last 30 days against the 30 before, in engagement relative to each account's median.

    It has no window: it always covers the 60 days before the last full recompute."""

    recent_posts: int = Field(description="Posts in the last 30 days.")
    previous_posts: int = Field(description="Posts in the 30 days before.")
    change: float | None = Field(description="Ratio of recent to previous typical lift, minus 1.")
    change_ci_low: float | None = Field(description="95% (Welch) interval of change, low end.")
    change_ci_high: float | None = Field(description="95% (Welch) interval of change, high end.")
    direction: str = Field(
        description="rising, falling, or flat (no clear change / too few posts)."
    )


class SeriesPoint(BaseModel):
    """Posts and engagement in one local day or ISO week."""

    period_start: date = Field(description="Local date the day or the week (Monday) starts.")
    posts: int = Field(description="Posts in the period (n).")
    engagement_sum: int = Field(description="Sum of engagement over those posts.")
    avg_engagement: float = Field(description="engagement_sum / posts.")


class HashtagTrend(BaseModel):
    """The cells and series of one hashtag (or of all posts when hashtag is null)."""

    hashtag: str | None = Field(description="Display spelling; null means all posts.")
    key: str | None = Field(description="Grouping key (NFKC + casefold); null for all posts.")
    cells: list[TrendCell] = Field(
        description="Posts and mean engagement per local weekday x hour slot that has posts."
    )
    best_slots: list[BestSlot] = Field(
        description="Best slots in the window (>= 5 posts, up to 3), account-local or in tz."
    )
    momentum: Momentum | None = Field(
        description="Last 30 days vs the 30 before, whatever the window; null if never computed."
    )
    series: list[SeriesPoint] = Field(
        description="Posts and engagement per local day or ISO week that has posts, oldest first."
    )


class TrendsPage(BaseModel):
    """Engagement by weekday x hour and over time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "computed_at": "2025-06-09T08:02:11Z",
                    "time_zone": "account",
                    "granularity": "day",
                    "window": "all",
                    "platform": "instagram",
                    "account": "legolandwindsor",
                    "items": [
                        {
                            "hashtag": "BuildTogether",
                            "key": "buildtogether",
                            "cells": [
                                {
                                    "weekday": 6,
                                    "hour": 10,
                                    "posts": 9,
                                    "avg_engagement": 3120.4,
                                    "lift": 0.72,
                                    "lift_ci_low": 0.31,
                                    "lift_ci_high": 1.26,
                                    "lift_posts": 9,
                                },
                                {
                                    "weekday": 3,
                                    "hour": 18,
                                    "posts": 7,
                                    "avg_engagement": 1580.0,
                                    "lift": 0.05,
                                    "lift_ci_low": -0.28,
                                    "lift_ci_high": 0.53,
                                    "lift_posts": 7,
                                },
                            ],
                            "best_slots": [
                                {
                                    "rank": 1,
                                    "weekday": 6,
                                    "hour": 10,
                                    "posts": 9,
                                    "lift": 0.72,
                                    "lift_ci_low": 0.31,
                                    "lift_ci_high": 1.26,
                                },
                                {
                                    "rank": 2,
                                    "weekday": 3,
                                    "hour": 18,
                                    "posts": 7,
                                    "lift": 0.05,
                                    "lift_ci_low": -0.28,
                                    "lift_ci_high": 0.53,
                                },
                            ],
                            "momentum": {
                                "recent_posts": 6,
                                "previous_posts": 5,
                                "change": 0.18,
                                "change_ci_low": -0.21,
                                "change_ci_high": 0.76,
                                "direction": "flat",
                            },
                            "series": [
                                {
                                    "period_start": "2025-06-07",
                                    "posts": 2,
                                    "engagement_sum": 2840,
                                    "avg_engagement": 1420.0,
                                },
                                {
                                    "period_start": "2025-06-08",
                                    "posts": 1,
                                    "engagement_sum": 2410,
                                    "avg_engagement": 2410.0,
                                },
                            ],
                        }
                    ],
                }
            ]
        }
    )

    computed_at: datetime | None = Field(
        description="When the precomputed cells were computed; null when computed live (tz)."
    )
    time_zone: str = Field(
        description="'account' = each post's own account time zone, else the IANA zone used."
    )
    granularity: Granularity = Field(description="Series step: day or ISO week.")
    window: Window = Field(
        description="Posts the slot lifts and best slots cover: last 7/30/90/365 days, or all."
    )
    platform: str | None = Field(description="Platform of the scope; null for all platforms.")
    account: str | None = Field(description="Account (handle) of the scope; null for all accounts.")
    items: list[HashtagTrend] = Field(
        description="One entry per requested hashtag, or one for all posts (hashtag null)."
    )
