"""The running sandbox's state and the guard every platform endpoint goes through.

The guard counts the request, applies the fault switches (latency, timeout, 429, 5xx, expired
token, malformed body), checks the platform's quota and adds its rate-limit headers; only then
does the platform handler run. It also writes every request to `Sandbox.log` with the times it
arrived and was answered, so tests measure what a client did (how long it waited after a 429)
from the platform's side rather than from the client's own account of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from starlette.requests import Request
from starlette.responses import Response

from hashtag_core.platforms import Platform
from hashtag_sandbox.config import SandboxConfig
from hashtag_sandbox.data import SandboxAccount, SandboxData, build_data
from hashtag_sandbox.faults import Fault, FaultConfig, FaultState
from hashtag_sandbox.quota import LinkedInQuota, MetaQuota, XQuota
from hashtag_sandbox.responses import (
    json_response,
    linkedin_error,
    meta_error,
    retry_after_header,
    x_credits_depleted,
    x_problem,
)

__all__ = ["Family", "RequestRecord", "Sandbox", "Target", "bearer_token", "guarded"]

#: Requests kept in `Sandbox.log` (the oldest go first): the sandbox may serve for days.
REQUEST_LOG_SIZE = 100_000


class Family(Enum):
    """Which API dialect a path prefix speaks."""

    X = "x"
    META = "meta"
    LINKEDIN = "linkedin"


@dataclass(frozen=True)
class Target:
    """What a request is about: its platform (None if unknown) and the owning account."""

    platform: Platform | None
    account: SandboxAccount | None = None
    group: str = "default"  # X rate-limit group (one per endpoint)


@dataclass
class RequestRecord:
    """One platform request as the sandbox saw it; times are seconds since the sandbox started
    (monotonic clock). `answered_s` and `status` stay None while it is being answered."""

    platform: str  # "unknown" when no platform owns the path's object
    handle: str | None  # the account it is about, when known
    path: str
    query: str
    arrived_s: float
    answered_s: float | None = None
    status: int | None = None
    fault: str | None = None  # the injected Fault's value, if any

    @property
    def target(self) -> tuple[str, str | None, str, str]:
        """What was asked: the same for a request and its retries."""
        return (self.platform, self.handle, self.path, self.query)


class Sandbox:
    """Data, fault switches and quotas of one sandbox app."""

    def __init__(self, config: SandboxConfig) -> None:
        """Generate the data and arm the switches from `config`."""
        self.config = config
        self.data: SandboxData = build_data(config)
        self.faults = FaultState(config.faults)
        self.x_quota = XQuota(config)
        self.meta_quota = MetaQuota(config)
        self.linkedin_quota = LinkedInQuota(config)
        self.clock: Callable[[], float] = time.time
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}  # per platform and "all", since start
        self.started = time.monotonic()
        self.log: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)  # in arrival order

    def since_start(self) -> float:
        """Seconds since the sandbox started, on the clock of `log`."""
        return time.monotonic() - self.started

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault switches (their counters start again from zero)."""
        self.faults = FaultState(faults)


