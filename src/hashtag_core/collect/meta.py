"""Graph API plumbing shared by the Instagram and Facebook connectors.

Errors are decided by `error.code`, not by HTTP status (Meta returns throttling mostly as HTTP
400): 190/102 and 10/200-299 need re-authorisation, 4/17/32/613/8000x are rate limits, 1/2 or
`is_transient` are retried, 100 with subcode 33 means the object does not exist, 2635 (or an
unknown `/vNN.N` path) means the configured Graph version is gone. On one item's insights,
10/200-299 (and 100/2108006) are about that item, not the token: its metrics stay unknown.

One refused metric fails the whole insights call (error 100; Meta removed several in 2025):
the call is repeated metric by metric, and a metric refused that way is not asked for again by
this connector (per API version, see `metrics_for`).

Paging follows `paging.next` until it is absent. The link carries the access token in its query;
we drop that parameter and send the token in the Authorization header instead, so no URL we
request or log ever holds it, and we refuse links that point to another host.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

import httpx

from hashtag_core.collect.base import (
    Run,
    Window,
    count,
    first_collect_error,
    parse_time,
    totals_from_gains,
)
from hashtag_core.collect.errors import MalformedResponse, NotFound, RequestRejected
from hashtag_core.collect.http import Classifier, Outcome, RequestPacer, Verdict
from hashtag_core.collect.ratelimit import meta_usage, retry_after_s
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.platforms import Platform

__all__ = [
    "GraphApi",
    "GraphConnector",
    "classify_meta",
    "classify_meta_item",
    "daily_net_gains",
    "insight_values",
]

logger = logging.getLogger("hashtag_core.collect")

_AUTH_CODES = frozenset({102, 190, 10})
_THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80003, 80004, 80005, 80006, 80008})
_TRANSIENT_CODES = frozenset({1, 2})
_UNKNOWN_VERSION = re.compile(r"Unknown path components: /v\d+\.\d+", re.I)


def _error_verdict(response: httpx.Response, error: Mapping[str, Any], now: float) -> Verdict:
    """Verdict for a Graph API error object."""
    code = error.get("code")
    detail = f"code {code}: {error.get('message', '')}".strip()
    if code == 2635 or (code == 2500 and _UNKNOWN_VERSION.search(str(error.get("message")))):
        return Verdict(Outcome.VERSION_GONE, detail)
    if code == 10 and "viewers" in str(error.get("message", "")).lower():
        # "(#10) Not enough viewers for the media to show insights": a property of the post.
        return Verdict(Outcome.REJECTED, detail)
    if code in _AUTH_CODES or (isinstance(code, int) and 200 <= code < 300):
        return Verdict(Outcome.AUTH, detail)
    if code in _THROTTLE_CODES:
        usage = meta_usage(response.headers)
        wait = retry_after_s(response.headers, now)
        return Verdict(Outcome.RATE_LIMITED, detail, wait or (usage.regain_s if usage else None))
    if code in _TRANSIENT_CODES or error.get("is_transient") is True:
        return Verdict(Outcome.RETRY, detail)
    if code == 100 and error.get("error_subcode") == 33:
        return Verdict(Outcome.NOT_FOUND, detail)
    if response.status_code >= 500:
        return Verdict(Outcome.RETRY, detail)
    return Verdict(Outcome.REJECTED, detail)


def classify_meta(response: httpx.Response, body: Any, now: float) -> Verdict:
    """Classify a Graph API response (Facebook and Instagram alike)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return _error_verdict(response, error, now)
    status = response.status_code
    if status < 300:
        return Verdict(Outcome.OK)
    detail = f"HTTP {status}"
    if status >= 500:
        return Verdict(Outcome.RETRY, detail, retry_after_s(response.headers, now))
    if status == 429:
        return Verdict(Outcome.RATE_LIMITED, detail, retry_after_s(response.headers, now))
    if status in (401, 403):
        return Verdict(Outcome.AUTH, detail)
    if status == 404:
        return Verdict(Outcome.NOT_FOUND, detail)
    return Verdict(Outcome.REJECTED, detail)


