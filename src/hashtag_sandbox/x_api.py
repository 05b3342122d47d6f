"""X API v2 dialect under `/x`: user timeline, recent search, tweet and user lookup.

Any valid X token reads public data (app-only Bearer semantics). Paging tokens are opaque
lowercase strings that encode the last post of the page (stable while posts are added).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hashtag_core.hashtags import extract_hashtags_with_indices
from hashtag_core.platforms import Platform
from hashtag_sandbox.data import SandboxAccount, SandboxPost, keyset_page
from hashtag_sandbox.responses import json_response, x_problem
from hashtag_sandbox.state import Family, Sandbox, Target, bearer_token, guarded

__all__ = ["routes"]

_PROBLEMS = "https://api.twitter.com/2/problems/"


class _Invalid(Exception):
    """A parameter X would reject with 400 invalid-request."""

    def __init__(self, name: str, value: str, message: str) -> None:
        super().__init__(message)
        self.name, self.value, self.message = name, value, message


def _invalid_response(exc: _Invalid) -> Response:
    return x_problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        "invalid-request",
        errors=[{"parameters": {exc.name: [exc.value]}, "message": exc.message}],
    )


def _not_found(kind: str, value: str) -> Response:
    """X answers a missing user or post with a 200 that only holds `errors`."""
    error = {
        "value": value,
        "detail": f"Could not find {kind} with id: [{value}].",
        "title": "Not Found Error",
        "resource_type": kind,
        "parameter": "id",
        "resource_id": value,
        "type": _PROBLEMS + "resource-not-found",
    }
    return json_response({"errors": [error]})


def _encode_token(post_id: str) -> str:
    return base64.b32encode(post_id.encode()).decode().rstrip("=").lower()


def _decode_token(token: str) -> str:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        return base64.b32decode(padded).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _Invalid("pagination_token", token, "The pagination token is invalid") from exc


def _fields(request: Request, name: str) -> set[str]:
    return {f for f in request.query_params.get(name, "").split(",") if f}


def _created_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def render_tweet(post: SandboxPost, account: SandboxAccount, fields: set[str]) -> dict[str, Any]:
    """A Tweet object with the default fields plus the requested ones."""
    r = post.record
    tweet: dict[str, Any] = {"id": post.post_id, "text": r["text"]}
    tweet["edit_history_tweet_ids"] = [post.post_id]
    if "created_at" in fields:
        tweet["created_at"] = _created_at(post.posted_at)
    if "author_id" in fields:
        tweet["author_id"] = account.external_id
    tags = extract_hashtags_with_indices(r["text"]) if "entities" in fields else []
    if tags:
        tweet["entities"] = {
            "hashtags": [{"start": t.start, "end": t.end, "tag": t.hashtag} for t in tags]
        }
    if "public_metrics" in fields:
        tweet["public_metrics"] = _public_metrics(r)
    return tweet


def _public_metrics(r: dict[str, Any]) -> dict[str, int]:
    """The inverse of the connector's mapping; unreported counters are left out."""
    shares = r["shares"] or 0
    quotes = shares // 6  # canonical shares = retweets + quotes: split them back
    metrics = {
        "retweet_count": shares - quotes,
        "reply_count": r["comments"] or 0,
        "like_count": r["likes"] or 0,
        "quote_count": quotes,
    }
    if r["saves"] is not None:
        metrics["bookmark_count"] = r["saves"]
    if r["impressions"] is not None:
        metrics["impression_count"] = r["impressions"]
    return metrics


def render_user(account: SandboxAccount, fields: set[str]) -> dict[str, Any]:
    """A User object (id, name, username, optional public_metrics)."""
    user: dict[str, Any] = {
        "id": account.external_id,
        "name": account.handle,
        "username": account.handle,
    }
    if "public_metrics" in fields:
        user["public_metrics"] = {
            "followers_count": account.followers,
            "following_count": 120,
            "tweet_count": len(account.posts),
            "listed_count": account.followers // 500,
            "like_count": 0,
        }
    return user


def _auth(request: Request, sandbox: Sandbox) -> Response | None:
    token = bearer_token(request)
    if token is None or (Platform.X, token) not in sandbox.data.by_token:
        return x_problem(401, "Unauthorized", "Unauthorized")
    return None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _Invalid(
            name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}"
        )
    return int(raw)


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Invalid(name, raw, f"Invalid {name}: {raw}") from exc


def _bounds(request: Request) -> tuple[Any, Any]:
    """(keep, stop) predicates from since_id/until_id/start_time/end_time (IDs win)."""
    since, until = request.query_params.get("since_id"), request.query_params.get("until_id")
    if since or until:
        low, high = int(since or 0), int(until) if until else None
        return (lambda p: high is None or int(p.post_id) < high), (lambda p: int(p.post_id) <= low)
    start, end = _time_param(request, "start_time"), _time_param(request, "end_time")
    return (
        (lambda p: end is None or p.posted_at < end),
        (lambda p: start is not None and p.posted_at < start),
    )


