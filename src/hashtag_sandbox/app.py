"""The sandbox ASGI app: all four platforms' HTTP dialects on one loopback server.

/x/2/...                    X API v2            (base URL http://127.0.0.1:PORT/x)
/meta/v22.0/...             Graph API (IG + FB) (base URL http://127.0.0.1:PORT/meta)
/linkedin/rest/...          LinkedIn REST       (base URL http://127.0.0.1:PORT/linkedin)
/_sandbox/{state,faults,advance,posts,requests} admin
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from hashtag_sandbox import admin, linkedin_api, meta_api, x_api
from hashtag_sandbox.config import SandboxConfig
from hashtag_sandbox.responses import json_response
from hashtag_sandbox.state import Sandbox

__all__ = ["create_sandbox_app"]

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class LoopbackOnly:
    """Refuse clients that are not on this machine: the sandbox hands out its tokens."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass loopback requests on; answer 403 to anything else."""
        client = scope.get("client")
        if scope["type"] == "http" and client and client[0] not in _LOOPBACK:
            await json_response({"detail": "the sandbox serves loopback clients only"}, 403)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def create_sandbox_app(config: SandboxConfig | None = None) -> ASGIApp:
    """Build the sandbox app; its state is at `app.state.sandbox` (a `Sandbox`)."""
    app = Starlette(
        routes=[
            Mount("/x", routes=x_api.routes()),
            Mount("/meta", routes=meta_api.routes()),
            Mount("/linkedin", routes=linkedin_api.routes()),
            Mount("/_sandbox", routes=admin.routes()),
        ]
    )
    app.state.sandbox = Sandbox(config or SandboxConfig())
    app.add_middleware(LoopbackOnly)
    return app
