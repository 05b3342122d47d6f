"""SQL for accounts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.errors import Conflict
from hashtag_core.rawsql import session_driver

__all__ = [
    "AccountRef",
    "delete_account",
    "due_accounts",
    "find_accounts",
    "find_by_identity",
    "get_account",
    "insert_account",
    "list_accounts",
    "make_due",
    "page_accounts",
    "set_sync_state",
    "update_account",
]

_PUBLIC = """
SELECT a.id, a.platform, a.external_id, a.handle, a.timezone, a.token_ref, a.collect_enabled,
       a.status, a.sync_interval_minutes, a.last_sync_at, a.next_sync_at, a.last_error,
       a.watermark_since_id, a.watermark_since_time,
       (SELECT count(*) FROM post p WHERE p.account_id = a.id) AS posts,
       (SELECT f.followers FROM follower_snapshot f WHERE f.account_id = a.id
        ORDER BY f.captured_at DESC LIMIT 1) AS followers
FROM account a
"""


@dataclass(frozen=True)
class AccountRef:
    """The fields of an account that scope a query."""

    id: int
    platform: str
    handle: str
    timezone: str


async def find_accounts(
    session: AsyncSession, handle: str, platform: str | None
) -> list[AccountRef]:
    """Accounts whose handle (case-insensitive) or numeric id is `handle`."""
    conn = await session.connection()
    rows = await conn.execute(
        text(
            "SELECT id, platform, handle, timezone FROM account "
            "WHERE (lower(handle) = lower(:h) OR external_id = :h OR id::text = :h) "
            "AND (CAST(:p AS text) IS NULL OR platform = :p) ORDER BY id"
        ),
        {"h": handle, "p": platform},
    )
    return [AccountRef(*row) for row in rows.all()]


async def list_accounts(session: AsyncSession) -> list[dict[str, Any]]:
    """Every account with its sync state, post count and latest followers."""
    apg = await session_driver(session)
    return [dict(r) for r in await apg.fetch(_PUBLIC + " ORDER BY a.platform, a.handle")]


async def page_accounts(
    session: AsyncSession, *, after: tuple[str, str, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Accounts in (platform, handle, id) order after the keyset `after`, at most `limit`."""
    apg = await session_driver(session)
    order = " ORDER BY a.platform, a.handle, a.id LIMIT $1"
    if after is None:
        rows = await apg.fetch(_PUBLIC + order, limit)
    else:
        keyset = " WHERE (a.platform, a.handle, a.id) > ($2, $3, $4)"
        rows = await apg.fetch(_PUBLIC + keyset + order, limit, *after)
    return [dict(r) for r in rows]


async def get_account(session: AsyncSession, account_id: int) -> dict[str, Any] | None:
    """One account, or None."""
    apg = await session_driver(session)
    row = await apg.fetchrow(_PUBLIC + " WHERE a.id = $1", account_id)
    return dict(row) if row else None


async def find_by_identity(
    session: AsyncSession, platform: str, external_id: str, handle: str
) -> dict[str, Any] | None:
    """The account with this platform id or handle on the platform, if any."""
    apg = await session_driver(session)
    row = await apg.fetchrow(
        _PUBLIC + " WHERE a.platform = $1 AND (a.external_id = $2 OR a.handle = $3) "
        "ORDER BY (a.external_id = $2) DESC LIMIT 1",
        platform,
        external_id,
        handle,
    )
    return dict(row) if row else None


_UNIQUE_FIELDS = {
    "uq_account_platform_handle": "handle",
    "uq_account_platform_external_id": "external_id",
}


@contextmanager
def _unique_identity(values: dict[str, Any]) -> Iterator[None]:
    """A second account with the same handle or platform id is a Conflict, not a crash."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        field = _UNIQUE_FIELDS.get(exc.constraint_name or "", "handle")
        raise Conflict(
            f"another account on this platform already has {field} {values.get(field)!r}"
        ) from exc


async def insert_account(session: AsyncSession, values: dict[str, Any]) -> int:
    """Insert an account; return its id (Conflict if its handle or platform id is taken)."""
    apg = await session_driver(session)
    names = list(values)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(names)))
    with _unique_identity(values):
        return int(
            await apg.fetchval(
                f"INSERT INTO account ({', '.join(names)}) VALUES ({placeholders}) RETURNING id",
                *values.values(),
            )
        )


async def update_account(session: AsyncSession, account_id: int, values: dict[str, Any]) -> None:
    """Set the given columns of one account (Conflict if that takes another's handle)."""
    if not values:
        return
    apg = await session_driver(session)
    sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(values))
    with _unique_identity(values):
        await apg.execute(f"UPDATE account SET {sets} WHERE id = $1", account_id, *values.values())


async def delete_account(session: AsyncSession, account_id: int) -> bool:
    """Delete an account and (by cascade) its posts; False if it did not exist."""
    apg = await session_driver(session)
    result: str = await apg.execute("DELETE FROM account WHERE id = $1", account_id)
    return result.endswith(" 1")


async def due_accounts(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Collected accounts whose next sync is due (never synced counts as due)."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        _PUBLIC + " WHERE a.collect_enabled AND a.status IN ('active', 'error') "
        "AND (a.next_sync_at IS NULL OR a.next_sync_at <= $1) ORDER BY a.next_sync_at NULLS FIRST",
        now,
    )
    return [dict(r) for r in rows]


async def make_due(session: AsyncSession, account_ids: list[int], at: datetime) -> None:
    """Bring the accounts' next sync forward to `at` (never later than it already was).

    A collection asked for now is then also due on the worker's schedule: written in the
    request's transaction, it survives a refused enqueue (Redis down), and collect_due queues
    it under the same job id (`collect:{id}:{slot}`, slot = `at` in whole seconds)."""
    apg = await session_driver(session)
    await apg.execute(
        "UPDATE account SET next_sync_at = $2 "
        "WHERE id = ANY($1::bigint[]) AND (next_sync_at IS NULL OR next_sync_at > $2)",
        account_ids,
        at,
    )


async def set_sync_state(session: AsyncSession, account_id: int, values: dict[str, Any]) -> None:
    """Record the outcome of a sync (status, times, error, watermark)."""
    await update_account(session, account_id, values)
