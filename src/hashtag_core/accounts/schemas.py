"""Request and response shapes for /accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hashtag_core.ingest.schemas import StorableText, validate_timezone
from hashtag_core.platforms import Platform

__all__ = [
    "MAX_ID",
    "AccountCreate",
    "AccountPublic",
    "AccountUpdate",
    "AccountsPage",
    "CollectRequest",
    "CollectStarted",
]

#: Largest id PostgreSQL's bigint holds; a larger one can name no row (and cannot be sent).
MAX_ID = 2**63 - 1


class _Tz(BaseModel):
    @field_validator("timezone", check_fields=False)
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        return None if value is None else validate_timezone(value)


class AccountCreate(_Tz):
    """Register an account to collect."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platform": "instagram",
                    "external_id": "17841400000000001",
                    "handle": "legolandwindsor",
                    "timezone": "Europe/London",
                    "token_ref": "windsor_instagram",
                    "sync_interval_minutes": 60,
                }
            ]
        }
    )

    platform: Platform
    external_id: StorableText = Field(
        min_length=1,
        max_length=200,
        description="The platform's id of the account (user/page/org id).",
    )
    handle: StorableText = Field(
        min_length=1, max_length=200, description="Handle or page name shown."
    )
    timezone: str = Field(default="UTC", description="IANA time zone of the account.")
    token_ref: StorableText | None = Field(
        default=None,
        max_length=100,
        description="Name of the access token in HASHTAG_PLATFORM_TOKENS (never the token).",
    )
    sync_interval_minutes: int = Field(default=60, ge=1, le=10080)


class AccountUpdate(_Tz):
    """Fields to change; omitted ones stay as they are."""

    handle: StorableText | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    token_ref: StorableText | None = Field(default=None, max_length=100)
    sync_interval_minutes: int | None = Field(default=None, ge=1, le=10080)
    paused: bool | None = Field(default=None, description="Stop (true) or resume collection.")


class AccountPublic(BaseModel):
    """An account and the state of its collection."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "platform": "instagram",
                    "external_id": "17841400000000001",
                    "handle": "legolandwindsor",
                    "timezone": "Europe/London",
                    "token_ref": "windsor_instagram",
                    "collect_enabled": True,
                    "status": "active",
                    "sync_interval_minutes": 60,
                    "last_sync_at": "2025-06-09T08:00:12Z",
                    "next_sync_at": "2025-06-09T09:00:12Z",
                    "last_error": None,
                    "posts": 3120,
                    "followers": 390000,
                }
            ]
        }
    )

    id: int = Field(description="The service's id of the account.")
    platform: Platform = Field(description="x, instagram, facebook or linkedin.")
    external_id: str = Field(description="The platform's id of the account.")
    handle: str = Field(description="Handle or page name.")
    timezone: str = Field(description="IANA time zone: local weekday/hour figures use it.")
    token_ref: str | None = Field(
        description="Reference name of its token; the token is never shown."
    )
    collect_enabled: bool = Field(description="True when the worker collects it.")
    status: str = Field(
        description="active, needs_reauth (token expired/revoked), error or paused."
    )
    sync_interval_minutes: int = Field(description="Minutes between scheduled syncs.")
    last_sync_at: datetime | None = Field(description="When the last sync finished.")
    next_sync_at: datetime | None = Field(description="When the next sync is due.")
    last_error: str | None = Field(description="What went wrong on the last sync, if anything.")
    posts: int = Field(description="Posts stored for it.")
    followers: int | None = Field(description="Latest follower count recorded.")


class CollectRequest(BaseModel):
    """Collect one account now, or every collected account."""

    account_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Omit to collect every account."
    )


class CollectStarted(BaseModel):
    """The collection jobs queued."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"job_ids": ["collect:4:1749456012", "collect:7:1749456012"], "job_queued": True}
            ]
        }
    )

    job_ids: list[str] = Field(description="One collection job per account: poll GET /jobs/{id}.")
    job_queued: bool = Field(
        description="False if the queue was unreachable (the worker collects due accounts anyway)."
    )


class AccountsPage(BaseModel):
    """A page of accounts, by platform and handle."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": AccountPublic.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[AccountPublic] = Field(description="The accounts on this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
