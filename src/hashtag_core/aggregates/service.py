"""Rebuilding the precomputed aggregates: in full, or incrementally for a few hashtags.

A full pass reads the data in a REPEATABLE READ snapshot (so the posts, links and the data
version it records are consistent), computes every table slice by slice (`slices`) in a worker
thread into fresh tables built beside the live ones, and swaps them all in with one short
transaction (`staging`): readers, which lock the tables before their snapshot, see the old
figures or the new ones, never a mix. A cluster-wide advisory lock keeps full passes one at a
time. A trigger that finds the lock taken returns at once: the running pass re-checks the data
version after releasing the lock and goes again if anything arrived meanwhile, so concurrent
triggers coalesce without losing an update.

An incremental pass applies single-post updates (`dirty_post` records, written with the
update): it recomputes the rows of the hashtags those posts touch (`incremental`), holding the
account baselines, the empirical-Bayes prior and the window anchor of the last full pass. A
trigger takes it when every data version not yet in the aggregates is such an update; anything
else (an import, a sync, a reset database) takes the full pass. Both write aggregate rows only
under a second advisory lock (APPLY_LOCK_KEY), taken before their writing transaction starts;
the full pass does not hold it while it computes, so updates keep flowing meanwhile, and its
swap re-applies the updates its snapshot missed, in the same transaction.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hashtag_core.aggregates import repository as repo
from hashtag_core.aggregates import staging
from hashtag_core.aggregates.delta import engagement_medians, lift_delta, performance_delta
from hashtag_core.aggregates.incremental import (
    BASELINE_SCHEMA,
    FROZEN_LIFT,
    INCREMENTAL_TABLES,
    PRIOR_SCHEMA,
    baselines_of,
    incremental_frames,
    restrict_to,
    touched_keys,
)
from hashtag_core.aggregates.postcache import Before, CacheState, PostsCache
from hashtag_core.aggregates.slices import FROZEN, Slice, collect_slice, slices
from hashtag_core.alerts import repository as alert_repo
from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.cooccurrence import cooccurrence
from hashtag_core.analytics.followers import content_reach, follower_lift
from hashtag_core.analytics.frames import POSTS_SCHEMA, WINDOWS
from hashtag_core.analytics.insight_frames import FOLLOWERS_SCHEMA, GOALS
from hashtag_core.analytics.languages import hashtag_languages
from hashtag_core.analytics.lift import hashtag_lift
from hashtag_core.analytics.performance import hashtag_performance
from hashtag_core.analytics.sentiment import hashtag_sentiment
from hashtag_core.analytics.slots import best_slots, hashtag_momentum, slot_lift
from hashtag_core.analytics.trends import daily_series, trend_cells

__all__ = [
    "FULL_AFTER_DIRTY_POSTS",
    "RecomputeOutcome",
    "compute_frames",
    "compute_slice",
    "install_staged",
    "recompute",
    "warm_posts",
]

logger = logging.getLogger(__name__)

#: After an incremental pass, a full recompute follows once this many single-post updates have
#: piled up since the last one (the frozen baselines and prior drift as posts change).
FULL_AFTER_DIRTY_POSTS = 10_000
#: How long the swap waits for the locks of running reads before it gives way and tries again:
#: readers queue behind a waiting swap, so one reader left in an open transaction must not hold
#: every read up for long.
SWAP_LOCK_TIMEOUT_MS = 2_000
SWAP_ATTEMPTS = 5
#: The posts of recently updated hashtags, kept by this process between incremental passes.
_POSTS = PostsCache()


@dataclass(frozen=True)
class RecomputeOutcome:
    """What a recompute trigger did."""

    status: str  # "computed" | "incremental" | "up_to_date" | "coalesced"
    computed_version: int | None = None
    passes: int = 0
    rows: dict[str, int] | None = None
    duration_ms: int | None = None


def compute_frames(
    posts: pl.DataFrame,
    links: pl.DataFrame,
    *,
    now: datetime,
    followers: pl.DataFrame | None = None,
    baselines: bool = False,
) -> dict[str, pl.DataFrame]:
    """Every aggregate table from the input frames (CPU-bound: run it in a thread).

    `posts` may carry a `sentiment` column (needed for the sentiment table) and a `language`
    column (with `sentiment`, needed for the language table); `followers` are
    the follower snapshots (needed for the follower-growth lift). With `baselines`, the result
    also holds "account_baseline" (BASELINE_SCHEMA), which the incremental passes reuse.
    """
    lposts, llinks = posts.select(list(POSTS_SCHEMA)).lazy(), links.lazy()
    follower_frame = followers if followers is not None else pl.DataFrame(schema=FOLLOWERS_SCHEMA)
    relative = relative_performance(lposts, now=now)
    windows = tuple(WINDOWS)
    slots = slot_lift(lposts, llinks, now=now, windows=windows)
    plans = {
        "hashtag_performance": hashtag_performance(lposts, llinks, now=now),
        "hashtag_trend_cell": trend_cells(lposts, llinks),
        "hashtag_daily": daily_series(lposts, llinks),
        "hashtag_lift": pl.concat(
            [
                hashtag_lift(relative, llinks),
                follower_lift(lposts, llinks, follower_frame.lazy(), now=now),
            ]
        ),
        "hashtag_slot": slots,
        "hashtag_best_slot": best_slots(slots),
        "hashtag_momentum": hashtag_momentum(lposts, llinks, now=now),
        "hashtag_content_reach": content_reach(lposts, llinks, now=now),
        "hashtag_pair": cooccurrence(lposts, llinks, now=now),
    }
    if "sentiment" in posts.columns:
        plans["hashtag_sentiment"] = hashtag_sentiment(
            posts.lazy(), llinks, now=now, windows=windows
        )
    if "language" in posts.columns and "sentiment" in posts.columns:
        plans["hashtag_language"] = hashtag_languages(
            posts.lazy(), llinks, now=now, windows=windows
        )
    if baselines:
        plans["account_baseline"] = baselines_of(relative)
    frames = pl.collect_all(list(plans.values()))
    return dict(zip(plans, frames, strict=True))


def _covered(computed: int, versions: set[int]) -> int:
    """The highest data version v such that every version in (computed, v] is in `versions`."""
    while computed + 1 in versions:
        computed += 1
    return computed


async def _apply(
    conn: AsyncConnection,
    dirty: list[repo.DirtyPost],
    *,
    anchor: datetime,
    at: datetime,
    baselines: pl.DataFrame | None = None,
    priors: pl.DataFrame | None = None,
    cache: tuple[CacheState, CacheState] | None = None,
) -> dict[str, int]:
    """Recompute the rows of every hashtag the dirty posts touch (before or after the update).

    With `cache` (the state the pass starts from, and the one it leaves), the hashtags' posts
    come from this process's `PostsCache` where it holds them, and the performance and lift
    rows of the hashtags it held settled are moved by difference (`delta`)."""
    hashtags = {tag for d in dirty for tag in d.old_hashtag_ids}
    hashtags |= await repo.hashtags_of_posts(conn, [d.post_id for d in dirty])
    if not hashtags:
        return {}
    ids = sorted(hashtags)
    post_ids = sorted({d.post_id for d in dirty})
    updated = await repo.load_posts(conn, post_ids=post_ids)
    before = None
    if cache is not None:
        posts, links, before = await _POSTS.load(
            conn, ids, updated, before=cache[0], after=cache[1]
        )
    else:
        posts = await repo.load_posts(conn, ids)
        links = await repo.load_links(conn, ids)
    if baselines is None:
        baselines = await repo.load_baselines(conn, BASELINE_SCHEMA)
    if priors is None:
        priors = await repo.load_priors(conn, PRIOR_SCHEMA)
    # Only the rows the updated posts can change are computed and rewritten (their scopes,
    # the windows that hold them, their day and weekday x hour cell): a few dozen rows instead
    # of every row of a popular hashtag. If a post is gone, every row is.
    touched = updated if updated.height == len(post_ids) else None
    keys = None if touched is None else touched_keys(touched, anchor)
    # The stored lift rows of these hashtags (where an update can change them): their joint
    # fit's offsets are held fixed until the next full pass, and the moved ones are the base
    # of the rows moved by difference.
    stored_lift = await repo.load_hashtag_rows(
        conn, "hashtag_lift", ids, None if keys is None else keys["hashtag_lift"], goals=GOALS
    )
    frozen = stored_lift.select(FROZEN_LIFT)
    if keys is None:
        frames = await asyncio.to_thread(
            incremental_frames,
            posts,
            links,
            ids,
            now=anchor,
            baselines=baselines,
            priors=priors,
            frozen=frozen,
        )
        moved = []
    else:
        assert touched is not None
        moved = sorted(hashtags & before.hashtags) if before is not None else []
        stored = {
            "hashtag_performance": await repo.load_hashtag_rows(
                conn, "hashtag_performance", moved, keys["hashtag_performance"], goals=GOALS
            ),
            "hashtag_lift": stored_lift.filter(pl.col("hashtag_id").is_in(moved)),
        }
        frames = await asyncio.to_thread(
            _touched_frames,
            posts,
            links,
            ids,
            moved,
            updated=touched,
            before=before,
            stored=stored,
            keys=keys,
            now=anchor,
            baselines=baselines,
            priors=priors,
            frozen=frozen,
        )
    rows = await repo.replace_hashtag_rows(
        conn, frames, ids, computed_at=at, goals=GOALS, keys=keys
    )
    return {"hashtags": len(ids), "by_difference": len(moved), **rows}


#: Tables whose rows of a settled cached hashtag are moved by difference (`delta`).
_BY_DIFFERENCE = ("hashtag_performance", "hashtag_lift")


def _touched_frames(
    posts: pl.DataFrame,
    links: pl.DataFrame,
    ids: list[int],
    moved: list[int],
    *,
    updated: pl.DataFrame,
    before: Before | None,
    stored: dict[str, pl.DataFrame],
    keys: dict[str, pl.DataFrame],
    now: datetime,
    baselines: pl.DataFrame,
    priors: pl.DataFrame,
    frozen: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    """The rows of `keys` of every hashtag in `ids`: recomputed from the hashtags' posts, but
    for the hashtags in `moved`, whose performance and lift rows are `stored` moved by the
    difference between the updated posts' old versions (`before`) and new ones."""
    compute = functools.partial(
        incremental_frames,
        now=now,
        baselines=baselines,
        priors=priors,
        frozen=frozen,
        touched=updated,
    )
    links = links.filter(pl.col("hashtag_id").is_in(ids))  # once (the cache holds many more)
    recomputed = [t for t in ids if t not in set(moved)]
    frames = compute(posts, links, recomputed) if recomputed else {}
    cheap = tuple(t for t in INCREMENTAL_TABLES if t not in _BY_DIFFERENCE)
    if moved:
        assert before is not None
        rest = compute(posts, links, moved, tables=cheap)
        old = compute(before.posts, before.links, moved, tables=_BY_DIFFERENCE)
        own = links.filter(pl.col("post_id").is_in(updated["post_id"].implode()))
        new = compute(updated, own, moved, tables=_BY_DIFFERENCE)
        old, new = restrict_to(old, keys), restrict_to(new, keys)
        wanted = keys["hashtag_performance"].join(
            pl.DataFrame({"hashtag_id": moved}, schema={"hashtag_id": pl.Int64}), how="cross"
        )
        medians = engagement_medians(posts, links, wanted, now=now)
        rest["hashtag_performance"] = performance_delta(
            stored["hashtag_performance"],
            old["hashtag_performance"],
            new["hashtag_performance"],
            medians,
        )
        rest["hashtag_lift"] = lift_delta(
            stored["hashtag_lift"], old["hashtag_lift"], new["hashtag_lift"], priors
        )
        frames = {
            table: pl.concat([frames[table], rest[table]], how="vertical_relaxed")
            if table in frames
            else rest[table]
            for table in INCREMENTAL_TABLES
        }
    return restrict_to(frames, keys)


