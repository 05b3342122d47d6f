"""GET /period-change on the hand-worked data of tests/api/data.py (docs/metrics.md,
"Period change")."""

from __future__ import annotations

import math

import pytest

from tests.api.data import POSTS
from tests.helpers import NDJSON, ndjson

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