def classify_meta_item(response: httpx.Response, body: Any, now: float) -> Verdict:
    """`classify_meta` for one item's insights: permission errors are about that item.

    `(#10) Application does not have permission for this action` (and 200-299, 100/2108006)
    come for some media types or media older than the business account while the rest of the
    account works; re-authorising does not change them. Token errors (190, 102) still count.
    """
    verdict = classify_meta(response, body, now)
    error = body.get("error") if isinstance(body, dict) else None
    if verdict.outcome is Outcome.AUTH and isinstance(error, dict):
        code = error.get("code")
        if code not in (102, 190) and isinstance(code, int):
            return Verdict(Outcome.REJECTED, verdict.detail)
    if isinstance(error, dict) and error.get("error_subcode") == 2108006:
        # "Media posted before business account conversion": about this item, not about a
        # metric, so not worth asking metric by metric (see `_refuses_metric`).
        title = error.get("error_user_title") or error.get("message", "")
        return Verdict(Outcome.REJECTED, f"code 100, subcode 2108006: {title}")
    return verdict


def insight_values(body: Any) -> dict[str, int]:
    """`{metric name: lifetime value}` from an insights body; missing data = missing key.

    Meta answers missing data with an empty `data` array, not zeros, so absent metrics stay
    unknown. Values come as `values[0].value` or (newer metrics) `total_value.value`.
    """
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise MalformedResponse("insights body has no data array")
    values: dict[str, int] = {}
    for item in body["data"]:
        name = item.get("name") if isinstance(item, dict) else None
        value = _insight_value(item) if isinstance(name, str) else None
        if isinstance(name, str) and isinstance(value, int) and not isinstance(value, bool):
            values[name] = value
    return values


def _insight_value(item: dict[str, Any]) -> Any:
    """The lifetime value of one insights entry (None when it has none)."""
    series = item.get("values")
    if isinstance(series, list) and series and isinstance(series[-1], dict):
        return series[-1].get("value")
    total = item.get("total_value")
    return total.get("value") if isinstance(total, dict) else None


def daily_net_gains(body: Any) -> list[tuple[datetime, int]]:
    """`(end_time, net gain)` per day from a period=day insights body (unfollows subtract)."""
    net: dict[datetime, int] = {}
    data = body.get("data") if isinstance(body, dict) else None
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            continue
        sign = -1 if "unfollow" in str(item.get("name", "")) else 1
        for point in item["values"]:
            value = point.get("value") if isinstance(point, dict) else None
            if isinstance(value, int) and not isinstance(value, bool):
                end = parse_time(point.get("end_time"), "end_time")
                net[end] = net.get(end, 0) + sign * value
    return sorted(net.items())


def _refuses_metric(exc: RequestRejected) -> bool:
    """Whether an insights refusal is error 100 (an invalid or removed metric)."""
    return "code 100:" in exc.message


