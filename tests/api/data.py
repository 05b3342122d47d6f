"""A small dataset whose figures are worked out by hand in the tests."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2025, 6, 10, tzinfo=UTC)

BILLUND_X = {
    "platform": "x",
    "account": "LEGOLAND_Billund",
    "account_timezone": "Europe/Copenhagen",
}
WINDSOR_IG = {
    "platform": "instagram",
    "account": "legolandwindsor",
    "account_timezone": "Europe/London",
}
BILLUND_IG = {
    "platform": "instagram",
    "account": "LEGOLAND_Billund",
    "account_timezone": "Europe/Copenhagen",
}

POSTS = [
    # 1: Saturday 10:00 Copenhagen (UTC+1, before DST). engagement 10+2+4 = 16
    {
        **BILLUND_X,
        "post_id": "b1",
        "text": "Opening day! #LEGOLAND #Ninjago",
        "posted_at": "2025-03-29T10:00:00+01:00",
        "likes": 10,
        "comments": 2,
        "shares": 4,
        "impressions": 1000,
        "followers": 2000,
    },
    # 2: Sunday 10:00 Copenhagen (UTC+2: DST began 30 March). engagement 4
    {
        **BILLUND_X,
        "post_id": "b2",
        "text": "Day two #legoland",
        "posted_at": "2025-03-30T10:00:00+02:00",
        "likes": 4,
        "shares": 0,
        "impressions": 400,
        "followers": 2000,
    },
    # 3: Saturday 10:00 Copenhagen, no hashtag. engagement 1
    {
        **BILLUND_X,
        "post_id": "b3",
        "text": "no tags here",
        "posted_at": "2025-04-05T10:00:00+02:00",
        "likes": 1,
    },
    # 4: Saturday 18:00 London. engagement 50+5+5+10 = 70
    {
        **WINDSOR_IG,
        "post_id": "w1",
        "text": "Sunset rides #LEGOLAND #family",
        "posted_at": "2025-06-07T18:00:00+01:00",
        "likes": 50,
        "comments": 5,
        "shares": 5,
        "saves": 10,
        "reach": 1000,
        "followers": 10000,
    },
    # 5: reach reported as 0 -> virality falls back to impressions. engagement 22
    {
        **WINDSOR_IG,
        "post_id": "w2",
        "text": "#Family breakfast",
        "posted_at": "2025-06-08T09:00:00+01:00",
        "likes": 20,
        "shares": 2,
        "reach": 0,
        "impressions": 500,
        "followers": 10000,
    },
    # 6: engagement 30+3 = 33
    {
        **BILLUND_IG,
        "post_id": "bi1",
        "text": "#LEGOLAND in June",
        "posted_at": "2025-06-01T12:00:00+02:00",
        "likes": 30,
        "shares": 3,
        "reach": 600,
        "followers": 5000,
    },
]
