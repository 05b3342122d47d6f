"""End to end, the real collection path: the platform sandbox over HTTP on loopback -> accounts
registered and collections queued through the API -> a real arq worker collects, stores,
records followers, plans re-fetches and recomputes -> Postgres and the API show the result.

Only the platforms are stand-ins (the sandbox speaks their HTTP); Postgres, Redis, the worker
and the API are the real ones. Everything the tests commit is wiped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.main import create_app
from hashtag_core.aggregates import service as aggregate_service
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.embedded import EmbeddedServices
from hashtag_core.platforms import Platform
from hashtag_core.sync.repository import SYNC_LOCK_CLASS
from hashtag_sandbox import SandboxConfig
from hashtag_sandbox.state import RequestRecord
from hashtag_worker import jobs
from hashtag_worker.settings import WorkerSettings, functions
from tests.helpers import AUTH, wipe
from tests.sandbox import Served, serve

pytestmark = pytest.mark.e2e

METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach")
#: Small pages, so every collection pages through its account several times.
PAGES = {
    "x_page_size": 10,
    "instagram_page_size": 8,
    "facebook_page_size": 8,
    "linkedin_page_size": 4,
}
#: One account per platform.
FOUR = ["LEGOLANDWindsor", "legolandwindsor", "LEGOLANDBillundResort", "legoland-windsor-resort"]
#: A second X account, whose token expires in the fault test.
EXPIRING = "LEGOLAND_CA"
RETRY_AFTER_S = 1
#: Every fault switch of the sandbox at once (the 5xx status is chosen per run).
ALL_FAULTS = {
    "rate_limit_every": 6,
    "retry_after_s": RETRY_AFTER_S,
    "error_every": 7,
    "timeout_every": 17,
    "timeout_hold_s": 1.0,
    "malformed_every": 9,
    "slow_every": 5,
    "slow_ms": 40,
    "duplicate_across_pages": True,
}


def token_ref(platform: str, handle: str) -> str:
    return f"sandbox-{platform}-{handle}".lower()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Rig:
    """A sandbox, the API configured to collect from it, and a way to run the worker."""

    served: Served
    settings: Settings
    client: httpx.AsyncClient
    engine: AsyncEngine
    redis: ArqRedis
    responses: list[str] = field(default_factory=list)  # every API response body
    _last_slot: int = 0

    @property
    def accounts(self) -> list[dict[str, Any]]:
        """The sandbox's accounts (with their tokens), as GET /_sandbox/state lists them."""
        return [
            {
                "platform": a.platform.value,
                "handle": a.handle,
                "external_id": a.external_id,
                "timezone": a.timezone,
                "token": a.token,
                "followers": a.followers,
            }
            for a in self.served.sandbox.data.accounts
        ]

    async def register(self) -> dict[str, int]:
        """Register every sandbox account through the API; handle -> account id."""
        ids = {}
        for account in self.accounts:
            body = {k: account[k] for k in ("platform", "external_id", "handle", "timezone")}
            response = await self.client.post(
                "/accounts",
                json=body | {"token_ref": token_ref(account["platform"], account["handle"])},
                headers=AUTH,
            )
            assert response.status_code == 201, response.text
            ids[account["handle"]] = response.json()["id"]
        return ids

    async def collect(self, account_id: int | None = None) -> list[str]:
        """POST /collect in a new second (job ids are per account and second)."""
        while int(time.time()) <= self._last_slot:
            await asyncio.sleep(0.05)
        self._last_slot = int(time.time())
        response = await self.client.post("/collect", json={"account_id": account_id}, headers=AUTH)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["job_queued"] is True
        job_ids: list[str] = body["job_ids"]
        return job_ids

    async def work(self) -> Worker:
        """A real arq worker in burst mode with these settings, until the queue is empty."""
        assert self.settings.redis_url
        pool = await create_pool(RedisSettings.from_dsn(self.settings.redis_url))
        worker = Worker(
            functions=functions(),
            redis_pool=pool,
            burst=True,
            poll_delay=0,
            ctx={"settings": self.settings},
            on_startup=WorkerSettings.on_startup,
            on_shutdown=WorkerSettings.on_shutdown,
            max_jobs=4,
            handle_signals=False,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def job(self, job_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.get(f"/jobs/{job_id}")
        return found

    async def listed(self) -> dict[str, dict[str, Any]]:
        """GET /accounts by handle."""
        return {a["handle"]: a for a in await self.get("/accounts")}

    async def source(self, handle: str) -> dict[str, dict[str, Any]]:
        """The sandbox's records of an account (GET /_sandbox/posts), by post id."""
        response = await self.served.admin.get("/_sandbox/posts", params={"handle": handle})
        assert response.status_code == 200, response.text
        return {p["post_id"]: p for p in response.json()["posts"]}

    async def stored(self, account_id: int) -> list[dict[str, Any]]:
        """The account's posts in Postgres."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    f"SELECT platform_post_id, text, posted_at, {', '.join(METRICS)} "
                    "FROM post WHERE account_id = :a"
                ),
                {"a": account_id},
            )
            return [dict(r._mapping) for r in rows]

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.engine.begin() as conn:
            result = await conn.execute(text(query), params)
            return list(result.all()) if result.returns_rows else []

    async def set_faults(self, **faults: Any) -> None:
        response = await self.served.admin.post("/_sandbox/faults", json=faults)
        assert response.status_code == 200, response.text

    async def advance(self, posts: int, **body: Any) -> dict[str, list[str]]:
        response = await self.served.admin.post("/_sandbox/advance", json={"posts": posts, **body})
        assert response.status_code == 200, response.text
        added: dict[str, list[str]] = response.json()["added"]
        return added

    def edit_source(self, handle: str, post_id: str, **metrics: int) -> None:
        """Change a post's metrics on the platform (as engagement grows)."""
        account = next(a for a in self.served.sandbox.data.accounts if a.handle == handle)
        account.posts[account.index[post_id]].record.update(metrics)


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str, services: EmbeddedServices
) -> AsyncIterator[MakeRig]:
    """`await make_rig(collect={...}, settings={...}, **sandbox_config)`."""
    await arq_redis.flushdb()
    async with AsyncExitStack() as stack:

        async def factory(
            collect: dict[str, Any] | None = None,
            settings: dict[str, Any] | None = None,
            **config: Any,
        ) -> Rig:
            config = {"end": _now() - timedelta(hours=2), "days": 20, **config}
            served = await stack.enter_async_context(serve(SandboxConfig.model_validate(config)))
            tokens = {
                token_ref(a.platform.value, a.handle): a.token for a in served.sandbox.data.accounts
            }
            options = {
                "database_url": database_url,
                "redis_url": services.redis_url,
                "api_keys": AUTH["Authorization"].removeprefix("Bearer "),
                "platform_tokens": tokens,
                "collect": served.settings(**(PAGES | (collect or {}))),
                "collect_cron_minutes": 0,
                **(settings or {}),
            }
            app = create_app(Settings.model_validate(options))
            app.state.engine, app.state.arq = engine, arq_redis
            app.state.sessionmaker = create_sessionmaker(engine)
            rig_responses: list[str] = []

            async def keep(response: httpx.Response) -> None:
                rig_responses.append((await response.aread()).decode())

            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://t",
                    event_hooks={"response": [keep]},
                )
            )
            return Rig(
                served, app.state.settings, client, engine, arq_redis, responses=rig_responses
            )

        try:
            yield factory
        finally:
            await wipe(engine)
            await arq_redis.flushdb()


