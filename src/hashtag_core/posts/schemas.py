"""Response and request shapes for posts and imports (shared by API, CLI and worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hashtag_core.ingest.schemas import Count, StorableText
from hashtag_core.platforms import Platform

__all__ = [
    "POST_EXAMPLE",
    "ImportError_",
    "ImportResult",
    "MetricSnapshot",
    "PostHistory",
    "PostPublic",
    "PostUpdate",
    "UpdatePostResult",
]


#: One post as the API shows it; the examples of the responses that carry posts reuse it.
POST_EXAMPLE: dict[str, Any] = {
    "platform": "instagram",
    "post_id": "17890000000000001",
    "account": "legolandwindsor",
    "text": "Build your dream at #LEGOLANDWindsor! Summer nights start Friday #BuildTogether "
    "#family",
    "url": "https://www.instagram.com/p/C8xLgWnNk2Q/",
    "posted_at": "2025-06-07T09:15:00Z",
    "likes": 1240,
    "comments": 86,
    "shares": 57,
    "saves": 210,
    "impressions": 48210,
    "reach": 31870,
    "followers": 390000,
    "engagement": 1593,
    "language": "en",
    "sentiment": 0.51,
    "hashtags": ["LEGOLANDWindsor", "BuildTogether", "family"],
}


class ImportError_(BaseModel):
    """One rejected input row."""

    row: int = Field(
        description="1-based record number in the body (CSV: data row after the header)."
    )
    field: str | None = Field(description="The field that is wrong, if one is.")
    message: str = Field(description="What is wrong, in words.")


class ImportResult(BaseModel):
    """What an import did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received": 1250,
                    "stored": 1247,
                    "inserted": 1190,
                    "updated": 57,
                    "duplicates_in_body": 1,
                    "rejected": 2,
                    "errors": [
                        {
                            "row": 118,
                            "field": "posted_at",
                            "message": "must carry a UTC offset, e.g. 2024-05-01T12:00:00+02:00",
                        },
                        {
                            "row": 904,
                            "field": "platform",
                            "message": "Input should be 'x', 'instagram', 'facebook' or 'linkedin'",
                        },
                    ],
                    "errors_truncated": False,
                    "ignored_fields": ["campaign"],
                    "data_version": 42,
                    "job_id": "recompute:42",
                    "job_queued": True,
                }
            ]
        }
    )

    received: int = Field(description="Records read from the body.")
    stored: int = Field(description="Records stored (inserted + updated).")
    inserted: int = Field(description="Posts new to the service.")
    updated: int = Field(
        description="Posts already known, updated (with a new metric snapshot if their metrics "
        "changed)."
    )
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

    model_config = ConfigDict(json_schema_extra={"examples": [POST_EXAMPLE]})

    platform: Platform = Field(description="x, instagram, facebook or linkedin.")
    post_id: str = Field(description="The platform's id of the post.")
    account: str = Field(description="Account handle.")
    text: str = Field(description="Post text as published; its hashtags are read from it.")
    url: str | None = Field(description="Link to the post; null if unknown.")
    posted_at: datetime = Field(description="When it was posted (UTC).")
    likes: int | None = Field(description="Likes/reactions; null if not reported (unknown, not 0).")
    comments: int | None = Field(description="Comments/replies; null if not reported.")
    shares: int | None = Field(description="Shares/retweets/reposts; null if not reported.")
    saves: int | None = Field(
        description="Saves/bookmarks; null if not reported (e.g. Facebook, LinkedIn)."
    )
    impressions: int | None = Field(description="Times the post was shown; null if not reported.")
    reach: int | None = Field(
        description="Unique accounts that saw the post; null if not reported (X never does)."
    )
    followers: int | None = Field(description="Account followers when posted; null if unknown.")
    engagement: int = Field(description="likes + comments + shares + saves, unknown counting 0.")
    language: str = Field(
        description="Language of the text (ISO 639-1, e.g. en, da, ja), detected without its "
        "hashtags, mentions and URLs; 'unknown' when too short to tell."
    )
    sentiment: float | None = Field(
        description="Sentiment score in [-1, 1] (VADER compound for English, AFINN for Danish); "
        "null = not scored: no validated scorer reads the post's language (docs/metrics.md)."
    )
    hashtags: list[str] = Field(description="Hashtags in the post, as spelled in it.")


