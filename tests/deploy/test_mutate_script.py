"""`make mutate`'s table of equivalent mutants (scripts/mutate.py, docs/reliability.md): every
row still finds its code, rows are read strictly, and a listed survivor leaves the mutation
score but stays in the plain kill rate."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("mutate_script", ROOT / "scripts" / "mutate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


mutate = _load()


def test_every_row_of_the_table_finds_its_code_in_its_module() -> None:
    # A row whose code changed or went matches nothing (the report names it): this test makes
    # such a change look at the row again, instead of leaving a stale table.
    rows = mutate.equivalents(mutate.EQUIVALENTS_DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 20
    for row in rows:
        source = (mutate.SRC / row.module).read_text(encoding="utf-8").splitlines()
        spot = row.spot(source)
        assert spot is not None, f"{row.module} line {row.line}: `{row.code}` is gone"
        assert row.code in source[spot[0] - 1]


def test_a_row_that_cannot_be_read_stops_the_run() -> None:
    head = "#### Equivalent mutants\n\n| module | line | operator | code | why |\n| --- |\n"
    good = (
        "| ingest/validate.py | 33 | core/ReplaceFalseWithTrue | `include_url=False` | unread |\n"
    )
    assert len(mutate.equivalents(head + good + "\n## next\n| x |")) == 1
    for bad in (
        "| ingest/validate.py | 33 | core/ReplaceFalseWithTrue | include_url=False | unread |",
        "| ingest/nowhere.py | 33 | core/ReplaceFalseWithTrue | `x` | unread |",
        "| ingest/validate.py | 3a | core/ReplaceFalseWithTrue | `x` | unread |",
        "| ingest/validate.py | 33 | core/ReplaceFalseWithTrue | `x` |  |",
    ):
        with pytest.raises(ValueError, match="reliability.md line 6, "):
            mutate.equivalents(head + good + bad + "\n")


def _entry(code: str, becomes: str = "", line: int = 2):
    return mutate.Equivalent(
        "ingest/validate.py", line, "core/NumberReplacer", code, "why", becomes
    )


SOURCE = ["x = 1", "pause = 0.05  # s", "other = 0.05"]


def test_a_row_matches_its_operator_within_its_code_and_follows_a_moved_line() -> None:
    spots, stale = mutate.classify("ingest/validate.py", [_entry("pause = 0.05")], SOURCE)
    assert stale == []
    assert mutate.matching(spots, 2, 8, "core/NumberReplacer", "") is not None
    assert mutate.matching(spots, 2, 13, "core/NumberReplacer", "") is None  # past the code
    assert mutate.matching(spots, 3, 8, "core/NumberReplacer", "") is None  # another line
    assert mutate.matching(spots, 2, 8, "core/AddNot", "") is None  # another operator
    # The code is on one line only: the row follows it when lines above are added.
    moved, _ = mutate.classify("ingest/validate.py", [_entry("pause = 0.05")], ["", *SOURCE])
    assert mutate.matching(moved, 3, 8, "core/NumberReplacer", "") is not None
    # Code on several lines: the row's line decides; gone: stale, matching nothing.
    both, _ = mutate.classify("ingest/validate.py", [_entry("0.05", line=3)], SOURCE)
    assert mutate.matching(both, 3, 8, "core/NumberReplacer", "") is not None
    assert mutate.matching(both, 2, 8, "core/NumberReplacer", "") is None
    gone, stale = mutate.classify("ingest/validate.py", [_entry("pause = 0.5")], SOURCE)
    assert gone == {}
    assert len(stale) == 1


def test_a_row_naming_the_mutated_text_matches_only_that_mutant() -> None:
    spots, _ = mutate.classify(
        "ingest/validate.py", [_entry("pause = 0.05", "pause = 1.05")], SOURCE
    )
    up = "--- a\n+++ b\n-pause = 0.05  # s\n+pause = 1.05  # s\n"
    down = "--- a\n+++ b\n-pause = 0.05  # s\n+pause = -0.95  # s\n"
    assert mutate.matching(spots, 2, 8, "core/NumberReplacer", up) is not None
    assert mutate.matching(spots, 2, 8, "core/NumberReplacer", down) is None
    # cosmic-ray spaces what it writes its own way (a mutated -1 is `- 1`).
    spaced = "--- a\n+++ b\n-pause = 0.05  # s\n+pause =  1.05 # s\n"
    assert mutate.matching(spots, 2, 8, "core/NumberReplacer", spaced) is not None


def test_listed_equivalents_leave_the_score_but_not_the_kill_rate() -> None:
    tally = mutate.Tally(
        "ingest/validate.py", 9, ["line 5: x"], equivalent=["line 33: y: why"], timed_out=2
    )
    assert tally.total == 11
    assert tally.rate == pytest.approx(9 / 11)
    assert tally.score == pytest.approx(9 / 10)
    text = mutate.report([tally])
    assert "| ingest/validate.py | 11 | 0 | 11 | 9 | 2 | 1 | 1 | 81.8% | 90.0% |" in text
    assert "| all | 11 | 0 | 11 | 9 | 2 | 1 | 1 | 81.8% | 90.0% |" in text
    assert "line 33: y: why" in text
    assert "line 5: x" in text


def test_a_session_is_not_resumed_once_its_module_changed(tmp_path, monkeypatch) -> None:
    # cosmic-ray finds a stored mutant again by operator and occurrence: after an edit the
    # same job would mutate another spot, so the run refuses instead of mixing results.
    module = tmp_path / "src" / "ingest" / "validate.py"
    module.parent.mkdir(parents=True)
    module.write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(mutate, "SRC", tmp_path / "src")
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    session = tmp_path / "ingest_validate.sqlite"
    mutate._same_source("ingest/validate.py", session)  # a new session: the source is noted
    session.write_bytes(b"")
    mutate._same_source("ingest/validate.py", session)  # unchanged: it resumes
    module.write_text("x = 2\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="changed since its session began"):
        mutate._same_source("ingest/validate.py", session)
