"""The import service against real Postgres: validation, upsert, snapshots, hashtags."""

from __future__ import annotations

import io
import json
import logging

from arq.connections import ArqRedis
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.queue import ArqJobQueue
from hashtag_core.config import Settings
from hashtag_core.db import create_engine
from hashtag_core.ingest.parsers import ImportFormat, iter_rows
from hashtag_core.posts.service import enqueue_recompute, import_rows

NDJSON = b"""{"platform":"x","post_id":"1","account":"LEGOLANDWindsor","text":"Fun at #LEGOLAND #legoland today","posted_at":"2025-06-07T10:15:00+01:00","likes":10,"comments":2,"shares":3,"impressions":900,"followers":1000,"account_timezone":"Europe/London"}
{"platform":"x","post_id":"2","account":"LEGOLANDWindsor","text":"#Legoland #Family","posted_at":"2025-06-08T10:15:00+01:00","likes":-1}
{"platform":"x","post_id":"3","account":"LEGOLANDWindsor","text":"no tags","posted_at":"2025-06-08T10:15:00"}
{"platform":"instagram","post_id":"a","account":"legolandwindsor","text":"\xef\xbc\x83LEGOLAND #Family","posted_at":"2025-06-09T18:00:00+01:00","likes":50,"saves":4,"reach":800,"wat":1}
"""


async def _q(session: AsyncSession, sql: str):
    conn = await session.connection()
    return await conn.execute(text(sql))


async def _import(
    session: AsyncSession,
    redis: ArqRedis,
    body: bytes,
    fmt: ImportFormat,
    batch_rows: int = 2,
    max_errors: int = 100,
):
    return await import_rows(
        session,
        iter_rows(io.BytesIO(body), fmt),
        queue=ArqJobQueue(redis),
        batch_rows=batch_rows,
        max_errors=max_errors,
    )


async def test_import_stores_valid_rows_and_reports_bad_ones(session, arq_redis):
    result = await _import(session, arq_redis, NDJSON, ImportFormat.NDJSON)
    assert (result.received, result.inserted, result.rejected) == (4, 2, 2)
    assert {(e.row, e.field) for e in result.errors} == {(2, "likes"), (3, "posted_at")}
    assert result.ignored_fields == ["wat"]
    assert result.job_id == f"recompute:{result.data_version}"
    assert result.job_queued
    rows = (
        await _q(
            session,
            (
                "SELECT p.platform_post_id, p.engagement, p.saves, a.timezone FROM post p "
                "JOIN account a ON a.id = p.account_id ORDER BY 1"
            ),
        )
    ).all()
    assert rows == [("1", 15, None, "Europe/London"), ("a", 54, 4, "UTC")]
    tags = (
        await _q(
            session,
            (
                "SELECT p.platform_post_id, h.key, ph.spelling FROM post_hashtag ph "
                "JOIN post p ON p.id = ph.post_id JOIN hashtag h ON h.id = ph.hashtag_id ORDER BY 1, 2"
            ),
        )
    ).all()
    # '#LEGOLAND #legoland' in one post counts once, with the first spelling.
    assert tags == [
        ("1", "legoland", "LEGOLAND"),
        ("a", "family", "Family"),
        ("a", "legoland", "LEGOLAND"),
    ]


async def test_reimport_updates_and_appends_snapshot_without_duplicates(session, arq_redis):
    await _import(session, arq_redis, NDJSON, ImportFormat.NDJSON)
    again = NDJSON.replace(b'"likes":10', b'"likes":25').replace(b"#legoland today", b"#Summer")
    result = await _import(session, arq_redis, again, ImportFormat.NDJSON)
    assert (result.inserted, result.updated) == (0, 2)
    posts = (await _q(session, ("SELECT count(*) FROM post"))).scalar_one()
    likes = (
        (
            await _q(
                session,
                (
                    "SELECT s.likes FROM post_metric_snapshot s JOIN post p ON p.id = s.post_id "
                    "WHERE p.platform_post_id = '1' ORDER BY s.id"
                ),
            )
        )
        .scalars()
        .all()
    )
    tags = (
        (
            await _q(
                session,
                (
                    "SELECT h.key FROM post_hashtag ph JOIN post p ON p.id = ph.post_id "
                    "JOIN hashtag h ON h.id = ph.hashtag_id WHERE p.platform_post_id = '1' ORDER BY 1"
                ),
            )
        )
        .scalars()
        .all()
    )
    assert posts == 2
    assert likes == [10, 25]
    assert tags == ["legoland", "summer"]


async def test_csv_import_with_empty_cells_as_unknown(session, arq_redis):
    body = (
        b"platform,post_id,account,text,posted_at,likes,comments,shares,saves,impressions,reach\n"
        b"facebook,p1,LEGOLANDFlorida,Hello #Florida,2025-01-02T09:00:00-05:00,5,,1,,,\n"
        b"facebook,p1,LEGOLANDFlorida,Hello again #Florida,2025-01-02T09:00:00-05:00,6,,1,,,\n"
    )
    result = await _import(session, arq_redis, body, ImportFormat.CSV)
    assert (result.inserted, result.duplicates_in_body, result.rejected) == (1, 1, 0)
    row = (await _q(session, ("SELECT likes, comments, reach, text FROM post"))).one()
    assert row == (6, None, None, "Hello again #Florida")


