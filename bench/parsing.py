"""`python -m bench.parsing`: how fast the import parsers read the largest body the API accepts.

    python -m bench.parsing [--mb 200] [--out bench/results]

Writes a body of `--mb` MB (default: HASHTAG_MAX_BODY_BYTES's default, 200 MiB) in each format
to a temporary file and times `iter_rows` over it (parsing only: no validation, no database),
plus JSON arrays whose single element is a whole record limit (4 Mi characters) or 50 MB
(refused once the limit is passed). Goal (issue 14): >= 20 MB/s for every format, and time
linear in the size (the 50 MB element took 30-35 s before). Results: parsing.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hashtag_core.bounds import MAX_RECORD_CHARS
from hashtag_core.config import Settings
from hashtag_core.ingest.parsers import ImportFormat, iter_rows

RESULTS = Path(__file__).resolve().parent / "results"
_FIELDS = ("platform", "post_id", "account", "text", "posted_at", "likes", "comments", "reach")


def _record(i: int) -> dict[str, Any]:
    return {
        "platform": "instagram",
        "post_id": f"1789{i:012d}",
        "account": f"park{i % 40}",
        "text": f"A day at the park with rides and a parade #legoland #ride{i % 500} {i} "
        + "and the sun came out for the water slides. " * 6,
        "posted_at": "2025-06-07T10:15:00+01:00",
        "likes": i % 1000,
        "comments": i % 50,
        "reach": 1000 + i % 5000,
    }


def _lines(fmt: ImportFormat, size: int) -> Iterator[bytes]:
    written, i = 0, 0
    if fmt is ImportFormat.CSV:
        yield (",".join(_FIELDS) + "\n").encode()
    if fmt is ImportFormat.JSON:
        yield b"["
    while written < size:
        record = _record(i)
        if fmt is ImportFormat.CSV:
            line = ",".join(f'"{record[k]}"' for k in _FIELDS) + "\n"
        elif fmt is ImportFormat.JSON:
            line = ("," if i else "") + json.dumps(record) + "\n"
        else:
            line = json.dumps(record) + "\n"
        data = line.encode()
        written += len(data)
        i += 1
        yield data
    if fmt is ImportFormat.JSON:
        yield b"]"


def _time(path: Path, fmt: ImportFormat) -> dict[str, Any]:
    started = time.perf_counter()
    rows = errors = 0
    with path.open("rb") as stream:
        for row in iter_rows(stream, fmt):
            rows += 1
            errors += row.data is None
    seconds = time.perf_counter() - started
    mb = path.stat().st_size / 1e6
    return {
        "mb": round(mb, 1),
        "rows": rows,
        "errors": errors,
        "s": round(seconds, 2),
        "mb_per_s": round(mb / seconds, 1),
    }


def _measure(folder: Path, name: str, fmt: ImportFormat, chunks: Iterator[bytes]) -> dict[str, Any]:
    path = folder / name
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    try:
        result = _time(path, fmt)
    finally:
        path.unlink()
    print(f"  {name}: {result}", flush=True)
    return result


def _one_element(chars: int) -> Iterator[bytes]:
    record = {**_record(0), "text": "x" * chars}
    yield json.dumps([record]).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_mb = Settings.model_fields["max_body_bytes"].default / 2**20
    parser.add_argument("--mb", type=float, default=default_mb)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    size = int(args.mb * 2**20)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fmt in ImportFormat:
            results[fmt.value] = _measure(folder, f"body.{fmt.value}", fmt, _lines(fmt, size))
        results["json_one_record_limit_element"] = _measure(
            folder, "limit.json", ImportFormat.JSON, _one_element(MAX_RECORD_CHARS - 1000)
        )
        results["json_one_50mb_element"] = _measure(
            folder, "huge.json", ImportFormat.JSON, _one_element(50_000_000)
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "parsing.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
