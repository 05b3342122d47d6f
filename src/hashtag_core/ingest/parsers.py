"""Streaming parsers for import bodies: NDJSON, CSV (header row) and JSON records (an array, or
an object whose `records` member is the array).

Each parser reads a binary file-like object incrementally and yields one `RawRow` per record,
numbered from 1 in the order of the input (for CSV, data rows after the header). A record that
cannot be decoded becomes a row with an error instead of stopping the import, except where the
format makes the rest unreadable (a broken JSON array), which ends the stream with one error.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any

__all__ = ["RECORDS_KEY", "ImportFormat", "RawRow", "detect_format", "iter_rows"]

_CHUNK_BYTES = 1 << 16
#: The JSON body may be the array itself or `{"records": [...]}` (the form the OpenAPI document
#: declares: generated clients cannot all send a bare array beside a binary body).
RECORDS_KEY = "records"
#: A CSV field may be this long before the parser gives up on the row (texts over the
#: record limit are then rejected by validation with a clear message, not by the parser).
_CSV_FIELD_LIMIT = 4 * 1024 * 1024


class ImportFormat(StrEnum):
    """Body formats the import accepts."""

    NDJSON = "ndjson"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class RawRow:
    """One input record before validation, or the reason it could not be read."""

    row: int
    data: dict[str, Any] | None
    error: str | None = None
    field: str | None = None


_CONTENT_TYPES = {
    "application/x-ndjson": ImportFormat.NDJSON,
    "application/ndjson": ImportFormat.NDJSON,
    "application/jsonl": ImportFormat.NDJSON,
    "application/x-jsonlines": ImportFormat.NDJSON,
    "text/csv": ImportFormat.CSV,
    "application/csv": ImportFormat.CSV,
    "application/json": ImportFormat.JSON,
}


def detect_format(content_type: str | None, filename: str | None = None) -> ImportFormat | None:
    """The format named by a Content-Type header or, failing that, a file name's extension."""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in _CONTENT_TYPES:
            return _CONTENT_TYPES[media]
    if filename:
        suffix = filename.lower().rsplit(".", 1)[-1]
        return {
            "ndjson": ImportFormat.NDJSON,
            "jsonl": ImportFormat.NDJSON,
            "csv": ImportFormat.CSV,
            "json": ImportFormat.JSON,
        }.get(suffix)
    return None


def iter_rows(stream: IO[bytes], fmt: ImportFormat) -> Iterator[RawRow]:
    """Yield the records of `stream` in the given format, one RawRow each."""
    if fmt is ImportFormat.NDJSON:
        return _ndjson_rows(stream)
    if fmt is ImportFormat.CSV:
        return _csv_rows(stream)
    return _json_array_rows(stream)


def _object_row(row: int, value: object) -> RawRow:
    if not isinstance(value, dict):
        return RawRow(row, None, f"must be a JSON object, got {type(value).__name__}")
    return RawRow(row, value)


def _ndjson_rows(stream: IO[bytes]) -> Iterator[RawRow]:
    row = 0
    for raw_line in stream:
        line = raw_line.strip()
        if not line:
            continue
        row += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RawRow(row, None, f"invalid UTF-8 at byte {exc.start} of the line")
            continue
        try:
            yield _object_row(row, json.loads(text))
        except json.JSONDecodeError as exc:
            yield RawRow(row, None, f"invalid JSON: {exc.msg} at column {exc.colno}")


def _csv_rows(stream: IO[bytes]) -> Iterator[RawRow]:
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    # surrogateescape keeps undecodable bytes so one bad row is reported, not the whole file.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield RawRow(1, None, f"unreadable CSV header: {exc}")
        return
    names = [name.strip() for name in header]
    yield from _csv_records(reader, names)


def _csv_records(reader: Any, names: list[str]) -> Iterator[RawRow]:
    row = 0
    while True:
        row += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRow(row, None, f"unreadable CSV row: {exc}")
            continue
        yield _csv_record(row, names, values)


def _csv_record(row: int, names: list[str], values: list[str]) -> RawRow:
    if len(values) != len(names):
        return RawRow(row, None, f"has {len(values)} fields, the header has {len(names)}")
    record: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return RawRow(row, None, "invalid UTF-8 in this field", field=name)
        # An empty CSV cell means "not given": unknown, not zero.
        record[name] = value if value != "" else None
    return RawRow(row, record)


class _JsonArrayReader:
    """Reads the elements of a top-level JSON array one at a time, a chunk at a time."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = json.JSONDecoder()
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.buffer, self.pos, self.eof = "", 0, False

    def fill(self) -> None:
        chunk = self.stream.read(_CHUNK_BYTES)
        self.eof = not chunk
        self.buffer = self.buffer[self.pos :] + self.utf8.decode(chunk, final=self.eof)
        self.pos = 0

    def next_char(self, skip: str) -> str | None:
        """The next character not in `skip` (not consumed), or None at the end."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in skip:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if self.eof:
                return None
            self.fill()

    def value(self) -> object:
        """Decode the value at the cursor, reading more input until it is complete."""
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if self.eof:
                    raise
                self.fill()
                continue
            if end >= len(self.buffer) and not self.eof:
                self.fill()  # a number at the end of the buffer may go on in the next chunk
                continue
            self.pos = end
            return value


def _open_records(reader: _JsonArrayReader) -> None:
    """Step into `{"records": [` (the object form), leaving the cursor on the `[`."""
    reader.pos += 1
    if reader.next_char(" \t\r\n") != '"' or reader.value() != RECORDS_KEY:
        raise ValueError(f'a JSON import object must be {{"{RECORDS_KEY}": [...]}}')
    if reader.next_char(" \t\r\n") != ":":
        raise ValueError(f"expected ':' after \"{RECORDS_KEY}\"")
    reader.pos += 1
    if reader.next_char(" \t\r\n") != "[":
        raise ValueError(f'"{RECORDS_KEY}" must be an array of records')


def _json_array_rows(stream: IO[bytes]) -> Iterator[RawRow]:
    reader, row = _JsonArrayReader(stream), 0
    try:
        first = reader.next_char(" \t\r\n")
        if first is None:
            return
        wrapped = first == "{"
        if wrapped:
            _open_records(reader)
        elif first != "[":
            raise ValueError(
                "a JSON import body must be an array of records '[...]' "
                f'or {{"{RECORDS_KEY}": [...]}}'
            )
        reader.pos += 1
        while True:
            char = reader.next_char(" \t\r\n,")
            if char is None:
                raise ValueError("the array is not closed with ']'")
            if char == "]":
                reader.pos += 1
                if wrapped and reader.next_char(" \t\r\n") != "}":
                    raise ValueError(f"the object around \"{RECORDS_KEY}\" is not closed with '}}'")
                return
            value = reader.value()
            row += 1
            yield _object_row(row, value)
    except UnicodeDecodeError as exc:
        yield RawRow(row + 1, None, f"invalid UTF-8 ({exc.reason}); the rest was not read")
    except ValueError as exc:
        yield RawRow(row + 1, None, f"invalid JSON: {exc}; the rest of the body was not read")
