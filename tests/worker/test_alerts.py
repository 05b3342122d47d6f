"""Alerts end to end: the worker's scan finds a post far above its account's usual and an
account that stopped syncing, and delivers each as a signed webhook to a real receiver on a
loopback port, which refuses the first attempts; retries are recorded, and running the job
again (also twice at once) delivers nothing twice. Verdict flips are recorded at the swap."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates import staging
from hashtag_core.alerts import repository as alert_repo
from hashtag_core.alerts.settings import AlertSettings, SmtpSettings
from hashtag_core.alerts.signing import SIGNATURE_HEADER, verify
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.posts.service import import_rows
from hashtag_worker import jobs
from hashtag_worker.resources import RESOURCES_KEY, WorkerResources
from tests.helpers import query, recompute_in, wipe

SECRET = "whsec_alerts_test_secret_0123456789"
FAIL_FIRST = 2


@dataclass
class Receiver:
    """A webhook endpoint answering 503 to the first FAIL_FIRST requests of each delivery."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers["X-Hashtag-Delivery"]
        seen = {"key": key, "body": body, "signature": request.headers[SIGNATURE_HEADER]}
        self.requests.append(seen)
        if sum(r["key"] == key for r in self.requests) <= FAIL_FIRST:
            return web.Response(status=503, text="busy")
        self.accepted.append(seen)
        return web.Response(status=200, text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    await runner.cleanup()


@pytest.fixture
async def ctx(engine, arq_redis, database_url) -> AsyncIterator[dict[str, Any]]:
    await wipe(engine)
    settings = Settings(
        database_url=database_url,
        redis_url="redis://unused",
        alerts=AlertSettings(backoff_base_s=0.01, backoff_cap_s=0.02, max_attempts=5),
    )
    resources = WorkerResources(settings, engine, create_sessionmaker(engine), {}, {})
    yield {RESOURCES_KEY: resources, "redis": arq_redis}
    await wipe(engine)


async def _seed(engine, hook_url: str) -> int:
    """An account collected but never successfully (registered 3 days ago), 30 ordinary posts
    over 60 days and one, 2 days old, with 50x their engagement; a webhook subscription."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        account = (
            await conn.execute(
                text(
                    "INSERT INTO account (platform, external_id, handle, created_at, token_ref, "
                    "collect_enabled, status, last_sync_at, last_error) VALUES ('instagram', "
                    "'1784', 'legolandwindsor', :created, 'windsor_ig', true, 'error', :now, "
                    "'HTTP 500 from Instagram') RETURNING id"
                ),
                {"created": now - timedelta(days=3), "now": now},
            )
        ).scalar_one()
        for i in range(30):
            await conn.execute(
                text(
                    "INSERT INTO post (account_id, platform, platform_post_id, text, posted_at, "
                    "likes) VALUES (:a, 'instagram', :pid, 'a post #legoland', :at, :likes)"
                ),
                {
                    "a": account,
                    "pid": f"p{i}",
                    "at": now - timedelta(days=3 + i * 2),
                    "likes": 80 + (i * 7) % 40,
                },
            )
        star = (
            await conn.execute(
                text(
                    "INSERT INTO post (account_id, platform, platform_post_id, text, posted_at, "
                    "likes, url) VALUES (:a, 'instagram', 'star', 'the one #legoland', :at, 5000, "
                    "'https://instagram.com/p/star') RETURNING id"
                ),
                {"a": account, "at": now - timedelta(days=2)},
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO alert_subscription (name, webhook_url, webhook_secret, kinds) "
                "VALUES ('ops', :url, :secret, ARRAY['post_outlier', 'sync_stale'])"
            ),
            {"url": hook_url, "secret": SECRET},
        )
    return int(star)


async def test_alerts_signed_retried_and_delivered_once(ctx, engine, receiver):
    star = await _seed(engine, receiver.url)

    first = await jobs.scan_alerts(ctx)
    assert first == {
        "post_outliers": 1,
        "sync_stale": 1,
        "planned": 2,
        "delivered": 2,
        "failed": 0,
    }
    # Once more, and twice at once (two workers): nothing new is found, planned or sent.
    again = await asyncio.gather(jobs.scan_alerts(ctx), jobs.scan_alerts(ctx))
    again.append(await jobs.scan_alerts(ctx))
    for outcome in again:
        assert outcome["planned"] == outcome["delivered"] == outcome["post_outliers"] == 0

    # Exactly one accepted delivery per alert, after FAIL_FIRST refused attempts each.
    keys = Counter(a["key"] for a in receiver.accepted)
    assert len(keys) == 2
    assert set(keys.values()) == {1}
    assert Counter(r["key"] for r in receiver.requests) == dict.fromkeys(keys, FAIL_FIRST + 1)
    # Every attempt is signed with the subscription's secret, and the body is the same.
    for seen in receiver.requests:
        assert verify(SECRET, seen["body"], seen["signature"], now=time.time())
        assert not verify(
            "another-secret-of-24-chars!", seen["body"], seen["signature"], now=time.time()
        )
    bodies = {a["key"]: json.loads(a["body"]) for a in receiver.accepted}
    by_type = {b["type"]: b for b in bodies.values()}
    assert set(by_type) == {"post_outlier", "sync_stale"}
    outlier = by_type["post_outlier"]["data"]
    assert (outlier["post_id"], outlier["direction"], outlier["engagement"]) == (
        star,
        "above",
        5000,
    )
    assert outlier["deviations"] > outlier["threshold"] == 3.0
    stale = by_type["sync_stale"]["data"]
    assert (stale["account"], stale["last_success_at"]) == ("legolandwindsor", None)
    assert stale["hours_without_success"] >= 24

    # The log: delivered after 3 attempts, each attempt recorded with its answer.
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT d.idempotency_key, d.status, d.attempts, "
                    "array_agg(a.status_code ORDER BY a.attempt) AS codes, "
                    "array_agg(a.ok ORDER BY a.attempt) AS oks "
                    "FROM delivery d JOIN delivery_attempt a ON a.delivery_id = d.id "
                    "GROUP BY d.id ORDER BY d.id"
                )
            )
        ).all()
    assert {r.idempotency_key for r in rows} == set(keys)
    for row in rows:
        assert (row.status, row.attempts) == ("delivered", 3)
        assert row.codes == [503, 503, 200]
        assert row.oks == [False, False, True]


async def test_a_permanent_refusal_is_not_retried(ctx, engine):
    refused: list[bytes] = []

    async def gone(request: web.Request) -> web.Response:
        refused.append(await request.read())
        return web.Response(status=410)

    app = web.Application()
    app.router.add_post("/hook", gone)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await _seed(engine, f"http://127.0.0.1:{port}/hook")
        outcome = await jobs.scan_alerts(ctx)
    finally:
        await runner.cleanup()
    assert (outcome["delivered"], outcome["failed"]) == (0, 2)
    assert len(refused) == 2
    async with engine.connect() as conn:
        statuses = (
            await conn.execute(text("SELECT status, attempts FROM delivery ORDER BY id"))
        ).all()
    assert [tuple(s) for s in statuses] == [("failed", 1), ("failed", 1)]


async def test_verdict_flips_recorded_at_the_swap_for_watched_lists(session):
    conn = await session.connection()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    tags = [
        (
            await query(
                session, "INSERT INTO hashtag (key, display) VALUES (:k, :k) RETURNING id", k=k
            )
        )[0][0]
        for k in ("flips", "steady", "newcomer")
    ]
    await conn.execute(
        text(
            "INSERT INTO alert_subscription (name, emails, kinds) "
            "VALUES ('ops', ARRAY['ops@example.com'], ARRAY['verdict_flip'])"
        )
    )
    await staging.create_staged(conn, ["hashtag_lift"])
    rows = [
        # (window, hashtag, live verdict, staged verdict)
        ("all", tags[0], "unclear", "lifts"),
        ("all", tags[1], "lifts", "lifts"),
        ("all", tags[2], "too_few_posts", "lifts"),  # more evidence, not a flip
        ("30d", tags[0], "unclear", "underperforms"),  # a window nobody watches
    ]
    for window, tag, live, staged in rows:
        for table, verdict in (("hashtag_lift", live), ("hashtag_lift__next", staged)):
            await conn.execute(
                text(
                    f'INSERT INTO {table} (platform, account_id, "window", goal, hashtag_id, '
                    "posts, verdict, score, score_low, score_high, qvalue) VALUES ('*', 0, :w, "
                    "'engagement', :h, 40, :v, 0.3, 0.1, 0.5, 0.01)"
                ),
                {"w": window, "h": tag, "v": verdict},
            )

    assert await alert_repo.record_verdict_flips(conn, at=at) == 1
    assert await alert_repo.record_verdict_flips(conn, at=at) == 0  # the same pass again
    (event,) = await query(session, "SELECT kind, payload FROM alert_event")
    assert event.kind == "verdict_flip"
    payload = event.payload if isinstance(event.payload, dict) else json.loads(event.payload)
    assert (payload["hashtag"], payload["before"], payload["after"]) == (
        "flips",
        "unclear",
        "lifts",
    )
    assert (payload["window"], payload["goal"], payload["score"]) == ("all", "engagement", 0.3)


async def test_a_full_recompute_records_the_flips_of_its_swap(session, arq_redis):
    """Through the production pass (`install_staged`): figures the pass changes from one
    judged verdict to another become verdict_flip events of the watched list only."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    records = [
        {
            "platform": "instagram",
            "account": "windsor",
            "account_timezone": "UTC",
            "post_id": f"p{i}",
            "text": ("Rides #legoland" if i % 2 else "Park day #family #legoland")
            if i < 24
            else "no tags",
            "posted_at": (now - timedelta(days=i + 1)).isoformat(),
            "likes": 40 + (i * 13) % 50,
        }
        for i in range(36)
    ]
    rows = (RawRow(i, r) for i, r in enumerate(records, start=1))
    result = await import_rows(
        session, rows, queue=ArqJobQueue(arq_redis), batch_rows=100, max_errors=10
    )
    assert result.inserted == 36
    await recompute_in(session, now)
    conn = await session.connection()
    await conn.execute(
        text(
            "INSERT INTO alert_subscription (name, emails, kinds) "
            "VALUES ('ops', ARRAY['ops@example.com'], ARRAY['verdict_flip'])"
        )
    )
    # Pretend the live figures said otherwise, in the watched list and in another window.
    changed = await query(
        session,
        "UPDATE hashtag_lift SET verdict = CASE verdict WHEN 'unclear' THEN 'lifts' "
        "ELSE 'unclear' END WHERE verdict IN ('lifts', 'unclear', 'underperforms') "
        "AND goal = 'engagement' AND platform = '*' AND account_id = 0 "
        "AND \"window\" IN ('all', '90d') "
        'RETURNING hashtag_id, "window", verdict',
    )
    watched = {r.hashtag_id: r.verdict for r in changed if r.window == "all"}
    assert watched, "the data should give some hashtag a judged verdict"
    assert len(changed) > len(watched)

    await recompute_in(session, now + timedelta(hours=1))

    events = await query(
        session, "SELECT payload FROM alert_event WHERE kind = 'verdict_flip' ORDER BY id"
    )
    payloads = [e.payload if isinstance(e.payload, dict) else json.loads(e.payload) for e in events]
    assert {p["window"] for p in payloads} == {"all"}
    assert len(payloads) == len(watched)
    live = await query(
        session,
        "SELECT hashtag_id, verdict FROM hashtag_lift WHERE platform = '*' AND account_id = 0 "
        "AND \"window\" = 'all' AND goal = 'engagement'",
    )
    now_shown = {r.hashtag_id: r.verdict for r in live}
    keys = await query(session, "SELECT id, key FROM hashtag")
    ids = {r.key: r.id for r in keys}
    for p in payloads:
        assert p["before"] == watched[ids[p["key"]]]
        assert p["after"] == now_shown[ids[p["key"]]] != p["before"]


