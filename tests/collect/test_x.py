"""The X connector's owned metrics and recent-search source, against the sandbox over real HTTP
(and, for answers the sandbox does not give, httpx.MockTransport)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hashtag_core.collect import (
    AccountSpec,
    AuthExpired,
    CollectResult,
    CollectSettings,
    RequestPacer,
    Watermark,
    XConnector,
    collect_many,
    make_clients,
)
from hashtag_core.collect.x import map_tweet, search_query
from hashtag_core.platforms import Platform
from hashtag_sandbox.x_api import is_promoted, private_metrics, x_now
from tests.collect.conftest import Served, ServeSandbox
from tests.collect.helpers import comparable

pytestmark = pytest.mark.e2e

OWNED = {"x_owned_metrics": True, "x_page_size": 10}
SEARCH = {"x_source": "search", "x_page_size": 10}
WARNING = "refused the private metrics"


@dataclass
class Connection:
    """An XConnector on the sandbox's clock, and the URLs it requested."""

    connector: XConnector
    urls: list[httpx.URL] = field(default_factory=list)

    def asked_private(self) -> list[bool]:
        return ["organic_metrics" in u.params.get("tweet.fields", "") for u in self.urls]


@asynccontextmanager
async def x_connector(served: Served, **settings: Any) -> AsyncIterator[Connection]:
    """An XConnector pointed at the sandbox whose clock is the sandbox's X clock."""
    config = served.settings(**settings)
    clients = make_clients(config)
    client = clients[Platform.X]
    urls: list[httpx.URL] = []

    async def record(request: httpx.Request) -> None:
        urls.append(request.url)

    client.event_hooks["request"].append(record)
    try:
        pacer = RequestPacer(Platform.X, config)
        connector = XConnector(config, client, pacer, clock=lambda: x_now(served.sandbox))
        yield Connection(connector, urls)
    finally:
        for each in clients.values():
            await each.aclose()


def _expected_owned(served: Served, handle: str) -> list[dict[str, Any]]:
    """The source records with organic counts for posts under 30 days old (docs/metrics.md)."""
    now = x_now(served.sandbox)
    account = next(a for a in served.sandbox.data.accounts if a.handle == handle)
    expected = []
    for post in reversed(account.posts):
        record = dict(post.record)
        if now - post.posted_at < timedelta(days=30):
            organic = private_metrics(post)["organic_metrics"]
            quotes = (record["shares"] or 0) // 6  # the sandbox's public quote_count
            record |= {
                "likes": organic["like_count"],
                "comments": organic["reply_count"],
                "shares": organic["retweet_count"] + quotes,
                "impressions": organic["impression_count"],
            }
        expected.append(record)
    return expected


