"""Fixtures for the reliability tests: the API tests' `client` (the app on the test's
rolled-back session) and `committed_client` (the app on real sessions that commit, with the
data wiped afterwards), for imports that commit batch by batch; and for the fault tests
(`test_faults_*.py`) private servers they may stop and start, with a fresh database each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from tests.api.conftest import client
from tests.helpers import API_KEY, wipe
from tests.rig import PrivatePostgres, PrivateRedis, Rig, fresh_database, private_servers

__all__ = ["client", "committed_client", "private", "rig"]


@pytest_asyncio.fixture(loop_scope="session")
async def committed_client(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with real sessions (imports commit), its data wiped afterwards."""
    await wipe(engine)
    app = create_app(
        Settings(database_url=database_url, redis_url="redis://unused", api_keys=API_KEY)
    )
    app.state.engine, app.state.arq = engine, arq_redis
    app.state.sessionmaker = create_sessionmaker(engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as c:
        yield c
    await wipe(engine)
    await arq_redis.flushdb()


@pytest.fixture(scope="module")
def private() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    """PostgreSQL and Redis servers of this module's own, for fault tests to stop and start."""
    with private_servers() as servers:
        yield servers


@pytest.fixture
def rig(private: tuple[PrivatePostgres, PrivateRedis], tmp_path: Path) -> Iterator[Rig]:
    """The private servers (running again after the test) with a fresh database."""
    pg, redis = private
    name = f"faults_{uuid.uuid4().hex[:8]}"
    fresh_database(pg, name)
    yield Rig(pg, redis, name, tmp_path)
    if not pg.running:
        pg.start()
    if redis.process is None:
        redis.start()
