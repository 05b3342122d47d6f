"""Response shapes of GET /engagement-trends."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

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
    posts: int = Field(description="Posts in this slot (n).")
    avg_engagement: float = Field(description="Mean engagement of those posts.")
    lift: float | None = Field(
        default=None,
        description="Engagement vs each post's own account median, minus 1 (0.2 = +20%).",
    )
    lift_ci_low: float | None = Field(default=None, description="95% interval of lift, low end.")
    lift_ci_high: float | None = Field(default=None, description="95% interval of lift, high end.")


class BestSlot(BaseModel):
    """A weekday x hour slot with enough posts, ranked by the low end of its lift interval."""

    rank: int = Field(description="1 = the slot whose lift is most surely high.")
    weekday: int = Field(ge=1, le=7, description="ISO weekday in local time: 1 = Monday.")
    hour: int = Field(ge=0, le=23, description="Local hour, 0-23.")
    posts: int = Field(description="Posts the slot's figures rest on.")
    lift: float | None = Field(description="Engagement vs the account's median post, minus 1.")
    lift_ci_low: float | None = Field(description="95% interval of lift, low end.")
    lift_ci_high: float | None = Field(description="95% interval of lift, high end.")


class Momentum(BaseModel):
    """Last 30 days against the 30 before, in engagement relative to each account's median."""

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
    key: str | None
    cells: list[TrendCell]
    best_slots: list[BestSlot] = Field(
        description="Best slots in account-local time with >= 5 posts (up to 3); empty with tz."
    )
    momentum: Momentum | None = Field(description="Rising or falling; null when never computed.")
    series: list[SeriesPoint]


class TrendsPage(BaseModel):
    """Engagement by weekday x hour and over time."""

    computed_at: datetime | None = Field(
        description="When the precomputed cells were computed; null when computed live (tz)."
    )
    time_zone: str = Field(
        description="'account' = each post's own account time zone, else the IANA zone used."
    )
    granularity: Granularity
    platform: str | None
    account: str | None
    items: list[HashtagTrend]
