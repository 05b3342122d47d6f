"""Loading the demo posts into real Postgres through the import path."""

from __future__ import annotations

from datetime import UTC, datetime

from arq.connections import ArqRedis
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.queue import ArqJobQueue
from hashtag_core.demo.generator import DEMO_ACCOUNTS, DemoConfig
from hashtag_core.demo.load import has_posts, load_demo

CONFIG = DemoConfig(posts=500, end=datetime(2025, 6, 1, tzinfo=UTC))


async def _count(session: AsyncSession, table: str) -> int:
    conn = await session.connection()
    return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


class TestLoadDemo:
    async def test_loads_every_post_with_progress(
        self, session: AsyncSession, arq_redis: ArqRedis
    ) -> None:
        assert not await has_posts(session)
        seen: list[int] = []

        result = await load_demo(
            session, ArqJobQueue(arq_redis), CONFIG, batch_rows=200, progress=seen.append
        )

        assert (result.received, result.inserted, result.rejected) == (500, 500, 0)
        assert result.errors == []
        assert seen == [200, 200, 100]
        assert await _count(session, "post") == 500
        assert await _count(session, "account") == len(DEMO_ACCOUNTS)
        assert await _count(session, "post_hashtag") > 500
        assert await has_posts(session)
        conn = await session.connection()
        sources = await conn.execute(text("SELECT DISTINCT source FROM post_metric_snapshot"))
        assert sources.scalars().all() == ["demo"]
        assert result.job_id == f"recompute:{result.data_version}"

    async def test_loading_again_is_idempotent(
        self, session: AsyncSession, arq_redis: ArqRedis
    ) -> None:
        queue = ArqJobQueue(arq_redis)
        await load_demo(session, queue, CONFIG, batch_rows=1_000)

        again = await load_demo(session, queue, CONFIG, batch_rows=1_000)

        assert (again.received, again.inserted, again.rejected) == (500, 0, 0)
        assert again.updated == 500
        assert await _count(session, "post") == 500
