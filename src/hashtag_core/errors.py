"""Domain errors, shared by the API and the worker. They know nothing about HTTP; the API maps
each class to a status code in one place (hashtag_api/errors.py).

    HashtagError            base; `message` is shown to the caller as it is
    ├── NotFound            the thing named does not exist (404)
    ├── Conflict            the request contradicts stored state (409)
    ├── InvalidInput        a value is wrong; `field` says which (422)
    └── ServiceUnavailable  a dependency (Postgres, Redis) does not answer (503)
"""

from __future__ import annotations

__all__ = ["Conflict", "HashtagError", "InvalidInput", "NotFound", "ServiceUnavailable"]


class HashtagError(Exception):
    """Base class; `message` is written for the person who sent the request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(HashtagError):
    """The named resource does not exist."""


class Conflict(HashtagError):
    """The request contradicts what is stored."""


class InvalidInput(HashtagError):
    """A parameter or field has a wrong value."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ServiceUnavailable(HashtagError):
    """A dependency does not answer; the caller may retry after `retry_after_s`."""

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
