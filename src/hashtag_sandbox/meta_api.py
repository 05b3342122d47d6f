"""Graph API dialect under `/meta/{version}`: Instagram users/media and Facebook Pages/posts.

Objects: an IG user (`followers_count`, edge `media`), an IG media (edge `insights`), a Page
(`followers_count`, `fan_count`, edges `posts`/`published_posts`/`feed`), a Page post (edge
`insights`). A token reads only its own account's objects. Cursors are opaque base64;
`paging.next` is a full URL that, as at Meta, carries the access token.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hashtag_core.platforms import Platform
from hashtag_sandbox.data import SandboxAccount, SandboxPost, keyset_page
from hashtag_sandbox.meta_shapes import (
    fb_insight,
    ig_insight,
    render_fb_post,
    render_ig_media,
    render_ig_user,
    render_page,
)
from hashtag_sandbox.responses import json_response, meta_error
from hashtag_sandbox.state import Family, Sandbox, Target, bearer_token, guarded

__all__ = ["routes"]

_VERSION = re.compile(r"^v(\d+)\.\d+$")
_POST_EDGES = frozenset({"posts", "published_posts", "feed"})


class _GraphError(Exception):
    """An error to answer in Graph shape (HTTP 400 unless told otherwise)."""

    def __init__(
        self, message: str, code: int, subcode: int | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.subcode, self.status = message, code, subcode, status


def _missing(object_id: str) -> _GraphError:
    message = (
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation."
    )
    return _GraphError(message, 100, 33)


def top_level_fields(raw: str) -> list[str]:
    """Field names of a `fields=` value without modifiers (`reactions.summary(..)`: reactions)."""
    names, depth, current = [], 0, ""
    for char in raw + ",":
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            name = re.split(r"[.({]", current.strip(), maxsplit=1)[0]
            if name:
                names.append(name)
            current = ""
        else:
            current += char
    return names


def _cursor(post_id: str) -> str:
    return base64.urlsafe_b64encode(f"sbx:{post_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _GraphError("(#100) Invalid cursor", 100) from exc
    if not raw.startswith("sbx:"):
        raise _GraphError("(#100) Invalid cursor", 100)
    return raw[4:]


def _authorise(request: Request, sandbox: Sandbox, target: Target, object_id: str) -> None:
    """A token reads only its own account's objects (Page token / IG user token)."""
    token = bearer_token(request)
    if token is None:
        raise _GraphError("An access token is required to request this resource.", 104)
    owner = sandbox.data.by_token.get((target.platform, token)) if target.platform else None
    if owner is None and not any(t == token for (_, t) in sandbox.data.by_token):
        status = sandbox.config.meta_auth_status
        raise _GraphError(
            "Invalid OAuth access token - Cannot parse access token", 190, None, status
        )
    if owner is None or target.account is None or owner is not target.account:
        raise _missing(object_id)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "25")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise _GraphError("(#100) The parameter limit must be between 1 and 100", 100)
    return int(raw)


def _list_page(
    request: Request, sandbox: Sandbox, account: SandboxAccount
) -> tuple[list[SandboxPost], dict[str, Any]]:
    """One newest-first page of an account's posts and its `paging` object."""
    after = request.query_params.get("after")
    cursor = _decode_cursor(after) if after else None
    repeat = sandbox.faults.duplicate_pages(account.platform)
    try:
        posts, more = keyset_page(account, cursor, _limit(request), repeat_cursor=repeat)
    except KeyError as exc:
        raise _GraphError("(#100) Invalid cursor", 100) from exc
    paging: dict[str, Any] = {}
    if posts:
        paging["cursors"] = {
            "before": _cursor(posts[0].post_id),
            "after": _cursor(posts[-1].post_id),
        }
    if more:
        url = request.url.remove_query_params(["before", "after", "access_token"])
        paging["next"] = str(
            url.include_query_params(access_token=account.token, after=_cursor(posts[-1].post_id))
        )
    return posts, paging


