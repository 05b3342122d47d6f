"""API-key shapes and the scope rules.

Scopes are ordered: **admin implies write implies read**. A key holding `write` may do every
read; a key holding `admin` may do everything. The stored list keeps what was asked for;
`grants()` applies the order.

    read    every GET under the API (only checked when HASHTAG_READ_REQUIRES_KEY is set)
    write   imports, POST /update-post, POST /collect (data in, jobs started)
    admin   creating, changing and removing accounts (they name platform tokens)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "KEY_PREFIX",
    "NAME_PATTERN",
    "ApiKeyPublic",
    "CreatedKey",
    "KeyStatus",
    "Principal",
    "Scope",
    "grants",
    "highest",
]

#: Every key starts with this, then 8 hex characters (the listed prefix), `_` and the secret.
KEY_PREFIX = "hk_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

KeyStatus = Literal["active", "expired", "revoked"]


class Scope(StrEnum):
    """What a key may do; each scope includes the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


def highest(scopes: Iterable[Scope | str]) -> Scope | None:
    """The widest scope in `scopes` (None for none)."""
    found = [Scope(s) for s in scopes]
    return max(found, key=_RANK.__getitem__) if found else None


def grants(scopes: Iterable[Scope | str], needed: Scope) -> bool:
    """True when a key holding `scopes` may do what needs `needed`."""
    top = highest(scopes)
    return top is not None and _RANK[top] >= _RANK[needed]


class ApiKeyPublic(BaseModel):
    """A key as listed: never its hash or secret."""

    name: str = Field(description="Unique name, chosen at creation.")
    prefix: str = Field(description="The key's first characters, e.g. 'hk_ab12cd34'.")
    scopes: list[Scope] = Field(description="Scopes as granted (admin > write > read).")
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="Updated at most once a minute."
    )

    def status(self, now: datetime) -> KeyStatus:
        """active, expired or revoked (revoked wins)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the only time its plaintext exists outside the caller's hands."""

    info: ApiKeyPublic
    plaintext: str = field(repr=False)


@dataclass(frozen=True)
class Principal:
    """Who sent a request: a stored key, or a bootstrap key from the settings."""

    name: str
    scopes: frozenset[Scope]
    #: What the rate limiter counts against (never the key itself).
    identity: str
    bootstrap: bool = False
    #: When a stored key stops being valid (None: never, or a bootstrap key).
    expires_at: datetime | None = None
