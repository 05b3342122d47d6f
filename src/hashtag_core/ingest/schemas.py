"""The canonical import record: one post as the service stores it.

Every way posts arrive (HTTP import, CLI import, dataset mappings, demo generator, platform
connectors) produces these records, so validation lives in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from hashtag_core.bounds import check_instant
from hashtag_core.platforms import Platform

__all__ = [
    "MAX_COUNT",
    "MAX_TEXT_CHARS",
    "Count",
    "StorableText",
    "PostRecord",
    "storable_text",
    "validate_timezone",
]

#: Largest count we accept (fits PostgreSQL bigint with room to sum).
MAX_COUNT = 2**53
#: Longest post text we store; longer texts are rejected, not truncated.
MAX_TEXT_CHARS = 100_000
_EARLIEST_POST = datetime(2006, 1, 1, tzinfo=UTC)  # nothing was posted on these platforms before


def storable_text(value: str) -> str:
    """Return `value`, or raise ValueError if PostgreSQL's text type cannot hold it: a NUL
    character, or an unpaired surrogate (which JSON's \\ud800 escapes can produce). Such a
    value can be neither stored nor found, so it is refused where it enters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"is not valid Unicode: unpaired surrogate at character {exc.start}"
        ) from exc
    return value


#: Text PostgreSQL can store: every string field and parameter that reaches SQL.
StorableText = Annotated[str, AfterValidator(storable_text)]


def validate_timezone(value: str) -> str:
    """Return `value` if it is an IANA time zone name, else raise ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Copenhagen')") from exc
    return value


def _not_a_boolean(value: object) -> object:
    # pydantic reads true/false as 1/0; a count given as a boolean is a mapping mistake.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


# The bounds come before the validator: the other way round pydantic cannot apply them in its
# core schema and writes them into the JSON schema as `ge`/`le`, which JSON Schema ignores.
Count = Annotated[int, Field(ge=0, le=MAX_COUNT), BeforeValidator(_not_a_boolean)]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(storable_text),
]


class PostRecord(BaseModel):
    """One post with its metrics at the time of import. Unknown metrics stay None (NULL)."""

    model_config = ConfigDict(extra="ignore")

    platform: Platform = Field(description="Platform: x, instagram, facebook or linkedin.")
    post_id: Identifier = Field(description="The platform's own id of the post.")
    account: Identifier = Field(description="Account handle (or page/organisation name).")
    text: Annotated[str, AfterValidator(storable_text)] = Field(
        max_length=MAX_TEXT_CHARS, description="Post text as published; hashtags are read from it."
    )
    posted_at: datetime = Field(description="When it was posted: ISO 8601 with a UTC offset.")
    likes: Count | None = Field(default=None, description="Likes/reactions; null if not reported.")
    comments: Count | None = Field(default=None, description="Comments/replies; null if unknown.")
    shares: Count | None = Field(
        default=None, description="Shares/retweets/reposts; null if unknown."
    )
    saves: Count | None = Field(default=None, description="Saves/bookmarks; null if unknown.")
    impressions: Count | None = Field(default=None, description="Times shown; null if unknown.")
    reach: Count | None = Field(
        default=None, description="Unique accounts reached; null if unknown."
    )
    followers: Count | None = Field(
        default=None, description="The account's follower count when the post was published."
    )
    url: Annotated[StorableText, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="Link to the post."
    )
    account_timezone: str | None = Field(
        default=None, description="IANA time zone of the account, e.g. Europe/Copenhagen."
    )

    @field_validator("posted_at")
    @classmethod
    def _aware_and_plausible(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a UTC offset, e.g. 2024-05-01T12:00:00+02:00")
        check_instant(value)  # 9999-12-31T23:59:59-14:00 is past what Python can compare
        if value < _EARLIEST_POST:
            raise ValueError("is before 2006, earlier than any supported platform")
        if value.astimezone(UTC).year > datetime.now(UTC).year + 1:
            raise ValueError("is in the future")
        return value.astimezone(UTC)

    @field_validator("account_timezone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        return None if value is None else validate_timezone(value)
