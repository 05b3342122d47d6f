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

    def test_no_read_asks_for_more_than_was_read_before(self) -> None:
        # The buffer may double, not more: a read asks for 64 KiB or for as much as is
        # buffered and not yet decoded, never for the decoded part too.
        class SizedReader(io.BytesIO):
            def __init__(self, data: bytes) -> None:
                super().__init__(data)
                self.sizes: list[int] = []

            def read(self, size: int | None = -1, /) -> bytes:
                self.sizes.append(-1 if size is None else size)
                return super().read(size)

        small = [_record(f"s{i}", text="w" * 500) for i in range(110)]  # ~60 KiB
        big = _record("big", text="y" * 300_000)
        stream = SizedReader(json.dumps([*small, big]).encode())
        rows = list(iter_rows(stream, ImportFormat.JSON))
        assert [r.data for r in rows] == [*small, big]
        read_before = 0
        for size in stream.sizes:
            assert 0 < size <= max(2**16, read_before), (size, read_before, stream.sizes)
            read_before += size

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

    def test_a_line_over_four_bytes_a_character_is_too_long_without_being_decoded(self) -> None:
        # More than 4 bytes per allowed character cannot be a record however it decodes: it
        # is refused as too long, even when its bytes are not UTF-8 at all.
        line = b'{"text": "' + b"\xff" * (4 * MAX_RECORD_CHARS) + b'"}'
        rows = list(iter_rows(io.BytesIO(line), ImportFormat.NDJSON))
        assert [(r.row, r.data) for r in rows] == [(1, None)]
        assert f"longer than {MAX_RECORD_CHARS} characters" in (rows[0].error or "")

    def test_a_line_of_the_maximum_length_in_four_byte_characters_is_read(self) -> None:
        # The byte test before decoding may only refuse what cannot fit: a record of
        # MAX_RECORD_CHARS characters of 4 bytes each is read.
        head = json.dumps(_record("e", text=""), ensure_ascii=False)[:-2]  # up to `"text": "`
        text = "\U0001f600" * (MAX_RECORD_CHARS - len(head) - 2)
        line = head + text + '"}'
        assert len(line) == MAX_RECORD_CHARS
        assert len(line.encode()) > 3 * MAX_RECORD_CHARS
        rows = list(iter_rows(io.BytesIO(line.encode()), ImportFormat.NDJSON))
        assert [(r.row, r.error) for r in rows] == [(1, None)]
        assert rows[0].data == _record("e", text=text)

    def test_rows_are_numbered_from_1_and_blank_lines_are_not_rows(self) -> None:
        body = "\n\n" + json.dumps(_record("a")) + "\n  \nnot json\n" + json.dumps(_record("b"))
        rows = list(iter_rows(io.BytesIO(body.encode()), ImportFormat.NDJSON))
        assert [(r.row, r.data and r.data["post_id"]) for r in rows] == [
            (1, "a"),
            (2, None),
            (3, "b"),
        ]


class TestJsonObjectForm:
    """`{"records": [...]}`, the body form the OpenAPI document declares."""

    def test_compact_and_spaced_object_forms_read_like_the_bare_array(self) -> None:
        records = [_record("a"), _record("b")]
        bodies = [
            json.dumps(records),
            json.dumps({"records": records}),
            json.dumps({"records": records}, separators=(",", ":")),
            json.dumps({"records": records}, indent=2),
        ]
        for body in bodies:
            rows = list(iter_rows(io.BytesIO(body.encode()), ImportFormat.JSON))
            assert [(r.row, r.data, r.error) for r in rows] == [
                (1, records[0], None),
                (2, records[1], None),
            ], body

    def test_an_object_form_not_closed_is_an_error_after_its_records(self) -> None:
        body = '{"records":[' + json.dumps(_record("a")) + "]"
        rows = list(iter_rows(io.BytesIO(body.encode()), ImportFormat.JSON))
        assert [(r.row, r.data) for r in rows] == [(1, _record("a")), (2, None)]
        assert "is not closed with '}'" in (rows[1].error or "")


class TestCsv:
    def test_an_empty_cell_is_unknown_and_a_filled_one_kept_as_text(self) -> None:
        body = "post_id,likes,text\r\na,,caf\u00e9\r\nb,0,\r\n"
        rows = list(iter_rows(io.BytesIO(body.encode()), ImportFormat.CSV))
        assert [(r.row, r.data) for r in rows] == [
            (1, {"post_id": "a", "likes": None, "text": "caf\u00e9"}),
            (2, {"post_id": "b", "likes": "0", "text": None}),
        ]
