"""End to end, a worker process killed (SIGKILL) or stopped (SIGTERM) in the middle of a
collection: the collection is recovered or re-queued and completes without duplicates."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from arq.constants import in_progress_key_prefix
from sqlalchemy import text

from hashtag_core.sync.repository import SYNC_LOCK_CLASS
from hashtag_worker import jobs
from hashtag_worker.settings import WorkerSettings
from tests.worker.collection_rig import (
    FOUR,
    MakeRig,
    _same_posts,
    _stop,
    _thirty_new_posts_queued,
    _until_job_ends,
    _until_x_requests,
    _worker_process,
)


class TestKill:
    async def test_a_killed_collection_is_recovered_by_the_next_worker(
        self, make_rig: MakeRig, database_url: str, tmp_path: Path
    ) -> None:
        # 400 ms a page: time to kill it between pages 3 and 6
        rig, ids, watermark, added, killed = await _thirty_new_posts_queued(make_rig, 400)

        log = tmp_path / "worker.log"
        proc = _worker_process(rig, database_url, tmp_path, log)
        try:
            await _until_x_requests(rig, proc, log, 3)
            proc.send_signal(signal.SIGKILL)  # in the middle of paging through the new posts
        finally:
            await _stop(proc, signal.SIGKILL)
        killed_at = time.monotonic()
        assert proc.returncode == -signal.SIGKILL
        assert rig.served.sandbox.faults.requests["x"] < 6  # the run needed 6 pages
        assert (await rig.listed())["LEGOLANDWindsor"]["posts"] == 40
        assert await rig.sql("SELECT watermark_since_id FROM account") == [watermark]
        # arq keeps the dead run marked in progress (for an hour) and refuses its id.
        assert (await rig.job(killed))["status"] == "running"

        # A new worker (say the supervisor restarted it): nothing done by hand.
        await rig.set_faults()
        recovered = jobs.recovery_job_id(killed)
        log2 = tmp_path / "worker2.log"
        started = time.monotonic()
        proc = _worker_process(rig, database_url, tmp_path, log2)
        try:
            # at startup, else at the next minute's look
            job = await _until_job_ends(rig, proc, log2, recovered, started + 90)
            done = time.monotonic()
        finally:
            await _stop(proc, signal.SIGTERM)
        logging.getLogger(__name__).warning(
            "killed collection completed %.1f s after the new worker started (%.1f s after "
            "the kill)",
            done - started,
            done - killed_at,
        )
        assert job["status"] == "complete", job
        assert "lost its worker; queued " + recovered in log2.read_text()
        result = job["result"]
        assert result["status"] == "ok"
        assert result["inserted"] == 30
        assert result["pages"] == 6  # the 30 posts after the watermark's id, not all 70
        _same_posts(await rig.stored(ids["LEGOLANDWindsor"]), await rig.source("LEGOLANDWindsor"))
        assert await rig.sql("SELECT watermark_since_id FROM account") == [
            (added["LEGOLANDWindsor"][-1],)
        ]
        assert (await rig.listed())["LEGOLANDWindsor"]["posts"] == 70
        # The dead run keeps arq's mark until it expires (an hour); arq then runs it as its
        # second and last try (max_tries=2), which skips the account, collected since.
        assert (await rig.job(killed))["status"] == "running"

    async def test_a_collection_outlasting_the_shutdown_grace_is_requeued_and_completed(
        self, make_rig: MakeRig, database_url: str, tmp_path: Path
    ) -> None:
        """SIGTERM while a collection runs longer than `worker_shutdown_grace_s`: the worker
        stops taking jobs, waits the grace, cancels the collection (which stores nothing
        half-way), re-queues it under the same id and exits 0; the next worker runs it again
        (arq's second try, max_tries=2) from the watermark, with no post duplicated."""
        grace = 1
        # 6 pages at 700 ms: ~4 s, well over the 1 s grace once the signal comes at page 2.
        rig, ids, watermark, added, job_id = await _thirty_new_posts_queued(
            make_rig, 700, worker_shutdown_grace_s=grace
        )

        log = tmp_path / "worker.log"
        proc = _worker_process(rig, database_url, tmp_path, log)
        try:
            await _until_x_requests(rig, proc, log, 2)
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            while proc.poll() is None:
                assert time.monotonic() < signalled + 120, log.read_text()  # a hang, not speed
                await asyncio.sleep(0.05)
            exited = time.monotonic()
        finally:
            await _stop(proc, signal.SIGKILL)
        output = log.read_text()
        assert proc.returncode == 0, output
        # The worker waited out the grace before cancelling (a lower bound: a slow machine only
        # makes the gap longer; how much longer is not this test's business).
        assert exited - signalled >= grace, output
        assert "cancelled, will be run again" in output
        assert rig.served.sandbox.faults.requests["x"] < 6  # it did not finish its 6 pages
        # Nothing stored half-way; the job waits in the queue (not marked in progress).
        assert (await rig.listed())["LEGOLANDWindsor"]["posts"] == 40
        assert await rig.sql("SELECT watermark_since_id FROM account") == [watermark]
        assert (await rig.job(job_id))["status"] == "queued"

        await rig.set_faults()
        log2 = tmp_path / "worker2.log"
        started = time.monotonic()
        proc = _worker_process(rig, database_url, tmp_path, log2)
        try:
            job = await _until_job_ends(rig, proc, log2, job_id, started + 90)
        finally:
            await _stop(proc, signal.SIGTERM)
        logging.getLogger(__name__).warning(
            "SIGTERM mid-collection: worker exited %.1f s after the signal (grace %d s); "
            "the re-queued collection completed on the next worker",
            exited - signalled,
            grace,
        )
        assert job["status"] == "complete", job
        assert job["result"]["status"] == "ok"
        assert job["result"]["inserted"] == 30
        assert job["result"]["pages"] == 6
        _same_posts(await rig.stored(ids["LEGOLANDWindsor"]), await rig.source("LEGOLANDWindsor"))
        assert await rig.sql("SELECT watermark_since_id FROM account") == [
            (added["LEGOLANDWindsor"][-1],)
        ]
        assert (await rig.listed())["LEGOLANDWindsor"]["posts"] == 70
        assert "lost its worker" not in log2.read_text()  # a plain re-run, not a recovery

    async def test_a_live_collection_is_not_taken_for_a_dead_one(
        self, make_rig: MakeRig, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(jobs, "COLLECT_ORPHAN_RECHECK_S", 0.2)
        rig = await make_rig(posts=60, handles=FOUR[:2])
        ids = await rig.register()
        live, dead = ids[FOUR[0]], ids[FOUR[1]]
        live_job, dead_job = [(await rig.collect(a))[0] for a in (live, dead)]
        # Both taken by a worker (arq's in-progress mark); only the live one's worker is
        # collecting (it holds its account's sync lock).
        for job_id in (live_job, dead_job):
            await rig.redis.psetex(in_progress_key_prefix + job_id, 60_000, b"1")
        queued_before = {j.job_id for j in await rig.redis.queued_jobs()}

        ctx: dict[str, Any] = {"settings": rig.settings, "redis": rig.redis}
        await WorkerSettings.on_startup(ctx)
        try:
            async with rig.engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:c, :a)"), {"c": SYNC_LOCK_CLASS, "a": live}
                )
                first = await jobs.recover_collections(ctx)
                again = await jobs.recover_collections(ctx)  # recovered already
            # The live run's worker dies too: its lock goes with its connection.
            third = await jobs.recover_collections(ctx)
        finally:
            await WorkerSettings.on_shutdown(ctx)

        assert first == {"orphaned": [dead_job], "queued": [jobs.recovery_job_id(dead_job)]}
        assert again == {"orphaned": [], "queued": []}
        assert third == {"orphaned": [live_job], "queued": [jobs.recovery_job_id(live_job)]}
        queued = {j.job_id: j for j in await rig.redis.queued_jobs()}
        assert set(queued) - queued_before == {
            jobs.recovery_job_id(dead_job),
            jobs.recovery_job_id(live_job),
        }
        assert queued[jobs.recovery_job_id(dead_job)].args == (dead,)
        assert queued[jobs.recovery_job_id(dead_job)].function == "collect_account"
