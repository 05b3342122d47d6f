"""End to end under platform faults: every sandbox fault switched on, a token expiring
mid-run, Retry-After waited out for real and measured by the sandbox (see collection_rig)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from hashtag_core.platforms import Platform
from hashtag_sandbox.state import RequestRecord
from tests.helpers import AUTH
from tests.worker.collection_rig import (
    ALL_FAULTS,
    EXPIRING,
    FOUR,
    RETRY_AFTER_S,
    MakeRig,
    _check_all_collected,
    _post_id,
    _posted,
    _same_posts,
    token_ref,
)


def _waits_after_429(log: list[RequestRecord], since_s: float) -> list[tuple[str, float, float]]:
    """For each injected 429 the sandbox answered after `since_s`: its platform, the gap until
    the platform's next request arrived and the gap until the refused request came again
    (sandbox clock, from the moment the 429 was answered)."""
    records = [r for r in log if r.arrived_s >= since_s]
    waits = []
    for i, refused in enumerate(records):
        if refused.fault != "rate_limit":
            continue
        assert refused.status == 429, refused
        assert refused.answered_s is not None
        later = records[i + 1 :]
        following = next(r for r in later if r.platform == refused.platform)
        repeated = next(r for r in later if r.target == refused.target)
        waits.append(
            (
                refused.platform,
                following.arrived_s - refused.answered_s,
                repeated.arrived_s - refused.answered_s,
            )
        )
    return waits


class TestFaults:
    async def test_every_fault_switched_on_still_stores_each_post_once(
        self, make_rig: MakeRig
    ) -> None:
        faults = {**ALL_FAULTS, "error_status": 503}
        rig = await make_rig(
            posts=600,
            handles=FOUR,
            collect={"request_timeout_s": 0.5, "max_tries": 6, "backoff_base_s": 0.01},
        )
        ids = await rig.register()
        await rig.set_faults(**faults)
        await rig.collect()
        first = await rig.work()
        await rig.advance(3)
        await rig.set_faults(**(faults | {"error_status": 500}))
        await rig.collect()
        second = await rig.work()

        assert first.jobs_failed == second.jobs_failed == 0
        injected = rig.served.sandbox.faults.injected
        assert set(injected) == {"rate_limit", "error", "timeout", "malformed"}, injected
        await _check_all_collected(rig, ids)

    async def test_every_fault_with_a_token_expiring_mid_run_and_real_waits(
        self, make_rig: MakeRig
    ) -> None:
        """The issue's fault test: every switch on at once, and one account's token expiring in
        the middle of its run while the others' stay valid; five accounts on the four
        platforms collected concurrently by a real worker, sleeping every backoff and
        Retry-After for real. Then: each post stored once with the platform's metrics, every
        429 waited out (measured by the sandbox), the expired account marked and its earlier
        posts intact, and nothing lost (a re-authorised run collects exactly what was missed).
        """
        rig = await make_rig(
            posts=600,
            handles=[*FOUR, EXPIRING],  # two X accounts: the expiry must spare its neighbour
            max_posts_per_account=24,
            collect={
                "x_page_size": 5,
                "request_timeout_s": 0.5,
                "max_tries": 6,
                "backoff_base_s": 0.01,
                "backoff_max_s": 0.2,
                # One request per platform at a time: then every request the sandbox sees after
                # a 429 was sent after the worker had read that 429, so the gap the sandbox
                # measures is the wait the worker kept (not a request already on its way).
                "max_in_flight_per_platform": 1,
            },
        )
        ids = await rig.register()
        sandbox = rig.served.sandbox
        started = time.monotonic()

        # 1. The first collection of every account, every fault on (5xx = 500).
        await rig.set_faults(**ALL_FAULTS, error_status=500)
        first_from = sandbox.since_start()
        await rig.collect()
        first = await rig.work()
        first_s = time.monotonic() - started
        assert first.jobs_failed == 0
        for handle, account_id in ids.items():
            _same_posts(await rig.stored(account_id), await rig.source(handle))
        kept = await rig.stored(ids[EXPIRING])
        (kept_watermark,) = await rig.sql(
            "SELECT watermark_since_id, watermark_since_time FROM account WHERE id = :a",
            a=ids[EXPIRING],
        )

        # 2. The platforms move on (new posts, a recent post's likes grow), and again every
        # fault is on (5xx = 503), now with EXPIRING's token expiring after 2 answers.
        added = await rig.advance(4)
        for handle in ids:  # the newest post before the new ones, inside the refresh window
            newest_first = sorted((await rig.source(handle)).values(), key=_posted, reverse=True)
            grown = newest_first[len(added[handle])]
            rig.edit_source(handle, grown["post_id"], likes=(grown["likes"] or 0) + 7)
        await rig.set_faults(
            **ALL_FAULTS, error_status=503, expire_tokens_after=2, expire_handles=[EXPIRING]
        )
        second_from = sandbox.since_start()
        second_started = time.monotonic()
        job_ids = await rig.collect()
        second = await rig.work()
        second_s = time.monotonic() - second_started
        injected = dict(sandbox.faults.injected)
        log = list(sandbox.log)

        assert second.jobs_failed == 1
        assert set(injected) == {"timeout", "rate_limit", "error", "malformed", "expired_token"}
        listed = await rig.listed()
        for job_id in job_ids:
            job = await rig.job(job_id)
            if job_id.startswith(f"collect:{ids[EXPIRING]}:"):
                assert job["status"] == "failed", job
                assert "re-authorisation" in job["error"]
            else:
                assert job["status"] == "complete", job
                assert job["result"]["inserted"] == 4, job
        for handle in FOUR:  # valid tokens: everything, once, with today's metrics
            assert listed[handle]["status"] == "active", listed[handle]
            assert listed[handle]["last_error"] is None
            _same_posts(await rig.stored(ids[handle]), await rig.source(handle))
        # The expired account: marked, with the reason and the way out...
        shown = listed[EXPIRING]
        assert shown["status"] == "needs_reauth", shown
        assert "needs re-authorisation" in shown["last_error"]
        assert "rejected its access token" in shown["last_error"]
        assert f"PATCH /accounts/{shown['id']}" in shown["last_error"]
        # ...after part of its run: two pages served, then the expired answer, never retried.
        mine = [r for r in log if r.handle == EXPIRING and r.arrived_s >= second_from]
        expired_at = next(i for i, r in enumerate(mine) if r.fault == "expired_token")
        assert [r.status for r in mine[:expired_at] if r.fault is None] == [200, 200]
        assert mine[expired_at:] == [mine[expired_at]]
        assert mine[expired_at].status == 401
        # ...and what it had stored before is kept as it was: once each, watermark unmoved.
        assert sorted(await rig.stored(ids[EXPIRING]), key=_post_id) == sorted(kept, key=_post_id)
        assert shown["posts"] == len(kept)
        assert await rig.sql(
            "SELECT watermark_since_id, watermark_since_time FROM account WHERE id = :a",
            a=ids[EXPIRING],
        ) == [kept_watermark]

        # Retry-After, as the sandbox saw it: after each 429 the platform's next request (and
        # the repeat of the refused one) came at least Retry-After later.
        waits = _waits_after_429(log, first_from)
        assert {platform for platform, _, _ in waits} == {p.value for p in Platform}
        assert any(r.fault == "rate_limit" for r in log if r.arrived_s >= second_from)
        for platform, gap, retry_gap in waits:
            assert gap >= RETRY_AFTER_S, (platform, gap)
            assert retry_gap >= gap

        # 3. Faults off, the expired account given its token again: it collects exactly what it
        # missed; for the others it is a second run with nothing new.
        await rig.set_faults()
        response = await rig.client.patch(
            f"/accounts/{ids[EXPIRING]}",
            json={"token_ref": token_ref("x", EXPIRING)},
            headers=AUTH,
        )
        assert response.status_code == 200, response.text
        job_ids = await rig.collect()
        third = await rig.work()

        assert third.jobs_failed == 0
        for job_id in job_ids:
            result = (await rig.job(job_id))["result"]
            missed = len(added[EXPIRING]) if result["account_id"] == ids[EXPIRING] else 0
            assert result["status"] == "ok", result
            assert result["inserted"] == missed, result
        await _check_all_collected(rig, ids)
        newest = {handle: added[handle][-1] for handle in ids}
        watermarks = dict(await rig.sql("SELECT handle, watermark_since_id FROM account"))
        assert watermarks == newest

        total_s = time.monotonic() - started
        gaps = [gap for _, gap, _ in waits]
        logging.getLogger(__name__).warning(
            "every fault + expiring token: %d 429s (Retry-After %d s), next request after "
            "%.3f-%.3f s; first run %.1f s, second %.1f s, in all %.1f s",
            len(waits), RETRY_AFTER_S, min(gaps), max(gaps), first_s, second_s, total_s,
        )  # fmt: skip

    async def test_a_token_expiring_mid_run_marks_the_account_and_leaks_nowhere(
        self, make_rig: MakeRig, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        rig = await make_rig(posts=600, handles=FOUR, collect={"x_page_size": 5})
        ids = await rig.register()
        # X answers two pages, then 401 for the expired token.
        await rig.set_faults(platforms=["x"], expire_tokens_after=2)
        job_ids = await rig.collect()
        worker = await rig.work()

        assert worker.jobs_failed == 1
        listed = await rig.listed()
        x_account = listed["LEGOLANDWindsor"]
        assert x_account["status"] == "needs_reauth"
        assert "needs re-authorisation" in x_account["last_error"]
        assert f"PATCH /accounts/{x_account['id']}" in x_account["last_error"]
        assert x_account["posts"] == 0  # the failed run stored nothing half-way
        assert rig.served.sandbox.faults.requests["x"] > 2
        x_job = next(j for j in job_ids if j.startswith(f"collect:{x_account['id']}:"))
        job = await rig.job(x_job)
        assert job["status"] == "failed"
        assert "re-authorisation" in job["error"]
        for handle in FOUR[1:]:  # the other platforms' accounts are complete
            assert listed[handle]["status"] == "active"
            _same_posts(await rig.stored(ids[handle]), await rig.source(handle))
        tokens = [a["token"] for a in rig.accounts]
        logged = caplog.text + "".join(str(r.args) for r in caplog.records)
        assert any(r.name == "httpx" for r in caplog.records)
        assert rig.responses
        for token in tokens:
            assert token not in logged
            assert all(token not in body for body in rig.responses)


async def test_x_credits_depleted_pauses_the_account_until_the_next_day(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(posts=100, handles=FOUR, faults={"x_credits_depleted": True})
    ids = await rig.register()
    await rig.collect()
    await rig.work()
    listed = await rig.listed()
    x_handle = next(a["handle"] for a in rig.accounts if a["platform"] == Platform.X.value)
    shown = listed[x_handle]
    assert shown["status"] == "error"  # not needs_reauth: a billing state, not the token
    assert "credits are depleted" in shown["last_error"]
    assert "paused until" in shown["last_error"]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert datetime.fromisoformat(shown["next_sync_at"]).date() == tomorrow
    # The other platforms are not affected.
    others = [listed[a["handle"]] for a in rig.accounts if a["platform"] != Platform.X.value]
    assert {o["status"] for o in others} == {"active"}
    assert set(ids) == set(listed)
