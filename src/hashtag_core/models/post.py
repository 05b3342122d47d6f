"""Posts and the append-only history of their metric snapshots."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Computed, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hashtag_core.models._types import count_column, created_column, tz_column

__all__ = ["ENGAGEMENT_SQL", "METRIC_COLUMNS", "Post", "PostMetricSnapshot"]

#: The metrics a post carries; NULL = not reported by the platform.
METRIC_COLUMNS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
#: engagement = likes + comments + shares + saves, NULL counting as 0 (docs/metrics.md).
ENGAGEMENT_SQL = (
    "coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0)"
)


class Post(SQLModel, table=True):
    """One post on one platform; unique per (platform, platform_post_id)."""

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("platform", "platform_post_id", name="uq_post_platform_post_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    account_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    platform: str = Field(max_length=16)
    platform_post_id: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    posted_at: datetime = Field(sa_column=tz_column("posted_at"))
    url: str | None = None
    likes: int | None = Field(default=None, sa_column=count_column("likes"))
    comments: int | None = Field(default=None, sa_column=count_column("comments"))
    shares: int | None = Field(default=None, sa_column=count_column("shares"))
    saves: int | None = Field(default=None, sa_column=count_column("saves"))
    impressions: int | None = Field(default=None, sa_column=count_column("impressions"))
    reach: int | None = Field(default=None, sa_column=count_column("reach"))
    followers: int | None = Field(default=None, sa_column=count_column("followers"))
    engagement: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Computed(ENGAGEMENT_SQL, persisted=True)),
    )
    created_at: datetime | None = Field(default=None, sa_column=created_column())
    updated_at: datetime | None = Field(default=None, sa_column=created_column("updated_at"))


class PostMetricSnapshot(SQLModel, table=True):
    """A post's metrics as seen at `captured_at` (append-only history)."""

    __tablename__ = "post_metric_snapshot"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    post_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    captured_at: datetime | None = Field(default=None, sa_column=created_column("captured_at"))
    likes: int | None = Field(default=None, sa_column=count_column("likes"))
    comments: int | None = Field(default=None, sa_column=count_column("comments"))
    shares: int | None = Field(default=None, sa_column=count_column("shares"))
    saves: int | None = Field(default=None, sa_column=count_column("saves"))
    impressions: int | None = Field(default=None, sa_column=count_column("impressions"))
    reach: int | None = Field(default=None, sa_column=count_column("reach"))
    followers: int | None = Field(default=None, sa_column=count_column("followers"))
    source: str = Field(default="import", max_length=16)
