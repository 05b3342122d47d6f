"""Storing posts: imports in batches, single-post updates, and the recompute each one asks for.

Imports are the one place below the edge that commits: a file (or request body) is stored
batch by batch in ONE transaction, committed at the end, with one data-version bump. A failure
part-way (the database refusing a row, a restart) stores nothing, so the import can simply be
sent again (a restart at the very moment of the commit may have stored all of it; the retry
then stores nothing twice); a re-sent import adds no metric snapshot for a post whose metrics
it does not change (`repository._store_sql`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import multiprocessing
import random
import signal
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.errors import NotFound
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.ingest.validate import KNOWN_FIELDS, RowError, validate_row, with_sentiment
from hashtag_core.jobs import RECOMPUTE, REFRESH_POST, JobQueue, recompute_job_id
from hashtag_core.language import detect_languages
from hashtag_core.language import preload as preload_language_model
from hashtag_core.platforms import Platform
from hashtag_core.posts import repository
from hashtag_core.posts.repository import StagedPost, StageRows
from hashtag_core.posts.schemas import (
    ImportError_,
    ImportResult,
    MetricSnapshot,
    PostHistory,
    PostPublic,
    PostUpdate,
    UpdatePostResult,
)
from hashtag_core.rawsql import is_lock_conflict
from hashtag_core.sentiment import score_posts

__all__ = ["enqueue_recompute", "get_post", "import_rows", "post_history", "update_post"]

logger = logging.getLogger(__name__)


@dataclass
class _Batch:
    read: int
    errors: list[RowError] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    rows: StageRows | None = None  # the valid posts as staging rows; None if there are none


def _take(rows: Iterator[RawRow], size: int) -> list[RawRow]:
    """The next `size` rows (parsing the input is CPU work: runs in a thread)."""
    return list(itertools.islice(rows, size))


def _prepare(raws: list[RawRow]) -> _Batch:
    """Validate the rows, read their hashtags, score their sentiment and turn the valid ones
    into staging rows (CPU work: runs in a worker process or a thread)."""
    batch = _Batch(read=len(raws))
    staged: list[StagedPost] = []
    for raw in raws:
        if raw.data is not None:
            batch.unknown.update(k for k in raw.data if k not in KNOWN_FIELDS)
        outcome = validate_row(raw)
        if isinstance(outcome, StagedPost):
            staged.append(outcome)
        else:
            batch.errors.extend(outcome)
    if staged:
        batch.rows = repository.stage_rows(with_sentiment(staged))
    return batch


def _worker_started() -> None:
    # A forked copy of the importing process: its objects are the parent's, shared
    # copy-on-write; frozen, the collector never walks (and so never copies) them. Signals go
    # to the default handlers, not to the parent's event loop (whose wakeup fd is inherited).
    gc.freeze()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Preparer:
    """Prepares an import's batches one after another, in input order.

    The first batch is prepared in a thread. A longer import forks one worker process for the
    rest: Python's per-row work (validation, hashtags, language, sentiment) then runs on its
    own core, in parallel with PostgreSQL storing the batch before, instead of taking turns
    with the event loop for the GIL. Without fork (or if the worker dies) batches are
    prepared in a thread.
    """

    def __init__(self) -> None:
        self._batches = 0
        self._fork = _CAN_FORK
        self._pool: ProcessPoolExecutor | None = None

    async def next(self, rows: Iterator[RawRow], size: int) -> _Batch:
        raws = await asyncio.to_thread(_take, rows, size)
        self._batches += 1
        if not raws or self._batches == 1 or not self._fork:
            return await asyncio.to_thread(_prepare, raws)
        if self._pool is None:
            # Loaded before the fork, the worker shares the parent's copy of the model.
            await asyncio.to_thread(preload_language_model)
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_started,
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, _prepare, raws)
        except BrokenProcessPool:
            logger.warning("import worker process died; preparing the batches in a thread")
            self._fork = False
            self.close()
            return await asyncio.to_thread(_prepare, raws)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()


async def enqueue_recompute(queue: JobQueue, version: int) -> tuple[str, bool]:
    """Ask the worker to bring the aggregates up to `version`; (job id, queued?)."""
    job_id = recompute_job_id(version)
    queued = await queue.enqueue(RECOMPUTE, version, job_id=job_id)
    if not queued:
        logger.warning("queue unreachable; recompute %s left to the worker's catch-up", job_id)
    return job_id, queued


@dataclass
class _Totals:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    version: int | None = None


#: Times an import is run again after PostgreSQL rolled it back for a deadlock or a
#: serialization failure (each after a short random pause).
IMPORT_ATTEMPTS = 5
_RETRY_PAUSE_S = 0.05


async def import_rows(
    session: AsyncSession,
    rows: Iterator[RawRow] | Callable[[], Iterator[RawRow]],
    *,
    queue: JobQueue,
    batch_rows: int,
    max_errors: int,
    source: str = "import",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate and store every row, in one transaction: invalid rows are reported and never
    written, and a failure (the database refusing a batch, a lost connection) stores nothing.

    `rows` may be a function that reads the input from the start: the import is then run
    again, up to IMPORT_ATTEMPTS times, when PostgreSQL rolls it back for a deadlock or a
    serialization failure."""
    read: Callable[[], Iterator[RawRow]]
    if callable(rows):
        read, again = rows, True
    else:
        once = rows
        read, again = (lambda: once), False
    for attempt in itertools.count(1):
        try:
            totals = await _store_all(
                session,
                read(),
                batch_rows=batch_rows,
                max_errors=max_errors,
                source=source,
                progress=progress,
            )
            await session.commit()
            break
        except Exception as exc:
            with contextlib.suppress(Exception):  # a dead connection: the first error counts
                await session.rollback()
            if not again or attempt >= IMPORT_ATTEMPTS or not is_lock_conflict(exc):
                raise
            logger.warning("import lost a lock race (attempt %d); running it again", attempt)
            await asyncio.sleep(random.uniform(0, _RETRY_PAUSE_S * 2**attempt))
    await _analyze(session, totals.inserted)
    return await _finish(totals, queue=queue, max_errors=max_errors)


