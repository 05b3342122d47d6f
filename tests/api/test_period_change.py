"""GET /period-change on the hand-worked data of tests/api/data.py (docs/metrics.md,
"Period change")."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text

from hashtag_core.analytics.period_change import PERIOD_POSTS_SCHEMA
from hashtag_core.periods.repository import span_levels
from tests.api.data import POSTS
from tests.helpers import NDJSON, ndjson
from tests.oracles.period_change import period_levels

T975_DF1 = 12.706204736174698


@pytest.fixture
def client(real_client):
    return real_client


@pytest.fixture
async def loaded(client):
    response = await client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert response.status_code == 202, response.text


async def _change(client, **params):
    response = await client.get("/period-change", params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestPeriodChange:
    async def test_by_hand(self, client, loaded):
        # 70 days from 1 April; the previous 70 days start on 21 January.
        body = await _change(client, since="2025-04-01", until="2025-06-10")
        assert (body["since"], body["until"], body["previous_since"]) == (
            "2025-04-01",
            "2025-06-10",
            "2025-01-21",
        )
        items = {i["key"]: i for i in body["items"]}
        assert [i["key"] for i in body["items"]] == ["family", "legoland", "ninjago"]
        # Previous: Billund X b1, b2 (values 17, 5: median 11). Now: Windsor w1, w2 (71, 23:
        # median 47), Billund IG bi1 alone (34: ratio 1), Billund X b3 alone (untagged).
        lego = items["legoland"]
        assert (lego["current_posts"], lego["previous_posts"]) == (2, 2)
        now = [math.log(71 / 47), 0.0]
        before = [math.log(17 / 11), math.log(5 / 11)]
        difference = sum(now) / 2 - sum(before) / 2
        assert lego["current_mean_log_ratio"] == pytest.approx(sum(now) / 2)
        assert lego["previous_mean_log_ratio"] == pytest.approx(sum(before) / 2)
        assert lego["change"] == pytest.approx(math.expm1(difference))
        v1 = (now[0] - now[1]) ** 2 / 2 / 2  # sample variance / n
        v2 = (before[0] - before[1]) ** 2 / 2 / 2
        assert (v1 + v2) ** 2 / (v1**2 + v2**2) < 2  # Welch df 1.22 -> 1
        se = math.sqrt(v1 + v2)
        assert lego["change_ci_low"] == pytest.approx(math.expm1(difference - T975_DF1 * se))
        assert lego["change_ci_high"] == pytest.approx(math.expm1(difference + T975_DF1 * se))
        assert lego["direction"] == "flat"
        family = items["family"]
        assert (family["current_posts"], family["previous_posts"]) == (2, 0)
        assert family["change"] is None
        assert family["direction"] == "flat"
        assert (items["ninjago"]["current_posts"], items["ninjago"]["previous_posts"]) == (0, 1)

    async def test_scope_and_limits(self, client, loaded):
        body = await _change(client, since="2025-04-01", until="2025-06-10", platform="x")
        assert body["platform"] == "x"
        assert [i["key"] for i in body["items"]] == ["legoland", "ninjago"]
        assert body["items"][0]["current_posts"] == 0
        few = await _change(client, since="2025-04-01", until="2025-06-10", min_posts=2, limit=1)
        assert few["total"] == 2  # family and legoland have 2 posts in a period
        assert [i["key"] for i in few["items"]] == ["family"]

    async def test_bad_ranges_are_clear_422s(self, client, loaded):
        for params, field in (
            ({"since": "2025-06-10", "until": "2025-06-10"}, "until"),
            ({"since": "2000-01-01", "until": "2025-06-10"}, "until"),
            # the previous period would start before year 1
            ({"since": "0001-03-01", "until": "0001-06-01"}, "since"),
        ):
            response = await client.get("/period-change", params=params)
            assert response.status_code == 422, response.text
            assert field in response.text
        missing = await client.get("/period-change", params={"since": "2025-06-01"})
        assert missing.status_code == 422
        assert {d["field"] for d in missing.json()["details"]} == {"query.until"}
        compact = await client.get(
            "/period-change", params={"since": "20250601", "until": "2025-06-10"}
        )
        assert compact.status_code == 422


def _random_posts(seed: int) -> list[dict[str, object]]:
    """300 posts of three accounts over 200 days: heavy-tailed engagement, some counters
    unknown, 0-3 of 12 hashtags each."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    posts: list[dict[str, object]] = []
    for i in range(300):
        account = rng.choice(["parkA", "parkB", "parkC"])
        tags = " ".join(f"#tag{t}" for t in rng.sample(range(12), rng.randint(0, 3)))
        likes = None if rng.random() < 0.1 else int(rng.lognormvariate(3, 1.5))
        posts.append(
            {
                "platform": "instagram" if account != "parkC" else "x",
                "account": account,
                "post_id": f"r{i}",
                "text": f"post {i} {tags}",
                "posted_at": (start + timedelta(hours=rng.randint(0, 24 * 200))).isoformat(),
                "likes": likes,
                "comments": rng.randint(0, 5),
            }
        )
    return posts


async def _frames(session, start: datetime, end: datetime) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The posts in [start, end) and their links, read whole (what the service no longer does)."""
    conn = await session.connection()
    posts = (
        await conn.execute(
            text(
                "SELECT id, account_id, posted_at, engagement FROM post "
                "WHERE posted_at >= :start AND posted_at < :end"
            ),
            {"start": start, "end": end},
        )
    ).all()
    links = (await conn.execute(text("SELECT post_id, hashtag_id FROM post_hashtag"))).all()
    return (
        pl.DataFrame([tuple(r) for r in posts], schema=PERIOD_POSTS_SCHEMA, orient="row").lazy(),
        pl.DataFrame(
            [tuple(r) for r in links],
            schema={"post_id": pl.Int64, "hashtag_id": pl.Int64},
            orient="row",
        ).lazy(),
    )


async def test_sql_levels_equal_the_polars_definition(client, session):
    """`span_levels` sums in PostgreSQL what `period_levels` defines in polars (medians of
    even counts, the cap, posts without a known engagement, untagged posts)."""
    response = await client.post(
        "/posts/import", content=ndjson(_random_posts(seed=5)), headers=NDJSON
    )
    assert response.status_code == 202, response.text
    start, split, end = (datetime(2025, m, d, tzinfo=UTC) for m, d in ((1, 20), (4, 1), (7, 1)))
    posts, links = await _frames(session, start, end)
    want = period_levels(posts, links, start=start, split=split, end=end).collect()
    got = await span_levels(
        session, platform=None, account_id=None, start=start, split=split, end=end
    )
    keys = ["hashtag_id", "period"]
    assert want.height > 20
    assert want["n"].sum() > 200
    assert_frame_equal(
        got.sort(keys), want.sort(keys), check_exact=False, rel_tol=1e-9, abs_tol=1e-9
    )
    # One account's scope
    conn = await session.connection()
    account = int((await conn.execute(text("SELECT min(id) FROM account"))).scalar_one())
    scoped = await span_levels(
        session, platform=None, account_id=account, start=start, split=split, end=end
    )
    mine = posts.filter(pl.col("account_id") == account)
    want = period_levels(mine, links, start=start, split=split, end=end).collect()
    assert_frame_equal(
        scoped.sort(keys), want.sort(keys), check_exact=False, rel_tol=1e-9, abs_tol=1e-9
    )
