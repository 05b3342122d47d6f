"""X (API v2) connector: a user's timeline, newest first, paged by `next_token`.

Metrics come from `public_metrics` (docs/metrics.md): likes = like_count, comments =
reply_count, shares = retweet_count + quote_count, saves = bookmark_count, impressions =
impression_count, reach is not reported. Followers come from `includes.users` (the author
expansion) or, when the run returned no posts, from a users lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from hashtag_core.collect.base import Run, Window, count, parse_time
from hashtag_core.collect.errors import MalformedResponse, NotFound
from hashtag_core.collect.http import Outcome, RequestPacer, Verdict
from hashtag_core.collect.ratelimit import retry_after_s
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.platforms import Platform

__all__ = ["XConnector", "classify_x", "map_tweet"]

TWEET_FIELDS = "id,text,created_at,author_id,entities,public_metrics"
USER_FIELDS = "username,public_metrics"
_AUTH_PROBLEMS = ("client-forbidden", "unsupported-authentication", "not-authorized-for-resource")


def _problem(body: Any) -> tuple[str, str]:
    """(type suffix, human detail) of an RFC 7807 problem body; tolerant of v1.1 shapes."""
    if not isinstance(body, dict):
        return "", ""
    kind = str(body.get("type", "")).rsplit("/", 1)[-1]
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    errors = body.get("errors")
    if isinstance(errors, list):
        parts += [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
    return kind, ": ".join(parts)


def _reset_wait(headers: httpx.Headers, now: float) -> float | None:
    """Seconds until `x-rate-limit-reset`, if the header is there."""
    reset = headers.get("x-rate-limit-reset")
    return max(int(reset) - now, 0.0) + 1.0 if reset and reset.isdigit() else None


def classify_x(response: httpx.Response, body: Any, now: float) -> Verdict:
    """Classify an X API v2 response."""
    status = response.status_code
    if status < 300:
        return Verdict(Outcome.OK)
    kind, detail = _problem(body)
    detail = f"HTTP {status} {detail}".strip()
    if kind == "usage-capped":  # monthly/daily caps outlast any wait we would accept
        return Verdict(Outcome.RATE_LIMITED, detail, float("inf"))
    if status == 429:
        wait = retry_after_s(response.headers, now)
        return Verdict(Outcome.RATE_LIMITED, detail, wait or _reset_wait(response.headers, now))
    if status == 401 or (status == 403 and kind in _AUTH_PROBLEMS):
        return Verdict(Outcome.AUTH, detail)
    if status == 404 or kind == "resource-not-found":
        return Verdict(Outcome.NOT_FOUND, detail)
    if status >= 500:
        return Verdict(Outcome.RETRY, detail, retry_after_s(response.headers, now))
    return Verdict(Outcome.REJECTED, detail)


def map_tweet(
    tweet: Mapping[str, Any], *, handle: str, timezone: str, followers: int | None
) -> dict[str, Any]:
    """A PostRecord-compatible dict from one X v2 Tweet object."""
    post_id = tweet.get("id")
    if not isinstance(post_id, str) or not post_id:
        raise MalformedResponse(f"tweet without a string id: {post_id!r}")
    metrics = tweet.get("public_metrics") or {}
    retweets, quotes = count(metrics.get("retweet_count")), count(metrics.get("quote_count"))
    return {
        "platform": Platform.X.value,
        "post_id": post_id,
        "account": handle,
        "text": str(tweet.get("text", "")),
        "posted_at": parse_time(tweet.get("created_at"), "created_at"),
        "likes": count(metrics.get("like_count")),
        "comments": count(metrics.get("reply_count")),
        # quote_count is optional in X's schema: without it, shares are just reposts.
        "shares": None if retweets is None else retweets + (quotes or 0),
        "saves": count(metrics.get("bookmark_count")),
        "impressions": count(metrics.get("impression_count")),
        "reach": None,  # X has no per-post reach
        "followers": followers,
        "url": f"https://x.com/{handle}/status/{post_id}",
        "account_timezone": timezone,
    }


def _followers_in(body: Mapping[str, Any], user_id: str) -> int | None:
    """The account's followers_count from `includes.users`, if it is there."""
    users = (body.get("includes") or {}).get("users") or []
    for user in users:
        if isinstance(user, dict) and user.get("id") == user_id:
            return count((user.get("public_metrics") or {}).get("followers_count"))
    return None


