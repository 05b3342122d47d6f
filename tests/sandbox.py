"""The platform sandbox served over real HTTP on loopback, for any test that needs it.

`serve(config)` starts a real HTTP server (uvicorn.Server in a task of the test loop) on a free
127.0.0.1 port and yields a `Served` handle; connectors (and worker processes) talk to it over
TCP exactly as they would to the platforms. The collection tests wrap it in the `serve_sandbox`
fixture (tests/collect/conftest.py); the worker's end-to-end tests use it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from hashtag_core.collect import AccountSpec, CollectSettings
from hashtag_core.platforms import Platform
from hashtag_sandbox import Sandbox, SandboxConfig, create_sandbox_app

__all__ = ["SANDBOX_END", "Served", "free_port", "serve"]

#: Fixed end of the sandbox history, so ids and texts are the same in every run.
SANDBOX_END = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class Served:
    """A running sandbox: its root URL, in-process state and an admin client."""

    root: str
    sandbox: Sandbox
    admin: httpx.AsyncClient

    def base_urls(self) -> dict[str, str]:
        """The collect base URL of each platform, pointing at this sandbox."""
        return {
            "x_base_url": f"{self.root}/x",
            "meta_base_url": f"{self.root}/meta",
            "instagram_base_url": f"{self.root}/meta",
            "linkedin_base_url": f"{self.root}/linkedin",
        }

    def settings(self, **overrides: Any) -> CollectSettings:
        """CollectSettings pointing every platform at this sandbox."""
        return CollectSettings.model_validate(self.base_urls() | overrides)

    def account(self, platform: Platform, index: int = 0) -> AccountSpec:
        """An AccountSpec for the index-th sandbox account of a platform."""
        found = [a for a in self.sandbox.data.accounts if a.platform is platform][index]
        return AccountSpec(
            platform, found.external_id, found.handle, found.timezone, SecretStr(found.token)
        )

    def source(self, handle: str) -> list[dict[str, Any]]:
        """The sandbox's canonical records of an account, newest first."""
        account = next(a for a in self.sandbox.data.accounts if a.handle == handle)
        return [dict(p.record) for p in reversed(account.posts)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve(config: SandboxConfig) -> AsyncIterator[Served]:
    """Serve a sandbox built from `config` on loopback until the block ends."""
    app = create_sandbox_app(config)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
        )
    )
    # The test loop runs the server; signal handlers belong to pytest, not to uvicorn.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError("sandbox server did not start")
        root = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=root) as admin:
            yield Served(root, app.state.sandbox, admin)  # type: ignore[attr-defined]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
