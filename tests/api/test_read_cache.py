"""The read cache (hashtag_api.readcache): answers served again until PostgreSQL notifies a
change, from any process; off while its listener is down; never ahead of the key check.

The app runs with its lifespan (engine, listener) on the suite's database, with committed demo
posts and figures; "another process" is a separate connection committing SQL, as the worker or
another API replica would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api import readcache
from hashtag_api.main import create_app
from hashtag_api.queue import ArqJobQueue
from hashtag_api.readcache import ReadCache
from hashtag_core.config import Settings
from hashtag_core.demo.generator import DemoConfig
from hashtag_core.demo.load import load_demo
from hashtag_core.embedded import EmbeddedServices
from tests.helpers import API_KEY, AUTH, recompute_in, wipe

END = datetime(2026, 6, 1, tzinfo=UTC)
PERFORMANCE = "/hashtag-performance?limit=5&window=all"


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Served:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, database_url: str) -> None:
        self.app, self.client, self.database_url = app, client, database_url

    @property
    def cache(self) -> ReadCache:
        found: ReadCache = self.app.state.read_cache
        return found

    async def get(self, url: str, **kwargs: object) -> httpx.Response:
        response = await self.client.get(url, **kwargs)  # type: ignore[arg-type]
        return response

    async def elsewhere(self, sql: str) -> None:
        """Commit `sql` on a connection of its own (another process, say)."""
        conn = await asyncpg.connect(_plain(self.database_url), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def one(self, sql: str) -> asyncpg.Record:
        conn = await asyncpg.connect(_plain(self.database_url), timeout=10)
        try:
            found = await conn.fetchrow(sql)
        finally:
            await conn.close()
        assert found is not None
        return found

    async def until(self, condition: Callable[[], bool], seconds: float = 60) -> None:
        """Wait until `condition` holds (checked between event-loop turns). `seconds` only
        bounds a hang, far above any machine's delay: how soon it holds is not asserted."""
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "condition never reached"
            await asyncio.sleep(0.005)


MakeServed = Callable[..., Awaitable[Served]]


@pytest_asyncio.fixture(loop_scope="session")
async def make_served(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str, services: EmbeddedServices
) -> AsyncIterator[MakeServed]:
    """`await make_served(**settings)`: the app (lifespan running) on committed demo data."""
    await arq_redis.flushdb()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await load_demo(
            session, ArqJobQueue(arq_redis), DemoConfig(posts=600, seed=3, end=END), batch_rows=600
        )
        assert result.inserted == 600
        await recompute_in(session, END)
        await session.commit()
    stack: list[tuple[FastAPI, httpx.AsyncClient]] = []

    async def factory(**overrides: object) -> Served:
        settings = Settings.model_validate(
            {
                "database_url": database_url,
                "redis_url": services.redis_url,
                "api_keys": API_KEY,
                "collect_cron_minutes": 0,
                "rate_limit_per_minute": 1_000_000,
                **overrides,
            }
        )
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        app.state._test_lifespan = lifespan
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        stack.append((app, client))
        served = Served(app, client, database_url)
        if settings.read_cache_mb:
            await served.until(lambda: served.cache.live)
        return served

    try:
        yield factory
    finally:
        for app, client in reversed(stack):
            await client.aclose()
            await app.state._test_lifespan.__aexit__(None, None, None)
        await wipe(engine)
        await arq_redis.flushdb()


async def test_answers_are_served_again_until_any_process_changes_the_data(
    make_served: MakeServed,
) -> None:
    served = await make_served()
    cache = served.cache
    first = await served.get(PERFORMANCE)
    assert first.status_code == 200, first.text
    assert (cache.stats.misses, cache.stats.stored, cache.stats.hits) == (1, 1, 0)
    again = await served.get(PERFORMANCE)
    assert cache.stats.hits == 1
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    # Headers added per request by the outer middleware are fresh, not cached.
    assert again.headers["x-request-id"] != first.headers["x-request-id"]

    # Another process commits a post change (as an import or the worker would): the
    # notification empties this process's cache, and the answer says the figures are stale.
    generation = cache.generation
    await served.elsewhere(
        "UPDATE post SET likes = likes + 1 WHERE id = (SELECT min(id) FROM post);"
        "UPDATE data_version SET version = version + 1 WHERE id = 1"
    )
    await served.until(lambda: cache.generation > generation)
    changed = await served.get(PERFORMANCE)
    assert changed.status_code == 200
    assert _stale(changed)
    assert not _stale(first)
    assert cache.stats.hits == 1  # computed again, not served from the cache

    # A recompute (another process) lands: the next answer carries the new figures.
    generation = cache.generation
    await served.elsewhere(
        "UPDATE recompute_state SET computed_version = (SELECT version FROM data_version)"
    )
    await served.until(lambda: cache.generation > generation)
    fresh = await served.get(PERFORMANCE)
    assert not _stale(fresh)
    assert fresh.json()["data_version"] == first.json()["data_version"] + 1