#: A slice of one table ready for COPY: columns, the rows (encoded as CSV a chunk at a time
#: by the COPY), row count.
_Payload = tuple[list[str], pl.DataFrame, int]
_Work = tuple[dict[str, pl.DataFrame], dict[str, _Payload]]


def compute_slice(piece: Slice, *, at: datetime) -> _Work:
    """Compute one slice (CPU-bound: run it in a thread): the frames of FROZEN it holds, and
    its aggregate tables' COPY payloads."""
    frames = collect_slice(piece)
    payloads = {
        table: (*repo.csv_payload(table, frame, computed_at=at), frame.height)
        for table, frame in frames.items()
        if table in repo.AGGREGATE_TABLES
    }
    return {name: frames[name] for name in FROZEN if name in frames}, payloads


async def _stage(
    engine: AsyncEngine,
    conn: AsyncConnection,
    posts: pl.DataFrame,
    links: pl.DataFrame,
    followers: pl.DataFrame,
    at: datetime,
) -> tuple[dict[str, int], dict[str, pl.DataFrame]]:
    """Compute the aggregates slice by slice into staged tables: (rows per table, the frozen
    frames). Three things overlap: a worker thread computes the next slice while this slice
    is COPYed, and a second connection builds the indexes of each table whose slices are all
    in. Every step commits (the staged tables are invisible to readers; a pass that dies
    leaves them to the next one, which drops them)."""
    tables = list(repo.AGGREGATE_TABLES)
    async with conn.begin():
        await staging.create_staged(conn, tables)
    rows = dict.fromkeys(tables, 0)
    frozen: dict[str, list[pl.DataFrame]] = {name: [] for name in FROZEN}
    finished: asyncio.Queue[str | None] = asyncio.Queue()

    work = functools.partial(compute_slice, at=at)

    async def index_tables() -> None:
        async with engine.connect() as other:
            while (table := await finished.get()) is not None:
                async with other.begin():
                    await staging.finish_staged(other, [table])

    indexer = asyncio.ensure_future(index_tables())
    pieces = slices(posts, links, followers, now=at)
    running: asyncio.Future[_Work] | None = asyncio.ensure_future(
        asyncio.to_thread(work, next(pieces))
    )
    indexed = 0  # tables[:indexed] are handed to the index builder
    try:
        while running is not None:
            kept, payloads = await running
            piece = next(pieces, None)
            running = None
            if piece is not None:
                running = asyncio.ensure_future(asyncio.to_thread(work, piece))
            for name, frame in kept.items():
                frozen[name].append(frame)
            for table, (columns, data, height) in payloads.items():
                async with conn.begin():
                    await repo.copy_payload(conn, staging.staged(table), columns, data)
                rows[table] += height
            del payloads
            # Slices come in table order: the tables before the next slice's first are complete.
            upcoming = [] if piece is None else [*piece.plans, *piece.derived]
            first = min((tables.index(t) for t in upcoming if t in rows), default=len(tables))
            for table in tables[indexed:first]:
                finished.put_nowait(table)
            indexed = max(indexed, first)
            if indexer.done():  # an index build failed: stop here
                indexer.result()
        finished.put_nowait(None)
        await indexer
    finally:
        if running is not None:
            running.cancel()
        indexer.cancel()
    return rows, {name: pl.concat(frames) for name, frames in frozen.items()}


