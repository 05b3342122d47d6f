"""What every connector shares: the run's window, de-duplication, watermark and result.

A run keeps a post when it is new since the watermark or young enough to have its metrics
refreshed: `posted_at >= min(watermark.since_time, refresh_since)`. The watermark bound is
inclusive on purpose: timestamps have one-second resolution, so a post published in the same
second as the last run's newest post would otherwise be lost; fetching that one post again is
harmless because storing posts is an upsert. Without a watermark the run reads everything.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from hashtag_core.collect.errors import CollectError, MalformedResponse
from hashtag_core.collect.http import RequestStats
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark

__all__ = [
    "Run",
    "Window",
    "first_collect_error",
    "parse_epoch_ms",
    "parse_time",
    "run_all",
    "totals_from_gains",
]

T = TypeVar("T")
# Meta writes offsets without a colon (+0000), which fromisoformat in 3.11 cannot read.
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_time(value: Any, what: str = "timestamp") -> datetime:
    """An aware UTC datetime from ISO 8601 with `Z`, `+00:00` or `+0000`."""
    if not isinstance(value, str):
        raise MalformedResponse(f"{what} is not a string: {value!r}")
    text = _COMPACT_OFFSET.sub(r"\1:\2", value.strip().replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedResponse(f"{what} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise MalformedResponse(f"{what} has no UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def parse_epoch_ms(value: Any, what: str = "timestamp") -> datetime:
    """An aware UTC datetime from epoch milliseconds (LinkedIn)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedResponse(f"{what} is not epoch milliseconds: {value!r}")
    return datetime.fromtimestamp(value / 1000, UTC)


def count(value: Any) -> int | None:
    """A counter as int, None when the platform did not report it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedResponse(f"counter is not an integer: {value!r}")
    return value


def totals_from_gains(
    current: int, gains: list[tuple[datetime, int]]
) -> list[tuple[datetime, int]]:
    """Past follower totals from daily gains `(end of day, net gain)`, oldest first.

    Platforms report followers gained per day, not totals: working back from today's count,
    the total at the end of a day is today's count less the gains of every later day.
    """
    points: list[tuple[datetime, int]] = []
    total = current
    for end, gain in sorted(gains, reverse=True):
        if total < 0:
            break
        points.append((end, total))
        total -= gain
    points.reverse()
    return points


@dataclass(frozen=True)
class Window:
    """Which posts a run keeps (see the module docstring)."""

    since_time: datetime | None
    refresh_since: datetime | None

    @classmethod
    def of(cls, watermark: Watermark | None, refresh_since: datetime | None) -> Window:
        """The window for a run given the last watermark and the refresh horizon."""
        since = watermark.since_time if watermark else None
        return cls(since, refresh_since if since is not None else None)

    @property
    def bound(self) -> datetime | None:
        """Oldest `posted_at` still kept; None = everything."""
        if self.since_time is None:
            return None
        if self.refresh_since is None:
            return self.since_time
        return min(self.since_time, self.refresh_since)

    def keeps(self, posted_at: datetime) -> bool:
        """Whether a post of this time belongs to the run."""
        bound = self.bound
        return bound is None or posted_at >= bound


@dataclass
class Run:
    """Mutable state of one collection: posts kept so far, duplicates, counters."""

    account: AccountSpec
    window: Window
    stats: RequestStats = field(default_factory=RequestStats)
    pages: int = 0
    duplicates: int = 0
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Edited posts: latest version's id -> the ids of its earlier versions (X).
    replaced: dict[str, list[str]] = field(default_factory=dict)
    superseded: set[str] = field(default_factory=set)  # ids of earlier versions seen
    #: Past follower counts read in this run (first collection only): (moment, count).
    follower_history: list[tuple[datetime, int]] = field(default_factory=list)
    owner: str | None = None  # the account's own user name as the platform spells it
    _claimed: set[str] = field(default_factory=set)

    def claim(self, post_id: str) -> bool:
        """True the first time a post id is seen; later sightings count as duplicates."""
        if post_id in self._claimed:
            self.duplicates += 1
            return False
        self._claimed.add(post_id)
        return True

    def add(self, record: dict[str, Any]) -> None:
        """Keep a mapped record (already claimed)."""
        self.posts[record["post_id"]] = record

    def result(
        self, followers: int | None, followers_at: datetime, previous: Watermark | None
    ) -> CollectResult:
        """The run's result: posts newest first, each with this run's follower count."""
        posts = sorted(self.posts.values(), key=lambda r: (r["posted_at"], r["post_id"]))
        posts.reverse()
        for post in posts:
            post["followers"] = followers
        return CollectResult(
            posts=posts,
            followers=followers,
            followers_at=followers_at,
            watermark=_next_watermark(posts, previous),
            pages=self.pages,
            requests=self.stats.requests,
            duplicates_dropped=self.duplicates,
            replaced=dict(self.replaced),
            follower_history=sorted(self.follower_history),
        )


def _next_watermark(posts: list[dict[str, Any]], previous: Watermark | None) -> Watermark:
    """Newest post of this run, unless the previous watermark is newer (nothing new)."""
    previous = previous or Watermark()
    if not posts:
        return previous
    newest = posts[0]
    if previous.since_time is not None and previous.since_time > newest["posted_at"]:
        return previous  # a refresh-only run must not move the watermark backwards
    return Watermark(since_id=newest["post_id"], since_time=newest["posted_at"])


def first_collect_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first CollectError inside an exception group, else the group itself."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            exc = first_collect_error(exc)
        if isinstance(exc, CollectError):
            return exc
    return group


async def run_all(coroutines: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Await coroutines concurrently; the first CollectError cancels the rest and is raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]
    except BaseExceptionGroup as eg:
        raise first_collect_error(eg) from None
    return [t.result() for t in tasks]