async def test_a_write_empties_its_own_process_cache_before_answering(
    make_served: MakeServed, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = await make_served()
    cache = served.cache
    before = await served.get(PERFORMANCE)
    assert not _stale(before)
    post = await served.one("SELECT platform, platform_post_id AS post_id FROM post LIMIT 1")
    # Who empties it: the listener's callback runs outside any task, the request in one.
    by_request: list[bool] = []
    invalidate = cache.invalidate

    def recording() -> None:
        by_request.append(asyncio.current_task() is not None)
        invalidate()

    monkeypatch.setattr(cache, "invalidate", recording)
    response = await served.client.post(
        "/update-post",
        json={"platform": post["platform"], "post_id": post["post_id"], "likes": 123_456},
        headers=AUTH,
    )
    assert response.status_code == 202, response.text
    # Emptied by the request when its write committed, whether or not the notification of
    # that commit has arrived yet.
    assert True in by_request
    assert len(cache) == 0
    after = await served.get(PERFORMANCE)
    assert _stale(after)


async def test_the_cache_is_off_while_its_listener_is_down(
    make_served: MakeServed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readcache, "_RETRY_FIRST_S", 3.0)
    served = await make_served()
    cache = served.cache
    await served.get(PERFORMANCE)
    assert len(cache) == 1
    # The listening connection is cut (PostgreSQL restarted, a proxy dropped it, ...).
    await served.elsewhere(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'hashtag-api-cache' AND datname = current_database()"
    )
    await served.until(lambda: not cache.live)
    assert len(cache) == 0
    bypassed = cache.stats.bypassed
    # While it is down nothing is cached, so a change it cannot hear of is still seen.
    await served.elsewhere("UPDATE data_version SET version = version + 1 WHERE id = 1")
    assert not cache.live  # it waits 3 s (patched) before connecting again
    answer = await served.get(PERFORMANCE)
    assert _stale(answer)
    assert cache.stats.bypassed == bypassed + 1
    # It comes back on its own and caches again.
    await served.until(cache_is_live(cache))
    await served.get(PERFORMANCE)
    hits = cache.stats.hits
    again = await served.get(PERFORMANCE)
    assert _stale(again)
    assert cache.stats.hits == hits + 1


def _stale(response: httpx.Response) -> bool:
    """Whether the answer says newer data awaits a recompute."""
    assert response.status_code == 200, response.text
    return response.json()["pending_version"] is not None


def cache_is_live(cache: ReadCache) -> Callable[[], bool]:
    return lambda: cache.live


async def test_a_cached_answer_still_needs_the_key(make_served: MakeServed) -> None:
    served = await make_served(read_requires_key=True)
    cache = served.cache
    assert (await served.get(PERFORMANCE, headers=AUTH)).status_code == 200
    assert len(cache) == 1
    anonymous = await served.get(PERFORMANCE)
    assert anonymous.status_code == 401
    wrong = await served.get(PERFORMANCE, headers={"Authorization": "Bearer not-a-key"})
    assert wrong.status_code == 401
    assert cache.stats.hits == 0
    assert (await served.get(PERFORMANCE, headers=AUTH)).status_code == 200
    assert cache.stats.hits == 1


async def test_csv_and_json_answers_are_kept_apart(make_served: MakeServed) -> None:
    served = await make_served()
    url = "/reports/hashtags?window=all&limit=5"
    as_json = await served.get(url)
    as_csv = await served.get(url, headers={"Accept": "text/csv"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_csv.headers["content-type"].startswith("text/csv")
    again = await served.get(url, headers={"Accept": "text/csv"})
    assert again.content == as_csv.content
    assert again.headers["content-type"] == as_csv.headers["content-type"]
    assert served.cache.stats.hits == 1


async def test_off_when_configured_off(make_served: MakeServed) -> None:
    served = await make_served(read_cache_mb=0)
    for _ in range(2):
        assert (await served.get(PERFORMANCE)).status_code == 200
    assert len(served.cache) == 0
    assert served.cache.stats.hits == 0


class TestReadCache:
    """The store itself: byte budget, age, and answers computed across a change."""

    def test_least_recently_used_answers_go_first_over_the_budget(self) -> None:
        cache = ReadCache(max_bytes=10, ttl_s=60, live=True)
        for name in "abc":
            assert cache.put((name, "", ""), cache.generation, [], b"1234")
        assert cache.get(("a", "", "")) is None  # 12 bytes > 10: the oldest went
        assert cache.get(("b", "", "")) is not None
        assert cache.put(("d", "", ""), cache.generation, [], b"1234")
        assert cache.get(("c", "", "")) is None  # b was used more recently than c
        assert cache.get(("b", "", "")) is not None
        assert cache.size == 8
        assert not cache.put(("e", "", ""), cache.generation, [], b"x" * 11)

    def test_an_answer_computed_across_a_change_is_not_kept(self) -> None:
        cache = ReadCache(max_bytes=100, ttl_s=60, live=True)
        started = cache.generation
        cache.invalidate()  # a notification while the answer was being computed
        assert not cache.put(("a", "", ""), started, [], b"old")
        assert cache.get(("a", "", "")) is None

    def test_answers_age_out(self, monkeypatch: pytest.MonkeyPatch) -> None:
        cache = ReadCache(max_bytes=100, ttl_s=60, live=True)
        clock = [1000.0]
        monkeypatch.setattr(time, "monotonic", lambda: clock[0])
        cache.put(("a", "", ""), cache.generation, [], b"x")
        clock[0] += 59
        assert cache.get(("a", "", "")) is not None
        clock[0] += 2
        assert cache.get(("a", "", "")) is None
        assert cache.size == 0

    def test_nothing_is_kept_or_served_while_not_live(self) -> None:
        cache = ReadCache(max_bytes=100, ttl_s=60)
        assert not cache.put(("a", "", ""), cache.generation, [], b"x")
        assert cache.get(("a", "", "")) is None
        assert cache.stats.bypassed == 1
