"""Named column mappings that turn real social-media CSV exports into canonical post records.

A mapping knows three things about one export format: the encoding to read the file with, how
to turn one raw CSV row into a dict with exactly `PostRecord`'s fields, and which rows to skip
(with a reason the caller can count and report). It does not validate: callers pass each
record to `PostRecord.model_validate`, so all validation rules stay in `schemas.py`.

A value that a mapping cannot convert (say a count of "1.5" or a timestamp in the wrong
format) is passed through unchanged rather than guessed at or dropped; `PostRecord` then
rejects it with the field name, which makes broken exports loud instead of silently wrong.

The per-dataset column tables, measured counts and caveats are in `docs/datasets.md`.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from hashtag_core.platforms import Platform

__all__ = [
    "MAPPINGS",
    "SKIP_MALFORMED",
    "SKIP_RETWEET",
    "Mapping",
    "MappedRow",
    "RecordDict",
    "detect_mapping",
    "iter_mapped_records",
]

#: A canonical record before validation: PostRecord's field names to str/int/None.
RecordDict = dict[str, str | int | None]
#: One raw CSV data row: header column name to cell text.
RawRow = dict[str, str]

#: Skip reason for retweets, whose counts are the original tweet's, not the account's.
SKIP_RETWEET = "retweet: its counts belong to the original tweet, not to this account"
#: Prefix of the skip reason for rows whose field count differs from the header's.
SKIP_MALFORMED = "malformed row"

# Exports write "not reported" as an empty cell or a dash; both mean unknown, never zero.
_MISSING = frozenset({"", "-"})


class MappedRow(NamedTuple):
    """One data row of a file: its 1-based number, its record or None, and why it was skipped.

    `row_number` counts data rows (the header is not counted), not physical lines: quoted
    fields may hold line breaks, so one row can span several lines.
    """

    row_number: int
    record: RecordDict | None
    skip_reason: str | None


def _never_skip(row: RawRow) -> str | None:
    """Default skip rule: map every row."""
    return None


@dataclass(frozen=True)
class Mapping:
    """How one export format maps onto `PostRecord`."""

    name: str
    description: str
    #: Codec to open the file with (always with newline='' so quoted line breaks survive).
    encoding: str
    #: The columns the mapping reads; a header holding all of them is this format.
    columns: tuple[str, ...]
    to_record: Callable[[RawRow], RecordDict]
    #: Returns why a row must be skipped, or None to map it.
    skip_reason: Callable[[RawRow], str | None] = _never_skip


# --- value conversions -----------------------------------------------------------------------


def _count(value: str) -> int | str | None:
    """Turn an export count ("12", "1938.0", "-", "") into an int, or None when unknown.

    X analytics writes counts as floats; Decimal (not float) keeps large counts exact.
    Anything that is not a whole number is passed through for PostRecord to reject.
    """
    cleaned = value.strip()
    if cleaned in _MISSING:
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return value
    if not number.is_finite() or number != number.to_integral_value():
        return value
    return int(number)


def _text(value: str) -> str:
    """Unescape the HTML entities (`&amp;`, `&lt;`, `&gt;`) that Twitter's API puts in texts."""
    return html.unescape(value)


def _timestamp(value: str, fmt: str) -> str:
    """Parse `value` with `fmt` into ISO 8601; naive times are UTC (all our sources say so).

    On a format mismatch the raw value is returned so that validation reports it.
    """
    try:
        parsed = datetime.strptime(value.strip(), fmt)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def _path_segments(url: str) -> list[str]:
    return [segment for segment in urlsplit(url.strip()).path.split("/") if segment]


def _first_path_segment(url: str) -> str:
    """The account handle in a tweet URL `https://twitter.com/<handle>/status/<id>`."""
    segments = _path_segments(url)
    return segments[0] if segments else ""


def _last_path_segment(url: str) -> str:
    """The tweet id in a tweet URL `https://twitter.com/<handle>/status/<id>`."""
    segments = _path_segments(url)
    return segments[-1] if segments else ""


