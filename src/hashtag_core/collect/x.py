"""X (API v2) connector: one account's posts, newest first, paged by `meta.next_token`.

Posts come from the user timeline `GET /2/users/{id}/tweets` (`x_source = "timeline"`) or from
recent search `GET /2/tweets/search/recent?query=from:<user id> -is:retweet`
(`x_source = "search"`). `from:` takes the account's numeric user id, which survives a rename
(the handle is used only when the stored id is not numeric). Search reaches the last 7 days
only: its lower bound (the watermark's `since_id`, or `start_time` for the refresh window) is
raised to that horizon, and posts older than it are never collected.

Metrics (docs/metrics.md): from `public_metrics`, likes = like_count, comments = reply_count,
shares = retweet_count + quote_count, saves = bookmark_count, impressions = impression_count;
reach is not reported. With `x_owned_metrics` the request adds
`non_public_metrics,organic_metrics`, and a post that carries `organic_metrics` (the owner's
user-context token, post under 30 days old) takes likes, comments, reposts and impressions from
there: organic = not paid, what a hashtag earns. Quotes and bookmarks stay public (X counts no
paid quotes or bookmarks). If X refuses the private fields to the token (a 403 for the whole
request, or a 200 whose `errors` name them for a post young enough to have them), the run
repeats that request without them, carries on with public metrics and logs one warning. A token
that fails without them too is a real auth failure (AuthExpired).

Followers come from `includes.users` (the author expansion) or, when the run returned no posts,
from a users lookup.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hashtag_core.collect.base import Run, Window, count, parse_time
from hashtag_core.collect.errors import MalformedResponse, NotFound
from hashtag_core.collect.http import Classifier, Outcome, RequestPacer, Verdict
from hashtag_core.collect.ratelimit import retry_after_s
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.text import x_text
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.platforms import Platform

__all__ = ["XConnector", "classify_x", "map_tweet", "search_query", "snowflake_time"]

logger = logging.getLogger("hashtag_core.collect.x")

# `note_tweet` holds the whole text of a post over 280 characters (`text` is cut);
# `edit_history_tweet_ids` lists every version of an edited post, oldest first.
TWEET_FIELDS = (
    "id,text,note_tweet,created_at,author_id,entities,public_metrics,edit_history_tweet_ids"
)
PRIVATE_FIELDS = "non_public_metrics,organic_metrics"
USER_FIELDS = "username,public_metrics"
#: How far back recent search reaches, and how long X serves a post's private metrics.
SEARCH_DAYS = 7
PRIVATE_DAYS = 30
# X checks the 7 days against its own clock when the request arrives: stay clear of the edge.
_SEARCH_MARGIN = timedelta(minutes=2)
# Field errors on posts this old may be X's 30-day rule, not a refusal of the token.
_PRIVATE_AGE_SLACK = timedelta(days=1)
_X_EPOCH_MS = 1_288_834_974_657  # snowflake ids count milliseconds from here
_NUMERIC = re.compile(r"[0-9]+")  # an X user id (ASCII digits only; str.isdigit takes more)
_AUTH_PROBLEMS = ("client-forbidden", "unsupported-authentication", "not-authorized-for-resource")
_PRIVATE_NAMES = frozenset({"non_public_metrics", "organic_metrics", "promoted_metrics"})
# 403 problems that may only mean "not these fields with this token": retried without them.
_PRIVATE_REFUSALS = frozenset(
    {"client-forbidden", "unsupported-authentication", "not-authorized-for-field"}
)


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


def _credits_wait(headers: httpx.Headers, now: float) -> float:
    """Seconds to the announced reset, else to the next 00:00 UTC."""
    announced = retry_after_s(headers, now) or _reset_wait(headers, now)
    if announced:
        return announced
    today = datetime.fromtimestamp(now, UTC).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    return midnight.timestamp() - now


def classify_x(response: httpx.Response, body: Any, now: float) -> Verdict:
    """Classify an X API v2 response."""
    status = response.status_code
    if status < 300:
        return Verdict(Outcome.OK)
    kind, detail = _problem(body)
    detail = f"HTTP {status} {detail}".strip()
    if kind == "usage-capped":  # monthly/daily caps outlast any wait we would accept
        return Verdict(Outcome.RATE_LIMITED, detail, float("inf"))
    if status == 402 or kind == "credits":
        # Pay-per-use credits are used up: a billing state of the account's plan, like a usage
        # cap. Wait for the announced reset, else until the next UTC day (X bills per day).
        reason = f"{detail}: X pay-per-use credits are depleted; add credits in the X console"
        return Verdict(Outcome.RATE_LIMITED, reason, _credits_wait(response.headers, now))
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


def _refusal_aware(refused: list[str]) -> Classifier:
    """classify_x, except that a 403 which may refuse only the private fields is handed back.

    The caller finds its detail in `refused` and repeats the request without those fields:
    only if that fails too is the token itself at fault.
    """

    def classify(response: httpx.Response, body: Any, now: float) -> Verdict:
        if response.status_code == 403:
            kind, detail = _problem(body)
            if kind in _PRIVATE_REFUSALS:
                refused.append(f"HTTP 403 {detail}".strip())
                return Verdict(Outcome.OK)
        return classify_x(response, body, now)

    return classify


def snowflake_time(post_id: Any) -> datetime | None:
    """When an X id (a snowflake: milliseconds since X's epoch, shifted by 22 bits) was made."""
    if not isinstance(post_id, str) or not post_id.isdigit():
        return None
    return datetime.fromtimestamp(((int(post_id) >> 22) + _X_EPOCH_MS) / 1000, UTC)


def _metrics(tweet: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = tweet.get(name)
    if value is not None and not isinstance(value, dict):
        raise MalformedResponse(f"tweet {name} is not an object: {value!r}")
    return value


def map_tweet(
    tweet: Mapping[str, Any], *, handle: str, timezone: str, followers: int | None
) -> dict[str, Any]:
    """A PostRecord-compatible dict from one X v2 Tweet object.

    With `organic_metrics` (owned metrics, post under 30 days old) likes, comments, reposts and
    impressions are organic; otherwise everything is `public_metrics`.
    """
    post_id = tweet.get("id")
    if not isinstance(post_id, str) or not post_id:
        raise MalformedResponse(f"tweet without a string id: {post_id!r}")
    public = _metrics(tweet, "public_metrics") or {}
    organic = _metrics(tweet, "organic_metrics")
    counters = public if organic is None else organic
    impressions = count(public.get("impression_count"))
    if organic is not None:  # organic impressions, else the private (then public) total
        private = _metrics(tweet, "non_public_metrics") or {}
        for value in (organic.get("impression_count"), private.get("impression_count")):
            if value is not None:
                impressions = count(value)
                break
    # X's 2026 OpenAPI document spells reposts `repost_count`; the prose docs `retweet_count`.
    retweets = count(counters.get("retweet_count", counters.get("repost_count")))
    quotes = count(public.get("quote_count"))
    return {
        "platform": Platform.X.value,
        "post_id": post_id,
        "account": handle,
        "text": x_text(tweet),
        "posted_at": parse_time(tweet.get("created_at"), "created_at"),
        "likes": count(counters.get("like_count")),
        "comments": count(counters.get("reply_count")),
        # quote_count is optional in X's schema: without it, shares are just reposts.
        "shares": None if retweets is None else retweets + (quotes or 0),
        "saves": count(public.get("bookmark_count")),
        "impressions": impressions,
        "reach": None,  # X has no per-post reach
        "followers": followers,
        "url": f"https://x.com/{handle}/status/{post_id}",
        "account_timezone": timezone,
    }


def edit_history(tweet: Mapping[str, Any]) -> list[str]:
    """The ids of an edited post's versions, oldest first; [] when it was never edited."""
    ids = tweet.get("edit_history_tweet_ids", tweet.get("edit_history_post_ids"))
    if not isinstance(ids, list) or len(ids) < 2:
        return []
    return [str(i) for i in ids]


def _adopt_history(run: Run, record: dict[str, Any], history: list[str]) -> None:
    """Make `record` (the latest version) the one post of its edit chain."""
    earlier = history[:-1]
    for old in earlier:
        if run.posts.pop(old, None) is not None:
            run.duplicates += 1
        run.superseded.add(old)
    run.replaced[record["post_id"]] = earlier
    # The post went out when its first version did; an edit does not make it newer.
    first = snowflake_time(history[0])
    if first is not None:
        first = first.replace(microsecond=0)  # X's created_at has whole seconds; ids have ms
        if first < record["posted_at"]:
            record["posted_at"] = first


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


def _tweets_of(body: Mapping[str, Any]) -> list[Any]:
    """`data` of a list response, or the one tweet of a lookup."""
    data = body.get("data")
    return data if isinstance(data, list) else [data] if isinstance(data, dict) else []


def _posted(tweet: Mapping[str, Any] | None, post_id: Any) -> datetime | None:
    """A post's time from its `created_at`, else from its snowflake id."""
    if tweet is not None and isinstance(tweet.get("created_at"), str):
        try:
            return parse_time(tweet["created_at"])
        except MalformedResponse:
            pass
    return snowflake_time(post_id)


def _names_private_field(error: Mapping[str, Any]) -> bool:
    """Whether a partial error (inside a 200) refuses one of the private metric fields."""
    name = error.get("field") or error.get("parameter")
    kind = str(error.get("type", "")).rsplit("/", 1)[-1]
    return name in _PRIVATE_NAMES or (kind == "not-authorized-for-field" and not name)


def _field_refusal(body: Mapping[str, Any], now: datetime) -> str | None:
    """The detail of a 200's partial error refusing the private fields to this token, if any.

    Errors about posts near or past X's 30-day limit are the age rule, not a refusal: those
    posts simply carry public metrics only.
    """
    errors = body.get("errors")
    if not isinstance(errors, list):
        return None
    tweets = {t.get("id"): t for t in _tweets_of(body) if isinstance(t, dict)}
    old = now - timedelta(days=PRIVATE_DAYS) + _PRIVATE_AGE_SLACK
    for error in errors:
        if not isinstance(error, dict) or not _names_private_field(error):
            continue
        post_id = str(error.get("resource_id") or error.get("value") or "")
        posted = _posted(tweets.get(post_id), post_id)
        if posted is None or posted > old:
            return ": ".join(str(error[k]) for k in ("title", "detail") if error.get(k))
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def search_query(account: AccountSpec) -> str:
    """The recent-search query for the account's own posts, retweets left out (they carry the
    original post's counts, not this account's; see ingest).

    `from:` names the user by numeric id when we have it: X accepts an id there as well as a
    username, and an id still matches after the account is renamed, when a stored handle
    would silently match nothing (or somebody else who took the name).
    """
    user = account.external_id
    if not _NUMERIC.fullmatch(user):
        user = account.handle.removeprefix("@")
    return f"from:{user} -is:retweet"


@dataclass
class _XRun(Run):
    """A run that also knows whether it still asks X for the private metrics."""

    owned: bool = False


class XConnector:
    """Collects one X account's posts from its timeline or from recent search."""

    platform = Platform.X

    def __init__(
        self,
        settings: CollectSettings,
        client: httpx.AsyncClient,
        pacer: RequestPacer,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Use `client` (shared per platform) through `pacer`; `clock` is X's idea of now."""
        self._settings = settings
        self._client = client
        self._pacer = pacer
        self._clock = clock
        self._base = settings.x_base_url.rstrip("/")

    async def _get(
        self,
        run: Run,
        path: str,
        params: Mapping[str, str],
        classify: Classifier = classify_x,
    ) -> dict[str, Any]:
        body = await self._pacer.get_json(
            self._client,
            self._base + path,
            params=params,
            headers={"Authorization": f"Bearer {run.account.token.get_secret_value()}"},
            classify=classify,
            label=run.account.label,
            stats=run.stats,
        )
        if not isinstance(body, dict):
            raise MalformedResponse(f"{run.account.label}: X body is not an object")
        return body

    async def _get_tweets(self, run: _XRun, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """GET posts, with the private metrics while the run still asks for them.

        A refusal of those fields repeats the request without them (and ends asking for them
        in this run); if that fails too, the pacer raises the real error (AuthExpired, ...).
        """
        if not run.owned:
            return await self._get(run, path, params)
        refused: list[str] = []
        owned = dict(params, **{"tweet.fields": f"{params['tweet.fields']},{PRIVATE_FIELDS}"})
        body = await self._get(run, path, owned, _refusal_aware(refused))
        detail = refused[0] if refused else _field_refusal(body, self._clock())
        if detail is None:
            return body
        run.owned = False
        body = await self._get(run, path, params)
        token = run.account.token.get_secret_value()
        logger.warning(
            "%s: X refused the private metrics to this token (%s); this run reads "
            "public_metrics only (x_owned_metrics needs the account's own user-context token)",
            run.account.label,
            detail.replace(token, "***") if len(token) >= 4 else detail,
        )
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

    def _search_bounds(
        self, run: Run, watermark: Watermark | None, now: datetime
    ) -> dict[str, str]:
        """`_bounds`, raised to recent search's 7-day horizon (X rejects older bounds)."""
        bounds = self._bounds(watermark, run.window)
        if not bounds:
            return {}  # no watermark: X's default window is the whole 7 days
        horizon = now - timedelta(days=SEARCH_DAYS) + _SEARCH_MARGIN
        since = watermark.since_time if watermark else None
        if "since_id" in bounds:  # X rejects a since_id older than the horizon, too
            lowest = since or snowflake_time(bounds["since_id"])
        else:
            lowest = run.window.bound
        if lowest is not None and lowest >= horizon:
            return bounds
        if since is not None and since < horizon:
            logger.warning(
                "%s: X recent search reaches back %d days only; posts between %s and %s "
                "cannot be collected (x_source=timeline reads further back)",
                run.account.label,
                SEARCH_DAYS,
                since.isoformat(),
                horizon.isoformat(),
            )
        return {"start_time": _iso_seconds(horizon)}

    async def collect(
        self, account: AccountSpec, *, watermark: Watermark | None, refresh_since: datetime | None
    ) -> CollectResult:
        """Read new posts (and those newer than `refresh_since`) of one account."""
        run = _XRun(
            account, Window.of(watermark, refresh_since), owned=self._settings.x_owned_metrics
        )
        params = {
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        size = self._settings.x_page_size
        if self._settings.x_source == "search":
            path, token_param = "/2/tweets/search/recent", "next_token"
            params |= {
                "query": search_query(account),
                "max_results": str(max(size, 10)),  # search accepts 10-100
                **self._search_bounds(run, watermark, self._clock()),
            }
        else:
            path, token_param = f"/2/users/{account.external_id}/tweets", "pagination_token"
            params |= {
                "max_results": str(size),
                "exclude": "retweets",  # see the query above
                **self._bounds(watermark, run.window),
            }
        followers = await self._read_pages(run, path, params, token_param)
        followers_at = datetime.now(UTC)
        if followers is None:
            followers = await self._lookup_followers(run)
        return run.result(followers, followers_at, watermark)

    async def _read_pages(
        self, run: _XRun, path: str, params: dict[str, str], token_param: str
    ) -> int | None:
        """Page through the posts; return the followers seen in `includes.users`."""
        followers: int | None = None
        token: str | None = None
        while True:
            page = dict(params, **{token_param: token}) if token else params
            body = await self._get_tweets(run, path, page)
            run.pages += 1
            if followers is None:
                followers = _followers_in(body, run.account.external_id)
            tweets = body.get("data") or []
            if not self._keep(run, tweets):
                return followers
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return followers
            self._past_private_age(run, tweets)

    def _past_private_age(self, run: _XRun, tweets: list[Any]) -> None:
        """Stop asking for private metrics once pages (newest first) pass X's 30 days."""
        if not run.owned or not tweets:
            return
        oldest = _posted(tweets[-1], tweets[-1].get("id"))
        if oldest is not None and oldest < self._clock() - timedelta(days=PRIVATE_DAYS):
            run.owned = False

    def _keep(self, run: Run, tweets: list[Any]) -> bool:
        """Keep the page's posts inside the window; False once older posts appear.

        An edited post is one post: its latest version is kept (with its first version's
        time) and the earlier ids are reported in `replaced`, never kept as posts of their own.
        """
        more = True
        for tweet in tweets:
            if not isinstance(tweet, dict):
                raise MalformedResponse(f"{run.account.label}: tweet is not an object")
            record = map_tweet(
                tweet, handle=run.account.handle, timezone=run.account.timezone, followers=None
            )
            history = edit_history(tweet)
            if not run.window.keeps(record["posted_at"]):
                more = False
            elif history and history[-1] != record["post_id"]:
                run.duplicates += 1  # an earlier version: its latest one is the post
                run.superseded.add(record["post_id"])
            elif record["post_id"] not in run.superseded and run.claim(record["post_id"]):
                if history:
                    _adopt_history(run, record, history)
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
        run = _XRun(account, Window(None, None), owned=self._settings.x_owned_metrics)
        params = {"tweet.fields": TWEET_FIELDS, "expansions": "author_id"}
        try:
            body = await self._get_tweets(
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