def _same_posts(stored: list[dict[str, Any]], source: dict[str, dict[str, Any]]) -> None:
    """Every source post stored exactly once, with the platform's text, time and metrics."""
    ids = [row["platform_post_id"] for row in stored]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(source)
    for row in stored:
        record = source[row["platform_post_id"]]
        assert row["text"] == record["text"]
        assert row["posted_at"] == datetime.fromisoformat(record["posted_at"])
        # None stays None: what a platform does not report is unknown, not zero.
        assert {m: row[m] for m in METRICS} == {m: record[m] for m in METRICS}, row


async def _check_all_collected(rig: Rig, ids: dict[str, int]) -> None:
    listed = await rig.listed()
    for account in rig.accounts:
        handle = account["handle"]
        source = await rig.source(handle)
        _same_posts(await rig.stored(ids[handle]), source)
        shown = listed[handle]
        assert shown["status"] == "active", shown
        assert shown["last_error"] is None
        assert shown["posts"] == len(source)
        assert shown["followers"] == account["followers"]


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
        # Follower snapshots: exactly the one this sync read, at collection time; today's
        # count is never back-dated onto the posts' times.
        followers = await rig.sql(
            "SELECT account_id, count(*) FROM follower_snapshot GROUP BY account_id"
        )
        assert {row[0] for row in followers} == set(ids.values())
        assert {row[1] for row in followers} == {1}
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


def _post_id(row: dict[str, Any]) -> str:
    return str(row["platform_post_id"])


def _posted(record: dict[str, Any]) -> str:
    return str(record["posted_at"])


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


