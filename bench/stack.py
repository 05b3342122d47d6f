"""The same-stack bare endpoint of the read benchmark: the real app (`create_app`, the same
settings, middleware, key check and rate limit, JSON access log, metrics) with one extra route,
`GET /__bare/<target>`, that answers the bytes the real API returned for <target> without
touching the database. Served by the same uvicorn options as `hashtag-analysis api`. The
distance from it to the real endpoint is what the data path (cache lookup or queries, and
serialisation) costs; the distance from it to `bench.bare` is the framework's own cost."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

from bench.bare import BODIES_ENV, serve
from hashtag_api.deps import ReaderDep
from hashtag_cli.serve import app_factory as api_factory

PREFIX = "/__bare"


def app_factory() -> FastAPI:
    """The real app plus the bare route, bodies from the file HASHTAG_BENCH_BARE_BODIES names."""
    spec = json.loads(Path(os.environ[BODIES_ENV]).read_text(encoding="utf-8"))
    answers = {
        target: (item["content_type"], base64.b64decode(item["body"]))
        for target, item in spec.items()
    }
    app = api_factory()  # settings from the environment, logging set up as the API's

    async def bare(request: Request, _: ReaderDep) -> Response:
        target = request.url.path.removeprefix(PREFIX)
        if request.url.query:
            target += "?" + request.url.query
        found = answers.get(target)
        if found is None:
            return Response(b"not found", status_code=404, media_type="text/plain")
        return Response(found[1], media_type=found[0])

    app.add_api_route(PREFIX + "/{target:path}", bare, methods=["GET"], include_in_schema=False)
    return app


if __name__ == "__main__":
    serve("bench.stack:app_factory", __doc__ or "")
