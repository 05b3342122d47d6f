"""The bare endpoint of the read benchmark: a minimal ASGI app that answers each benchmarked
URL with the bytes (and content type) the real API returned for it, served by uvicorn with
the same options as `hashtag-analysis api` (one process, no access log, uvloop/httptools as
installed). It is the ceiling for the server + loopback + load generator on this machine."""

from __future__ import annotations

import argparse
import base64
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The environment variable naming the JSON file of bodies (uvicorn builds the app itself).
BODIES_ENV = "HASHTAG_BENCH_BARE_BODIES"


def app_factory() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Build the app from the JSON file named by HASHTAG_BENCH_BARE_BODIES."""
    spec = json.loads(Path(os.environ[BODIES_ENV]).read_text(encoding="utf-8"))
    answers: dict[bytes, tuple[bytes, bytes]] = {
        target.encode(): (item["content_type"].encode(), base64.b64decode(item["body"]))
        for target, item in spec.items()
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        target = scope["raw_path"]
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        found = answers.get(target)
        status, (ctype, body) = (200, found) if found else (404, (b"text/plain", b"not found"))
        headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve(factory: str, description: str) -> None:
    """Parse --port and --bodies, then serve `factory` (module:function) the way
    `hashtag-analysis api` serves the API: one process, no uvicorn access log."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    args = parser.parse_args()
    os.environ[BODIES_ENV] = str(args.bodies.resolve())
    uvicorn.run(
        factory,
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        log_config=None,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    serve("bench.bare:app_factory", __doc__ or "")
