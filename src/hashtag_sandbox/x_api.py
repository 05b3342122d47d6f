"""X API v2 dialect under `/x`: user timeline, recent search, tweet and user lookup.

Any valid X token reads public data. Each account's token is also its user-context token: asked
for `non_public_metrics`, `organic_metrics` or `promoted_metrics`, the sandbox renders them for
the token owner's own posts under 30 days old and, like X, answers the other posts with a 200
whose `errors` name the refused field (`not-authorized-for-field`; the sandbox takes the strict
reading for the owner's older posts too). Tokens of `x_app_only_handles` are app-only Bearer
tokens: asking for private fields with them is a 403 `unsupported-authentication`. A fixed,
hashed quarter of the posts were "promoted": their organic counts are below the public ones.

"Now", for the 30 days and recent search's 7 days, is the time of the newest X post (the
sandbox's history ends there, whatever the wall clock says). Paging tokens are opaque
lowercase strings that encode the last post of the page (stable while posts are added).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hashtag_core.hashtags import extract_hashtags_with_indices
from hashtag_core.platforms import Platform
from hashtag_sandbox.data import SandboxAccount, SandboxPost, keyset_page
from hashtag_sandbox.responses import json_response, x_problem
from hashtag_sandbox.state import Family, Sandbox, Target, bearer_token, guarded

__all__ = ["is_promoted", "private_metrics", "routes", "x_now"]

_PROBLEMS = "https://api.twitter.com/2/problems/"
_X_EPOCH_MS = 1_288_834_974_657  # snowflake ids count milliseconds from here
PRIVATE_FIELDS = ("non_public_metrics", "organic_metrics", "promoted_metrics")
PRIVATE_DAYS = 30
SEARCH_DAYS = 7


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


_TEXT_LIMIT = 280
_CUT_AT = 270  # where X cuts the `text` of a longer post


def _created_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def render_tweet(
    post: SandboxPost, account: SandboxAccount, fields: set[str], *, private: bool = False
) -> dict[str, Any]:
    """A Tweet object with the default fields plus the requested ones.

    `private`: the requested private metrics may be shown (owner's token, post < 30 days).
    """
    r = post.record
    full = str(r["text"])
    # Like X: `text` is HTML-escaped; a post over 280 characters has `text` cut at 270, with
    # no mark that it was cut (a published answer: xdevplatform/samples#202), and its whole
    # text only in `note_tweet` (when asked for).
    cut = full if len(full) <= _TEXT_LIMIT else full[:_CUT_AT].rstrip()
    tweet: dict[str, Any] = {"id": post.post_id, "text": html.escape(cut, quote=False)}
    tweet["edit_history_tweet_ids"] = post.edit_history or [post.post_id]
    if "created_at" in fields:  # an edited post's latest version was made at the edit
        tweet["created_at"] = _created_at(post.edited_at or post.posted_at)
    if "author_id" in fields:
        tweet["author_id"] = account.external_id
    if "entities" in fields and (entities := _entities(cut)):
        tweet["entities"] = entities
    if len(full) > _TEXT_LIMIT and "note_tweet" in fields:
        note: dict[str, Any] = {"text": html.escape(full, quote=False)}
        if entities := _entities(full):
            note["entities"] = entities
        tweet["note_tweet"] = note
    if "public_metrics" in fields:
        tweet["public_metrics"] = _public_metrics(r)
    if private:
        shown = private_metrics(post)
        tweet |= {name: shown[name] for name in PRIVATE_FIELDS if name in fields and name in shown}
    return tweet


def _entities(text: str) -> dict[str, Any] | None:
    tags = extract_hashtags_with_indices(text)
    if not tags:
        return None
    return {"hashtags": [{"start": t.start, "end": t.end, "tag": t.hashtag} for t in tags]}


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


def is_promoted(post_id: str) -> bool:
    """Whether the post was promoted as an ad (a fixed quarter of the posts, by id hash)."""
    return hashlib.sha256(f"promoted:{post_id}".encode()).digest()[0] % 4 == 0


def private_metrics(post: SandboxPost) -> dict[str, dict[str, int]]:
    """`non_public_metrics`, `organic_metrics` and (promoted posts) `promoted_metrics`.

    Organic is the public total for an unpromoted post and two thirds of it (likes, replies,
    reposts, impressions) for a promoted one; the rest is promoted. Quotes are always organic
    and not part of these objects. Non-public metrics are totals (organic + promoted).
    """
    public = _public_metrics(post.record)
    seed = hashlib.sha256(f"clicks:{post.post_id}".encode()).digest()
    links, profiles = seed[0] % 20, seed[1] % 10
    promoted = is_promoted(post.post_id)
    counted = ("like_count", "reply_count", "retweet_count", "impression_count")
    organic = {k: public[k] * 2 // 3 if promoted else public[k] for k in counted if k in public}
    organic |= {"url_link_clicks": links, "user_profile_clicks": profiles}
    total_clicks = {"url_link_clicks": links * 2 if promoted else links}
    total_clicks["user_profile_clicks"] = profiles * 2 if promoted else profiles
    engagements = sum(public[k] for k in counted[:3]) + public["quote_count"]
    non_public = {"engagements": engagements + sum(total_clicks.values()), **total_clicks}
    if "impression_count" in public:
        non_public["impression_count"] = public["impression_count"]
    shown = {"non_public_metrics": non_public, "organic_metrics": organic}
    if promoted:
        shown["promoted_metrics"] = {
            k: total_clicks[k] - organic[k] if k in total_clicks else public[k] - organic[k]
            for k in organic
        }
    return shown


def x_now(sandbox: Sandbox) -> datetime:
    """The sandbox's X clock: its newest X post (the history ends there)."""
    newest = [a.posts[-1].posted_at for a in sandbox.data.accounts if a.platform is Platform.X]
    return max(newest, default=datetime.now(UTC))


def _snowflake_time(post_id: str) -> datetime:
    return datetime.fromtimestamp(((int(post_id) >> 22) + _X_EPOCH_MS) / 1000, UTC)


@dataclass(frozen=True)
class _Access:
    """Which private fields a request asked for, with whose token, at what sandbox time."""

    fields: tuple[str, ...]
    caller: SandboxAccount | None
    now: datetime

    def allows(self, post: SandboxPost, owner: SandboxAccount) -> bool:
        """The owner's token sees private metrics of its posts under 30 days old."""
        young = self.now - post.posted_at < timedelta(days=PRIVATE_DAYS)
        return bool(self.fields) and owner is self.caller and young

    def errors(self, post: SandboxPost) -> list[dict[str, Any]]:
        """X's partial errors for the private fields refused on one post."""
        return [
            {
                "value": post.post_id,
                "detail": (
                    f"Sorry, you are not authorized to access '{name}' on the Tweet with ids "
                    f"{post.post_id}."
                ),
                "title": "Field Authorization Error",
                "resource_type": "tweet",
                "parameter": name,
                "field": name,
                "section": "data",
                "resource_id": post.post_id,
                "type": _PROBLEMS + "not-authorized-for-field",
            }
            for name in self.fields
        ]


def _access(request: Request, sandbox: Sandbox) -> _Access | Response:
    """The request's private-field access, or X's 403 for an app-only token asking for them."""
    wanted = tuple(f for f in PRIVATE_FIELDS if f in _fields(request, "tweet.fields"))
    caller = sandbox.data.by_token.get((Platform.X, bearer_token(request) or ""))
    if wanted and caller is not None and caller.handle in sandbox.config.x_app_only_handles:
        return x_problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User "
            "Context].",
            "unsupported-authentication",
        )
    return _Access(wanted, caller, x_now(sandbox))


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
    for name, value in (("since_id", since), ("until_id", until)):
        if value is not None and not value.isdigit():
            raise _Invalid(name, value, f"Invalid '{name}':'{value}'")
    if since or until:
        low, high = int(since or 0), int(until) if until else None
        return (lambda p: high is None or int(p.post_id) < high), (lambda p: int(p.post_id) <= low)
    start, end = _time_param(request, "start_time"), _time_param(request, "end_time")
    return (
        (lambda p: end is None or p.posted_at < end),
        (lambda p: start is not None and p.posted_at < start),
    )


