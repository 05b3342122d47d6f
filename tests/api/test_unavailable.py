"""Which errors mean "PostgreSQL or Redis does not answer" (503 with Retry-After), not a bug (500)."""

from __future__ import annotations

from asyncpg.exceptions import AdminShutdownError
from asyncpg.exceptions._base import InternalClientError

from hashtag_api.errors import is_unavailable


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
