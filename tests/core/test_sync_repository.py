"""The sync's SQL for edited X posts and follower history backfill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.posts.repository import StagedPost, upsert_batch
from hashtag_core.sync import repository as repo

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _x_post(post_id: str, text_: str) -> StagedPost:
    record = PostRecord(
        platform="x", post_id=post_id, account="brickfan", text=text_, posted_at=T0, likes=3
    )
    return StagedPost(row=1, record=record, hashtags=[("lego", "Lego")])


async def _rows(session: AsyncSession, sql: str) -> list[tuple[object, ...]]:
    conn = await session.connection()
    return [tuple(r) for r in await conn.execute(text(sql))]


async def test_a_stored_earlier_version_becomes_the_latest(session: AsyncSession) -> None:
    await upsert_batch(session, [_x_post("100", "New set day! #Lego")], source="collect")
    ((pk,),) = await _rows(session, "SELECT id FROM post WHERE platform_post_id = '100'")

    assert await repo.adopt_edits(session, "x", {"200": ["100"]}) == 1
    await upsert_batch(session, [_x_post("200", "New set day! #Lego (edited)")], source="collect")

    assert await _rows(session, "SELECT id, platform_post_id, text FROM post") == [
        (pk, "200", "New set day! #Lego (edited)")
    ]
    snapshots = await _rows(
        session, f"SELECT count(*) FROM post_metric_snapshot WHERE post_id = {pk}"
    )
    assert snapshots == [(2,)]  # the first version's history moved with it
    # Nothing to adopt once the latest version is stored.
    assert await repo.adopt_edits(session, "x", {"200": ["100"]}) == 0


async def test_follower_history_keeps_stored_moments(session: AsyncSession) -> None:
    await upsert_batch(session, [_x_post("100", "#Lego")], source="collect")
    ((found,),) = await _rows(session, "SELECT id FROM account")
    account_id = int(str(found))
    await repo.record_followers(session, account_id, T0, 500, "collect")
    points = [(T0 - timedelta(days=1), 490), (T0, 499)]
    assert await repo.record_follower_history(session, account_id, points, "backfill") == 1
    stored = await _rows(
        session, "SELECT captured_at, followers, source FROM follower_snapshot ORDER BY 1"
    )
    assert stored == [(T0 - timedelta(days=1), 490, "backfill"), (T0, 500, "collect")]
