"""The posts cache's size bound, on a few posts of one hashtag in real PostgreSQL (the test's
transaction, rolled back): a copy over `max_rows` is not kept, one of exactly `max_rows` is.
Written for a mutant `make mutate` found alive (`posts.height > max_rows` -> `==`)."""

from __future__ import annotations

import uuid

import polars as pl
import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.aggregates.postcache import PostsCache
from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.posts import repository
from hashtag_core.posts.repository import StagedPost

POSTS = 3


async def _one_hashtag_of_three_posts(session: AsyncSession) -> int:
    key = f"cache{uuid.uuid4().hex[:10]}"
    batch = [
        StagedPost(
            row=i,
            record=PostRecord.model_validate(
                {
                    "platform": "instagram",
                    "post_id": f"{key}-{i}",
                    "account": "cache_park",
                    "text": f"#{key}",
                    "posted_at": "2025-06-07T10:15:00+00:00",
                    "likes": 10 * i,
                }
            ),
            hashtags=[(key, key)],
        )
        for i in range(1, POSTS + 1)
    ]
    await repository.upsert_batch(session, batch, source="import")
    conn = await session.connection()
    found = await conn.execute(text("SELECT id FROM hashtag WHERE key = :k"), {"k": key})
    return int(found.scalar_one())


@pytest.mark.parametrize(("max_rows", "kept"), [(POSTS - 1, False), (POSTS, True)])
async def test_a_copy_is_kept_only_if_it_fits(session: AsyncSession, max_rows: int, kept: bool):
    hashtag = await _one_hashtag_of_three_posts(session)
    cache = PostsCache(max_rows=max_rows)
    no_update = pl.DataFrame({"post_id": []}, schema={"post_id": pl.Int64})
    conn = await session.connection()
    posts, links, old = await cache.load(
        conn, [hashtag], no_update, before=("db", "0"), after=("db", "1")
    )
    # The pass gets every post either way; the cache holds them only if they fit.
    assert (posts.height, links.height, old) == (POSTS, POSTS, None)
    if kept:
        assert cache.posts is not None
        assert cache.posts.height == POSTS
        assert (cache.state, cache.hashtags, cache.settled) == (("db", "1"), {hashtag}, True)
    else:
        assert (cache.state, cache.posts, cache.links, cache.hashtags) == (None, None, None, set())
        assert not cache.settled