async def _analyze(session: AsyncSession, inserted: int) -> None:
    """Refresh the planner's statistics after a large import, if it can be done now.

    The import is committed by then: a failure here (PostgreSQL restarting, a table's lock held
    past the timeout) must not answer a 5xx for rows that are stored. Autovacuum analyzes them
    later."""
    try:
        if await repository.analyze_after_import(session, inserted):
            await session.commit()
    except Exception as exc:
        logger.warning("import stored; its ANALYZE failed and is left to autovacuum: %r", exc)
        with contextlib.suppress(Exception):  # a dead connection: the import is stored anyway
            await session.rollback()


async def _store_all(
    session: AsyncSession,
    rows: Iterator[RawRow],
    *,
    batch_rows: int,
    max_errors: int,
    source: str,
    progress: Callable[[int], None] | None,
) -> _Totals:
    """Store every batch of `rows` in the session's transaction (not committed)."""
    totals = _Totals()
    preparer = _Preparer()
    pending = asyncio.ensure_future(preparer.next(rows, batch_rows))
    try:
        while True:
            batch = await pending
            if batch.read == 0:
                break
            # Prepare the next batch while this one is stored: the Python work and
            # Postgres's upserts overlap (one reader at a time, so rows stay in order).
            pending = asyncio.ensure_future(preparer.next(rows, batch_rows))
            totals.received += batch.read
            totals.rejected += len({e.row for e in batch.errors})
            totals.errors.extend(batch.errors[: max(0, max_errors - len(totals.errors))])
            totals.unknown |= batch.unknown
            if batch.rows is not None:
                outcome = await repository.upsert_staged(session, batch.rows, source=source)
                totals.inserted += outcome.inserted
                totals.updated += outcome.updated
                totals.duplicates += outcome.duplicates
            if progress:
                progress(batch.read)
    finally:
        if not pending.done():  # a failed batch: let the read ahead finish, drop its result
            await asyncio.gather(pending, return_exceptions=True)
        preparer.close()
    if totals.inserted + totals.updated:
        # Last: the one row every writer updates is held only for the commit.
        totals.version = await repository.bump_data_version(session)
    return totals


