"""LinkedIn (Community Management API, versioned `/rest`) connector for organization pages.

Posts: `GET /rest/posts?author={org}&q=author&sortBy=CREATED` with offset paging (start/count).
Counters come from `organizationalEntityShareStatistics` for the page's shares and ugcPosts in
one call, fetched while the next page loads (docs/metrics.md): likes = likeCount, comments =
commentCount, shares = shareCount, impressions = impressionCount, reach =
uniqueImpressionsCount, saves not reported. A post missing from the statistics has unknown
counters. `commentary` is little text: it is stored as a person reads it (`{hashtag|\\#|Name}`
becomes `#Name`, `@[Name](urn:li:...)` becomes `Name`, backslash escapes are undone; see
`collect.text`). Followers: `networkSizes` (`firstDegreeSize`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from hashtag_core.collect.base import (
    Run,
    Window,
    count,
    first_collect_error,
    parse_epoch_ms,
    totals_from_gains,
)
from hashtag_core.collect.errors import MalformedResponse, NotFound, RequestRejected
from hashtag_core.collect.http import Outcome, RequestPacer, Verdict
from hashtag_core.collect.ratelimit import linkedin_day_reset_wait, retry_after_s
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.text import linkedin_text
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.platforms import Platform

__all__ = [
    "LinkedInConnector",
    "classify_linkedin",
    "follower_gains",
    "map_li_post",
    "share_statistics",
]

logger = logging.getLogger("hashtag_core.collect")

_STATS_BATCH = 50
# Only these mean the token itself is bad (re-authorise); any other 403 is about one request.
_TOKEN_CODES = frozenset(
    {"EXPIRED_ACCESS_TOKEN", "REVOKED_ACCESS_TOKEN", "INVALID_ACCESS_TOKEN", "UNAUTHORIZED"}
)  # URNs per statistics call, to keep the URL well under common limits


def classify_linkedin(response: httpx.Response, body: Any, now: float) -> Verdict:
    """Classify a LinkedIn REST response (`{"status","serviceErrorCode","code","message"}`)."""
    status = response.status_code
    if status < 300:
        return Verdict(Outcome.OK)
    error = body if isinstance(body, dict) else {}
    message = str(error.get("message", ""))
    detail = f"HTTP {status} {error.get('code', '')} {message}".strip()
    if status == 401 or (status == 403 and error.get("code") in _TOKEN_CODES):
        return Verdict(Outcome.AUTH, detail)
    if status == 403:  # ACCESS_DENIED: about this request's parameters or resource
        return Verdict(Outcome.REJECTED, detail)
    if status == 429:
        wait = retry_after_s(response.headers, now)
        return Verdict(Outcome.RATE_LIMITED, detail, wait or linkedin_day_reset_wait(message, now))
    if status == 426:  # NONEXISTENT_VERSION: the LinkedIn-Version header is sunset
        return Verdict(Outcome.VERSION_GONE, detail)
    if status == 404:
        return Verdict(Outcome.NOT_FOUND, detail)
    if status >= 500:
        return Verdict(Outcome.RETRY, detail, retry_after_s(response.headers, now))
    return Verdict(Outcome.REJECTED, detail)


def org_urn(external_id: str) -> str:
    """The organization URN for an id given as a number or as a URN."""
    return (
        external_id if external_id.startswith("urn:li:") else f"urn:li:organization:{external_id}"
    )


def map_li_post(
    post: Mapping[str, Any],
    stats: Mapping[str, Any] | None,
    *,
    handle: str,
    timezone: str,
    followers: int | None,
) -> dict[str, Any]:
    """A PostRecord-compatible dict from a post and its `totalShareStatistics` (None = unknown)."""
    urn = post.get("id")
    if not isinstance(urn, str) or not urn.startswith("urn:li:"):
        raise MalformedResponse(f"post without a URN id: {urn!r}")
    published = post.get("publishedAt", post.get("createdAt"))
    found = stats or {}
    return {
        "platform": Platform.LINKEDIN.value,
        "post_id": urn,
        "account": handle,
        "text": linkedin_text(str(post.get("commentary") or "")),
        "posted_at": parse_epoch_ms(published, "publishedAt"),
        "likes": count(found.get("likeCount")),
        "comments": count(found.get("commentCount")),
        "shares": count(found.get("shareCount")),
        "saves": None,  # LinkedIn does not report saves
        "impressions": count(found.get("impressionCount")),
        "reach": count(found.get("uniqueImpressionsCount")),
        "followers": followers,
        "url": f"https://www.linkedin.com/feed/update/{urn}/",
        "account_timezone": timezone,
    }


def share_statistics(body: Any) -> dict[str, dict[str, Any]]:
    """`{post URN: totalShareStatistics}` from a per-post share statistics body."""
    elements = body.get("elements") if isinstance(body, dict) else None
    if not isinstance(elements, list):
        raise MalformedResponse("share statistics body has no elements array")
    found: dict[str, dict[str, Any]] = {}
    for element in elements:
        if not isinstance(element, dict):
            continue
        urn = element.get("share") or element.get("ugcPost")
        totals = element.get("totalShareStatistics")
        if isinstance(urn, str) and isinstance(totals, dict):
            found[urn] = totals
    return found


def follower_gains(body: Any) -> list[tuple[datetime, int]]:
    """`(end of interval, organic + paid gain)` from time-bound follower statistics."""
    elements = body.get("elements") if isinstance(body, dict) else None
    found: list[tuple[datetime, int]] = []
    for element in elements if isinstance(elements, list) else []:
        if not isinstance(element, dict):
            continue
        time_range = element.get("timeRange")
        gains = element.get("followerGains")
        if not isinstance(time_range, dict) or not isinstance(gains, dict):
            continue
        total = sum(
            v
            for v in (gains.get("organicFollowerGain"), gains.get("paidFollowerGain"))
            if isinstance(v, int) and not isinstance(v, bool)
        )
        found.append((parse_epoch_ms(time_range.get("end"), "timeRange.end"), total))
    return found


def _is_last_page(body: Mapping[str, Any], start: int, size: int, elements: list[Any]) -> bool:
    """Offset paging ends on a short page, at `paging.total`, or without a `next` link."""
    if len(elements) < size:
        return True
    paging = body.get("paging")
    if not isinstance(paging, dict):
        return False
    total = paging.get("total")
    if isinstance(total, int) and start + size >= total:
        return True
    links = paging.get("links")
    return isinstance(links, list) and not any(
        isinstance(link, dict) and link.get("rel") == "next" for link in links
    )


def _stats_query(org: str, urns: list[str]) -> str:
    """Rest.li query: URNs URL-encoded inside literal `List(...)` (httpx would escape parens)."""
    shares = [quote(u, safe="") for u in urns if u.startswith("urn:li:share:")]
    ugc = [quote(u, safe="") for u in urns if not u.startswith("urn:li:share:")]
    query = f"q=organizationalEntity&organizationalEntity={quote(org, safe='')}"
    if shares:
        query += f"&shares=List({','.join(shares)})"
    if ugc:
        query += f"&ugcPosts=List({','.join(ugc)})"
    return query


class LinkedInConnector:
    """Collects one LinkedIn organization page (`external_id` = organization id or URN)."""

    platform = Platform.LINKEDIN

    def __init__(
        self, settings: CollectSettings, client: httpx.AsyncClient, pacer: RequestPacer
    ) -> None:
        """Use `client` (shared per platform) through `pacer`."""
        self._settings = settings
        self._client = client
        self._pacer = pacer
        self._base = settings.linkedin_base_url.rstrip("/") + "/rest"

    async def _get(
        self, run: Run, url: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {run.account.token.get_secret_value()}",
            "LinkedIn-Version": self._settings.linkedin_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        body = await self._pacer.get_json(
            self._client,
            url,
            params=params,
            headers=headers,
            classify=classify_linkedin,
            label=run.account.label,
            stats=run.stats,
        )
        if not isinstance(body, dict):
            raise MalformedResponse(f"{run.account.label}: LinkedIn body is not an object")
        return body

    async def collect(
        self, account: AccountSpec, *, watermark: Watermark | None, refresh_since: datetime | None
    ) -> CollectResult:
        """Read new posts (and posts newer than `refresh_since`) with their statistics."""
        run = Run(account, Window.of(watermark, refresh_since))
        followers = await self._followers(run)
        followers_at = datetime.now(UTC)
        if (
            Watermark.first_run(watermark)
            and followers is not None
            and self._settings.follower_backfill_days
        ):
            gains = await self._follower_gains(run, followers_at)
            run.follower_history = totals_from_gains(followers, gains)
        try:
            async with asyncio.TaskGroup() as group:
                await self._read_pages(run, group)
        except BaseExceptionGroup as eg:
            raise first_collect_error(eg) from None
        return run.result(followers, followers_at, watermark)

    async def _read_pages(self, run: Run, group: asyncio.TaskGroup) -> None:
        """Page through the posts; start a statistics task for each page's kept posts."""
        size = self._settings.linkedin_page_size
        params = {"author": org_urn(run.account.external_id), "q": "author", "sortBy": "CREATED"}
        start = 0
        while True:
            query = params | {"count": str(size), "start": str(start)}
            body = await self._get(run, f"{self._base}/posts", query)
            run.pages += 1
            elements = body.get("elements")
            if not isinstance(elements, list):
                raise MalformedResponse(f"{run.account.label}: posts page has no elements")
            fresh, more = self._select(run, elements)
            if fresh:
                group.create_task(self._add_with_stats(run, fresh))
            if not more or _is_last_page(body, start, size, elements):
                return
            start += size

    def _select(self, run: Run, elements: list[Any]) -> tuple[list[dict[str, Any]], bool]:
        """Published posts of the page inside the window, not seen before."""
        fresh: list[dict[str, Any]] = []
        more = True
        for post in elements:
            if not isinstance(post, dict) or post.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
                continue  # drafts and deleted posts are not posts yet (or any more)
            posted = parse_epoch_ms(post.get("publishedAt", post.get("createdAt")), "publishedAt")
            if not run.window.keeps(posted):
                more = False
            elif run.claim(str(post.get("id"))):
                fresh.append(post)
        return fresh, more

    async def _add_with_stats(self, run: Run, posts: list[dict[str, Any]]) -> None:
        stats = await self._stats(run, [str(p["id"]) for p in posts])
        acc = run.account
        for post in posts:
            found = stats.get(str(post["id"]))
            run.add(
                map_li_post(post, found, handle=acc.handle, timezone=acc.timezone, followers=None)
            )

    async def _stats(self, run: Run, urns: list[str]) -> dict[str, dict[str, Any]]:
        """Lifetime share statistics of the given posts (absent posts had no activity)."""
        found: dict[str, dict[str, Any]] = {}
        org = org_urn(run.account.external_id)
        for i in range(0, len(urns), _STATS_BATCH):
            query = _stats_query(org, urns[i : i + _STATS_BATCH])
            url = f"{self._base}/organizationalEntityShareStatistics?{query}"
            found |= share_statistics(await self._get(run, url))
        return found

    async def _follower_gains(self, run: Run, now: datetime) -> list[tuple[datetime, int]]:
        """Daily follower gains (organic + paid) over the backfill period, in one call.

        A refusal (for example a token without the statistics permission) ends the backfill,
        not the run.
        """
        end = int(now.timestamp() * 1000)
        start = end - self._settings.follower_backfill_days * 86_400_000
        org = quote(org_urn(run.account.external_id), safe="")
        query = (
            f"q=organizationalEntity&organizationalEntity={org}&timeIntervals="
            f"(timeRange:(start:{start},end:{end}),timeGranularityType:DAY)"
        )
        url = f"{self._base}/organizationalEntityFollowerStatistics?{query}"
        try:
            body = await self._get(run, url)
        except RequestRejected as exc:
            logger.info("%s: no follower history: %s", run.account.label, exc.message)
            return []
        return follower_gains(body)

    async def _followers(self, run: Run) -> int | None:
        """Total followers from `networkSizes` (follower statistics no longer carry totals)."""
        org = quote(org_urn(run.account.external_id), safe="")
        body = await self._get(
            run, f"{self._base}/networkSizes/{org}", {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}
        )
        return count(body.get("firstDegreeSize"))

    async def fetch_post(self, account: AccountSpec, post_id: str) -> dict[str, Any] | None:
        """One post with fresh statistics and the account's current followers, or None."""
        run = Run(account, Window(None, None))
        try:
            post = await self._get(run, f"{self._base}/posts/{quote(post_id, safe='')}")
        except NotFound:
            return None
        stats = await self._stats(run, [post_id])
        followers = await self._followers(run)
        return map_li_post(
            post,
            stats.get(post_id),
            handle=account.handle,
            timezone=account.timezone,
            followers=followers,
        )
