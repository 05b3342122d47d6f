"""The fast path for cached reads (hashtag_api.fastpath, hashtag_api.localbudget): the same
answer as the usual path, never stale, never to a caller the usual path refuses, within the
rate limit, observed and logged.

Apps run with their lifespan on committed demo data (`make_served`, from test_read_cache). The
usual path's answer to a request is had by switching the fast path off for it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import CollectorRegistry

from hashtag_api.fastpath import FastReads
from hashtag_api.localbudget import LocalBudget
from hashtag_api.ratelimit import RateLimiter, counter_key
from hashtag_api.readcache import CHANNEL, KEY_RECHECK_S, ReadCache
from hashtag_core.config import Settings
from hashtag_core.keys.schemas import Principal, Scope
from hashtag_core.keys.service import hash_key
from tests.api.test_read_cache import (  # noqa: F401  (make_served is a fixture)
    PERFORMANCE,
    MakeServed,
    Served,
    _plain,
    make_served,
)
from tests.helpers import API_KEY, AUTH
from tests.logs import captured_logs

BOOT_IDENTITY = f"boot:{hashlib.sha256(API_KEY.encode()).hexdigest()[:16]}"
LATENCY_COUNT = "hashtag_http_request_duration_seconds_count"


async def _usual(
    served: Served, monkeypatch: pytest.MonkeyPatch, url: str, **kw: Any
) -> httpx.Response:
    """The answer of the usual path (the fast path switched off for this request)."""

    async def declined(_self: FastReads, _scope: object, _send: object) -> bool:
        return False

    with monkeypatch.context() as patched:
        patched.setattr(FastReads, "_serve", declined)
        return await served.get(url, **kw)


def _budget(served: Served) -> LocalBudget:
    limiter: RateLimiter = served.app.state.rate_limiter
    return limiter.local


def _fast_count(served: Served) -> int:
    return _budget(served).served


def _limited(served: Served, per_minute: int) -> RateLimiter:
    """A limiter whose window (about 31 years) the test cannot cross."""
    limiter = RateLimiter(per_minute=per_minute, writes_per_minute=0, window_s=10**9)
    served.app.state.rate_limiter = limiter
    return limiter


@pytest.mark.parametrize(
    ("settings", "headers"),
    [
        ({}, {}),  # open reads, counted by address
        ({"read_requires_key": True}, AUTH),  # closed reads, a bootstrap key
        ({"hsts_seconds": 3600}, {"Accept": "text/csv"}),  # HSTS; a CSV answer
    ],
)
async def test_the_same_bytes_status_and_headers_as_the_usual_path(
    make_served: MakeServed,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, Any],
    headers: dict[str, str],
) -> None:
    served = await make_served(**settings)
    _limited(served, 1000)
    url = "/reports/hashtags?window=all&limit=5" if "Accept" in headers else PERFORMANCE
    fixed = {**headers, "X-Request-Id": "req-fast-1"}
    computed = await served.get(url, headers=fixed)  # computed and stored; the window seeded
    assert computed.status_code == 200, computed.text
    usual = await _usual(served, monkeypatch, url, headers=fixed)
    assert _fast_count(served) == 0
    fast = await served.get(url, headers=fixed)
    assert _fast_count(served) == 1
    assert served.cache.stats.hits == 2

    assert fast.status_code == usual.status_code == 200
    assert fast.content == usual.content == computed.content
    # Header for header, in the same order; only the budget left differs, by this request.
    assert usual.headers["ratelimit-remaining"] == "998"
    assert fast.headers["ratelimit-remaining"] == "997"
    same = [(k, "997" if k == "ratelimit-remaining" else v) for k, v in usual.headers.items()]
    assert list(fast.headers.items()) == same
    assert fast.headers["x-request-id"] == "req-fast-1"
    if settings.get("hsts_seconds"):
        assert fast.headers["strict-transport-security"].startswith("max-age=3600")


async def test_without_a_limit_no_budget_headers_as_on_the_usual_path(
    make_served: MakeServed,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = await make_served(rate_limit_per_minute=0)
    await served.get(PERFORMANCE)
    usual = await _usual(served, monkeypatch, PERFORMANCE, headers={"X-Request-Id": "r"})
    hits = served.cache.stats.hits
    fast = await served.get(PERFORMANCE, headers={"X-Request-Id": "r"})
    assert served.cache.stats.hits == hits + 1
    assert "ratelimit-limit" not in fast.headers
    assert list(fast.headers.items()) == list(usual.headers.items())
    assert fast.content == usual.content


async def test_a_change_is_never_answered_from_the_old_bytes(
    make_served: MakeServed,  # noqa: F811
) -> None:
    served = await make_served()
    _limited(served, 1000)
    cache = served.cache
    first = await served.get(PERFORMANCE)
    again = await served.get(PERFORMANCE)
    assert _fast_count(served) == 1
    assert again.content == first.content
    # Another process commits a change: once notified, the next read is computed afresh.
    generation = cache.generation
    await served.elsewhere(
        "UPDATE post SET likes = likes + 1 WHERE id = (SELECT min(id) FROM post);"
        "UPDATE data_version SET version = version + 1 WHERE id = 1"
    )
    await served.until(lambda: cache.generation > generation)
    changed = await served.get(PERFORMANCE)
    assert changed.json()["pending_version"] is not None
    assert changed.content != first.content
    assert _fast_count(served) == 1
    # The new answer is the one served fast from then on.
    assert (await served.get(PERFORMANCE)).content == changed.content
    assert _fast_count(served) == 2
    # A write in this process empties the cache before it answers: nothing old served either.
    cache.invalidate()
    assert (await served.get(PERFORMANCE)).content == changed.content
    assert _fast_count(served) == 2


async def test_keys_the_usual_path_refuses_are_still_refused(
    make_served: MakeServed,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = await make_served(read_requires_key=True)
    _limited(served, 1000)
    assert (await served.get(PERFORMANCE, headers=AUTH)).status_code == 200
    assert (await served.get(PERFORMANCE, headers=AUTH)).status_code == 200
    assert _fast_count(served) == 1
    for headers in (
        {},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": f"Bearer {API_KEY}x"},
    ):
        fixed = {**headers, "X-Request-Id": "req-refused"}
        usual = await _usual(served, monkeypatch, PERFORMANCE, headers=fixed)
        assert usual.status_code == 401, headers
        # Refused requests count against the address, so its window is known by now.
        for _ in range(2):
            refused = await served.get(PERFORMANCE, headers=fixed)
            assert refused.status_code == 401, headers
            assert refused.content == usual.content
            assert refused.headers["www-authenticate"] == usual.headers["www-authenticate"]
    assert _fast_count(served) == 1

    # Where reads are open an invalid key is ignored (the address counts), as before.
    open_reads = await make_served()
    _limited(open_reads, 1000)
    await open_reads.get(PERFORMANCE)
    wrong = await open_reads.get(PERFORMANCE, headers={"Authorization": "Bearer not-a-key"})
    assert wrong.status_code == 200


async def test_the_rate_limit_still_refuses_at_the_budget(
    make_served: MakeServed,  # noqa: F811
) -> None:
    served = await make_served()
    limiter = _limited(served, 20)
    answers = [await served.get(PERFORMANCE, headers=AUTH) for _ in range(22)]
    assert [a.status_code for a in answers] == [200] * 20 + [429] * 2
    # One process: the budget is exact and every answer says what is left.
    assert [a.headers["ratelimit-remaining"] for a in answers[:20]] == [
        str(n) for n in range(19, -1, -1)
    ]
    refused = answers[20]
    assert refused.json()["code"] == "rate_limited"
    assert "at most 20 per" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    # The fast path served all but the first read (which seeded the window) and the last
    # tenth of the budget (left to Redis).
    budget = _budget(served)
    assert budget.served == 20 - 1 - budget.margin(20)
    # Every read is counted in Redis, where the other processes see it.
    await budget.flush(served.app.state.arq)
    window = int(time.time() // limiter.window_s)
    key = counter_key("requests", BOOT_IDENTITY, window)
    assert int(await served.app.state.arq.get(key)) == 22
    # Another caller (the client address) has a budget of its own.
    assert (await served.get(PERFORMANCE)).status_code == 200


async def test_fast_answers_are_observed_and_logged(
    make_served: MakeServed,  # noqa: F811
) -> None:
    served = await make_served()
    _limited(served, 1000)
    registry: CollectorRegistry = served.app.state.metrics.registry
    labels = {"method": "GET", "route": "/hashtag-performance", "code": "200"}
    await served.get(PERFORMANCE)
    before = registry.get_sample_value(LATENCY_COUNT, labels) or 0.0
    with captured_logs(Settings(log_format="json", log_level="INFO")) as stream:
        fast = await served.get(PERFORMANCE, headers={"x-request-id": "req-fast-77"})
    assert _fast_count(served) == 1
    assert fast.status_code == 200
    assert registry.get_sample_value(LATENCY_COUNT, labels) == before + 1
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "hashtag_api.access"]
    assert len(access) == 1
    assert access[0] | {"time": None, "duration_ms": None, "message": None} == {
        "time": None,
        "level": "INFO",
        "logger": "hashtag_api.access",
        "message": None,
        "request_id": "req-fast-77",
        "method": "GET",
        "path": "/hashtag-performance",
        "route": "/hashtag-performance",
        "status": 200,
        "duration_ms": None,
    }
    assert access[0]["message"].startswith("GET /hashtag-performance 200 ")
    metrics = await served.get("/metrics")
    assert 'hashtag_read_cache_lookups_total{result="hit"} 1.0' in metrics.text


async def test_other_requests_take_the_usual_path(
    make_served: MakeServed,  # noqa: F811
) -> None:
    served = await make_served()
    _limited(served, 1000)
    await served.get(PERFORMANCE)
    # A body, a HEAD, or another query: not served from the cache by the fast path.
    assert (await served.client.request("GET", PERFORMANCE, content=b"x")).status_code == 200
    assert (await served.client.head(PERFORMANCE)).status_code in (200, 405)
    other = await served.get(PERFORMANCE + "&min_posts=2")
    assert other.status_code == 200
    assert _fast_count(served) == 0


def test_the_budget_forgets_callers_of_past_windows() -> None:
    budget = RateLimiter(per_minute=10, writes_per_minute=0).local
    budget.seen("ip:a", 1, 3)
    budget.seen("ip:b", 2, 1)
    budget.seen("ip:a", 2, 4)
    assert len(budget) == 3
    budget.seen("ip:c", 3, 1)  # a new window: those before the previous one go
    assert len(budget) == 3
    budget.seen("ip:c", 5, 1)
    assert len(budget) == 1


async def _stored_key(served: Served, name: str, scopes: str = "{read}") -> str:
    """A stored key (as `keys create` makes one), inserted by another connection."""
    plaintext = f"hk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    await served.elsewhere(
        "INSERT INTO api_key (name, prefix, key_hash, scopes) "
        f"VALUES ('{name}', '{plaintext[:11]}', '{hash_key(plaintext)}', '{scopes}')"
    )
    return plaintext


async def test_a_stored_key_is_served_fast_once_verified_and_refused_once_revoked(
    make_served: MakeServed,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = await make_served(read_requires_key=True)
    limiter = _limited(served, 1000)
    key = await _stored_key(served, "analyst")
    auth = {"Authorization": f"Bearer {key}", "X-Request-Id": "req-stored"}
    first = await served.get(PERFORMANCE, headers=auth)  # verified in the database, stored
    assert first.status_code == 200, first.text
    assert _fast_count(served) == 0
    assert served.cache.known_key(hash_key(key)) is not None
    usual = await _usual(served, monkeypatch, PERFORMANCE, headers=auth)
    fast = await served.get(PERFORMANCE, headers=auth)
    assert _fast_count(served) == 1
    assert fast.content == usual.content == first.content
    same = [(k, "997" if k == "ratelimit-remaining" else v) for k, v in usual.headers.items()]
    assert list(fast.headers.items()) == same
    # Counted against the key, in Redis too, as the usual path counts it.
    budget = _budget(served)
    await budget.flush(served.app.state.arq)
    window = int(time.time() // limiter.window_s)
    counted = await served.app.state.arq.get(counter_key("requests", f"key:{key[:11]}", window))
    assert int(counted) == 3

    # Revoked elsewhere (the CLI, another replica): refused from the next request on.
    generation = served.cache.generation
    await served.elsewhere("UPDATE api_key SET revoked_at = now() WHERE name = 'analyst'")
    await served.until(lambda: served.cache.generation > generation)
    assert served.cache.known_key(hash_key(key)) is None
    revoked = await served.get(PERFORMANCE, headers=auth)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "key_revoked"
    assert _fast_count(served) == 1


async def test_a_key_revoked_while_it_is_verified_is_not_remembered(
    make_served: MakeServed,  # noqa: F811
) -> None:
    served = await make_served(read_requires_key=True)
    key = await _stored_key(served, "racing")
    cache = served.cache
    principal = Principal("racing", frozenset({Scope.READ}), identity=f"key:{key[:11]}")
    generation = cache.generation
    cache.invalidate()  # the revocation's notification, between the lookup and the store
    assert not cache.remember_key(hash_key(key), principal, generation)
    assert cache.known_key(hash_key(key)) is None
    assert cache.remember_key(hash_key(key), principal, cache.generation)
    assert cache.known_key(hash_key(key)) == principal


def test_a_remembered_key_is_checked_again_after_a_minute_and_never_past_its_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ReadCache(max_bytes=1_000, ttl_s=60)
    cache.set_live(True)
    now = datetime.now(UTC)
    lasting = Principal("a", frozenset({Scope.READ}), identity="key:hk_a")
    expired = Principal("b", frozenset({Scope.READ}), identity="key:hk_b", expires_at=now)
    later = Principal(
        "c", frozenset({Scope.READ}), identity="key:hk_c", expires_at=now + timedelta(hours=1)
    )
    for digest, principal in (("a", lasting), ("b", expired), ("c", later)):
        assert cache.remember_key(digest, principal, cache.generation)
    assert cache.known_key("a") == lasting
    assert cache.known_key("b") is None  # expired: the usual path says so (401 key_expired)
    assert cache.known_key("c") == later
    assert cache.known_key("unknown") is None
    started = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: started + KEY_RECHECK_S + 1)
    assert cache.known_key("a") is None  # the usual path checks it again, and touches it
    cache.set_live(False)
    assert not cache.remember_key("a", lasting, cache.generation)  # no listener, no keys


async def test_only_changes_to_what_a_key_allows_notify(make_served: MakeServed) -> None:  # noqa: F811
    served = await make_served()
    await _stored_key(served, "watched")
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(_plain(served.database_url), timeout=10)
    try:
        await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
        for sql in (
            "UPDATE api_key SET last_used_at = now() WHERE name = 'watched'",  # a use: no
            "SELECT pg_notify('hashtag_read_cache', 'marker')",
            "UPDATE api_key SET scopes = '{read,write}' WHERE name = 'watched'",
            "UPDATE api_key SET expires_at = now() + interval '1 day' WHERE name = 'watched'",
            "UPDATE api_key SET revoked_at = now() WHERE name = 'watched'",
            "DELETE FROM api_key WHERE name = 'watched'",
        ):
            await served.elsewhere(sql)
        got = [await asyncio.wait_for(heard.get(), 30) for _ in range(5)]
    finally:
        await listener.close()
    assert got == ["marker", "api_key", "api_key", "api_key", "api_key"]
