"""Request dependencies: settings, database session, job queue, API keys and rate limits.

Keys come from two places. **Bootstrap keys** (HASHTAG_API_KEYS, which `up` fills from its
key file) hold every scope and are compared in constant time without touching the database.
**Stored keys** (`hashtag-analysis keys create`) are looked up by their SHA-256 hash and carry
their own scopes (admin > write > read; hashtag_core.keys.schemas).

Answers (RFC 6750): no key where one is needed, 401 with `WWW-Authenticate: Bearer`; an
unknown, revoked or expired key, 401 with `error="invalid_token"` (and a `code` saying which);
a valid key without the scope, 403 with `error="insufficient_scope"` naming the scope needed;
over the rate limit (hashtag_api.ratelimit), 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.errors import ApiError
from hashtag_api.queue import ArqJobQueue
from hashtag_api.ratelimit import RateLimiter
from hashtag_api.readcache import ReadCache
from hashtag_core.aggregates.repository import AGGREGATE_TABLES
from hashtag_core.aggregates.staging import lock_for_read
from hashtag_core.config import Settings
from hashtag_core.keys import service as key_service
from hashtag_core.keys.errors import KeyRefused
from hashtag_core.keys.schemas import Principal, Scope, grants

__all__ = [
    "ADMIN_SCHEME",
    "READ_SCHEME",
    "SCHEME_SCOPES",
    "WRITE_SCHEME",
    "AdminDep",
    "QueueDep",
    "ReaderDep",
    "SessionDep",
    "SnapshotDep",
    "SettingsDep",
    "WriterDep",
    "bootstrap_principal",
]

WRITE_SCHEME = "HTTPBearer"
#: Reads use their own scheme name so that the OpenAPI document can say the key is optional
#: there (hashtag_api.openapi); admin operations use theirs so that it can name the scope.
READ_SCHEME = "ReadKey"
ADMIN_SCHEME = "AdminKey"
#: The scope each scheme stands for (the OpenAPI document states it on every operation).
SCHEME_SCOPES = {READ_SCHEME: Scope.READ, WRITE_SCHEME: Scope.WRITE, ADMIN_SCHEME: Scope.ADMIN}

_KEYS_HELP = (
    "Keys come from `hashtag-analysis keys create` (scopes read < write < admin) or "
    "HASHTAG_API_KEYS (every scope)."
)
_bearer = HTTPBearer(
    auto_error=False,
    description=f"API key with scope `write`: `Authorization: Bearer <key>`. {_KEYS_HELP}",
)
_read_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=READ_SCHEME,
    description="API key with scope `read` (or wider); needed only when "
    f"HASHTAG_READ_REQUIRES_KEY is set. {_KEYS_HELP}",
)
_admin_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=ADMIN_SCHEME,
    description=f"API key with scope `admin`: accounts name platform tokens. {_KEYS_HELP}",
)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with (async: a plain function would be run in the
    thread pool, a thread hand-off on every request)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request; committed if the handler succeeds, rolled back if not."""
    async with request.app.state.sessionmaker() as session:
        yield session
        await session.commit()
    if request.method != "GET":
        # Read your own writes: this process's cached answers go before the response does
        # (other processes' go when PostgreSQL's notification of the commit reaches them).
        cache = getattr(request.app.state, "read_cache", None)
        if cache is not None:
            cache.invalidate()


