"""The recompute pass against real Postgres: figures land in the aggregate tables atomically,
with the data version they reflect."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates.service import recompute
from hashtag_core.db import create_sessionmaker
from hashtag_core.ingest.parsers import ImportFormat, iter_rows
from hashtag_core.posts.service import import_rows
from tests.helpers import wipe

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 7, 1, tzinfo=UTC)
BODY = b"""{"platform":"x","post_id":"1","account":"lw","text":"#Lego #Fun","posted_at":"2025-06-28T10:00:00+01:00","likes":10,"comments":2,"shares":3,"followers":1000,"impressions":500,"account_timezone":"Europe/London"}
{"platform":"x","post_id":"2","account":"lw","text":"#lego","posted_at":"2025-06-01T23:30:00+01:00","likes":4,"followers":1000}
{"platform":"instagram","post_id":"a","account":"ll","text":"#LEGO","posted_at":"2024-01-01T12:00:00+00:00","likes":6,"saves":2,"shares":1,"reach":100,"followers":500}
"""


@pytest.fixture
async def committed(engine: AsyncEngine):
    """Data committed for real (a recompute reads in its own transaction); wiped afterwards."""
    yield engine
    await wipe(engine)


async def test_recompute_writes_figures_and_version(committed: AsyncEngine, arq_redis):
    async with create_sessionmaker(committed)() as session:
        result = await import_rows(
            session,
            iter_rows(io.BytesIO(BODY), ImportFormat.NDJSON),
            queue=ArqJobQueue(arq_redis),
            batch_rows=100,
            max_errors=10,
        )
    outcome = await recompute(committed, now=NOW)
    assert outcome.status == "computed"
    assert outcome.computed_version == result.data_version
    async with committed.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT hp.window, hp.posts, hp.avg_engagement, hp.median_engagement, hp.er_follower, "
                    "hp.er_follower_posts, hp.virality, hp.virality_posts, h.display "
                    "FROM hashtag_performance hp JOIN hashtag h ON h.id = hp.hashtag_id "
                    "WHERE hp.platform = '*' AND hp.account_id = 0 AND h.key = 'lego' ORDER BY 1"
                )
            )
        ).all()
        cell = (
            await conn.execute(
                text(
                    "SELECT weekday, hour, posts FROM hashtag_trend_cell tc JOIN account a ON a.id = tc.account_id "
                    "WHERE a.handle = 'lw' AND tc.hashtag_id = 0 ORDER BY 1, 2"
                )
            )
        ).all()
    by_window = {r[0]: r[1:] for r in rows}
    # engagement: post1 = 10+2+3 = 15, post2 = 4, post a = 6+2+1 = 9.
    # all: n=3, mean (15+4+9)/3 = 9.333..., median 9; er_follower = (15/1000 + 4/1000 + 9/500)/3
    # virality: post1 shares 3 / impressions 500 (no reach); post2 shares unknown -> excluded;
    #           post a shares 1 / reach 100 -> mean (0.006 + 0.01)/2 = 0.008.
    assert by_window["all"][:3] == (3, pytest.approx(28 / 3), 9.0)
    assert by_window["all"][3] == pytest.approx((0.015 + 0.004 + 0.018) / 3)
    assert by_window["all"][4:7] == (3, pytest.approx(0.008), 2)
    assert by_window["all"][7] == "LEGO"  # "#Lego", "#lego", "#LEGO" tie: code point order
    assert by_window["7d"][0] == 1
    assert by_window["30d"][0] == 2
    assert by_window["365d"][0] == 2
    # Local London time: 2025-06-28 is a Saturday (ISO 6) at 10h; 2025-06-01 is a Sunday at 23h.
    assert cell == [(6, 10, 1), (7, 23, 1)]


async def test_second_trigger_is_up_to_date(committed: AsyncEngine, arq_redis):
    async with create_sessionmaker(committed)() as session:
        await import_rows(
            session,
            iter_rows(io.BytesIO(BODY), ImportFormat.NDJSON),
            queue=ArqJobQueue(arq_redis),
            batch_rows=100,
            max_errors=10,
        )
    first = await recompute(committed, now=NOW)
    second = await recompute(committed, now=NOW)
    assert first.status == "computed"
    assert second.status == "up_to_date"
    assert second.computed_version == first.computed_version


async def test_recompute_running_sees_the_lock_of_another_session(engine: AsyncEngine):
    """The catch-up's liveness check: true exactly while some session holds the pass lock."""
    from hashtag_core.aggregates import repository as repo

    async with engine.connect() as holder, engine.connect() as observer:
        assert await repo.recompute_running(observer) is False
        assert await repo.try_lock(holder) is True
        assert await repo.recompute_running(observer) is True
        await repo.unlock(holder)
        assert await repo.recompute_running(observer) is False
