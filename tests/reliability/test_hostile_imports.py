"""Hostile bodies through POST /posts/import: every row is either stored whole or reported with
its row, field and reason, and the good rows around a bad one are never lost or half-written."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import resource
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_core.analytics.cooccurrence import MAX_TAGS_FOR_PAIRS
from tests.api.data import NOW
from tests.helpers import AUTH, NDJSON, ndjson, query, recompute_in

logger = logging.getLogger(__name__)
BIG_IMPORT_MB = int(os.environ.get("HASHTAG_BIG_IMPORT_MB", "100"))
#: Peak RSS growth allowed while the big body is imported.
RSS_GROWTH_LIMIT_MB = 300
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

BASE = {
    "platform": "x",
    "account": "hostile_test",
    "posted_at": "2025-05-01T10:00:00+00:00",
    "likes": 1,
    "account_timezone": "Europe/Copenhagen",
}


def rec(post_id: str, **fields: Any) -> dict[str, Any]:
    return {**BASE, "post_id": post_id, "text": "Rides all day #legoland", **fields}


async def post_import(client: httpx.AsyncClient, body: bytes, content_type: str) -> Any:
    response = await client.post(
        "/posts/import", content=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == 202, response.text
    return response.json()


async def stored_ids(session: Any) -> set[str]:
    rows = await query(session, "SELECT platform_post_id FROM post")
    return {r[0] for r in rows}


def errors_by_row(result: Any) -> dict[int, list[tuple[str | None, str]]]:
    out: dict[int, list[tuple[str | None, str]]] = {}
    for error in result["errors"]:
        out.setdefault(error["row"], []).append((error["field"], error["message"]))
    return out


# --- 100 MB ---------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """The process's peak resident memory above its level at start, sampled every 20 ms."""

    def __init__(self) -> None:
        self.baseline = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


_FILLER = (
    "A day at the park: rides, bricks, a picnic and a parade for the whole family, "
    "and the sun came out just in time for the water slides. "
) * 2


def _big_record(row: int, start: datetime) -> dict[str, Any]:
    bad = row % 997 == 0  # a negative count: rejected, its neighbours stored
    return {
        "platform": ("x", "instagram", "facebook", "linkedin")[row % 4],
        "post_id": f"big{row}",
        "account": f"park{row % 40}",
        "text": f"{_FILLER} #legoland #ride{row % 500} #day{row % 7} {row}",
        "posted_at": (start + timedelta(minutes=row)).isoformat(),
        "likes": -5 if bad else row % 1000,
        "comments": row % 50,
        "shares": row % 20,
        "reach": 1000 + row % 5000,
        "followers": 10_000 + row % 40,
        "account_timezone": "Europe/London",
    }


