"""SQL for syncs: follower snapshots, the re-fetch schedule, and the post a re-fetch needs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.rawsql import session_driver

__all__ = [
    "adopt_edits",
    "collecting_now",
    "due_refreshes",
    "mark_refresh",
    "post_with_account",
    "record_follower_history",
    "record_followers",
    "schedule_refreshes",
    "try_lock_account",
]

#: First half of the advisory lock key held while an account is being synced ('coll').
SYNC_LOCK_CLASS = 0x636F6C6C


async def try_lock_account(session: AsyncSession, account_id: int) -> bool:
    """Take the account's sync lock for the session's transaction; False if another has it.

    Two collections of one account can be queued together (the schedule and POST /collect);
    the second would only repeat the first one's requests.
    """
    apg = await session_driver(session)
    return bool(
        await apg.fetchval(
            "SELECT pg_try_advisory_xact_lock($1::int, $2::int)", SYNC_LOCK_CLASS, account_id
        )
    )


async def collecting_now(session: AsyncSession) -> set[int]:
    """Ids of the accounts of this database whose sync lock is held: being collected now."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = $1::bigint::oid AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        SYNC_LOCK_CLASS,
    )
    return {int(row[0]) for row in rows}


async def record_followers(
    session: AsyncSession, account_id: int, captured_at: datetime, followers: int, source: str
) -> None:
    """Append a follower-count snapshot (idempotent per account and moment)."""
    apg = await session_driver(session)
    await apg.execute(
        "INSERT INTO follower_snapshot (account_id, captured_at, followers, source) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, captured_at) "
        "DO UPDATE SET followers = EXCLUDED.followers",
        account_id,
        captured_at,
        followers,
        source,
    )


async def record_follower_history(
    session: AsyncSession, account_id: int, points: list[tuple[datetime, int]], source: str
) -> int:
    """Store past follower counts a platform reported; a moment already stored is kept."""
    if not points:
        return 0
    apg = await session_driver(session)
    result: str = await apg.execute(
        "INSERT INTO follower_snapshot (account_id, captured_at, followers, source) "
        "SELECT $1, p.at, p.n, $4 FROM unnest($2::timestamptz[], $3::bigint[]) AS p(at, n) "
        "ON CONFLICT (account_id, captured_at) DO NOTHING",
        account_id,
        [at for at, _ in points],
        [n for _, n in points],
        source,
    )
    return int(result.split()[-1])


async def adopt_edits(session: AsyncSession, platform: str, replaced: dict[str, list[str]]) -> int:
    """Give a stored earlier version of an edited post its latest version's id.

    The stored post (its metric snapshots, re-fetch plan and links) becomes the latest
    version's, which the run's upsert then updates: one post, not one per version. Nothing
    happens where the latest version is stored already.
    """
    pairs = [(latest, old) for latest, earlier in replaced.items() for old in earlier]
    if not pairs:
        return 0
    apg = await session_driver(session)
    result: str = await apg.execute(
        """
        UPDATE post p SET platform_post_id = r.latest, updated_at = now()
        FROM (
          SELECT DISTINCT ON (e.latest) e.latest, q.id
          FROM unnest($2::text[], $3::text[]) AS e(latest, earlier)
          JOIN post q ON q.platform = $1 AND q.platform_post_id = e.earlier
          WHERE NOT EXISTS (
            SELECT 1 FROM post n WHERE n.platform = $1 AND n.platform_post_id = e.latest)
          ORDER BY e.latest, q.posted_at, q.id
        ) r
        WHERE p.id = r.id
        """,
        platform,
        [latest for latest, _ in pairs],
        [old for _, old in pairs],
    )
    return int(result.split()[-1])


async def schedule_refreshes(
    session: AsyncSession,
    platform: str,
    post_ids: list[str],
    ages: dict[str, timedelta],
    now: datetime,
) -> int:
    """Plan a re-fetch of each post at each age still in the future; return rows added."""
    if not post_ids or not ages:
        return 0
    apg = await session_driver(session)
    result: str = await apg.execute(
        """
        INSERT INTO post_refresh (post_id, age_label, due_at)
        SELECT p.id, a.label, p.posted_at + a.age
        FROM post p CROSS JOIN unnest($3::text[], $4::interval[]) AS a(label, age)
        WHERE p.platform = $1 AND p.platform_post_id = ANY($2::text[])
          AND p.posted_at + a.age > $5
        ON CONFLICT (post_id, age_label) DO NOTHING
        """,
        platform,
        post_ids,
        list(ages),
        list(ages.values()),
        now,
    )
    return int(result.split()[-1])


async def due_refreshes(session: AsyncSession, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Planned re-fetches that are due, oldest first."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT r.post_id, r.age_label FROM post_refresh r JOIN post p ON p.id = r.post_id "
        "JOIN account a ON a.id = p.account_id "
        "WHERE r.done_at IS NULL AND r.due_at <= $1 AND a.collect_enabled AND a.status = 'active' "
        "ORDER BY r.due_at LIMIT $2",
        now,
        limit,
    )
    return [dict(r) for r in rows]


async def mark_refresh(
    session: AsyncSession,
    post_pk: int,
    label: str,
    *,
    done_at: datetime | None,
    error: str | None,
) -> None:
    """Record a re-fetch attempt (done, or failed with the reason)."""
    apg = await session_driver(session)
    await apg.execute(
        "UPDATE post_refresh SET done_at = $3, last_error = $4, attempts = attempts + 1 "
        "WHERE post_id = $1 AND age_label = $2",
        post_pk,
        label,
        done_at,
        error,
    )


async def post_with_account(session: AsyncSession, post_pk: int) -> dict[str, Any] | None:
    """A post's identity and metrics with its account's collection fields."""
    apg = await session_driver(session)
    row = await apg.fetchrow(
        "SELECT p.id, p.platform, p.platform_post_id, p.text, p.likes, p.comments, p.shares, "
        "p.saves, p.impressions, p.reach, a.id AS account_id, a.external_id, a.handle, "
        "a.timezone, a.token_ref, a.collect_enabled, a.status "
        "FROM post p JOIN account a ON a.id = p.account_id WHERE p.id = $1",
        post_pk,
    )
    return dict(row) if row else None
