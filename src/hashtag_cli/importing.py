"""`hashtag-analysis import`: stream files into the database through the import service.

Files are never read whole: the parsers (or a dataset mapping) read them incrementally and
`import_rows` stores them batch by batch. Progress is measured in bytes read from the file,
counted where the bytes leave the operating system (a FileIO subclass), so it is exact for
every format and for the mapping reader alike.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PosixPath
from typing import IO, TYPE_CHECKING, Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.queue import ArqJobQueue
from hashtag_cli.console import EXIT_USAGE, CliError, console, err_console
from hashtag_cli.services import open_engine, open_queue
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.ingest.mappings import (
    MAPPINGS,
    SKIP_MALFORMED,
    detect_mapping,
    iter_mapped_records,
)
from hashtag_core.ingest.parsers import ImportFormat, RawRow, detect_format, iter_rows
from hashtag_core.posts.schemas import ImportResult
from hashtag_core.posts.service import import_rows

if TYPE_CHECKING:  # a typeshed-only name, not importable at run time
    from _typeshed import WriteableBuffer

__all__ = [
    "AUTO_MAPPING",
    "FileOutcome",
    "ImportOptions",
    "Source",
    "import_files",
    "plan_sources",
    "print_outcome",
    "print_total",
    "run_import",
]

#: `--mapping auto`: pick the mapping from each file's CSV header.
AUTO_MAPPING = "auto"
_SHOWN_ERRORS = 10

OnRead = Callable[[int], None]


@dataclass(frozen=True)
class ImportOptions:
    """What every file of one `import` run shares."""

    batch_rows: int
    max_errors: int
    timezone: str | None = None


@dataclass(frozen=True)
class Source:
    """One file and how to read it: a record format, or a dataset mapping (CSV)."""

    path: Path
    fmt: ImportFormat
    mapping: str | None = None


@dataclass
class FileOutcome:
    """What importing one file did."""

    source: Source
    result: ImportResult
    skipped: Counter[str] = field(default_factory=Counter)


# --- counting bytes ----------------------------------------------------------------------------


class _CountingFileIO(io.FileIO):
    """A file that reports how many bytes each read returned."""

    def __init__(self, path: Path, on_read: OnRead) -> None:
        super().__init__(os.fspath(path), "rb")
        self._on_read = on_read

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        count = super().readinto(buffer)
        if count:
            self._on_read(count)
        return count


class _MeteredPath(PosixPath):
    """A path whose `open()` counts bytes: the mapping reader opens the file by path."""

    on_read: OnRead

    def open(  # type: ignore[override]  # text mode only, which is all the mapping uses
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IO[Any]:
        if mode not in ("r", "rt"):
            raise ValueError(f"{self}: only text reads are metered, not mode {mode!r}")
        raw = io.BufferedReader(_CountingFileIO(self, self.on_read))
        return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)


# --- planning ----------------------------------------------------------------------------------


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path} is a directory; pass its files, e.g. {path}/*.csv")


def _header(path: Path) -> list[str]:
    # Column names are ASCII in every known export, so any 8-bit encoding reads them.
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(handle), None) or []


def _resolve_mapping(path: Path, mapping: str) -> str:
    header = _header(path)
    if mapping != AUTO_MAPPING:
        # Checked before any file is imported, so a stray file in a glob stops nothing half-way.
        present = {name.strip().lstrip("\ufeff").strip('"') for name in header}
        missing = [c for c in MAPPINGS[mapping].columns if c not in present]
        if missing:
            raise CliError(f"{path}: not a {mapping!r} export (missing columns {missing})")
        return mapping
    found = detect_mapping(header)
    if found is None:
        known = ", ".join(sorted(MAPPINGS))
        raise CliError(
            f"{path}: no mapping recognises its header; pass --mapping with one of {known}, "
            "or drop --mapping for files of canonical post records"
        )
    return found


def _resolve_format(path: Path, fmt: ImportFormat | None) -> ImportFormat:
    found = fmt or detect_format(None, path.name)
    if found is None:
        raise CliError(
            f"{path}: cannot tell the format from the extension; pass --format ndjson, csv or json",
            exit_code=EXIT_USAGE,
        )
    return found


def plan_sources(paths: list[Path], fmt: ImportFormat | None, mapping: str | None) -> list[Source]:
    """Check every file before importing any, and decide how each one is read."""
    if mapping and fmt not in (None, ImportFormat.CSV):
        raise CliError(
            "--mapping reads CSV exports; drop --format or use --format csv", exit_code=EXIT_USAGE
        )
    for path in paths:
        _check_file(path)
    if mapping:
        return [Source(p, ImportFormat.CSV, _resolve_mapping(p, mapping)) for p in paths]
    return [Source(p, _resolve_format(p, fmt)) for p in paths]


# --- reading -----------------------------------------------------------------------------------


def _mapped_rows(path: Path, mapping: str, skipped: Counter[str]) -> Iterator[RawRow]:
    for item in iter_mapped_records(path, mapping):
        if item.record is not None:
            yield RawRow(item.row_number, dict(item.record))
        elif item.skip_reason and item.skip_reason.startswith(SKIP_MALFORMED):
            yield RawRow(item.row_number, None, item.skip_reason)  # an error, not a choice
        else:
            skipped[item.skip_reason or "skipped"] += 1


def _with_timezone(rows: Iterator[RawRow], timezone: str) -> Iterator[RawRow]:
    for raw in rows:
        if raw.data is not None and not raw.data.get("account_timezone"):
            raw = RawRow(raw.row, {**raw.data, "account_timezone": timezone})
        yield raw


@contextmanager
def _open_rows(
    source: Source, on_read: OnRead, skipped: Counter[str], timezone: str | None
) -> Iterator[Iterator[RawRow]]:
    if source.mapping:
        path = _MeteredPath(source.path)
        path.on_read = on_read
        rows = _mapped_rows(path, source.mapping, skipped)
        yield _with_timezone(rows, timezone) if timezone else rows
        return
    with io.BufferedReader(_CountingFileIO(source.path, on_read)) as stream:
        rows = iter_rows(stream, source.fmt)
        yield _with_timezone(rows, timezone) if timezone else rows


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )


# --- importing ---------------------------------------------------------------------------------


async def _import_one(
    engine: AsyncEngine, queue: ArqJobQueue, source: Source, options: ImportOptions
) -> FileOutcome:
    skipped: Counter[str] = Counter()
    size = source.path.stat().st_size
    with _progress() as progress:
        task = progress.add_task(escape(source.path.name), total=size)

        def on_read(count: int) -> None:
            progress.advance(task, count)

        with _open_rows(source, on_read, skipped, options.timezone) as rows:
            async with create_sessionmaker(engine)() as session:
                result = await import_rows(
                    session,
                    rows,
                    queue=queue,
                    batch_rows=options.batch_rows,
                    max_errors=options.max_errors,
                )
        progress.update(task, completed=size)
    return FileOutcome(source, result, skipped)


async def import_files(
    engine: AsyncEngine, queue: ArqJobQueue, sources: list[Source], options: ImportOptions
) -> list[FileOutcome]:
    """Import the files one after the other, printing each one's summary when it is done."""
    outcomes = []
    for source in sources:
        outcome = await _import_one(engine, queue, source, options)
        print_outcome(outcome)
        outcomes.append(outcome)
    if len(outcomes) > 1:
        print_total(outcomes)
    return outcomes


