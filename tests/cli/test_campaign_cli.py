"""`hashtag-analysis campaign create|show|list` against the session's test database."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.cli.test_cli import _invoke, _sql


def test_campaign_help() -> None:
    result = _invoke("campaign", "create", "--help")
    assert result.exit_code == 0, result.output
    for option in ("--start", "--end", "--goal", "--platform", "--account", "--brief"):
        assert option in result.output


@pytest.mark.e2e
def test_create_show_and_list(cli_env: str) -> None:
    assert _invoke("demo", "--posts", "300", "--seed", "3").exit_code == 0
    assert _invoke("recompute").exit_code == 0

    made = _invoke(
        "campaign", "create", "Spring", "--start", "2026-03-01", "--end", "2026-03-31",
        "--platform", "instagram", "--brief", "build together family",
    )  # fmt: skip

    assert made.exit_code == 0, made.output
    found = re.search(r"stored as campaign (\d+)", made.stdout)
    assert found, made.stdout
    assert "Association, not causation" in made.stdout
    campaign_id = found.group(1)
    stored = _sql(cli_env, "SELECT name, platforms FROM campaign")
    assert [(r[0], list(r[1])) for r in stored] == [("Spring", ["instagram"])]
    shown = _invoke("campaign", "show", campaign_id, "--csv")
    assert shown.exit_code == 0, shown.output
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert rows[-1]["section"] == "caveat"
    listed = _invoke("campaign", "list")
    assert listed.exit_code == 0
    assert "Spring" in listed.stdout


@pytest.mark.e2e
def test_bad_dates_name_the_field(cli_env: str) -> None:
    result = _invoke(
        "campaign", "create", "Backwards", "--start", "2026-03-31", "--end", "2026-03-01",
        "--platform", "x",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "ends_on" in result.output
    missing = _invoke("campaign", "show", "999999")
    assert missing.exit_code == 1
    assert "no campaign with id 999999" in missing.output
