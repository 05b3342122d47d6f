"""Response of GET /period-change."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PeriodChangeItem", "PeriodChangePage"]


_ITEM_EXAMPLE: dict[str, Any] = {
    "hashtag": "LEGOLAND",
    "key": "legoland",
    "current_posts": 2,
    "previous_posts": 2,
    "current_mean_log_ratio": 0.206,
    "previous_mean_log_ratio": -0.177,
    "change": 0.466,
    "change_ci_low": -0.9996,
    "change_ci_high": 5362.99,
    "direction": "flat",
}


class PeriodChangeItem(BaseModel):
    """One hashtag's engagement in the range against the period before it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    hashtag: str = Field(description="Display spelling, without '#'.")
    key: str = Field(description="Grouping key (NFKC + casefold); use it in /hashtags/{key}.")
    current_posts: int = Field(description="Its posts in the range.")
    previous_posts: int = Field(description="Its posts in the previous period.")
    current_mean_log_ratio: float | None = Field(
        description="Mean engagement log-ratio of its posts in the range, each against its "
        "account's median post of the range."
    )
    previous_mean_log_ratio: float | None = Field(
        description="The same for the previous period (against that period's medians)."
    )
    change: float | None = Field(
        description="exp(current mean - previous mean) - 1 (0.25 = 25% better than before); "
        "null without posts in both periods."
    )
    change_ci_low: float | None = Field(description="95% Welch interval of change, low end.")
    change_ci_high: float | None = Field(description="95% Welch interval of change, high end.")
    direction: str = Field(
        description="rising / falling when the interval excludes 0, else flat (which includes "
        "too few posts to tell: under 2 in a period)."
    )


class PeriodChangePage(BaseModel):
    """Change per hashtag between a date range and the period of the same length before it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "since": "2025-04-01",
                    "until": "2025-06-10",
                    "previous_since": "2025-01-21",
                    "platform": None,
                    "account": None,
                    "total": 1,
                    "items": [_ITEM_EXAMPLE],
                }
            ]
        }
    )

    since: date = Field(description="First day of the range (UTC).")
    until: date = Field(description="Day after the range (UTC; exclusive).")
    previous_since: date = Field(description="First day of the previous period (UTC).")
    platform: str | None = Field(description="Platform covered; null for all.")
    account: str | None = Field(description="Account (handle) covered; null for all.")
    total: int = Field(description="Hashtags with posts in either period (after min_posts).")
    items: list[PeriodChangeItem] = Field(
        description="Most posts in the range first (then by key), at most `limit`."
    )
