"""Settings of outgoing mail and alert delivery, embedded in the application's Settings as
`smtp` and `alerts` (environment variables `HASHTAG_SMTP__HOST`, `HASHTAG_ALERTS__...`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["AlertSettings", "SmtpSettings"]


class SmtpSettings(BaseModel):
    """The SMTP server the worker sends reports and alert emails through (host unset = none)."""

    model_config = ConfigDict(frozen=True)

    host: str | None = Field(default=None, description="SMTP server; unset = no email is sent.")
    port: int = Field(default=587, ge=1, le=65535)
    user: str | None = Field(default=None, description="Login name; unset = no AUTH.")
    password: SecretStr | None = Field(default=None, description="Login password.")
    sender: str = Field(
        default="hashtag-analysis@localhost", description="The From: address of every message."
    )
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    timeout_s: float = Field(default=30.0, gt=0)


class AlertSettings(BaseModel):
    """When alerts fire and how deliveries are retried (docs/metrics.md, "Alerts")."""

    model_config = ConfigDict(frozen=True)

    cron_minutes: int = Field(
        default=5, ge=0, le=60, description="How often the worker looks for alerts (0 = off)."
    )
    post_outlier_multiple: float = Field(
        default=3.0, gt=0, description="A post is an outlier beyond this many robust spreads."
    )
    post_reference_days: int = Field(
        default=90, ge=7, description="The account's posts its baseline and spread come from."
    )
    post_reference_min_posts: int = Field(default=10, ge=3)
    post_min_age_hours: float = Field(
        default=24.0, ge=0, description="A post is judged once this old (metrics settle)."
    )
    post_max_age_days: float = Field(default=7.0, gt=0, description="...and until this old.")
    sync_stale_hours: float = Field(
        default=24.0,
        gt=0,
        description="An account stops syncing after this long without a successful collection "
        "(or three of its sync intervals, whichever is longer).",
    )
    max_attempts: int = Field(default=6, ge=1, le=20, description="Tries per delivery.")
    backoff_base_s: float = Field(
        default=2.0, ge=0, description="Wait before the 2nd try; doubles after each."
    )
    backoff_cap_s: float = Field(default=300.0, ge=0, description="Longest wait between tries.")
    timeout_s: float = Field(default=10.0, gt=0, description="One webhook request's timeout.")
    lease_s: float = Field(
        default=900.0,
        gt=0,
        description="A delivery claimed by a worker that died is tried again after this long.",
    )