def _platform(rig: Rig, handle: str) -> str:
    return str(next(a["platform"] for a in rig.accounts if a["handle"] == handle))


class TestFaults:
    async def test_every_fault_switched_on_still_stores_each_post_once(
        self, make_rig: MakeRig
    ) -> None:
        faults = {
            "rate_limit_every": 6,
            "retry_after_s": 1,
            "error_every": 7,
            "error_status": 503,
            "timeout_every": 17,
            "timeout_hold_s": 1.0,
            "malformed_every": 9,
            "slow_every": 5,
            "slow_ms": 40,
            "duplicate_across_pages": True,
        }
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
                assert time.monotonic() < signalled + 30, log.read_text()
                await asyncio.sleep(0.05)
            exited = time.monotonic()
        finally:
            await _stop(proc, signal.SIGKILL)
        output = log.read_text()
        assert proc.returncode == 0, output
        assert grace <= exited - signalled < grace + 10, output
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


async def _thirty_new_posts_queued(
    make_rig: MakeRig, latency_ms: int, **settings: Any
) -> tuple[Rig, dict[str, int], tuple[Any, ...], dict[str, list[str]], str]:
    """One X account collected (40 posts), then 30 new posts (6 pages of 5) behind a sandbox
    slowed to `latency_ms` a request, and their collection queued: (rig, ids, the watermark
    row, the new post ids, the job id)."""
    rig = await make_rig(
        posts=600,
        handles=["LEGOLANDWindsor"],
        max_posts_per_account=40,
        collect={"x_page_size": 5},
        # refresh window 0: only posts new since the watermark are fetched
        settings={"refresh_window_days": 0, **settings},
    )
    ids = await rig.register()
    await rig.collect()
    await rig.work()
    (watermark,) = await rig.sql("SELECT watermark_since_id FROM account")
    added = await rig.advance(30)
    await rig.set_faults(latency_ms=latency_ms)
    (job_id,) = await rig.collect()
    return rig, ids, watermark, added, job_id


async def _until_x_requests(rig: Rig, proc: subprocess.Popen[bytes], log: Path, count: int) -> None:
    """Wait until the sandbox has served `count` X requests to the worker process."""
    deadline = time.monotonic() + 60  # the worker takes 1-20 s to start when busy
    while rig.served.sandbox.faults.requests.get("x", 0) < count:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.05)


async def _until_job_ends(
    rig: Rig, proc: subprocess.Popen[bytes], log: Path, job_id: str, deadline: float
) -> dict[str, Any]:
    """GET /jobs/{job_id} until it is complete or failed (the worker process must stay up)."""
    while (job := await _job_or_none(rig, job_id)) is None or job["status"] not in (
        "complete",
        "failed",
    ):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.05)
    return job


async def _job_or_none(rig: Rig, job_id: str) -> dict[str, Any] | None:
    response = await rig.client.get(f"/jobs/{job_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` unless the process has exited, and wait (up to 40 s) for it to exit."""
    if proc.poll() is None:
        proc.send_signal(sig)
    deadline = time.monotonic() + 40
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
        await asyncio.sleep(0.05)


def _worker_process(
    rig: Rig, database_url: str, tmp_path: Path, log: Path
) -> subprocess.Popen[bytes]:
    """`python -m hashtag_cli worker` configured like the rig (scheduled collections and
    recomputes off)."""
    settings = rig.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHTAG_")}
    env |= {
        "HASHTAG_DATABASE_URL": database_url,
        "HASHTAG_REDIS_URL": str(settings.redis_url),
        "HASHTAG_DATA_DIR": str(tmp_path / "data"),
        "HASHTAG_PLATFORM_TOKENS": json.dumps(
            {k: v.get_secret_value() for k, v in settings.platform_tokens.items()}
        ),
        "HASHTAG_COLLECT_CRON_MINUTES": "0",
        "HASHTAG_RECOMPUTE_CRON_MINUTES": "0",
        "HASHTAG_REFRESH_WINDOW_DAYS": str(settings.refresh_window_days),
        "HASHTAG_WORKER_SHUTDOWN_GRACE_S": str(settings.worker_shutdown_grace_s),
    }
    for name, value in settings.collect.model_dump().items():
        env[f"HASHTAG_COLLECT__{name.upper()}"] = str(value)
    with log.open("wb") as out:  # cwd=tmp_path: no developer .env is read
        return subprocess.Popen(
            [sys.executable, "-m", "hashtag_cli", "worker"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
        )


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
        listed = {a["id"]: a for a in await rig.get("/accounts")}
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
