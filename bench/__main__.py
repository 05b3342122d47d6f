"""`python -m bench`: every measure of the million-post issue, each against a baseline measured
in the same run, at each size; writes bench.json, docs/benchmarks.md and docs/benchmarks.png.

    python -m bench [--sizes 10000,100000,1000000] [--smoke] [--out bench/results]

Servers: HASHTAG_BENCH_DATABASE_URL / HASHTAG_BENCH_REDIS_URL, else the project's embedded
PostgreSQL and Redis under .data/bench (as `make up`). Each size gets fresh databases, dropped
afterwards. See bench/README.md for what each measure compares.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import ingest, reads, recompute, report
from bench.machine import describe
from bench.services import Servers, fresh_database, servers
from bench.workload import bench_config, generate

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
RESULTS = Path(__file__).resolve().parent / "results"


def _step(label: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measure; a failure is recorded in the results instead of ending the run."""
    print(f"  {label} ...", flush=True)
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as error:
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {error}"}
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _freshness(database_url: str, redis_url: str, updates: int, limit_s: float) -> dict[str, Any]:
    try:
        from bench import freshness  # another part of the issue; optional here
    except ImportError as error:
        return {"error": f"bench.freshness is missing: {error}"}

    async def run() -> dict[str, Any]:
        measured = freshness.measure(database_url, redis_url, updates=updates)
        return dict(await asyncio.wait_for(measured, timeout=limit_s))

    try:
        return asyncio.run(run())
    except TimeoutError:
        return {"error": f"not finished after {limit_s:.0f} s ({updates} updates)"}


def _collect(smoke: bool) -> dict[str, Any]:
    from bench.collect_concurrency import main as collect_main

    latency = 5 if smoke else 100
    result: dict[str, Any] = asyncio.run(collect_main(latency, 5))
    return {"latency_ms": latency, **result}


def _size(posts: int, srv: Servers, *, smoke: bool, out: Path, profile: bool) -> dict[str, Any]:
    print(f"== {posts:,} posts", flush=True)
    workload = generate(posts)
    shape = workload.shape
    print(
        f"  workload: {shape['posts']:,} posts, {shape['links']:,} links "
        f"({shape['links_per_post']}/post), {shape['hashtags']:,} hashtags, "
        f"{shape['accounts']} accounts on {shape['platforms']} platforms "
        f"(generated in {workload.generate_s:.1f} s)",
        flush=True,
    )
    config = bench_config(posts)
    result: dict[str, Any] = {
        "posts": posts,
        "workload": {**shape, "generate_s": workload.generate_s, "tail_scale": config.tail_scale},
    }
    label = f"{posts}"
    with fresh_database(srv.database_url, label) as url:
        result["ingest"] = _step(
            "ingest: import path", lambda: ingest.measure_import(url, workload.records)
        )
        with fresh_database(srv.database_url, f"{label}_copy") as copy_url:
            result["copy"] = _step("ingest: raw COPY", lambda: ingest.measure_copy(url, copy_url))
        if profile:
            with fresh_database(srv.database_url, f"{label}_prof") as prof_url:
                result["import_profile"] = _step(
                    "profile: import of 100k posts",
                    lambda: ingest.profile_import(
                        prof_url, workload.records[:100_000], out / "profile_import.txt"
                    ),
                )
        workload.records.clear()  # free the memory before the recompute measures
        gc.collect()
        now = recompute.utc_now()
        result["recompute_process"] = _step(
            "recompute: child process", lambda: recompute.measure_process(url)
        )
        result["sql"] = _step("recompute: SQL baseline", lambda: recompute.measure_sql(url, now))
        result["compute"] = _step(
            "recompute: polars vs pandas", lambda: recompute.measure_compute(url, now)
        )
        if profile:
            result["recompute_profile"] = _step(
                "profile: recompute",
                lambda: recompute.measure_process(url, profile=out / "profile_recompute.txt"),
            )
        result["reads"] = _step(
            "reads under load",
            lambda: reads.measure_reads(
                url,
                srv.redis_url,
                seconds=1 if smoke else 10,
                warmup=0 if smoke else 1,
                depth=3 if smoke else 20,
                workdir=out / "logs" / label,
            ),
        )
        result["freshness"] = _step(
            "freshness",
            lambda: _freshness(
                url, srv.redis_url, 5 if smoke else 200, limit_s=120 if smoke else 900
            ),
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--smoke", action="store_true", help="10k posts, short runs (CI).")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--docs", type=Path, default=None, help="Default: docs/ unless --smoke.")
    parser.add_argument("--no-collect", action="store_true", help="Skip the collection bench.")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the servers stop and the databases are dropped.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    sizes = [10_000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    out: Path = args.out
    # The API's per-client rate limit (600/min by default) would refuse a load generator on
    # one address; a budget that is never reached keeps the limiter's Redis call per request.
    for name in ("HASHTAG_RATE_LIMIT_PER_MINUTE", "HASHTAG_RATE_LIMIT_WRITES_PER_MINUTE"):
        os.environ.setdefault(name, str(10**9))
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "smoke": args.smoke,
        "sizes": {},
    }
    with servers(
        os.environ.get("HASHTAG_BENCH_DATABASE_URL"), os.environ.get("HASHTAG_BENCH_REDIS_URL")
    ) as srv:
        results["machine"] = describe(srv.database_url)
        for posts in sizes:
            profile = not args.smoke and posts == max(sizes) and posts >= 1_000_000
            results["sizes"][str(posts)] = _size(
                posts, srv, smoke=args.smoke, out=out, profile=profile
            )
            (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    if not args.no_collect:
        results["collect"] = _step("collection concurrency", lambda: _collect(args.smoke))
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    docs = args.docs if args.docs is not None else (None if args.smoke else report.DOCS)
    if docs is not None:
        report.write(results, docs)
    print(report.summary(results))
    print(f"results written to {out / 'bench.json'}")


if __name__ == "__main__":
    main()