# --- x-analytics: the analytics.twitter.com "Tweet activity" export --------------------------


def _x_analytics_record(row: RawRow) -> RecordDict:
    return {
        "platform": Platform.X.value,
        "post_id": row["Tweet id"],
        "account": _first_path_segment(row["Tweet permalink"]),
        "text": _text(row["Tweet text"]),
        "posted_at": _timestamp(row["time"], "%Y-%m-%d %H:%M %z"),
        "likes": _count(row["likes"]),
        "comments": _count(row["replies"]),
        "shares": _count(row["retweets"]),
        "saves": None,  # the export has no bookmark column
        "impressions": _count(row["impressions"]),
        "reach": None,  # X reports impressions only, never unique reach
        "followers": None,  # per-tweet exports carry no follower count
        "url": row["Tweet permalink"],
        "account_timezone": None,  # not in the export; the importing caller may set it
    }


# --- fivethirtyeight: FiveThirtyEight's twitter-ratio timelines ------------------------------


def _fivethirtyeight_skip(row: RawRow) -> str | None:
    # A retweet row shows the original tweet's replies/retweets/favorites, which would credit
    # this account (and its hashtags) with someone else's engagement.
    return SKIP_RETWEET if row["text"].startswith("RT @") else None


def _fivethirtyeight_record(row: RawRow) -> RecordDict:
    return {
        "platform": Platform.X.value,
        "post_id": _last_path_segment(row["url"]),
        "account": row["user"],
        "text": _text(row["text"]),
        "posted_at": _timestamp(row["created_at"], "%m/%d/%y %H:%M"),  # UTC, minute precision
        "likes": _count(row["favorites"]),
        "comments": _count(row["replies"]),
        "shares": _count(row["retweets"]),
        "saves": None,
        "impressions": None,
        "reach": None,
        "followers": None,
        "url": row["url"],
        "account_timezone": None,
    }


# --- pfizer-kaggle: Kaggle-style tweepy dumps (one row per tweet, many users) ----------------


def _pfizer_kaggle_skip(row: RawRow) -> str | None:
    return SKIP_RETWEET if row["is_retweet"].strip() == "True" else None


def _pfizer_kaggle_record(row: RawRow) -> RecordDict:
    return {
        "platform": Platform.X.value,
        "post_id": row["id"],
        # A display name, not a handle: the dump has no screen name or user id. It is not
        # unique (see docs/datasets.md), but it is the best account label the file offers.
        "account": row["user_name"],
        "text": _text(row["text"]),
        "posted_at": _timestamp(row["date"], "%Y-%m-%d %H:%M:%S"),  # UTC
        "likes": _count(row["favorites"]),
        "comments": None,  # the dump has no replies column
        "shares": _count(row["retweets"]),
        "saves": None,
        "impressions": None,
        "reach": None,
        "followers": _count(row["user_followers"]),
        "url": None,  # no screen name, so no permalink can be built
        "account_timezone": None,
    }


MAPPINGS: dict[str, Mapping] = {
    "x-analytics": Mapping(
        name="x-analytics",
        description='Twitter/X analytics "Tweet activity" CSV export (one file per period).',
        # utf-8-sig strips the BOM that some exports start with and reads plain UTF-8 too.
        encoding="utf-8-sig",
        columns=(
            "Tweet id",
            "Tweet permalink",
            "Tweet text",
            "time",
            "impressions",
            "retweets",
            "replies",
            "likes",
        ),
        to_record=_x_analytics_record,
    ),
    "fivethirtyeight": Mapping(
        name="fivethirtyeight",
        description="FiveThirtyEight twitter-ratio timeline (one account per file).",
        # The files are legacy 8-bit mojibake, not UTF-8. mac_roman maps every byte (cannot
        # fail) and reproduces the documented forms ("‰Û_" for "…", "Ã©" for "é") without
        # C1 control characters, which latin-1 would put into the text.
        encoding="mac_roman",
        columns=("created_at", "text", "url", "replies", "retweets", "favorites", "user"),
        to_record=_fivethirtyeight_record,
        skip_reason=_fivethirtyeight_skip,
    ),
    "pfizer-kaggle": Mapping(
        name="pfizer-kaggle",
        description="Kaggle-style tweepy tweet dump (gpreda/pfizer-vaccine-tweets layout).",
        encoding="utf-8-sig",
        columns=(
            "id",
            "user_name",
            "user_followers",
            "date",
            "text",
            "retweets",
            "favorites",
            "is_retweet",
        ),
        to_record=_pfizer_kaggle_record,
        skip_reason=_pfizer_kaggle_skip,
    ),
}