async def install_staged(
    conn: AsyncConnection,
    *,
    version: int,
    at: datetime,
    baselines: pl.DataFrame,
    priors: pl.DataFrame,
    started: float,
    lock_timeout_ms: int = 0,
) -> tuple[int, int]:
    """In the caller's transaction, swap in the staged tables of a full pass over data
    version `version` and record it: (the version the aggregates now show, the pass's
    duration in ms, from `started`, a perf_counter reading)."""
    # Before the swap (no exclusive lock yet), in its transaction: a flip is recorded if and
    # only if the new figures go live.
    await alert_repo.record_verdict_flips(conn, at=at)
    await staging.swap_in(conn, list(repo.AGGREGATE_TABLES), lock_timeout_ms=lock_timeout_ms)
    await repo.replace_frozen(conn, baselines, priors)
    await repo.update_display_spellings(conn)
    # Updates committed after the snapshot were applied to the tables just replaced: apply
    # them again on top of the new figures, in this transaction.
    await repo.clear_dirty(conn, covered=version)
    state = await repo.read_state(conn)
    later = await repo.dirty_posts(conn, after=version, upto=state.requested)
    if later:
        await _apply(conn, later, anchor=at, at=at, baselines=baselines, priors=priors)
    computed = _covered(version, {d.version for d in later})
    duration_ms = int((time.perf_counter() - started) * 1000)
    await repo.write_state(conn, version=computed, computed_at=at, duration_ms=duration_ms)
    await repo.write_full_state(
        conn,
        full_version=version,
        computed_version=computed,
        applied=max([version, *(d.version for d in later)]),
        at=at,
    )
    return computed, duration_ms