def write_big_ndjson(path: Path, size_bytes: int) -> tuple[int, set[int]]:
    """An NDJSON file of about `size_bytes`; (rows, numbers of the invalid rows)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    row, written, bad = 0, 0, set()
    with path.open("wb") as out:
        while written < size_bytes:
            row += 1
            record = _big_record(row, start)
            if record["likes"] < 0:
                bad.add(row)
            line = (json.dumps(record) + "\n").encode()
            out.write(line)
            written += len(line)
    return row, bad


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            yield chunk


async def test_a_100_mb_body_streams_in_bounded_memory(
    committed_client: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "big.ndjson"
    rows, bad = write_big_ndjson(path, BIG_IMPORT_MB * 2**20)
    size_mb = path.stat().st_size / 2**20
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        with RssSampler() as memory:
            response = await committed_client.post(
                "/posts/import", content=_chunks(path), headers=NDJSON
            )
    finally:
        path.unlink()  # pytest keeps recent temporary directories; not 100 MB of them
    elapsed = time.perf_counter() - started
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    logger.warning(
        "big import: %.1f MB, %d rows in %.1f s (%.0f rows/s, %.1f MB/s); peak RSS growth "
        "%.0f MB (ru_maxrss %d -> %d MB)",
        size_mb,
        rows,
        elapsed,
        rows / elapsed,
        size_mb / elapsed,
        memory.growth_mb,
        maxrss_before // 1024,
        maxrss_after // 1024,
    )
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["received"] == rows
    assert result["rejected"] == len(bad)
    assert {e["row"] for e in result["errors"]} == bad
    assert {e["field"] for e in result["errors"]} == {"likes"}
    assert result["stored"] == rows - len(bad)
    assert memory.growth_mb < RSS_GROWTH_LIMIT_MB
    async with engine.connect() as conn:
        posts = (await conn.execute(text("SELECT count(*) FROM post"))).scalar_one()
        snapshots = (
            await conn.execute(text("SELECT count(*) FROM post_metric_snapshot"))
        ).scalar_one()
        untagged = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM post p WHERE NOT EXISTS "
                    "(SELECT 1 FROM post_hashtag h WHERE h.post_id = p.id)"
                )
            )
        ).scalar_one()
        stray = (
            await conn.execute(
                text("SELECT count(*) FROM post WHERE platform_post_id = ANY(:ids)"),
                {"ids": [f"big{r}" for r in bad]},
            )
        ).scalar_one()
    assert posts == snapshots == rows - len(bad)
    assert untagged == 0  # every stored post has its hashtags: nothing half-written
    assert stray == 0


# --- oversized, undecodable and NUL-bearing rows --------------------------------------------


async def test_megabyte_texts_are_rejected_with_the_limit_and_neighbours_stored(
    client: httpx.AsyncClient, session: Any
) -> None:
    rows = [
        rec("m1"),
        rec("huge", text="x" * 1_000_000),
        rec("m2"),
        rec("at_limit", text="#big " + "y" * 99_995),
    ]
    result = await post_import(client, ndjson(rows), "application/x-ndjson")
    assert errors_by_row(result) == {2: [("text", "String should have at most 100000 characters")]}
    assert await stored_ids(session) == {"m1", "m2", "at_limit"}


async def test_invalid_utf8_is_a_row_error_in_ndjson_and_csv(
    client: httpx.AsyncClient, session: Any
) -> None:
    bad_line = b'{"platform":"x","post_id":"u1","account":"h","text":"caf\xe9","posted_at":"2025-05-01T10:00:00Z"}\n'
    body = ndjson([rec("n1")]) + bad_line + ndjson([rec("n2")])
    result = await post_import(client, body, "application/x-ndjson")
    assert errors_by_row(result) == {2: [(None, "invalid UTF-8 at byte 56 of the line")]}

    header = b"platform,post_id,account,text,posted_at,likes\n"
    body = (
        header
        + b"x,c1,h,ok #legoland,2025-05-01T10:00:00Z,1\n"
        + b"x,c2,h,caf\xe9 #legoland,2025-05-01T10:00:00Z,1\n"
        + b"x,c3,h,ok,2025-05-01T10:00:00Z,1\n"
    )
    result = await post_import(client, body, "text/csv")
    assert errors_by_row(result) == {2: [("text", "invalid UTF-8 in this field")]}
    assert await stored_ids(session) == {"n1", "n2", "c1", "c3"}


async def test_a_binary_file_sent_as_csv_is_a_clear_error_not_a_500(
    client: httpx.AsyncClient, session: Any
) -> None:
    # A PNG's first bytes, as schemathesis sent them: the "header" is not UTF-8 text.
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x08\x00IEND\xaeB`\x82"
    response = await client.post(
        "/posts/import?format=csv",
        content=png,
        headers={**AUTH, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code < 500, response.text
    assert "the CSV header is not UTF-8 text (column 1, byte 0)" in response.text
    assert await stored_ids(session) == set()


async def test_invalid_utf8_in_a_json_array_stops_there_and_keeps_what_was_read(
    client: httpx.AsyncClient, session: Any
) -> None:
    # The array is decoded 64 KiB at a time: the records wholly before the chunk holding the
    # bad byte are stored, the rest is reported as not read.
    records = [rec(f"j{i}", text=f"Post {i} #legoland " + "z" * 500) for i in range(300)]
    body = json.dumps(records).encode().replace(b"Post 250 ", b"Caf\xe9 250 ")
    result = await post_import(client, body, "application/json")
    [error] = result["errors"]
    assert error["message"].startswith("invalid UTF-8")
    assert error["message"].endswith("the rest was not read")
    read = error["row"] - 1
    assert 0 < read < 250
    assert result["stored"] == read
    assert await stored_ids(session) == {f"j{i}" for i in range(read)}


@pytest.mark.parametrize("field", ["text", "post_id", "account", "url"])
async def test_nul_characters_are_refused_per_field(
    client: httpx.AsyncClient, session: Any, field: str
) -> None:
    rows = [rec("z1"), {**rec("nul"), field: "a\u0000b"}, rec("z2")]
    result = await post_import(client, ndjson(rows), "application/x-ndjson")
    assert errors_by_row(result) == {2: [(field, "must not contain NUL characters")]}
    assert await stored_ids(session) == {"z1", "z2"}


async def test_raw_nul_bytes_and_lone_surrogates(client: httpx.AsyncClient, session: Any) -> None:
    raw_nul = b'{"platform":"x","post_id":"r1","account":"h","text":"a\x00b","posted_at":"2025-05-01T10:00:00Z"}\n'
    surrogate = ndjson([rec("s1", text="half \ud83d of an emoji")])  # json.dumps escapes it
    body = ndjson([rec("k1")]) + raw_nul + surrogate + ndjson([rec("k2")])
    result = await post_import(client, body, "application/x-ndjson")
    errors = errors_by_row(result)
    assert set(errors) == {2, 3}
    assert errors[2][0][1].startswith("invalid JSON: Invalid control character")
    assert errors[3][0][0] == "text"
    csv_body = (
        b"platform,post_id,account,text,posted_at,likes,url\n"
        + b"x,c1,h,a\x00b,2025-05-01T10:00:00Z,1,\n"
        + b"x,c2,h,fine #legoland,2025-05-01T10:00:00Z,1,http://a/\x00\n"
        + b"x,c3,h,fine #legoland,2025-05-01T10:00:00Z,1,\n"
    )
    result = await post_import(client, csv_body, "text/csv")
    assert errors_by_row(result) == {
        1: [("text", "must not contain NUL characters")],
        2: [("url", "must not contain NUL characters")],
    }
    assert await stored_ids(session) == {"k1", "k2", "c3"}


# --- CSV injection ----------------------------------------------------------------------------


async def test_formula_text_is_stored_as_text_and_never_reaches_the_report_unneutralised(
    client: httpx.AsyncClient, session: Any
) -> None:
    hostile = [
        "=cmd|' /C calc'!A0 #legoland",
        "+SUM(1,2) #legoland #family",
        "-2+3 #family",
        "@SUM(A1) #legoland",
        '=HYPERLINK("http://evil","x") #legoland',
    ]
    rows = [rec(f"f{i}", text=t) for i, t in enumerate(hostile)]
    await post_import(client, ndjson(rows), "application/x-ndjson")
    for i, original in enumerate(hostile):
        post = (await client.get(f"/posts/x/f{i}")).json()
        assert post["text"] == original
    await recompute_in(session, NOW)
    conn = await session.connection()
    # A display spelling cannot start with a formula character through the extractor; force
    # one to prove the writer neutralises every text cell, not just the ones we expect.
    await conn.exec_driver_sql("UPDATE hashtag SET display = '-1+1' WHERE key = 'family'")
    response = await client.get("/reports/hashtags", params={"format": "csv", "min_posts": 1})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "'-1+1" in cells
    for cell in cells:
        assert not cell.startswith(FORMULA_START) or _is_number(cell), cell
    for original in hostile:
        assert original not in response.text  # post texts are not part of the report


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- timestamps and counts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("posted_at", "message"),
    [
        ("9999-12-31T23:59:59+00:00", "is in the future"),
        ("2025-05-01T10:00:00", "must carry a UTC offset, e.g. 2024-05-01T12:00:00+02:00"),
        ("2025-05-01 10:00", "must carry a UTC offset, e.g. 2024-05-01T12:00:00+02:00"),
        ("1999-01-01T00:00:00Z", "is before 2006, earlier than any supported platform"),
        ("10000-01-01T00:00:00Z", "Input should be a valid datetime or date"),
        ("2025-02-30T10:00:00Z", "Input should be a valid datetime"),
        ("yesterday", "Input should be a valid datetime or date"),
    ],
)
async def test_bad_timestamps_are_clear_row_errors(
    client: httpx.AsyncClient, session: Any, posted_at: str, message: str
) -> None:
    rows = [rec("t1"), rec("bad", posted_at=posted_at), rec("t2")]
    result = await post_import(client, ndjson(rows), "application/x-ndjson")
    [(field, said)] = errors_by_row(result)[2]
    assert field == "posted_at"
    assert said.startswith(message), said
    assert await stored_ids(session) == {"t1", "t2"}


@pytest.mark.parametrize(
    ("likes", "message"),
    [
        (-1, "Input should be greater than or equal to 0"),
        (2.5, "Input should be a valid integer, got a number with a fractional part"),
        ("12abc", "Input should be a valid integer, unable to parse string as an integer"),
        (10**30, "Input should be less than or equal to 9007199254740992"),
        (True, "must be a whole number, not true/false"),
        ([1], "Input should be a valid integer"),
    ],
)
async def test_bad_counts_name_the_field(
    client: httpx.AsyncClient, session: Any, likes: Any, message: str
) -> None:
    rows = [rec("c1"), rec("bad", likes=likes), rec("c2", likes="7")]
    result = await post_import(client, ndjson(rows), "application/x-ndjson")
    assert errors_by_row(result) == {2: [("likes", message)]}
    assert await stored_ids(session) == {"c1", "c2"}


async def test_counts_in_csv_must_be_whole_numbers(client: httpx.AsyncClient, session: Any) -> None:
    body = (
        b"platform,post_id,account,text,posted_at,likes,comments\n"
        + b"x,c1,h,#a,2025-05-01T10:00:00Z,-3,\n"
        + b"x,c2,h,#a,2025-05-01T10:00:00Z,1.5,\n"
        + b"x,c3,h,#a,2025-05-01T10:00:00Z,12,\n"
    )
    result = await post_import(client, body, "text/csv")
    assert errors_by_row(result) == {
        1: [("likes", "Input should be greater than or equal to 0")],
        2: [("likes", "Input should be a valid integer, unable to parse string as an integer")],
    }
    assert await stored_ids(session) == {"c3"}


# --- many hashtags, confusables, duplicates ---------------------------------------------------


async def test_ten_thousand_hashtags_in_one_post_are_stored_and_read_back(
    client: httpx.AsyncClient, session: Any
) -> None:
    # How long this takes is a benchmark's business (bench/), not a functional test's.
    wall = " ".join(f"#wall{i}" for i in range(10_000))
    result = await post_import(
        client,
        ndjson([rec("wall1", text=wall), rec("wall2", text=wall), rec("plain")]),
        "application/x-ndjson",
    )
    assert result["stored"] == 3
    [[links]] = await query(
        session,
        "SELECT count(*) FROM post_hashtag h JOIN post p ON p.id = h.post_id "
        "WHERE p.platform_post_id = 'wall1'",
    )
    assert links == 10_000
    await recompute_in(session, NOW)
    # Pairs grow with the square of a post's tags: posts over the cap give no pair evidence.
    [[pairs]] = await query(session, "SELECT count(*) FROM hashtag_pair")
    assert pairs == 0
    page = await client.get("/hashtags/wall9999", params={"account": "hostile_test"})
    performance = await client.get(
        "/hashtag-performance", params={"window": "all", "limit": 1000, "min_posts": 1}
    )
    assert page.status_code == 200
    assert {p["post_id"] for p in page.json()["items"]} == {"wall1", "wall2"}
    assert performance.status_code == 200, performance.text
    assert len(performance.json()["items"]) == 1000


async def test_pairs_still_come_from_posts_under_the_cap(
    client: httpx.AsyncClient, session: Any
) -> None:
    few = " ".join(f"#p{i}" for i in range(MAX_TAGS_FOR_PAIRS))
    rows = [
        rec(f"pp{n}", text=few, posted_at=f"2025-05-{n + 1:02d}T10:00:00+00:00", likes=n)
        for n in range(6)
    ]
    await post_import(client, ndjson(rows), "application/x-ndjson")
    await recompute_in(session, NOW)
    [[pairs]] = await query(
        session, "SELECT count(DISTINCT (hashtag_a, hashtag_b)) FROM hashtag_pair"
    )
    assert pairs == MAX_TAGS_FOR_PAIRS * (MAX_TAGS_FOR_PAIRS - 1) // 2


async def test_confusable_hashtags_keep_their_own_keys_and_full_width_signs_merge(
    client: httpx.AsyncClient, session: Any
) -> None:
    rows = [
        rec("latin", text="Fun at #legoland"),
        rec("cyrillic", text="Fun at #legol\u0430nd"),  # Cyrillic small a
        rec("fullwidth_sign", text="Fun at \uff03legoland"),  # full-width number sign
        rec("fullwidth_letters", text="Fun at #\uff2c\uff25\uff27\uff2f\uff2c\uff21\uff2e\uff24"),
    ]
    await post_import(client, ndjson(rows), "application/x-ndjson")
    keys = await query(
        session,
        "SELECT p.platform_post_id, h.key FROM post_hashtag ph "
        "JOIN post p ON p.id = ph.post_id JOIN hashtag h ON h.id = ph.hashtag_id",
    )
    assert dict(keys) == {
        "latin": "legoland",
        "cyrillic": "legol\u0430nd",
        "fullwidth_sign": "legoland",
        "fullwidth_letters": "legoland",
    }
    latin = await client.get("/hashtags/legoland", params={"account": "hostile_test"})
    cyrillic = await client.get("/hashtags/legol\u0430nd", params={"account": "hostile_test"})
    assert {p["post_id"] for p in latin.json()["items"]} == {
        "latin",
        "fullwidth_sign",
        "fullwidth_letters",
    }
    assert {p["post_id"] for p in cyrillic.json()["items"]} == {"cyrillic"}


async def test_duplicate_post_ids_in_one_body_store_one_post_with_the_last_values(
    client: httpx.AsyncClient, session: Any
) -> None:
    # The test client imports in batches of 3 rows: duplicates inside a batch and across two.
    rows = [
        rec("dup", likes=1),
        rec("dup", likes=2),
        rec("other"),
        rec("dup", likes=3, text="Final #legoland #family"),
    ]
    result = await post_import(client, ndjson(rows), "application/x-ndjson")
    assert (result["received"], result["inserted"], result["updated"]) == (4, 2, 1)
    assert result["duplicates_in_body"] == 1
    assert result["rejected"] == 0
    post = (await client.get("/posts/x/dup")).json()
    assert (post["likes"], post["text"]) == (3, "Final #legoland #family")
    assert sorted(post["hashtags"]) == ["family", "legoland"]
    history = (await client.get("/posts/x/dup/history")).json()
    assert [s["likes"] for s in history["snapshots"]] == [2, 3]


async def test_a_mixed_body_stores_good_rows_whole_and_nothing_of_bad_ones(
    client: httpx.AsyncClient, session: Any
) -> None:
    bad_rows = [
        rec("b1", likes=-1, account="ghost_a"),
        rec("b2", text="a\u0000b", account="ghost_b"),
        rec("b3", posted_at="2025-05-01T10:00:00", account="ghost_c"),
        rec("b4", account_timezone="Mars/Olympus", account="ghost_d"),
        {"platform": "myspace", "post_id": "b5", "account": "ghost_e", "text": "#x"},
    ]
    good_rows = [rec(f"g{i}", text=f"Good {i} #legoland #good{i}") for i in range(7)]
    body = [row for pair in zip(good_rows, [*bad_rows, None, None], strict=True) for row in pair]
    result = await post_import(client, ndjson([r for r in body if r]), "application/x-ndjson")
    assert result["stored"] == len(good_rows)
    assert result["rejected"] == len(bad_rows)
    assert await stored_ids(session) == {r["post_id"] for r in good_rows}
    handles = {r[0] for r in await query(session, "SELECT handle FROM account")}
    assert not {h for h in handles if h.startswith("ghost")}
    for row in good_rows:
        post = (await client.get(f"/posts/x/{row['post_id']}")).json()
        assert sorted(post["hashtags"]) == sorted(["legoland", row["text"].split("#")[-1]])
        history = (await client.get(f"/posts/x/{row['post_id']}/history")).json()
        assert len(history["snapshots"]) == 1
