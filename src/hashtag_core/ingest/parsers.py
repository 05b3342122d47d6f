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

from hashtag_core.bounds import MAX_JSON_DEPTH, MAX_RECORD_CHARS, deeper_than, json_extent

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


_TOO_DEEP = f"arrays and objects nested more than {MAX_JSON_DEPTH} levels deep"
_TOO_LONG = f"the record is longer than {MAX_RECORD_CHARS} characters"


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
        yield _ndjson_row(row, line)


def _ndjson_row(row: int, line: bytes) -> RawRow:
    if len(line) > 4 * MAX_RECORD_CHARS:  # no need to decode it to know
        return RawRow(row, None, _TOO_LONG)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRow(row, None, f"invalid UTF-8 at byte {exc.start} of the line")
    if len(text) > MAX_RECORD_CHARS:
        return RawRow(row, None, _TOO_LONG)
    try:
        if deeper_than(text):
            return RawRow(row, None, _TOO_DEEP)
        return _object_row(row, json.loads(text))
    except json.JSONDecodeError as exc:
        return RawRow(row, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:  # not reached while MAX_JSON_DEPTH is below Python's limit
        return RawRow(row, None, _TOO_DEEP)


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
    for column, name in enumerate(names, start=1):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as exc:
            # A binary file (an image, a spreadsheet) sent as CSV lands here: its header's
            # undecodable bytes cannot be named back to the client, so say where they are.
            yield RawRow(
                1, None, f"the CSV header is not UTF-8 text (column {column}, byte {exc.start})"
            )
            return
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
    if not "".join(values).isascii():  # undecodable bytes are lone surrogates: find them
        for name, value in zip(names, values, strict=True):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return RawRow(row, None, "invalid UTF-8 in this field", field=name)
    # An empty CSV cell means "not given": unknown, not zero.
    return RawRow(row, {n: v if v != "" else None for n, v in zip(names, values, strict=True)})


class _JsonArrayReader:
    """Reads the elements of a top-level JSON array one at a time, a chunk at a time.

    While an element is incomplete the next read is as large as what is buffered, so the
    buffer doubles and a large element is decoded O(log n) times, not once per 64 KiB chunk
    (which made a 50 MB element take 30 s). An element may be MAX_RECORD_CHARS long."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = json.JSONDecoder()
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.buffer, self.pos, self.eof = "", 0, False

    def fill(self) -> None:
        pending = len(self.buffer) - self.pos
        chunk = self.stream.read(max(_CHUNK_BYTES, pending))
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

    def _more(self, exc: ValueError) -> None:
        """Read on for an incomplete element, or raise `exc` if there is no more to read."""
        if self.eof:
            raise exc
        if len(self.buffer) - self.pos > MAX_RECORD_CHARS:
            raise ValueError(f"{exc} (or {_TOO_LONG})") from exc
        self.fill()

    def value(self) -> object:
        """Decode the value at the cursor, reading more input until it is complete; ValueError
        if it is not JSON, _TooDeep (consumed) if it nests too deeply."""
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                self._more(exc)
                continue
            except RecursionError:
                self._skip_deep()
                raise _TooDeep from None
            if end >= len(self.buffer) and not self.eof:
                self.fill()  # a number at the end of the buffer may go on in the next chunk
                continue
            if end - self.pos > MAX_RECORD_CHARS:
                self.pos = end
                raise _TooLong
            if deeper_than(self.buffer[self.pos : end]):
                self.pos = end
                raise _TooDeep
            self.pos = end
            return value

    def _skip_deep(self) -> None:
        while True:
            end, _ = json_extent(self.buffer, self.pos)
            if end is not None:
                self.pos = end
                return
            self._more(ValueError(_TOO_DEEP))


class _TooDeep(Exception):
    """An element nested too deeply (skipped: the next one can be read)."""


class _TooLong(Exception):
    """An element longer than a record may be (skipped)."""


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
            yield _array_element(reader, row + 1)
            row += 1
    except UnicodeDecodeError as exc:
        yield RawRow(row + 1, None, f"invalid UTF-8 ({exc.reason}); the rest was not read")
    except ValueError as exc:
        yield RawRow(row + 1, None, f"invalid JSON: {exc}; the rest of the body was not read")


def _array_element(reader: _JsonArrayReader, row: int) -> RawRow:
    try:
        return _object_row(row, reader.value())
    except _TooDeep:
        return RawRow(row, None, _TOO_DEEP)
    except _TooLong:
        return RawRow(row, None, _TOO_LONG)
