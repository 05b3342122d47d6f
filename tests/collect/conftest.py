"""Fixtures for the collection tests: the platform sandbox served by uvicorn on loopback.

`serve_sandbox(**config)` starts a real HTTP server on a free 127.0.0.1 port (see
`tests.sandbox.serve`) and yields a `Served` handle; connectors talk to it over TCP exactly as
they would to the platforms.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from hashtag_sandbox import SandboxConfig
from tests.sandbox import SANDBOX_END, Served, serve

__all__ = ["SANDBOX_END", "ServeSandbox", "Served", "serve_sandbox"]

ServeSandbox = Callable[..., AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve_sandbox() -> ServeSandbox:
    """`async with serve_sandbox(posts=...) as served:` starts a sandbox for one test."""

    def factory(**config: Any) -> AbstractAsyncContextManager[Served]:
        return serve(SandboxConfig.model_validate({"end": SANDBOX_END, **config}))

    return factory