def _developer_account(token: str) -> int:
    """The X developer account (a 19-digit id) whose app holds `token`."""
    digest = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big")
    return 1_000_000_000_000_000_000 + digest % 9_000_000_000_000_000_000


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer` or (Graph API style) `access_token`."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.query_params.get("access_token") or None


Handler = Callable[[Request, Sandbox, Target], Awaitable[Response]]
Resolver = Callable[[Request, Sandbox], Target]


def guarded(
    family: Family, resolve: Resolver, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a platform handler with faults, quotas and rate-limit headers."""

    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        target = resolve(request, sandbox)
        keys = (target.platform.value if target.platform else "unknown", "all")
        for key in keys:
            sandbox.in_flight[key] = sandbox.in_flight.get(key, 0) + 1
            sandbox.max_in_flight[key] = max(
                sandbox.max_in_flight.get(key, 0), sandbox.in_flight[key]
            )
        record = RequestRecord(
            keys[0],
            target.account.handle if target.account else None,
            request.url.path,
            request.url.query,
            sandbox.since_start(),
        )
        sandbox.log.append(record)
        try:
            response = await _answer(family, request, sandbox, target, handler, record)
            record.status = response.status_code
            return response
        finally:
            record.answered_s = sandbox.since_start()
            for key in keys:
                sandbox.in_flight[key] -= 1

    return endpoint


async def _answer(
    family: Family,
    request: Request,
    sandbox: Sandbox,
    target: Target,
    handler: Handler,
    record: RequestRecord,
) -> Response:
    """Faults first, then quota and handler; a malformed body is cut last."""
    handle = target.account.handle if target.account else None
    decision = sandbox.faults.decide(target.platform, handle)
    record.fault = decision.fault.value if decision.fault else None
    if decision.delay_s:
        await asyncio.sleep(decision.delay_s)
    if family is Family.X and sandbox.faults.config.x_credits_depleted:
        response = x_credits_depleted(_developer_account(bearer_token(request) or ""))
    elif decision.fault is not None:
        response = await _fault_response(family, decision.fault, sandbox)
    else:
        response = await _checked(family, request, sandbox, target, handler)
    if decision.malformed and response.status_code == 200:
        response = _truncated(response)
        record.fault = "malformed"
    return response


async def _checked(
    family: Family, request: Request, sandbox: Sandbox, target: Target, handler: Handler
) -> Response:
    """Quota first (as the platforms do), then the handler; rate-limit headers on both."""
    now = sandbox.clock()
    if family is Family.X:
        headers, over = sandbox.x_quota.take(bearer_token(request) or "", target.group, now)
        if over:
            response = x_problem(429, "Too Many Requests", "Too Many Requests")
        else:
            response = await handler(request, sandbox, target)
        response.headers.update(headers)
        return response
    if family is Family.META:
        kind = "instagram" if target.platform is Platform.INSTAGRAM else "pages"
        owner = target.account.external_id if target.account else None
        use = sandbox.meta_quota.take(owner, kind, now)
        if use.throttle_code is not None:
            response = _meta_throttled(use.throttle_code)
        else:
            response = await handler(request, sandbox, target)
        response.headers.update(use.headers)
        return response
    if sandbox.linkedin_quota.take(now):
        message = (
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        )
        return linkedin_error(429, 101, "TOO_MANY_REQUESTS", message)
    return await handler(request, sandbox, target)


def _meta_throttled(code: int) -> Response:
    messages = {
        4: "(#4) Application request limit reached",
        80001: "There have been too many calls to this Page account. Wait a bit and try again.",
        80002: (
            "There have been too many calls to this Instagram account. Wait a bit and try again."
        ),
    }
    # Meta marks its app-level throttle transient ("is_transient": true), as published.
    return meta_error(400, messages[code], code, transient=True if code == 4 else None)


async def _fault_response(family: Family, fault: Fault, sandbox: Sandbox) -> Response:
    """The platform-shaped answer for an injected fault."""
    config = sandbox.faults.config
    if fault is Fault.TIMEOUT:
        await asyncio.sleep(config.timeout_hold_s)  # the client has given up by now
        return json_response({"detail": "held past the client's timeout"}, 504)
    if fault is Fault.RATE_LIMIT:
        if family is Family.META and config.meta_throttle_bare:
            return meta_error(400, "(#4) Application request limit reached", 4, transient=True)
        response = _rate_limited(family)
        response.headers.update(
            retry_after_header(config.retry_after_s, config.retry_after_http_date)
        )
        return response
    if fault is Fault.ERROR:
        return _server_error(family, config.error_status)
    return expired_token(family, sandbox)


def _rate_limited(family: Family) -> Response:
    if family is Family.X:
        return x_problem(429, "Too Many Requests", "Too Many Requests")
    if family is Family.META:
        return meta_error(429, "(#4) Application request limit reached", 4)
    message = (
        "Resource level throttle APPLICATION MINUTE limit for calls to this resource is reached."
    )
    return linkedin_error(429, 101, "TOO_MANY_REQUESTS", message)


def _server_error(family: Family, status: int) -> Response:
    title = "Service Unavailable" if status == 503 else "Internal Server Error"
    if family is Family.X:
        return x_problem(status, title, title)
    if family is Family.META:
        message = "An unexpected error has occurred. Please retry your request later."
        return meta_error(status, message, 2, transient=True)
    return linkedin_error(status, 0, title.upper().replace(" ", "_"), title)


def expired_token(family: Family, sandbox: Sandbox) -> Response:
    """The platform's answer to an expired access token."""
    if family is Family.X:
        return x_problem(401, "Unauthorized", "Unauthorized")
    if family is Family.META:
        message = (
            "Error validating access token: Session has expired on Tuesday, 25-Nov-25 "
            "02:00:00 PST. The current time is Tuesday, 25-Nov-25 03:00:00 PST."
        )
        return meta_error(sandbox.config.meta_auth_status, message, 190, subcode=463)
    return linkedin_error(
        401, 65600, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired"
    )


def _truncated(response: Response) -> Response:
    """The same response with its JSON body cut in half (a dropped connection's leftovers)."""
    body = bytes(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body[: max(len(body) // 2, 1)], response.status_code, headers)
