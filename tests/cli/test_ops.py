"""`sandbox`, `collect` and `report`: a real sandbox process, the CLI collecting from it into
the test database, and the report it prints from what it collected."""

from __future__ import annotations

import asyncio
import csv
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashtag_cli.sandbox import RunningSandbox, SandboxPlan, register_and_collect
from hashtag_cli.sandbox import _accounts as sandbox_accounts
from hashtag_core.config import get_settings
from tests.cli.test_cli import _invoke, _sql
from tests.sandbox import free_port

pytestmark = pytest.mark.e2e

POSTS = 120


@pytest.fixture
def sandbox_process() -> Iterator[tuple[int, dict[str, Any]]]:
    """`hashtag-analysis sandbox` as a child process, and its state once it answers."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "hashtag_cli", "sandbox", "--port", str(port)]
        + ["--posts", str(POSTS), "--seed", "11", "--days", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    state: dict[str, Any] | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and state is None:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/_sandbox/state", timeout=2)
            state = response.json() if response.status_code == 200 else None
        except httpx.HTTPError:
            time.sleep(0.2)
    assert state is not None, "the sandbox did not answer within 60 s"
    try:
        yield port, state
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


@pytest.fixture
def registered(
    cli_env: str, sandbox_process: tuple[int, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The sandbox's accounts registered, and the CLI's environment collecting from it."""
    port, state = sandbox_process
    plan = SandboxPlan(port=port, posts=POSTS, seed=11, days=60, end=datetime.now(UTC))
    sandbox = RunningSandbox(plan, sandbox_accounts(state))
    settings = sandbox.configure(get_settings())
    asyncio.run(register_and_collect(settings, sandbox, register=True))  # queues, no worker
    for name, value in sandbox.environment(get_settings()).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return state


class TestCollect:
    def test_collects_every_account_once_then_only_what_is_new(
        self, registered: dict[str, Any], cli_env: str
    ) -> None:
        served = sum(a["posts"] for a in registered["accounts"])
        assert served > 0

        first = _invoke("collect")

        assert first.exit_code == 0, first.output
        assert _sql(cli_env, "SELECT count(*) FROM post")[0][0] == served
        for account in registered["accounts"]:
            assert f"{account['platform']}/{account['handle']}" in first.stdout
        assert "ok:" in first.stdout
        statuses = {row[0] for row in _sql(cli_env, "SELECT status FROM account")}
        assert statuses == {"active"}
        followers = _sql(cli_env, "SELECT count(*) FROM follower_snapshot")[0][0]
        assert followers >= len(registered["accounts"])
        # The first collection backfilled each account's daily follower history (the demo's
        # follower chart has lines at once): Instagram's 30 days, Facebook's and LinkedIn's
        # whole 60 (`up` reaches over the demo period); X reports none.
        backfilled = dict(
            _sql(
                cli_env,
                "SELECT a.platform || '/' || a.handle, count(*) FROM follower_snapshot f "
                "JOIN account a ON a.id = f.account_id WHERE f.source = 'backfill' "
                "GROUP BY 1",
            )
        )
        for account in registered["accounts"]:
            got = backfilled.get(f"{account['platform']}/{account['handle']}", 0)
            least = {"x": 0, "instagram": 28}.get(account["platform"], 55)
            assert got >= least, (account, got)
            if account["platform"] == "x":
                assert got == 0

        first_account = registered["accounts"][0]
        again = _invoke("collect", f"{first_account['platform']}/{first_account['handle']}")

        assert again.exit_code == 0, again.output
        assert "0 new" in again.stdout
        assert _sql(cli_env, "SELECT count(*) FROM post")[0][0] == served

    def test_an_unknown_account_is_one_line_and_exit_1(self, registered: dict[str, Any]) -> None:
        result = _invoke("collect", "no-such-handle")

        assert result.exit_code == 1
        assert "no account 'no-such-handle'" in result.output
        assert "Traceback" not in result.output

    def test_queue_hands_the_accounts_to_the_worker(self, registered: dict[str, Any]) -> None:
        account = registered["accounts"][1]
        name = f"{account['platform']}/{account['handle']}"
        ambiguous = [a for a in registered["accounts"] if a["handle"] == account["handle"]]

        result = _invoke("collect", "--queue", name)
        by_handle = _invoke("collect", "--queue", account["handle"])

        assert result.exit_code == 0, result.output
        assert f"{account['handle']}: queued collect:" in result.stdout
        if len(ambiguous) > 1:
            assert by_handle.exit_code == 1
            assert "names several accounts" in by_handle.output


class TestReport:
    def test_table_and_csv_show_the_collected_hashtags(
        self, registered: dict[str, Any], cli_env: str, tmp_path: Path
    ) -> None:
        assert _invoke("collect").exit_code == 0
        assert _invoke("recompute").exit_code == 0
        expected = _sql(
            cli_env,
            "SELECT count(*) FROM hashtag_performance WHERE \"window\" = '365d' "
            "AND platform = '*' AND account_id = 0",
        )[0][0]
        assert expected > 0

        table = _invoke("report", "--window", "365d", "--limit", "5")
        out = tmp_path / "report.csv"
        written = _invoke("report", "--window", "365d", "--format", "csv", "-o", str(out))
        printed = _invoke("report", "--window", "365d", "--format", "csv")

        assert table.exit_code == 0, table.output
        assert "lift" in table.stdout
        assert "95% interval" in table.stdout
        assert "effect" in table.stdout
        assert table.stdout.count("#") >= 5
        assert f"{expected - 5:,} more hashtags" in table.stdout
        assert written.exit_code == 0, written.output
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert len(rows) == expected
        assert {"hashtag", "posts", "engagement_lift", "engagement_score"} <= set(rows[0])
        assert printed.stdout == out.read_text(encoding="utf-8")

    def test_bad_options_are_usage_errors(self, cli_env: str) -> None:
        bad_format = _invoke("report", "--format", "xml")
        bad_window = _invoke("report", "--window", "2d")

        assert bad_format.exit_code == 2
        assert "--format must be table or csv" in bad_format.output
        assert bad_window.exit_code == 2

    def test_an_unknown_account_is_one_line_and_exit_1(self, cli_env: str) -> None:
        result = _invoke("report", "--account", "nobody")

        assert result.exit_code == 1
        assert "no account 'nobody'" in result.output
