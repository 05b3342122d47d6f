"""Logs end to end: the API's request id reaches the log lines of the jobs the request queued,
and no API key, platform token or database password appears in any line.

A small full flow with every log at DEBUG (httpx included): import, update, a wrongly keyed
request, an account registered and collected from the platform sandbox (over HTTP on loopback)
whose token has expired, and a real arq worker running the recomputes and the failing
collection. Everything the test commits is wiped afterwards.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy.engine import make_url

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.platforms import Platform
from hashtag_sandbox import SandboxConfig
from hashtag_worker.settings import WorkerSettings, functions
from tests.api.data import POSTS
from tests.helpers import ndjson, wipe
from tests.logs import captured_logs
from tests.sandbox import serve

pytestmark = pytest.mark.e2e

API_KEY = "log-test-api-key-5f1c2e"
TOKEN = "log-test-platform-token-9a7b"
DB_PASSWORD = "log-test-db-password-3d"
SECRETS = (API_KEY, TOKEN, DB_PASSWORD)


@pytest.fixture
async def cleanup(engine, arq_redis) -> AsyncIterator[None]:
    await arq_redis.flushdb()
    yield
    await wipe(engine)
    await arq_redis.flushdb()


async def _work(settings: Settings) -> Worker:
    assert settings.redis_url
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    worker = Worker(
        functions=functions(),
        redis_pool=pool,
        burst=True,
        poll_delay=0,
        ctx={"settings": settings},
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


async def _requests(client: httpx.AsyncClient, external_id: str) -> dict[str, httpx.Response]:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    sent = {
        "import": await client.post(
            "/posts/import",
            content=ndjson(POSTS),
            headers={**auth, "Content-Type": "application/x-ndjson", "x-request-id": "req-import"},
        ),
        "update": await client.post(
            "/update-post",
            json={"platform": "x", "post_id": "b1", "likes": 77},
            headers={**auth, "x-request-id": "req-update"},
        ),
        "wrong key": await client.post(
            "/update-post",
            json={"platform": "x", "post_id": "b1", "likes": 1},
            headers={"Authorization": f"Bearer {API_KEY}-wrong"},
        ),
        "register": await client.post(
            "/accounts",
            json={
                "platform": "instagram",
                "external_id": external_id,
                "handle": "legolandwindsor",
                "token_ref": "windsor-ig",
            },
            headers=auth,
        ),
    }
    sent["collect"] = await client.post(
        "/collect",
        json={"account_id": sent["register"].json()["id"]},
        headers={**auth, "x-request-id": "req-collect"},
    )
    return sent


async def test_request_ids_follow_into_jobs_and_no_secret_is_logged(
    cleanup, engine, arq_redis, database_url, services, caplog
):
    caplog.set_level(logging.DEBUG)
    config = SandboxConfig(
        posts=40,
        days=5,
        end=datetime.now(UTC) - timedelta(hours=2),
        handles=["legolandwindsor"],
        tokens={"legolandwindsor": TOKEN},
        faults={"expire_tokens_after": 0},  # the platform answers: token expired
    )
    async with serve(config) as served:
        settings = Settings(
            database_url=make_url(database_url)
            .set(password=DB_PASSWORD)
            .render_as_string(hide_password=False),
            redis_url=services.redis_url,
            api_keys=API_KEY,
            platform_tokens={"windsor-ig": TOKEN},
            collect=served.settings(max_tries=1),
            collect_cron_minutes=0,
            log_format="json",
            log_level="DEBUG",
        )
        app = create_app(settings)
        app.state.engine, app.state.arq = engine, arq_redis
        app.state.sessionmaker = create_sessionmaker(engine)
        transport = httpx.ASGITransport(app=app)
        # httpx and httpcore louder than in production, to see every request to the platform.
        with captured_logs(settings, loud=("httpx", "httpcore")) as stream:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                sent = await _requests(client, served.account(Platform.INSTAGRAM).external_id)
                worker = await _work(settings)
                job_id = sent["collect"].json()["job_ids"][0]
                job = (await client.get(f"/jobs/{job_id}")).json()

    # The import made legolandwindsor known, so registering it adopts it (200).
    assert [r.status_code for r in sent.values()] == [202, 202, 401, 200, 202]
    assert worker.jobs_failed == 1
    assert job["status"] == "failed"
    assert "re-authorisation" in job["error"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line["logger"] == "httpx" for line in lines)  # the requests to the platform
    _check_request_ids(lines, sent, job_id)
    logged = stream.getvalue() + caplog.text + "".join(str(r.args) for r in caplog.records)
    assert served.sandbox.faults.requests["instagram"] >= 1  # the token was sent, and refused
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} was logged"


def _check_request_ids(
    lines: list[dict[str, Any]], sent: dict[str, httpx.Response], job_id: str
) -> None:
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    access = {line["request_id"]: line for line in lines if line["logger"] == "hashtag_api.access"}
    for name in ("import", "update", "collect"):
        rid = sent[name].headers["x-request-id"]
        assert access[rid]["status"] == sent[name].status_code
    # The collection the request queued logs its failure under the request's id and its job.
    (failed,) = [line for line in lines if "sync of account" in line["message"]]
    assert failed | {"message": None, "time": None, "logger": None} == failed | {
        "message": None,
        "time": None,
        "logger": None,
        "level": "WARNING",
        "request_id": "req-collect",
        "job": "collect_account",
        "job_id": job_id,
    }
    # The recompute the import queued (recompute:1) names the import's request.
    recomputes = {
        line["job_id"]: line["request_id"]
        for line in lines
        if line.get("job") == "recompute" and line["message"].startswith("recompute for")
    }
    assert recomputes["recompute:1"] == "req-import"
    assert recomputes["recompute:2"] == "req-update"
