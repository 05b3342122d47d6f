"""Request and response shapes for /report-schedules and /alert-subscriptions."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.ingest.schemas import StorableText, storable_text
from hashtag_core.platforms import Platform

__all__ = [
    "AlertKind",
    "AlertSubscriptionCreate",
    "AlertSubscriptionPublic",
    "Cadence",
    "Email",
    "ReportScheduleCreate",
    "ReportSchedulePublic",
    "WebhookUrl",
    "secret_hint",
]

# Deliberately plain: one @, a dotted domain, no spaces or angle brackets (header injection).
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MIN_SECRET_CHARS = 24


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address (name@example.com)")
    return value


def _webhook_url(value: str) -> str:
    storable_text(value)
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("a URL has no spaces or control characters")
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:  # an unclosed [IPv6 bracket, a port out of range
        raise ValueError(f"{value!r} is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(
            f"{value!r} is not an http(s) URL with a host (https://hooks.example.com/hashtags)"
        )
    if parts.username or parts.password:
        raise ValueError("put no credentials in the URL; the body is signed with the secret")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
WebhookUrl = Annotated[str, Field(max_length=2000), AfterValidator(_webhook_url)]


def secret_hint(secret: str) -> str:
    """What the API shows of a webhook secret: its last four characters."""
    return "…" + secret[-4:]


class Cadence(StrEnum):
    """How often a scheduled report goes out."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"


class AlertKind(StrEnum):
    """What an alert is about (docs/metrics.md, "Alerts")."""

    VERDICT_FLIP = "verdict_flip"
    POST_OUTLIER = "post_outlier"
    SYNC_STALE = "sync_stale"


class _Scope(BaseModel):
    platform: Platform | None = Field(default=None, description="Only this platform.")
    account: StorableText | None = Field(
        default=None, max_length=200, description="Only this account (handle or id)."
    )


class ReportScheduleCreate(_Scope):
    """A weekly or monthly report for a list of recipients."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Weekly Instagram",
                    "recipients": ["analyst@example.com"],
                    "cadence": "weekly",
                    "platform": "instagram",
                    "window": "30d",
                    "goal": "engagement",
                }
            ]
        },
    )

    name: StorableText = Field(min_length=1, max_length=200)
    recipients: list[Email] = Field(min_length=1, max_length=50)
    cadence: Cadence
    window: Window = Field(default=Window.D30, description="Posts the figures come from.")
    goal: Goal = Field(default=Goal.ENGAGEMENT, description="Goal of the recommendations.")


class ReportSchedulePublic(BaseModel):
    """A stored report schedule."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "Weekly Instagram",
                    "recipients": ["analyst@example.com"],
                    "cadence": "weekly",
                    "platform": "instagram",
                    "account": None,
                    "window": "30d",
                    "goal": "engagement",
                    "created_at": "2026-12-07T06:00:00Z",
                }
            ]
        }
    )

    id: int = Field(description="The schedule's id (DELETE /report-schedules/{id}).")
    name: str = Field(description="Name shown in the email's subject.")
    recipients: list[str] = Field(description="Email addresses that get the report.")
    cadence: Cadence = Field(description="weekly (ISO week) or monthly.")
    platform: Platform | None = Field(description="Platform in scope; null = all.")
    account: str | None = Field(description="Handle of the account in scope, if any.")
    window: Window = Field(description="Posts the report's figures come from.")
    goal: Goal = Field(description="Goal of the recommendations.")
    created_at: datetime = Field(description="When the schedule was created.")


class AlertSubscriptionCreate(_Scope):
    """Where alerts of some kinds go: a signed webhook and/or email addresses."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ops channel",
                    "webhook_url": "https://hooks.example.com/hashtags",
                    "webhook_secret": "whsec_0123456789abcdef01234567",
                    "emails": ["analyst@example.com"],
                    "kinds": ["verdict_flip", "post_outlier", "sync_stale"],
                    "window": "all",
                    "goal": "engagement",
                }
            ]
        },
    )

    name: StorableText = Field(min_length=1, max_length=200)
    webhook_url: WebhookUrl | None = Field(default=None, description="POSTed each alert.")
    webhook_secret: StorableText | None = Field(
        default=None,
        min_length=MIN_SECRET_CHARS,
        max_length=200,
        description="Signs each webhook body (HMAC-SHA256); never shown again in full.",
        validate_default=True,
    )
    emails: list[Email] = Field(default_factory=list, max_length=50, validate_default=True)
    kinds: list[AlertKind] = Field(min_length=1, max_length=3)
    window: Window = Field(default=Window.ALL, description="Window whose verdicts are watched.")
    goal: Goal = Field(default=Goal.ENGAGEMENT, description="Goal whose verdicts are watched.")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_with_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "webhook_url" not in info.data:
            return value  # the URL itself is wrong; that error is reported
        if info.data["webhook_url"] is not None and value is None:
            raise ValueError(f"a webhook_url needs a webhook_secret ({MIN_SECRET_CHARS}+ chars)")
        if info.data["webhook_url"] is None and value is not None:
            raise ValueError("a webhook_secret goes with a webhook_url")
        return value

    @field_validator("emails")
    @classmethod
    def _some_channel(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and info.data.get("webhook_url", "") is None:
            raise ValueError("name a webhook_url (with its webhook_secret) or at least one email")
        return value

    @field_validator("kinds")
    @classmethod
    def _distinct(cls, value: list[AlertKind]) -> list[AlertKind]:
        return sorted(set(value))


class AlertSubscriptionPublic(BaseModel):
    """A stored alert subscription; the secret shows only its last four characters."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "Ops channel",
                    "webhook_url": "https://hooks.example.com/hashtags",
                    "webhook_secret_hint": "…4567",
                    "emails": ["analyst@example.com"],
                    "kinds": ["post_outlier", "sync_stale", "verdict_flip"],
                    "platform": None,
                    "account": None,
                    "window": "all",
                    "goal": "engagement",
                    "created_at": "2026-12-07T06:00:00Z",
                }
            ]
        }
    )

    id: int = Field(description="The subscription's id (DELETE /alert-subscriptions/{id}).")
    name: str = Field(description="A name for people.")
    webhook_url: str | None = Field(description="Where each alert is POSTed, signed.")
    webhook_secret_hint: str | None = Field(description="'…' and the secret's last 4 chars.")
    emails: list[str] = Field(description="Addresses each alert is emailed to.")
    kinds: list[AlertKind] = Field(description="The alert kinds subscribed to.")
    platform: Platform | None = Field(description="Platform in scope; null = all.")
    account: str | None = Field(description="Handle of the account in scope, if any.")
    window: Window = Field(description="Window whose verdict flips are sent.")
    goal: Goal = Field(description="Goal whose verdict flips are sent.")
    created_at: datetime = Field(description="When the subscription was created.")
