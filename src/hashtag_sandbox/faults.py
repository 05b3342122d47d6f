"""Fault switches: what the sandbox does wrong on purpose, and when.

"every N" switches fire on every Nth request of an affected platform (per-platform counters);
"next K" switches fire on the next K affected requests. Per request at most one of timeout,
429, 5xx and expired token applies (in that order); latency and malformed bodies combine.

`expire_tokens_after` expires every token of the affected platforms after that many requests
of the platform. With `expire_handles` only those accounts' tokens expire, each once it has been
served that many answers of its own (requests given a timeout, 429, 5xx or malformed body do not
count), so a run of such an account always gets that far, whatever the other switches do, and
the other accounts of the platform keep working (every other switch still applies to all).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from hashtag_core.platforms import Platform

__all__ = ["Fault", "FaultConfig", "FaultDecision", "FaultState"]


class FaultConfig(BaseModel):
    """Fault switches; all off by default."""

    model_config = ConfigDict(extra="forbid")

    platforms: list[Platform] | None = None  # None = every platform
    latency_ms: int = Field(0, ge=0)  # added to every request (the benchmark's base latency)
    slow_every: int = Field(0, ge=0)
    slow_ms: int = Field(0, ge=0)  # extra latency on every `slow_every`th request
    rate_limit_every: int = Field(0, ge=0)
    rate_limit_next: int = Field(0, ge=0)
    retry_after_s: int = Field(1, ge=0)
    retry_after_http_date: bool = False  # send Retry-After as an HTTP date instead of seconds
    error_every: int = Field(0, ge=0)
    error_next: int = Field(0, ge=0)
    error_status: int = Field(503, ge=500, le=599)
    timeout_every: int = Field(0, ge=0)
    timeout_next: int = Field(0, ge=0)
    timeout_hold_s: float = Field(30.0, ge=0)  # longer than the client's timeout
    malformed_every: int = Field(0, ge=0)
    malformed_next: int = Field(0, ge=0)
    duplicate_across_pages: bool = False  # each page repeats the previous page's last post
    # Meta's injected throttles come as they mostly do: HTTP 400 code 4, no Retry-After and
    # no usage headers (instead of a 429 with Retry-After).
    meta_throttle_bare: bool = False
    # X pay-per-use credits are used up: every X request gets 402 (`problems/credits`).
    x_credits_depleted: bool = False
    # Every Nth Instagram media (by id) has its insights refused with "(#10) Application does
    # not have permission for this action", as for some media types and old media.
    ig_insights_refused_every: int = Field(0, ge=0)
    expire_tokens_after: int | None = Field(None, ge=0)  # requests per platform, then 401/190
    expire_handles: list[str] | None = None  # None = every account; else these, counted each


class Fault(Enum):
    """The one failure a request gets instead of its answer."""

    TIMEOUT = "timeout"
    RATE_LIMIT = "rate_limit"
    ERROR = "error"
    EXPIRED_TOKEN = "expired_token"


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request."""

    delay_s: float = 0.0
    fault: Fault | None = None
    malformed: bool = False


class FaultState:
    """Counters behind the switches; replaced whenever the switches are."""

    def __init__(self, config: FaultConfig) -> None:
        """Start counting from zero under `config`."""
        self.config = config
        self.requests: dict[str, int] = {}
        self.served: dict[str, int] = {}  # unfaulted answers by handle, for `expire_handles`
        self.injected: dict[str, int] = {}
        self._next = {
            Fault.TIMEOUT: config.timeout_next,
            Fault.RATE_LIMIT: config.rate_limit_next,
            Fault.ERROR: config.error_next,
        }
        self._malformed_next = config.malformed_next

    def _applies(self, platform: Platform | None) -> bool:
        wanted = self.config.platforms
        return wanted is None or (platform is not None and platform in wanted)

    def _fires(self, fault: Fault, every: int, n: int) -> bool:
        if self._next[fault] > 0:
            self._next[fault] -= 1
            return True
        return every > 0 and n % every == 0

    def decide(self, platform: Platform | None, handle: str | None = None) -> FaultDecision:
        """Count one request of `platform` (about account `handle`) and decide its faults."""
        key = platform.value if platform else "unknown"
        n = self.requests[key] = self.requests.get(key, 0) + 1
        c = self.config
        if not self._applies(platform):
            return FaultDecision()
        delay_ms = c.latency_ms + (c.slow_ms if c.slow_every and n % c.slow_every == 0 else 0)
        fault = self._pick_fault(n, handle)
        malformed = self._malformed_next > 0 or (c.malformed_every and n % c.malformed_every == 0)
        if self._malformed_next > 0:
            self._malformed_next -= 1
        if fault is None and not malformed and handle is not None:
            self.served[handle] = self.served.get(handle, 0) + 1
        for name, hit in ((fault.value if fault else None, fault), ("malformed", malformed)):
            if hit and name:
                self.injected[name] = self.injected.get(name, 0) + 1
        return FaultDecision(delay_ms / 1000, fault, bool(malformed))

    def _pick_fault(self, n: int, handle: str | None) -> Fault | None:
        c = self.config
        if self._fires(Fault.TIMEOUT, c.timeout_every, n):
            return Fault.TIMEOUT
        if self._fires(Fault.RATE_LIMIT, c.rate_limit_every, n):
            return Fault.RATE_LIMIT
        if self._fires(Fault.ERROR, c.error_every, n):
            return Fault.ERROR
        if self._expired(n, handle):
            return Fault.EXPIRED_TOKEN
        return None

    def _expired(self, n: int, handle: str | None) -> bool:
        """Whether the token of this request (the platform's `n`th, about `handle`) expired."""
        after = self.config.expire_tokens_after
        if after is None:
            return False
        chosen = self.config.expire_handles
        if chosen is None:
            return n > after
        return handle in chosen and self.served.get(handle or "", 0) >= after

    def duplicate_pages(self, platform: Platform | None) -> bool:
        """Whether `platform`'s pages repeat the previous page's last item."""
        return self.config.duplicate_across_pages and self._applies(platform)