async def test_sentiment_is_scored_at_ingest(session, arq_redis):
    body = (
        b'{"platform":"x","post_id":"s1","account":"a","text":"What a wonderful, happy day #fun",'
        b'"posted_at":"2025-06-07T10:15:00+01:00"}\n'
        b'{"platform":"x","post_id":"s2","account":"a","text":'
        b'"Terrible queues today and the staff were awful #fail",'
        b'"posted_at":"2025-06-07T11:15:00+01:00"}\n'
    )
    await _import(session, arq_redis, body, ImportFormat.NDJSON)
    rows = (await _q(session, "SELECT platform_post_id, sentiment FROM post ORDER BY 1")).all()
    assert rows[0][1] > 0.5
    assert rows[1][1] < -0.5


def _post_line(post_id: str, text: str) -> bytes:
    record = {"platform": "x", "post_id": post_id, "account": "a", "text": text}
    return json.dumps({**record, "posted_at": "2025-06-07T10:15:00+00:00"}).encode() + b"\n"


async def test_language_is_stored_and_only_readable_languages_are_scored(session, arq_redis):
    body = b"".join(
        [
            _post_line("en", "What a wonderful day at the park with the whole family #fun"),
            _post_line("da", "Tusind tak til alle jer der besøgte os, det var fantastisk #tak"),
            _post_line("ja", "今日はパークで最高の一日でした！ありがとうございました #レゴランド"),
            _post_line("de", "Vielen Dank an alle, die uns diesen Sommer besucht haben!"),
            _post_line("short", "Wow! #legoland https://example.com/x"),
        ]
    )
    await _import(session, arq_redis, body, ImportFormat.NDJSON)
    rows = (
        await _q(session, "SELECT platform_post_id, language, sentiment FROM post ORDER BY 1")
    ).all()
    got = {post: (language, sentiment) for post, language, sentiment in rows}
    assert {post: language for post, (language, _) in got.items()} == {
        "da": "da",
        "de": "de",
        "en": "en",
        "ja": "ja",
        "short": "unknown",
    }
    assert got["en"][1] > 0.5
    assert got["da"][1] > 0.5
    # Not scored is NULL, never the 0 a lexicon that cannot read the text would give.
    assert got["ja"][1] is None
    assert got["de"][1] is None
    assert got["short"][1] is None


async def test_reimport_in_another_language_replaces_the_score_with_null(session, arq_redis):
    await _import(
        session, arq_redis, _post_line("p", "What a lovely sunny day"), ImportFormat.NDJSON
    )
    later = _post_line("p", "Was für ein herrlicher sonniger Tag im Park")
    await _import(session, arq_redis, later, ImportFormat.NDJSON)
    row = (await _q(session, "SELECT language, sentiment FROM post")).one()
    assert row == ("de", None)


async def test_nothing_valid_means_no_job(session, arq_redis):
    result = await _import(session, arq_redis, b'[{"platform": "tiktok"}]', ImportFormat.JSON)
    assert result.stored == 0
    assert result.job_id is None
    fields = {e.field for e in result.errors}
    assert {"platform", "post_id", "account", "text", "posted_at"} <= fields


DUPLICATES = b"""{"platform":"x","post_id":"p1","account":"acct","text":"#One first","posted_at":"2025-06-07T10:00:00Z","account_timezone":"Europe/London"}
{"platform":"x","post_id":"p2","account":"acct","text":"#two","posted_at":"2025-06-07T11:00:00Z","account_timezone":"Europe/Paris"}
{"platform":"x","post_id":"p1","account":"acct","text":"#Two later #one","posted_at":"2025-06-07T10:00:00Z","likes":3}
{"platform":"x","post_id":"p3","account":"acct","text":"#Two","posted_at":"2025-06-07T12:00:00Z"}
"""


async def test_a_batch_keeps_the_last_row_of_a_post_and_the_last_zone_given(session, arq_redis):
    result = await _import(session, arq_redis, DUPLICATES, ImportFormat.NDJSON, batch_rows=10)
    assert (result.inserted, result.duplicates_in_body) == (3, 1)
    posts = (await _q(session, "SELECT platform_post_id, text, likes FROM post ORDER BY 1")).all()
    assert posts == [("p1", "#Two later #one", 3), ("p2", "#two", None), ("p3", "#Two", None)]
    zone = (await _q(session, "SELECT timezone FROM account")).scalar_one()
    assert zone == "Europe/Paris"  # the last row naming one; the superseded row's is dropped
    # Hashtags are spelled as first seen, the superseded row included.
    tags = (await _q(session, "SELECT key, display FROM hashtag ORDER BY 1")).all()
    assert tags == [("one", "One"), ("two", "two")]
    links = (
        await _q(
            session,
            "SELECT p.platform_post_id, ph.spelling FROM post_hashtag ph "
            "JOIN post p ON p.id = ph.post_id ORDER BY 1, 2",
        )
    ).all()
    assert links == [("p1", "Two"), ("p1", "one"), ("p2", "two"), ("p3", "Two")]