async def get_snapshot(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only session whose statements all see one snapshot (REPEATABLE READ).

    A read answered from several queries (figures and the data version they carry, a page and
    its total) then never mixes the aggregates from before and after a recompute's swap. The
    aggregate tables are locked before the snapshot is taken: a swap replaces whole tables, so
    the read must run wholly before it or wholly after it (`aggregates.staging`)."""
    async with request.app.state.sessionmaker() as session:
        conn = await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        await lock_for_read(conn, list(AGGREGATE_TABLES))
        yield session
        await session.commit()


def get_queue(request: Request) -> ArqJobQueue:
    """The job queue (arq on Redis)."""
    # With the app's relay: what Redis refused is queued as soon as it answers again.
    return ArqJobQueue(request.app.state.arq, getattr(request.app.state, "relay", None))


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the session ends (commit or rollback) when the handler returns, before the
# response starts, so a commit that fails (PostgreSQL gone mid-request) is answered as a 503
# instead of breaking off a response already under way.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SnapshotDep = Annotated[AsyncSession, Depends(get_snapshot, scope="function")]
QueueDep = Annotated[ArqJobQueue, Depends(get_queue)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
ReadCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_read_bearer)]
AdminCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_admin_bearer)]

_ALL_SCOPES = frozenset(Scope)


def bootstrap_principal(settings: Settings, given: str) -> Principal | None:
    """The principal of a bootstrap key, None for any other key (no database involved)."""
    raw = given.encode()
    # Compare against every key, in constant time, so timing does not reveal a near match.
    matches = [
        hmac.compare_digest(raw, key.get_secret_value().encode()) for key in settings.api_keys
    ]
    if not any(matches):
        return None
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return Principal("bootstrap", _ALL_SCOPES, identity=f"boot:{digest}", bootstrap=True)


async def _authenticate(
    request: Request, settings: Settings, session: AsyncSession, given: str
) -> Principal:
    """The principal for a presented key; ApiError 401 invalid_token when it is refused.

    A stored key found valid is remembered in the read cache, whose fast path then knows its
    caller without the database (until a key changes or a minute passes: ReadCache)."""
    found = bootstrap_principal(settings, given)
    if found is not None:
        return found
    cache: ReadCache | None = getattr(request.app.state, "read_cache", None)
    generation = cache.generation if cache is not None else 0
    try:
        principal = await key_service.verify_key(session, given)
    except KeyRefused as exc:
        code = {"unknown": "invalid_token", "revoked": "key_revoked", "expired": "key_expired"}
        # The reason only: the message names the key, which a header must not carry.
        challenge = f'Bearer error="invalid_token", error_description="the key is {exc.reason}"'
        raise ApiError(
            401, code[exc.reason], exc.message, headers={"WWW-Authenticate": challenge}
        ) from None
    if cache is not None:
        cache.remember_key(key_service.hash_key(given), principal, generation)
    return principal


def _unauthorized(scope: Scope) -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        f"this operation needs an API key with scope '{scope}': send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _client_identity(request: Request) -> str:
    return f"ip:{request.client.host if request.client else 'unknown'}"


async def _limit(request: Request, identity: str, *, write: bool) -> None:
    """Count the request against the caller's budget; 429 over it."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None or not limiter.enabled:
        return
    verdict = await limiter.hit(request.app.state.arq, identity, write=write)
    if verdict is None:
        return
    headers = {
        "RateLimit-Limit": str(verdict.limit),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset_s),
    }
    if not verdict.allowed:
        what = "write requests" if verdict.budget == "writes" else "requests"
        raise ApiError(
            429,
            "rate_limited",
            f"too many {what}: at most {verdict.limit} per {limiter.window_s} s for this "
            f"{'address' if identity.startswith('ip:') else 'API key'}; "
            f"retry after {verdict.reset_s} s",
            headers={**headers, "Retry-After": str(verdict.reset_s)},
        )
    # Added to the response by hashtag_api.security.SecurityHeaders.
    request.state.rate_limit_headers = headers


async def _require(
    request: Request,
    settings: Settings,
    session: AsyncSession,
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
) -> Principal:
    if credentials is None:
        # Counted before refusing, so that guessing without a key is limited as well.
        await _limit(request, _client_identity(request), write=scope is not Scope.READ)
        raise _unauthorized(scope)
    try:
        principal = await _authenticate(request, settings, session, credentials.credentials)
    except ApiError:
        await _limit(request, _client_identity(request), write=scope is not Scope.READ)
        raise
    await _limit(request, principal.identity, write=scope is not Scope.READ)
    if not grants(principal.scopes, scope):
        held = ", ".join(sorted(principal.scopes)) or "none"
        raise ApiError(
            403,
            "insufficient_scope",
            f"this operation needs an API key with scope '{scope}' "
            f"(admin > write > read); the key {principal.name!r} has: {held}",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    return principal


async def require_writer(
    request: Request, settings: SettingsDep, session: SessionDep, credentials: Credentials
) -> Principal:
    """Writes (imports, update-post, collect) need a key with scope write."""
    return await _require(request, settings, session, credentials, Scope.WRITE)


async def require_admin(
    request: Request, settings: SettingsDep, session: SessionDep, credentials: AdminCredentials
) -> Principal:
    """Account changes (they name platform tokens) need a key with scope admin."""
    return await _require(request, settings, session, credentials, Scope.ADMIN)


async def require_reader(
    request: Request, settings: SettingsDep, session: SessionDep, credentials: ReadCredentials
) -> Principal | None:
    """Reads are open unless HASHTAG_READ_REQUIRES_KEY is set; then they need scope read.

    Open reads still count against a budget: the key's when a valid one is sent, else the
    client address's (an invalid key on an open read is ignored, as the key is)."""
    if settings.read_requires_key:
        return await _require(request, settings, session, credentials, Scope.READ)
    principal = None
    if credentials is not None:
        try:
            principal = await _authenticate(request, settings, session, credentials.credentials)
        except ApiError:
            principal = None
    identity = principal.identity if principal else _client_identity(request)
    await _limit(request, identity, write=False)
    return principal


WriterDep = Annotated[Principal, Depends(require_writer)]
AdminDep = Annotated[Principal, Depends(require_admin)]
ReaderDep = Annotated[Principal | None, Depends(require_reader)]
