"""The import's batch preparer (`posts.service._Preparer`) without a database: batches come in
input order, the first in a thread and the rest in one forked worker process, and a worker that
dies is not forked again: the rest of the import is prepared in threads."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hashtag_core.ingest.parsers import RawRow
from hashtag_core.posts import service

_PARENT = os.getpid()
_PREPARE = service._prepare


def _prepare_or_die_in_a_worker(raws: list[RawRow]) -> Any:
    # Module-level, so that the pool can send it to its (forked) worker by name.
    if os.getpid() != _PARENT:
        os._exit(1)
    return _PREPARE(raws)


def _rows(n: int) -> Iterator[RawRow]:
    return iter(
        [
            RawRow(
                i,
                {
                    "platform": "x",
                    "post_id": str(i),
                    "account": "acct",
                    "text": f"post {i} #tag{i}",
                    "posted_at": "2025-06-07T10:15:00Z",
                },
            )
            for i in range(1, n + 1)
        ]
    )


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The worker pools the preparer starts, counted (and no language model loaded first)."""
    started: list[object] = []
    real = service.ProcessPoolExecutor

    def counting(*args: Any, **kwargs: Any) -> Any:
        pool = real(*args, **kwargs)
        started.append(pool)
        return pool

    monkeypatch.setattr(service, "ProcessPoolExecutor", counting)
    monkeypatch.setattr(service, "preload_language_model", lambda: None)
    return started


async def test_a_worker_process_that_dies_is_not_forked_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, pools: list[object]
) -> None:
    monkeypatch.setattr(service, "_prepare", _prepare_or_die_in_a_worker)
    preparer = service._Preparer()
    if not preparer._fork:
        pytest.skip("no fork on this platform")
    rows = _rows(8)
    caplog.set_level(logging.WARNING, logger=service.__name__)
    try:
        batches = [await preparer.next(rows, 3) for _ in range(4)]
    finally:
        preparer.close()
    assert [(b.read, b.errors) for b in batches] == [(3, []), (3, []), (2, []), (0, [])]
    assert [b.rows is not None for b in batches] == [True, True, True, False]
    assert len(pools) == 1  # forked once (for the second batch), never again after it died
    died = [r for r in caplog.records if "worker process died" in r.getMessage()]
    assert len(died) == 1


async def test_batches_after_the_first_are_prepared_in_one_worker_process(
    pools: list[object], caplog: pytest.LogCaptureFixture
) -> None:
    preparer = service._Preparer()
    if not preparer._fork:
        pytest.skip("no fork on this platform")
    rows = _rows(7)
    caplog.set_level(logging.WARNING, logger=service.__name__)
    try:
        batches = [await preparer.next(rows, 2) for _ in range(5)]
    finally:
        preparer.close()
    assert [(b.read, b.errors) for b in batches] == [(2, []), (2, []), (2, []), (1, []), (0, [])]
    assert len(pools) == 1
    # The worker started and prepared them: had it failed to start (its signal set-up, say),
    # the batches would still come, from threads, after this warning.
    assert not [r for r in caplog.records if "worker process died" in r.getMessage()]


async def test_an_import_of_one_batch_forks_no_worker_process(pools: list[object]) -> None:
    # Forking (and loading the language model first) pays off only for the batches after the
    # first; a short import, one batch and the empty read that ends it, stays in threads.
    preparer = service._Preparer()
    if not preparer._fork:
        pytest.skip("no fork on this platform")
    rows = _rows(3)
    try:
        batches = [await preparer.next(rows, 5) for _ in range(2)]
    finally:
        preparer.close()
    assert [(b.read, b.errors) for b in batches] == [(3, []), (0, [])]
    assert pools == []


async def test_a_failed_batch_is_the_error_raised_not_the_read_ahead_behind_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Storing batch 1 fails while batch 2 is being read, and that read fails too: the import
    # raises the store's error (the one that matters), and waits for the read ahead to end.
    store_failed = threading.Event()
    read_ended = threading.Event()

    def rows() -> Iterator[RawRow]:
        try:
            yield from _rows(2)
            store_failed.wait(60)
            time.sleep(0.2)  # a slow read: the import must still wait for it to end
            raise ValueError("the read ahead failed as well")
        finally:
            read_ended.set()

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        store_failed.set()
        raise RuntimeError("the database refused the batch")

    monkeypatch.setattr(service.repository, "upsert_staged", refuse)
    with pytest.raises(RuntimeError, match="refused the batch"):
        await service._store_all(
            None,  # type: ignore[arg-type]  # never reached: the store is replaced
            rows(),
            batch_rows=2,
            max_errors=10,
            source="import",
            progress=None,
        )
    assert store_failed.is_set()
    # Nothing of the import runs on after it returned: the read ahead had ended.
    assert read_ended.is_set()


class _LostRace(Exception):
    """What asyncpg raises for a deadlock (SQLSTATE 40P01)."""

    sqlstate = "40P01"


class _Session:
    def __init__(self) -> None:
        self.rollbacks = 0
        self.commits = 0

    async def rollback(self) -> None:
        self.rollbacks += 1

    async def commit(self) -> None:
        self.commits += 1


@pytest.mark.parametrize(
    ("error", "rereadable", "attempts"),
    [
        (_LostRace, True, 5),  # docs/deployment.md: "re-run (up to 5 times)"
        (_LostRace, False, 1),  # the input was read once and cannot be read again
        (RuntimeError, True, 1),  # not a lost race: running it again would fail again
    ],
)
async def test_an_import_losing_lock_races_is_run_up_to_5_times(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception], rereadable: bool, attempts: int
) -> None:
    runs = 0

    async def store_all(session: Any, rows: Iterator[RawRow], **kwargs: Any) -> Any:
        nonlocal runs
        runs += 1
        assert list(rows) == []
        raise error("rolled back")

    monkeypatch.setattr(service, "_store_all", store_all)
    monkeypatch.setattr(service, "_RETRY_PAUSE_S", 0.0)
    session = _Session()
    rows: Any = (lambda: iter([])) if rereadable else iter([])
    with pytest.raises(error):
        await service.import_rows(
            session,  # type: ignore[arg-type]
            rows,
            queue=None,  # type: ignore[arg-type]  # never reached
            batch_rows=2,
            max_errors=10,
        )
    assert (runs, session.rollbacks, session.commits) == (attempts, attempts, 0)
