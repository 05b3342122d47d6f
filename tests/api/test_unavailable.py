"""Which errors mean "PostgreSQL or Redis does not answer" (503 with Retry-After), not a bug (500)."""

from __future__ import annotations

import pytest
from asyncpg.exceptions import AdminShutdownError
from asyncpg.exceptions._base import InternalClientError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hashtag_api.errors import is_unavailable
from tests.helpers import AUTH


def test_a_query_sent_while_the_shutdown_error_is_taken_in_is_an_outage() -> None:
    # What asyncpg raised when PostgreSQL stopped between two statements of an import.
    raced = InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    assert is_unavailable(raced)
    assert is_unavailable(AdminShutdownError("terminating connection due to administrator command"))


def test_other_client_errors_stay_bugs() -> None:
    # State 5 (a query running): two coroutines on one connection, our bug, not an outage.
    assert not is_unavailable(
        InternalClientError("cannot switch to state 15; another operation (5) is in progress")
    )
    assert not is_unavailable(InternalClientError("unexpected message"))
    assert not is_unavailable(ValueError("another operation (2) is in progress"))


async def test_a_read_over_the_statement_timeout_is_a_503_not_a_500(
    client, session, engine
) -> None:
    # The table the read needs held by another transaction past our statement timeout
    # (PostgreSQL's 57014; on a replica a recovery conflict, 40001, is of the same kind): the
    # client may retry, so 503 with Retry-After. Break: drop the SQLSTATE check in
    # `is_unavailable`; this was a 500 "internal_error".
    await (await session.connection()).execute(text("SET LOCAL statement_timeout = 200"))
    async with engine.connect() as other:
        await other.begin()
        await other.execute(text("LOCK TABLE hashtag_performance IN ACCESS EXCLUSIVE MODE"))
        try:
            answer = await client.get("/hashtag-performance", headers=AUTH)
        finally:
            await other.rollback()
    assert answer.status_code == 503, answer.text
    assert answer.headers.get("retry-after")
    assert answer.json()["code"] == "unavailable"


async def test_a_lock_wait_over_its_timeout_from_postgresql_is_transient(engine) -> None:
    # The error object PostgreSQL's lock_timeout (55P03) really gives, through SQLAlchemy.
    async with engine.connect() as holder, engine.connect() as waiter:
        await holder.begin()
        await holder.execute(text("LOCK TABLE hashtag IN ACCESS EXCLUSIVE MODE"))
        await waiter.begin()
        await waiter.execute(text("SET LOCAL lock_timeout = 50"))
        with pytest.raises(DBAPIError) as raised:
            await waiter.execute(text("SELECT count(*) FROM hashtag"))
        await waiter.rollback()
        await holder.rollback()
    assert is_unavailable(raised.value)
    # A plain mistake in SQL (42P01, no such table) stays a bug.
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError) as wrong:
            await conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_unavailable(wrong.value)
