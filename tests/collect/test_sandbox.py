"""The sandbox speaks each platform's dialect: shapes, paging links, headers and errors."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hashtag_core.platforms import Platform
from hashtag_sandbox import Sandbox, SandboxConfig, create_sandbox_app
from hashtag_sandbox.data import SandboxAccount
from tests.collect.conftest import SANDBOX_END

_SANDBOXES: dict[int, Sandbox] = {}
_PUBLISHED = Path(__file__).parent / "data"  # bodies others published (data/SOURCES.md)


def _published(name: str) -> Any:
    return json.loads((_PUBLISHED / name).read_text(encoding="utf-8"))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sandbox_app(SandboxConfig(posts=300, end=SANDBOX_END))
    transport = httpx.ASGITransport(app=app)  # shapes only; the e2e tests use real TCP
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        _SANDBOXES[id(client)] = app.state.sandbox  # type: ignore[attr-defined]
        yield client
        del _SANDBOXES[id(client)]


def _accounts(client: httpx.AsyncClient, platform: Platform) -> list[SandboxAccount]:
    return [a for a in _SANDBOXES[id(client)].data.accounts if a.platform is platform]


def _account(client: httpx.AsyncClient, platform: Platform) -> SandboxAccount:
    return _accounts(client, platform)[0]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestX:
    async def test_timeline_headers_and_paging(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.X)
        params = {"max_results": "5", "tweet.fields": "created_at,public_metrics,entities"}
        response = await client.get(
            f"/x/2/users/{account.external_id}/tweets", params=params, headers=_auth(account.token)
        )
        body = response.json()
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
            response.headers
        )
        assert body["meta"]["result_count"] == 5
        assert body["data"][0]["created_at"].endswith(".000Z")
        assert "next_token" in body["meta"]
        assert body["meta"]["next_token"].isalnum()
        assert body["meta"]["next_token"].islower()

    async def test_empty_result_and_invalid_request(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.X)
        newest = account.posts[-1].post_id
        url = f"/x/2/users/{account.external_id}/tweets"
        empty = await client.get(url, params={"since_id": newest}, headers=_auth(account.token))
        assert empty.json() == {"meta": {"result_count": 0}}
        bad = await client.get(url, params={"max_results": "500"}, headers=_auth(account.token))
        assert bad.status_code == 400
        assert bad.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"
        assert bad.json()["errors"][0]["parameters"] == {"max_results": ["500"]}

    async def test_unauthorized(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.X)
        response = await client.get(f"/x/2/users/{account.external_id}", headers=_auth("wrong"))
        assert response.status_code == 401
        assert response.json() == {
            "title": "Unauthorized",
            "detail": "Unauthorized",
            "type": "about:blank",
            "status": 401,
        }

    async def test_recent_search_by_hashtag(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.X)
        response = await client.get(
            "/x/2/tweets/search/recent", params={"query": "#LEGOLAND"}, headers=_auth(account.token)
        )
        assert response.status_code == 200
        for tweet in response.json().get("data", []):
            assert "legoland" in tweet["text"].lower()

    async def test_credits_depleted_as_x_sends_it(self, client: httpx.AsyncClient) -> None:
        published = _published("x_402_credits.json")
        assert (await client.post("/_sandbox/faults", json={"x_credits_depleted": True})).is_success
        account = _account(client, Platform.X)
        response = await client.get(
            f"/x/2/users/{account.external_id}", headers=_auth(account.token)
        )
        body = response.json()
        assert response.status_code == 402
        assert set(body) == set(published)  # no `status` member, an `account_id`
        assert (body["title"], body["type"]) == (published["title"], published["type"])
        assert isinstance(body["account_id"], int)
        assert f"[{body['account_id']}] does not have any credits" in body["detail"]

    async def test_an_edited_posts_first_version_is_still_served_by_id(
        self, client: httpx.AsyncClient
    ) -> None:
        before, after = _published("x_edit_before.json"), _published("x_edit_after.json")
        account = _account(client, Platform.X)
        first_id, old_text = account.posts[-1].post_id, str(account.posts[-1].record["text"])
        edited = await client.post(
            "/_sandbox/edit", json={"post_id": first_id, "text": "Fixed a typo #EditedTag"}
        )
        new_id = edited.json()["post_id"]
        params = {"tweet.fields": "created_at,edit_history_tweet_ids"}
        answers = [
            (await client.get(f"/x/2/tweets/{i}", params=params, headers=_auth(account.token)))
            for i in (first_id, new_id)
        ]
        assert [a.status_code for a in answers] == [200, 200]
        old, new = (a.json()["data"] for a in answers)
        # As recorded: each version answers with its own id and text and the whole chain.
        assert [set(old), set(new)] == [set(params["tweet.fields"].split(",")) | {"id", "text"}] * 2
        assert len(before["data"][0]["edit_history_tweet_ids"]) == 2
        assert old["edit_history_tweet_ids"] == new["edit_history_tweet_ids"]
        assert old["edit_history_tweet_ids"] == [first_id, new_id]
        assert (old["id"], new["id"]) == (first_id, new_id)
        assert old["text"][:40] == html.escape(old_text, quote=False)[:40]
        assert new["text"] == "Fixed a typo #EditedTag"
        assert old["created_at"] < new["created_at"]
        assert before["data"][0]["created_at"] < after["data"][0]["created_at"]
        # Timelines list only the latest version.
        timeline = await client.get(
            f"/x/2/users/{account.external_id}/tweets",
            params={"max_results": "5"},
            headers=_auth(account.token),
        )
        ids = [t["id"] for t in timeline.json()["data"]]
        assert new_id in ids
        assert first_id not in ids

    async def test_a_long_post_as_x_cuts_it(self, client: httpx.AsyncClient) -> None:
        published = _published("x_long_post_cut.json")["data"][0]
        account = _account(client, Platform.X)
        words = " ".join(f"word{i:03d}" for i in range(40)) + " #AfterTheCut"
        edited = await client.post(
            "/_sandbox/edit", json={"post_id": account.posts[-1].post_id, "text": words}
        )
        answer = await client.get(
            f"/x/2/tweets/{edited.json()['post_id']}",
            params={"tweet.fields": "note_tweet,entities"},
            headers=_auth(account.token),
        )
        tweet = answer.json()["data"]
        # As in the published answer: `text` is the first 270 characters, with no mark.
        assert len(published["text"]) == 270
        assert tweet["text"] == words[:270].rstrip()
        assert tweet["note_tweet"]["text"] == words
        assert [h["tag"] for h in tweet["note_tweet"]["entities"]["hashtags"]] == ["AfterTheCut"]
        assert "hashtags" not in tweet.get("entities", {})


class TestMeta:
    async def test_throttle_and_item_refusal_as_meta_sends_them(
        self, client: httpx.AsyncClient
    ) -> None:
        throttle = _published("meta_4_throttle.json")["error"]
        item = _published("meta_10_media_insights.json")["error"]
        faults = {
            "platforms": ["instagram"],
            "rate_limit_next": 1,
            "meta_throttle_bare": True,
            "ig_insights_refused_every": 1,
        }
        assert (await client.post("/_sandbox/faults", json=faults)).is_success
        account = _account(client, Platform.INSTAGRAM)
        post = account.posts[-1].post_id
        url = f"/meta/v22.0/{post}/insights"
        throttled = await client.get(url, params={"metric": "reach"}, headers=_auth(account.token))
        refused = await client.get(url, params={"metric": "reach"}, headers=_auth(account.token))
        assert throttled.status_code == 400
        assert set(throttled.json()["error"]) == set(throttle)
        assert {k: throttled.json()["error"][k] for k in ("message", "type", "code")} == {
            k: throttle[k] for k in ("message", "type", "code")
        }
        assert throttled.json()["error"]["is_transient"] is True
        assert "x-app-usage" not in throttled.headers  # no usage header to pace by
        assert refused.status_code == 400
        assert set(refused.json()["error"]) == set(item)
        assert refused.json()["error"]["message"] == item["message"]
        assert refused.json()["error"]["code"] == item["code"]

    async def test_media_paging_next_is_a_full_url_with_the_token(
        self, client: httpx.AsyncClient
    ) -> None:
        account = _account(client, Platform.INSTAGRAM)
        response = await client.get(
            f"/meta/v22.0/{account.external_id}/media",
            params={"fields": "id,timestamp", "limit": "3"},
            headers=_auth(account.token),
        )
        body = response.json()
        assert len(body["data"]) == 3
        assert set(body["data"][0]) == {"id", "timestamp"}
        assert body["data"][0]["timestamp"].endswith("+0000")
        query = parse_qs(urlsplit(body["paging"]["next"]).query)
        assert query["access_token"] == [account.token]
        assert query["after"] == [body["paging"]["cursors"]["after"]]
        assert "call_count" in response.headers["x-app-usage"]
        assert '"type": "instagram"' in response.headers["x-business-use-case-usage"]

    async def test_removed_metric_and_wrong_token(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.FACEBOOK)
        post = account.posts[-1].post_id
        removed = await client.get(
            f"/meta/v22.0/{post}/insights",
            params={"metric": "post_impressions"},
            headers=_auth(account.token),
        )
        assert removed.status_code == 400
        assert (
            removed.json()["error"]["message"] == "(#100) The value must be a valid insights metric"
        )
        assert removed.json()["error"]["code"] == 100
        wrong = await client.get(f"/meta/v22.0/{account.external_id}", headers=_auth("wrong"))
        assert wrong.json()["error"]["code"] == 190
        assert set(wrong.json()["error"]) == {"message", "type", "code", "fbtrace_id"}

    async def test_posts_without_shares_have_no_shares_key(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.FACEBOOK)
        response = await client.get(
            f"/meta/v22.0/{account.external_id}/posts",
            params={"fields": "id,shares,reactions.summary(total_count).limit(0)", "limit": "100"},
            headers=_auth(account.token),
        )
        for post in response.json()["data"]:
            assert post["reactions"]["data"] == []
            if "shares" in post:
                assert post["shares"]["count"] > 0


class TestLinkedIn:
    async def test_version_header_is_required(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.LINKEDIN)
        params = {"author": account.urn, "q": "author"}
        missing = await client.get(
            "/linkedin/rest/posts", params=params, headers=_auth(account.token)
        )
        old = await client.get(
            "/linkedin/rest/posts",
            params=params,
            headers=_auth(account.token) | {"LinkedIn-Version": "202001"},
        )
        assert missing.status_code == old.status_code == 426
        assert old.json() == {
            "status": 426,
            "serviceErrorCode": 0,
            "code": "NONEXISTENT_VERSION",
            "message": "Requested version 202001 is not active",
        }

    async def test_offset_paging_and_statistics(self, client: httpx.AsyncClient) -> None:
        account = _account(client, Platform.LINKEDIN)
        headers = _auth(account.token) | {"LinkedIn-Version": "202606"}
        page = await client.get(
            "/linkedin/rest/posts",
            params={"author": account.urn, "q": "author", "count": "2"},
            headers=headers,
        )
        body = page.json()
        assert body["paging"]["start"] == 0
        assert body["paging"]["total"] == len(account.posts)
        assert body["paging"]["links"][0]["rel"] == "next"
        urn = body["elements"][0]["id"]
        key = "shares" if urn.startswith("urn:li:share:") else "ugcPosts"
        encoded = urn.replace(":", "%3A")
        org = account.urn.replace(":", "%3A")
        stats = await client.get(
            f"/linkedin/rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={org}&{key}=List({encoded})",
            headers=headers,
        )
        element = stats.json()["elements"][0]
        assert element.get("share", element.get("ugcPost")) == urn
        assert "impressionCount" in element["totalShareStatistics"]

    async def test_other_organisations_token_is_denied(self, client: httpx.AsyncClient) -> None:
        first, second = _accounts(client, Platform.LINKEDIN)[:2]
        response = await client.get(
            f"/linkedin/rest/networkSizes/{first.urn}", params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
            headers=_auth(second.token) | {"LinkedIn-Version": "202606"},
        )  # fmt: skip
        assert response.status_code == 403
        assert response.json()["code"] == "ACCESS_DENIED"


async def test_admin_faults_and_state(client: httpx.AsyncClient) -> None:
    response = await client.post("/_sandbox/faults", json={"error_next": 1, "error_status": 500})
    assert response.status_code == 200
    account = _account(client, Platform.X)
    failed = await client.get(f"/x/2/users/{account.external_id}", headers=_auth(account.token))
    assert failed.status_code == 500
    state = (await client.get("/_sandbox/state")).json()
    assert state["injected"] == {"error": 1}
    assert state["base_urls"]["x_base_url"] == "http://127.0.0.1/x"
    bad = await client.post("/_sandbox/faults", json={"error_status": 200})
    assert bad.status_code == 422


async def test_expiring_one_accounts_token_and_the_request_log(
    client: httpx.AsyncClient,
) -> None:
    windsor, california = _accounts(client, Platform.X)[:2]
    faults = {"expire_tokens_after": 1, "expire_handles": [california.handle]}
    assert (await client.post("/_sandbox/faults", json=faults)).status_code == 200

    async def search(account: SandboxAccount, user: str) -> httpx.Response:
        return await client.get(
            "/x/2/tweets/search/recent",
            params={"query": f"from:{user} -is:retweet"},
            headers=_auth(account.token),
        )

    # Each account's own count: the first request of each passes, the second of the chosen
    # one finds its token expired; search finds the account by username or by id.
    statuses = [
        (await search(california, california.handle)).status_code,
        (await search(windsor, windsor.handle)).status_code,
        (await search(windsor, windsor.external_id)).status_code,
        (await search(california, california.external_id)).status_code,
    ]
    assert statuses == [200, 200, 200, 401]

    body = (await client.get("/_sandbox/requests")).json()
    log = body["requests"]
    assert [(r["handle"], r["status"], r["fault"]) for r in log] == [
        (california.handle, 200, None),
        (windsor.handle, 200, None),
        (windsor.handle, 200, None),
        (california.handle, 401, "expired_token"),
    ]
    assert {r["platform"] for r in log} == {"x"}
    assert log[0]["path"] == "/x/2/tweets/search/recent"
    assert "from%3A" in log[0]["query"]
    times = [t for r in log for t in (r["arrived_s"], r["answered_s"])]
    assert times == sorted(times)
    assert body["now_s"] >= times[-1]
    later = (await client.get("/_sandbox/requests", params={"since": log[2]["arrived_s"]})).json()
    assert len(later["requests"]) == 2
    assert (await client.get("/_sandbox/requests", params={"since": "x"})).status_code == 422
