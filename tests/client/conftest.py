"""The served API for the generated-client tests, on the migrated test database (data is
committed, then wiped) and the test Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_core.config import Settings
from hashtag_core.embedded import EmbeddedServices
from tests.client.served import serve
from tests.helpers import API_KEY, wipe


@pytest.fixture
async def server(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str, services: EmbeddedServices
) -> AsyncIterator[tuple[str, Settings]]:
    """The served API on the test database (data is committed, then wiped) and test Redis."""
    await arq_redis.flushdb()
    settings = Settings(
        database_url=database_url,
        redis_url=services.redis_url,
        api_keys=API_KEY,
        platform_tokens={"brand-ig": "client-test-token-0001"},
        collect_cron_minutes=0,
    )
    try:
        async with serve(settings) as url:
            yield url, settings
    finally:
        await wipe(engine)
        await arq_redis.flushdb()