async def _pass(
    engine: AsyncEngine, conn: AsyncConnection, now: datetime | None, *, force: bool = False
) -> RecomputeOutcome | None:
    """One full pass; None when the aggregates already show the latest data."""
    started = time.perf_counter()
    rr = await conn.execution_options(isolation_level="REPEATABLE READ")
    async with rr.begin():
        versions = await repo.read_versions(rr)
        if versions.computed >= versions.requested and not force:
            return None
        _POSTS.clear()  # out of date once this pass is in; its memory is wanted now
        posts = await repo.load_posts(rr)
        links = await repo.load_links(rr)
        followers = await repo.load_followers(rr)
    at = now or datetime.now(UTC)
    # Built beside the live tables, outside the apply lock: updates keep flowing meanwhile.
    rows, frozen = await _stage(engine, rr, posts, links, followers, at)
    del posts, links, followers
    baselines, priors = frozen["account_baseline"], frozen["lift_prior"]
    await repo.lock_apply(conn)
    try:
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                async with rr.begin():
                    computed, duration_ms = await install_staged(
                        rr,
                        version=versions.requested,
                        at=at,
                        baselines=baselines,
                        priors=priors,
                        started=started,
                        lock_timeout_ms=SWAP_LOCK_TIMEOUT_MS,
                    )
                break
            except asyncpg.LockNotAvailableError:
                if attempt == SWAP_ATTEMPTS:
                    raise
                logger.warning(
                    "swap of the new aggregates waited %d ms for a reader's lock; "
                    "trying again (attempt %d of %d)",
                    SWAP_LOCK_TIMEOUT_MS,
                    attempt + 1,
                    SWAP_ATTEMPTS,
                )
    finally:
        await repo.unlock_apply(conn)
    logger.info(
        "recomputed aggregates to version %s in %d ms: %s", versions.requested, duration_ms, rows
    )
    return RecomputeOutcome("computed", computed, 1, rows, duration_ms)


