"""A collected post's `followers` is the account's count when it went out, as near as the stored
follower history tells, and a later re-read of the post does not overwrite it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.posts.repository import StagedPost, upsert_batch

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _staged(post_id: str, posted_at: datetime, followers: int | None, row: int = 1) -> StagedPost:
    record = PostRecord(
        platform="instagram",
        post_id=post_id,
        account="legolandbillund",
        text="#LEGOLAND",
        posted_at=posted_at,
        likes=5,
        followers=followers,
    )
    return StagedPost(row=row, record=record, hashtags=[("legoland", "LEGOLAND")])


async def _followers(session: AsyncSession) -> dict[str, int | None]:
    conn = await session.connection()
    rows = await conn.execute(text("SELECT platform_post_id, followers FROM post"))
    return {r[0]: r[1] for r in rows}


async def _history(session: AsyncSession, *points: tuple[datetime, int]) -> None:
    conn = await session.connection()
    await conn.execute(
        text(
            "INSERT INTO account (platform, external_id, handle, timezone) "
            "VALUES ('instagram', 'legolandbillund', 'legolandbillund', 'Europe/Copenhagen')"
        )
    )
    for at, count in points:
        await conn.execute(
            text(
                "INSERT INTO follower_snapshot (account_id, captured_at, followers, source) "
                "SELECT id, :at, :n, 'collect' FROM account WHERE handle = 'legolandbillund'"
            ),
            {"at": at, "n": count},
        )


async def test_collected_posts_take_the_nearest_stored_count(session: AsyncSession):
    # Counts read on 1 March (1,000) and 1 June (2,000); this collection reads 9,000 today.
    await _history(session, (T0, 1_000), (T0 + timedelta(days=92), 2_000))
    batch = [
        _staged("early", T0 - timedelta(days=30), 9_000, 1),  # before any snapshot: 1 March's
        _staged("march", T0 + timedelta(days=10), 9_000, 2),  # nearer 1 March than 1 June
        _staged("may", T0 + timedelta(days=80), 9_000, 3),  # nearer 1 June
        _staged("recent", datetime.now(UTC) - timedelta(hours=2), 9_000, 4),  # nearer now
    ]
    await upsert_batch(session, batch, source="collect")
    assert await _followers(session) == {
        "early": 1_000,
        "march": 1_000,
        "may": 2_000,
        "recent": 9_000,
    }


async def test_a_re_read_keeps_the_count_an_import_replaces_it(session: AsyncSession):
    await _history(session)
    posted = datetime.now(UTC) - timedelta(hours=1)
    await upsert_batch(session, [_staged("p", posted, 500)], source="collect")
    # Re-read a week later in the refresh window: the account has 800 followers by then.
    await upsert_batch(session, [_staged("p", posted, 800)], source="collect")
    assert await _followers(session) == {"p": 500}
    # An import states the count when the post went out: it is taken as given.
    await upsert_batch(session, [_staged("p", posted, 450)], source="import")
    assert await _followers(session) == {"p": 450}


async def test_a_collected_post_keeps_its_own_counters_and_marks_its_first_comment_s_hashtags(
    session: AsyncSession,
):
    # Only `followers` is taken from the account's history: every other counter of a
    # collection is the post's own, in the post and in its snapshot; and the hashtags read
    # from the first comment are linked as such.
    await _history(session, (T0, 1_000))
    record = PostRecord(
        platform="instagram",
        post_id="c",
        account="legolandbillund",
        text="#LEGOLAND",
        posted_at=T0,
        likes=5,
        comments=7,
        shares=3,
        saves=2,
        impressions=900,
        reach=800,
        followers=9_000,
    )
    staged = StagedPost(
        row=1,
        record=record,
        hashtags=[("legoland", "LEGOLAND")],
        comment_hashtags=[("familyfun", "FamilyFun")],
    )
    await upsert_batch(session, [staged], source="collect")
    conn = await session.connection()
    counters = "likes, comments, shares, saves, impressions, reach, followers"
    post = (await conn.execute(text(f"SELECT {counters} FROM post"))).one()
    snapshot = (await conn.execute(text(f"SELECT {counters} FROM post_metric_snapshot"))).one()
    assert tuple(post) == tuple(snapshot) == (5, 7, 3, 2, 900, 800, 1_000)
    links = await conn.execute(
        text(
            "SELECT h.key, ph.in_first_comment FROM post_hashtag ph "
            "JOIN hashtag h ON h.id = ph.hashtag_id ORDER BY 1"
        )
    )
    assert [tuple(r) for r in links] == [("familyfun", True), ("legoland", False)]
    # A re-read a day later: its counters replace the stored ones, except the follower count
    # the post went out with.
    again = record.model_copy(update={"likes": 9, "comments": 11, "shares": 4, "followers": 9_500})
    await upsert_batch(session, [replace(staged, record=again)], source="collect")
    post = (await conn.execute(text(f"SELECT {counters} FROM post"))).one()
    assert tuple(post) == (9, 11, 4, 2, 900, 800, 1_000)
