"""Accounts: one brand account on one platform, with its IANA time zone."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hashtag_core.models._types import created_column, tz_column

__all__ = ["Account", "FollowerSnapshot", "PostRefresh"]


class Account(SQLModel, table=True):
    """A social account the service analyses."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_account_platform_external_id"),
        UniqueConstraint("platform", "handle", name="uq_account_platform_handle"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    platform: str = Field(max_length=16)
    external_id: str
    handle: str
    timezone: str = Field(default="UTC")
    created_at: datetime | None = Field(default=None, sa_column=created_column())
    token_ref: str | None = None
    collect_enabled: bool = False
    status: str = "active"
    sync_interval_minutes: int = 60
    last_sync_at: datetime | None = Field(
        default=None, sa_column=tz_column("last_sync_at", nullable=True)
    )
    next_sync_at: datetime | None = Field(
        default=None, sa_column=tz_column("next_sync_at", nullable=True)
    )
    last_error: str | None = None
    last_success_at: datetime | None = Field(
        default=None, sa_column=tz_column("last_success_at", nullable=True)
    )
    watermark_since_id: str | None = None
    watermark_since_time: datetime | None = Field(
        default=None, sa_column=tz_column("watermark_since_time", nullable=True)
    )


class FollowerSnapshot(SQLModel, table=True):
    """An account's follower count at a moment (append-only)."""

    __tablename__ = "follower_snapshot"

    account_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    captured_at: datetime = Field(primary_key=True)
    followers: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(default="import", max_length=16)


class PostRefresh(SQLModel, table=True):
    """A planned re-fetch of a post's metrics at a fixed age (re-analysis once settled)."""

    __tablename__ = "post_refresh"

    post_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    age_label: str = Field(primary_key=True)
    due_at: datetime = Field(sa_column=tz_column("due_at"))
    done_at: datetime | None = Field(default=None, sa_column=tz_column("done_at", nullable=True))
    attempts: int = 0
    last_error: str | None = None
