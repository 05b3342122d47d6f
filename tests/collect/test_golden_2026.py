"""Golden tests from payloads others published (tests/collect/data, sources in SOURCES.md):
the 2026 platform behaviours of ../shared/platform-apis.md §6 through each connector."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hashtag_core.collect import (
    AccountSpec,
    AuthExpired,
    CollectSettings,
    RateLimited,
    RequestRejected,
)
from hashtag_core.collect.base import parse_time
from hashtag_core.collect.errors import VersionGone
from hashtag_core.collect.facebook import FacebookConnector
from hashtag_core.collect.http import Outcome, RequestPacer
from hashtag_core.collect.instagram import InstagramConnector
from hashtag_core.collect.linkedin import LinkedInConnector, map_li_post
from hashtag_core.collect.versions import linkedin_end_of_life, version_warnings
from hashtag_core.collect.x import XConnector, classify_x, map_tweet
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.platforms import Platform
from tests.collect.helpers import SleepRecorder

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 12, 7)  # when these payloads were checked


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _account(platform: Platform, external_id: str = "42") -> AccountSpec:
    return AccountSpec(platform, external_id, "brand", "UTC", SecretStr("TOKEN-1234"))


Handler = Callable[[httpx.Request], httpx.Response]


async def _run(
    platform: Platform,
    settings: CollectSettings,
    answer: Handler,
    *,
    sleep: SleepRecorder | None = None,
    external_id: str = "42",
) -> Any:
    """Collect one account through a connector whose HTTP answers come from `answer`."""
    cls = {
        Platform.X: XConnector,
        Platform.INSTAGRAM: InstagramConnector,
        Platform.FACEBOOK: FacebookConnector,
        Platform.LINKEDIN: LinkedInConnector,
    }[platform]
    recorder = sleep or SleepRecorder(real=False)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        pacer = RequestPacer(platform, settings, sleep=recorder)
        connector = cls(settings, client, pacer)
        return await connector.collect(
            _account(platform, external_id), watermark=None, refresh_since=None
        )


# 1. LinkedIn: a sunset version fails every account --------------------------------------


def test_linkedin_default_version_is_served() -> None:
    default = CollectSettings().linkedin_version
    assert linkedin_end_of_life(default) > TODAY, f"{default} is sunset by {TODAY}"
    assert linkedin_end_of_life("202505") <= TODAY  # the old default, sunset


def test_start_up_warns_near_end_of_life() -> None:
    warnings = version_warnings(CollectSettings(linkedin_version="202601"), TODAY)
    assert any("HASHTAG_COLLECT__LINKEDIN_VERSION" in w for w in warnings)
    assert version_warnings(CollectSettings(), TODAY) == []
    meta = version_warnings(CollectSettings(), date(2027, 4, 1))
    assert any("v22.0" in w and "META_API_VERSION" in w for w in meta)


async def test_linkedin_426_names_the_setting() -> None:
    body = _load("linkedin_426_nonexistent_version.json")
    settings = CollectSettings(linkedin_base_url="https://li.test")
    with pytest.raises(VersionGone) as caught:
        await _run(Platform.LINKEDIN, settings, lambda r: httpx.Response(426, json=body))
    assert caught.value.setting == "HASHTAG_COLLECT__LINKEDIN_VERSION"
    assert "Requested version 20250401 is not active" in caught.value.message


# 2 and 9. X: long posts, HTML entities -----------------------------------------------------


async def test_x_long_post_keeps_its_end() -> None:
    body = _load("x_note_tweet.json")
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path.endswith("/tweets"):
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"data": {"id": "42", "public_metrics": {}}})

    settings = CollectSettings(x_base_url="https://x.test")
    result = await _run(Platform.X, settings, answer)
    assert "note_tweet" in seen[0].params["tweet.fields"].split(",")
    (record,) = result.posts
    assert record["text"] == body["data"][0]["note_tweet"]["text"].replace("&amp;", "&")
    tags = [tag for tag, _ in hashtags_in_post(record["text"], "x")]
    assert tags == ["lego", "afol", "moc"]  # all three after the cut at 280 characters
    # Re-extracted from the whole text, they are the ones X lists in `note_tweet.entities`.
    entities = body["data"][0]["note_tweet"]["entities"]["hashtags"]
    assert tags == [h["tag"].lower() for h in entities]
    assert min(h["start"] for h in entities) >= 280


async def test_x_long_post_cut_without_a_mark_is_read_whole() -> None:
    # A real post of 283 characters: X cut `text` at 270, between words and with no "…".
    body = _load("x_long_post_cut.json")
    (tweet,) = body["data"]
    assert not tweet["text"].endswith("\u2026")
    result = await _collect_x(body)
    (record,) = result.posts
    assert record["text"] == tweet["note_tweet"]["text"]
    assert record["text"].endswith("for this commendable achievement.")


def test_x_text_is_unescaped() -> None:
    tweet = _load("x_html_entities.json")["data"][0]
    record = map_tweet(tweet, handle="h", timezone="UTC", followers=None)
    assert "Cheerleaders & our Puzzle Piece Cafe" in record["text"]
    assert "&amp;" not in record["text"]
    assert [t for t, _ in hashtags_in_post(record["text"], "x")] == ["itstartswithus"]


# 3. Instagram: one media item's permission error ---------------------------------------------


def _media_page() -> dict[str, Any]:
    return {
        "data": [
            {
                "id": "17895731045244001",
                "caption": "Spring build #lego",
                "timestamp": "2025-05-01T12:00:00+0000",
                "created_time": "2025-05-01T12:00:00+0000",
                "like_count": 212,
                "comments_count": 9,
                "permalink": "https://www.instagram.com/p/Cabc123xyz/",
            },
            {
                "id": "17896622936197002",
                "caption": "Old reel #lego",
                "timestamp": "2019-04-29T18:30:12+0000",
                "created_time": "2019-04-29T18:30:12+0000",
                "like_count": 10,
                "comments_count": 1,
                "permalink": "https://www.instagram.com/reel/Cdef456uvw/",
            },
        ]
    }


def _graph_answer(insights: Handler) -> Handler:
    """A Graph API: account fields, one media/posts page (both platforms' time fields), no
    comments, no follower history; each post's insights answered by `insights`."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/insights") and "/42/" not in path + "/":
            return insights(request)
        if path.endswith(("/media", "/posts")):
            return httpx.Response(200, json=_media_page())
        if path.endswith(("/comments", "/insights")):
            return httpx.Response(200, json={"data": []})
        return httpx.Response(200, json={"id": "42", "followers_count": 900})

    return answer


@pytest.mark.parametrize(
    "published",
    [
        "meta_10_media_insights.json",  # (#10) Application does not have permission
        "meta_100_2108006_media_insights.json",  # media posted before the business account
    ],
)
async def test_instagram_item_error_leaves_that_item_unknown(published: str) -> None:
    refused = _load(published)
    asked: list[str] = []

    def insights(request: httpx.Request) -> httpx.Response:
        if "17896622936197002" in request.url.path:
            asked.append(request.url.params["metric"])
            return httpx.Response(400, json=refused)
        return httpx.Response(200, json={"data": [{"name": "reach", "values": [{"value": 5}]}]})

    result = await _run(Platform.INSTAGRAM, CollectSettings(), _graph_answer(insights))
    posts = {p["post_id"]: p for p in result.posts}
    assert posts["17895731045244001"]["reach"] == 5
    assert posts["17896622936197002"]["reach"] is None  # unknown, and the run went on
    assert len(asked) == 1  # about the item, not a metric: not asked again metric by metric


# 4. Meta throttling without usage headers ------------------------------------------------------


async def test_meta_throttle_without_headers_backs_off_for_minutes() -> None:
    throttled = _load("meta_4_throttle.json")
    calls: list[str] = []

    def insights(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(400, json=throttled)  # no X-App-Usage, no Retry-After

    sleep = SleepRecorder(real=False)
    with pytest.raises(RateLimited) as caught:
        await _run(Platform.INSTAGRAM, CollectSettings(), _graph_answer(insights), sleep=sleep)
    assert len(calls) <= 6, f"{len(calls)} insights requests while throttled"
    assert max(sleep.waits) >= 300
    assert caught.value.wait_s is not None
    assert caught.value.wait_s >= 300


# 5. X edits ------------------------------------------------------------------------------------


def _tweets_page(*bodies: dict[str, Any]) -> dict[str, Any]:
    """A timeline page holding the `data` of recorded X responses, newest first."""
    tweets = [tweet for body in bodies for tweet in body["data"]]
    return {"data": tweets, "meta": {"result_count": len(tweets)}}


async def _collect_x(page: dict[str, Any]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tweets"):
            return httpx.Response(200, json=page)
        return httpx.Response(200, json={"data": {"id": "42", "public_metrics": {}}})

    return await _run(Platform.X, CollectSettings(x_base_url="https://x.test"), answer)


async def test_x_edited_post_is_one_post() -> None:
    before, after = _load("x_edit_before.json"), _load("x_edit_after.json")
    (first,) = before["data"]
    (latest,) = after["data"]
    assert first["edit_history_tweet_ids"] == latest["edit_history_tweet_ids"]

    # Both versions in one page: one post, the latest version, dated by the first version.
    result = await _collect_x(_tweets_page(after, before))
    (record,) = result.posts
    assert record["post_id"] == latest["id"]
    assert record["text"] == latest["text"]
    assert result.replaced == {latest["id"]: [first["id"]]}
    assert record["posted_at"] == parse_time(first["created_at"])  # 17:57:01, not 17:57:11

    # The latest version alone still names the version it replaces.
    result = await _collect_x(_tweets_page(after))
    assert [p["post_id"] for p in result.posts] == [latest["id"]]
    assert result.replaced == {latest["id"]: [first["id"]]}

    # The earlier version, read after the edit, is not a post of its own.
    result = await _collect_x(_tweets_page(before))
    assert result.posts == []


# 6. Facebook: one refused metric ---------------------------------------------------------------


async def test_facebook_refused_metric_keeps_the_others() -> None:
    refused = _load("meta_100_metric_refused.json")
    asked: list[str] = []

    def insights(request: httpx.Request) -> httpx.Response:
        metric = request.url.params["metric"]
        asked.append(metric)
        if "post_total_media_view_unique" in metric:
            return httpx.Response(400, json=refused)
        return httpx.Response(
            200, json={"data": [{"name": "post_media_view", "values": [{"value": 77}]}]}
        )

    result = await _run(Platform.FACEBOOK, CollectSettings(), _graph_answer(insights))
    assert {p["impressions"] for p in result.posts} == {77}
    assert {p["reach"] for p in result.posts} == {None}
    # Learned once: the refused metric is not asked for again in this version.
    assert asked.count("post_total_media_view_unique") == 1


async def test_instagram_refused_metric_keeps_the_others() -> None:
    refused = _load("meta_100_metric_refused.json")  # "does not support the views metric"
    asked: list[str] = []

    def insights(request: httpx.Request) -> httpx.Response:
        metric = request.url.params["metric"]
        asked.append(metric)
        if "views" in metric.split(","):
            return httpx.Response(400, json=refused)
        return httpx.Response(
            200, json={"data": [{"name": m, "values": [{"value": 11}]} for m in metric.split(",")]}
        )

    result = await _run(Platform.INSTAGRAM, CollectSettings(), _graph_answer(insights))
    for post in result.posts:
        assert post["impressions"] is None  # the refused metric stays unknown
        assert (post["reach"], post["saves"], post["shares"]) == (11, 11, 11)
    assert "views,reach,saved,shares" in asked


# 7. X pay-per-use credits ----------------------------------------------------------------------


def test_x_402_is_a_billing_pause() -> None:
    body = _load("x_402_credits.json")
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC).timestamp()
    verdict = classify_x(httpx.Response(402, json=body), body, now)
    assert verdict.outcome is Outcome.RATE_LIMITED
    assert verdict.wait_s == 21 * 3600  # until the next UTC day
    assert "does not have any credits" in verdict.detail  # X's own words reach the account


async def test_x_402_stops_the_run_with_a_clear_message() -> None:
    body = _load("x_402_credits.json")
    settings = CollectSettings(x_base_url="https://x.test")
    with pytest.raises(RateLimited, match="credits are depleted") as caught:
        await _run(Platform.X, settings, lambda r: httpx.Response(402, json=body))
    assert caught.value.wait_s is not None
    assert caught.value.wait_s > 0


# 8. LinkedIn 403 -------------------------------------------------------------------------------


async def test_linkedin_403_access_denied_is_not_reauth() -> None:
    body = _load("linkedin_403_access_denied.json")
    settings = CollectSettings(linkedin_base_url="https://li.test")
    with pytest.raises(RequestRejected) as caught:
        await _run(Platform.LINKEDIN, settings, lambda r: httpx.Response(403, json=body))
    assert not isinstance(caught.value, AuthExpired)


async def test_linkedin_revoked_token_is_reauth() -> None:
    body = _load("linkedin_401_revoked_token.json")
    settings = CollectSettings(linkedin_base_url="https://li.test")
    with pytest.raises(AuthExpired):
        await _run(Platform.LINKEDIN, settings, lambda r: httpx.Response(401, json=body))


# 9. LinkedIn little text -----------------------------------------------------------------------


def test_linkedin_text_as_a_person_reads_it() -> None:
    (post,) = _load("linkedin_little_text_posts.json")["elements"]
    record = map_li_post(post, None, handle="org", timezone="UTC", followers=None)
    assert record["text"] == "Sample text with Devtestco and #hashtag (little) text"
    assert [t for t, _ in hashtags_in_post(record["text"], "linkedin")] == ["hashtag"]
