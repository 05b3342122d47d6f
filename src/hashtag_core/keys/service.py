"""API keys: create (the plaintext is returned once), list, revoke, verify.

A key is `hk_<8 hex>_<secret>`, the secret being 32 random bytes (url-safe base64). Only the
SHA-256 of the whole key is stored: the key is random enough that a fast hash cannot be
brute-forced, and a verify is one indexed lookup. `hk_<8 hex>` is stored as the key's prefix so
that listings and `keys revoke` can name it without the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.errors import Conflict, InvalidInput, NotFound
from hashtag_core.keys import repository as repo
from hashtag_core.keys.errors import KeyRefused
from hashtag_core.keys.schemas import (
    KEY_PREFIX,
    NAME_PATTERN,
    ApiKeyPublic,
    CreatedKey,
    Principal,
    Scope,
)

__all__ = [
    "LAST_USED_RESOLUTION",
    "create_key",
    "hash_key",
    "list_keys",
    "looks_like_key",
    "revoke_key",
    "verify_key",
]

_SECRET_BYTES = 32
_PREFIX_BYTES = 4
#: last_used_at is written at most this often per key (a read would otherwise write a row).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(plaintext: str) -> str:
    """SHA-256 hex of the whole key: what the table stores and looks up."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def looks_like_key(plaintext: str) -> bool:
    """Whether `plaintext` has the shape of a stored key (others need no database lookup)."""
    return plaintext.startswith(KEY_PREFIX) and len(plaintext) > len(KEY_PREFIX) + 9


def _public(row: dict[str, Any]) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate({k: v for k, v in row.items() if k not in ("id", "now")})


def _normalise_scopes(scopes: Iterable[Scope | str]) -> list[str]:
    found: list[str] = []
    for scope in scopes:
        try:
            value = Scope(scope).value
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise InvalidInput(f"unknown scope {scope!r}; use {known}", field="scope") from None
        if value not in found:
            found.append(value)
    if not found:
        raise InvalidInput("a key needs at least one scope: read, write or admin", field="scope")
    return found


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: Iterable[Scope | str],
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> CreatedKey:
    """Store a new key and return it with its plaintext (shown once, never stored)."""
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"invalid key name {name!r}: 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="name",
        )
    stored_scopes = _normalise_scopes(scopes)
    now = now or datetime.now(UTC)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput("the expiry needs a time zone", field="expires")
        if expires_at <= now:
            raise InvalidInput(
                f"the expiry {expires_at.isoformat()} is not in the future", field="expires"
            )
    prefix = KEY_PREFIX + secrets.token_hex(_PREFIX_BYTES)
    plaintext = f"{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    row = await repo.insert_key(
        session,
        name=name,
        prefix=prefix,
        key_hash=hash_key(plaintext),
        scopes=stored_scopes,
        expires_at=expires_at,
    )
    if row is None:
        raise Conflict(f"a key named {name!r} already exists; revoke it or choose another name")
    return CreatedKey(_public(row), plaintext)


async def list_keys(session: AsyncSession) -> list[ApiKeyPublic]:
    """Every key, newest first: names, prefixes, scopes and dates, never secrets."""
    return [_public(row) for row in await repo.list_keys(session)]


async def revoke_key(session: AsyncSession, ref: str) -> tuple[ApiKeyPublic, bool]:
    """Revoke the key named `ref` or with prefix `ref`; the key, and whether it was already
    revoked. NotFound if none matches; InvalidInput if several do (a name that is another
    key's prefix)."""
    found = await repo.find_by_name_or_prefix(session, ref.strip())
    if not found:
        raise NotFound(f"no API key is named {ref!r} or has that prefix")
    if len(found) > 1:
        names = ", ".join(repr(row["name"]) for row in found)
        raise InvalidInput(f"{ref!r} matches several keys ({names}); use the name", field="ref")
    already = found[0]["revoked_at"] is not None
    row = await repo.revoke(session, found[0]["name"])
    assert row is not None
    return _public(row), already


async def verify_key(session: AsyncSession, plaintext: str) -> Principal:
    """The principal a stored key stands for, or KeyRefused (unknown, revoked, expired).

    One indexed lookup; last_used_at is written only when it is over a minute old."""
    row = (
        await repo.find_by_hash(session, hash_key(plaintext)) if looks_like_key(plaintext) else None
    )
    if row is None:
        raise KeyRefused(
            "the API key is not known: check it, or see 'hashtag-analysis keys list'",
            reason="unknown",
        )
    label = f"the API key {row['name']!r} ({row['prefix']})"
    if row["revoked_at"] is not None:
        raise KeyRefused(
            f"{label} was revoked at {row['revoked_at']:%Y-%m-%d %H:%M} UTC; use another key",
            reason="revoked",
        )
    now: datetime = row["now"]
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise KeyRefused(
            f"{label} expired at {row['expires_at']:%Y-%m-%d %H:%M} UTC; create a new one",
            reason="expired",
        )
    last = row["last_used_at"]
    if last is None or now - last >= LAST_USED_RESOLUTION:
        await repo.touch(session, row["id"])
    return Principal(
        name=row["name"],
        scopes=frozenset(Scope(s) for s in row["scopes"]),
        identity=f"key:{row['prefix']}",
        expires_at=row["expires_at"],
    )
