"""Response shapes of GET /follower-trends."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from hashtag_core.trends.schemas import Granularity

__all__ = ["AccountFollowers", "FollowerPoint", "FollowerTrendsPage"]


class FollowerPoint(BaseModel):
    """An account's follower count in one local day or ISO week that has snapshots."""

    period_start: date = Field(description="Local date the day or the week (Monday) starts.")
    followers: int = Field(description="Follower count of the period's last snapshot.")
    followers_min: int = Field(description="Lowest follower count captured in the period.")
    followers_max: int = Field(description="Highest follower count captured in the period.")
    snapshots: int = Field(description="Follower snapshots captured in the period (n).")
    change: int | None = Field(
        description="followers minus the previous point's followers; null for the first point."
    )


class AccountFollowers(BaseModel):
    """The follower series of one account."""

    account_id: int = Field(description="The service's id of the account.")
    platform: str = Field(description="x, instagram, facebook or linkedin.")
    handle: str = Field(description="Handle or page name.")
    time_zone: str = Field(description="IANA zone the periods are local to (the account's).")
    series: list[FollowerPoint] = Field(
        description="One point per local day or ISO week that has snapshots, oldest first."
    )


class FollowerTrendsPage(BaseModel):
    """Follower counts over time, per account."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "granularity": "day",
                    "platform": "instagram",
                    "account": "legolandwindsor",
                    "items": [
                        {
                            "account_id": 4,
                            "platform": "instagram",
                            "handle": "legolandwindsor",
                            "time_zone": "Europe/London",
                            "series": [
                                {
                                    "period_start": "2025-06-06",
                                    "followers": 389200,
                                    "followers_min": 389050,
                                    "followers_max": 389200,
                                    "snapshots": 24,
                                    "change": None,
                                },
                                {
                                    "period_start": "2025-06-07",
                                    "followers": 389650,
                                    "followers_min": 389210,
                                    "followers_max": 389650,
                                    "snapshots": 25,
                                    "change": 450,
                                },
                                {
                                    "period_start": "2025-06-09",
                                    "followers": 390000,
                                    "followers_min": 389700,
                                    "followers_max": 390000,
                                    "snapshots": 9,
                                    "change": 350,
                                },
                            ],
                        }
                    ],
                }
            ]
        }
    )

    granularity: Granularity = Field(description="Series step: day or ISO week.")
    platform: str | None = Field(description="Platform of the scope; null for all platforms.")
    account: str | None = Field(description="Account (handle) of the scope; null for all accounts.")
    items: list[AccountFollowers] = Field(description="Accounts with snapshots, by handle.")
