"""The streaming parsers bound what one record may be (size, nesting) and read a large JSON
array element in a number of steps that grows with the log of its size, not its size."""

from __future__ import annotations

import io
import json

from hashtag_core.bounds import MAX_JSON_DEPTH, MAX_RECORD_CHARS
from hashtag_core.ingest.parsers import ImportFormat, iter_rows


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        return super().read(size)


def _record(post_id: str, **extra: object) -> dict[str, object]:
    return {"platform": "x", "post_id": post_id, "text": "t", **extra}


class TestJsonArray:
    def test_a_large_element_is_read_in_few_steps(self) -> None:
        big = _record("big", text="y" * (3 * 2**20))
        stream = CountingReader(json.dumps([_record("a"), big, _record("b")]).encode())
        rows = list(iter_rows(stream, ImportFormat.JSON))
        assert [r.data["post_id"] for r in rows if r.data] == ["a", "big", "b"]
        assert rows[1].data == big
        # 64 KiB reads doubling up to 3 MiB: 7 or so, where fixed chunks took 48 and
        # decoded the element again after each.
        assert stream.reads <= 10

    def test_an_element_longer_than_a_record_stops_the_body(self) -> None:
        huge = _record("huge", text="z" * (MAX_RECORD_CHARS + 10))
        body = json.dumps([_record("a"), huge, _record("b")]).encode()
        rows = list(iter_rows(io.BytesIO(body), ImportFormat.JSON))
        assert rows[0].data == _record("a")
        assert rows[1].data is None
        assert rows[1].row == 2
        assert f"longer than {MAX_RECORD_CHARS} characters" in (rows[1].error or "")

    def test_nesting_past_the_limit_is_a_row_error_and_the_next_element_is_read(self) -> None:
        at_limit = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
        past = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
        body = f'[{{"x": {at_limit}}}, {{"x": {past}}}, {"[" * 5000}{"]" * 5000}, {{"x": 1}}]'
        rows = list(iter_rows(io.BytesIO(body.encode()), ImportFormat.JSON))
        assert [(r.row, r.error is None) for r in rows] == [
            (1, True),
            (2, False),
            (3, False),
            (4, True),
        ]
        assert "nested more than" in (rows[2].error or "")

    def test_brackets_inside_strings_do_not_count(self) -> None:
        record = _record("s", text="[{" * 100 + '\\"]' + "}]" * 100)
        rows = list(iter_rows(io.BytesIO(json.dumps([record]).encode()), ImportFormat.JSON))
        assert rows[0].data == record


class TestNdjson:
    def test_a_line_longer_than_a_record_is_a_row_error(self) -> None:
        lines = [json.dumps(_record("a")), json.dumps(_record("b", text="q" * MAX_RECORD_CHARS))]
        rows = list(iter_rows(io.BytesIO("\n".join(lines).encode()), ImportFormat.NDJSON))
        assert rows[0].data == _record("a")
        assert "longer than" in (rows[1].error or "")