# --- reading files ---------------------------------------------------------------------------


def _normalise_header(header: list[str]) -> list[str]:
    """Strip whitespace from column names, and undo a BOM read as text.

    Opened without utf-8-sig, a BOM survives as "\\ufeff" before the first name; it also hides
    that name's opening quote from the csv module, which then keeps both quotes as text.
    """
    names = [name.strip() for name in header]
    if names and names[0].startswith("\ufeff"):
        first = names[0].removeprefix("\ufeff")
        if len(first) >= 2 and first[0] == first[-1] == '"':
            first = first[1:-1].replace('""', '"')
        names[0] = first
    return names


def detect_mapping(header: list[str]) -> str | None:
    """Name the mapping whose columns are all in `header`, or None if none or several fit."""
    present = set(_normalise_header(header))
    matches = [name for name, mapping in MAPPINGS.items() if set(mapping.columns) <= present]
    return matches[0] if len(matches) == 1 else None


def _get_mapping(mapping_name: str) -> Mapping:
    try:
        return MAPPINGS[mapping_name]
    except KeyError:
        known = ", ".join(sorted(MAPPINGS))
        raise ValueError(f"unknown mapping {mapping_name!r}; known: {known}") from None


def _check_header(path: Path, mapping: Mapping, header: list[str]) -> None:
    # Failing on the header beats mapping every row of the wrong format to garbage.
    missing = [column for column in mapping.columns if column not in header]
    if missing:
        raise ValueError(f"{path}: not a {mapping.name!r} file; missing columns {missing}")


def _map_row(mapping: Mapping, row_number: int, header: list[str], fields: list[str]) -> MappedRow:
    """Skip or map one parsed data row."""
    if len(fields) != len(header):
        # A shifted row would put values under the wrong columns; mapping it could even
        # validate, so it is skipped (and reported) instead.
        malformed = f"{SKIP_MALFORMED}: {len(fields)} fields, header has {len(header)}"
        return MappedRow(row_number, None, malformed)
    row = dict(zip(header, fields, strict=True))
    reason = mapping.skip_reason(row)
    if reason is not None:
        return MappedRow(row_number, None, reason)
    return MappedRow(row_number, mapping.to_record(row), None)


def iter_mapped_records(
    path: Path, mapping_name: str, *, encoding: str | None = None
) -> Iterator[MappedRow]:
    """Stream `path` row by row through the named mapping, one `MappedRow` per data row.

    The file is read lazily with the csv module (newline='' so line breaks and bare `\\r`
    inside quoted fields stay part of the field). Blank lines are not data rows and are
    passed over, as csv.DictReader does. `encoding` overrides the mapping's codec.
    Raises ValueError for an unknown mapping, an empty file or a header of another format.
    """
    mapping = _get_mapping(mapping_name)
    with path.open(encoding=encoding or mapping.encoding, newline="") as handle:
        reader = csv.reader(handle)
        raw_header = next(reader, None)
        if raw_header is None:
            raise ValueError(f"{path}: empty file, expected a header row")
        header = _normalise_header(raw_header)
        _check_header(path, mapping, header)
        row_number = 0
        for fields in reader:
            if not fields:
                continue
            row_number += 1
            yield _map_row(mapping, row_number, header, fields)
