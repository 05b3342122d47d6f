"""Value types of the collection layer: which account to collect, where the last run stopped,
and what a run found."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from hashtag_core.platforms import Platform

__all__ = ["AccountSpec", "CollectResult", "Watermark"]


@dataclass(frozen=True)
class AccountSpec:
    """One connected account.

    `external_id` is the platform's id of the account: X user id, Instagram professional
    account id, Facebook Page id, LinkedIn organization id (number or `urn:li:organization:…`).
    """

    platform: Platform
    external_id: str
    handle: str
    timezone: str
    token: SecretStr

    def __repr__(self) -> str:
        """Name the account without its token (the SecretStr would mask it anyway)."""
        return f"AccountSpec({self.platform.value}:{self.handle})"

    @property
    def label(self) -> str:
        """`platform account 'handle'`: how errors and logs name the account."""
        return f"{self.platform.value} account {self.handle!r}"


@dataclass(frozen=True)
class Watermark:
    """Where the last run stopped: the newest post's id (X `since_id`) and time."""

    since_id: str | None = None
    since_time: datetime | None = None

    @staticmethod
    def first_run(watermark: Watermark | None) -> bool:
        """Whether a run with this watermark is the account's first collection."""
        return watermark is None or (watermark.since_id is None and watermark.since_time is None)


@dataclass
class CollectResult:
    """What one run collected for one account.

    `posts` are PostRecord-compatible dicts, newest first; `followers` on each post is the
    account's follower count read in this run (`followers`, at `followers_at`).
    `replaced` maps an edited post's id (its latest version) to the ids of its earlier
    versions, which are the same post. `follower_history` holds past follower counts the
    platform reported (read on an account's first collection), oldest first.
    """

    posts: list[dict[str, Any]]
    followers: int | None
    followers_at: datetime
    watermark: Watermark
    pages: int
    requests: int
    duplicates_dropped: int
    replaced: dict[str, list[str]] = field(default_factory=dict)
    follower_history: list[tuple[datetime, int]] = field(default_factory=list)