def _page_body(
    posts: list[SandboxPost],
    more: bool,
    request: Request,
    owners: list[SandboxAccount],
    access: _Access,
) -> dict[str, Any]:
    """`data`, `includes.users`, `meta` and partial `errors` of a list response."""
    if not posts:
        return {"meta": {"result_count": 0}}
    fields = _fields(request, "tweet.fields")
    body: dict[str, Any] = {"data": []}
    errors: list[dict[str, Any]] = []
    for post, owner in zip(posts, owners, strict=True):
        private = access.allows(post, owner)
        body["data"].append(render_tweet(post, owner, fields, private=private))
        if access.fields and not private:
            errors += access.errors(post)
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
    if errors:
        body["errors"] = errors
    return body


async def _timeline(request: Request, sandbox: Sandbox, target: Target) -> Response:
    account = target.account
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    if account is None:
        return _not_found("user", request.path_params["user_id"])
    if isinstance(access := _access(request, sandbox), Response):
        return access
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
    return json_response(_page_body(posts, more, request, [account] * len(posts), access))


def _term_matches(term: str, post: SandboxPost, account: SandboxAccount, tags: set[str]) -> bool:
    """One query term: `#tag`, `from:user` (name or id), `has:hashtags`, `is:retweet`, words.

    `-term` negates. Sandbox posts are never retweets, so `-is:retweet` keeps every post.
    Other operators are not modelled and match everything.
    """
    if term.startswith("-") and len(term) > 1:
        return not _term_matches(term[1:], post, account, tags)
    if term.startswith("#"):
        return term[1:].casefold() in tags
    if term.startswith("from:"):
        return _is_user(term[5:], account)
    if term == "has:hashtags":
        return bool(tags)
    if term == "is:retweet":
        return False
    if ":" in term:
        return True
    return term.casefold() in str(post.record["text"]).casefold()


