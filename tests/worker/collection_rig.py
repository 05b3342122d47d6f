"""The collection rig shared by the collection end-to-end tests: the platform sandbox on
loopback, the API (ASGI transport) and real arq workers on the suite's PostgreSQL and Redis.

`make_rig` is a fixture (re-exported by tests/worker/conftest.py)."""

from __future__ import annotations

import asyncio
import json
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
from arq.worker import Worker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.embedded import EmbeddedServices
from hashtag_sandbox import SandboxConfig
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
        return {a["handle"]: a for a in (await self.get("/accounts"))["items"]}

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


def _post_id(row: dict[str, Any]) -> str:
    return str(row["platform_post_id"])


def _posted(record: dict[str, Any]) -> str:
    return str(record["posted_at"])


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


def _platform(rig: Rig, handle: str) -> str:
    return str(next(a["platform"] for a in rig.accounts if a["handle"] == handle))
