"""The recompute's less travelled paths against real Postgres: a full pass due after many
updates, the posts cache's warm-up and what fits in it, a trigger that finds a pass running,
a second pass for data that arrived during the first, a post deleted after its update, a swap
that never gets its locks, and updates of posts newer than the last full pass.

Each test here failed with the break its docstring names (applied by hand to a scratch copy)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import asyncpg
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates import repository as repo
from hashtag_core.aggregates import service, staging
from hashtag_core.aggregates.postcache import PostsCache
from hashtag_core.aggregates.service import RecomputeOutcome, recompute, warm_posts
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo.generator import DemoConfig
from hashtag_core.demo.load import load_demo
from tests.core.test_incremental import (
    CONFIG,
    NOW,
    _all,
    _NoQueue,
    _same_as_full,
    _scalar,
    _tags_of,
    _top_post,
    _update,
)
from tests.helpers import wipe

pytestmark = pytest.mark.e2e


@pytest.fixture
async def loaded(engine: AsyncEngine, arq_redis):
    """Demo posts, committed and fully recomputed at NOW; wiped afterwards."""
    await wipe(engine)
    async with create_sessionmaker(engine)() as session:
        await load_demo(session, ArqJobQueue(arq_redis), CONFIG, batch_rows=1_000)
    assert (await recompute(engine, now=NOW)).status == "computed"
    yield engine
    await wipe(engine)


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch) -> PostsCache:
    """A posts cache of this test's own (the module's one outlives tests)."""
    fresh = PostsCache()
    monkeypatch.setattr(service, "_POSTS", fresh)
    return fresh


async def _tagged_posts(engine: AsyncEngine, count: int) -> list[int]:
    rows = await _all(
        engine,
        "SELECT p.id FROM post p WHERE p.posted_at <= :now AND EXISTS "
        "(SELECT 1 FROM post_hashtag ph WHERE ph.post_id = p.id) ORDER BY p.id LIMIT :n",
        now=NOW,
        n=count,
    )
    return [r[0] for r in rows]


async def _state(engine: AsyncEngine) -> tuple[Any, ...]:
    rows = await _all(
        engine,
        "SELECT computed_version, full_version, applied_version FROM recompute_state",
    )
    return tuple(rows[0])


async def test_a_full_pass_follows_once_updates_pile_up(
    loaded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    """Break: `len(pending) > FULL_AFTER_DIRTY_POSTS` -> `False` (the frozen baselines and
    prior were never refreshed however many updates piled up)."""
    monkeypatch.setattr(service, "FULL_AFTER_DIRTY_POSTS", 2)
    posts = await _tagged_posts(loaded, 3)
    statuses = []
    for i, post in enumerate(posts):
        version = await _update(loaded, post, shares=20_000 + i)
        statuses.append((await recompute(loaded, now=NOW)).status)
    # Two updates since the full pass are applied alone; the third makes it more than two.
    assert statuses == ["incremental", "incremental", "computed"]
    assert await _state(loaded) == (version, version, version)
    assert await _scalar(loaded, "SELECT count(*) FROM dirty_post") == 0


async def test_warm_up_before_any_full_pass_keeps_nothing(engine: AsyncEngine, cache):
    await wipe(engine)
    assert await warm_posts(engine) == 0
    assert cache.posts is None


async def test_warm_up_keeps_every_post_when_all_fit_and_serves_the_next_update(
    loaded: AsyncEngine, cache: PostsCache
):
    """Break: warm_posts never run (a worker start or a full pass left the cache cold: the
    first update read its hashtags' posts and recomputed their rows)."""
    tagged = await _scalar(loaded, "SELECT count(DISTINCT post_id) FROM post_hashtag")
    assert await warm_posts(loaded) == tagged
    assert cache.posts is not None
    assert cache.settled
    post, tags = await _top_post(loaded)
    likes = await _scalar(loaded, "SELECT likes FROM post WHERE id = :id", id=post)
    await _update(loaded, post, likes=likes + 250)
    outcome = await recompute(loaded)
    assert outcome.status == "incremental"
    assert cache.reads == {"hit": 1, "miss": 0}
    assert outcome.rows is not None
    assert outcome.rows["by_difference"] == len(tags)  # moved, not recomputed
    await _same_as_full(loaded, tags)


async def test_warm_up_keeps_only_whole_hashtags_that_fit(loaded: AsyncEngine, cache: PostsCache):
    """Break: `_fitting` skipped or cut wrongly (a cache over its size, or holding part of a
    hashtag's posts, whose rows would then be computed from some of them)."""
    async with loaded.connect() as conn, conn.begin():
        ranked = await repo.most_used_hashtags(conn, 10**9)

    async def posts_of(prefix: int) -> int:
        return int(
            await _scalar(
                loaded,
                "SELECT count(DISTINCT post_id) FROM post_hashtag WHERE hashtag_id = ANY(:ids)",
                ids=ranked[:prefix],
            )
        )

    cache.max_rows = await posts_of(4)
    fits = 4
    while fits < len(ranked) and await posts_of(fits + 1) <= cache.max_rows:
        fits += 1
    assert fits < len(ranked)  # the premise: not everything fits

    kept = await warm_posts(loaded)

    assert cache.posts is not None
    assert cache.links is not None
    assert kept == cache.posts.height == cache.max_rows
    assert sorted(cache.hashtags) == sorted(ranked[:fits])
    per_tag = dict(
        await _all(
            loaded,
            "SELECT hashtag_id, count(*) FROM post_hashtag WHERE hashtag_id = ANY(:ids) GROUP BY 1",
            ids=ranked[:fits],
        )
    )
    counted = cache.links.group_by("hashtag_id").len()
    assert dict(zip(counted["hashtag_id"], counted["len"], strict=True)) == per_tag


class TestFitting:
    """`_fitting` on literal frames: tag 10 has posts 1, 2; tag 20 posts 2, 3; tag 30 4-6."""

    IDS = [10, 20, 30]
    LINKS = pl.DataFrame(
        {"post_id": [1, 2, 2, 3, 4, 5, 6], "hashtag_id": [10, 10, 20, 20, 30, 30, 30]}
    )
    POSTS = pl.DataFrame({"post_id": [1, 2, 3, 4, 5, 6]})

    @pytest.mark.parametrize(
        ("max_rows", "ids", "posts"),
        [(6, [10, 20, 30], 6), (5, [10, 20], 3), (3, [10, 20], 3), (2, [10], 2), (1, [], 0)],
    )
    def test_the_longest_prefix_that_fits(self, max_rows: int, ids: list[int], posts: int):
        kept, kept_posts, kept_links = service._fitting(self.IDS, self.POSTS, self.LINKS, max_rows)
        assert kept == ids
        assert sorted(kept_posts["post_id"]) == sorted(
            self.LINKS.filter(pl.col("hashtag_id").is_in(ids))["post_id"].unique()
        )
        assert kept_posts.height == posts
        assert_frame_equal(kept_links, self.LINKS.filter(pl.col("hashtag_id").is_in(ids)))


async def test_a_trigger_that_finds_a_pass_running_coalesces(engine: AsyncEngine):
    """Break: the `try_lock` failure path (a second full pass ran beside the first)."""
    async with engine.connect() as running:
        assert await repo.try_lock(running)
        await running.commit()
        try:
            outcome = await recompute(engine, force=True)
            # It ran no pass of its own: nothing computed, no version, no rows.
            assert outcome == RecomputeOutcome("coalesced", None, 0, None, None)
        finally:
            await repo.unlock(running)
            await running.commit()


async def test_data_that_arrives_during_a_pass_gets_a_second_pass(
    loaded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    """Break: the pass loop stops after one pass (an import committed during a pass, whose
    trigger coalesced into it, waited for the next cron)."""
    lock = repo.lock_apply
    imported: list[int] = []

    async def import_then_lock(conn: Any) -> None:
        if not imported:  # an import commits after the pass read its snapshot
            async with create_sessionmaker(loaded)() as session:
                await load_demo(
                    session, _NoQueue(), DemoConfig(posts=20, seed=7, end=NOW), batch_rows=100
                )
            imported.append(await _scalar(loaded, "SELECT version FROM data_version"))
        await lock(conn)

    monkeypatch.setattr(service.repo, "lock_apply", import_then_lock)
    outcome = await recompute(loaded, now=NOW, force=True)
    monkeypatch.undo()
    assert (outcome.status, outcome.passes, outcome.computed_version) == (
        "computed",
        2,
        imported[0],
    )
    # The figures are those of every post, the imported ones included.
    every = [r[0] for r in await _all(loaded, "SELECT id FROM hashtag ORDER BY id")]
    await _same_as_full(loaded, every)


async def test_an_update_of_a_post_deleted_since_recomputes_its_hashtags(loaded: AsyncEngine):
    """Break: `touched = updated` whatever the post count (a deleted post's update was applied
    only to the rows of the posts still there: the deleted one stayed in its figures)."""
    post, tags = await _top_post(loaded)
    # A text change records the post's hashtags before it (a change of counters needs none:
    # the post's links say). The post is then gone before the pass reads it. (Deleting an
    # account bumps the data version, which makes the next trigger a full pass; here the row
    # is removed alone, to reach the incremental pass's own handling.)
    await _update(loaded, post, text="Edited away #DeletedSoon")
    async with loaded.begin() as conn:
        await conn.execute(text("DELETE FROM post WHERE id = :id"), {"id": post})
    outcome = await recompute(loaded)
    assert outcome.status == "incremental"
    assert outcome.rows is not None
    assert outcome.rows["hashtags"] == len(tags)  # its new link went with it
    await _same_as_full(loaded, tags)


async def test_a_swap_that_never_gets_its_locks_gives_up(
    loaded: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """Break: the last attempt's LockNotAvailableError swallowed (the pass "succeeded" with
    the old figures, or failed elsewhere without releasing its locks)."""
    monkeypatch.setattr(service, "SWAP_LOCK_TIMEOUT_MS", 20)
    monkeypatch.setattr(service, "SWAP_ATTEMPTS", 2)
    caplog.set_level(logging.WARNING, logger=service.__name__)
    before = await _state(loaded)
    async with loaded.connect() as conn:
        rr = await conn.execution_options(isolation_level="REPEATABLE READ")
        await rr.begin()
        await staging.lock_for_read(rr, list(repo.AGGREGATE_TABLES))  # a read left open
        with pytest.raises(asyncpg.LockNotAvailableError):
            await recompute(loaded, now=NOW, force=True)
        await rr.rollback()
    assert "trying again (attempt 2 of 2)" in caplog.text
    assert await _state(loaded) == before
    # Both locks were released: the next trigger runs.
    assert (await recompute(loaded, now=NOW, force=True)).status == "computed"


async def test_an_update_of_a_post_newer_than_the_last_full_pass(loaded: AsyncEngine):
    """A post after the full pass's anchor is in no window but in its cell and day. Break:
    touched_keys without `posted_at <= end` (the update deleted the hashtags' window rows)."""
    post, tags = await _top_post(loaded)
    async with loaded.begin() as conn:
        await conn.execute(
            text("UPDATE post SET posted_at = :at WHERE id = :id"),
            {"at": NOW + timedelta(days=2), "id": post},
        )
    assert (await recompute(loaded, now=NOW, force=True)).status == "computed"
    likes = await _scalar(loaded, "SELECT likes FROM post WHERE id = :id", id=post)
    await _update(loaded, post, likes=likes + 777)
    outcome = await recompute(loaded)
    assert outcome.status == "incremental"
    assert outcome.rows is not None
    assert outcome.rows["hashtag_daily"] == 3 * len(tags)
    await _same_as_full(loaded, sorted(set(tags) | set(await _tags_of(loaded, post))))
