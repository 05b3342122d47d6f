"""Response and request shapes for posts and imports (shared by API, CLI and worker)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hashtag_core.ingest.schemas import Count, StorableText
from hashtag_core.platforms import Platform

__all__ = [
    "ImportError_",
    "ImportResult",
    "MetricSnapshot",
    "PostHistory",
    "PostPublic",
    "PostUpdate",
    "UpdatePostResult",
]


class ImportError_(BaseModel):
    """One rejected input row."""

    row: int = Field(
        description="1-based record number in the body (CSV: data row after the header)."
    )
    field: str | None = Field(description="The field that is wrong, if one is.")
    message: str = Field(description="What is wrong, in words.")


class ImportResult(BaseModel):
    """What an import did."""

    received: int = Field(description="Records read from the body.")
    stored: int = Field(description="Records stored (inserted + updated).")
    inserted: int = Field(description="Posts new to the service.")
    updated: int = Field(description="Posts already known, updated with a new metric snapshot.")
    duplicates_in_body: int = Field(
        description="Records repeating a post earlier in the same batch; the last one wins."
    )
    rejected: int = Field(description="Records not stored because they are invalid.")
    errors: list[ImportError_] = Field(description="Rejected rows with field and reason (capped).")
    errors_truncated: bool = Field(description="True when more rows were rejected than listed.")
    ignored_fields: list[str] = Field(
        description="Input fields the service does not know; they were ignored."
    )
    data_version: int | None = Field(
        description="Data version after the import (None if nothing stored)."
    )
    job_id: str | None = Field(
        description="Recompute job that will include this import: poll GET /jobs/{job_id}."
    )
    job_queued: bool = Field(
        description="False if the queue was unreachable (the worker catches up from the DB)."
    )


class PostPublic(BaseModel):
    """A stored post with its current metrics."""

    platform: Platform
    post_id: str = Field(description="The platform's id of the post.")
    account: str = Field(description="Account handle.")
    text: str
    url: str | None
    posted_at: datetime = Field(description="When it was posted (UTC).")
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    impressions: int | None
    reach: int | None
    followers: int | None = Field(description="Account followers when posted.")
    engagement: int = Field(description="likes + comments + shares + saves, unknown counting 0.")
    hashtags: list[str] = Field(description="Hashtags in the post, as spelled in it.")


class PostUpdate(BaseModel):
    """Body of POST /update-post: which post, the fields to change, or a re-fetch request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platform": "instagram",
                    "post_id": "17890000000000001",
                    "likes": 130,
                    "saves": 12,
                },
                {
                    "platform": "x",
                    "post_id": "1790000000000000001",
                    "refetch": True,
                    "after": 86400,
                },
            ]
        }
    )

    platform: Platform
    post_id: StorableText = Field(min_length=1, max_length=200)
    text: StorableText | None = Field(default=None, max_length=100_000)
    likes: Count | None = None
    comments: Count | None = None
    shares: Count | None = None
    saves: Count | None = None
    impressions: Count | None = None
    reach: Count | None = None
    refetch: bool = Field(
        default=False, description="Re-fetch the post's metrics from its platform."
    )
    after: int | None = Field(
        default=None,
        ge=0,
        le=30 * 86400,
        description="With refetch: wait this many seconds first (let engagement settle).",
    )


class UpdatePostResult(BaseModel):
    """The post after the update, and the jobs it started."""

    post: PostPublic
    changed: list[str] = Field(description="Fields whose value changed.")
    data_version: int | None
    job_id: str | None = Field(
        description="Recompute job covering this change (if anything changed)."
    )
    refetch_job_id: str | None = Field(description="Re-fetch job, when refetch was asked for.")
    job_queued: bool


class MetricSnapshot(BaseModel):
    """A post's metrics as seen at one moment."""

    captured_at: datetime = Field(description="When the metrics were recorded.")
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    impressions: int | None
    reach: int | None
    followers: int | None
    source: str = Field(description="import, update or collect.")


class PostHistory(BaseModel):
    """A post and every metric snapshot recorded for it."""

    post: PostPublic
    snapshots: list[MetricSnapshot]