def _iso_seconds(moment: datetime) -> str:
    """X's `YYYY-MM-DDTHH:mm:ssZ` (second granularity, floored so the bound stays inclusive)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class XConnector:
    """Collects one X account's posts from `GET /2/users/{id}/tweets`."""

    platform = Platform.X

    def __init__(
        self, settings: CollectSettings, client: httpx.AsyncClient, pacer: RequestPacer
    ) -> None:
        """Use `client` (shared per platform) through `pacer`."""
        self._settings = settings
        self._client = client
        self._pacer = pacer
        self._base = settings.x_base_url.rstrip("/")

    async def _get(self, run: Run, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        body = await self._pacer.get_json(
            self._client,
            self._base + path,
            params=params,
            headers={"Authorization": f"Bearer {run.account.token.get_secret_value()}"},
            classify=classify_x,
            label=run.account.label,
            stats=run.stats,
        )
        if not isinstance(body, dict):
            raise MalformedResponse(f"{run.account.label}: X body is not an object")
        return body

    def _bounds(self, watermark: Watermark | None, window: Window) -> dict[str, str]:
        """Server-side lower bound: `since_id`, or `start_time` when refreshing further back."""
        since_id = watermark.since_id if watermark else None
        bound = window.bound
        if since_id and (bound is None or window.since_time is None or bound >= window.since_time):
            return {"since_id": since_id}
        if bound is None:
            return {}
        # ID parameters win over time parameters at X, so never send both.
        return {"start_time": _iso_seconds(bound)}

    async def collect(
        self, account: AccountSpec, *, watermark: Watermark | None, refresh_since: datetime | None
    ) -> CollectResult:
        """Read new posts (and those newer than `refresh_since`) of one account."""
        run = Run(account, Window.of(watermark, refresh_since))
        params = {
            "max_results": str(self._settings.x_page_size),
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
            # Retweets carry the original post's counts, not this account's (see ingest).
            "exclude": "retweets",
            **self._bounds(watermark, run.window),
        }
        followers = await self._read_pages(run, params)
        followers_at = datetime.now(UTC)
        if followers is None:
            followers = await self._lookup_followers(run)
        return run.result(followers, followers_at, watermark)

    async def _read_pages(self, run: Run, params: dict[str, str]) -> int | None:
        """Page through the timeline; return the followers seen in `includes.users`."""
        followers: int | None = None
        path = f"/2/users/{run.account.external_id}/tweets"
        token: str | None = None
        while True:
            page = dict(params, pagination_token=token) if token else params
            body = await self._get(run, path, page)
            run.pages += 1
            if followers is None:
                followers = _followers_in(body, run.account.external_id)
            if not self._keep(run, body.get("data") or []):
                return followers
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return followers

    def _keep(self, run: Run, tweets: list[Any]) -> bool:
        """Keep the page's posts inside the window; False once older posts appear."""
        more = True
        for tweet in tweets:
            if not isinstance(tweet, dict):
                raise MalformedResponse(f"{run.account.label}: tweet is not an object")
            record = map_tweet(
                tweet, handle=run.account.handle, timezone=run.account.timezone, followers=None
            )
            if not run.window.keeps(record["posted_at"]):
                more = False
            elif run.claim(record["post_id"]):
                run.add(record)
        return more

    async def _lookup_followers(self, run: Run) -> int | None:
        """`GET /2/users/{id}` for the follower count."""
        body = await self._get(
            run, f"/2/users/{run.account.external_id}", {"user.fields": USER_FIELDS}
        )
        user = body.get("data") or {}
        return count((user.get("public_metrics") or {}).get("followers_count"))

    async def fetch_post(self, account: AccountSpec, post_id: str) -> dict[str, Any] | None:
        """One post with fresh metrics, or None if X no longer has it."""
        run = Run(account, Window(None, None))
        params = {"tweet.fields": TWEET_FIELDS, "expansions": "author_id"}
        try:
            body = await self._get(
                run, f"/2/tweets/{post_id}", params | {"user.fields": USER_FIELDS}
            )
        except NotFound:
            return None
        tweet = body.get("data")
        if not isinstance(tweet, dict):  # X reports a missing post as a 200 with `errors`
            return None
        followers = _followers_in(body, account.external_id)
        return map_tweet(
            tweet, handle=account.handle, timezone=account.timezone, followers=followers
        )
