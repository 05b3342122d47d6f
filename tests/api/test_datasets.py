"""The real datasets in ../shared/datasets import through their documented mappings, and every
figure the service reports on them equals an independent pandas computation from the raw CSV."""

from __future__ import annotations

import html
import time
from pathlib import Path

import pandas as pd
import pytest

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates.service import recompute
from hashtag_core.db import create_sessionmaker
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.mappings import iter_mapped_records
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.posts.service import import_rows

pytestmark = [pytest.mark.datasets, pytest.mark.e2e]
NOW = pd.Timestamp("2030-01-01", tz="UTC").to_pydatetime()
REL = 1e-9


@pytest.fixture
def client(real_client):
    """Every test here runs on the app's real session dependencies, on committed data."""
    return real_client


async def _import(engine, arq_redis, files: list[Path], mapping: str):
    def rows():
        n = 0
        for path in files:
            for mapped in iter_mapped_records(path, mapping):
                if mapped.record is not None:
                    n += 1
                    yield RawRow(n, dict(mapped.record))

    started = time.perf_counter()
    async with create_sessionmaker(engine)() as session:
        result = await import_rows(
            session, rows(), queue=ArqJobQueue(arq_redis), batch_rows=5000, max_errors=50
        )
    return result, time.perf_counter() - started


def _expected(frame: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Per-hashtag figures by the definitions in docs/metrics.md, computed plainly."""
    frame = frame.copy()
    frame["tags"] = [[k for k, _ in hashtags_in_post(t, "x")] for t in frame["text"]]
    frame = frame.explode("tags").dropna(subset=["tags"])
    out: dict[str, dict[str, float | int | None]] = {}
    for tag, g in frame.groupby("tags"):
        fol = g[g["followers"] > 0]
        vir = g[g["shares"].notna() & (g["impressions"] > 0)]
        imp = g[g["impressions"].notna()]
        out[str(tag)] = {
            "posts": len(g),
            "avg_engagement": g["engagement"].mean(),
            "median_engagement": g["engagement"].median(),
            "engagement_rate_follower": (fol["engagement"] / fol["followers"]).mean()
            if len(fol)
            else None,
            "engagement_rate_follower_posts": len(fol),
            "virality": (vir["shares"] / vir["impressions"]).mean() if len(vir) else None,
            "virality_posts": len(vir),
            "avg_impressions": imp["impressions"].mean() if len(imp) else None,
            "impressions_posts": len(imp),
        }
    return out


async def _served(client) -> dict[str, dict]:
    items, offset = [], 0
    while True:
        page = (
            await client.get(
                "/hashtag-performance",
                params={"window": "all", "min_posts": 1, "limit": 1000, "offset": offset},
            )
        ).json()
        items += page["items"]
        offset += 1000
        if offset >= page["total"]:
            return {i["key"]: i for i in items}


def _compare(served: dict[str, dict], expected: dict[str, dict]) -> None:
    assert set(served) == set(expected)
    for key, figures in expected.items():
        for name, value in figures.items():
            got = served[key][name]
            if value is None:
                assert got is None, (key, name)
            else:
                assert got == pytest.approx(value, rel=REL), (key, name)


async def test_ropensci_analytics_export(client, engine, arq_redis, shared_dir):
    folder = shared_dir / "datasets" / "ropensci-twitter-analytics"
    files = sorted(folder.glob("tweet_activity_metrics_*.csv"))
    result, _ = await _import(engine, arq_redis, files, "x-analytics")
    assert (result.inserted, result.rejected) == (1668, 0)
    outcome = await recompute(engine, now=NOW, force=True)
    assert outcome.status == "computed"
    raw = pd.concat(
        [pd.read_csv(f, encoding="utf-8-sig", dtype={"Tweet id": str}) for f in files],
        ignore_index=True,
    )
    frame = pd.DataFrame(
        {
            "text": raw["Tweet text"].map(html.unescape),
            "engagement": raw["likes"] + raw["replies"] + raw["retweets"],
            "shares": raw["retweets"],
            "impressions": raw["impressions"],
            "followers": pd.Series([float("nan")] * len(raw)),
        }
    )
    _compare(await _served(client), _expected(frame))


async def test_fivethirtyeight_timelines(client, engine, arq_redis, shared_dir):
    folder = shared_dir / "datasets" / "fivethirtyeight-twitter-ratio"
    files = [folder / "BarackObama.csv", folder / "realDonaldTrump.csv"]
    result, _ = await _import(engine, arq_redis, files, "fivethirtyeight")
    assert result.rejected == 0
    assert result.inserted == 2856 + 2878
    outcome = await recompute(engine, now=NOW, force=True)
    assert outcome.status == "computed"
    raw = pd.concat([pd.read_csv(f, encoding="mac_roman") for f in files])
    raw = raw[~raw["text"].str.startswith("RT @")]
    frame = pd.DataFrame(
        {
            "text": raw["text"].map(html.unescape).to_numpy(),
            "engagement": (raw["favorites"] + raw["replies"] + raw["retweets"]).to_numpy(),
            "shares": raw["retweets"].to_numpy(),
            "impressions": float("nan"),
            "followers": float("nan"),
        }
    )
    _compare(await _served(client), _expected(frame))


async def test_pfizer_tweets_many_accounts(client, engine, arq_redis, shared_dir):
    path = shared_dir / "datasets" / "pfizer-vaccine-tweets" / "vaccination_tweets.csv"
    result, seconds = await _import(engine, arq_redis, [path], "pfizer-kaggle")
    assert (result.inserted, result.rejected) == (9214, 0)
    outcome = await recompute(engine, now=NOW, force=True)
    assert outcome.status == "computed"
    raw = pd.read_csv(path)
    frame = pd.DataFrame(
        {
            "text": raw["text"],
            "engagement": raw["favorites"] + raw["retweets"],
            "shares": raw["retweets"],
            "impressions": float("nan"),
            "followers": raw["user_followers"].astype(float),
        }
    )
    _compare(await _served(client), _expected(frame))
