"""Access to the asyncpg connection under SQLAlchemy, for COPY and bulk statements.

SQLAlchemy's asyncpg adapter sends BEGIN lazily, on the first statement it executes itself.
Statements sent straight to the driver would otherwise run in autocommit, outside the caller's
transaction, so `in_transaction` makes the adapter begin first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["driver", "in_transaction", "session_driver"]


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