def _is_user(user: str, account: SandboxAccount) -> bool:
    """Whether `from:`'s value names the account: its username (any case, `@` optional) or its
    numeric user id, which X accepts too and which survives a rename."""
    return user.removeprefix("@").casefold() in (account.handle.casefold(), account.external_id)


def _matches(query: str, post: SandboxPost, account: SandboxAccount) -> bool:
    """A small subset of X's query language: terms joined by AND (see `_term_matches`)."""
    tags = {t.hashtag.casefold() for t in extract_hashtags_with_indices(post.record["text"])}
    return all(_term_matches(term, post, account, tags) for term in query.split())


def _x_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_horizon(request: Request, horizon: datetime) -> None:
    """Recent search rejects bounds older than its 7 days, as X does."""
    raw = request.query_params.get("start_time")
    start = _time_param(request, "start_time")
    if raw is not None and start is not None and start < horizon:
        message = (
            f"Invalid 'start_time':'{raw}'. 'start_time' must be on or after {_x_time(horizon)}"
        )
        raise _Invalid("start_time", raw, message)
    since = request.query_params.get("since_id")
    if since is not None and since.isdigit() and _snowflake_time(since) < horizon:
        message = (
            f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id created after "
            f"{_x_time(horizon)}"
        )
        raise _Invalid("since_id", since, message)


async def _search(request: Request, sandbox: Sandbox, target: Target) -> Response:
    """Posts of the last 7 days matching `query`, newest (highest id) first."""
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    if isinstance(access := _access(request, sandbox), Response):
        return access
    query = request.query_params.get("query", "")
    token = request.query_params.get("next_token") or request.query_params.get("pagination_token")
    horizon = access.now - timedelta(days=SEARCH_DAYS)
    try:
        if not query:
            raise _Invalid("query", "", "The `query` query parameter can not be empty")
        limit = _int_param(request, "max_results", 10, 10, 100)
        below = int(_decode_token(token)) if token else None
        _check_horizon(request, horizon)
        keep, stop = _bounds(request)
    except _Invalid as exc:
        return _invalid_response(exc)
    except ValueError:
        return _invalid_response(_Invalid("next_token", token or "", "invalid token"))
    found = [
        (p, a)
        for a in sandbox.data.accounts
        if a.platform is Platform.X
        for p in a.posts
        if p.posted_at >= horizon
        and (below is None or int(p.post_id) < below)
        and keep(p)
        and not stop(p)
        and _matches(query, p, a)
    ]
    found.sort(key=lambda pa: int(pa[0].post_id), reverse=True)
    page = found[:limit]
    posts, owners = [p for p, _ in page], [a for _, a in page]
    return json_response(_page_body(posts, len(found) > limit, request, owners, access))


async def _tweet(request: Request, sandbox: Sandbox, target: Target) -> Response:
    if (denied := _auth(request, sandbox)) is not None:
        return denied
    tweet_id = request.path_params["tweet_id"]
    found = sandbox.data.post(Platform.X, tweet_id) or sandbox.data.x_version(tweet_id)
    if found is None:
        return _not_found("tweet", tweet_id)
    if isinstance(access := _access(request, sandbox), Response):
        return access
    account, post = found
    body = _page_body([post], False, request, [account], access)
    return json_response(
        {"data": body["data"][0]} | {k: body[k] for k in ("includes", "errors") if k in body}
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
            tweet_id = params["tweet_id"]
            found = sandbox.data.post(Platform.X, tweet_id) or sandbox.data.x_version(tweet_id)
            account = found[0] if found else None
        elif "query" in request.query_params:
            account = _search_author(sandbox, request.query_params["query"])
        return Target(Platform.X, account, group)

    return resolve


def _search_author(sandbox: Sandbox, query: str) -> SandboxAccount | None:
    """The account a search's `from:` term names (by username or numeric id), if any."""
    for term in query.split():
        if term.startswith("from:"):
            return next(
                (
                    a
                    for a in sandbox.data.accounts
                    if a.platform is Platform.X and _is_user(term[5:], a)
                ),
                None,
            )
    return None


def routes() -> list[Route]:
    """The X endpoints, relative to the `/x` mount."""
    return [
        Route("/2/tweets/search/recent", guarded(Family.X, _resolve("search"), _search)),
        Route("/2/tweets/{tweet_id}", guarded(Family.X, _resolve("tweets"), _tweet)),
        Route("/2/users/{user_id}/tweets", guarded(Family.X, _resolve("timeline"), _timeline)),
        Route("/2/users/{user_id}", guarded(Family.X, _resolve("users"), _user)),
    ]