def _fields_of(request: Request, default: str) -> list[str]:
    return top_level_fields(request.query_params.get("fields", default))


def _object(request: Request, sandbox: Sandbox, target: Target, object_id: str) -> dict[str, Any]:
    """GET /{id}: an account or a post, with the requested fields."""
    account = target.account
    assert account is not None  # _authorise checked it
    found = sandbox.data.post(account.platform, object_id)
    if account.platform is Platform.INSTAGRAM:
        if found:
            return render_ig_media(found[1], account, _fields_of(request, "id"))
        return render_ig_user(account, _fields_of(request, "id"))
    if found:
        return render_fb_post(found[1], _fields_of(request, "id"))
    return render_page(account, _fields_of(request, "id,name"))


def _edge(
    request: Request, sandbox: Sandbox, target: Target, object_id: str, edge: str
) -> dict[str, Any]:
    """GET /{id}/{edge}: media, posts or insights."""
    account = target.account
    assert account is not None
    found = sandbox.data.post(account.platform, object_id)
    if edge == "insights" and found is not None:
        metrics = [m for m in request.query_params.get("metric", "").split(",") if m]
        if not metrics:
            raise _GraphError("(#100) The parameter metric is required", 100)
        every = sandbox.faults.config.ig_insights_refused_every
        if account.platform is Platform.INSTAGRAM and every and int(object_id) % every == 0:
            message = "(#10) Application does not have permission for this action"
            raise _GraphError(message, 10)
        insight: Callable[..., dict[str, Any] | None]
        insight = ig_insight if account.platform is Platform.INSTAGRAM else fb_insight
        try:
            items = [insight(found[1], m, sandbox.config) for m in metrics]
        except ValueError as exc:
            raise _GraphError("(#100) The value must be a valid insights metric", 100) from exc
        return {"data": [item for item in items if item is not None]}
    if edge == "insights" and found is None:
        return _account_insights(request, sandbox, account)
    if edge == "comments" and found is not None and account.platform is Platform.INSTAGRAM:
        return {"data": _comments(found[1], account)}
    is_ig = account.platform is Platform.INSTAGRAM
    if found is None and ((is_ig and edge == "media") or (not is_ig and edge in _POST_EDGES)):
        posts, paging = _list_page(request, sandbox, account)
        fields = _fields_of(request, "id,caption" if is_ig else "id,message,created_time")
        data = [
            render_ig_media(p, account, fields) if is_ig else render_fb_post(p, fields)
            for p in posts
        ]
        return {"data": data, "paging": paging} if paging else {"data": data}
    raise _GraphError(f"(#100) Unknown path components: /{edge}", 100)


