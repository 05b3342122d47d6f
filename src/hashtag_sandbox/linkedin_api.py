"""LinkedIn versioned REST dialect under `/linkedin/rest`: posts finder and lookup, share
statistics and network sizes.

Every call needs `LinkedIn-Version: YYYYMM` (missing, unknown or sunset -> 426) and a token of
the organization it reads (unknown -> 401, another organization's -> 403 ACCESS_DENIED).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hashtag_core.platforms import Platform
from hashtag_sandbox.data import SandboxAccount, SandboxPost
from hashtag_sandbox.responses import json_response, linkedin_error
from hashtag_sandbox.state import Family, Sandbox, Target, bearer_token, guarded

__all__ = ["routes"]

_VERSION = re.compile(r"^(\d{6})(\.\d{2})?$")
_LIST = re.compile(r"^List\((.*)\)$")


class _Refused(Exception):
    """An error answer in LinkedIn's shape."""

    def __init__(self, response: Response) -> None:
        super().__init__(str(response.status_code))
        self.response = response


def _check_version(request: Request, sandbox: Sandbox) -> str:
    """The requested version; 426 unless it is between the oldest active one and today."""
    raw = request.headers.get("linkedin-version", "")
    match = _VERSION.match(raw)
    current = datetime.now(UTC).strftime("%Y%m")
    if not match or not sandbox.config.linkedin_oldest_version <= match.group(1) <= current:
        message = (
            f"Requested version {raw} is not active" if raw else "A version header is required"
        )
        raise _Refused(linkedin_error(426, 0, "NONEXISTENT_VERSION", message))
    return match.group(1)


