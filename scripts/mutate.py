"""Mutation testing on demand (`make mutate`, never in CI): cosmic-ray breaks one spot of a
module at a time and runs the tests that cover that module; a mutant the tests still pass on
"survived". The kill rate per module and every survivor go to .mutation/report.md.

    uv run --frozen python scripts/mutate.py                       # every module below
    uv run --frozen python scripts/mutate.py collect/ratelimit.py  # some of them
    uv run --frozen python scripts/mutate.py --sample 60 aggregates/service.py  # 60 of them

`--sample N` (with `--seed`, 20261207 unless told) runs a fixed pseudo-random sample of N
mutants of each module named and records the others as "not sampled": the report says
"sampled N of M" for such a module, and the same seed picks the same mutants again. A larger
N on a session sampled before grows its sample (the mutants already in it stay).

Two kinds of mutant are equivalent by rule and never run (`equivalent_spots`): `frozen=True`
-> `frozen=False` in a `@dataclass(...)`, and a signature's keyword-only `*` -> `/`. The
report counts them apart, in "excluded as equivalent by rule". Survivors shown equivalent one
by one are listed, with the reason, in docs/reliability.md's table "Equivalent mutants"
(`equivalents`): the report counts them apart too, and gives beside the kill rate (killed /
run) the mutation score (killed / (run - listed equivalents)).

The tests need the servers the suite uses (HASHTAG_TEST_DATABASE_URL / _REDIS_URL, or the
embedded ones). Each mutant is one niced pytest process over the module's own tests, one at a
time: a module takes minutes (collect/) to hours (aggregates/, whose tests recompute real
data). Sessions are kept in .mutation/ and resumed: a run stopped half-way goes on where it
left off; `--retest-survivors` runs the survivors again (after new tests); delete
.mutation/<name>.sqlite to start a module again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "hashtag_core"
OUT = ROOT / ".mutation"

_RECOMPUTE_TESTS = (
    "tests/core/test_incremental_inputs.py",
    "tests/core/test_staging_names.py",
    "tests/core/test_delta.py",
    "tests/core/test_postcache.py",
    "tests/core/test_recompute_paths.py",
    "tests/core/test_incremental.py",
    "tests/core/test_recompute.py",
    "tests/core/test_swap.py",
    "tests/core/test_slices.py",
)
_IMPORT_TESTS = (
    "tests/core/test_post_writes.py",
    "tests/core/test_import_service.py",
    "tests/core/test_followers_at_post.py",
)
_INGEST_TESTS = (
    "tests/core/test_post_record.py",
    "tests/core/test_parsers.py",
    "tests/core/test_mappings.py",
    "tests/core/test_import_service.py",
    "tests/reliability/test_hostile_imports.py",
)

#: Module (under src/hashtag_core) -> the tests that cover it, so that a mutant runs those only.
MODULES: dict[str, tuple[str, ...]] = {
    "collect/ratelimit.py": ("tests/collect/test_http.py",),
    "collect/http.py": ("tests/collect/test_http.py", "tests/collect/test_pacer_edges.py"),
    "posts/repository.py": _IMPORT_TESTS,
    "posts/service.py": (
        "tests/core/test_import_preparer.py",
        *_IMPORT_TESTS,
        "tests/core/test_incremental.py",
        "tests/api/test_endpoints.py::TestUpdatePost",
    ),
    "posts/schemas.py": (
        "tests/api/test_post_examples.py",
        "tests/api/test_endpoints.py",
        *_IMPORT_TESTS,
    ),
    "ingest/parsers.py": _INGEST_TESTS,
    "ingest/validate.py": _INGEST_TESTS,
    "ingest/mappings.py": _INGEST_TESTS,
    "ingest/schemas.py": _INGEST_TESTS,
    "aggregates/service.py": _RECOMPUTE_TESTS,
    "aggregates/incremental.py": _RECOMPUTE_TESTS,
    "aggregates/delta.py": _RECOMPUTE_TESTS,
    "aggregates/postcache.py": _RECOMPUTE_TESTS,
    "aggregates/repository.py": _RECOMPUTE_TESTS,
    "aggregates/slices.py": _RECOMPUTE_TESTS,
    "aggregates/staging.py": _RECOMPUTE_TESTS,
}

#: Operators left out: exotic arithmetic and bitwise swaps (a+b -> a<<b, ...), comparisons
#: turned into identity or membership tests, unary swaps, decorator removal and the
#: variable replacer/inserter. They multiply the mutants by ~5 and the tests that kill the
#: kept ones (a+b -> a-b, < -> <=, == -> !=, and/or, True/False, numbers, exceptions,
#: break/continue, loops run zero times) kill these too, or they are equivalent.
EXCLUDED_OPERATORS = (
    r"core/ReplaceBinaryOperator_.*_(Pow|RShift|LShift|BitOr|BitAnd|BitXor|FloorDiv|Mod)$",
    r"core/ReplaceBinaryOperator_(Pow|RShift|LShift|BitOr|BitAnd|BitXor|FloorDiv|Mod)_.*",
    r"core/ReplaceBinaryOperator_(Add_Mul|Add_Div|Sub_Mul|Sub_Div|Mul_Add|Mul_Sub|Div_Add|Div_Sub)$",
    r"core/ReplaceComparisonOperator_.*_(Is|IsNot|In|NotIn)$",
    r"core/ReplaceComparisonOperator_(Is|IsNot|In|NotIn)_.*",
    r"core/ReplaceUnaryOperator_.*",
    r"core/RemoveDecorator",
    r"core/VariableReplacer",
    r"core/VariableInserter",
)
#: Seconds one mutant's tests may take before it counts as killed (a hang: e.g. a loop that
#: no longer ends). Generous: on a loaded machine a slow run that passes must not count as a
#: hang. The report counts the timeouts among the killed ("killed, by timeout").
TIMEOUT_S = {"collect": 120.0, "posts": 900.0, "ingest": 600.0, "aggregates": 1_800.0}
#: The output recorded for a mutant left out of a sample (`--sample`).
NOT_SAMPLED = "not sampled"
#: The output recorded for a mutant excluded as equivalent by rule (`equivalent_spots`); the
#: rule's name follows it.
EQUIVALENT = "equivalent by rule: "
DEFAULT_SEED = 20261207


@dataclass(frozen=True)
class Equivalent:
    """A surviving mutant shown to be equivalent (no observable behaviour changes), listed
    with its reason in docs/reliability.md's table (`equivalents`)."""

    module: str
    #: Where the mutant was seen; only a hint when `code` is on one line of the module.
    line: int
    operator: str
    #: The code the mutation changes (the mutant's column lies within it): the entry
    #: follows it when other edits move its line, and matches nothing once it changes.
    code: str
    why: str
    #: What the mutated line holds instead, when the operator makes several mutants of one
    #: spot and not all of them are equivalent (NumberReplacer: n + 1 and n - 1); "" = any.
    becomes: str = ""

    def spot(self, source: list[str]) -> tuple[int, int, int] | None:
        """(line, first column, column after) of `code` in the module's lines: the one line
        holding it, else the hinted line if it holds it; None when neither (stale)."""
        found = [i + 1 for i, text in enumerate(source) if self.code in text]
        line = found[0] if len(found) == 1 else self.line if self.line in found else None
        if line is None:
            return None
        start = source[line - 1].index(self.code)
        return line, start, start + len(self.code)


