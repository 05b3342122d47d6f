"""GET /reports/hashtags for a window is the per-window figures the other endpoints serve, in
one table: for every listed hashtag, each goal's lift, interval, score and verdict equal those
of /hashtag-performance and /hashtags/{hashtag} for the same window, content reach and
sentiment those of /hashtags/{hashtag}, the best slot that of /engagement-trends and
/recommendations, and momentum (which has no window) that of /engagement-trends. On the demo
data the 90-day rows differ from the all-history rows wherever the posts differ."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates.service import recompute
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo import DemoConfig, generate_posts
from hashtag_core.hashtags.repository import FIGURE_COLUMNS
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.posts.service import import_rows

END = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = "90d"
GOALS = ("engagement", "reach", "virality", "er_follower", "followers")
_PREFIX = {goal: f"{goal}_lift" for goal in GOALS} | {"followers": "followers_growth"}
#: hashtags checked one by one against /hashtags/{hashtag} and /engagement-trends
CHECKED = 12


@pytest.fixture
def client(real_client):
    """Every test here runs on the app's real session dependencies."""
    return real_client


@pytest.fixture
async def demo(client, engine, arq_redis):
    # Committed through an import session of its own, then the worker's own full pass:
    # the endpoints read it through their real session, snapshot and read lock.
    config = DemoConfig(posts=4000, seed=2026, end=END)
    rows = (RawRow(i, r) for i, r in enumerate(generate_posts(config), start=1))
    async with create_sessionmaker(engine)() as session:
        result = await import_rows(
            session, rows, queue=ArqJobQueue(arq_redis), batch_rows=4000, max_errors=10
        )
    assert result.rejected == 0
    outcome = await recompute(engine, now=END, force=True)
    assert outcome.status == "computed"


