"""An app wired to the test's rolled-back session and the real Redis (no lifespan: the
ASGITransport sends none, so the fixture sets what the lifespan would)."""

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
from tests.helpers import API_KEY


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    session: AsyncSession, engine: AsyncEngine, arq_redis: ArqRedis, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
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
    app = create_app(settings)
    app.state.engine, app.state.arq = engine, arq_redis

    async def _session() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_snapshot] = _session  # reads see the test's rows
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