async def test_alerts_by_email_once_per_address(ctx, engine, smtp_server):
    await _seed(engine, "http://127.0.0.1:9/unused")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE alert_subscription SET webhook_url = NULL, webhook_secret = NULL, "
                "emails = ARRAY['ops@example.com', 'lead@example.com'], kinds = ARRAY['sync_stale']"
            )
        )
    resources = ctx[RESOURCES_KEY]
    settings = resources.settings.model_copy(
        update={"smtp": SmtpSettings(host="127.0.0.1", port=smtp_server.port, starttls=False)}
    )
    ctx = {**ctx, RESOURCES_KEY: dataclasses.replace(resources, settings=settings)}

    first = await jobs.scan_alerts(ctx)
    assert (first["planned"], first["delivered"], first["failed"]) == (2, 2, 0)
    assert (await jobs.scan_alerts(ctx))["delivered"] == 0
    assert sorted(r for rcpt, _ in smtp_server.messages for r in rcpt) == [
        "lead@example.com",
        "ops@example.com",
    ]
    for _, raw in smtp_server.messages:
        message = message_from_bytes(raw, policy=policy.default)
        subject = message["Subject"]
        assert subject.startswith("Alert: legolandwindsor (instagram) has not synced for ")
        assert message["Subject"].endswith(" h")
        assert message["X-Hashtag-Delivery"].startswith("alert:")
        assert "last_error: HTTP 500 from Instagram" in message.get_body().get_content()


