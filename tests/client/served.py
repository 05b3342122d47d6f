"""The API served by uvicorn on a free loopback port, and a real arq burst worker: what the
generated-client tests call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from hashtag_worker.settings import WorkerSettings, functions
from tests.sandbox import free_port


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The app served by uvicorn (lifespan on) on a free loopback port; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    # The test loop runs the server; signal handlers belong to pytest.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "the API did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


async def run_worker(settings: Settings) -> Worker:
    """A real arq burst worker until the queue is empty."""
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
