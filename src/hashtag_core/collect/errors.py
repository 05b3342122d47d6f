"""Errors raised by the collection layer. They name the account, never its token.

CollectError             base; `message` is written for the operator who reads the job log
├── AuthExpired          token expired, revoked or lacking a permission: re-authorise the account
├── RateLimited          the platform asked us to wait longer than we are allowed to (max_wait_s)
├── PlatformUnavailable  5xx answers, timeouts or connection errors outlasted the retries
├── MalformedResponse    the body could not be parsed (or had the wrong shape) after the retries
└── RequestRejected      the platform refused the request itself (4xx such as an unknown API
    │                    version or an invalid parameter): a configuration error, not retried
    ├── NotFound         the post or account does not exist (or is no longer visible)
    └── VersionGone      the platform no longer serves the configured API version (LinkedIn 426
                         NONEXISTENT_VERSION, a Graph version past its end of life): change the
                         setting the message names
"""

from __future__ import annotations

__all__ = [
    "AuthExpired",
    "CollectError",
    "MalformedResponse",
    "NotFound",
    "PlatformUnavailable",
    "RateLimited",
    "RequestRejected",
    "VersionGone",
]


class CollectError(Exception):
    """Base class; `message` says which account and what to do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthExpired(CollectError):
    """The platform rejected the account's token; only re-authorising the account helps."""


class RateLimited(CollectError):
    """The platform's rate limit would need a longer wait than the configured maximum."""

    def __init__(self, message: str, *, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class PlatformUnavailable(CollectError):
    """Server errors, timeouts or connection failures persisted through every retry."""


class MalformedResponse(CollectError):
    """A response body was not the JSON we expected, even after retrying."""


class RequestRejected(CollectError):
    """The platform refused the request as invalid; retrying the same request cannot help."""


class NotFound(RequestRejected):
    """The requested post or account does not exist or is not visible with this token."""


class VersionGone(RequestRejected):
    """The configured API version is no longer served; `setting` names what to change."""

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting
