"""The command line: help, usage errors, and real runs against the test servers.

The e2e tests commit for real (the CLI opens its own connections), so they clean up after
themselves: tables truncated, versions reset, the test Redis database flushed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from hashtag_cli.main import app
from hashtag_core.config import Settings, get_settings
from hashtag_core.embedded import EmbeddedServices
from hashtag_core.migrate import PROJECT_ROOT
from tests.helpers import DATA_TABLES

runner = CliRunner()

HELP = {
    "up": ["HASHTAG_DEMO_POSTS"],
    "api": ["--host", "--port", "--workers"],
    "worker": [],
    "migrate": ["--revision", "--downgrade"],
    "import": ["--format", "--mapping", "--timezone", "--batch-rows", "--strict"],
    "recompute": ["--force"],
    "demo": ["--posts", "--seed"],
    "sandbox": ["--port", "--posts", "--latency-ms"],
    "collect": ["--queue"],
    "report": ["--platform", "--account", "--window", "--format", "--output"],
}

NDJSON = (
    '{"platform":"x","post_id":"cli-1","account":"LEGOLANDWindsor","text":"Fun at #LEGOLAND",'
    '"posted_at":"2025-06-07T10:15:00+01:00","likes":10,"comments":2,"shares":3}\n'
    '{"platform":"x","post_id":"cli-2","account":"LEGOLANDWindsor","text":"#Legoland #Family",'
    '"posted_at":"2025-06-08T10:15:00+01:00","likes":4}\n'
)
CSV = (
    "platform,post_id,account,text,posted_at,likes,comments,shares\n"
    "instagram,cli-a,legolandwindsor,Build day #LEGO,2025-06-09T18:00:00+01:00,50,4,1\n"
    "instagram,cli-b,legolandwindsor,Broken,2025-06-10T18:00:00+01:00,-5,0,0\n"
)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _sql(url: str, query: str) -> list[Any]:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(_plain(url), timeout=10)
        try:
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The commands set up logging for their process; keep that out of other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


class TestHelp:
    @pytest.mark.parametrize(("command", "mentions"), HELP.items())
    def test_every_command_has_help(self, command: str, mentions: list[str]) -> None:
        result = _invoke(command, "--help")

        assert result.exit_code == 0, result.output
        for text in mentions:
            assert text in result.output

    def test_the_app_lists_its_commands(self) -> None:
        result = _invoke("--help")

        assert result.exit_code == 0
        for command in HELP:
            assert command in result.output

    def test_version_prints_the_package_version(self) -> None:
        result = _invoke("--version")

        assert result.exit_code == 0, result.output
        assert result.output.strip() == f"hashtag-analysis {package_version('hashtag-analysis')}"


class TestImportErrors:
    """Failures that are reported before any server is needed."""

    def test_a_missing_file_is_one_line_and_exit_1(self, tmp_path: Path) -> None:
        result = _invoke("import", str(tmp_path / "nope.ndjson"))

        assert result.exit_code == 1
        assert result.stderr.strip() == f"error: {tmp_path / 'nope.ndjson'}: no such file"

    def test_an_unknown_mapping_is_a_usage_error(self, tmp_path: Path) -> None:
        result = _invoke("import", "--mapping", "nosuch", str(tmp_path / "x.csv"))

        assert result.exit_code == 2
        assert "unknown mapping 'nosuch'" in result.output
        assert "x-analytics" in result.output

    def test_an_unknown_time_zone_is_a_usage_error(self, tmp_path: Path) -> None:
        result = _invoke("import", "--timezone", "Mars/Olympus", str(tmp_path / "x.csv"))

        assert result.exit_code == 2
        assert "unknown time zone 'Mars/Olympus'" in result.output

    def test_an_unknown_extension_asks_for_format(self, tmp_path: Path) -> None:
        (tmp_path / "posts.txt").write_text(NDJSON)

        result = _invoke("import", str(tmp_path / "posts.txt"))

        assert result.exit_code == 2
        assert "pass --format ndjson, csv or json" in result.stderr

    def test_a_file_of_another_format_is_refused_before_importing(self, tmp_path: Path) -> None:
        (tmp_path / "posts.csv").write_text(CSV)

        result = _invoke("import", "--mapping", "x-analytics", str(tmp_path / "posts.csv"))

        assert result.exit_code == 1
        assert "not a 'x-analytics' export (missing columns" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_auto_mapping_names_the_file_it_cannot_place(self, tmp_path: Path) -> None:
        (tmp_path / "posts.csv").write_text(CSV)

        result = _invoke("import", "--mapping", "auto", str(tmp_path / "posts.csv"))

        assert result.exit_code == 1
        assert "no mapping recognises its header" in result.stderr

    def test_a_bad_setting_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HASHTAG_API_PORT", "not-a-port")
        get_settings.cache_clear()
        try:
            result = _invoke("recompute")
        finally:
            get_settings.cache_clear()

        assert result.exit_code == 1
        assert "invalid configuration: HASHTAG_API_PORT" in result.stderr


# --- against the test servers ------------------------------------------------------------------


def _reset(database_url: str, redis_url: str) -> None:
    _sql(database_url, f"TRUNCATE {DATA_TABLES} CASCADE")
    _sql(database_url, "UPDATE data_version SET version = 0")
    _sql(database_url, "UPDATE recompute_state SET computed_version = 0, computed_at = NULL")
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, services: EmbeddedServices
) -> Iterator[str]:
    """The CLI pointed at the session's test database; what it commits is removed after."""
    assert services.redis_url
    monkeypatch.setenv("HASHTAG_DATABASE_URL", database_url)
    monkeypatch.setenv("HASHTAG_REDIS_URL", services.redis_url)
    get_settings.cache_clear()
    _reset(database_url, services.redis_url)
    yield database_url
    _reset(database_url, services.redis_url)
    get_settings.cache_clear()