class GraphApi:
    """GET and page through one Graph API host and version."""

    def __init__(
        self, base_url: str, version: str, client: httpx.AsyncClient, pacer: RequestPacer
    ) -> None:
        """`base_url` without the version, e.g. https://graph.facebook.com."""
        self._root = httpx.URL(base_url.rstrip("/") + "/" + version + "/")
        self._client = client
        self._pacer = pacer

    def url(self, path: str) -> str:
        """Absolute URL of an object or edge path such as `12345/media`."""
        return str(self._root.join(path.lstrip("/")))

    @property
    def version(self) -> str:
        """The Graph API version this client calls, e.g. `v22.0`."""
        return self._root.path.strip("/").rsplit("/", 1)[-1]

    async def get(
        self,
        run: Run,
        url: str,
        params: Mapping[str, str] | None = None,
        classify: Classifier = classify_meta,
    ) -> Any:
        """GET a Graph URL with the account's token; returns the parsed JSON object."""
        body = await self._pacer.get_json(
            self._client,
            url,
            params=params,
            headers={"Authorization": f"Bearer {run.account.token.get_secret_value()}"},
            classify=classify,
            label=run.account.label,
            stats=run.stats,
        )
        if not isinstance(body, dict):
            raise MalformedResponse(f"{run.account.label}: Graph API body is not an object")
        return body

    async def pages(
        self, run: Run, path: str, params: Mapping[str, str]
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """Yield the `data` of each page of an edge, following `paging.next` to the end."""
        url: str | None = self.url(path)
        query: Mapping[str, str] | None = params
        while url is not None:
            body = await self.get(run, url, query)
            run.pages += 1
            data = body.get("data")
            if not isinstance(data, list):
                raise MalformedResponse(f"{run.account.label}: page has no data array")
            yield [item for item in data if isinstance(item, dict)]
            url, query = self._next_url(run, body), None

    def _next_url(self, run: Run, body: dict[str, Any]) -> str | None:
        """`paging.next` without its access_token, or None on the last page."""
        paging = body.get("paging")
        link = paging.get("next") if isinstance(paging, dict) else None
        if not link:
            return None
        next_url = httpx.URL(str(link))
        if (next_url.scheme, next_url.host, next_url.port) != (
            self._root.scheme,
            self._root.host,
            self._root.port,
        ):
            raise MalformedResponse(f"{run.account.label}: paging.next points to another host")
        return str(next_url.copy_remove_param("access_token"))


class GraphConnector:
    """Shared collect/fetch logic of the Instagram and Facebook connectors.

    Subclasses name the edge, fields, insight metrics and mapping. Insights of one page are
    fetched concurrently while the next page loads (the pacer bounds the requests in flight).
    """

    platform: Platform
    edge: str  # "media" or "posts"
    fields: str
    metrics: str  # comma list, for any Graph version not in `metrics_by_version`
    #: Insight metrics per Graph API version (Meta removes and renames metrics by version).
    metrics_by_version: Mapping[str, tuple[str, ...]] = {}
    #: Whether a metric refused once is refused for every post (Facebook: removed metrics),
    #: or only for that post's media type (Instagram).
    metric_refusal_is_global = False
    time_field: str  # "timestamp" or "created_time"
    follower_fields: str
    #: Account insights giving daily follower changes (`*unfollows*` ones count negative),
    #: and the longest since..until range Meta takes for them.
    history_metrics: tuple[str, ...] = ()
    history_window_days: int = 30

    def __init__(self, graph: GraphApi, page_size: int, backfill_days: int = 0) -> None:
        """Page through `graph` with `page_size` items per page."""
        self._graph = graph
        self._page_size = page_size
        self._backfill_days = backfill_days
        self._refused: set[str] = set()  # metrics Meta refused (error 100) in this version

    def map(
        self,
        post: Mapping[str, Any],
        insights: Mapping[str, int] | None,
        account: AccountSpec,
        followers: int | None,
    ) -> dict[str, Any]:
        """Map one post and its insights to a PostRecord-compatible dict."""
        raise NotImplementedError

    async def collect(
        self, account: AccountSpec, *, watermark: Watermark | None, refresh_since: datetime | None
    ) -> CollectResult:
        """Read new posts (and posts newer than `refresh_since`) with their insights."""
        run = Run(account, Window.of(watermark, refresh_since))
        followers = await self._followers(run)
        followers_at = datetime.now(UTC)
        if Watermark.first_run(watermark) and followers is not None:
            gains = await self._follower_gains(run, followers_at)
            run.follower_history = totals_from_gains(followers, gains)
        params = {"fields": self.fields, "limit": str(self._page_size)}
        pages = self._graph.pages(run, f"{account.external_id}/{self.edge}", params)
        try:
            async with asyncio.TaskGroup() as group, aclosing(pages):
                async for page in pages:
                    fresh, more = self._select(run, page)
                    for post in fresh:
                        group.create_task(self._add_with_insights(run, post))
                    if not more:
                        break
        except BaseExceptionGroup as eg:
            raise first_collect_error(eg) from None
        return run.result(followers, followers_at, watermark)

    def _select(self, run: Run, page: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """Posts of the page inside the window, not seen before; False once older ones show."""
        fresh: list[dict[str, Any]] = []
        more = True
        for post in page:
            if not run.window.keeps(parse_time(post.get(self.time_field), self.time_field)):
                more = False
            elif run.claim(str(post.get("id"))):
                fresh.append(post)
        return fresh, more

    async def _add_with_insights(self, run: Run, post: dict[str, Any]) -> None:
        insights = await self._insights(run, str(post["id"]))
        record = self.map(post, insights, run.account, None)
        run.add(record | await self.extras(run, post))

    async def extras(self, run: Run, post: Mapping[str, Any]) -> dict[str, Any]:
        """More fields of a post's record that need a call of their own (none by default)."""
        return {}

    def metrics_for(self, version: str) -> tuple[str, ...]:
        """Insight metrics to ask for under a Graph version, less those refused so far."""
        listed = self.metrics_by_version.get(version, self.metrics.split(","))
        return tuple(m for m in listed if m not in self._refused)

    async def _insights(self, run: Run, post_id: str) -> dict[str, int] | None:
        """Lifetime insights of one post; None when Meta refuses them all for this post."""
        url = self._graph.url(f"{post_id}/insights")
        metrics = self.metrics_for(self._graph.version)
        if not metrics:
            return None
        try:
            return await self._insight_call(run, url, metrics)
        except RequestRejected as exc:
            if len(metrics) == 1 or not _refuses_metric(exc):
                self._log_refusal(run, post_id, metrics, exc)
                return None
        # One refused metric fails the whole call: ask for each alone, keep what comes.
        found: dict[str, int] = {}
        for metric in metrics:
            try:
                found |= await self._insight_call(run, url, (metric,))
            except RequestRejected as exc:
                if _refuses_metric(exc) and self.metric_refusal_is_global:
                    self._refused.add(metric)  # removed in this version: stop asking
                self._log_refusal(run, post_id, (metric,), exc)
        return found or None

    async def _insight_call(self, run: Run, url: str, metrics: tuple[str, ...]) -> dict[str, int]:
        body = await self._graph.get(run, url, {"metric": ",".join(metrics)}, classify_meta_item)
        return insight_values(body)

    @staticmethod
    def _log_refusal(
        run: Run, post_id: str, metrics: tuple[str, ...], exc: RequestRejected
    ) -> None:
        # e.g. "(#10) Not enough viewers", "(#10) Application does not have permission" for
        # one media item, or a metric this media type lacks: the counters are unknown for
        # this post, which must not fail the whole account.
        logger.warning(
            "%s: no %s insights for %s: %s",
            run.account.label,
            ",".join(metrics),
            post_id,
            exc.message,
        )

    async def _follower_gains(self, run: Run, now: datetime) -> list[tuple[datetime, int]]:
        """Daily follower gains of the last `backfill_days`, newest window first.

        Windows go back until Meta refuses one (Instagram keeps 30 days); a refusal (a
        missing insights permission included) ends the backfill, not the run.
        """
        if not self.history_metrics or not self._backfill_days:
            return []
        url = self._graph.url(f"{run.account.external_id}/insights")
        oldest = int(now.timestamp()) - self._backfill_days * 86_400
        until = int(now.timestamp())
        gains: list[tuple[datetime, int]] = []
        while until > oldest:
            since = max(until - self.history_window_days * 86_400, oldest)
            params = {
                "metric": ",".join(self.history_metrics),
                "period": "day",
                "since": str(since),
                "until": str(until),
            }
            try:
                body = await self._graph.get(run, url, params, classify_meta_item)
            except RequestRejected as exc:
                logger.info("%s: follower history stops: %s", run.account.label, exc.message)
                break
            gains += daily_net_gains(body)
            until = since
        return gains

    async def _followers(self, run: Run) -> int | None:
        """The account's `followers_count` field."""
        url = self._graph.url(run.account.external_id)
        body = await self._graph.get(run, url, {"fields": self.follower_fields})
        if isinstance(body.get("username"), str):
            run.owner = body["username"]
        return count(body.get("followers_count"))

    async def fetch_post(self, account: AccountSpec, post_id: str) -> dict[str, Any] | None:
        """One post with fresh metrics and the account's current followers, or None."""
        run = Run(account, Window(None, None))
        try:
            post = await self._graph.get(run, self._graph.url(post_id), {"fields": self.fields})
        except NotFound:
            return None
        insights = await self._insights(run, post_id)
        followers = await self._followers(run)
        return self.map(post, insights, account, followers)