async def test_batches_prepared_in_a_worker_process_store_the_same(session, arq_redis):
    # Batches after the first are prepared in a forked worker; one row per batch here.
    one = await _import(session, arq_redis, NDJSON, ImportFormat.NDJSON, batch_rows=1)
    assert (one.received, one.inserted, one.rejected, one.ignored_fields) == (4, 2, 2, ["wat"])
    assert {(e.row, e.field) for e in one.errors} == {(2, "likes"), (3, "posted_at")}
    again = await _import(session, arq_redis, NDJSON, ImportFormat.NDJSON, batch_rows=1)
    assert (again.inserted, again.updated) == (0, 2)
    rows = await _q(session, "SELECT platform, language, sentiment IS NULL FROM post ORDER BY 1")
    # "Fun at today" is English (scored); "#LEGOLAND #Family" has no words left (not scored).
    assert rows.all() == [("instagram", "unknown", True), ("x", "en", False)]


def _posts(first: int, count: int, likes: int | None = None) -> bytes:
    """NDJSON posts s{first}..; each with `likes` (its number when None)."""
    return "\n".join(
        json.dumps(
            {
                "platform": "x",
                "post_id": f"s{i}",
                "account": "LEGOLANDBillund",
                "text": f"Day {i} #Tag{i % 7}",
                "posted_at": "2025-06-07T10:15:00+02:00",
                "likes": i if likes is None else likes,
            }
        )
        for i in range(first, first + count)
    ).encode()


async def test_a_large_import_refreshes_the_planner_statistics(session, arq_redis):
    async def reltuples() -> float:
        sql = "SELECT reltuples FROM pg_class WHERE oid = 'post'::regclass"
        return float((await _q(session, sql)).scalar_one())

    # More new posts than autovacuum's threshold (50 + 10% of the rows last analyzed).
    big = max(120, int(0.1 * max(await reltuples(), 0)) + 100)
    result = await _import(session, arq_redis, _posts(0, big), ImportFormat.NDJSON, 50)
    assert result.inserted == big
    total = (await _q(session, "SELECT count(*) FROM post")).scalar_one()
    assert await reltuples() == total  # ANALYZE counted every row of the (small) table
    links = "SELECT reltuples FROM pg_class WHERE oid = 'post_hashtag'::regclass"
    assert float((await _q(session, links)).scalar_one()) >= big

    # A few more posts stay under the threshold: no ANALYZE on every small import.
    await _import(session, arq_redis, _posts(big, 5), ImportFormat.NDJSON, 50)
    assert await reltuples() == total


async def test_the_service_connections_run_without_jit(database_url: str):
    engine = create_engine(Settings(database_url=database_url), application_name="test")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW jit"))).scalar_one() == "off"
    finally:
        await engine.dispose()


async def test_a_recompute_left_to_the_catch_up_is_logged_and_a_queued_one_is_not(
    arq_redis: ArqRedis, caplog
) -> None:
    # The operator's one sign that figures wait for the worker's catch-up (Redis was down
    # when the import committed) is this warning; a recompute that was queued says nothing.
    with caplog.at_level(logging.WARNING, logger="hashtag_core.posts.service"):
        job_id, queued = await enqueue_recompute(ArqJobQueue(None), 7)
        assert not queued
        assert f"recompute {job_id} left to the worker's catch-up" in caplog.text
        caplog.clear()
        job_id, queued = await enqueue_recompute(ArqJobQueue(arq_redis), 8)
        assert queued
        assert "catch-up" not in caplog.text


async def test_an_import_that_updates_as_many_posts_as_it_adds_moves_the_data_version(
    session, arq_redis
):
    first = await _import(session, arq_redis, _posts(0, 2, likes=1), ImportFormat.NDJSON)
    # Two posts re-read with new counts and two new ones: 2 updated, 2 inserted.
    second = await _import(session, arq_redis, _posts(0, 4, likes=9), ImportFormat.NDJSON)
    assert (second.inserted, second.updated) == (2, 2)
    assert first.data_version is not None
    assert second.data_version is not None
    assert second.data_version > first.data_version
    assert second.job_id == f"recompute:{second.data_version}"


async def test_the_reported_errors_stop_at_max_errors_across_batches(session, arq_redis):
    bad = _posts(0, 6, likes=-1)  # six rows, each refused for its likes
    result = await _import(session, arq_redis, bad, ImportFormat.NDJSON, 2, max_errors=2)
    assert result.rejected == 6
    assert [(e.row, e.field) for e in result.errors] == [(1, "likes"), (2, "likes")]
    assert result.errors_truncated
    # Nothing stored: no new data version, so no recompute asked for or queued.
    assert (result.data_version, result.job_id, result.job_queued) == (None, None, False)
