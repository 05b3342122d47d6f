"""Access control: stored keys (hashed, scoped, expiring, revocable), bootstrap keys, rate
limits with 429 / Retry-After and fail-open, CORS and the security headers.

The app runs on the test's rolled-back session, so keys created through the service in the
test are the ones the API looks up; the rate-limit counters live in the test Redis database.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.deps import get_session, get_snapshot
from hashtag_api.main import create_app
from hashtag_api.ratelimit import RateLimiter, Verdict
from hashtag_api.security import CSP_API, CSP_DASHBOARD, CSP_DOCS
from hashtag_core.config import Settings
from hashtag_core.keys import service as key_service
from hashtag_core.keys.schemas import Scope
from tests.helpers import API_KEY, AUTH, query

CLOSED_PORT_REDIS = "redis://127.0.0.1:9/0"
MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


async def _clear_counters(redis: ArqRedis) -> None:
    keys = [key async for key in redis.scan_iter(match="hashtag:ratelimit:*")]
    if keys:
        await redis.delete(*keys)


@pytest_asyncio.fixture(loop_scope="session")
async def make_client(
    session: AsyncSession, engine: AsyncEngine, arq_redis: ArqRedis, database_url: str
) -> AsyncIterator[MakeClient]:
    """Build an app with settings overrides (and optionally a limiter) on the test session."""
    await _clear_counters(arq_redis)
    clients: list[httpx.AsyncClient] = []

    async def make(
        *,
        limiter: RateLimiter | None = None,
        client_host: str = "127.0.0.1",
        **overrides: Any,
    ) -> httpx.AsyncClient:
        settings = Settings(
            database_url=database_url,
            redis_url="redis://unused",
            api_keys=API_KEY,
            max_body_bytes=10_000,
            **{"rate_limit_per_minute": 0, "rate_limit_writes_per_minute": 0, **overrides},
        )
        app = create_app(settings)
        app.state.engine, app.state.arq = engine, arq_redis
        if limiter is not None:
            app.state.rate_limiter = limiter

        async def _session() -> AsyncIterator[AsyncSession]:
            yield session

        app.dependency_overrides[get_session] = _session
        app.dependency_overrides[get_snapshot] = _session  # reads see the test's rows
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=(client_host, 1234)
        )
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
    await _clear_counters(arq_redis)


async def _key(session: AsyncSession, name: str, *scopes: Scope, **kw: Any) -> str:
    created = await key_service.create_key(session, name=name, scopes=scopes, **kw)
    return created.plaintext


async def _exec(session: AsyncSession, sql: str) -> None:
    conn = await session.connection()
    await conn.execute(text(sql))


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- storage ----------------------------------------------------------------------------------


async def test_keys_are_stored_only_as_hashes(session: AsyncSession) -> None:
    created = await key_service.create_key(session, name="etl", scopes=[Scope.WRITE])
    plaintext = created.plaintext
    prefix, secret = plaintext[:11], plaintext[12:]
    assert re.fullmatch(r"hk_[0-9a-f]{8}", prefix)
    assert plaintext[11] == "_"
    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert created.info.prefix == prefix
    assert plaintext not in repr(created)

    rows = await query(session, "SELECT api_key::text, key_hash FROM api_key WHERE name = 'etl'")
    whole_row, key_hash = rows[0]
    assert key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert secret not in whole_row
    assert plaintext not in whole_row
    listed = [key.model_dump_json() for key in await key_service.list_keys(session)]
    assert listed
    assert not any(secret in row or key_hash in row for row in listed)


async def test_names_are_unique_and_scopes_and_expiry_are_checked(session: AsyncSession) -> None:
    from hashtag_core.errors import Conflict, InvalidInput

    await _key(session, "dup", Scope.READ)
    with pytest.raises(Conflict, match="'dup' already exists"):
        await _key(session, "dup", Scope.READ)
    with pytest.raises(InvalidInput, match="unknown scope 'root'"):
        await key_service.create_key(session, name="x", scopes=["root"])
    with pytest.raises(InvalidInput, match="at least one scope"):
        await key_service.create_key(session, name="x", scopes=[])
    with pytest.raises(InvalidInput, match="not in the future"):
        await _key(session, "x", Scope.READ, expires_at=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(InvalidInput, match="invalid key name"):
        await _key(session, " spaced ", Scope.READ)


# --- authentication and scopes ---------------------------------------------------------------

# (method, path, body, scope needed). A body the handler refuses (422) shows that the request
# got past the key check without changing anything.
ROUTES = [
    ("GET", "/hashtag-performance", None, Scope.READ),
    ("GET", "/accounts", None, Scope.READ),
    ("POST", "/update-post", {}, Scope.WRITE),
    ("POST", "/collect", {"account_id": "not-a-number"}, Scope.WRITE),
    ("POST", "/accounts", {}, Scope.ADMIN),
    ("PATCH", "/accounts/1", {"sync_interval_minutes": -1}, Scope.ADMIN),
    ("DELETE", "/accounts/999999", None, Scope.ADMIN),
    ("GET", "/campaigns", None, Scope.READ),
    ("POST", "/campaigns", {}, Scope.WRITE),
    ("DELETE", "/campaigns/999999", None, Scope.WRITE),
]
_RANK = [Scope.READ, Scope.WRITE, Scope.ADMIN]


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES)
async def test_each_route_needs_its_scope(
    make_client: MakeClient, session: AsyncSession, method, path, body, needed
) -> None:
    client = await make_client(read_requires_key=True)
    keys = {scope: await _key(session, f"k-{scope}", scope) for scope in Scope}

    missing = await client.request(method, path, json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert f"scope '{needed}'" in missing.json()["detail"]

    for scope, key in keys.items():
        response = await client.request(method, path, json=body, headers=_bearer(key))
        if _RANK.index(scope) >= _RANK.index(needed):
            assert response.status_code not in (401, 403, 429), (scope, response.text)
        else:
            assert response.status_code == 403, (scope, response.text)
            assert response.headers["www-authenticate"] == (
                f'Bearer error="insufficient_scope", scope="{needed}"'
            )
            error = response.json()
            assert error["code"] == "insufficient_scope"
            assert f"needs an API key with scope '{needed}'" in error["detail"]
            assert key not in response.text
    # The bootstrap key (HASHTAG_API_KEYS) holds every scope.
    response = await client.request(method, path, json=body, headers=AUTH)
    assert response.status_code not in (401, 403, 429)


async def test_unknown_revoked_and_expired_keys_are_refused_saying_which(
    make_client: MakeClient, session: AsyncSession
) -> None:
    client = await make_client()
    path, body = "/update-post", {}
    key = await _key(session, "soon", Scope.WRITE, expires_at=datetime.now(UTC) + timedelta(days=1))
    assert (await client.post(path, json=body, headers=_bearer(key))).status_code == 422

    for unknown in (key[:-2] + "xx", "hk_00000000_" + "a" * 43, "not-a-key"):
        response = await client.post(path, json=body, headers=_bearer(unknown))
        # RFC 6750: a key that is not valid is 401 invalid_token; 403 is for a valid key
        # without the scope.
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == (
            'Bearer error="invalid_token", error_description="the key is unknown"'
        )
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_token"
        assert "not known" in response.json()["detail"]
        assert unknown not in response.text

    await _exec(
        session, "UPDATE api_key SET expires_at = now() - interval '1 second' WHERE name = 'soon'"
    )
    response = await client.post(path, json=body, headers=_bearer(key))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    error = response.json()
    assert error["code"] == "key_expired"
    assert "'soon'" in error["detail"]
    assert "expired at" in error["detail"]
    assert key not in response.text

    other = await _key(session, "gone", Scope.ADMIN)
    assert (await client.post(path, json=body, headers=_bearer(other))).status_code == 422
    info, already = await key_service.revoke_key(session, "gone")
    assert not already
    assert info.revoked_at is not None
    response = await client.post(path, json=body, headers=_bearer(other))
    assert response.status_code == 401
    assert response.json()["code"] == "key_revoked"
    assert "was revoked" in response.json()["detail"]
    # Revoking again is harmless, and by prefix works too.
    assert (await key_service.revoke_key(session, info.prefix))[1] is True


async def test_open_reads_ignore_keys_and_closed_reads_check_them(
    make_client: MakeClient, session: AsyncSession
) -> None:
    key = await _key(session, "reader", Scope.READ)
    await key_service.revoke_key(session, "reader")
    open_reads = await make_client()
    assert (await open_reads.get("/hashtag-performance")).status_code == 200
    assert (await open_reads.get("/hashtag-performance", headers=_bearer(key))).status_code == 200
    closed = await make_client(read_requires_key=True)
    assert (await closed.get("/hashtag-performance")).status_code == 401
    assert (await closed.get("/hashtag-performance", headers=_bearer(key))).status_code == 401


async def test_last_used_is_written_at_most_once_a_minute(
    make_client: MakeClient, session: AsyncSession
) -> None:
    client = await make_client(read_requires_key=True)
    key = await _key(session, "used", Scope.READ)
    sql = "SELECT last_used_at, now() FROM api_key WHERE name = 'used'"
    assert (await query(session, sql))[0][0] is None
    assert (await client.get("/hashtag-performance", headers=_bearer(key))).status_code == 200
    last, now = (await query(session, sql))[0]
    assert last == now  # the transaction's now(): constant in the test's transaction

    await _exec(
        session, "UPDATE api_key SET last_used_at = now() - interval '30 s' WHERE name = 'used'"
    )
    await client.get("/hashtag-performance", headers=_bearer(key))
    last, now = (await query(session, sql))[0]
    assert now - last == timedelta(seconds=30)  # not rewritten within the minute

    await _exec(
        session, "UPDATE api_key SET last_used_at = now() - interval '2 min' WHERE name = 'used'"
    )
    await client.get("/hashtag-performance", headers=_bearer(key))
    last, now = (await query(session, sql))[0]
    assert last == now


# --- rate limits ------------------------------------------------------------------------------


class _ClockedLimiter(RateLimiter):
    """The limiter on a clock the test moves: which window a request falls in is the test's
    choice, not the machine's speed's."""

    def __init__(self, now: float, **budgets: int) -> None:
        super().__init__(**budgets)
        self.now = now

    async def hit(
        self, redis: Any, identity: str, *, write: bool, now: float | None = None
    ) -> Verdict | None:
        return await super().hit(redis, identity, write=write, now=self.now)


async def test_over_the_budget_429_with_retry_after_then_recovery(
    make_client: MakeClient, session: AsyncSession
) -> None:
    # Half a second into a window never used before (the counters live in the shared Redis).
    start = 2.0 * (uuid.uuid4().int % 10**9 + 10**9) + 0.5
    limiter = _ClockedLimiter(start, per_minute=3, writes_per_minute=0, window_s=2)
    client = await make_client(limiter=limiter)
    key = await _key(session, "busy", Scope.READ)
    remaining = []
    for _ in range(3):
        response = await client.get("/hashtag-performance", headers=_bearer(key))
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
        remaining.append(response.headers["ratelimit-remaining"])
    assert remaining == ["2", "1", "0"]

    refused = await client.get("/hashtag-performance", headers=_bearer(key))
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert retry_after == 2  # 1.5 s to the window's end, in whole seconds (a test clock)
    error = refused.json()
    assert error["code"] == "rate_limited"
    assert "at most 3 per 2 s for this API key" in error["detail"]
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["x-content-type-options"] == "nosniff"

    # Another caller has its own budget: the bootstrap key, and an address without a key.
    assert (await client.get("/hashtag-performance", headers=AUTH)).status_code == 200
    assert (await client.get("/hashtag-performance")).status_code == 200

    limiter.now += 1.4  # still the same window
    assert (await client.get("/hashtag-performance", headers=_bearer(key))).status_code == 429
    limiter.now = start + retry_after  # as long as Retry-After said
    recovered = await client.get("/hashtag-performance", headers=_bearer(key))
    assert recovered.status_code == 200
    assert recovered.headers["ratelimit-remaining"] == "2"


async def test_writes_have_their_own_budget_and_anonymous_callers_one_per_address(
    make_client: MakeClient,
) -> None:
    limiter = RateLimiter(per_minute=4, writes_per_minute=1, window_s=3600)
    client = await make_client(limiter=limiter)
    assert (await client.post("/update-post", json={}, headers=AUTH)).status_code == 422
    refused = await client.post("/update-post", json={}, headers=AUTH)
    assert refused.status_code == 429
    assert "too many write requests: at most 1" in refused.json()["detail"]
    # Reads still have budget left (2 of 4 used by the writes).
    assert (await client.get("/hashtag-performance", headers=AUTH)).status_code == 200

    for _ in range(4):
        assert (await client.get("/hashtag-performance")).status_code == 200
    anonymous = await client.get("/hashtag-performance")
    assert anonymous.status_code == 429
    assert "for this address" in anonymous.json()["detail"]
    # Keyless requests to writes count against the address too (guessing is limited).
    assert (await client.post("/update-post", json={})).status_code == 429
    elsewhere = await make_client(limiter=limiter, client_host="10.1.2.3")
    assert (await elsewhere.get("/hashtag-performance")).status_code == 200


async def test_the_limiter_fails_open_when_redis_is_down(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter(per_minute=1, writes_per_minute=1)
    client = await make_client(limiter=limiter)
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.arq = ArqRedis.from_url(CLOSED_PORT_REDIS, socket_connect_timeout=1)
    try:
        with caplog.at_level(logging.WARNING, logger="hashtag_api.ratelimit"):
            for _ in range(4):
                response = await client.get("/hashtag-performance", headers=AUTH)
                assert response.status_code == 200
                assert "ratelimit-limit" not in response.headers
        warnings = [r for r in caplog.records if r.name == "hashtag_api.ratelimit"]
        assert len(warnings) == 1
        assert "requests are not limited" in warnings[0].getMessage()
    finally:
        await app.state.arq.aclose()


# --- CORS and security headers ----------------------------------------------------------------

PREFLIGHT = {
    "Origin": "https://dash.example.com",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_cors_is_closed_by_default(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get("/hashtag-performance", headers={"Origin": PREFLIGHT["Origin"]})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = await client.options("/posts/import", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405


async def test_cors_opens_for_configured_origins_only(make_client: MakeClient) -> None:
    client = await make_client(cors_origins="https://dash.example.com, https://b.example.com/")
    preflight = await client.options("/posts/import", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example.com"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["x-content-type-options"] == "nosniff"
    response = await client.get("/hashtag-performance", headers={"Origin": "https://b.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://b.example.com"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()

    stranger = await client.options(
        "/posts/import", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers


def test_a_bad_origin_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        Settings(cors_origins="dash.example.com")


COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


async def test_security_headers_on_json_errors_and_docs(make_client: MakeClient) -> None:
    client = await make_client()
    answers = {
        "json": await client.get("/hashtag-performance"),
        "not found": await client.get("/nowhere"),
        "401": await client.post("/update-post", json={}),
        "422": await client.get("/hashtag-performance", params={"window": "2d"}),
        "early 413": await client.post(
            "/posts/import", content=b"x" * 20_000, headers={**AUTH, "Content-Type": "text/csv"}
        ),
        "openapi": await client.get("/openapi.json"),
    }
    assert [r.status_code for r in answers.values()] == [200, 404, 401, 422, 413, 200]
    for name, response in answers.items():
        for header, value in COMMON.items():
            assert response.headers.get(header) == value, (name, header)
        assert response.headers["content-security-policy"] == CSP_API, name
        assert "strict-transport-security" not in response.headers

    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CSP_DOCS
        assert response.headers["x-frame-options"] == "DENY"
    dashboard = await client.get("/dashboard/static/nothing-here.js")
    assert dashboard.headers["content-security-policy"] == CSP_DASHBOARD

    https = await make_client(hsts_seconds=31_536_000)
    response = await https.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_swagger_ui_loads_under_its_policy(make_client: MakeClient) -> None:
    """Every script and stylesheet /docs names is same-origin ('self') and served; its inline
    script is allowed by 'unsafe-inline'; the document it fetches is same-origin too."""
    client = await make_client()
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        csp = dict(
            part.strip().split(" ", 1)
            for part in response.headers["content-security-policy"].split(";")
        )
        html = response.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert any(a.endswith(".js") for a in assets), page
        for asset in assets:
            assert re.match(r"/[^/]", asset), (page, asset)
            assert (await client.get(asset)).status_code == 200, asset
        if re.search(r"<script>(?!\s*</script>)", html):
            assert "'unsafe-inline'" in csp["script-src"]
        assert "'self'" in csp["connect-src"]
        assert "/openapi.json" in html
    assert (await client.get("/openapi.json")).status_code == 200


# --- the OpenAPI document ---------------------------------------------------------------------


async def test_the_document_states_scopes_and_429(make_client: MakeClient) -> None:
    spec = (await (await make_client()).get("/openapi.json")).json()
    scopes: dict[str, str] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "x-required-scope" not in operation:
                assert path in ("/healthz", "/readyz"), (method, path)
                continue
            assert "429" in operation["responses"], (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
            scopes[f"{method.upper()} {path}"] = operation["x-required-scope"]
    assert scopes["POST /accounts"] == scopes["DELETE /accounts/{account_id}"] == "admin"
    assert scopes["POST /posts/import"] == scopes["POST /collect"] == "write"
    assert scopes["GET /hashtag-performance"] == "read"
    # Open reads (the default) declare no security, so plain clients call them.
    assert "security" not in spec["paths"]["/hashtag-performance"]["get"]
    assert spec["paths"]["/accounts"]["post"]["security"] == [{"AdminKey": []}]
    assert "403" in spec["paths"]["/accounts"]["post"]["responses"]


# --- secrets ----------------------------------------------------------------------------------


async def test_key_material_never_reaches_logs_or_responses(
    make_client: MakeClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(read_requires_key=True)
    key = await _key(session, "secretive", Scope.READ)
    secret = key.split("_", 2)[2]
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for headers in (_bearer(key), _bearer(key + "x"), _bearer(API_KEY + "x")):
            for method, path in (("GET", "/hashtag-performance"), ("POST", "/accounts")):
                response = await client.request(method, path, json={}, headers=headers)
                seen.append(response.text + str(response.headers))
        await _exec(session, "UPDATE api_key SET revoked_at = now() WHERE name = 'secretive'")
        response = await client.get("/hashtag-performance", headers=_bearer(key))
        assert response.status_code == 401
        seen.append(response.text + str(response.headers))
    logged = caplog.text
    for material in (secret, API_KEY):
        assert material not in logged
        assert not any(material in text for text in seen)
