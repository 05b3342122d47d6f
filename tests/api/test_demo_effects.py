"""The demo's planted effects are recovered through the endpoints (issue: figures that show
something true). Uses the seeded generator, the real import path and the recompute pass."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import UTC, datetime

import pytest

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates.service import recompute
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo import DemoConfig, generate_posts
from hashtag_core.demo.generator import DEMO_ACCOUNTS, PLANTED_EFFECTS
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.posts.service import import_rows

END = datetime(2026, 1, 1, tzinfo=UTC)
E = PLANTED_EFFECTS


@pytest.fixture
def client(real_client):
    """Every test here runs on the app's real session dependencies."""
    return real_client


@pytest.fixture
async def demo(client, engine, arq_redis):
    # Committed through an import session of its own, then the worker's own full pass:
    # the endpoints read it through their real session, snapshot and read lock.
    config = DemoConfig(posts=8000, seed=2026, end=END)
    rows = (RawRow(i, r) for i, r in enumerate(generate_posts(config), start=1))
    async with create_sessionmaker(engine)() as session:
        result = await import_rows(
            session, rows, queue=ArqJobQueue(arq_redis), batch_rows=4000, max_errors=10
        )
    assert result.rejected == 0
    assert result.inserted == 8000
    outcome = await recompute(engine, now=END, force=True)
    assert outcome.status == "computed"


async def _figures(client, **params):
    page = (await client.get("/hashtag-performance", params={"window": "all", **params})).json()
    return {item["key"]: item for item in page["items"]}


async def test_lifting_and_weak_hashtags_against_a_neutral_control(client, demo):
    # Raw averages mix account sizes (across accounts the lift shows as only ~1.26x), so
    # compare each account's tags with its own neutral control tag.
    lift_ratios, weak_ratios = [], []
    for account in DEMO_ACCOUNTS:
        figures = await _figures(
            client, account=account.handle, platform=account.platform.value, min_posts=5, limit=1000
        )
        control = figures["family"]["avg_engagement"]
        lift_ratios.append(figures[E.lift.name.casefold()]["avg_engagement"] / control)
        weak_ratios.append(figures[E.weak.name.casefold()]["avg_engagement"] / control)
    assert statistics.median(lift_ratios) > 1.3
    assert statistics.median(weak_ratios) < 0.8
    assert sum(r > 1 for r in lift_ratios) >= len(lift_ratios) - 2


async def test_one_post_outlier_tops_a_naive_ranking_but_not_the_default(client, demo):
    naive = (
        await client.get(
            "/hashtag-performance",
            params={"window": "all", "min_posts": 1, "sort": "avg_engagement", "limit": 1},
        )
    ).json()
    assert naive["items"][0]["key"] == E.outlier.name.casefold()
    assert naive["items"][0]["posts"] == 1
    default = (await client.get("/hashtag-performance", params={"window": "all"})).json()
    top = [item["key"] for item in default["items"][:10]]
    assert default["goal"] == "engagement"
    assert top[0] == E.lift.name.casefold()
    assert E.outlier.name.casefold() not in top


async def test_verdicts_for_planted_and_neutral_hashtags(client, demo):
    figures = await _figures(client, limit=1000)
    lift = figures[E.lift.name.casefold()]
    assert lift["verdict"] == "lifts"
    assert lift["lift_ci_low"] > 0.3
    assert lift["lift_ci_low"] < lift["lift"] < lift["lift_ci_high"]
    assert figures[E.weak.name.casefold()]["verdict"] == "underperforms"
    outlier = figures[E.outlier.name.casefold()]
    assert outlier["lift_posts"] == 1
    assert outlier["lift_ci_low"] is None
    # one post: a huge raw lift, but no headline, no verdict, last in the ranking
    assert outlier["lift"] > 0.1
    assert outlier["score"] is None
    assert outlier["verdict"] == "too_few_posts"


async def test_follower_growth_driver(client, demo):
    figures = await _figures(client, goal="followers", limit=1000, min_posts=10, sort="lift")
    assert next(iter(figures)) == E.follower_driver.name.casefold()
    assert figures[E.follower_driver.name.casefold()]["lift_ci_low"] > 0