class PostUpdate(BaseModel):
    """Body of POST /update-post: which post, the fields to change, or a re-fetch request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platform": "instagram",
                    "post_id": "17890000000000001",
                    "likes": 1302,
                    "saves": 224,
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
        strict=True,  # `false` is not 0 seconds
        ge=0,
        le=30 * 86400,
        description=(
            "With refetch: wait this many seconds first (let engagement settle). Only with "
            "refetch: true."
        ),
    )

    @field_validator("after")
    @classmethod
    def _only_with_refetch(cls, value: int | None, info: ValidationInfo) -> int | None:
        """A delay without a re-fetch would be silently ignored: refuse it instead."""
        if value is not None and not info.data.get("refetch", False):
            raise ValueError("after is the delay of a re-fetch: send it with refetch: true")
        return value


class UpdatePostResult(BaseModel):
    """The post after the update, and the jobs it started."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "post": {**POST_EXAMPLE, "likes": 1302, "saves": 224, "engagement": 1669},
                    "changed": ["likes", "saves"],
                    "data_version": 43,
                    "job_id": "recompute:43",
                    "refetch_job_id": None,
                    "job_queued": True,
                }
            ]
        }
    )

    post: PostPublic = Field(description="The post as stored after the update.")
    changed: list[str] = Field(description="Fields whose value changed.")
    data_version: int | None = Field(
        description="Data version that includes the change; null if nothing changed."
    )
    job_id: str | None = Field(
        description="Recompute job covering this change (if anything changed)."
    )
    refetch_job_id: str | None = Field(description="Re-fetch job, when refetch was asked for.")
    job_queued: bool = Field(
        description="False if the queue was unreachable (the worker catches up from the DB)."
    )


class MetricSnapshot(BaseModel):
    """A post's metrics as seen at one moment."""

    captured_at: datetime = Field(description="When the metrics were recorded.")
    likes: int | None = Field(description="Likes/reactions then; null if not reported.")
    comments: int | None = Field(description="Comments/replies then; null if not reported.")
    shares: int | None = Field(description="Shares/retweets/reposts then; null if not reported.")
    saves: int | None = Field(description="Saves/bookmarks then; null if not reported.")
    impressions: int | None = Field(description="Times shown by then; null if not reported.")
    reach: int | None = Field(description="Unique accounts reached by then; null if not reported.")
    followers: int | None = Field(
        description="Account followers recorded with the snapshot; null if unknown."
    )
    source: str = Field(description="import, update or collect.")


class PostHistory(BaseModel):
    """A post and every metric snapshot recorded for it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "post": POST_EXAMPLE,
                    "snapshots": [
                        {
                            "captured_at": "2025-06-07T12:00:00Z",
                            "likes": 410,
                            "comments": 22,
                            "shares": 9,
                            "saves": 61,
                            "impressions": 15300,
                            "reach": 11020,
                            "followers": 390000,
                            "source": "import",
                        },
                        {
                            "captured_at": "2025-06-09T08:00:00Z",
                            "likes": 1240,
                            "comments": 86,
                            "shares": 57,
                            "saves": 210,
                            "impressions": 48210,
                            "reach": 31870,
                            "followers": 390000,
                            "source": "collect",
                        },
                    ],
                }
            ]
        }
    )

    post: PostPublic = Field(description="The post with its current metrics.")
    snapshots: list[MetricSnapshot] = Field(description="Every metric snapshot, oldest first.")
