"""Syncing collected accounts: fetch through the platform connector, store what came back with
its follower snapshot, move the watermark, plan re-fetches at fixed post ages, and record the
outcome on the account (an expired token marks it needs_reauth instead of retrying forever).

Like imports, a sync commits before it enqueues the recompute, so the worker never runs ahead
of the data.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts import repository as account_repo
from hashtag_core.collect.errors import AuthExpired, CollectError, RateLimited
from hashtag_core.collect.registry import Connector
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.config import Settings
from hashtag_core.errors import NotFound
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.ingest.validate import validate_row, with_sentiment
from hashtag_core.jobs import JobQueue
from hashtag_core.platforms import Platform
from hashtag_core.posts import repository as post_repo
from hashtag_core.posts.repository import StagedPost
from hashtag_core.posts.service import enqueue_recompute
from hashtag_core.sync import repository as repo

__all__ = ["SyncFailed", "SyncOutcome", "parse_age", "refresh_post", "sync_account"]

logger = logging.getLogger(__name__)
_AGE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach")


class SyncFailed(Exception):
    """A sync or re-fetch failed; the account records why."""


@dataclass(frozen=True)
class SyncOutcome:
    """What a sync did."""

    account_id: int
    status: str
    posts: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    followers: int | None = None
    pages: int = 0
    requests: int = 0
    refreshes_planned: int = 0
    job_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (arq stores job results)."""
        return asdict(self)


def parse_age(text: str) -> timedelta:
    """'90m', '1h', '24h', '7d' as a timedelta."""
    found = _AGE.match(text.strip())
    if not found:
        raise ValueError(f"post age {text!r} must look like 90m, 24h or 7d")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def _spec(row: dict[str, Any], settings: Settings) -> AccountSpec:
    token = settings.platform_tokens.get(row["token_ref"] or "")
    if token is None:
        raise AuthExpired(f"token_ref {row['token_ref']!r} is not configured")
    return AccountSpec(
        platform=Platform(row["platform"]),
        external_id=row["external_id"],
        handle=row["handle"],
        timezone=row["timezone"],
        token=token,
    )


def _retry_at(row: dict[str, Any], exc: CollectError, now: datetime) -> datetime:
    """When to try again: the next interval, or later when the platform asked us to wait
    (a throttle, X credits depleted until a reset): calls made meanwhile only extend it."""
    later = now + timedelta(minutes=row["sync_interval_minutes"])
    wait = exc.wait_s if isinstance(exc, RateLimited) else None
    if wait is not None and math.isfinite(wait):
        # The wait counts from when the platform said so (the wall clock), not the run's start.
        later = max(later, datetime.now(UTC) + timedelta(seconds=wait))
    return later


async def _fail(
    session: AsyncSession, row: dict[str, Any], exc: CollectError, now: datetime
) -> None:
    auth = isinstance(exc, AuthExpired)
    message = (
        (f"needs re-authorisation: {exc}; give it a new token with PATCH /accounts/{row['id']}")
        if auth
        else str(exc)
    )
    next_at = None if auth else _retry_at(row, exc, now)
    if isinstance(exc, RateLimited) and next_at is not None:
        message += f" (paused until {next_at.isoformat(timespec='minutes')})"
    await account_repo.set_sync_state(
        session,
        row["id"],
        {
            "status": "needs_reauth" if auth else "error",
            "last_error": message[:1000],
            "last_sync_at": now,
            "next_sync_at": next_at,
        },
    )
    await session.commit()
    logger.warning("sync of account %s failed: %s", row["id"], message)


def _with_comment_tags(staged: StagedPost, comment: Any) -> StagedPost:
    """The post with the hashtags of its first comment that its text does not carry."""
    if not isinstance(comment, str) or not comment:
        return staged
    own = {key for key, _ in staged.hashtags}
    found = hashtags_in_post(comment, staged.record.platform.value)
    extra = [(key, spelling) for key, spelling in found if key not in own]
    return replace(staged, comment_hashtags=extra) if extra else staged


def _staged(result: CollectResult) -> tuple[list[StagedPost], int]:
    staged: list[StagedPost] = []
    rejected = 0
    for i, record in enumerate(result.posts, start=1):
        outcome = validate_row(RawRow(i, record))
        if isinstance(outcome, StagedPost):
            staged.append(_with_comment_tags(outcome, record.get("first_comment")))
        else:
            rejected += 1
            logger.warning("platform sent an invalid post: %s", outcome)
    return with_sentiment(staged), rejected


@dataclass(frozen=True)
class _Stored:
    inserted: int
    updated: int
    rejected: int
    planned: int
    #: The posts this run read that were stored before it: pk -> their hashtag ids then.
    known: dict[int, list[int]]


