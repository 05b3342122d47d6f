"""Access to the asyncpg connection under SQLAlchemy, for COPY and bulk statements.

SQLAlchemy's asyncpg adapter sends BEGIN lazily, on the first statement it executes itself.
Statements sent straight to the driver would otherwise run in autocommit, outside the caller's
transaction, so `in_transaction` makes the adapter begin first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["driver", "has_sqlstate", "in_transaction", "is_lock_conflict", "session_driver"]

#: serialization_failure and deadlock_detected: the transaction lost a race and may be retried.
_RETRYABLE_SQLSTATES = ("40001", "40P01")


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection, with no transaction started (for session-level locks)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def in_transaction(conn: AsyncConnection) -> Any:
    """The asyncpg connection inside `conn`'s transaction (started now if still pending)."""
    apg = await driver(conn)
    if not apg.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    return apg


async def session_driver(session: AsyncSession) -> Any:
    """The asyncpg connection inside the session's transaction."""
    return await in_transaction(await session.connection())


def has_sqlstate(exc: BaseException, *prefixes: str) -> bool:
    """Whether `exc`, or what it wraps (SQLAlchemy's ``orig``, the cause), is a PostgreSQL
    error whose SQLSTATE starts with one of `prefixes`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith(prefixes):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether `exc` (asyncpg's own, or wrapped by SQLAlchemy) is a deadlock or serialization
    failure: PostgreSQL rolled the transaction back and running it again can succeed."""
    return has_sqlstate(exc, *_RETRYABLE_SQLSTATES)
