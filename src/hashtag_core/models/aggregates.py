"""Precomputed aggregate tables served by the read endpoints; rebuilt by the worker.

Scope columns: `platform` ('*' = all platforms) and `account_id` (0 = all accounts).
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, SmallInteger
from sqlmodel import Field, SQLModel

from hashtag_core.models._types import tz_column

__all__ = [
    "DataVersion",
    "HashtagDaily",
    "HashtagPerformance",
    "HashtagTrendCell",
    "RecomputeState",
]


class HashtagPerformance(SQLModel, table=True):
    """Per-hashtag figures for one scope and window (definitions in docs/metrics.md)."""

    __tablename__ = "hashtag_performance"

    platform: str = Field(primary_key=True)
    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    window: str = Field(primary_key=True)
    hashtag_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    posts: int
    avg_engagement: float
    median_engagement: float
    er_follower: float | None = None
    er_follower_posts: int
    er_reach: float | None = None
    er_reach_posts: int
    virality: float | None = None
    virality_posts: int
    avg_reach: float | None = None
    reach_posts: int
    avg_impressions: float | None = None
    impressions_posts: int
    computed_at: datetime = Field(sa_column=tz_column("computed_at"))


class HashtagTrendCell(SQLModel, table=True):
    """Posts and engagement in one local weekday x hour cell (hashtag_id 0 = all posts)."""

    __tablename__ = "hashtag_trend_cell"

    platform: str = Field(primary_key=True)
    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    hashtag_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    weekday: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    hour: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    posts: int
    engagement_sum: int = Field(sa_column=Column(BigInteger, nullable=False))
    avg_engagement: float


class HashtagDaily(SQLModel, table=True):
    """Posts and engagement on one local calendar day (hashtag_id 0 = all posts)."""

    __tablename__ = "hashtag_daily"

    platform: str = Field(primary_key=True)
    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    hashtag_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    local_date: date = Field(primary_key=True)
    posts: int
    engagement_sum: int = Field(sa_column=Column(BigInteger, nullable=False))


class DataVersion(SQLModel, table=True):
    """One row, bumped in the same transaction as every write to posts: the durable record
    that the aggregates are stale (an outbox of one row), read by the recompute job."""

    __tablename__ = "data_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


class RecomputeState(SQLModel, table=True):
    """One row, written only by the recompute job: which data version the aggregates show."""

    __tablename__ = "recompute_state"

    id: int = Field(default=1, primary_key=True)
    computed_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    computed_at: datetime | None = Field(
        default=None, sa_column=tz_column("computed_at", nullable=True)
    )
    last_duration_ms: int | None = None
