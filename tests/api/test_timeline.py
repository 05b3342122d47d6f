"""GET /follower-trends on a small dataset whose series are worked out by hand."""

from __future__ import annotations

import pytest

from tests.helpers import NDJSON, ndjson

NEW_YORK = {"platform": "x", "account": "tl_acct", "account_timezone": "America/New_York"}
UTC_IG = {"platform": "instagram", "account": "tl_other", "account_timezone": "UTC"}


def _post(base: dict[str, str], post_id: str, at: str, followers: int) -> dict[str, object]:
    return {
        **base,
        "post_id": post_id,
        "text": "#Timeline",
        "posted_at": at,
        "likes": 1,
        "followers": followers,
    }


# New York is UTC-4 in June: t1 is local Sunday 1 June 22:00 (2 June in UTC), t4 local 3 June.
POSTS = [
    _post(NEW_YORK, "t1", "2025-06-02T02:00:00Z", 100),
    _post(NEW_YORK, "t2", "2025-06-02T14:00:00Z", 110),
    _post(NEW_YORK, "t3", "2025-06-02T23:30:00Z", 120),
    _post(NEW_YORK, "t4", "2025-06-04T03:00:00Z", 115),
    _post(NEW_YORK, "t5", "2025-06-10T12:00:00Z", 130),
    _post(UTC_IG, "u1", "2025-06-02T01:00:00Z", 5000),
]


@pytest.fixture
async def loaded(client):
    response = await client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert response.status_code == 202, response.text


async def _trends(client, **params):
    response = await client.get("/follower-trends", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _points(series):
    return [
        (
            p["period_start"],
            p["followers"],
            p["followers_min"],
            p["followers_max"],
            p["snapshots"],
            p["change"],
        )
        for p in series
    ]


async def test_daily_points_in_the_accounts_local_dates(client, loaded):
    page = await _trends(client, account="tl_acct")
    assert page["account"] == "tl_acct"
    assert page["platform"] == "x"
    [account] = page["items"]
    assert account["time_zone"] == "America/New_York"
    assert _points(account["series"]) == [
        ("2025-06-01", 100, 100, 100, 1, None),
        # t2 and t3: the last snapshot of the day is t3
        ("2025-06-02", 120, 110, 120, 2, 20),
        ("2025-06-03", 115, 115, 115, 1, -5),
        ("2025-06-10", 130, 130, 130, 1, 15),
    ]


async def test_weekly_points_take_the_weeks_last_snapshot(client, loaded):
    page = await _trends(client, account="tl_acct", granularity="week")
    assert page["granularity"] == "week"
    assert _points(page["items"][0]["series"]) == [
        ("2025-05-26", 100, 100, 100, 1, None),  # local Sunday 1 June ends ISO week 22
        ("2025-06-02", 115, 110, 120, 3, 15),
        ("2025-06-09", 130, 130, 130, 1, 15),
    ]


async def test_scope_filters_and_date_window(client, loaded):
    every = await _trends(client)
    assert [(a["handle"], a["platform"]) for a in every["items"]] == [
        ("tl_acct", "x"),
        ("tl_other", "instagram"),
    ]
    instagram = await _trends(client, platform="instagram")
    assert [a["handle"] for a in instagram["items"]] == ["tl_other"]
    assert _points(instagram["items"][0]["series"]) == [("2025-06-02", 5000, 5000, 5000, 1, None)]
    window = await _trends(client, account="tl_acct", since="2025-06-02", until="2025-06-10")
    # the change is within the window: the first point has none
    assert _points(window["items"][0]["series"]) == [
        ("2025-06-02", 120, 110, 120, 2, None),
        ("2025-06-03", 115, 115, 115, 1, -5),
    ]
    assert (await _trends(client, platform="linkedin"))["items"] == []


async def test_errors_name_what_was_wrong(client, loaded):
    unknown = await client.get("/follower-trends", params={"account": "nobody"})
    assert unknown.status_code == 404
    assert "nobody" in unknown.json()["detail"]
    backwards = await client.get(
        "/follower-trends", params={"since": "2025-06-10", "until": "2025-06-01"}
    )
    assert backwards.status_code == 422
    assert "since" in backwards.json()["detail"]
    for params in ({"granularity": "month"}, {"since": "20250601"}, {"platform": "myspace"}):
        bad = await client.get("/follower-trends", params=params)
        assert bad.status_code == 422, params
        assert next(iter(params)) in bad.text
