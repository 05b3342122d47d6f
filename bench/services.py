"""Where the benchmark runs: the given servers or the project's embedded ones, and one fresh,
migrated database per measurement (dropped afterwards)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from hashtag_core.config import to_asyncpg_url
from hashtag_core.embedded import EmbeddedServices
from hashtag_core.migrate import PROJECT_ROOT, upgrade

__all__ = ["Servers", "fresh_database", "plain", "servers"]


@dataclass(frozen=True)
class Servers:
    """Server URLs: `database_url` points at an admin database (usually `postgres`)."""

    database_url: str  # postgresql+asyncpg://
    redis_url: str


def plain(url: str) -> str:
    """The asyncpg-driver URL as libpq/asyncpg.connect wants it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server."""
    return make_url(to_asyncpg_url(url)).set(database=database).render_as_string(False)


@contextmanager
def servers(database_url: str | None, redis_url: str | None) -> Iterator[Servers]:
    """The given servers, or embedded PostgreSQL/Redis under .data/bench for unset URLs."""
    embedded = EmbeddedServices(
        Path(os.environ.get("HASHTAG_BENCH_DATA_DIR", PROJECT_ROOT / ".data" / "bench")),
        database_url=database_url or None,
        redis_url=redis_url or None,
    ).start(database="postgres")
    try:
        assert embedded.database_url
        assert embedded.redis_url
        yield Servers(to_asyncpg_url(embedded.database_url), embedded.redis_url)
    finally:
        embedded.close()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(plain(with_database(url, "postgres")), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(server_url: str, label: str) -> Iterator[str]:
    """A new database migrated to head; dropped on exit. Yields its asyncpg URL."""
    name = f"hashtag_bench_{label}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        url = with_database(server_url, name)
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