@dataclass(frozen=True)
class Tally:
    module: str
    killed: int
    survived: list[str]
    #: Mutants left out of a sample (`--sample`); 0 when every mutant ran.
    not_sampled: int = 0
    #: Mutants not run yet (a session stopped half-way).
    pending: int = 0
    #: Mutants excluded as equivalent by rule (`exclude_equivalent`), never run.
    excluded: int = 0
    #: Survivors listed as equivalent in docs/reliability.md (`equivalents`), with the reason.
    equivalent: list[str] = field(default_factory=list)
    #: Table entries of this module that match no survivor: stale (their code is gone), not
    #: run in this session, or killed (then the entry is wrong: a test tells it apart).
    unmatched: list[str] = field(default_factory=list)
    #: Of the killed, those whose tests ran out of time (TIMEOUT_S): a hang, or a slow run.
    timed_out: int = 0

    @property
    def total(self) -> int:
        return self.killed + len(self.survived) + len(self.equivalent)

    @property
    def mutants(self) -> int:
        """Every mutant of the module, run or not (operators filtered out not counted)."""
        return self.total + self.not_sampled + self.pending + self.excluded

    @property
    def rate(self) -> float:
        """Killed among the mutants run."""
        return self.killed / self.total if self.total else 1.0

    @property
    def score(self) -> float:
        """Killed among the mutants run that are not listed as equivalent: the mutation score
        (Jia & Harman 2011, "An analysis and survey of the development of mutation testing":
        killed / (mutants - equivalent))."""
        real = self.total - len(self.equivalent)
        return self.killed / real if real else 1.0


