"""Admin endpoints under `/_sandbox`: state, fault switches, new posts, source records and the
request log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hashtag_core.platforms import Platform
from hashtag_sandbox.data import SandboxAccount
from hashtag_sandbox.faults import FaultConfig
from hashtag_sandbox.responses import json_response
from hashtag_sandbox.state import Sandbox

__all__ = ["AdvanceRequest", "routes"]


class AdvanceRequest(BaseModel):
    """Body of `POST /_sandbox/advance`."""

    posts: int = Field(1, ge=0, le=1000)  # new posts per account
    handles: list[str] | None = None  # None = every account
    at: AwareDatetime | None = None  # when the first is posted (None = after the newest)


def _selected(account: SandboxAccount, body: AdvanceRequest) -> bool:
    return body.handles is None or account.handle in body.handles


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def base_urls(request: Request) -> dict[str, str]:
    """The base URL to configure for each platform's connector."""
    root = str(request.base_url).rstrip("/")
    return {
        "x_base_url": f"{root}/x",
        "meta_base_url": f"{root}/meta",
        "instagram_base_url": f"{root}/meta",
        "linkedin_base_url": f"{root}/linkedin",
    }


async def _state(request: Request) -> Response:
    sandbox = _sandbox(request)
    accounts = [
        {
            "platform": a.platform.value,
            "handle": a.handle,
            "external_id": a.external_id,
            "token": a.token,  # fake tokens of a loopback-only test server
            "timezone": a.timezone,
            "followers": a.followers,
            "posts": len(a.posts),
            "newest": a.posts[-1].posted_at.isoformat() if a.posts else None,
        }
        for a in sandbox.data.accounts
    ]
    body = {
        "base_urls": base_urls(request),
        "accounts": accounts,
        "faults": sandbox.faults.config.model_dump(mode="json"),
        "requests": sandbox.faults.requests,
        "injected": sandbox.faults.injected,
    }
    return json_response(body)


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    return model.model_validate_json(raw or b"{}")


async def _faults(request: Request) -> Response:
    try:
        faults = await _parse(request, FaultConfig)
    except ValidationError as exc:
        return json_response({"detail": exc.errors(include_url=False)}, 422)
    _sandbox(request).set_faults(faults)
    return json_response({"faults": faults.model_dump(mode="json")})


async def _advance(request: Request) -> Response:
    try:
        body = await _parse(request, AdvanceRequest)
    except ValidationError as exc:
        return json_response({"detail": exc.errors(include_url=False)}, 422)
    data = _sandbox(request).data
    if body.at is not None:
        newest = max(
            (a.posts[-1].posted_at for a in data.accounts if a.posts and _selected(a, body)),
            default=None,
        )
        if newest is not None and body.at < newest:
            detail = f"'at' is older than the newest post ({newest.isoformat()})"
            return json_response({"detail": detail}, 422)
    added = data.advance(body.posts, body.handles, body.at)
    return json_response({"added": added})


async def _posts(request: Request) -> Response:
    """The canonical source records of one account (what a connector should produce)."""
    handle = request.query_params.get("handle")
    for account in _sandbox(request).data.accounts:
        if account.handle == handle:
            records = [
                dict(p.record, posted_at=p.posted_at.isoformat()) for p in account.posts[::-1]
            ]
            return json_response(
                {"handle": handle, "followers": account.followers, "posts": records}
            )
    return json_response({"detail": f"no account {handle!r}"}, 404)


async def _requests(request: Request) -> Response:
    """The platform requests served (oldest first), with arrival and answer times in seconds
    since the sandbox started; `?since=S` only those that arrived at or after S."""
    sandbox = _sandbox(request)
    try:
        since = float(request.query_params.get("since", "0"))
    except ValueError:
        return json_response({"detail": "'since' must be a number of seconds"}, 422)
    records = [asdict(r) for r in sandbox.log if r.arrived_s >= since]
    return json_response({"now_s": sandbox.since_start(), "requests": records})


class EditRequest(BaseModel):
    """An edit of an X post: its new text (X gives the new version a new id)."""

    post_id: str
    text: str


async def _edit(request: Request) -> Response:
    body: EditRequest = await _parse(request, EditRequest)
    data = _sandbox(request).data
    if data.post(Platform.X, body.post_id) is None:
        return json_response({"error": f"no X post {body.post_id}"}, 404)
    return json_response({"post_id": data.edit_x_post(body.post_id, body.text)})


def routes() -> list[Route]:
    """Admin routes, relative to the `/_sandbox` mount."""
    return [
        Route("/state", _state, methods=["GET"]),
        Route("/faults", _faults, methods=["POST"]),
        Route("/advance", _advance, methods=["POST"]),
        Route("/edit", _edit, methods=["POST"]),
        Route("/posts", _posts, methods=["GET"]),
        Route("/requests", _requests, methods=["GET"]),
    ]
