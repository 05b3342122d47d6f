"""Language per post and sentiment only where it was scored, end to end: import over HTTP,
recompute, then the posts, the hashtag page and the report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from hashtag_core.aggregates.service import recompute
from hashtag_core.sentiment import score_texts
from tests.api.data import NOW
from tests.helpers import AUTH, NDJSON, ndjson

_EN_GOOD = "What a wonderful, happy day at the park with the whole family #parks"
_EN_BAD = "Terrible queues today and the staff were rude and awful #parks"
_JA = (
    "今日はパークで最高の一日でした！子どもたちはとても喜んでいました #parks",
    "新しいお城がついに完成しました。週末にぜひ見に来てください！ #parks #japanonly",
    "雨のため屋外エリアは閉鎖しています。ご了承ください。 #parks #japanonly",
)


def _post(i: int, text: str) -> dict[str, object]:
    return {
        "platform": "instagram",
        "account": "legoland_japan",
        "account_timezone": "Asia/Tokyo",
        "post_id": f"p{i}",
        "text": text,
        "posted_at": (NOW - timedelta(days=i + 1)).isoformat(),
        "likes": 10 * (i + 1),
    }


@pytest.fixture
def client(real_client):
    """Every test here runs on the app's real session dependencies."""
    return real_client


@pytest.fixture
async def loaded(client, engine):
    texts = [_EN_GOOD, _EN_BAD, *_JA]
    records = [_post(i, text) for i, text in enumerate(texts)]
    response = await client.post("/posts/import", content=ndjson(records), headers=NDJSON)
    assert response.status_code == 202, response.text
    outcome = await recompute(engine, now=NOW, force=True)
    assert outcome.status == "computed"


async def _get(client, path: str, **params) -> dict:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_post_shows_its_language_and_null_where_not_scored(client, loaded):
    english = await _get(client, "/posts/instagram/p0")
    assert english["language"] == "en"
    assert english["sentiment"] == pytest.approx(score_texts([_EN_GOOD])[0])
    japanese = await _get(client, "/posts/instagram/p2")
    assert (japanese["language"], japanese["sentiment"]) == ("ja", None)


async def test_unscored_posts_are_null_not_zero_in_the_hashtag_sentiment(client, loaded):
    insights = (await _get(client, "/hashtags/parks"))["insights"]
    good, bad = score_texts([_EN_GOOD, _EN_BAD])
    # The mean of the two English posts: three Japanese zeros would have pulled it to 2/5.
    assert insights["sentiment_mean"] == pytest.approx((good + bad) / 2)
    assert insights["sentiment_scored_posts"] == 2
    assert insights["sentiment_coverage"] == pytest.approx(2 / 5)
    assert insights["sentiment_languages"] == ["en"]
    assert insights["sentiment_status"] == "not scored"  # under half its posts
    assert insights["languages"] == [
        {"language": "ja", "posts": 3, "share": pytest.approx(0.6), "scored_posts": 0},
        {"language": "en", "posts": 2, "share": pytest.approx(0.4), "scored_posts": 2},
    ]


async def test_a_hashtag_in_an_unscored_language_has_no_sentiment(client, loaded):
    insights = (await _get(client, "/hashtags/japanonly"))["insights"]
    assert insights["sentiment_mean"] is None
    assert insights["sentiment_positive_share"] is None
    assert (insights["sentiment_scored_posts"], insights["sentiment_coverage"]) == (0, 0.0)
    assert insights["sentiment_status"] == "not scored"
    assert insights["languages"] == [
        {"language": "ja", "posts": 2, "share": 1.0, "scored_posts": 0}
    ]


async def test_posts_filter_by_language(client, loaded):
    page = await _get(client, "/hashtags/parks", language="ja")
    assert [item["post_id"] for item in page["items"]] == ["p2", "p3", "p4"]
    page = await _get(client, "/hashtags/parks", language="en")
    assert {item["language"] for item in page["items"]} == {"en"}
    assert (await _get(client, "/hashtags/parks", language="ko"))["items"] == []


async def test_a_bad_language_is_a_422_naming_the_parameter(client, loaded):
    response = await client.get("/hashtags/parks", params={"language": "Japanese!"})
    assert response.status_code == 422
    assert "language" in response.text


async def test_the_report_carries_coverage_status_and_languages(client, loaded):
    params = {"min_posts": 1, "format": "csv"}
    response = await client.get("/reports/hashtags", params=params)
    assert response.status_code == 200, response.text
    rows = {row["key"]: row for row in csv.DictReader(io.StringIO(response.text))}
    parks, japan = rows["parks"], rows["japanonly"]
    assert (parks["sentiment_posts"], parks["sentiment_languages"]) == ("2", "en")
    assert float(parks["sentiment_coverage"]) == pytest.approx(0.4)
    assert (parks["sentiment_status"], parks["languages"]) == ("not scored", "ja:3 en:2")
    assert (japan["sentiment_mean"], japan["sentiment_coverage"]) == ("", "0.0")
    assert (japan["sentiment_status"], japan["languages"]) == ("not scored", "ja:2")


async def test_changing_the_text_detects_and_scores_again(client, loaded):
    danish = "Sikke en dejlig dag i parken, tak til alle der kom #parks"
    body = {"platform": "instagram", "post_id": "p2", "text": danish}
    response = await client.post("/update-post", json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    post = response.json()["post"]
    assert post["language"] == "da"
    assert post["sentiment"] > 0.05  # AFINN-da: "dejlig" +3, "tak" +2
    assert response.json()["changed"] == ["text"]
    body["text"] = "本日は休園です。またのご来園をお待ちしております。"
    post = (await client.post("/update-post", json=body, headers=AUTH)).json()["post"]
    assert (post["language"], post["sentiment"]) == ("ja", None)