@pytest.mark.e2e
class TestImport:
    def test_imports_files_and_reports_each(self, cli_env: str, tmp_path: Path) -> None:
        (tmp_path / "posts.ndjson").write_text(NDJSON)
        (tmp_path / "posts.csv").write_text(CSV)

        result = _invoke(
            "import",
            "--timezone",
            "Europe/London",
            "--batch-rows",
            "1",
            str(tmp_path / "posts.ndjson"),
            str(tmp_path / "posts.csv"),
        )

        assert result.exit_code == 0, result.output
        out = result.stdout
        assert "posts.ndjson: received 2 · inserted 2 · updated 0 · rejected 0" in out
        assert "posts.csv: received 2 · inserted 1 · updated 0 · rejected 1" in out
        assert "row 2, field likes:" in out
        assert "recompute queued as job recompute:" in out
        assert "total, 2 files: received 4 · inserted 3" in out
        rows = _sql(
            cli_env,
            "SELECT p.platform_post_id, p.engagement, a.timezone FROM post p "
            "JOIN account a ON a.id = p.account_id ORDER BY 1",
        )
        assert [tuple(r) for r in rows] == [
            ("cli-1", 15, "Europe/London"),
            ("cli-2", 4, "Europe/London"),
            ("cli-a", 55, "Europe/London"),
        ]

    def test_importing_again_updates_and_strict_fails_on_rejects(
        self, cli_env: str, tmp_path: Path
    ) -> None:
        (tmp_path / "posts.csv").write_text(CSV)
        _invoke("import", str(tmp_path / "posts.csv"))

        result = _invoke("import", "--strict", str(tmp_path / "posts.csv"))

        assert result.exit_code == 1
        assert "received 2 · inserted 0 · updated 1 · rejected 1" in result.stdout
        assert "error: 1 rows were rejected (--strict)" in result.stderr
        assert _sql(cli_env, "SELECT count(*) FROM post")[0][0] == 1

    def test_unreachable_redis_is_reported_not_fatal(
        self, cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HASHTAG_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
        get_settings.cache_clear()
        (tmp_path / "posts.ndjson").write_text(NDJSON)

        result = _invoke("import", str(tmp_path / "posts.ndjson"))

        assert result.exit_code == 0, result.output
        assert "recompute not queued: Redis is unreachable" in result.stdout
        assert _sql(cli_env, "SELECT count(*) FROM post")[0][0] == 2

    def test_recompute_and_demo(self, cli_env: str) -> None:
        demo = _invoke("demo", "--posts", "200", "--seed", "3")
        assert demo.exit_code == 0, demo.output
        assert "demo: received 200 · inserted 200" in demo.stdout

        result = _invoke("recompute")

        assert result.exit_code == 0, result.output
        assert "recompute: computed, data version 1" in result.stdout
        assert _sql(cli_env, "SELECT count(*) FROM hashtag_performance")[0][0] > 0

    @pytest.mark.datasets
    def test_imports_the_ropensci_exports(self, cli_env: str, shared_dir: Path) -> None:
        folder = shared_dir / "datasets" / "ropensci-twitter-analytics"
        files = sorted(str(p) for p in folder.glob("tweet_activity_metrics_*.csv"))
        if not files:
            pytest.skip(f"{folder} holds no tweet_activity_metrics_*.csv exports")

        result = _invoke("import", "--mapping", "x-analytics", "--strict", *files)

        assert result.exit_code == 0, result.output
        assert f"total, {len(files)} files: received 1,668 · inserted 1,668" in result.stdout
        assert _sql(cli_env, "SELECT count(*) FROM post")[0][0] == 1_668


# --- commands that need a database of their own -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def own_database(services: EmbeddedServices) -> Iterator[str]:
    """A new, empty database on the test server (dropped at the end)."""
    assert services.database_url
    server = make_url(services.database_url)
    name = f"hashtag_cli_{uuid.uuid4().hex[:8]}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    _sql(admin, f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    _sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.e2e
def test_migrate_up_and_down(own_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASHTAG_DATABASE_URL", own_database)
    monkeypatch.setenv("HASHTAG_REDIS_URL", "redis://127.0.0.1:1/0")  # not needed, not used
    get_settings.cache_clear()
    exists = "SELECT to_regclass('post') IS NOT NULL"
    try:
        up = _invoke("migrate")
        assert up.exit_code == 0, up.output
        assert _sql(own_database, exists)[0][0] is True

        down = _invoke("migrate", "--downgrade", "base")
        assert down.exit_code == 0, down.output
        assert _sql(own_database, exists)[0][0] is False

        for args in (["--revision", "nosuch"], ["--downgrade", "nosuch"]):
            wrong = _invoke("migrate", *args)
            assert wrong.exit_code == 1
            assert "Traceback" not in wrong.output
            errors = [line for line in wrong.stderr.splitlines() if "error" in line.lower()]
            assert errors == ["error: migration: Can't locate revision identified by 'nosuch'"]
    finally:
        get_settings.cache_clear()


def _wait_for(check: Any, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"up exited early:\n{log.read_text()}"
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s:\n{log.read_text()}")


def _children(log: Path) -> dict[str, int]:
    return {
        m[0]: int(m[1]) for m in re.findall(r"started the (\w+) \(pid (\d+)\)", log.read_text())
    }


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _exercise_api(base: str, key: str) -> None:
    """The four plan endpoints answer with demo data."""
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/docs").status_code == 200
        performance = client.get("/hashtag-performance", params={"window": "all", "min_posts": 1})
        tag = performance.json()["items"][0]["key"]
        page = client.get(f"/hashtags/{tag}").json()
        assert page["items"]
        trends = client.get("/engagement-trends", params={"hashtag": tag})
        assert trends.status_code == 200
        assert trends.json()["items"]
        post = page["items"][0]
        update = client.post(
            "/update-post",
            json={"platform": post["platform"], "post_id": post["post_id"], "likes": 1},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert update.status_code == 202, update.text


def _check_collected_from_the_sandbox(base: str, data_dir: Path, log: Path) -> None:
    """The demo came through the collectors: every sandbox account registered and synced."""
    port = json.loads((data_dir / "sandbox.json").read_text())["port"]
    sandbox = f"http://127.0.0.1:{port}"
    banner = log.read_text().split("hashtag-analysis is running")[-1]
    assert "local platform sandbox at" in banner
    assert sandbox in banner
    state = httpx.get(f"{sandbox}/_sandbox/state").json()
    listed = httpx.get(f"{base}/accounts", params={"limit": 500}).json()
    assert listed["next_cursor"] is None
    accounts = {(a["platform"], a["handle"]): a for a in listed["items"]}
    assert set(accounts) == {(a["platform"], a["handle"]) for a in state["accounts"]}
    for account in accounts.values():
        assert account["token_ref"].startswith("sandbox-")
        assert account["status"] == "active", account
        assert account["last_sync_at"] is not None
        assert account["posts"] > 0
    assert sum(a["posts"] for a in accounts.values()) == 300
    page = httpx.get(f"{base}/hashtag-performance", params={"window": "all", "min_posts": 1})
    assert page.json()["items"]


@pytest.mark.e2e
def test_up_serves_the_demo_and_stops_on_sigint(
    own_database: str, services: EmbeddedServices, tmp_path: Path
) -> None:
    assert services.redis_url
    port, log = _free_port(), tmp_path / "up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHTAG_")}
    env |= {
        "HASHTAG_DATABASE_URL": own_database,
        "HASHTAG_REDIS_URL": services.redis_url,
        "HASHTAG_DATA_DIR": str(tmp_path / "data"),
        "HASHTAG_DEMO_POSTS": "300",
        "HASHTAG_API_HOST": "127.0.0.1",
        "HASHTAG_API_PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    with redis.Redis.from_url(services.redis_url) as client:
        client.flushdb()
    with log.open("wb") as out:  # cwd=tmp_path: no developer .env is read
        proc = subprocess.Popen(
            [sys.executable, "-m", "hashtag_cli", "up"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:

        def figures() -> Any:
            page = httpx.get(
                f"{base}/hashtag-performance", params={"window": "all", "min_posts": 1}
            )
            return page.status_code == 200 and page.json()["items"]

        _wait_for(figures, 90, proc, log)
        # The block comes once the figures include all data (before the writes below).
        _wait_for(lambda: "hashtag-analysis is running" in log.read_text(), 30, proc, log)
        key_file = tmp_path / "data" / "api-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        _check_collected_from_the_sandbox(base, tmp_path / "data", log)
        _exercise_api(base, key_file.read_text().strip())
        children = _children(log)
        assert set(children) == {"API", "worker", "sandbox"}

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0, log.read_text()
        assert all(_gone(pid) for pid in children.values()), log.read_text()
        assert "stopped" in log.read_text().splitlines()[-1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _children(log).values():
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
        with redis.Redis.from_url(services.redis_url) as client:
            client.flushdb()


def test_env_example_names_every_setting() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    named = set(re.findall(r"^# (HASHTAG_[A-Z0-9_]+)=", text, re.MULTILINE))
    fields = {f"HASHTAG_{name.upper()}" for name in Settings.model_fields}
    nested = {n.split("__")[0] for n in named if "__" in n}

    assert fields - nested <= named
    assert named - {n for n in named if "__" in n} <= fields