async def test_a_timed_out_attempt_is_retried(ctx, engine):
    """The receiver holds its first request past the client's timeout, then accepts."""
    released = asyncio.Event()
    seen: list[str] = []

    async def slow_then_ok(request: web.Request) -> web.Response:
        seen.append(request.headers["X-Hashtag-Delivery"])
        if len(seen) == 1:
            await released.wait()  # never answered in time: the sender gives up
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", slow_then_ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    resources = ctx[RESOURCES_KEY]
    alerts = resources.settings.alerts.model_copy(update={"timeout_s": 0.5})
    settings = resources.settings.model_copy(update={"alerts": alerts})
    ctx = {**ctx, RESOURCES_KEY: dataclasses.replace(resources, settings=settings)}
    try:
        await _seed(engine, f"http://127.0.0.1:{port}/hook")
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alert_subscription SET kinds = ARRAY['sync_stale']"))
        outcome = await jobs.scan_alerts(ctx)
    finally:
        released.set()
        await runner.cleanup()
    assert (outcome["delivered"], outcome["failed"]) == (1, 0)
    assert len(seen) == 2
    assert len(set(seen)) == 1
    async with engine.connect() as conn:
        attempts = (
            await conn.execute(
                text("SELECT ok, status_code, error FROM delivery_attempt ORDER BY attempt")
            )
        ).all()
    assert [(a.ok, a.status_code) for a in attempts] == [(False, None), (True, 204)]
    assert "Timeout" in attempts[0].error