async def test_best_local_weekday_hour_across_dst(client, demo):
    slot = (E.best_slot.iso_weekday, E.best_slot.hour)
    ratios = []
    for account in DEMO_ACCOUNTS:
        params = {"account": account.handle, "platform": account.platform.value}
        cells = (await client.get("/engagement-trends", params=params)).json()["items"][0]["cells"]
        posts = sum(c["posts"] for c in cells)
        mean = sum(c["posts"] * c["avg_engagement"] for c in cells) / posts
        by_slot = {(c["weekday"], c["hour"]): c for c in cells}
        ratios.append(by_slot[slot]["avg_engagement"] / mean)
        if account.handle == "legolandwindsor":  # Europe/London: the slot survives DST
            busy = [c for c in cells if c["posts"] >= 20]
            best = max(busy, key=lambda c: c["avg_engagement"])
            assert (best["weekday"], best["hour"]) == slot
    assert statistics.median(ratios) > 1.4


async def test_best_slot_and_momentum_through_trends(client, demo):
    body = (await client.get("/engagement-trends")).json()
    (all_posts,) = body["items"]
    best = all_posts["best_slots"][0]
    assert (best["weekday"], best["hour"]) == (E.best_slot.iso_weekday, E.best_slot.hour)
    assert best["rank"] == 1
    assert best["lift_ci_low"] > 0.3
    assert all_posts["momentum"] is None  # all posts against their own medians: always ~0
    lifted = (await client.get("/engagement-trends", params={"hashtag": E.lift.name})).json()
    assert lifted["items"][0]["key"] == E.lift.name.casefold()
    assert lifted["items"][0]["momentum"]["direction"] in {"rising", "falling", "flat"}


async def test_recommendations_use_the_lifting_tag_and_avoid_the_weak_one(client, demo):
    body = (await client.get("/recommendations", params={"goal": "engagement"})).json()
    use = {item["hashtag"].casefold(): item for item in body["use"]}
    avoid = {item["hashtag"].casefold() for item in body["avoid"]}
    top = body["use"][0]
    assert top["hashtag"].casefold() == E.lift.name.casefold()
    assert top["expected_low"] > 0
    assert top["posts"] >= 10
    assert top["verdict"] == "lifts"
    assert top["best_slot"]["weekday"] == E.best_slot.iso_weekday
    assert top["reason"].startswith(f"Posts with #{top['hashtag']}")
    assert "posts)" in top["reason"]
    assert E.weak.name.casefold() in avoid
    assert E.outlier.name.casefold() not in use  # one post is not evidence
    followers = (await client.get("/recommendations", params={"goal": "followers"})).json()
    assert followers["use"][0]["hashtag"].casefold() == E.follower_driver.name.casefold()
    assert followers["use"][0]["reason"].startswith("Follower counts")


async def test_recommendations_for_one_account(client, demo):
    params = {"goal": "engagement", "account": "legolandwindsor", "platform": "instagram"}
    body = (await client.get("/recommendations", params=params)).json()
    assert body["account"] == "legolandwindsor"
    assert body["platform"] == "instagram"
    assert all("on legolandwindsor" in item["reason"] for item in body["use"] + body["avoid"])


async def test_report_json_and_csv_agree(client, demo):
    report = (
        await client.get("/reports/hashtags", params={"window": "all", "min_posts": 5})
    ).json()
    rows = {row["key"]: row for row in report["items"]}
    lift = rows[E.lift.name.casefold()]
    assert lift["engagement_verdict"] == "lifts"
    assert lift["posts"] >= 5
    assert rows[E.follower_driver.name.casefold()]["followers_verdict"] == "lifts"
    assert lift["sentiment_mean"] is not None
    assert (
        0.99
        < lift["sentiment_positive_share"]
        + lift["sentiment_neutral_share"]
        + lift["sentiment_negative_share"]
        < 1.01
    )
    response = await client.get(
        "/reports/hashtags",
        params={"window": "all", "min_posts": 5},
        headers={"Accept": "text/csv"},
    )
    assert response.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["key"] for r in parsed] == [r["key"] for r in report["items"]]
    first = parsed[0]
    assert float(first["engagement_lift"]) == pytest.approx(report["items"][0]["engagement_lift"])