class TestOwnedMetrics:
    async def test_organic_counts_for_recent_posts_public_for_older(
        self, serve_sandbox: ServeSandbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)
        async with serve_sandbox(posts=800, days=60) as served:
            account = served.account(Platform.X)
            async with x_connector(served, **OWNED) as x:
                result = await x.connector.collect(account, watermark=None, refresh_since=None)
            source = served.source(account.handle)
            expected = _expected_owned(served, account.handle)
            now = x_now(served.sandbox)

        assert comparable(result.posts) == comparable(expected)
        recent = [s for s in source if now - s["posted_at"] < timedelta(days=30)]
        old = [s for s in source if now - s["posted_at"] >= timedelta(days=30)]
        assert len(recent) > 10
        assert len(old) > 10
        got = {p["post_id"]: p for p in result.posts}
        promoted = [s for s in recent if is_promoted(s["post_id"]) and s["likes"] > 1]
        assert promoted
        for s in promoted:  # organic below public, and bookmarks stay public
            assert got[s["post_id"]]["likes"] < s["likes"]
            assert got[s["post_id"]]["saves"] == s["saves"]
        assert all(comparable([got[s["post_id"]]]) == comparable([s]) for s in old)
        # Private fields asked for until the pages pass 30 days, then no longer; no retries.
        asked = x.asked_private()
        assert asked[0]
        assert not asked[-1]
        assert asked == sorted(asked, reverse=True)
        assert len(x.urls) == result.pages  # followers came with the posts
        assert WARNING not in caplog.text

    @pytest.mark.parametrize("refusal", ["app-only token (403)", "another user's token (200)"])
    async def test_a_refused_token_falls_back_to_public_metrics(
        self, serve_sandbox: ServeSandbox, caplog: pytest.LogCaptureFixture, refusal: str
    ) -> None:
        caplog.set_level(logging.WARNING)
        app_only = refusal.startswith("app-only")
        async with serve_sandbox(posts=800, days=60) as served:
            account = served.account(Platform.X)
            if app_only:
                served.sandbox.config.x_app_only_handles.append(account.handle)
            else:
                other = served.account(Platform.X, 1)
                account = dataclasses.replace(account, token=other.token)
            async with x_connector(served, **OWNED) as x:
                (result,) = await collect_many({Platform.X: x.connector}, [(account, None, None)])
            source = served.source(account.handle)

        assert isinstance(result, CollectResult), result  # not AuthExpired: no re-auth
        assert comparable(result.posts) == comparable(source)  # public counts throughout
        # The first request is repeated without the private fields, and never asked again.
        assert x.asked_private() == [True] + [False] * (len(x.urls) - 1)
        assert x.urls[0].params.get("pagination_token") is None
        assert x.urls[1].params.get("pagination_token") is None
        warnings = [r for r in caplog.records if WARNING in r.getMessage()]
        assert len(warnings) == 1
        assert account.token.get_secret_value() not in caplog.text
        kind = "Unsupported Authentication" if app_only else "Field Authorization Error"
        assert kind in warnings[0].getMessage()

    async def test_a_wrong_token_is_still_an_auth_failure(
        self, serve_sandbox: ServeSandbox
    ) -> None:
        async with serve_sandbox(posts=200) as served:
            account = dataclasses.replace(served.account(Platform.X), token=SecretStr("revoked"))
            async with x_connector(served, **OWNED) as x:
                with pytest.raises(AuthExpired, match="needs re-authorisation"):
                    await x.connector.collect(account, watermark=None, refresh_since=None)
        assert len(x.urls) == 1  # a 401 is not a refusal of fields: nothing to retry

    async def test_fetch_post_organic_then_public_when_refused(
        self, serve_sandbox: ServeSandbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with serve_sandbox(posts=800, days=60) as served:
            account = served.account(Platform.X)
            expected = _expected_owned(served, account.handle)
            source = served.source(account.handle)
            index = next(
                i
                for i, s in enumerate(source)
                if is_promoted(s["post_id"]) and s["likes"] > 1 and expected[i] != s
            )
            post_id = source[index]["post_id"]
            async with x_connector(served, **OWNED) as x:
                owned = await x.connector.fetch_post(account, post_id)
                served.sandbox.config.x_app_only_handles.append(account.handle)
                public = await x.connector.fetch_post(account, post_id)

        assert owned is not None
        assert public is not None
        assert comparable([owned]) == comparable([expected[index]])
        assert comparable([public]) == comparable([source[index]])
        assert owned["likes"] < public["likes"]
        assert caplog.text.count(WARNING) == 1


def _script(*answers: tuple[int, dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = queue.pop(0)
        return httpx.Response(status, json=body)

    return answer


_SPEC = AccountSpec(Platform.X, "2244994945", "brickfan", "UTC", SecretStr("user-token"))


async def _mock_collect(
    handler: Callable[[httpx.Request], httpx.Response], **settings: Any
) -> tuple[CollectResult, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    config = CollectSettings(x_base_url="https://api.x.test", max_tries=2, **settings)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as client:
        connector = XConnector(config, client, RequestPacer(Platform.X, config))
        result = await connector.collect(_SPEC, watermark=None, refresh_since=None)
    return result, seen


def _problem(status: int, kind: str, title: str) -> tuple[int, dict[str, Any]]:
    body = {
        "title": title,
        "detail": title,
        "type": f"https://api.x.com/2/problems/{kind}",
        "status": status,
    }
    return status, body


async def test_403_without_private_fields_too_is_an_auth_failure() -> None:
    handler = _script(
        _problem(403, "unsupported-authentication", "Unsupported Authentication"),
        _problem(403, "client-forbidden", "Client Forbidden"),
    )
    with pytest.raises(AuthExpired, match="Client Forbidden"):
        await _mock_collect(handler, x_owned_metrics=True)


async def test_403_without_owned_metrics_is_an_auth_failure_at_once() -> None:
    handler = _script(_problem(403, "unsupported-authentication", "Unsupported Authentication"))
    with pytest.raises(AuthExpired):
        await _mock_collect(handler)


def _tweet(post_id: str, created_at: str) -> dict[str, Any]:
    return {
        "id": post_id,
        "text": "Build day #Lego",
        "created_at": created_at,
        "public_metrics": {
            "retweet_count": 4,
            "reply_count": 2,
            "like_count": 57,
            "quote_count": 1,
            "bookmark_count": 3,
            "impression_count": 1890,
        },
    }


async def test_field_errors_on_old_posts_are_the_30_day_rule_not_a_refusal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """X may name the private fields in `errors` for posts past 30 days: no fallback then."""
    old = _tweet("1600000000000000000", "2022-11-06T08:00:00.000Z")
    error = {
        "resource_id": old["id"],
        "field": "organic_metrics",
        "title": "Field Authorization Error",
        "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
    }
    handler = _script((200, {"data": [old], "errors": [error], "meta": {"result_count": 1}}))
    caplog.set_level(logging.WARNING)
    result, seen = await _mock_collect(
        lambda r: handler(r) if "tweets" in r.url.path else httpx.Response(200, json={}),
        x_owned_metrics=True,
    )
    assert [p["likes"] for p in result.posts] == [57]
    assert len(seen) == 2  # the page and the users lookup, no repeat without the fields
    assert WARNING not in caplog.text


def test_map_tweet_owned_metrics() -> None:
    """organic likes/replies/reposts/impressions; quotes and bookmarks public."""
    tweet = _tweet("1790011223344556677", "2025-05-01T12:00:05.000Z")
    organic = {"like_count": 40, "reply_count": 1, "retweet_count": 3, "impression_count": 1200}
    private = {"impression_count": 1890, "engagements": 90}
    args: dict[str, Any] = {"handle": "brickfan", "timezone": "UTC", "followers": None}
    owned = map_tweet(tweet | {"organic_metrics": organic, "non_public_metrics": private}, **args)
    assert (owned["likes"], owned["comments"], owned["shares"]) == (40, 1, 4)
    assert (owned["saves"], owned["impressions"]) == (3, 1200)
    without_impressions = {k: v for k, v in organic.items() if k != "impression_count"}
    fallback = map_tweet(
        tweet | {"organic_metrics": without_impressions, "non_public_metrics": private}, **args
    )
    assert fallback["impressions"] == 1890
    public = map_tweet(tweet | {"non_public_metrics": private}, **args)
    assert (public["likes"], public["shares"], public["impressions"]) == (57, 5, 1890)


class TestRecentSearch:
    async def test_search_reads_the_timelines_last_7_days_in_pages(
        self, serve_sandbox: ServeSandbox
    ) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            async with x_connector(served, x_page_size=10) as x:
                timeline = await x.connector.collect(account, watermark=None, refresh_since=None)
            async with x_connector(served, **SEARCH) as x:
                search = await x.connector.collect(account, watermark=None, refresh_since=None)
            now = x_now(served.sandbox)

        week = [p for p in timeline.posts if p["posted_at"] >= now - timedelta(days=7)]
        assert len(week) > 10
        assert len(timeline.posts) > len(week)
        assert comparable(search.posts) == comparable(week)
        assert search.pages >= 2
        assert search.followers == timeline.followers
        assert search.watermark == timeline.watermark
        first = x.urls[0]
        assert first.path == "/x/2/tweets/search/recent"
        assert first.params["query"] == f"from:{account.external_id} -is:retweet"
        assert first.params["max_results"] == "10"
        assert "since_id" not in first.params
        assert "start_time" not in first.params
        assert all(u.params.get("next_token") for u in x.urls[1:])

    async def test_a_renamed_account_is_still_found_by_its_user_id(
        self, serve_sandbox: ServeSandbox
    ) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            # Renamed on X since it was registered: the stored handle names nobody now.
            renamed = dataclasses.replace(account, handle="LEGOLANDWindsorOld")
            async with x_connector(served, **SEARCH) as x:
                result = await x.connector.collect(renamed, watermark=None, refresh_since=None)
            now = x_now(served.sandbox)
            source = served.source(account.handle)

        week = {s["post_id"] for s in source if s["posted_at"] >= now - timedelta(days=7)}
        assert len(week) > 10
        assert {p["post_id"] for p in result.posts} == week
        assert x.urls[0].params["query"] == f"from:{account.external_id} -is:retweet"

    @pytest.mark.parametrize(
        ("external_id", "handle", "query"),
        [
            ("2244994945", "LEGOLANDWindsor", "from:2244994945 -is:retweet"),
            ("LEGOLANDWindsor", "LEGOLANDWindsor", "from:LEGOLANDWindsor -is:retweet"),
            ("", "@LEGOLANDWindsor", "from:LEGOLANDWindsor -is:retweet"),
            ("\u0662\u0663", "LEGOLANDWindsor", "from:LEGOLANDWindsor -is:retweet"),  # not ASCII
        ],
    )
    def test_query_names_the_user_id_when_numeric(
        self, external_id: str, handle: str, query: str
    ) -> None:
        account = AccountSpec(Platform.X, external_id, handle, "UTC", SecretStr("t"))
        assert search_query(account) == query

    async def test_second_run_fetches_only_new_posts(self, serve_sandbox: ServeSandbox) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            async with x_connector(served, **SEARCH) as x:
                first = await x.connector.collect(account, watermark=None, refresh_since=None)
                response = await served.admin.post(
                    "/_sandbox/advance", json={"posts": 3, "handles": [account.handle]}
                )
                second = await x.connector.collect(
                    account, watermark=first.watermark, refresh_since=None
                )
            source = served.source(account.handle)

        new_ids = set(response.json()["added"][account.handle])
        assert {p["post_id"] for p in second.posts} == new_ids  # since_id is exclusive
        assert comparable(second.posts) == comparable(source[:3])
        assert second.pages == 1
        assert x.urls[-1].params["since_id"] == first.watermark.since_id
        assert second.watermark.since_id == source[0]["post_id"]

    async def test_refresh_window_is_cut_to_7_days(self, serve_sandbox: ServeSandbox) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            now = x_now(served.sandbox)
            async with x_connector(served, **SEARCH) as x:
                first = await x.connector.collect(account, watermark=None, refresh_since=None)
                second = await x.connector.collect(
                    account, watermark=first.watermark, refresh_since=now - timedelta(days=20)
                )
            source = served.source(account.handle)

        start = datetime.fromisoformat(x.urls[-1].params["start_time"].replace("Z", "+00:00"))
        assert now - timedelta(days=7) < start < now - timedelta(days=7) + timedelta(minutes=5)
        expected = [s for s in source if s["posted_at"] >= start]
        assert len(expected) > 3
        assert comparable(second.posts) == comparable(expected)
        assert second.watermark == first.watermark

    async def test_a_watermark_older_than_7_days_uses_the_horizon(
        self, serve_sandbox: ServeSandbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            now = x_now(served.sandbox)
            source = served.source(account.handle)
            stale = next(s for s in source if s["posted_at"] < now - timedelta(days=10))
            mark = Watermark(stale["post_id"], stale["posted_at"])
            async with x_connector(served, **SEARCH) as x:
                result = await x.connector.collect(account, watermark=mark, refresh_since=None)

        assert "since_id" not in x.urls[0].params  # X would reject it (400)
        assert {p["post_id"] for p in result.posts} == {
            s["post_id"] for s in source if s["posted_at"] >= now - timedelta(days=7, minutes=-2)
        }
        assert "cannot be collected" in caplog.text

    async def test_owned_metrics_through_search(self, serve_sandbox: ServeSandbox) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            expected = _expected_owned(served, account.handle)
            async with x_connector(served, **SEARCH, x_owned_metrics=True) as x:
                result = await x.connector.collect(account, watermark=None, refresh_since=None)

        got = comparable(result.posts)
        assert got == {k: v for k, v in comparable(expected).items() if k in got}
        assert len(got) > 10


class TestSandboxSearch:
    """The sandbox's recent search honours X's bounds and rejects what X rejects."""

    async def _get(self, served: Served, **params: str) -> httpx.Response:
        account = served.account(Platform.X)
        return await served.admin.get(
            "/x/2/tweets/search/recent",
            params={"query": f"from:{account.handle} -is:retweet", **params},
            headers={"Authorization": f"Bearer {account.token.get_secret_value()}"},
        )

    async def test_bounds(self, serve_sandbox: ServeSandbox) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            now = x_now(served.sandbox)
            source = served.source(served.account(Platform.X).handle)
            week = [s for s in source if s["posted_at"] >= now - timedelta(days=7)]
            week.sort(key=lambda s: int(s["post_id"]), reverse=True)  # search: id order
            everything = (await self._get(served, max_results="100")).json()
            since = (await self._get(served, since_id=week[3]["post_id"])).json()
            start, end = now - timedelta(days=3), now - timedelta(days=1)
            window = (
                await self._get(
                    served,
                    start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    end_time=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    max_results="100",
                )
            ).json()
            too_old = await self._get(
                served, start_time=(now - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            old_id = await self._get(served, since_id=source[-1]["post_id"])

        assert [t["id"] for t in everything["data"]] == [s["post_id"] for s in week]
        assert [t["id"] for t in since["data"]] == [s["post_id"] for s in week[:3]]
        assert [t["id"] for t in window["data"]] == [
            s["post_id"] for s in week if start <= s["posted_at"] < end
        ]
        for response, name in ((too_old, "start_time"), (old_id, "since_id")):
            assert response.status_code == 400
            body = response.json()
            assert body["type"].endswith("/invalid-request")
            assert name in body["errors"][0]["parameters"]

    async def test_query_terms(self, serve_sandbox: ServeSandbox) -> None:
        async with serve_sandbox(posts=800, days=30) as served:
            account = served.account(Platform.X)
            by_name = (await self._get(served)).json()
            by_id = (await self._get(served, query=f"from:{account.external_id}")).json()
            retweets = (await self._get(served, query=f"from:{account.handle} is:retweet")).json()

        assert by_name["meta"]["result_count"] == 10
        assert [t["id"] for t in by_id["data"]] == [t["id"] for t in by_name["data"]]
        assert retweets == {"meta": {"result_count": 0}}


async def test_sandbox_private_metrics_only_for_the_owner_and_30_days(
    serve_sandbox: ServeSandbox,
) -> None:
    async with serve_sandbox(posts=800, days=60) as served:
        owner, other = served.account(Platform.X), served.account(Platform.X, 1)
        served.sandbox.config.x_app_only_handles.append(other.handle)
        now = x_now(served.sandbox)
        fields = "created_at,public_metrics,non_public_metrics,organic_metrics,promoted_metrics"

        async def timeline(token: SecretStr) -> httpx.Response:
            return await served.admin.get(
                f"/x/2/users/{owner.external_id}/tweets",
                params={"tweet.fields": fields, "max_results": "100"},
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            )

        own, app_only = await timeline(owner.token), await timeline(other.token)

    assert app_only.status_code == 403
    assert app_only.json()["type"].endswith("/unsupported-authentication")
    body = own.json()
    refused = {e["resource_id"] for e in body["errors"]}
    for tweet in body["data"]:
        young = now - datetime.fromisoformat(tweet["created_at"]) < timedelta(days=30)
        assert ("organic_metrics" in tweet) is young
        assert ("non_public_metrics" in tweet) is young
        assert (tweet["id"] in refused) is not young  # X's field errors for the others
        assert ("promoted_metrics" in tweet) is (young and is_promoted(tweet["id"]))
        if young and is_promoted(tweet["id"]) and tweet["public_metrics"]["like_count"] > 1:
            organic, public = tweet["organic_metrics"], tweet["public_metrics"]
            assert organic["like_count"] < public["like_count"]
            assert tweet["non_public_metrics"]["impression_count"] == public["impression_count"]
