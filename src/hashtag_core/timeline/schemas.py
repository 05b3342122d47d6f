"""Response shapes of GET /follower-trends."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

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
    series: list[FollowerPoint]


class FollowerTrendsPage(BaseModel):
    """Follower counts over time, per account."""

    granularity: Granularity
    platform: str | None
    account: str | None
    items: list[AccountFollowers] = Field(description="Accounts with snapshots, by handle.")
