"""The request pacer and retry policy shared by every connector.

One `RequestPacer` per platform: it bounds the requests in flight (an asyncio.Semaphore of
`max_in_flight_per_platform`), waits where the platform tells us to (Retry-After, X's
`x-rate-limit-*`, Meta's usage headers, LinkedIn 429s) and retries what is worth retrying
(5xx, timeouts, connection errors, malformed JSON) with exponential backoff and full jitter, up
to `max_tries`. What a response *means* is platform specific, so each connector passes a
`Classifier` that turns a response into a `Verdict`.

Tokens travel only in the Authorization header; URLs are logged with secret query parameters
masked, headers are never logged, and error messages are scrubbed of the token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from hashtag_core.collect.errors import (
    AuthExpired,
    CollectError,
    MalformedResponse,
    NotFound,
    PlatformUnavailable,
    RateLimited,
    RequestRejected,
    VersionGone,
)
from hashtag_core.collect.ratelimit import meta_usage, x_reset_wait
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.platforms import Platform

__all__ = [
    "Classifier",
    "Outcome",
    "RequestPacer",
    "RequestStats",
    "Verdict",
    "redact_url",
]

logger = logging.getLogger("hashtag_core.collect")

Sleep = Callable[[float], Awaitable[None]]
_SECRET_PARAMS = frozenset(
    {"access_token", "token", "client_secret", "appsecret_proof", "refresh_token", "code"}
)


class Outcome(Enum):
    """What to do with a response."""

    OK = "ok"
    RETRY = "retry"  # transient: 5xx, timeout, connection error
    MALFORMED = "malformed"  # body not parseable: retried, then MalformedResponse
    RATE_LIMITED = "rate_limited"  # wait (Verdict.wait_s, or backoff) and try again
    AUTH = "auth"  # token expired / revoked / missing permission: never retried
    NOT_FOUND = "not_found"
    REJECTED = "rejected"  # any other 4xx: the request itself is wrong
    VERSION_GONE = "version_gone"  # the configured API version is no longer served


@dataclass(frozen=True)
class Verdict:
    """A classifier's decision; `detail` is the platform's own wording, for messages."""

    outcome: Outcome
    detail: str = ""
    wait_s: float | None = None


#: (response, parsed JSON body or None when it did not parse, clock now) -> Verdict
Classifier = Callable[[httpx.Response, Any, float], Verdict]


@dataclass
class RequestStats:
    """HTTP requests sent on behalf of one collection (retries included)."""

    requests: int = 0


def redact_url(url: str | httpx.URL, params: Mapping[str, str] | None = None) -> str:
    """The URL with secret query parameters (access_token, ...) replaced by `***`."""
    full = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
    for name in _SECRET_PARAMS & set(full.params.keys()):
        full = full.copy_set_param(name, "***")
    return str(full)


def _scrub(text: str, headers: Mapping[str, str]) -> str:
    """Remove the bearer token from a message, in case a platform echoes it back."""
    token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return text.replace(token, "***") if len(token) >= 4 else text


def _parse_json(response: httpx.Response) -> tuple[Any, bool]:
    """(body, ok): the JSON body, or (None, False) when it is empty or not JSON."""
    try:
        return response.json(), True
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None, False


class RequestPacer:
    """Concurrency bound, rate-limit pauses and retries for one platform."""

    def __init__(
        self,
        platform: Platform,
        settings: CollectSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`clock` is wall-clock epoch seconds (X resets and HTTP dates are absolute)."""
        self.platform = platform
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._semaphore = asyncio.Semaphore(settings.max_in_flight_per_platform)
        self._not_before = 0.0  # no request of this platform starts before this clock time
        self._spacing_s = 0.0  # extra delay before each request while Meta usage is high

    async def get_json(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        classify: Classifier,
        label: str,
        stats: RequestStats,
    ) -> Any:
        """GET `url` and return its JSON body, waiting and retrying as the policy says."""
        failures = 0
        waits = 0
        waited_s = 0.0
        while True:
            verdict, body = await self._attempt(client, url, params, headers, classify, label)
            stats.requests += 1
            if verdict.outcome is Outcome.OK:
                return body
            where = f"GET {redact_url(url)}"
            detail = _scrub(verdict.detail, headers)
            if verdict.outcome is Outcome.RATE_LIMITED:
                waits += 1
                wait = self._rate_limit_wait(verdict, waits, waited_s, label, detail)
                logger.warning(
                    "%s: rate limited on %s (%s); waiting %.1f s", label, where, detail, wait
                )
                waited_s += wait
                self._pause(wait)  # the whole platform waits: app-level limits are shared
            elif verdict.outcome in (Outcome.RETRY, Outcome.MALFORMED):
                failures += 1
                await self._sleep(self._retry_delay(verdict, failures, label, where, detail))
            else:
                raise _final_error(verdict.outcome, label, where, detail, self.platform)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        classify: Classifier,
        label: str,
    ) -> tuple[Verdict, Any]:
        """Send one request (holding a concurrency slot) and classify what came back."""
        async with self._semaphore:
            # Wait out a pause only once holding the slot: a request that queued for it before
            # a 429 arrived would otherwise go out right behind the 429, ignoring Retry-After.
            await self._await_turn(label)
            if self._spacing_s > 0:  # hold the slot: spacing must lower the request rate
                await self._sleep(self._spacing_s)
            started = time.perf_counter()
            try:
                response = await client.get(url, params=params, headers=dict(headers))
            except httpx.TimeoutException:
                return Verdict(Outcome.RETRY, "request timed out"), None
            except httpx.TransportError as exc:
                return Verdict(Outcome.RETRY, f"connection error ({type(exc).__name__})"), None
        logger.debug(
            "GET %s -> %d in %.0f ms",
            redact_url(url, params), response.status_code, (time.perf_counter() - started) * 1000,
        )  # fmt: skip
        self._observe(response.headers)
        body, parsed = _parse_json(response)
        verdict = classify(response, body, self._clock())
        if verdict.outcome is Outcome.OK and not parsed:
            return Verdict(Outcome.MALFORMED, "response body is not valid JSON"), None
        return verdict, body

    def _observe(self, headers: httpx.Headers) -> None:
        """Pace ahead of limits: X's exhausted window, Meta's usage percentages."""
        now = self._clock()
        if self.platform is Platform.X:
            wait = x_reset_wait(headers, now)
            if wait is not None:
                self._pause(wait)
        elif self.platform in (Platform.INSTAGRAM, Platform.FACEBOOK):
            usage = meta_usage(headers)
            if usage is None:  # Meta sends usage only once it is noticeable
                self._spacing_s = 0.0
                return
            if usage.percent >= 100:
                self._pause(usage.regain_s or self._settings.backoff_max_s)
            threshold = self._settings.meta_slowdown_pct
            ramp = (usage.percent - threshold) / max(100 - threshold, 1e-9)
            self._spacing_s = self._settings.meta_slowdown_max_s * min(max(ramp, 0.0), 1.0)

    def _pause(self, wait_s: float) -> None:
        """Hold every request of this platform for `wait_s` from now."""
        self._not_before = max(self._not_before, self._clock() + wait_s)

    async def _await_turn(self, label: str) -> None:
        """Sleep through a rate-limit pause; give up if it is longer than max_wait_s."""
        wait = self._not_before - self._clock()
        if wait <= 0:
            return
        if wait > self._settings.max_wait_s:
            raise RateLimited(
                f"{label}: {self.platform.value} asks us to wait {wait:.0f} s, more than "
                f"the allowed {self._settings.max_wait_s:.0f} s; try again later",
                wait_s=wait,
            )
        # One sleep, not a loop: a pause extended meanwhile is honoured by the next request,
        # and an injected test sleep need not move the clock.
        await self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the `attempt`-th failure (1-based)."""
        s = self._settings
        ceiling = min(s.backoff_max_s, s.backoff_base_s * 2.0 ** (attempt - 1))
        return self._jitter() * ceiling

    def _rate_limit_wait(
        self, verdict: Verdict, waits: int, waited_s: float, label: str, detail: str
    ) -> float:
        """How long to wait after a rate-limit answer; RateLimited if that is too long."""
        s = self._settings
        if verdict.wait_s is not None:
            wait = verdict.wait_s
        elif self.platform in (Platform.INSTAGRAM, Platform.FACEBOOK):
            # Meta throttles often come without usage headers, and calls made while throttled
            # extend the throttle: wait minutes, doubling, never a short jittered retry.
            wait = min(s.meta_throttle_wait_s * 2.0 ** (waits - 1), s.max_wait_s + 1)
        else:
            wait = self._backoff(waits)
        if wait > s.max_wait_s or waited_s + wait > s.max_wait_s or waits > s.max_rate_limit_waits:
            more = "until the usage cap resets" if math.isinf(wait) else f"{wait:.0f} s more"
            raise RateLimited(
                f"{label}: rate limited by {self.platform.value} ({detail}); waiting {more} "
                f"(after {waited_s:.0f} s and {waits} waits) exceeds the allowed "
                f"{s.max_wait_s:.0f} s; try again later",
                wait_s=wait,
            )
        return wait

    def _retry_delay(
        self, verdict: Verdict, failures: int, label: str, where: str, detail: str
    ) -> float:
        """Backoff before the next try, or the final error once max_tries are used up."""
        tries = self._settings.max_tries
        if failures >= tries:
            raise _final_error(
                verdict.outcome,
                label,
                where,
                f"{detail} (gave up after {failures} tries)",
                self.platform,
            )
        delay = max(self._backoff(failures), verdict.wait_s or 0.0)
        logger.warning(
            "%s: %s on %s; retry %d of %d in %.2f s",
            label,
            detail,
            where,
            failures,
            tries - 1,
            delay,
        )
        return delay


#: The setting (environment variable) that picks each platform's API version.
VERSION_SETTINGS = {
    Platform.LINKEDIN: "HASHTAG_COLLECT__LINKEDIN_VERSION",
    Platform.INSTAGRAM: "HASHTAG_COLLECT__META_API_VERSION",
    Platform.FACEBOOK: "HASHTAG_COLLECT__META_API_VERSION",
}


def _final_error(
    outcome: Outcome, label: str, where: str, detail: str, platform: Platform | None = None
) -> CollectError:
    """The exception for a verdict we stop on."""
    if outcome is Outcome.VERSION_GONE and platform is not None:
        setting = VERSION_SETTINGS.get(platform, "the API version setting")
        return VersionGone(
            f"{label}: {platform.value} no longer serves the configured API version ({detail}); "
            f"set {setting} to a current version",
            setting=setting,
        )
    if outcome is Outcome.AUTH:
        return AuthExpired(
            f"{label} needs re-authorisation: the platform rejected its access token "
            f"(expired, revoked or missing a permission): {detail}"
        )
    if outcome is Outcome.NOT_FOUND:
        return NotFound(f"{label}: not found: {where}: {detail}")
    if outcome is Outcome.MALFORMED:
        return MalformedResponse(f"{label}: unreadable response from {where}: {detail}")
    if outcome is Outcome.RETRY:
        return PlatformUnavailable(f"{label}: platform unavailable: {where}: {detail}")
    return RequestRejected(f"{label}: request rejected: {where}: {detail}")