def _comments(post: SandboxPost, account: SandboxAccount) -> list[dict[str, Any]]:
    """A post's comments, newest first: a fan's, and the account's own first comment if the
    post keeps its hashtags there (the fan's hashtag is not the post's)."""

    def at(minutes: int) -> str:
        return (post.posted_at + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S+0000")

    found = [
        {"id": f"{post.post_id}9", "text": "Love this! #wow", "username": "brickfan_1",
         "timestamp": at(9)},
    ]  # fmt: skip
    if post.first_comment:
        found.append(
            {"id": f"{post.post_id}1", "text": post.first_comment, "username": account.handle,
             "timestamp": at(1)}
        )  # fmt: skip
    return found


_DAY_S = 86_400
_FB_MAX_RANGE_S = 93 * _DAY_S
_FOLLOWER_METRICS = {
    Platform.INSTAGRAM: frozenset({"follower_count"}),
    Platform.FACEBOOK: frozenset({"page_daily_follows_unique", "page_daily_unfollows_unique"}),
}


def _unix(request: Request, name: str, default: float) -> datetime:
    raw = request.query_params.get(name)
    if raw is None:
        return datetime.fromtimestamp(default, UTC)
    if not raw.isdigit():
        raise _GraphError(f"(#100) The parameter {name} must be a unix timestamp", 100)
    return datetime.fromtimestamp(int(raw), UTC)


def _account_insights(
    request: Request, sandbox: Sandbox, account: SandboxAccount
) -> dict[str, Any]:
    """GET /{ig-user-id or page-id}/insights: daily follower gains (period=day).

    Instagram's `follower_count` reaches back `instagram_follower_days` only (30 at Meta);
    Facebook's page follows take at most 93 days between since and until.
    """
    metrics = [m for m in request.query_params.get("metric", "").split(",") if m]
    allowed = _FOLLOWER_METRICS.get(account.platform, frozenset())
    if not metrics or any(m not in allowed for m in metrics):
        raise _GraphError("(#100) The value must be a valid insights metric", 100)
    if request.query_params.get("period") != "day":
        raise _GraphError("(#100) The parameter period must be day for these metrics", 100)
    now = datetime.now(UTC).timestamp()
    until = _unix(request, "until", now)
    since = _unix(request, "since", until.timestamp() - 30 * _DAY_S)
    if account.platform is Platform.INSTAGRAM:
        limit = sandbox.config.instagram_follower_days
        if limit is not None and since.timestamp() < now - (limit + 1) * _DAY_S:
            raise _GraphError(
                f"(#100) The since parameter cannot be older than {limit} days for follower_count",
                100,
            )
    elif until.timestamp() - since.timestamp() > _FB_MAX_RANGE_S:
        raise _GraphError("(#100) There cannot be more than 93 days between since and until", 100)
    gains = account.daily_gains(since, until)
    data = [_daily(account, m, gains) for m in metrics]
    return {"data": data}


def _daily(
    account: SandboxAccount, metric: str, gains: list[tuple[datetime, int]]
) -> dict[str, Any]:
    sign = -1 if metric == "page_daily_unfollows_unique" else 1
    values = [
        {"value": max(sign * gain, 0) if metric != "follower_count" else gain,
         "end_time": end.strftime("%Y-%m-%dT%H:%M:%S+0000")}
        for end, gain in gains
    ]  # fmt: skip
    return {
        "name": metric,
        "period": "day",
        "values": values,
        "title": metric.replace("_", " ").capitalize(),
        "description": "Daily follower changes.",
        "id": f"{account.external_id}/insights/{metric}/day",
    }


async def _graph(request: Request, sandbox: Sandbox, target: Target) -> Response:
    version = _VERSION.match(request.path_params["version"])
    parts = [p for p in request.path_params["path"].split("/") if p]
    try:
        if version is None or int(version.group(1)) < sandbox.config.meta_min_version:
            raise _GraphError(f"Unknown path components: /{request.path_params['version']}", 2500)
        if not 1 <= len(parts) <= 2:
            raise _GraphError("(#100) Unknown path components", 100)
        _authorise(request, sandbox, target, parts[0])
        if len(parts) == 1:
            return json_response(_object(request, sandbox, target, parts[0]))
        return json_response(_edge(request, sandbox, target, parts[0], parts[1]))
    except _GraphError as exc:
        return meta_error(exc.status, exc.message, exc.code, subcode=exc.subcode)
    except ValueError as exc:  # unknown field names
        return meta_error(400, str(exc), 100)


def _resolve(request: Request, sandbox: Sandbox) -> Target:
    object_id = request.path_params["path"].split("/", 1)[0]
    platform = sandbox.data.meta_platform(object_id)
    if platform is None:
        return Target(None)
    account = sandbox.data.account(platform, object_id)
    found = sandbox.data.post(platform, object_id)
    return Target(platform, account or (found[0] if found else None))


def routes() -> list[Route]:
    """The Graph endpoints, relative to the `/meta` mount."""
    return [Route("/{version}/{path:path}", guarded(Family.META, _resolve, _graph))]
