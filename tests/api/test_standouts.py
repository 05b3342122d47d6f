"""GET /hashtags/{hashtag}/standouts: a hashtag's best and weakest posts against their own
account's usual post, on the hand-worked data of tests/api/data.py (docs/metrics.md,
"Standout posts")."""

from __future__ import annotations

import math

import pytest

from hashtag_core.aggregates.service import recompute
from tests.api.data import NOW, POSTS
from tests.helpers import NDJSON, ndjson


@pytest.fixture
def client(real_client):
    return real_client


@pytest.fixture
async def loaded(client, engine):
    response = await client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert response.status_code == 202, response.text
    outcome = await recompute(engine, now=NOW, force=True)
    assert outcome.status == "computed"


async def _standouts(client, tag="legoland", **params):
    response = await client.get(f"/hashtags/{tag}/standouts", params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestStandouts:
    async def test_all_history_by_hand(self, client, loaded):
        body = await _standouts(client)
        # Billund X: values 1 + (16, 4, 1) = 17, 5, 2 -> median 5: b1 17/5, b2 5/5.
        # Windsor IG: 71, 23 -> median 47: w1 71/47. Billund IG: 34 alone -> bi1 34/34.
        expected = {"b1": 17 / 5 - 1, "w1": 71 / 47 - 1, "bi1": 0.0, "b2": 0.0}
        assert body["key"] == "legoland"
        assert body["window"] == "all"
        assert body["posts"] == 4
        assert [p["post_id"] for p in body["best"]] == ["b1", "w1", "bi1", "b2"]
        # the ties at 0 are newest first in both lists
        assert [p["post_id"] for p in body["worst"]] == ["bi1", "b2", "w1", "b1"]
        for post in body["best"]:
            assert post["relative"] == pytest.approx(expected[post["post_id"]], abs=1e-12)
        assert {p["post_id"]: p["account_baseline"] for p in body["best"]} == pytest.approx(
            {"b1": 5, "b2": 5, "w1": 47, "bi1": 34}
        )
        assert body["best"][0]["engagement"] == 16
        assert body["best"][0]["hashtags"] == ["LEGOLAND", "Ninjago"]

    async def test_window_uses_that_windows_baselines(self, client, loaded):
        body = await _standouts(client, window="30d")
        # From 2025-05-11: w1, w2 (Windsor, median 47) and bi1 (Billund IG, 34).
        assert [p["post_id"] for p in body["best"]] == ["w1", "bi1"]
        assert body["best"][0]["relative"] == pytest.approx(71 / 47 - 1)
        limited = await _standouts(client, limit=1, platform="x")
        assert [p["post_id"] for p in limited["best"]] == ["b1"]
        assert [p["post_id"] for p in limited["worst"]] == ["b2"]
        assert limited["posts"] == 2

    async def test_a_weaker_post_is_below_zero(self, client, loaded):
        body = await _standouts(client, tag="family")
        # Windsor: w1 71/47, w2 23/47
        assert [p["post_id"] for p in body["best"]] == ["w1", "w2"]
        assert body["best"][1]["relative"] == pytest.approx(math.expm1(math.log(23 / 47)))

    async def test_bad_input_is_a_clear_4xx(self, client, loaded):
        missing = await client.get("/hashtags/nosuchtag/standouts")
        assert missing.status_code == 404
        assert "nosuchtag" in missing.json()["detail"]
        bad = await client.get("/hashtags/legoland/standouts", params={"limit": 0})
        assert bad.status_code == 422
        assert {d["field"] for d in bad.json()["details"]} == {"query.limit"}
        unknown = await client.get("/hashtags/legoland/standouts", params={"account": "nobody"})
        assert unknown.status_code in (404, 422)

    async def test_before_any_recompute_nothing_is_listed(self, client):
        response = await client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
        assert response.status_code == 202
        body = await _standouts(client)
        assert body["baselines_at"] is None
        assert body["posts"] == 0
        assert body["best"] == body["worst"] == []
