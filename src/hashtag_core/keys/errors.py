"""Why a key is refused. `KeyRefused` is a HashtagError; the API answers it with 403 and a
message saying which case it was (never the key itself)."""

from __future__ import annotations

from typing import Literal

from hashtag_core.errors import HashtagError

__all__ = ["KeyRefused", "RefusalReason"]

RefusalReason = Literal["unknown", "revoked", "expired"]


class KeyRefused(HashtagError):
    """The presented key is unknown, revoked or expired."""

    def __init__(self, message: str, *, reason: RefusalReason) -> None:
        super().__init__(message)
        self.reason = reason