async def _incremental(conn: AsyncConnection) -> tuple[RecomputeOutcome | None, bool]:
    """Apply the pending single-post updates: (outcome, full recompute due?).

    The outcome is None when a full pass is needed: no full pass yet, or a pending data
    version that is not a single-post update (an import, a sync, a reset database).
    """
    started = time.perf_counter()
    await repo.lock_apply(conn)
    try:
        rr = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with rr.begin():
            state = await repo.read_state(rr)
            if state.computed >= state.requested:
                return RecomputeOutcome("up_to_date", state.computed), False
            anchor = state.full_computed_at
            if state.full_version is None or anchor is None or state.full_version > state.computed:
                return None, False
            pending = await repo.dirty_posts(rr, after=state.full_version, upto=state.requested)
            covered = _covered(state.computed, {d.version for d in pending})
            if covered < state.requested:
                return None, False
            todo = [d for d in pending if d.version > state.applied]
            at = datetime.now(UTC)
            database = rr.engine.url.render_as_string(hide_password=True)
            before = (database, await repo.state_token(rr))
            await repo.write_incremental_state(
                rr, computed_version=covered, applied=state.requested, at=at
            )
            after = (database, await repo.state_token(rr))  # this transaction's own write
            rows = await _apply(rr, todo, anchor=anchor, at=at, cache=(before, after))
    finally:
        await repo.unlock_apply(conn)
    duration_ms = int((time.perf_counter() - started) * 1000)
    logger.info(
        "applied %d updated posts to version %s in %d ms: %s", len(todo), covered, duration_ms, rows
    )
    outcome = RecomputeOutcome("incremental", covered, 1, rows, duration_ms)
    return outcome, len(pending) > FULL_AFTER_DIRTY_POSTS