async def run_import(
    settings: Settings, sources: list[Source], options: ImportOptions
) -> list[FileOutcome]:
    """Import `sources` into the database `settings` names, queueing the recomputes."""
    async with open_engine(settings) as engine, open_queue(settings) as queue:
        return await import_files(engine, queue, sources, options)


# --- reporting ---------------------------------------------------------------------------------


def _counts(result: ImportResult) -> str:
    return (
        f"received {result.received:,} · inserted {result.inserted:,} · "
        f"updated {result.updated:,} · rejected {result.rejected:,}"
    )


def _error_lines(result: ImportResult) -> Iterator[str]:
    for error in result.errors[:_SHOWN_ERRORS]:
        where = f"row {error.row}" + (f", field {error.field}" if error.field else "")
        yield f"  {where}: {error.message}"
    listed = {e.row for e in result.errors[:_SHOWN_ERRORS]}
    if result.rejected > len(listed):
        yield f"  ... {result.rejected - len(listed):,} more rejected rows"


def _job_line(result: ImportResult) -> str | None:
    if result.job_id is None:
        return None
    if result.job_queued:
        return f"  recompute queued as job {result.job_id} (GET /jobs/{result.job_id})"
    return (
        f"  recompute not queued: Redis is unreachable; the worker's catch-up will pick up "
        f"data version {result.data_version} once Redis and the worker run"
    )


def print_total(outcomes: list[FileOutcome]) -> None:
    """The sums over several files."""
    total = ImportResult(
        received=sum(o.result.received for o in outcomes),
        stored=sum(o.result.stored for o in outcomes),
        inserted=sum(o.result.inserted for o in outcomes),
        updated=sum(o.result.updated for o in outcomes),
        duplicates_in_body=sum(o.result.duplicates_in_body for o in outcomes),
        rejected=sum(o.result.rejected for o in outcomes),
        errors=[],
        errors_truncated=False,
        ignored_fields=[],
        data_version=None,
        job_id=None,
        job_queued=False,
    )
    skipped = sum(sum(o.skipped.values()) for o in outcomes)
    console.print(
        f"[bold]total, {len(outcomes)} files[/]: {_counts(total)} · skipped {skipped:,}",
        highlight=False,
    )


def print_outcome(outcome: FileOutcome) -> None:
    """One file's summary: counts, skipped rows, the first errors and the recompute job."""
    result = outcome.result
    console.print(
        f"[bold]{escape(str(outcome.source.path))}[/]: {_counts(result)}", highlight=False
    )
    for reason, count in outcome.skipped.most_common():
        console.print(f"  skipped {count:,} rows: {escape(reason)}", highlight=False)
    if result.ignored_fields:
        console.print(
            f"  ignored fields: {escape(', '.join(result.ignored_fields))}", highlight=False
        )
    for line in _error_lines(result):
        console.print(escape(line), highlight=False, soft_wrap=True)
    job = _job_line(result)
    if job:
        console.print(escape(job), highlight=False, soft_wrap=True)
