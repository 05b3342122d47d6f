"""One forced full recompute in this process; prints one JSON line with the wall time and
the process's peak RSS (run by bench.recompute so that the RSS is the recompute's alone)."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from hashtag_core.aggregates.service import recompute


async def _run(url: str) -> dict[str, object]:
    engine = create_async_engine(url)
    try:
        started = time.perf_counter()
        outcome = await recompute(engine, force=True)
        wall = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "seconds": wall,
        "status": outcome.status,
        "duration_ms": outcome.duration_ms,
        "rows": outcome.rows,
    }


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that across execve, so a
    child started by the 1M-post benchmark reported its parent's peak (15 GB), not its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: best effort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    if args.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled")
        profiler.start()
        result = asyncio.run(_run(args.database_url))
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=False, color=False))
    else:
        result = asyncio.run(_run(args.database_url))
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