#: Where the equivalent survivors are listed, with why each changes nothing observable.
EQUIVALENTS_DOC = ROOT / "docs" / "reliability.md"
_EQUIVALENTS_HEADING = "#### Equivalent mutants"


def equivalents(text: str) -> list[Equivalent]:
    """The table under `_EQUIVALENTS_HEADING` in docs/reliability.md: one row per surviving
    mutant shown equivalent, `| module | line | operator | `code` | why |`, where the code
    cell may say what the mutant makes of it, `` `code` → `mutated` ``. A row that cannot be
    read stops the run (a typo must not silently drop an entry)."""
    start = text.find(_EQUIVALENTS_HEADING)
    if start < 0:
        return []
    rows: list[Equivalent] = []
    for number, line in enumerate(text[start:].splitlines()[1:], start=1):
        if line.startswith("#"):
            break
        if not line.startswith("|") or line.startswith(("| module", "| ---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        ok = len(cells) == 5 and cells[0] in MODULES and cells[1].isdigit() and bool(cells[4])
        code = re.fullmatch(r"`([^`]+)`(?:\s*→\s*`([^`]+)`)?", cells[3]) if ok else None
        if code is None:
            raise ValueError(
                f"{EQUIVALENTS_DOC.name} line {text.count(chr(10), 0, start) + 1 + number}, "
                "equivalent mutants: expected "
                f"| module | line | operator | `code` | why |, got {line!r}"
            )
        rows.append(Equivalent(cells[0], int(cells[1]), cells[2], code[1], cells[4], code[2] or ""))
    return rows


#: An entry's place: (line, first column, column after, operator, mutated text or "").
_Spot = tuple[int, int, int, str, str]


def classify(
    module: str, listed: list[Equivalent], source: list[str]
) -> tuple[dict[_Spot, Equivalent], list[str]]:
    """The module's entries of the table by where they are (`_Spot`), and the stale ones
    (their code is no longer in the module)."""
    spots: dict[_Spot, Equivalent] = {}
    stale: list[str] = []
    for entry in listed:
        if entry.module != module:
            continue
        spot = entry.spot(source)
        if spot is None:
            stale.append(f"line {entry.line}: {entry.operator} (`{entry.code}` is gone)")
        else:
            spots[(*spot, entry.operator, entry.becomes)] = entry
    return spots, stale


def _bare(code: str) -> str:
    """Code without spaces: cosmic-ray writes a mutated -1 as `- 1`."""
    return "".join(code.split())


def matching(
    spots: dict[_Spot, Equivalent], line: int, col: int, operator: str, diff: str
) -> _Spot | None:
    """The entry whose code holds a mutant at (line, col) of this operator, and whose
    mutated text (if it names one) is on a line the mutant's diff adds."""
    added = [t[1:] for t in diff.splitlines() if t.startswith("+") and not t.startswith("+++")]
    for key in spots:
        if (
            key[0] == line
            and key[1] <= col < key[2]
            and key[3] == operator
            and (not key[4] or any(_bare(key[4]) in _bare(text) for text in added))
        ):
            return key
    return None


def _config(module: str, tests: tuple[str, ...]) -> Path:
    name = module.replace("/", "_").removesuffix(".py")
    excluded = ", ".join(f'"{pattern}"' for pattern in EXCLUDED_OPERATORS)
    command = shlex.join(
        [
            # -B: no bytecode written. A mutant the same size as the source, written within
            # the second of the last restore, would otherwise run from the stale .pyc.
            "nice", "-n", "10", sys.executable, "-B", "-m", "pytest", "-x", "-q",
            "-p", "no:cacheprovider", *tests,
            "-k", "not 100_mb_body",
        ]
    )  # fmt: skip
    path = OUT / f"{name}.toml"
    path.write_text(
        "[cosmic-ray]\n"
        f'module-path = "src/hashtag_core/{module}"\n'
        f"timeout = {TIMEOUT_S[module.split('/')[0]]}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        "\n[cosmic-ray.distributor]\n"
        'name = "local"\n'
        "\n[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = [{excluded}]\n",
        encoding="utf-8",
    )
    return path


def _run(*args: str) -> None:
    subprocess.run(args, cwd=ROOT, check=True)


def equivalent_spots(source: str) -> dict[tuple[int, int], tuple[str, str]]:
    """The spots of `source` whose mutants are equivalent by rule: (line, column) -> (the
    operator that mutates the spot, the rule's name).

    * `frozen-dataclass`: the `True` of `frozen=True` in a `@dataclass(...)` decorator, which
      `ReplaceTrueWithFalse` turns into `frozen=False`. Nothing in the code assigns to such an
      object after it is built (mypy strict rejects an assignment to a frozen dataclass's
      field), so making it mutable changes nothing the tests could observe.
    * `keyword-only-marker`: a signature's bare `*` (keyword-only marker), which cosmic-ray
      takes for a multiplication and `ReplaceBinaryOperator_Mul_Div` turns into `/`
      (positional-only marker). The parameters after it become callable by position too, the
      ones before it positional-only: only a caller naming one of those by keyword would
      notice, and mypy strict flags such a call against the real signature.
    """
    import parso  # cosmic-ray's own parser: the same positions as its mutations

    spots: dict[tuple[int, int], tuple[str, str]] = {}

    def walk(node: Any) -> None:
        for child in getattr(node, "children", ()):
            parent = child.parent
            if (
                child.type == "operator"
                and child.value == "*"
                and parent.type in ("parameters", "lambdef")
            ):
                spots[child.start_pos] = (
                    "core/ReplaceBinaryOperator_Mul_Div",
                    "keyword-only-marker",
                )
            elif (
                child.type == "keyword"
                and child.value == "True"
                and parent.type == "argument"
                and parent.children[0].type == "name"
                and parent.children[0].value == "frozen"
                and _in_dataclass_decorator(parent)
            ):
                spots[child.start_pos] = ("core/ReplaceTrueWithFalse", "frozen-dataclass")
            walk(child)

    walk(parso.parse(source))
    return spots


def _in_dataclass_decorator(node: Any) -> bool:
    """Whether `node` is in a `@dataclass(...)` (`@dataclasses.dataclass(...)`) decorator."""
    while node is not None and node.type != "decorator":
        node = node.parent
    return node is not None and bool(re.match(r"\s*@\s*([\w.]+\.)?dataclass\(", node.get_code()))


def exclude_equivalent(session: Path, module: str) -> None:
    """Record the session's mutants that are equivalent by rule (`equivalent_spots`) as
    skipped with the output `EQUIVALENT` + the rule, whether pending or already run: they are
    never run and the report counts them apart ("excluded"), not as survivors."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spots = equivalent_spots((SRC / module).read_text(encoding="utf-8"))
    with use_db(str(session), WorkDB.Mode.open) as db:
        done = {item.job_id: result for item, result in db.completed_work_items}
        by_rule: dict[str, list[str]] = {}
        for item in db.work_items:
            (mutation,) = item.mutations
            spot = spots.get(tuple(mutation.start_pos))
            if spot is None or spot[0] != mutation.operator_name:
                continue
            result = done.get(item.job_id)
            if result is not None and (result.output or "").startswith(EQUIVALENT):
                continue
            by_rule.setdefault(spot[1], []).append(item.job_id)
        for rule, job_ids in by_rule.items():
            db.set_multiple_results(
                job_ids,
                WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=EQUIVALENT + rule),
            )


def _position(item: Any) -> tuple[Any, ...]:
    """A mutant's place in its module (line, operator, occurrence), not its random job id."""
    (mutation,) = item.mutations
    return (mutation.start_pos, mutation.operator_name, mutation.occurrence)


def sample(session: Path, size: int, seed: int) -> None:
    """Leave all but `size` of the session's pending mutants out, recorded as skipped with
    the output `NOT_SAMPLED`. The pick depends on the seed and on the mutants (their line,
    operator and occurrence), not on their random job ids: the same seed and source give the
    same sample. Mutants already run stay as they are. A `size` larger than the session's
    sample grows it: mutants left out are drawn back in (with the same seed) until `size`
    have run or are pending; the ones already in the sample stay in it."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=_position)
        completed = list(db.completed_work_items)
        already_run = sum(
            1 for _, result in completed if result.worker_outcome is not WorkerOutcome.SKIPPED
        )
        left_out = sorted(
            (item for item, result in completed if result.output == NOT_SAMPLED), key=_position
        )
        keep = max(size - already_run, 0)
        if keep > len(pending) and left_out:
            extra = min(keep - len(pending), len(left_out))
            back = [item.job_id for item in random.Random(seed).sample(left_out, extra)]
        elif keep < len(pending):
            chosen = {item.job_id for item in random.Random(seed).sample(pending, keep)}
            db.set_multiple_results(
                [item.job_id for item in pending if item.job_id not in chosen],
                WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=NOT_SAMPLED),
            )
            return
        else:
            return
    with sqlite3.connect(session) as raw:
        raw.executemany("DELETE FROM work_results WHERE job_id = ?", [(j,) for j in back])


def mutate(
    module: str,
    *,
    retest_survivors: bool = False,
    sample_size: int | None = None,
    seed: int = DEFAULT_SEED,
) -> Tally:
    """Run (or resume) the session of one module; its tally. With `retest_survivors`, the
    mutants that survived are run again (after new tests were written for them). With
    `sample_size`, a fixed sample of that many mutants runs (see `sample`)."""
    config = _config(module, MODULES[module])
    session = config.with_suffix(".sqlite")
    _same_source(module, session)
    if retest_survivors and session.exists():
        with sqlite3.connect(session) as db:
            db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    for cached in (ROOT / "src").rglob("__pycache__"):
        shutil.rmtree(cached)
    if not session.exists():
        _run("cosmic-ray", "init", str(config), str(session))
        _run("cr-filter-operators", str(session), str(config))
        _run("cr-filter-pragma", str(session))
    exclude_equivalent(session, module)
    if sample_size is not None:
        sample(session, sample_size, seed)
    _run("cosmic-ray", "exec", str(config), str(session))
    return tally(module, session)


def _same_source(module: str, session: Path) -> None:
    """Refuse to resume (or retest) a session whose module changed since it began, and note
    the source of a new one. cosmic-ray finds a mutant again by its operator and occurrence
    (the n-th number, the n-th `==`), not by position: after an edit the same job may mutate
    another spot, and its old result would stand for a mutant no longer run."""
    digest = hashlib.sha256((SRC / module).read_bytes()).hexdigest()
    mark = session.with_suffix(".source")
    if not session.exists():
        mark.write_text(digest, encoding="utf-8")
        return
    if mark.exists() and mark.read_text(encoding="utf-8").strip() != digest:
        raise SystemExit(
            f"{module} changed since its session began: its mutants would not be the ones "
            f"run before. Delete {session.relative_to(ROOT)} (and {mark.name}) to start again."
        )


def tally(module: str, session: Path, listed: list[Equivalent] | None = None) -> Tally:
    """The module's session counted; survivors matching an entry of ``listed`` (the
    equivalent mutants' table, read from docs/reliability.md when not given) are counted as
    equivalent, apart from the rest."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    if listed is None:
        listed = equivalents(EQUIVALENTS_DOC.read_text(encoding="utf-8"))
    source = (SRC / module).read_text(encoding="utf-8").splitlines()
    spots, unmatched = classify(module, listed, source)
    seen: set[_Spot] = set()
    killed, survived, equivalent = 0, [], []
    not_sampled, excluded, timed_out = 0, 0, 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome is WorkerOutcome.SKIPPED:
                # a filtered operator, a `# pragma: no mutate` line, out of the sample, or
                # equivalent by rule
                not_sampled += result.output == NOT_SAMPLED
                excluded += (result.output or "").startswith(EQUIVALENT)
                continue
            (mutation,) = item.mutations
            line, col = mutation.start_pos
            key = matching(spots, line, col, mutation.operator_name, result.diff or "")
            where = f"line {line}: {mutation.operator_name}"
            entry = None if key is None else spots[key]
            if key is not None:
                seen.add(key)
            if result.test_outcome is TestOutcome.SURVIVED:
                if entry is None:
                    survived.append(f"{where} (job {item.job_id})")
                else:
                    changed = f" → `{entry.becomes}`" if entry.becomes else ""
                    equivalent.append(f"{where} `{entry.code}`{changed}: {entry.why}")
            else:  # killed, timed out, or a mutant that does not even import
                killed += 1
                timed_out += result.output == "timeout"
                if entry is not None:
                    unmatched.append(f"{where}: listed as equivalent, but a test kills it")
        pending = len(db.pending_work_items)
    unmatched += [
        f"line {k[0]}: {k[3]} (listed, not run in this session)" for k in spots if k not in seen
    ]

    def by_line(entries: list[str]) -> list[str]:
        return sorted(entries, key=lambda s: int(s.split()[1].rstrip(":")))

    return Tally(
        module,
        killed,
        by_line(survived),
        not_sampled,
        pending,
        excluded,
        by_line(equivalent),
        by_line(unmatched),
        timed_out,
    )


def report(tallies: list[Tally]) -> str:
    lines = [
        "| module | mutants | excluded as equivalent by rule | run | killed "
        "| killed, by timeout | survived, listed as equivalent | survived, not listed "
        "| kill rate | mutation score (listed equivalents out) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in tallies:
        notes = [
            *(["sampled"] if t.not_sampled else []),
            *([f"{t.pending} pending"] if t.pending else []),
        ]
        run = f"{t.total} ({', '.join(notes)})" if notes else f"{t.total}"
        lines.append(
            f"| {t.module} | {t.mutants} | {t.excluded} | {run} | {t.killed} | {t.timed_out} "
            f"| {len(t.equivalent)} | {len(t.survived)} | {t.rate:.1%} | {t.score:.1%} |"
        )
    if tallies:
        killed = sum(t.killed for t in tallies)
        total = sum(t.total for t in tallies)
        listed = sum(len(t.equivalent) for t in tallies)
        others = sum(len(t.survived) for t in tallies)
        lines.append(
            f"| all | {sum(t.mutants for t in tallies)} | {sum(t.excluded for t in tallies)} "
            f"| {total} | {killed} | {sum(t.timed_out for t in tallies)} | {listed} | {others} "
            f"| {killed / total if total else 1.0:.1%} "
            f"| {killed / (total - listed) if total - listed else 1.0:.1%} |"
        )
    for t in tallies:
        if t.survived:
            lines += [
                "",
                f"Survivors in {t.module}, not listed as equivalent (`cosmic-ray apply` shows "
                "one; kill it with a test, or list it in docs/reliability.md's table of "
                "equivalent mutants with the reason):",
                "",
            ]
            lines += [f"- {s}" for s in t.survived]
        if t.equivalent:
            lines += ["", f"Survivors in {t.module} listed as equivalent:", ""]
            lines += [f"- {s}" for s in t.equivalent]
        if t.unmatched:
            lines += [
                "",
                f"Entries of the equivalent mutants' table for {t.module} that match no survivor:",
                "",
            ]
            lines += [f"- {s}" for s in t.unmatched]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"some of: {', '.join(MODULES)}")
    parser.add_argument(
        "--report-only", action="store_true", help="tally the stored sessions, run nothing"
    )
    parser.add_argument(
        "--retest-survivors", action="store_true", help="run the surviving mutants again"
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="run a fixed pseudo-random sample of N mutants of each module (see --seed)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"the sample's seed ({DEFAULT_SEED})"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown modules {unknown}; known: {', '.join(MODULES)}")
    OUT.mkdir(exist_ok=True)
    tallies = []
    for module in args.modules or list(MODULES):
        session = _config(module, MODULES[module]).with_suffix(".sqlite")
        if args.report_only:
            if session.exists():
                tallies.append(tally(module, session))
            continue
        tallies.append(
            mutate(
                module,
                retest_survivors=args.retest_survivors,
                sample_size=args.sample,
                seed=args.seed,
            )
        )
    text = report(tallies)
    (OUT / "report.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
