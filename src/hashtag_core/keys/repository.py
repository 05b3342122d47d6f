"""SQL for API keys (table `api_key`, migration 0005)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["find_by_hash", "find_by_name_or_prefix", "insert_key", "list_keys", "revoke", "touch"]

_PUBLIC = "name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at"


async def _rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    conn = await session.connection()
    result = await conn.execute(text(sql), params)
    return [dict(row) for row in result.mappings().all()]


async def insert_key(
    session: AsyncSession,
    *,
    name: str,
    prefix: str,
    key_hash: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> dict[str, Any] | None:
    """The new key's public row, or None when the name (or prefix) is taken."""
    rows = await _rows(
        session,
        "INSERT INTO api_key (name, prefix, key_hash, scopes, expires_at) "
        "VALUES (:name, :prefix, :key_hash, CAST(:scopes AS text[]), :expires_at) "
        f"ON CONFLICT DO NOTHING RETURNING {_PUBLIC}",
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=scopes,
        expires_at=expires_at,
    )
    return rows[0] if rows else None


async def list_keys(session: AsyncSession) -> list[dict[str, Any]]:
    """Every key, newest first."""
    return await _rows(session, f"SELECT {_PUBLIC} FROM api_key ORDER BY created_at DESC, id DESC")


async def find_by_name_or_prefix(session: AsyncSession, ref: str) -> list[dict[str, Any]]:
    """Keys named `ref`, or whose prefix is `ref` (with or without the `hk_`)."""
    return await _rows(
        session,
        f"SELECT {_PUBLIC} FROM api_key WHERE name = :ref OR prefix = :ref "
        "OR prefix = 'hk_' || :ref ORDER BY id",
        ref=ref,
    )


async def find_by_hash(session: AsyncSession, key_hash: str) -> dict[str, Any] | None:
    """The key with this hash (unique index), with its id and the database's clock."""
    rows = await _rows(
        session,
        f"SELECT id, {_PUBLIC}, now() AS now FROM api_key WHERE key_hash = :key_hash",
        key_hash=key_hash,
    )
    return rows[0] if rows else None


async def touch(session: AsyncSession, key_id: int) -> None:
    """Set last_used_at, unless another transaction holds the row (SKIP LOCKED: a long
    import using the same key must not make other requests wait) or it is under a minute old."""
    conn = await session.connection()
    await conn.execute(
        text(
            "UPDATE api_key SET last_used_at = now() WHERE id = ("
            "SELECT id FROM api_key WHERE id = :id AND (last_used_at IS NULL "
            "OR last_used_at < now() - interval '1 minute') FOR UPDATE SKIP LOCKED)"
        ),
        {"id": key_id},
    )


async def revoke(session: AsyncSession, name: str) -> dict[str, Any] | None:
    """Revoke the key named `name` (kept revoked if it already was); its public row."""
    rows = await _rows(
        session,
        "UPDATE api_key SET revoked_at = coalesce(revoked_at, now()) WHERE name = :name "
        f"RETURNING {_PUBLIC}",
        name=name,
    )
    return rows[0] if rows else None