def _page_body(
    posts: list[SandboxPost], more: bool, request: Request, owners: list[SandboxAccount]
) -> dict[str, Any]:
    """`data`, `includes.users` and `meta` of a list response."""
    if not posts:
        return {"meta": {"result_count": 0}}
    fields = _fields(request, "tweet.fields")
    body: dict[str, Any] = {
        "data": [render_tweet(p, a, fields) for p, a in zip(posts, owners, strict=True)]
    }
    if "author_id" in _fields(request, "expansions"):
        unique = {a.external_id: a for a in owners}
        body["includes"] = {
            "users": [render_user(a, _fields(request, "user.fields")) for a in unique.values()]
        }
    meta: dict[str, Any] = {"newest_id": posts[0].post_id, "oldest_id": posts[-1].post_id}
    meta["result_count"] = len(posts)
    if more:
        meta["next_token"] = _encode_token(posts[-1].post_id)
    body["meta"] = meta
    return body


async def _timeline(request: Request, sandbox: Sandbox, target: Target) -> Response:
    account = target.account
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    if account is None:
        return _not_found("user", request.path_params["user_id"])
    try:
        limit = _int_param(request, "max_results", 10, 5, 100)
        token = request.query_params.get("pagination_token")
        cursor = _decode_token(token) if token else None
        keep, stop = _bounds(request)
        repeat = sandbox.faults.duplicate_pages(Platform.X)
        posts, more = keyset_page(
            account, cursor, limit, keep=keep, stop=stop, repeat_cursor=repeat
        )
    except _Invalid as exc:
        return _invalid_response(exc)
    except KeyError:
        return _invalid_response(
            _Invalid("pagination_token", token or "", "The pagination token is invalid")
        )
    return json_response(_page_body(posts, more, request, [account] * len(posts)))


def _matches(query: str, post: SandboxPost) -> bool:
    """A small subset of X's query language: `#tag`, `from:user`, `has:hashtags`, words."""
    tags = {t.hashtag.casefold() for t in extract_hashtags_with_indices(post.record["text"])}
    for term in query.split():
        if term.startswith("#") and term[1:].casefold() not in tags:
            return False
        if (
            term.startswith("from:")
            and term[5:].casefold() != str(post.record["account"]).casefold()
        ):
            return False
        if term == "has:hashtags" and not tags:
            return False
        if (
            term[0] not in "#-"
            and ":" not in term
            and term.casefold() not in post.record["text"].casefold()
        ):
            return False
    return True


async def _search(request: Request, sandbox: Sandbox, target: Target) -> Response:
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    query = request.query_params.get("query", "")
    try:
        if not query:
            raise _Invalid("query", "", "The `query` query parameter can not be empty")
        limit = _int_param(request, "max_results", 10, 10, 100)
        token = request.query_params.get("next_token") or request.query_params.get(
            "pagination_token"
        )
        below = int(_decode_token(token)) if token else None
    except (_Invalid, ValueError) as exc:
        bad = (
            exc
            if isinstance(exc, _Invalid)
            else _Invalid("next_token", token or "", "invalid token")
        )
        return _invalid_response(bad)
    accounts = [a for a in sandbox.data.accounts if a.platform is Platform.X]
    newest = max((a.posts[-1].posted_at for a in accounts if a.posts), default=None)
    found = [
        (p, a)
        for a in accounts
        for p in a.posts
        if newest
        and p.posted_at > newest - timedelta(days=7)
        and (below is None or int(p.post_id) < below)
        and _matches(query, p)
    ]
    found.sort(key=lambda pa: int(pa[0].post_id), reverse=True)
    page = found[:limit]
    body = _page_body([p for p, _ in page], len(found) > limit, request, [a for _, a in page])
    return json_response(body)


async def _tweet(request: Request, sandbox: Sandbox, target: Target) -> Response:
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    tweet_id = request.path_params["tweet_id"]
    found = sandbox.data.post(Platform.X, tweet_id)
    if found is None:
        return _not_found("tweet", tweet_id)
    account, post = found
    body = _page_body([post], False, request, [account])
    return json_response(
        {"data": body["data"][0], **({"includes": body["includes"]} if "includes" in body else {})}
    )


async def _user(request: Request, sandbox: Sandbox, target: Target) -> Response:
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    if target.account is None:
        return _not_found("user", request.path_params["user_id"])
    return json_response({"data": render_user(target.account, _fields(request, "user.fields"))})


def _resolve(group: str) -> Any:
    def resolve(request: Request, sandbox: Sandbox) -> Target:
        params = request.path_params
        account = None
        if "user_id" in params:
            account = sandbox.data.account(Platform.X, params["user_id"])
        elif "tweet_id" in params:
            found = sandbox.data.post(Platform.X, params["tweet_id"])
            account = found[0] if found else None
        return Target(Platform.X, account, group)

    return resolve


def routes() -> list[Route]:
    """The X endpoints, relative to the `/x` mount."""
    return [
        Route("/2/tweets/search/recent", guarded(Family.X, _resolve("search"), _search)),
        Route("/2/tweets/{tweet_id}", guarded(Family.X, _resolve("tweets"), _tweet)),
        Route("/2/users/{user_id}/tweets", guarded(Family.X, _resolve("timeline"), _timeline)),
        Route("/2/users/{user_id}", guarded(Family.X, _resolve("users"), _user)),
    ]
