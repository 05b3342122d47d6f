"""The incremental recompute against real Postgres: single-post updates move exactly the rows
of the hashtags they touch, to what a full recompute gives with the same baselines and prior."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates import repository as repo
from hashtag_core.aggregates import service
from hashtag_core.aggregates.incremental import (
    BASELINE_SCHEMA,
    FROZEN_LIFT,
    INCREMENTAL_TABLES,
    PRIOR_SCHEMA,
    incremental_frames,
    priors_of,
)
from hashtag_core.aggregates.postcache import PostsCache
from hashtag_core.aggregates.service import compute_frames, recompute
from hashtag_core.analytics.frames import ALL_HASHTAGS, WINDOWS
from hashtag_core.analytics.insight_frames import GOALS
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo.generator import DemoConfig
from hashtag_core.demo.load import load_demo
from hashtag_core.platforms import Platform
from hashtag_core.posts.schemas import PostUpdate
from hashtag_core.posts.service import update_post
from tests.helpers import wipe

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CONFIG = DemoConfig(posts=1_500, hashtags=60, end=NOW)
#: Sort keys of each table's rows.
KEYS = {
    "hashtag_performance": ["platform", "account_id", "window", "hashtag_id"],
    "hashtag_lift": ["platform", "account_id", "window", "goal", "hashtag_id"],
    "hashtag_trend_cell": ["platform", "account_id", "hashtag_id", "weekday", "hour"],
    "hashtag_daily": ["platform", "account_id", "hashtag_id", "local_date"],
}
#: Lift columns that depend on what is held fixed between full recomputes: the joint fit's
#: offsets and residual spread, and the mixture prior (analytics/effects.py).
PRIOR_COLUMNS = [
    "offset_sum",
    "resid_m2",
    "prior_var",
    "estimate",
    "estimate_se",
    "score",
    "score_low",
    "score_high",
    "lfsr",
    "qvalue",
    "verdict",
]
#: Read off the stored q-value curve in an incremental pass, exact in a full one.
LIST_COLUMNS = ["qvalue", "verdict"]
#: Sums over the same posts in another order differ in the last bits: 1e-9 relative is far
#: above that rounding (~1e-15) and far below any real change (one like moves figures >1e-4).
REL_TOL = 1e-9


class _NoQueue:
    """Redis down: nothing gets queued; the dirty-post record alone must carry the update."""

    async def enqueue(self, name: str, *args: Any, **options: Any) -> bool:
        return False


@pytest.fixture
async def loaded(engine: AsyncEngine, arq_redis):
    """Demo posts, committed and fully recomputed at NOW; wiped afterwards."""
    async with create_sessionmaker(engine)() as session:
        await load_demo(session, ArqJobQueue(arq_redis), CONFIG, batch_rows=1_000)
    outcome = await recompute(engine, now=NOW)
    assert outcome.status == "computed"
    yield engine
    await wipe(engine)


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def _update(engine: AsyncEngine, post_pk: int, **changes: Any) -> int:
    platform, post_id = (
        await _all(engine, "SELECT platform, platform_post_id FROM post WHERE id = :id", id=post_pk)
    )[0]
    update = PostUpdate(platform=Platform(platform), post_id=post_id, **changes)
    async with create_sessionmaker(engine)() as session:
        result = await update_post(session, update, queue=_NoQueue())
    assert result.data_version is not None
    return result.data_version


async def _all(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def _rows(engine: AsyncEngine, table: str, hashtags: list[int]) -> pl.DataFrame:
    """The stored rows of `hashtags` (lift: the goals an incremental pass covers)."""
    columns = repo.AGGREGATE_TABLES[table]
    where = "hashtag_id = ANY(:ids)"
    if table == "hashtag_lift":
        where += " AND goal = ANY(:goals)"
    rows = await _all(
        engine,
        f"SELECT {', '.join(f'{c!r}'.replace(chr(39), chr(34)) for c in columns.names())} "
        f"FROM {table} WHERE {where}",
        ids=hashtags,
        goals=list(GOALS),
    )
    frame = pl.DataFrame([tuple(r) for r in rows], schema=columns, orient="row")
    return frame.sort(KEYS[table])


def _expected(frame: pl.DataFrame, table: str, hashtags: list[int]) -> pl.DataFrame:
    wanted = pl.col("hashtag_id").is_in(hashtags)
    if table == "hashtag_lift":
        wanted &= pl.col("goal").is_in(list(GOALS))
    return frame.filter(wanted).select(repo.AGGREGATE_TABLES[table].names()).sort(KEYS[table])


async def _full_frames(engine: AsyncEngine) -> dict[str, pl.DataFrame]:
    """What a full recompute at NOW gives for the data as it is now (baselines included)."""
    async with engine.connect() as conn:
        posts = await repo.load_posts(conn)
        links = await repo.load_links(conn)
        followers = await repo.load_followers(conn)
    return compute_frames(posts, links, now=NOW, followers=followers, baselines=True)


async def _top_post(engine: AsyncEngine) -> tuple[int, list[int]]:
    """The most engaging post with hashtags of the account with the most posts: raising its
    likes further moves no account median (it stays above every one of them)."""
    rows = await _all(
        engine,
        "SELECT p.id, array_agg(ph.hashtag_id ORDER BY ph.hashtag_id) FROM post p "
        "JOIN post_hashtag ph ON ph.post_id = p.id WHERE p.posted_at <= :now "
        "AND p.account_id = (SELECT account_id FROM post GROUP BY 1 ORDER BY count(*) DESC "
        "LIMIT 1) GROUP BY p.id ORDER BY max(p.engagement) DESC, p.id LIMIT 1",
        now=NOW,
    )
    return rows[0][0], list(rows[0][1])


async def test_incremental_rows_equal_a_full_recompute(loaded: AsyncEngine):
    post, hashtags = await _top_post(loaded)
    others = [
        r[0]
        for r in await _all(
            loaded,
            "SELECT DISTINCT hashtag_id FROM post_hashtag WHERE NOT hashtag_id = ANY(:ids) "
            "ORDER BY 1 LIMIT 5",
            ids=hashtags,
        )
    ]
    before = {t: await _rows(loaded, t, hashtags) for t in INCREMENTAL_TABLES}
    untouched = {t: await _rows(loaded, t, others) for t in INCREMENTAL_TABLES}
    likes = await _scalar(loaded, "SELECT likes FROM post WHERE id = :id", id=post)
    version = await _update(loaded, post, likes=likes + 5_000)

    outcome = await recompute(loaded)

    assert (outcome.status, outcome.computed_version) == ("incremental", version)
    assert outcome.rows is not None
    assert outcome.rows["hashtags"] == len(hashtags)
    # Only the rows the post can change were rewritten: per hashtag, its three scopes
    # (account, platform, all platforms) on its one day and in its one weekday x hour cell.
    assert outcome.rows["hashtag_daily"] == outcome.rows["hashtag_trend_cell"] == 3 * len(hashtags)
    assert outcome.rows["hashtag_performance"] <= 3 * len(WINDOWS) * len(hashtags)
    full = await _full_frames(loaded)
    async with loaded.connect() as conn:
        stored_baselines = await repo.load_baselines(conn, BASELINE_SCHEMA)
    # The premise: the update moved no account baseline, so only the prior differs.
    key = ["account_id", "window", "goal"]
    assert_frame_equal(stored_baselines.sort(key), full["account_baseline"].sort(key))
    for table in INCREMENTAL_TABLES:
        got = await _rows(loaded, table, hashtags)
        want = _expected(full[table], table, hashtags)
        if table == "hashtag_lift":  # the stored prior is the one of the last full recompute
            got, want = got.drop(PRIOR_COLUMNS), want.drop(PRIOR_COLUMNS)
        assert got.height > 0
        assert_frame_equal(got, want, rel_tol=REL_TOL, abs_tol=1e-12)
        assert not got.equals(before[table].drop(PRIOR_COLUMNS, strict=False)) or table in {
            "hashtag_lift",  # some goals (reach) do not involve likes
        }
        assert_frame_equal(await _rows(loaded, table, others), untouched[table])
    perf = await _rows(loaded, "hashtag_performance", hashtags)
    assert not perf.equals(before["hashtag_performance"])
    # With the full recompute's own prior and offsets, the estimate and its posterior match
    # too (the q-value and so the verdict are read off the stored curve instead).
    lift = full["hashtag_lift"]
    async with loaded.connect() as conn:
        posts = await repo.load_posts(conn, hashtags)
        links = await repo.load_links(conn, hashtags)
    mine = incremental_frames(
        posts,
        links,
        hashtags,
        now=NOW,
        baselines=full["account_baseline"],
        priors=priors_of(lift),
        frozen=lift.select(FROZEN_LIFT),
    )
    for table in INCREMENTAL_TABLES:
        assert_frame_equal(
            mine[table].sort(KEYS[table]).drop(LIST_COLUMNS, strict=False),
            _expected(full[table], table, hashtags).drop(LIST_COLUMNS, strict=False),
            rel_tol=REL_TOL,
            abs_tol=1e-12,
        )
    # The curve's q-value never claims more than the hashtag's own lfsr.
    assert (mine["hashtag_lift"]["qvalue"] <= mine["hashtag_lift"]["lfsr"] + 1e-12).all()


async def test_same_job_twice_changes_nothing(loaded: AsyncEngine):
    post, hashtags = await _top_post(loaded)
    await _update(loaded, post, comments=777)
    first = await recompute(loaded)
    after = {t: await _rows(loaded, t, hashtags) for t in INCREMENTAL_TABLES}

    second = await recompute(loaded)
    # Re-applying the same dirty post (as a retried job would after a crash) is harmless too.
    async with loaded.begin() as conn:
        await conn.execute(text("UPDATE recompute_state SET applied_version = :v"), {"v": 0})
        await conn.execute(
            text("UPDATE recompute_state SET computed_version = computed_version - 1")
        )
    third = await recompute(loaded)

    assert (first.status, second.status, third.status) == (
        "incremental",
        "up_to_date",
        "incremental",
    )
    for table in INCREMENTAL_TABLES:
        assert_frame_equal(await _rows(loaded, table, hashtags), after[table])


async def test_text_change_moves_the_post_between_hashtags(loaded: AsyncEngine):
    post, old = await _top_post(loaded)
    await _update(loaded, post, text="Brand new words #IncrementalOnly")

    outcome = await recompute(loaded)

    assert outcome.status == "incremental"
    new = await _scalar(loaded, "SELECT id FROM hashtag WHERE key = 'incrementalonly'")
    rows = await _all(
        loaded,
        'SELECT "window", posts FROM hashtag_performance WHERE hashtag_id = :id '
        "AND platform = '*' AND account_id = 0 ORDER BY 1",
        id=new,
    )
    assert rows
    assert all(n == 1 for _w, n in rows)
    full = await _full_frames(loaded)
    for table in ("hashtag_performance", "hashtag_trend_cell", "hashtag_daily"):
        got = await _rows(loaded, table, [*old, new])
        assert_frame_equal(got, _expected(full[table], table, [*old, new]), rel_tol=REL_TOL)
    # An old hashtag that was on this post only has no rows left, as after a full recompute.
    gone = [t for t in old if t not in full["hashtag_performance"]["hashtag_id"].to_list()]
    for tag in gone:
        assert (
            await _scalar(
                loaded, "SELECT count(*) FROM hashtag_performance WHERE hashtag_id = :id", id=tag
            )
            == 0
        )


async def test_burst_is_coalesced_and_survives_redis_down(loaded: AsyncEngine):
    posts = [
        r[0]
        for r in await _all(
            loaded,
            "SELECT p.id FROM post p WHERE p.posted_at <= :now AND EXISTS "
            "(SELECT 1 FROM post_hashtag ph WHERE ph.post_id = p.id) ORDER BY p.id LIMIT 6",
            now=NOW,
        )
    ]
    versions = [await _update(loaded, p, shares=10_000 + i) for i, p in enumerate(posts)]
    pending = await _scalar(loaded, "SELECT count(*) FROM dirty_post")
    assert pending == len(posts)  # written with the updates although nothing was queued

    outcome, again = await recompute(loaded), await recompute(loaded)

    assert (outcome.status, outcome.computed_version) == ("incremental", versions[-1])
    assert again.status == "up_to_date"
    touched = sorted(
        r[0]
        for r in await _all(
            loaded, "SELECT DISTINCT hashtag_id FROM post_hashtag WHERE post_id = ANY(:p)", p=posts
        )
    )
    assert outcome.rows is not None
    assert outcome.rows["hashtags"] == len(touched)
    full = await _full_frames(loaded)
    got = await _rows(loaded, "hashtag_performance", touched)
    assert_frame_equal(got, _expected(full["hashtag_performance"], "hashtag_performance", touched))
    # The next full recompute covers them and forgets the records.
    forced = await recompute(loaded, now=NOW, force=True)
    assert forced.status == "computed"
    assert await _scalar(loaded, "SELECT count(*) FROM dirty_post") == 0


async def test_an_import_takes_the_full_path(loaded: AsyncEngine, arq_redis):
    post, _tags = await _top_post(loaded)
    await _update(loaded, post, likes=1)
    async with create_sessionmaker(loaded)() as session:  # an import: not a single-post update
        await load_demo(session, _NoQueue(), DemoConfig(posts=20, seed=7, end=NOW), batch_rows=100)
    outcome = await recompute(loaded, now=NOW)
    assert outcome.status == "computed"
    requested = await _scalar(loaded, "SELECT version FROM data_version")
    assert outcome.computed_version == requested


async def test_full_pass_reapplies_updates_that_missed_its_snapshot(
    loaded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    post, hashtags = await _top_post(loaded)
    lock = repo.lock_apply
    done: list[int] = []

    async def update_then_lock(conn: Any) -> None:
        if not done:  # an update commits after the full pass read its snapshot
            done.append(await _update(loaded, post, likes=123_456))
        await lock(conn)

    monkeypatch.setattr(service.repo, "lock_apply", update_then_lock)
    outcome = await recompute(loaded, now=NOW, force=True)
    monkeypatch.undo()

    assert outcome.status == "computed"
    assert outcome.computed_version == done[0]
    full = await _full_frames(loaded)
    got = await _rows(loaded, "hashtag_performance", hashtags)
    assert_frame_equal(got, _expected(full["hashtag_performance"], "hashtag_performance", hashtags))
    assert await recompute(loaded) == service.RecomputeOutcome("up_to_date", done[0])


async def test_readers_never_see_half_an_update(loaded: AsyncEngine):
    post, hashtags = await _top_post(loaded)
    tag = hashtags[0]
    # One statement (one snapshot): the 'all' figures and the trend cells must agree.
    check = text(
        "SELECT (SELECT posts * avg_engagement FROM hashtag_performance WHERE platform = '*' "
        "AND account_id = 0 AND \"window\" = 'all' AND hashtag_id = :id), "
        "(SELECT sum(engagement_sum) FROM hashtag_trend_cell WHERE platform = '*' "
        "AND account_id = 0 AND hashtag_id = :id)"
    )
    stop = asyncio.Event()
    seen: list[tuple[float, float]] = []

    async def read() -> None:
        async with loaded.connect() as conn:
            while not stop.is_set():
                row = (await conn.execute(check, {"id": tag})).one()
                await conn.commit()
                seen.append((float(row[0]), float(row[1])))

    reader = asyncio.create_task(read())
    likes = await _scalar(loaded, "SELECT likes FROM post WHERE id = :id", id=post)
    for step in range(1, 9):
        await _update(loaded, post, likes=likes + 1_000 * step)
        assert (await recompute(loaded)).status == "incremental"
    stop.set()
    await reader

    assert len({round(a) for a, _b in seen}) > 1  # the reader saw the figures move
    assert all(a == pytest.approx(b, rel=REL_TOL) for a, b in seen)
    assert tag != ALL_HASHTAGS


async def _same_as_full(engine: AsyncEngine, hashtags: list[int]) -> None:
    """The stored rows of `hashtags` are those a full recompute gives now (the tables that do
    not involve the frozen baselines and prior)."""
    full = await _full_frames(engine)
    for table in ("hashtag_performance", "hashtag_trend_cell", "hashtag_daily"):
        got = await _rows(engine, table, hashtags)
        assert_frame_equal(got, _expected(full[table], table, hashtags), rel_tol=REL_TOL)


async def test_posts_kept_between_passes_give_the_rows_a_fresh_read_gives(
    loaded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    cache = PostsCache()
    monkeypatch.setattr(service, "_POSTS", cache)
    post, tags = await _top_post(loaded)
    (other,) = (
        await _all(
            loaded,
            "SELECT min(post_id) FROM post_hashtag WHERE hashtag_id = :tag AND post_id <> :post",
            tag=tags[0],
            post=post,
        )
    )[0]
    likes = await _scalar(loaded, "SELECT likes FROM post WHERE id = :id", id=post)
    seen = set(tags)
    steps: list[tuple[int, dict[str, Any]]] = [
        (post, {"likes": likes + 100}),  # cold: read from PostgreSQL
        (other, {"comments": 4_321}),
        (post, {"text": "New words #IncrementalCache #" + await _key(loaded, tags[0])}),
        (post, {"likes": likes + 300}),  # every hashtag of the post is kept by now
    ]
    for pk, changes in steps:
        await _update(loaded, pk, **changes)
        outcome = await recompute(loaded)
        assert outcome.status == "incremental"
        seen |= set(await _tags_of(loaded, pk))
        await _same_as_full(loaded, sorted(seen))
    assert cache.reads["hit"] >= 1
    assert cache.posts is not None

    # Another worker applies an update: this process's copy is out of date and must not be
    # used (it would carry the post's old likes into tags[0]'s rows).
    monkeypatch.setattr(service, "_POSTS", PostsCache())
    await _update(loaded, post, likes=likes + 5_000)
    assert (await recompute(loaded)).status == "incremental"
    monkeypatch.setattr(service, "_POSTS", cache)
    misses = cache.reads["miss"]
    await _update(loaded, other, comments=1)
    assert (await recompute(loaded)).status == "incremental"
    assert cache.reads["miss"] == misses + 1
    await _same_as_full(loaded, sorted(seen))


async def _key(engine: AsyncEngine, hashtag: int) -> str:
    return str(await _scalar(engine, "SELECT key FROM hashtag WHERE id = :id", id=hashtag))


async def _tags_of(engine: AsyncEngine, post: int) -> list[int]:
    rows = await _all(engine, "SELECT hashtag_id FROM post_hashtag WHERE post_id = :id", id=post)
    return [r[0] for r in rows]


async def test_rows_moved_by_difference_equal_a_recompute_from_the_posts(
    loaded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    """Once this process holds a hashtag's posts (settled), its performance and lift rows are
    moved by difference; after a run of updates of every kind they are what recomputing them
    from all their posts gives, with the same baselines and prior."""
    cache = PostsCache()
    monkeypatch.setattr(service, "_POSTS", cache)
    post, tags = await _top_post(loaded)
    others = [
        r[0]
        for r in await _all(
            loaded,
            "SELECT post_id FROM post_hashtag WHERE hashtag_id = :tag AND post_id <> :post "
            "ORDER BY post_id LIMIT 3",
            tag=tags[0],
            post=post,
        )
    ]
    likes = await _scalar(loaded, "SELECT likes FROM post WHERE id = :id", id=post)
    steps: list[tuple[int, dict[str, Any]]] = [
        (post, {"likes": likes + 100}),  # cold: the posts are read, the rows recomputed
        (others[0], {"comments": 4_321, "shares": 0}),
        (others[1], {"reach": 12_345, "impressions": 20_000}),
        (post, {"text": "Other words #DifferenceOnly #" + await _key(loaded, tags[0])}),
        (others[2], {"likes": 0, "comments": 0, "shares": 0, "saves": 0}),
        (post, {"likes": likes + 300, "saves": 17}),
    ]
    moved = []
    seen = set(tags)
    for pk, changes in steps:
        await _update(loaded, pk, **changes)
        outcome = await recompute(loaded)
        assert outcome.status == "incremental"
        assert outcome.rows is not None
        moved.append(outcome.rows["by_difference"])
        seen |= set(await _tags_of(loaded, pk))
    assert moved[0] == 0  # nothing held yet
    assert all(n >= 1 for n in moved[1:])  # tags[0] is held from the first pass on

    hashtags = sorted(seen)
    async with loaded.connect() as conn:
        posts = await repo.load_posts(conn, hashtags)
        links = await repo.load_links(conn, hashtags)
        baselines = await repo.load_baselines(conn, BASELINE_SCHEMA)
        priors = await repo.load_priors(conn, PRIOR_SCHEMA)
        # The offsets are held from the full recompute through every incremental pass.
        held = (await _rows(loaded, "hashtag_lift", hashtags)).select(FROZEN_LIFT)
    want = incremental_frames(
        posts, links, hashtags, now=NOW, baselines=baselines, priors=priors, frozen=held
    )
    for table in ("hashtag_performance", "hashtag_lift"):
        got = await _rows(loaded, table, hashtags)
        assert got.height > 0
        # Rows no update touched keep the full pass's exact q-value; the others the curve's.
        assert_frame_equal(
            got.drop(LIST_COLUMNS, strict=False),
            want[table].sort(KEYS[table]).drop(LIST_COLUMNS, strict=False),
            rel_tol=REL_TOL,
            abs_tol=1e-12,
        )
    # Whole-number means are exact, not just close: their sums are rounded back.
    got = await _rows(loaded, "hashtag_performance", hashtags)
    exact = ["posts", "avg_engagement", "median_engagement", "avg_reach", "avg_impressions"]
    assert_frame_equal(
        got.select(KEYS["hashtag_performance"], *exact),
        want["hashtag_performance"]
        .sort(KEYS["hashtag_performance"])
        .select(KEYS["hashtag_performance"], *exact),
        check_exact=True,
    )
