"""SQL for the full recompute's table swap: every aggregate table is built fresh beside the
live one (`<table>__next`: COPY into a table without indexes, then its indexes, then ANALYZE)
and swapped in by renames in one short transaction.

Why: rewriting a live table (DELETE, then COPY through its indexes, among the dead tuples)
was 28.5 s for 2 M lift rows against 3.1 s into a bare table (docs/benchmarks.md). The swap
drops the old table, so a REPEATABLE READ reader whose snapshot predates the swap would find
the new table empty; readers therefore lock the aggregate tables (ACCESS SHARE, `lock_for_read`)
before their first query, and so run wholly before a swap or wholly after it. Nothing here
commits; the caller owns the transactions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hashtag_core.rawsql import in_transaction

__all__ = ["SUFFIX", "create_staged", "finish_staged", "lock_for_read", "staged", "swap_in"]

#: Name suffix of a table (and of its indexes) being built.
SUFFIX = "__next"
_MAX_NAME = 63  # PostgreSQL's identifier length
_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX )(\S+)( ON (?:ONLY )?)(\S+)( .*)$")


def staged(name: str) -> str:
    """The staged name of a table or index."""
    out = f"{name}{SUFFIX}"
    if len(out) > _MAX_NAME:
        raise ValueError(f"staged name {out!r} is longer than {_MAX_NAME} characters")
    return out


async def create_staged(conn: AsyncConnection, tables: Sequence[str]) -> None:
    """An empty `<table>__next` per table: same columns, defaults and checks; no indexes or
    triggers yet (a leftover from a pass that died is dropped first)."""
    apg = await in_transaction(conn)
    for table in tables:
        await apg.execute(f"DROP TABLE IF EXISTS {staged(table)}")
        await apg.execute(
            f"CREATE TABLE {staged(table)} (LIKE {table} INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)"
        )


async def _indexes(apg: Any, table: str) -> list[Any]:
    """(name, index definition, constraint name, constraint definition) of `table`'s indexes."""
    return list(
        await apg.fetch(
            "SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS indexdef, "
            "c.conname, pg_get_constraintdef(c.oid) AS condef "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
            "WHERE x.indrelid = $1::regclass ORDER BY i.relname",
            table,
        )
    )


async def finish_staged(conn: AsyncConnection, tables: Sequence[str]) -> None:
    """Build each staged table's indexes and constraints (as the live table's, with staged
    names) and its planner statistics."""
    apg = await in_transaction(conn)
    await apg.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for table in tables:
        for index in await _indexes(apg, table):
            if index["conname"] is not None:
                await apg.execute(
                    f"ALTER TABLE {staged(table)} ADD CONSTRAINT {staged(index['conname'])} "
                    f"{index['condef']}"
                )
                continue
            match = _INDEX_DEF.match(index["indexdef"])
            if match is None:
                raise ValueError(f"cannot restage index definition {index['indexdef']!r}")
            head, _name, on, _table, tail = match.groups()
            await apg.execute(f"{head}{staged(index['name'])}{on}{staged(table)}{tail}")
        await apg.execute(f"ANALYZE {staged(table)}")


async def lock_for_read(conn: AsyncConnection, tables: Sequence[str]) -> None:
    """Lock `tables` against a swap for the rest of the transaction (call it first: in a
    REPEATABLE READ transaction LOCK takes no snapshot, so the snapshot follows any swap the
    lock waited for)."""
    await (await in_transaction(conn)).execute(
        f"LOCK TABLE {', '.join(tables)} IN ACCESS SHARE MODE"
    )


async def swap_in(
    conn: AsyncConnection, tables: Sequence[str], *, lock_timeout_ms: int = 0
) -> None:
    """Replace each live table by its staged one: indexes, constraints and triggers keep their
    names. Takes every table's ACCESS EXCLUSIVE lock first, in the readers' order; with
    `lock_timeout_ms`, raises asyncpg's LockNotAvailableError after waiting that long."""
    apg = await in_transaction(conn)
    await apg.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
    await apg.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    await apg.execute("SET LOCAL lock_timeout TO DEFAULT")
    for table in tables:
        names = [index["name"] for index in await _indexes(apg, table)]
        triggers = await apg.fetch(
            "SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger "
            "WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname",
            table,
        )
        await apg.execute(f"DROP TABLE {table}")
        await apg.execute(f"ALTER TABLE {staged(table)} RENAME TO {table}")
        for name in names:  # renaming a constraint's index renames the constraint too
            await apg.execute(f"ALTER INDEX {staged(name)} RENAME TO {name}")
        for trigger in triggers:
            await apg.execute(trigger["definition"])