async def _store(
    session: AsyncSession,
    row: dict[str, Any],
    result: CollectResult,
    settings: Settings,
    now: datetime,
) -> _Stored:
    # Validation and sentiment scoring are CPU work: keep the loop free for other collections.
    staged, rejected = await asyncio.to_thread(_staged, result)
    # An edited post keeps one row: a stored earlier version takes the latest one's id first.
    await repo.adopt_edits(session, row["platform"], result.replaced)
    # Past counts the platform reported on the first collection: follower trends work from day
    # one, and (stored before the posts) each post takes the count nearest its own time.
    await repo.record_follower_history(session, row["id"], result.follower_history, "backfill")
    known = await post_repo.stored_links(
        session, row["platform"], [s.record.post_id for s in staged]
    )
    inserted = updated = 0
    for start in range(0, len(staged), settings.import_batch_rows):
        outcome = await post_repo.upsert_batch(
            session, staged[start : start + settings.import_batch_rows], source="collect"
        )
        inserted, updated = inserted + outcome.inserted, updated + outcome.updated
    if result.followers is not None:
        await repo.record_followers(
            session, row["id"], result.followers_at, result.followers, "collect"
        )

    ages = {label: parse_age(label) for label in settings.refresh_ages}
    planned = await repo.schedule_refreshes(
        session, row["platform"], [s.record.post_id for s in staged], ages, now
    )
    return _Stored(inserted, updated, rejected, planned, known)


async def sync_account(
    session: AsyncSession,
    account_id: int,
    *,
    connector: Connector,
    settings: Settings,
    queue: JobQueue,
    now: datetime,
    queued_at: datetime | None = None,
) -> SyncOutcome:
    """Collect one account through its connector and store the result.

    A request queued at `queued_at` is skipped when another collection of the account is
    running, or when one started after it was queued (that one has seen what this would).
    """
    # Lock before reading: a run that waited for another must see the state it left.
    if not await repo.try_lock_account(session, account_id):
        return SyncOutcome(account_id, "skipped (another collection of it is running)")
    row = await account_repo.get_account(session, account_id)
    if row is None:
        raise NotFound(f"no account with id {account_id}")
    if not row["collect_enabled"] or row["status"] in ("paused", "needs_reauth"):
        return SyncOutcome(account_id, f"skipped ({row['status']})")
    if queued_at is not None and row["last_sync_at"] and row["last_sync_at"] >= queued_at:
        return SyncOutcome(account_id, "skipped (collected since it was queued)")
    watermark = Watermark(row["watermark_since_id"], row["watermark_since_time"])
    try:
        result = await connector.collect(
            _spec(row, settings),
            watermark=watermark,
            refresh_since=now - timedelta(days=settings.refresh_window_days),
        )
    except CollectError as exc:
        await _fail(session, row, exc, now)
        raise SyncFailed(str(exc)) from exc
    stored = await _store(session, row, result, settings, now)
    inserted, updated, rejected, planned = (
        stored.inserted,
        stored.updated,
        stored.rejected,
        stored.planned,
    )
    await account_repo.set_sync_state(
        session,
        account_id,
        {
            "status": "active",
            "last_error": None,
            "last_sync_at": now,
            "last_success_at": now,
            "next_sync_at": now + timedelta(minutes=row["sync_interval_minutes"]),
            "watermark_since_id": result.watermark.since_id,
            "watermark_since_time": result.watermark.since_time,
        },
    )
    version = await post_repo.bump_data_version(session) if inserted or updated else None
    if version is not None and not inserted:
        # Only new looks at stored posts (the refresh window): the recompute takes the
        # incremental path over their hashtags. New posts move the account baselines and the
        # prior that path holds fixed, so a run that added any takes the full pass.
        await post_repo.mark_dirty_many(session, version, stored.known)
    await session.commit()
    job_id = (await enqueue_recompute(queue, version))[0] if version else None
    return SyncOutcome(
        account_id,
        "ok",
        len(result.posts),
        inserted,
        updated,
        rejected,
        result.followers,
        result.pages,
        result.requests,
        planned,
        job_id,
    )


async def refresh_post(
    session: AsyncSession,
    post_pk: int,
    label: str | None,
    *,
    connector: Connector,
    settings: Settings,
    queue: JobQueue,
    now: datetime,
) -> dict[str, Any]:
    """Re-fetch one post's metrics from its platform and record a snapshot."""
    row = await repo.post_with_account(session, post_pk)
    if row is None:
        raise NotFound(f"post {post_pk} no longer exists")
    account = {
        "id": row["account_id"],
        "platform": row["platform"],
        **{k: row[k] for k in ("external_id", "handle", "timezone", "token_ref")},
    }
    try:
        fetched = await connector.fetch_post(_spec(account, settings), row["platform_post_id"])
    except CollectError as exc:
        if label:
            await repo.mark_refresh(session, post_pk, label, done_at=None, error=str(exc)[:500])
            await session.commit()
        raise SyncFailed(f"re-fetch of post {post_pk} failed: {exc}") from exc
    if fetched is None:
        raise SyncFailed(f"post {row['platform_post_id']} is gone from {row['platform']}")
    changes = {
        m: fetched[m] for m in _METRICS if fetched.get(m) is not None and fetched[m] != row[m]
    }
    await post_repo.update_post(session, post_pk, changes, source="collect")
    if label:
        await repo.mark_refresh(session, post_pk, label, done_at=now, error=None)
    version = await post_repo.bump_data_version(session) if changes else None
    if version is not None:
        # Metrics only (the text and so the hashtags are unchanged): the recompute takes the
        # incremental path, as for POST /update-post.
        await post_repo.mark_dirty(session, version, post_pk, [])
    await session.commit()
    job_id = (await enqueue_recompute(queue, version))[0] if version else None
    return {"post_id": post_pk, "changed": sorted(changes), "job_id": job_id}
