"""Apps for the API tests (no lifespan: the ASGITransport sends none, so the fixtures set what
the lifespan would):

* `client`: wired to the test's rolled-back session and the real Redis; its reads see the
  test's uncommitted rows;
* `real_client`: the same settings on the real session dependencies (`get_session` commits,
  `get_snapshot` reads in a REPEATABLE READ snapshot after `lock_for_read`); its data are
  committed, and wiped before and after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.deps import get_session, get_snapshot
from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from tests.helpers import API_KEY, wipe


def _settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url="redis://unused",
        api_keys=API_KEY,
        max_body_bytes=2_000_000,
        platform_tokens={"windsor_ig": "s3cret-token-value"},
        import_batch_rows=3,
        # The limiter counts every request (the suite shares one key and address) but is
        # far above what the suite sends; tests/api/test_access.py tests the limits.
        rate_limit_per_minute=1_000_000,
        rate_limit_writes_per_minute=1_000_000,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    session: AsyncSession, engine: AsyncEngine, arq_redis: ArqRedis, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = _settings(database_url)
    app = create_app(settings)
    app.state.engine, app.state.arq = engine, arq_redis

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_snapshot] = _session  # reads see the test's rows
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest_asyncio.fixture(loop_scope="session")
async def real_client(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on its real session dependencies (commit, snapshot, read lock)."""
    await wipe(engine)
    app = create_app(_settings(database_url))
    app.state.engine, app.state.arq = engine, arq_redis
    app.state.sessionmaker = create_sessionmaker(engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
    finally:
        await wipe(engine)