def _check(request: Request, sandbox: Sandbox, target: Target, resource: str) -> SandboxAccount:
    """Version, token and permission checks; returns the organization's account."""
    version = _check_version(request, sandbox)
    token = bearer_token(request)
    owner = sandbox.data.by_token.get((Platform.LINKEDIN, token or ""))
    if owner is None:
        raise _Refused(linkedin_error(401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"))
    if target.account is None:
        raise _Refused(linkedin_error(404, 0, "RESOURCE_NOT_FOUND", "Not Found"))
    if owner is not target.account:
        message = f"Not enough permissions to access: {resource}.{version}"
        raise _Refused(linkedin_error(403, 100, "ACCESS_DENIED", message))
    return owner


_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"#(\w+)")


def little_text(plain: str) -> str:
    """Plain text in LinkedIn's little text: reserved characters escaped, hashtags templated."""
    parts: list[str] = []
    last = 0
    for match in _HASHTAG.finditer(plain):
        parts.append(_RESERVED.sub(r"\\\1", plain[last : match.start()]))
        parts.append("{hashtag|\\#|" + match.group(1) + "}")
        last = match.end()
    parts.append(_RESERVED.sub(r"\\\1", plain[last:]))
    return "".join(parts)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def render_post(post: SandboxPost, account: SandboxAccount) -> dict[str, Any]:
    """A Posts API element; `commentary` keeps the little-text markup as stored."""
    published = _ms(post.posted_at)
    element: dict[str, Any] = {
        "id": post.post_id,
        "author": account.urn,
        "commentary": post.native_text or little_text(post.record["text"]),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "lifecycleStateInfo": {"isEditedByAuthor": False},
        "isReshareDisabledByAuthor": False,
        "createdAt": published - 1000,  # created, then published a second later
        "publishedAt": published,
        "lastModifiedAt": published + 500,
    }
    if post.post_id.startswith("urn:li:ugcPost:"):
        video = post.post_id.rsplit(":", 1)[-1]
        element["content"] = {"media": {"id": f"urn:li:video:C5F{video}", "title": "Video"}}
    return element


def _int(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name, str(default))
    if not raw.isdigit() or int(raw) > high:
        raise _Refused(
            linkedin_error(400, 0, "PARAM_INVALID", f"Invalid value for param {name}: {raw}")
        )
    return int(raw)


async def _posts_finder(request: Request, sandbox: Sandbox, target: Target) -> Response:
    if request.query_params.get("q") != "author":
        return linkedin_error(400, 0, "PARAM_INVALID", "Unsupported finder: q must be author")
    account = _check(request, sandbox, target, "posts.FINDER-author")
    count, start = _int(request, "count", 10, 100), _int(request, "start", 0, 10**9)
    newest_first = account.posts[::-1]
    first = start - 1 if start > 0 and sandbox.faults.duplicate_pages(Platform.LINKEDIN) else start
    elements = [render_post(p, account) for p in newest_first[first : start + count]]
    links = []
    if start + count < len(newest_first):
        sort = request.query_params.get("sortBy", "LAST_MODIFIED")
        author = quote(account.urn, safe="")
        query = f"author={author}&q=author&count={count}&start={start + count}&sortBy={sort}"
        href = f"/rest/posts?{query}"
        links.append({"rel": "next", "type": "application/json", "href": href})
    paging: dict[str, Any] = {"start": start, "count": count, "links": links}
    if sandbox.config.linkedin_include_total:
        paging["total"] = len(newest_first)
    return json_response({"paging": paging, "elements": elements})


async def _post(request: Request, sandbox: Sandbox, target: Target) -> Response:
    account = _check(request, sandbox, target, "posts.GET")
    found = sandbox.data.post(Platform.LINKEDIN, request.path_params["urn"])
    if found is None:
        return linkedin_error(404, 0, "RESOURCE_NOT_FOUND", "Not Found")
    return json_response(render_post(found[1], account))


def _statistics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """totalShareStatistics; engagement = (clicks+likes+comments+shares)/impressions (§5.1)."""

    def total(name: str) -> int:
        return sum(r[name] or 0 for r in records)

    impressions = total("impressions")
    clicks = impressions // 50  # not a canonical metric: any plausible number will do
    interactions = clicks + total("likes") + total("comments") + total("shares")
    return {
        "impressionCount": impressions,
        "uniqueImpressionsCount": total("reach"),
        "clickCount": clicks,
        "likeCount": total("likes"),
        "commentCount": total("comments"),
        "shareCount": total("shares"),
        "shareMentionsCount": 0,
        "commentMentionsCount": 0,
        "engagement": round(interactions / impressions, 4) if impressions else 0.0,
    }


def _urn_list(request: Request, name: str) -> list[str]:
    raw = request.query_params.get(name)
    if raw is None:
        return []
    match = _LIST.match(raw)
    if match is None:
        raise _Refused(linkedin_error(400, 0, "PARAM_INVALID", f"Invalid List for param {name}"))
    return [u for u in match.group(1).split(",") if u]


def _has_counts(record: dict[str, Any]) -> bool:
    names = ("likes", "comments", "shares", "impressions", "reach")
    return any(record[n] is not None for n in names)


async def _share_statistics(request: Request, sandbox: Sandbox, target: Target) -> Response:
    if request.query_params.get("q") != "organizationalEntity":
        return linkedin_error(400, 0, "PARAM_INVALID", "Unsupported finder")
    account = _check(
        request, sandbox, target, "organizationalEntityShareStatistics.FINDER-organizationalEntity"
    )
    wanted = [("share", u) for u in _urn_list(request, "shares")]
    wanted += [("ugcPost", u) for u in _urn_list(request, "ugcPosts")]
    elements: list[dict[str, Any]] = []
    if not wanted:
        stats = _statistics([p.record for p in account.posts])
        elements.append({"organizationalEntity": account.urn, "totalShareStatistics": stats})
    for key, urn in wanted:
        found = sandbox.data.post(Platform.LINKEDIN, urn)
        # Posts with no activity (or not this organization's) are simply missing.
        if found and found[0] is account and _has_counts(found[1].record):
            stats = _statistics([found[1].record])
            elements.append(
                {"organizationalEntity": account.urn, key: urn, "totalShareStatistics": stats}
            )
    return json_response({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})


_INTERVALS = re.compile(
    r"^\(timeRange:\(start:(\d+),end:(\d+)\),timeGranularityType:(DAY|WEEK|MONTH)\)$"
)


async def _follower_statistics(request: Request, sandbox: Sandbox, target: Target) -> Response:
    """Time-bound follower statistics: daily follower gains (organic; paid is 0)."""
    if request.query_params.get("q") != "organizationalEntity":
        return linkedin_error(400, 0, "PARAM_INVALID", "Unsupported finder")
    account = _check(
        request,
        sandbox,
        target,
        "organizationalEntityFollowerStatistics.FINDER-organizationalEntity",
    )
    raw = request.query_params.get("timeIntervals")
    if raw is None:  # lifetime statistics by facet: not served here
        return json_response({"paging": {"start": 0, "count": 10, "links": []}, "elements": []})
    match = _INTERVALS.match(raw)
    if match is None or match.group(3) != "DAY":
        return linkedin_error(400, 0, "PARAM_INVALID", "Invalid timeIntervals")
    since = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    until = datetime.fromtimestamp(int(match.group(2)) / 1000, UTC)
    elements = [
        {
            "organizationalEntity": account.urn,
            "timeRange": {"start": _ms(end) - 86_400_000, "end": _ms(end)},
            "followerGains": {"organicFollowerGain": gain, "paidFollowerGain": 0},
        }
        for end, gain in account.daily_gains(since, until)
    ]
    paging = {"start": 0, "count": len(elements), "links": []}
    return json_response({"paging": paging, "elements": elements})


async def _network_size(request: Request, sandbox: Sandbox, target: Target) -> Response:
    account = _check(request, sandbox, target, "networkSizes.GET")
    if request.query_params.get("edgeType") not in (
        "COMPANY_FOLLOWED_BY_MEMBER",
        "CompanyFollowedByMember",
    ):
        return linkedin_error(400, 0, "PARAM_INVALID", "Invalid edgeType")
    return json_response({"firstDegreeSize": account.followers})


def _resolve(request: Request, sandbox: Sandbox) -> Target:
    params = request.query_params
    urn = (
        params.get("author")
        or params.get("organizationalEntity")
        or request.path_params.get("urn", "")
    )
    account = (
        sandbox.data.account(Platform.LINKEDIN, urn)
        if urn.startswith("urn:li:organization:")
        else None
    )
    if account is None and urn:
        found = sandbox.data.post(Platform.LINKEDIN, urn)
        account = found[0] if found else None
    return Target(Platform.LINKEDIN, account)


def _refusing(handler: Any) -> Any:
    async def run(request: Request, sandbox: Sandbox, target: Target) -> Response:
        try:
            response: Response = await handler(request, sandbox, target)
        except _Refused as exc:
            return exc.response
        return response

    return run


def routes() -> list[Route]:
    """The LinkedIn endpoints, relative to the `/linkedin` mount."""

    def route(path: str, handler: Any) -> Route:
        return Route(path, guarded(Family.LINKEDIN, _resolve, _refusing(handler)))

    return [
        route("/rest/posts", _posts_finder),
        route("/rest/posts/{urn}", _post),
        route("/rest/organizationalEntityShareStatistics", _share_statistics),
        route("/rest/organizationalEntityFollowerStatistics", _follower_statistics),
        route("/rest/networkSizes/{urn}", _network_size),
    ]
