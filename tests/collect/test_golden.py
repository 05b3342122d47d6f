"""Golden tests: the composed example bodies of ../shared/platform-apis.md through each
connector's mapping functions, against canonical records written out by hand."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hashtag_core.collect import AccountSpec
from hashtag_core.collect.base import Run, Window
from hashtag_core.collect.facebook import map_page_post
from hashtag_core.collect.http import RequestPacer
from hashtag_core.collect.instagram import map_media
from hashtag_core.collect.linkedin import _is_last_page, map_li_post, share_statistics
from hashtag_core.collect.meta import GraphApi, insight_values
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.x import XConnector, _followers_in, map_tweet
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.platforms import Platform

DOC = Path(__file__).resolve().parents[2].parent / "shared" / "platform-apis.md"

pytestmark = pytest.mark.skipif(
    not DOC.is_file(), reason=f"{DOC} is absent (the shared platform reference is not checked out)"
)


def _examples() -> dict[str, list[Any]]:
    """`{platform section: [parsed json blocks under its "Example" headings]}`."""
    found: dict[str, list[Any]] = {}
    section = heading = ""
    for block in re.split(r"^(#{2,3} .*)$", DOC.read_text(encoding="utf-8"), flags=re.M):
        if block.startswith("## "):
            section, heading = block[3:], ""
        elif block.startswith("### "):
            heading = block[4:]
        elif "Example" in heading:
            bodies = re.findall(r"```json\n(.*?)```", block, flags=re.S)
            found.setdefault(section, []).extend(json.loads(b) for b in bodies)
    return found


def _blocks(prefix: str, count: int) -> list[Any]:
    sections = _examples()
    # Section titles read "2. Instagram Graph API (Instagram API with Facebook Login)".
    matches = [v for k, v in sections.items() if k.partition(". ")[2].startswith(prefix)]
    assert matches, f"no example section containing {prefix!r} in {DOC}"
    assert len(matches[0]) == count
    return matches[0]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_x_example() -> None:
    (body,) = _blocks("X (Twitter)", 1)
    followers = _followers_in(body, "2244994945")
    record = map_tweet(body["data"][0], handle="brickfan", timezone="UTC", followers=followers)
    assert record == {
        "platform": "x",
        "post_id": "1790011223344556677",
        "account": "brickfan",
        "text": "New set day! #Lego #AFOL",
        "posted_at": _utc("2025-05-01T12:00:05"),
        "likes": 57,
        "comments": 2,
        "shares": 5,  # 4 reposts + 1 quote
        "saves": 3,
        "impressions": 1890,
        "reach": None,
        "followers": 5120,
        "url": "https://x.com/brickfan/status/1790011223344556677",
        "account_timezone": "UTC",
    }
    assert body["meta"]["next_token"] == "b26v89c19zqg8o3fq0abc1de2fg3hi4jk5lm6no7p"


async def test_x_search_example_through_the_connector() -> None:
    """Section 1.8 is a recent-search answer: the connector's search mode reads it as a page."""
    (body,) = _blocks("X (Twitter)", 1)
    documented_get = re.search(r"^### 1\.8 .*`GET (\S+)`", DOC.read_text("utf-8"), flags=re.M)
    assert documented_get, "section 1.8 names no request"
    documented = httpx.URL(documented_get[1]).params
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json=body if len(seen) == 1 else {"meta": {"result_count": 0}})

    settings = CollectSettings(x_base_url="https://api.x.test", x_source="search", x_page_size=10)
    account = AccountSpec(Platform.X, "2244994945", "brickfan", "UTC", SecretStr("TOKEN"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        connector = XConnector(settings, client, RequestPacer(Platform.X, settings))
        result = await connector.collect(account, watermark=None, refresh_since=None)

    first, second = seen
    assert first.path == "/2/tweets/search/recent"
    assert first.params["query"] == "from:2244994945 -is:retweet"  # the user id survives renames
    for name in ("expansions", "user.fields", "max_results"):
        assert first.params[name] == documented[name]
    assert set(documented["tweet.fields"].split(",")) <= set(
        first.params["tweet.fields"].split(",")
    )
    assert second.params["next_token"] == body["meta"]["next_token"]  # copied verbatim
    (record,) = result.posts
    assert record == map_tweet(body["data"][0], handle="brickfan", timezone="UTC", followers=5120)
    assert result.followers == 5120
    assert result.watermark.since_id == body["meta"]["newest_id"]
    assert result.pages == 2


def test_instagram_examples() -> None:
    media, insights = _blocks("Instagram", 2)
    values = insight_values(insights)
    assert values == {
        "views": 3410,
        "reach": 2290,
        "saved": 14,
        "shares": 6,
        "total_interactions": 241,
    }
    first = map_media(
        media["data"][0], values, handle="park", timezone="Europe/London", followers=900
    )
    second = map_media(
        media["data"][1], None, handle="park", timezone="Europe/London", followers=900
    )
    common = {
        "platform": "instagram",
        "account": "park",
        "followers": 900,
        "account_timezone": "Europe/London",
    }
    assert first == common | {
        "post_id": "17895731045244001",
        "text": "Spring build #lego #moc",
        "posted_at": _utc("2025-05-01T12:00:00"),
        "likes": 212,
        "comments": 9,
        "shares": 6,
        "saves": 14,
        "impressions": 3410,  # `views`, the v22.0 replacement of impressions
        "reach": 2290,
        "url": "https://www.instagram.com/p/Cabc123xyz/",
    }
    assert second == common | {
        "post_id": "17896622936197002",
        "text": "Time-lapse #lego",
        "posted_at": _utc("2025-04-29T18:30:12"),
        "likes": 1048,
        "comments": 37,
        "shares": None,  # no insights fetched: unknown, not zero
        "saves": None,
        "impressions": None,
        "reach": None,
        "url": "https://www.instagram.com/reel/Cdef456uvw/",
    }


async def test_instagram_paging_next_drops_the_token() -> None:
    media, _ = _blocks("Instagram", 2)
    settings = CollectSettings()
    account = AccountSpec(
        Platform.INSTAGRAM, "17841400000000001", "park", "UTC", SecretStr("TOKEN")
    )
    async with httpx.AsyncClient() as client:
        pacer = RequestPacer(Platform.INSTAGRAM, settings)
        graph = GraphApi(settings.instagram_base_url, "v22.0", client, pacer)
        next_url = graph._next_url(Run(account, Window(None, None)), media)
    assert next_url == (
        "https://graph.facebook.com/v22.0/17841400000000001/media"
        "?fields=id%2Ccaption&limit=2&after=QVFIUnpZeFd2"
    )


def test_facebook_example() -> None:
    (body,) = _blocks("Facebook", 1)
    first, second = (
        map_page_post(p, None, handle="page", timezone="Europe/Berlin", followers=None)
        for p in body["data"]
    )
    common = {
        "platform": "facebook",
        "account": "page",
        "saves": None,
        "impressions": None,
        "reach": None,
        "followers": None,
        "account_timezone": "Europe/Berlin",
    }
    assert first == common | {
        "post_id": "1050000000000001_1220000000000101",
        "text": "Our spring collection is here! #Lego #Spring",
        "posted_at": _utc("2025-05-01T09:15:00"),
        "likes": 340,
        "comments": 27,
        "shares": 12,
        "url": "https://www.facebook.com/1050000000000001/posts/1220000000000101",
    }
    assert second == common | {
        "post_id": "1050000000000001_1220000000000055",
        "text": "Behind the scenes at the factory",
        "posted_at": _utc("2025-04-28T16:40:11"),
        "likes": 88,
        "comments": 3,
        "shares": 0,  # no `shares` key on a fetched post means none
        "url": "https://www.facebook.com/1050000000000001/posts/1220000000000055",
    }


def test_linkedin_examples() -> None:
    posts, stats_body = _blocks("LinkedIn", 2)
    stats = share_statistics(stats_body)
    assert set(stats) == {"urn:li:share:7191000000000000001"}
    mapped = [
        map_li_post(p, stats.get(p["id"]), handle="org", timezone="Europe/London", followers=33634)
        for p in posts["elements"]
    ]
    common = {
        "platform": "linkedin",
        "account": "org",
        "saves": None,
        "followers": 33634,
        "account_timezone": "Europe/London",
    }
    assert mapped[0] == common | {
        "post_id": "urn:li:share:7191000000000000001",
        "text": "Meet our new build kit #Lego #STEM (limited run)",  # as a person reads it
        "posted_at": _utc("2025-05-01T09:00:01"),  # publishedAt
        "likes": 96,
        "comments": 11,
        "shares": 7,
        "impressions": 5400,
        "reach": 3900,
        "url": "https://www.linkedin.com/feed/update/urn:li:share:7191000000000000001/",
    }
    assert mapped[1] == common | {
        "post_id": "urn:li:ugcPost:7190000000000000002",
        "text": "Factory tour video",
        "posted_at": _utc("2025-04-29T04:13:22"),
        "likes": None,  # missing from the statistics: unknown
        "comments": None,
        "shares": None,
        "impressions": None,
        "reach": None,
        "url": "https://www.linkedin.com/feed/update/urn:li:ugcPost:7190000000000000002/",
    }
    # The markup is rendered (platform-apis.md §6) and the hashtags survive.
    assert [tag for tag, _ in hashtags_in_post(mapped[0]["text"], "linkedin")] == ["lego", "stem"]
    assert not _is_last_page(posts, 0, 2, posts["elements"])  # total 37 and a next link