async def warm_posts(engine: AsyncEngine) -> int:
    """Fill this process's posts cache with the posts of the most used hashtags (all of them
    when every post fits in `PostsCache.max_rows`), so that the first update of a hashtag
    after a worker start or a full pass neither waits for its posts to be read nor has its
    rows recomputed from them. Returns the number of posts kept (0 before the first full
    pass)."""
    async with engine.connect() as conn:
        await repo.lock_apply(conn)
        try:
            rr = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with rr.begin():
                state = await repo.read_state(rr)
                if state.full_version is None:
                    return 0
                # Links are ~3 per post: a few times max_rows of them, then cut to the
                # hashtags whose posts fit.
                ids = await repo.most_used_hashtags(rr, _WARM_LINKS_PER_POST * _POSTS.max_rows)
                database = rr.engine.url.render_as_string(hide_password=True)
                token = (database, await repo.state_token(rr))
                posts = await repo.load_posts(rr, ids)
                links = await repo.load_links(rr, ids)
            ids, posts, links = _fitting(ids, posts, links, _POSTS.max_rows)
            # Settled only if the rows hold every update the posts do (see PostsCache).
            settled = state.applied >= state.requested
            _POSTS.keep(token, ids, posts, links, settled=settled)  # before another pass writes
        finally:
            await repo.unlock_apply(conn)
            await conn.commit()
    logger.info("kept the %d posts of the %d most used hashtags", posts.height, len(ids))
    return posts.height


_WARM_LINKS_PER_POST = 4


def _fitting(
    ids: list[int], posts: pl.DataFrame, links: pl.DataFrame, max_rows: int
) -> tuple[list[int], pl.DataFrame, pl.DataFrame]:
    """The longest prefix of `ids` (most used first) whose posts number at most `max_rows`,
    with those posts and links."""
    if posts.height <= max_rows:
        return ids, posts, links
    rank = pl.DataFrame({"hashtag_id": ids, "rank": range(len(ids))})
    first = (
        links.join(rank, on="hashtag_id")
        .group_by("post_id")
        .agg(pl.col("rank").min())
        .group_by("rank")
        .len()
        .sort("rank")
        .with_columns(total=pl.col("len").cum_sum())
    )
    fits = first.filter(pl.col("total") <= max_rows)["rank"]
    kept = ids[: (int(fits.max()) + 1) if fits.len() else 0]  # type: ignore[arg-type]
    links = links.filter(pl.col("hashtag_id").is_in(kept))
    return kept, posts.join(links, on="post_id", how="semi"), links


async def recompute(
    engine: AsyncEngine, *, now: datetime | None = None, force: bool = False
) -> RecomputeOutcome:
    """Bring the aggregates up to the latest data version (or leave it to a running pass).

    When every pending version is a single-post update, an incremental pass does it (a full
    pass follows once FULL_AFTER_DIRTY_POSTS updates piled up). `force` runs a full pass even
    when no data changed: time windows end at "now" and move on, and the baselines and prior
    the incremental passes hold are refreshed.
    """
    if not force:
        async with engine.connect() as conn:
            quick, full_due = await _incremental(conn)
            await conn.commit()
        if quick is not None and not full_due:
            return quick
        force = full_due
    last: RecomputeOutcome | None = None
    passes = 0
    async with engine.connect() as conn:
        while True:
            if not await repo.try_lock(conn):
                await conn.commit()
                return last or RecomputeOutcome("coalesced")
            await conn.commit()
            try:
                outcome = await _pass(engine, conn, now, force=force and passes == 0)
            finally:
                await repo.unlock(conn)
                await conn.commit()
            if outcome is None:
                if last is None:
                    versions = await repo.read_versions(conn)
                    await conn.commit()
                    return RecomputeOutcome("up_to_date", versions.computed, passes)
                return RecomputeOutcome(
                    "computed", last.computed_version, passes, last.rows, last.duration_ms
                )
            passes += 1
            last = outcome
