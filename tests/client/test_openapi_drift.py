"""The committed openapi.json is the app's document: clients are generated from the file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hashtag_cli.main import app
from hashtag_cli.openapi import COMMAND, changed_operations, openapi_document, render
from hashtag_core.migrate import PROJECT_ROOT

COMMITTED = PROJECT_ROOT / "openapi.json"


def test_committed_openapi_json_matches_the_app() -> None:
    current = openapi_document()
    assert COMMITTED.exists(), f"openapi.json is missing: run {COMMAND}"
    text = COMMITTED.read_text(encoding="utf-8")
    if text != render(current):
        changes = changed_operations(json.loads(text), current) or ["formatting only"]
        shown = "\n".join(changes[:20])
        raise AssertionError(f"openapi.json is out of date: run {COMMAND}\n{shown}")


def test_metrics_endpoint_is_not_in_the_document() -> None:
    assert "/metrics" not in openapi_document()["paths"]


def test_changed_operations_names_what_differs() -> None:
    old = {"paths": {"/a": {"get": {"x": 1}}, "/b": {"post": {}}}, "components": {"schemas": {}}}
    new = {
        "paths": {"/a": {"get": {"x": 2}}, "/c": {"get": {}}},
        "components": {"schemas": {"S": {}}},
    }
    assert changed_operations(old, new) == [
        "~ operation GET /a",
        "+ operation GET /c",
        "- operation POST /b",
        "+ schema S",
    ]


def test_the_command_writes_then_checks_the_file(tmp_path: Path) -> None:
    runner, target = CliRunner(), tmp_path / "openapi.json"
    target.write_text("{}\n")
    stale = runner.invoke(app, ["openapi", "--check", "--output", str(target)])
    assert stale.exit_code == 1
    assert "is out of date: run uv run hashtag-analysis openapi" in stale.output

    wrote = runner.invoke(app, ["openapi", "--output", str(target)])
    assert wrote.exit_code == 0, wrote.output
    assert target.read_text(encoding="utf-8") == render(openapi_document())
    again = runner.invoke(app, ["openapi", "--output", str(target)])
    assert "unchanged" in again.output
    current = runner.invoke(app, ["openapi", "--check", "--output", str(target)])
    assert current.exit_code == 0