async def _finish(totals: _Totals, *, queue: JobQueue, max_errors: int) -> ImportResult:
    job_id, queued = None, False
    if totals.version is not None:
        job_id, queued = await enqueue_recompute(queue, totals.version)
    return ImportResult(
        received=totals.received,
        stored=totals.inserted + totals.updated,
        inserted=totals.inserted,
        updated=totals.updated,
        duplicates_in_body=totals.duplicates,
        rejected=totals.rejected,
        errors=[ImportError_(row=e.row, field=e.field, message=e.message) for e in totals.errors],
        errors_truncated=len(totals.errors) >= max_errors
        and totals.rejected > len({e.row for e in totals.errors}),
        ignored_fields=sorted(totals.unknown),
        data_version=totals.version,
        job_id=job_id,
        job_queued=queued,
    )


_METRIC_FIELDS = ("likes", "comments", "shares", "saves", "impressions", "reach")


def _changes(current: dict[str, Any], update: PostUpdate) -> dict[str, Any]:
    given = update.model_dump(include={"text", *_METRIC_FIELDS}, exclude_none=True)
    return {name: value for name, value in given.items() if current[name] != value}


async def update_post(
    session: AsyncSession, update: PostUpdate, *, queue: JobQueue
) -> UpdatePostResult:
    """Change a stored post's text or metrics and/or schedule a re-fetch from its platform.

    Commits before enqueueing, so the worker never runs ahead of the data it is asked about.
    """
    current = await repository.get_post(session, update.platform.value, update.post_id, lock=True)
    if current is None:
        raise NotFound(
            f"no {update.platform.value} post with post_id {update.post_id!r}; import it first"
        )
    changes = _changes(current, update)
    version = None
    if "text" in changes:
        changes["language"] = detect_languages([changes["text"]])[0]
        changes["sentiment"] = score_posts([changes["text"]], [changes["language"]])[0]
    if changes:
        old_tags: list[int] = []
        await repository.update_post(session, current["id"], changes)
        if "text" in changes:
            old_tags = await repository.hashtag_ids(session, current["id"])
            tags = hashtags_in_post(changes["text"], update.platform.value)
            await repository.relink_hashtags(session, current["id"], tags)
        version = await repository.bump_data_version(session)
        # The recompute job this enqueues takes the incremental path for single-post updates.
        await repository.mark_dirty(session, version, current["id"], old_tags)
    label = f"req:{uuid.uuid4().hex[:12]}" if update.refetch else None
    if label is not None:
        await repository.request_refresh(session, current["id"], label, update.after or 0)
    after = await repository.get_post(session, update.platform.value, update.post_id)
    await session.commit()
    job_id, queued = (None, True)
    if version is not None:
        job_id, queued = await enqueue_recompute(queue, version)
    refetch_id = None
    if label is not None:
        # The job id refresh_due gives the same request, so arq runs it once either way.
        refetch_id = f"refresh:{current['id']}:{label}"
        queued = (
            await queue.enqueue(
                REFRESH_POST, current["id"], label, job_id=refetch_id, defer_s=update.after or 0
            )
            and queued
        )
    assert after is not None
    return UpdatePostResult(
        post=_public(after),
        changed=sorted(k for k in changes if k not in ("language", "sentiment")),
        data_version=version,
        job_id=job_id,
        refetch_job_id=refetch_id,
        job_queued=queued,
    )


async def _found(session: AsyncSession, platform: Platform, post_id: str) -> dict[str, Any]:
    row = await repository.get_post(session, platform.value, post_id)
    if row is None:
        raise NotFound(f"no {platform.value} post with post_id {post_id!r}")
    return row


def _public(row: dict[str, Any]) -> PostPublic:
    return PostPublic.model_validate({k: v for k, v in row.items() if k != "id"})


async def get_post(session: AsyncSession, platform: Platform, post_id: str) -> PostPublic:
    """One stored post."""
    return _public(await _found(session, platform, post_id))


async def post_history(session: AsyncSession, platform: Platform, post_id: str) -> PostHistory:
    """One stored post with its metric snapshots over time."""
    row = await _found(session, platform, post_id)
    snaps = await repository.post_history(session, row["id"])
    return PostHistory(post=_public(row), snapshots=[MetricSnapshot(**s) for s in snaps])
