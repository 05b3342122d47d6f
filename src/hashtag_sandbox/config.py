"""Configuration of the platform sandbox: which data it serves and how strict its quotas are."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hashtag_sandbox.faults import FaultConfig

__all__ = ["SandboxConfig"]


class SandboxConfig(BaseModel):
    """Data, quotas and fault switches of one sandbox instance."""

    model_config = ConfigDict(extra="forbid")

    # Data: posts from the seeded demo generator (hashtag_core.demo).
    seed: int = 2026
    posts: int = Field(2_000, ge=0)
    days: int = Field(365, ge=2)
    end: datetime | None = None  # aware; None = the time the sandbox starts
    demo_accounts: int | None = None  # None = DEMO_ACCOUNTS, n = n synthetic accounts
    handles: list[str] | None = None  # serve only these accounts (None = all)
    max_posts_per_account: int | None = Field(None, ge=0)  # keep only the newest N
    tokens: dict[str, str] = Field(default_factory=dict)  # handle -> token (else derived)

    # X: requests per token and endpoint per window (the docs' 15-minute windows).
    x_rate_limit: int = Field(900, ge=1)
    x_window_s: int = Field(900, ge=1)
    # X: each account's token is its own user-context token (private metrics of its own posts
    # under 30 days old), except for these handles, whose tokens are app-only Bearer tokens:
    # X answers their requests for private metrics with 403 unsupported-authentication.
    x_app_only_handles: list[str] = Field(default_factory=list)
    # Meta: calls per window for the app (X-App-Usage) and per account (BUC header).
    meta_app_calls: int = Field(200_000, ge=1)
    meta_account_calls: int = Field(100_000, ge=1)
    meta_window_s: int = Field(3600, ge=1)
    meta_min_version: int = 18  # vNN.0 below this is rejected
    meta_auth_status: int = 400  # Graph answers code 190 with HTTP 400 on most endpoints
    # How far back Instagram's daily `follower_count` reaches (30 days at Meta; None = the
    # whole history, which the demo uses so that its follower chart has lines from day one).
    instagram_follower_days: int | None = Field(30, ge=1)
    # Whether `post_impressions_unique` is still served (its removal date is unconfirmed).
    fb_legacy_reach_metric: bool = False
    # LinkedIn: calls per app per UTC day; versions older than this answer 426.
    linkedin_daily_calls: int = Field(100_000, ge=1)
    linkedin_oldest_version: str = "202603"
    linkedin_include_total: bool = True  # `paging.total` is not always present in reality

    faults: FaultConfig = Field(default_factory=FaultConfig)