async def _get(client: Any, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _report(client: Any, window: str) -> dict[str, dict[str, Any]]:
    page = await _get(client, "/reports/hashtags", window=window)
    assert page["window"] == window
    return {row["key"]: row for row in page["items"]}


def _goal_columns(goal: str) -> dict[str, str]:
    """/hashtag-performance lift field -> report column, for one goal."""
    prefix = _PREFIX[goal]
    return {
        "lift": prefix,
        "lift_ci_low": f"{prefix}_ci_low",
        "lift_ci_high": f"{prefix}_ci_high",
        "lift_posts": f"{prefix}_posts",
        "score": f"{goal}_score",
        "score_ci_low": f"{goal}_score_ci_low",
        "score_ci_high": f"{goal}_score_ci_high",
        "qvalue": f"{goal}_qvalue",
        "verdict": f"{goal}_verdict",
    }


async def test_report_rows_equal_the_window_figures_of_the_other_endpoints(client, demo):
    report = await _report(client, WINDOW)
    assert len(report) > CHECKED
    for goal in GOALS:
        page = await _get(
            client, "/hashtag-performance", window=WINDOW, goal=goal, limit=1000, min_posts=1
        )
        served = {item["key"]: item for item in page["items"]}
        assert set(served) == set(report)
        for key, row in report.items():
            for name in FIGURE_COLUMNS:
                assert row[name] == served[key][name], (key, name)
            for field, column in _goal_columns(goal).items():
                expected = served[key][field]
                if field == "lift_posts" and row[column] is None:
                    expected = expected or None  # the page says 0 where there is no lift row
                assert row[column] == expected, (goal, key, column)
    busiest = sorted(report, key=lambda k: -report[k]["posts"])[:CHECKED]
    for key in busiest:
        await _check_hashtag(client, key, report[key])
    await _check_recommendations(client, report)


async def _check_hashtag(client: Any, key: str, row: dict[str, Any]) -> None:
    """/hashtags/{key} and /engagement-trends for the window against one report row."""
    page = await _get(client, f"/hashtags/{key}", window=WINDOW, limit=1)
    assert page["window"] == WINDOW
    assert page["figures"]["posts"] == row["posts"]
    insights = page["insights"]
    for lift in insights["lifts"]:
        columns = _goal_columns(lift["goal"])
        assert {f: lift[f] for f in columns} == {f: row[c] for f, c in columns.items()}, key
    assert insights["content_reach"] == row["content_reach"]
    assert insights["content_reach_posts"] == (row["content_reach_posts"] or 0)
    assert insights["sentiment_mean"] == row["sentiment_mean"]
    assert insights["sentiment_positive_share"] == row["sentiment_positive_share"]
    assert insights["sentiment_negative_share"] == row["sentiment_negative_share"]
    assert insights["sentiment_engagement_corr"] == row["sentiment_engagement_corr"]
    assert insights["sentiment_scored_posts"] == (row["sentiment_posts"] or 0)
    assert insights["sentiment_coverage"] == pytest.approx(row["sentiment_coverage"])
    assert " ".join(insights["sentiment_languages"]) == (row["sentiment_languages"] or "")
    assert insights["sentiment_status"] == row["sentiment_status"]
    breakdown = " ".join(f"{x['language']}:{x['posts']}" for x in insights["languages"])
    assert breakdown == row["languages"]
    assert sum(x["posts"] for x in insights["languages"]) == row["posts"]
    trends = await _get(client, "/engagement-trends", hashtag=key, window=WINDOW)
    assert trends["window"] == WINDOW
    trend = trends["items"][0]
    best = trend["best_slots"][0] if trend["best_slots"] else {}
    assert (best.get("weekday"), best.get("hour")) == (row["best_weekday"], row["best_hour"])
    assert best.get("lift") == row["best_slot_lift"]
    assert best.get("lift_ci_low") == row["best_slot_ci_low"]
    assert best.get("lift_ci_high") == row["best_slot_ci_high"]
    assert best.get("posts") == row["best_slot_posts"]
    cells = {(c["weekday"], c["hour"]): c for c in trend["cells"]}
    if best:
        assert cells[(best["weekday"], best["hour"])]["lift_posts"] == best["posts"]
    momentum = trend["momentum"] or {}
    assert momentum.get("change") == row["momentum_change"]
    assert momentum.get("direction") == row["momentum_direction"]
    assert momentum.get("recent_posts") == row["momentum_recent_posts"]


async def _check_recommendations(client: Any, report: dict[str, dict[str, Any]]) -> None:
    """/recommendations for the window: each listed hashtag's figures are its report row's."""
    by_display = {row["hashtag"]: row for row in report.values()}
    listed = 0
    for goal in GOALS:
        found = await _get(client, "/recommendations", goal=goal, window=WINDOW, limit=50)
        for item in found["use"] + found["worth_testing"] + found["avoid"]:
            row = by_display[item["hashtag"]]
            assert item["expected_lift"] == row[f"{goal}_score"]
            assert item["expected_low"] == row[f"{goal}_score_ci_low"]
            assert item["lift"] == row[_PREFIX[goal]]
            assert item["posts"] == row[f"{_PREFIX[goal]}_posts"]
            slot = item["best_slot"] or {}
            assert (slot.get("weekday"), slot.get("hour")) == (
                row["best_weekday"],
                row["best_hour"],
            )
            listed += 1
    assert listed > 2


async def test_window_rows_differ_from_all_history(client, demo):
    recent, ever = await _report(client, WINDOW), await _report(client, "all")
    shared = [key for key in recent if recent[key]["posts"] >= 20]
    assert len(shared) > 10

    def differs(column: str) -> int:
        return sum(recent[k][column] != ever[k][column] for k in shared)

    for column in (
        "posts",
        "engagement_score",
        "reach_score",
        "virality_score",
        "er_follower_score",
        "followers_score",
        "content_reach",
        "sentiment_posts",
        "sentiment_mean",
        "sentiment_engagement_corr",
        "best_slot_posts",
    ):
        assert differs(column) > len(shared) // 2, column
    assert differs("best_slot_lift") > 0
    # momentum has no window: the last 30 days against the 30 before, in both reports
    assert differs("momentum_change") == 0
    assert differs("momentum_recent_posts") == 0


async def test_csv_report_is_the_json_report(client, demo):
    rows = await _report(client, WINDOW)
    response = await client.get("/reports/hashtags", params={"window": WINDOW, "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["key"] for r in table] == list(rows)
    for line in table:
        row = rows[line["key"]]
        assert set(line) == set(row)
        for name, value in row.items():
            if value is None:
                assert line[name] == ""
            elif isinstance(value, float):
                assert float(line[name]) == value, name
            else:
                assert line[name].lstrip("'") == str(value), name
