"""Migrations: every one upgrades and downgrades cleanly, a database filled at the previous
head keeps its data through the upgrade and stays usable, and the schema's constraints hold."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.aggregates.service import recompute
from hashtag_core.config import to_asyncpg_url
from hashtag_core.db import create_sessionmaker
from hashtag_core.embedded import EmbeddedServices
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.migrate import alembic_config, downgrade, upgrade
from hashtag_core.posts.service import import_rows

NOW = datetime(2025, 6, 10, tzinfo=UTC)
SCRIPTS = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused/unused"))
HEAD = SCRIPTS.get_current_head() or "base"
REVISIONS = [r.revision for r in reversed(list(SCRIPTS.walk_revisions("base", "heads")))]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(services: EmbeddedServices, sql: str) -> None:
    assert services.database_url
    conn = await asyncpg.connect(_plain(services.database_url), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_database(services: EmbeddedServices) -> Iterator[str]:
    """An empty database (no migration run), dropped afterwards."""
    assert services.database_url
    name = f"hashtag_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(services, f'CREATE DATABASE "{name}"'))
    url = make_url(to_asyncpg_url(services.database_url)).set(database=name)
    yield url.render_as_string(hide_password=False)
    asyncio.run(_admin(services, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_SCHEMA_QUERIES = {
    "tables": "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
    "FROM information_schema.columns WHERE table_schema = 'public'",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "functions": "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
}


def schema_of(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """Everything the migrations create, as comparable sets."""

    async def read() -> dict[str, set[tuple[Any, ...]]]:
        conn = await asyncpg.connect(_plain(url), timeout=10)
        try:
            return {
                name: {tuple(row) for row in await conn.fetch(sql)}
                for name, sql in _SCHEMA_QUERIES.items()
            }
        finally:
            await conn.close()

    return asyncio.run(read())


def test_every_migration_upgrades_and_downgrades_cleanly(fresh_database: str) -> None:
    empty = schema_of(fresh_database)
    upgrade(fresh_database, "head")
    at_head = schema_of(fresh_database)
    downgrade(fresh_database, "base")
    at_base = schema_of(fresh_database)
    # Only alembic's own bookkeeping table is left: no table, index, function or constraint.
    assert at_base["tables"] - empty["tables"] == {("alembic_version",)}
    assert at_base["functions"] == empty["functions"]
    assert {c[0] for c in at_base["constraints"]} <= {"alembic_version"}
    upgrade(fresh_database, "head")
    assert schema_of(fresh_database) == at_head
    # And one step at a time: each migration's downgrade undoes exactly its upgrade.
    downgrade(fresh_database, "base")
    before = schema_of(fresh_database)
    for revision in REVISIONS:
        upgrade(fresh_database, revision)
        after = schema_of(fresh_database)
        downgrade(fresh_database, "-1")
        assert schema_of(fresh_database) == before, f"downgrade of {revision} is not exact"
        upgrade(fresh_database, revision)
        before = after
    assert before == at_head


# --- data survives an upgrade -----------------------------------------------------------------

_FILL = [
    "INSERT INTO account (id, platform, external_id, handle, timezone, token_ref, "
    "collect_enabled, status, sync_interval_minutes) OVERRIDING SYSTEM VALUE VALUES "
    "(1, 'x', '111', 'LEGOLAND_Billund', 'Europe/Copenhagen', 'x_token', true, 'active', 30), "
    "(2, 'instagram', '222', 'legolandwindsor', 'Europe/London', NULL, false, 'active', 60), "
    "(3, 'facebook', '333', 'mars_base', 'Mars/Olympus', NULL, false, 'paused', 60)",
    "INSERT INTO post (id, account_id, platform, platform_post_id, text, posted_at, likes, "
    "comments, shares, saves, reach, impressions, followers, sentiment) "
    "OVERRIDING SYSTEM VALUE VALUES "
    "(1, 1, 'x', 'old1', 'Opening day #LEGOLAND', '2025-03-29 09:00+00', 10, 2, 4, NULL, NULL, "
    "1000, 2000, 0.4), "
    "(2, 1, 'x', 'old2', 'Day two #legoland #Ninjago', '2025-03-30 08:00+00', 4, 0, 0, NULL, "
    "NULL, 400, 2000, 0.0), "
    "(3, 2, 'instagram', 'old3', 'Sunset #LEGOLAND', '2025-06-07 17:00+00', 50, 5, 5, 10, 1000, "
    "NULL, 10000, 0.6), "
    "(4, 3, 'facebook', 'old4', 'Red planet #legoland', '2025-06-01 12:00+00', 1, 0, 0, 0, NULL, "
    "NULL, NULL, NULL)",
    "INSERT INTO hashtag (id, key, display) OVERRIDING SYSTEM VALUE VALUES "
    "(1, 'legoland', 'LEGOLAND'), (2, 'ninjago', 'Ninjago')",
    "INSERT INTO post_hashtag (post_id, hashtag_id, spelling) VALUES "
    "(1, 1, 'LEGOLAND'), (2, 1, 'legoland'), (2, 2, 'Ninjago'), (3, 1, 'LEGOLAND'), "
    "(4, 1, 'legoland')",
    "INSERT INTO post_metric_snapshot (post_id, captured_at, likes, comments, shares, source) "
    "VALUES (1, '2025-03-29 12:00+00', 5, 1, 2, 'import'), "
    "(1, '2025-03-30 12:00+00', 10, 2, 4, 'collect')",
    "INSERT INTO follower_snapshot (account_id, captured_at, followers, source) VALUES "
    "(1, '2025-03-29 09:00+00', 2000, 'import'), (2, '2025-06-07 17:00+00', 10000, 'import')",
    "INSERT INTO post_refresh (post_id, age_label, due_at) VALUES (1, '7d', '2025-04-05 09:00+00')",
    "UPDATE data_version SET version = 7",
    "SELECT setval(pg_get_serial_sequence(t, 'id'), 100) "
    "FROM unnest(ARRAY['account', 'post', 'hashtag', 'post_metric_snapshot']) AS t",
]

_SNAPSHOT = {
    "accounts": "SELECT id, platform, external_id, handle, token_ref, collect_enabled, status, "
    "sync_interval_minutes FROM account ORDER BY id",
    "timezones": "SELECT id, timezone FROM account ORDER BY id",
    "posts": "SELECT id, account_id, platform, platform_post_id, text, posted_at, likes, "
    "comments, shares, saves, reach, impressions, followers, engagement, sentiment "
    "FROM post ORDER BY id",
    "hashtags": "SELECT id, key, display FROM hashtag ORDER BY id",
    "links": "SELECT post_id, hashtag_id, spelling FROM post_hashtag ORDER BY 1, 2",
    "snapshots": "SELECT post_id, captured_at, likes, comments, shares, source "
    "FROM post_metric_snapshot ORDER BY id",
    "followers": "SELECT * FROM follower_snapshot ORDER BY 1, 2",
    "refresh": "SELECT post_id, age_label, due_at, done_at FROM post_refresh",
    "version": "SELECT version FROM data_version",
}


async def _run_sql(url: str, statements: list[str]) -> None:
    conn = await asyncpg.connect(_plain(url), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(_plain(url), timeout=10)
    try:
        return {name: [tuple(r) for r in await conn.fetch(sql)] for name, sql in _SNAPSHOT.items()}
    finally:
        await conn.close()


class _NoQueue:
    """The job queue, unreachable: the import still stores (the worker catches up later)."""

    async def enqueue(self, name: str, *args: Any, **options: Any) -> bool:
        return False


async def _import_and_recompute(url: str) -> dict[str, int]:
    engine = create_async_engine(url)
    try:
        rows = [
            RawRow(
                1,
                {
                    "platform": "x",
                    "post_id": "new1",
                    "account": "LEGOLAND_Billund",
                    "text": "After the upgrade #legoland",
                    "posted_at": "2025-06-02T10:00:00+02:00",
                    "likes": 7,
                },
            )
        ]
        async with create_sessionmaker(engine)() as session:
            result = await import_rows(
                session, iter(rows), queue=_NoQueue(), batch_rows=10, max_errors=10
            )
        assert (result.inserted, result.data_version) == (1, 11)
        outcome = await recompute(engine, now=NOW)
        assert outcome.status == "computed"
        async with engine.connect() as conn:
            figures = await conn.execute(
                text(
                    "SELECT h.key, hp.posts FROM hashtag_performance hp "
                    "JOIN hashtag h ON h.id = hp.hashtag_id "
                    "WHERE hp.platform = '*' AND hp.account_id = 0 AND hp.window = 'all'"
                )
            )
            return {row[0]: row[1] for row in figures.all()}
    finally:
        await engine.dispose()


#: The fill holds a zone 0004's CHECK refuses (to test 0004's repair), so it is written at the
#: last revision before it and upgraded through every later one to head.
FILL_REVISION = "0003"


def test_a_database_filled_at_the_previous_head_keeps_its_data(fresh_database: str) -> None:
    upgrade(fresh_database, FILL_REVISION)
    asyncio.run(_run_sql(fresh_database, _FILL))
    before = asyncio.run(_snapshot(fresh_database))
    upgrade(fresh_database, "head")
    after = asyncio.run(_snapshot(fresh_database))
    assert after == {
        **before,
        # 0004: the one zone PostgreSQL cannot convert with (which stopped every recompute)
        # becomes UTC; the others are untouched.
        "timezones": [(1, "Europe/Copenhagen"), (2, "Europe/London"), (3, "UTC")],
        # 0011: each post's language is detected and its sentiment re-scored; these texts
        # have two words at most once their hashtags are gone ("unknown": not scored, NULL,
        # where VADER gave 0.4, 0.0 and 0.6). The data version moves on, so the next
        # recompute is a full one (as after 0009, whose estimate replaces the stored one,
        # and 0014, whose per-row prior variance the stored rows lack).
        "posts": [(*row[:-1], None) for row in before["posts"]],
        "version": [(10,)],
    }
    languages = asyncio.run(_fetch(fresh_database, "SELECT DISTINCT language FROM post"))
    assert languages == [("unknown",)]
    # Usable: an import lands beside the old rows (identities continue past them) and the
    # recompute counts old and new posts together.
    figures = asyncio.run(_import_and_recompute(fresh_database))
    assert figures == {"legoland": 5, "ninjago": 1}


#: Posts stored before 0011, each with the VADER score the old code gave every text.
_MULTILINGUAL = [
    ("en", "What a wonderful, happy day at the park with the whole family #legoland", 0.8),
    ("da", "Tusind tak til alle jer der besøgte os, det var en fantastisk dag #legoland", 0.0),
    ("ja", "今日はパークで最高の一日でした！子どもたちはとても喜んでいました #legoland", 0.0),
    ("de", "Leider fällt die Piratenshow heute wegen des Sturms aus #legoland", 0.0),
]


def test_0011_detects_the_language_of_stored_posts_and_rescores_them(
    fresh_database: str,
) -> None:
    upgrade(fresh_database, "0010_first_comment_hashtags")
    values = ", ".join(
        f"({i + 1}, 1, 'x', 'p{i}', '{text}', '2025-06-01 12:00+00', {score})"
        for i, (_, text, score) in enumerate(_MULTILINGUAL)
    )
    asyncio.run(
        _run_sql(
            fresh_database,
            [
                "INSERT INTO account (id, platform, external_id, handle, timezone) "
                "OVERRIDING SYSTEM VALUE VALUES (1, 'x', '1', 'park', 'UTC')",
                "INSERT INTO post (id, account_id, platform, platform_post_id, text, posted_at, "
                f"sentiment) OVERRIDING SYSTEM VALUE VALUES {values}",
            ],
        )
    )
    before = asyncio.run(_fetch(fresh_database, "SELECT version FROM data_version"))
    upgrade(fresh_database, "0011_post_language")
    rows = asyncio.run(_fetch(fresh_database, "SELECT language, sentiment FROM post ORDER BY id"))
    assert [language for language, _ in rows] == [code for code, _, _ in _MULTILINGUAL]
    (_, english), (_, danish), (_, japanese), (_, german) = rows
    assert english > 0.5  # VADER, as before
    assert danish > 0.5  # AFINN-da ("tak", "fantastisk"), where VADER gave 0
    assert japanese is None  # not scored: NULL, no longer a neutral 0
    assert german is None
    version = asyncio.run(_fetch(fresh_database, "SELECT version FROM data_version"))
    assert version == [(before[0][0] + 1,)]  # bumped: the next recompute is a full one


_API_KEY_ROW = (
    "INSERT INTO api_key (name, prefix, key_hash, scopes, expires_at, revoked_at) VALUES "
    "('etl', 'hk_0123abcd', repeat('a', 64), ARRAY['write'], '2027-01-01 00:00+00', NULL), "
    "('old', 'hk_89abcdef', repeat('b', 64), ARRAY['read', 'admin'], NULL, "
    "'2026-01-01 00:00+00')"
)
_API_KEYS = "SELECT name, prefix, key_hash, scopes, expires_at, revoked_at FROM api_key ORDER BY id"


async def _fetch(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(_plain(url), timeout=10)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def test_api_keys_survive_later_migrations(fresh_database: str) -> None:
    upgrade(fresh_database, "0005_api_keys")
    asyncio.run(_run_sql(fresh_database, [_API_KEY_ROW]))
    before = asyncio.run(_fetch(fresh_database, _API_KEYS))
    assert len(before) == 2
    upgrade(fresh_database, "head")
    assert asyncio.run(_fetch(fresh_database, _API_KEYS)) == before


# --- constraints ------------------------------------------------------------------------------


@pytest.fixture
async def account_and_post(session: AsyncSession) -> AsyncSession:
    await session.exec(  # type: ignore[call-overload]
        text(
            "INSERT INTO account (id, platform, external_id, handle) OVERRIDING SYSTEM VALUE "
            "VALUES (9001, 'x', 'c1', 'constraint_test')"
        )
    )
    await session.exec(  # type: ignore[call-overload]
        text(
            "INSERT INTO post (account_id, platform, platform_post_id, text, posted_at) "
            "VALUES (9001, 'x', 'p1', 'hello', now())"
        )
    )
    return session


_VIOLATIONS = {
    "negative likes": (
        "INSERT INTO post (account_id, platform, platform_post_id, text, posted_at, likes) "
        "VALUES (9001, 'x', 'neg', 't', now(), -1)",
        'violates check constraint "post_likes_check"',
    ),
    "negative snapshot reach": (
        "INSERT INTO post_metric_snapshot (post_id, reach) "
        "SELECT id, -5 FROM post WHERE platform_post_id = 'p1'",
        'violates check constraint "post_metric_snapshot_reach_check"',
    ),
    "negative followers": (
        "INSERT INTO follower_snapshot (account_id, captured_at, followers) "
        "VALUES (9001, now(), -1)",
        'violates check constraint "follower_snapshot_followers_check"',
    ),
    "duplicate platform post id": (
        "INSERT INTO post (account_id, platform, platform_post_id, text, posted_at) "
        "VALUES (9001, 'x', 'p1', 'again', now())",
        'violates unique constraint "uq_post_platform_post_id"',
    ),
    "duplicate handle": (
        "INSERT INTO account (platform, external_id, handle) VALUES ('x', 'c2', 'constraint_test')",
        'violates unique constraint "uq_account_platform_handle"',
    ),
    "unknown platform": (
        "INSERT INTO account (platform, external_id, handle) VALUES ('myspace', 'm', 'm')",
        'violates check constraint "account_platform_check"',
    ),
    "invalid account status": (
        "UPDATE account SET status = 'banned' WHERE id = 9001",
        'violates check constraint "account_status_check"',
    ),
    "sync interval out of range": (
        "UPDATE account SET sync_interval_minutes = 0 WHERE id = 9001",
        'violates check constraint "account_sync_interval_minutes_check"',
    ),
    "unknown time zone": (
        "UPDATE account SET timezone = 'Mars/Olympus' WHERE id = 9001",
        'violates check constraint "ck_account_timezone"',
    ),
    "padded time zone": (
        "UPDATE account SET timezone = ' UTC' WHERE id = 9001",
        'violates check constraint "ck_account_timezone"',
    ),
    "sentiment out of range": (
        "UPDATE post SET sentiment = 1.5 WHERE platform_post_id = 'p1'",
        'violates check constraint "post_sentiment_check"',
    ),
    "unknown key scope": (
        "INSERT INTO api_key (name, prefix, key_hash, scopes) "
        "VALUES ('k', 'hk_00000000', repeat('c', 64), ARRAY['read', 'root'])",
        'violates check constraint "ck_api_key_scopes"',
    ),
    "key without scopes": (
        "INSERT INTO api_key (name, prefix, key_hash, scopes) "
        "VALUES ('k', 'hk_00000000', repeat('c', 64), ARRAY[]::text[])",
        'violates check constraint "ck_api_key_scopes"',
    ),
    "plaintext in key_hash": (
        "INSERT INTO api_key (name, prefix, key_hash, scopes) "
        "VALUES ('k', 'hk_00000000', 'hk_00000000_secret', ARRAY['read'])",
        'violates check constraint "ck_api_key_hash"',
    ),
    "empty hashtag key": (
        "INSERT INTO hashtag (key, display) VALUES ('', '')",
        'violates check constraint "hashtag_key_check"',
    ),
}


@pytest.mark.parametrize("case", sorted(_VIOLATIONS))
async def test_the_database_refuses(account_and_post: AsyncSession, case: str) -> None:
    statement, message = _VIOLATIONS[case]
    with pytest.raises(IntegrityError, match=message):
        async with account_and_post.begin_nested():
            await account_and_post.exec(text(statement))  # type: ignore[call-overload]


@pytest.mark.parametrize("zone", ["Europe/Copenhagen", "America/Los_Angeles", "UTC", "Etc/GMT+5"])
async def test_real_time_zones_are_accepted(account_and_post: AsyncSession, zone: str) -> None:
    await account_and_post.exec(  # type: ignore[call-overload]
        text("UPDATE account SET timezone = :zone WHERE id = 9001").bindparams(zone=zone)
    )
    row = await account_and_post.exec(  # type: ignore[call-overload]
        text("SELECT timezone FROM account WHERE id = 9001")
    )
    assert row.scalar_one() == zone
