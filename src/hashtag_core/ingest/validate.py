"""Turn raw import rows into validated records, or into row-level errors that say which row,
which field and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydantic import ValidationError

from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.language import detect_languages
from hashtag_core.posts.repository import StagedPost
from hashtag_core.sentiment import score_posts

__all__ = ["KNOWN_FIELDS", "RowError", "validate_row", "with_sentiment"]

KNOWN_FIELDS = frozenset(PostRecord.model_fields)


@dataclass(frozen=True)
class RowError:
    """Why one input row was not stored."""

    row: int
    field: str | None
    message: str


def _errors(row: int, exc: ValidationError) -> list[RowError]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"]) or None
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "is required"
        out.append(RowError(row, loc, message))
    return out


def validate_row(raw: RawRow) -> StagedPost | list[RowError]:
    """A storable post, or the reasons this row is rejected."""
    if raw.data is None:
        return [RowError(raw.row, raw.field, raw.error or "unreadable row")]
    try:
        record = PostRecord.model_validate(raw.data)
    except ValidationError as exc:
        return _errors(raw.row, exc)
    return StagedPost(raw.row, record, hashtags_in_post(record.text, record.platform.value))


def with_sentiment(staged: list[StagedPost]) -> list[StagedPost]:
    """The same posts with their text's language and, where that language has a scorer, its
    sentiment score (None otherwise). CPU work: call off the loop."""
    texts = [item.record.text for item in staged]
    languages = detect_languages(texts)
    scores = score_posts(texts, languages)
    return [
        replace(item, language=language, sentiment=score)
        for item, language, score in zip(staged, languages, scores, strict=True)
    ]
