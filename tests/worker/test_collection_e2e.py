"""End to end, the real collection path: the platform sandbox over HTTP on loopback -> accounts
registered and collections queued through the API -> a real arq worker collects, stores,
records followers, plans re-fetches and recomputes -> Postgres and the API show the result.

Only the platforms are stand-ins (the sandbox speaks their HTTP); Postgres, Redis, the worker
and the API are the real ones. Everything the tests commit is wiped afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from hashtag_core.aggregates import service as aggregate_service
from hashtag_core.sync.repository import SYNC_LOCK_CLASS
from hashtag_worker import jobs
from hashtag_worker.settings import WorkerSettings
from tests.helpers import AUTH
from tests.worker.collection_rig import (
    FOUR,
    MakeRig,
    _check_all_collected,
    _now,
    _platform,
    _same_posts,
)


class TestCollection:
    async def test_collect_store_recompute_then_only_new_posts(self, make_rig: MakeRig) -> None:
        rig = await make_rig(posts=260)
        ids = await rig.register()
        before = datetime.now(UTC)
        job_ids = await rig.collect()
        worker = await rig.work()
        after = datetime.now(UTC)

        assert len(job_ids) == len(ids) == 13
        assert worker.jobs_failed == 0
        for job_id in job_ids:
            job = await rig.job(job_id)
            assert job["status"] == "complete", job
            assert job["result"]["status"] == "ok"
            assert job["result"]["inserted"] == job["result"]["posts"] > 0
        await _check_all_collected(rig, ids)
        for shown in (await rig.listed()).values():
            assert before <= datetime.fromisoformat(shown["last_sync_at"]) <= after
            assert datetime.fromisoformat(shown["next_sync_at"]) > after
        # Follower snapshots: exactly one this sync read, at collection time (today's count
        # is never back-dated onto the posts' times), plus, on this first collection, the
        # daily history the platform reports (none on X) over the sandbox's 20 days.
        followers = await rig.sql(
            "SELECT a.platform, f.account_id, f.source, count(*), max(f.captured_at) "
            "FROM follower_snapshot f JOIN account a ON a.id = f.account_id "
            "GROUP BY a.platform, f.account_id, f.source"
        )
        assert {row[1] for row in followers if row[2] == "collect"} == set(ids.values())
        assert {row[3] for row in followers if row[2] == "collect"} == {1}
        backfilled = {row[1]: row for row in followers if row[2] == "backfill"}
        for row in followers:
            if row[0] == "x":
                assert row[1] not in backfilled
            elif row[2] == "collect":
                assert row[1] in backfilled, (row, followers)
                assert backfilled[row[1]][3] >= 18, row  # one a day
                assert backfilled[row[1]][4] < row[4]  # all before the collection's own
        # Re-fetches planned at each age still ahead of the post, none for past ages.
        planned = {
            (row[0], row[1])
            for row in await rig.sql(
                "SELECT p.platform_post_id, r.age_label FROM post_refresh r "
                "JOIN post p ON p.id = r.post_id WHERE r.done_at IS NULL"
            )
        }
        ages = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
        posted = {
            row[0]: row[1] for row in await rig.sql("SELECT platform_post_id, posted_at FROM post")
        }
        expected = {
            (p, a) for p, at in posted.items() for a, age in ages.items() if at + age > after
        }
        unsure = {
            (p, a)
            for p, at in posted.items()
            for a, age in ages.items()
            if before < at + age <= after
        }
        assert planned - unsure == expected
        assert any(label == "7d" for _, label in planned)
        # Collected posts carry their language, and only readable ones a sentiment score.
        languages = dict(
            await rig.sql(
                "SELECT language, count(sentiment) FROM post GROUP BY language ORDER BY 1"
            )
        )
        assert {"da", "de", "en", "ja"} <= set(languages)
        assert languages["en"] > 0
        assert languages["ja"] == languages["de"] == 0
        # A post's history shows the collection's snapshot.
        x_post = next(iter(await rig.source("LEGOLANDWindsor")))
        history = await rig.get(f"/posts/x/{x_post}/history")
        assert [s["source"] for s in history["snapshots"]] == ["collect"]
        # The recompute ran: figures over the collected posts.
        page = await rig.get("/hashtag-performance", window="all", min_posts=1)
        assert page["items"]
        assert page["pending_version"] is None

        # The platform moves on: two new posts per account, one recent post gains likes, and
        # an old one too (outside the refresh window, so it is not re-read).
        added = await rig.advance(2)
        recent = max(posted, key=lambda p: posted[p])
        old = min(posted, key=lambda p: posted[p])
        owners = {p: a["handle"] for a in rig.accounts for p in (await rig.source(a["handle"]))}
        old_likes = (await rig.source(owners[old]))[old]["likes"]
        recent_likes = (await rig.source(owners[recent]))[recent]["likes"]
        rig.edit_source(owners[recent], recent, likes=recent_likes + 5)
        rig.edit_source(owners[old], old, likes=old_likes + 5)
        job_ids = await rig.collect()
        worker = await rig.work()

        assert worker.jobs_failed == 0
        for job_id in job_ids:
            result = (await rig.job(job_id))["result"]
            assert result["inserted"] == 2, result  # only what is new since the watermark
        stored_likes: dict[str, int] = dict(
            await rig.sql("SELECT platform_post_id, likes FROM post")
        )
        assert stored_likes[recent] == recent_likes + 5
        assert stored_likes[old] == old_likes  # not re-read: older than the refresh window
        for new_ids in added.values():
            assert set(new_ids) <= set(stored_likes)
        history = await rig.get(f"/posts/{_platform(rig, owners[recent])}/{recent}/history")
        assert [s["source"] for s in history["snapshots"]] == ["collect", "collect"]
        assert history["snapshots"][-1]["likes"] == recent_likes + 5
        rig.edit_source(owners[old], old, likes=old_likes)  # the source as stored, for the check
        await _check_all_collected(rig, ids)
        watermarks = await rig.sql("SELECT handle, watermark_since_id FROM account")
        assert dict(watermarks) == {h: new[-1] for h, new in added.items()}

        # Nothing new on the platforms, only the recent post's likes moved: every run re-reads
        # stored posts only, so the figures are brought up to date by the incremental pass
        # over those posts' hashtags, and they equal what a full pass computes.
        tagged = {
            r[0]
            for r in await rig.sql(
                "SELECT DISTINCT p.platform_post_id FROM post p JOIN post_hashtag ph "
                "ON ph.post_id = p.id"
            )
        }
        posted = dict(await rig.sql("SELECT platform_post_id, posted_at FROM post"))
        recent = max(tagged, key=lambda p: posted[p])
        owners = {p: a["handle"] for a in rig.accounts for p in (await rig.source(a["handle"]))}
        likes = (await rig.source(owners[recent]))[recent]["likes"]
        rig.edit_source(owners[recent], recent, likes=likes + 12)
        job_ids = await rig.collect()
        worker = await rig.work()
        assert worker.jobs_failed == 0
        recomputes = set()
        for job_id in job_ids:
            result = (await rig.job(job_id))["result"]
            assert result["inserted"] == 0, result
            if result["job_id"]:
                recomputes.add(result["job_id"])
        assert recomputes
        statuses = {(await rig.job(r))["result"]["status"] for r in recomputes}
        assert "incremental" in statuses
        assert statuses <= {"incremental", "up_to_date", "coalesced"}, statuses
        tags = [
            r[0]
            for r in await rig.sql(
                "SELECT h.key FROM post_hashtag ph JOIN post p ON p.id = ph.post_id "
                "JOIN hashtag h ON h.id = ph.hashtag_id WHERE p.platform_post_id = :id",
                id=recent,
            )
        ]
        assert tags, "the edited post carries hashtags"

        async def figures() -> dict[str, tuple[int, float]]:
            page = await rig.get("/hashtag-performance", window="all", limit=200, min_posts=1)
            assert page["pending_version"] is None
            return {
                i["key"]: (i["posts"], i["avg_engagement"])
                for i in page["items"]
                if i["key"] in tags
            }

        incremental = await figures()
        assert set(incremental) == set(tags)
        await aggregate_service.recompute(rig.engine, force=True)
        full = await figures()
        assert incremental.keys() == full.keys()
        for key, (posts, avg) in full.items():
            assert incremental[key][0] == posts
            assert incremental[key][1] == pytest.approx(avg, rel=1e-12)


class TestRefetch:
    async def test_due_refreshes_and_a_requested_refetch_read_the_platform_again(
        self, make_rig: MakeRig
    ) -> None:
        rig = await make_rig(posts=300, handles=FOUR)
        fresh = await rig.advance(1, at=(_now() - timedelta(minutes=10)).isoformat())
        await rig.register()
        await rig.collect()
        await rig.work()
        fresh_ids = [ids[0] for ids in fresh.values()]
        planned = await rig.sql(
            "SELECT p.platform_post_id, r.age_label FROM post_refresh r "
            "JOIN post p ON p.id = r.post_id WHERE p.platform_post_id = ANY(:ids)",
            ids=fresh_ids,
        )
        assert sorted(planned) == sorted((p, a) for p in fresh_ids for a in ("1h", "24h", "7d"))

        # An hour has passed (in the schedule) and engagement grew on the platform.
        for handle, (post_id,) in fresh.items():
            likes = (await rig.source(handle))[post_id]["likes"]
            rig.edit_source(handle, post_id, likes=likes + 11)
        await rig.sql(
            "UPDATE post_refresh r SET due_at = now() - interval '1 second' FROM post p "
            "WHERE p.id = r.post_id AND r.age_label = '1h' AND p.platform_post_id = ANY(:ids)",
            ids=fresh_ids,
        )
        ctx: dict[str, Any] = {"settings": rig.settings, "redis": rig.redis}
        await WorkerSettings.on_startup(ctx)
        try:
            assert await jobs.refresh_due(ctx) == {"queued": 4}
        finally:
            await WorkerSettings.on_shutdown(ctx)
        worker = await rig.work()

        assert worker.jobs_failed == 0
        for handle, (post_id,) in fresh.items():
            platform = _platform(rig, handle)
            history = await rig.get(f"/posts/{platform}/{post_id}/history")
            assert [s["source"] for s in history["snapshots"]] == ["collect", "collect"]
            assert history["post"]["likes"] == (await rig.source(handle))[post_id]["likes"]
        done = await rig.sql(
            "SELECT r.age_label, r.done_at IS NOT NULL, r.attempts, r.last_error "
            "FROM post_refresh r JOIN post p ON p.id = r.post_id "
            "WHERE p.platform_post_id = ANY(:ids) AND r.age_label = '1h'",
            ids=fresh_ids,
        )
        assert [tuple(r) for r in done] == [("1h", True, 1, None)] * 4

        # Asked for through the API: POST /update-post with refetch.
        handle = "legolandwindsor"
        post_id = sorted(await rig.source(handle))[3]
        comments = (await rig.source(handle))[post_id]["comments"]
        rig.edit_source(handle, post_id, comments=comments + 3)
        response = await rig.client.post(
            "/update-post",
            json={"platform": "instagram", "post_id": post_id, "refetch": True},
            headers=AUTH,
        )
        assert response.status_code == 202, response.text
        refetch_id = response.json()["refetch_job_id"]
        await rig.work()

        job = await rig.job(refetch_id)
        assert job["status"] == "complete", job
        assert job["result"]["changed"] == ["comments"]
        post = await rig.get(f"/posts/instagram/{post_id}")
        assert post["comments"] == comments + 3
        # A re-fetch changes one post's metrics: its recompute is the incremental pass over
        # that post's hashtags, not a full rebuild.
        recompute = await rig.job(job["result"]["job_id"])
        assert recompute["status"] == "complete", recompute
        assert recompute["result"]["status"] == "incremental", recompute


class TestSchedule:
    async def test_collect_due_picks_due_accounts_only(self, make_rig: MakeRig) -> None:
        rig = await make_rig(posts=60, handles=[*FOUR, "LEGOLAND_CA"])
        ids = await rig.register()
        due, never, paused, reauth, running = (ids[h] for h in [*FOUR, "LEGOLAND_CA"])
        response = await rig.client.patch(
            f"/accounts/{paused}", json={"paused": True}, headers=AUTH
        )
        assert response.status_code == 200
        past = _now() - timedelta(minutes=1)
        await rig.sql(
            "UPDATE account SET next_sync_at = :past WHERE id = ANY(:ids)",
            past=past,
            ids=[due, paused, reauth],
        )
        await rig.sql("UPDATE account SET status = 'needs_reauth' WHERE id = :id", id=reauth)
        # Another account, synced a moment ago: not due before its interval has passed.
        await rig.sql(
            "INSERT INTO account (platform, external_id, handle, timezone, token_ref, "
            "collect_enabled, next_sync_at) "
            "VALUES ('x', '42', 'later', 'UTC', 'sandbox-x-legolandwindsor', true, :at)",
            at=_now() + timedelta(minutes=30),
        )

        ctx: dict[str, Any] = {"settings": rig.settings, "redis": rig.redis}
        await WorkerSettings.on_startup(ctx)
        try:
            # A first collection of `running` is under way (it holds the account's sync lock).
            async with rig.engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:c, :a)"),
                    {"c": SYNC_LOCK_CLASS, "a": running},
                )
                outcome = await jobs.collect_due(ctx)
        finally:
            await WorkerSettings.on_shutdown(ctx)

        assert outcome["due"] == 2
        assert sorted(outcome["queued"]) == sorted([due, never])
        queued = await rig.redis.queued_jobs()
        assert sorted(j.args[0] for j in queued) == sorted([due, never])
        assert {j.function for j in queued} == {"collect_account"}
        await rig.work()
        listed = {a["id"]: a for a in (await rig.get("/accounts"))["items"]}
        assert listed[due]["last_sync_at"]
        assert listed[never]["last_sync_at"]
        assert listed[paused]["last_sync_at"] is None
        assert listed[paused]["status"] == "paused"
        assert listed[reauth]["last_sync_at"] is None
        assert listed[reauth]["status"] == "needs_reauth"
        assert listed[running]["last_sync_at"] is None  # left to the collection under way

    async def test_two_collections_of_one_account_at_once_run_once(self, make_rig: MakeRig) -> None:
        rig = await make_rig(posts=300, handles=FOUR[:1])
        (account_id,) = (await rig.register()).values()
        await rig.set_faults(latency_ms=100)  # long enough for both jobs to start together
        first = await rig.collect(account_id)
        second = await rig.collect(account_id)  # say the schedule and POST /collect
        worker = await rig.work()

        assert worker.jobs_failed == 0
        results = [(await rig.job(j))["result"] for j in first + second]
        assert sorted(r["status"] for r in results) == [
            "ok",
            "skipped (another collection of it is running)",
        ]
        # A collection that started after this one was queued (as recorded) made it redundant.
        queued_before = await rig.collect(account_id)
        await rig.sql("UPDATE account SET last_sync_at = now() + interval '1 second'")
        await rig.work()
        result = (await rig.job(queued_before[0]))["result"]
        assert result["status"] == "skipped (collected since it was queued)"
        _same_posts(await rig.stored(account_id), await rig.source(FOUR[0]))


class TestEdits:
    async def test_an_edited_x_post_stays_one_post(self, make_rig: MakeRig) -> None:
        rig = await make_rig(posts=200, handles=FOUR)
        await rig.register()
        await rig.collect()
        assert (await rig.work()).jobs_failed == 0
        x_handle = next(a["handle"] for a in rig.accounts if a["platform"] == "x")
        source = await rig.source(x_handle)
        old = max(source, key=lambda p: source[p]["posted_at"])
        ((pk, posted_at),) = await rig.sql(
            "SELECT id, posted_at FROM post WHERE platform_post_id = :p", p=old
        )

        edited = await rig.served.admin.post(
            "/_sandbox/edit", json={"post_id": old, "text": "Fixed a typo #LEGOLAND #EditedTag"}
        )
        new = edited.json()["post_id"]
        await rig.collect()
        assert (await rig.work()).jobs_failed == 0

        rows = await rig.sql(
            "SELECT id, platform_post_id, text, posted_at FROM post "
            "WHERE platform_post_id IN (:old, :new)",
            old=old,
            new=new,
        )
        assert [tuple(r) for r in rows] == [
            (pk, new, "Fixed a typo #LEGOLAND #EditedTag", posted_at)
        ]
        tags = await rig.sql(
            "SELECT h.key FROM post_hashtag l JOIN hashtag h ON h.id = l.hashtag_id "
            "WHERE l.post_id = :pk ORDER BY 1",
            pk=pk,
        )
        assert [t[0] for t in tags] == ["editedtag", "legoland"]
        history = await rig.get(f"/posts/x/{new}/history")
        assert len(history["snapshots"]) == 2  # the first version's snapshot moved with it
