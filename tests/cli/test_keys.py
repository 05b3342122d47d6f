"""`hashtag-analysis keys create|list|revoke` against the test database, end to end: the key
printed once works on the API with its scopes, the listing never shows it, revoking stops it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from hashtag_api.main import create_app
from hashtag_cli.keys import parse_duration, parse_expiry
from hashtag_cli.main import app
from hashtag_core.config import Settings
from hashtag_core.db import create_engine, create_sessionmaker

runner = CliRunner()


def _invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def _sql(url: str, query: str) -> list[Any]:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=10)
        try:
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def keys_env(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI on the test database, with the api_key table emptied before and after (and
    its INFO lines off, so that stderr holds only what the command itself says)."""
    monkeypatch.setenv("HASHTAG_LOG_LEVEL", "WARNING")
    _sql(cli_env, "DELETE FROM api_key")
    yield cli_env
    _sql(cli_env, "DELETE FROM api_key")


async def _request(database_url: str, key: str, method: str, path: str) -> int:
    """One request to a real app (committing sessions) on the test database."""
    settings = Settings(
        database_url=database_url,
        redis_url="redis://unused",
        rate_limit_per_minute=0,
        rate_limit_writes_per_minute=0,
    )
    application = create_app(settings)
    engine = create_engine(settings, application_name="test-keys")
    application.state.engine = engine
    application.state.sessionmaker = create_sessionmaker(engine)
    application.state.arq = None  # the limiter is off; no operation used here enqueues
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.request(
                method, path, json={}, headers={"Authorization": f"Bearer {key}"}
            )
            return response.status_code
    finally:
        await engine.dispose()


def _status(database_url: str, key: str, method: str, path: str) -> int:
    # The command run before left logging writing to the runner's closed stream.
    root = logging.getLogger()
    handlers = root.handlers[:]
    root.handlers[:] = [logging.NullHandler()]
    try:
        return asyncio.run(_request(database_url, key, method, path))
    finally:
        root.handlers[:] = handlers


def test_help_names_the_options() -> None:
    result = _invoke("keys", "create", "--help")
    assert result.exit_code == 0
    for option in ("--scope", "--expires-in", "--expires", "NAME"):
        assert option in result.output
    for command in ("create", "list", "revoke"):
        assert command in _invoke("keys", "--help").output


@pytest.mark.e2e
def test_create_list_use_and_revoke(keys_env: str) -> None:
    created = _invoke("keys", "create", "etl", "--scope", "write", "--expires-in", "30d")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("hk_")
    assert len(key.splitlines()) == 1
    assert "will not be shown again" in created.stderr
    prefix = key[:11]
    assert prefix in created.stderr
    assert key not in created.stderr

    stored = _sql(keys_env, "SELECT name, prefix, key_hash, scopes, expires_at FROM api_key")
    assert len(stored) == 1
    row = stored[0]
    assert (row["name"], row["prefix"], row["scopes"]) == ("etl", prefix, ["write"])
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    expected_expiry = datetime.now(UTC) + timedelta(days=30)
    assert abs(row["expires_at"] - expected_expiry) < timedelta(minutes=1)

    # The key works for writes, not for admin operations.
    assert (_status(keys_env, key, "POST", "/update-post")) == 422
    assert (_status(keys_env, key, "POST", "/accounts")) == 403

    assert (
        _invoke("keys", "create", "ops", "--scope", "admin", "--expires", "2099-01-01").exit_code
        == 0
    )
    listed = _invoke("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert key not in listed.output
    assert key[12:] not in listed.output
    for text in ("etl", "ops", prefix, "write", "admin", "2099-01-01 00:00", "active"):
        assert text in listed.stdout
    etl_line = next(line for line in listed.stdout.splitlines() if "etl" in line)
    assert datetime.now(UTC).strftime("%Y-%m-%d") in etl_line  # last used: just now

    revoked = _invoke("keys", "revoke", prefix)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked 'etl'" in revoked.stdout
    assert (_status(keys_env, key, "POST", "/update-post")) == 401
    assert "revoked" in next(
        line for line in _invoke("keys", "list").stdout.splitlines() if "etl" in line
    )
    again = _invoke("keys", "revoke", "etl")
    assert again.exit_code == 0
    assert "already revoked" in again.stdout


@pytest.mark.e2e
def test_failures_are_one_line_and_exit_1(keys_env: str) -> None:
    assert _invoke("keys", "create", "dup", "--scope", "read").exit_code == 0
    cases = {
        ("keys", "create", "dup", "--scope", "read"): "'dup' already exists",
        ("keys", "revoke", "nosuch"): "no API key is named 'nosuch'",
        ("keys", "create", "x", "--scope", "read", "--expires-in", "soon"): "invalid duration",
        ("keys", "create", "x", "--scope", "read", "--expires", "2001-01-01"): "not in the future",
        ("keys", "create", "x", "--scope", "read", "--expires", "2099-13-01"): "invalid date",
        ("keys", "create", "bad name", "--scope", "read"): "invalid key name",
        (
            "keys", "create", "x", "--scope", "read", "--expires", "2099-01-01",
            "--expires-in", "1d",
        ): "not both",
    }  # fmt: skip
    for args, message in cases.items():
        result = _invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _invoke("keys", "create", "y", "--scope", "root").exit_code == 2  # usage error
    assert len(_sql(keys_env, "SELECT 1 FROM api_key")) == 1


def test_durations_and_dates() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(days=14)
    assert parse_expiry("2027-01-01") == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_expiry("2027-01-01T12:00+02:00") == datetime(2027, 1, 1, 10, tzinfo=UTC)
    for bad in ("0d", "3y", "", "d"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)