async def test_hashtag_page_carries_its_insights(client, demo):
    body = (await client.get(f"/hashtags/{E.lift.name}", params={"limit": 1})).json()
    insights = body["insights"]
    lifts = {row["goal"]: row for row in insights["lifts"]}
    assert set(lifts) == {"engagement", "reach", "virality", "er_follower", "followers"}
    assert lifts["engagement"]["verdict"] == "lifts"
    assert lifts["engagement"]["lift_posts"] == body["figures"]["posts"]
    assert insights["pairs"]
    assert all(p["posts"] >= 5 for p in insights["pairs"])
    assert insights["sentiment_mean"] is not None
    assert 0 < insights["content_reach"] <= 1


@pytest.mark.parametrize("window", ["all", "90d"])
async def test_live_slot_lifts_in_the_accounts_own_zone_equal_the_stored_ones(client, demo, window):
    # The live figures' windows end where the stored ones do (the last recompute), not now.
    base = {"account": "legolandwindsor", "platform": "instagram", "window": window}
    stored = (await client.get("/engagement-trends", params=base)).json()["items"][0]["cells"]
    live = (await client.get("/engagement-trends", params={**base, "tz": "Europe/London"})).json()
    live_cells = {(c["weekday"], c["hour"]): c for c in live["items"][0]["cells"]}
    assert live["computed_at"] is None
    assert len(live_cells) == len(stored)
    for cell in stored:
        other = live_cells[(cell["weekday"], cell["hour"])]
        assert other["posts"] == cell["posts"]
        for name in ("lift", "lift_ci_low", "lift_ci_high"):
            if cell[name] is None:
                assert other[name] is None
            else:
                assert other[name] == pytest.approx(cell[name], rel=1e-9, abs=1e-12)
        # The estimate needs a full pass in the zone: live answers carry the raw lift only.
        assert other["score"] is None
    # Stored best slots rank by the estimate (the heatmap's figure); live ones, which have no
    # estimate, by the raw interval's low end. Both pick from cells with 5+ posts.
    stored_best = (await client.get("/engagement-trends", params=base)).json()["items"][0][
        "best_slots"
    ]
    live_best = live["items"][0]["best_slots"]
    if window == "all":  # 90 days hold too few of its posts for a slot with enough evidence
        assert stored_best, "the demo's planted slot gives this account best slots"
    assert all(b["posts"] >= 5 for b in [*stored_best, *live_best])
    scores = [b["score"] for b in stored_best]
    assert scores == sorted(scores, reverse=True)
    lows = [b["lift_ci_low"] for b in live_best]
    assert lows == sorted(lows, reverse=True)
    if window != "all":
        return  # below: all-history cells, each with posts in the window
    utc = (await client.get("/engagement-trends", params={**base, "tz": "UTC"})).json()
    assert all(c["lift"] is not None for c in utc["items"][0]["cells"])
    # In another zone the cells are regrouped, and best slots are ranked among them too.
    assert utc["items"][0]["best_slots"]
    assert all(b["posts"] >= 5 for b in utc["items"][0]["best_slots"])


async def test_the_parks_languages_show_and_only_readable_ones_are_scored(client, demo):
    async def insights(tag: str) -> dict:
        return (await client.get(f"/hashtags/{tag}", params={"limit": 1})).json()["insights"]

    japan = await insights("LEGOLANDJapan")
    languages = {x["language"]: x for x in japan["languages"]}
    assert languages["ja"]["share"] > 0.6  # the Japan park writes mostly in Japanese
    assert languages["ja"]["scored_posts"] == 0
    assert japan["sentiment_status"] == "not scored"
    assert japan["sentiment_coverage"] < 0.5
    billund = await insights("LEGOLANDBillund")
    assert {x["language"] for x in billund["languages"]} >= {"da", "en"}
    assert billund["sentiment_languages"] == ["da", "en"]
    assert billund["sentiment_status"] == "scored"
    deutschland = await insights("LEGOLANDDeutschland")
    assert max(deutschland["languages"], key=lambda x: x["posts"])["language"] == "de"
    assert deutschland["sentiment_status"] == "not scored"
