"""Measure 4 alone: the reads under load (`bench.reads`) on one database kept between runs,
plus the first read after a change (the cache just emptied), without the rest of `python -m
bench`. For before/after comparisons of the read path on a machine that cannot afford the
whole benchmark.

    python -m bench.reads_only --posts 10000 --database hashtag_bench_reads_10k [--seconds 10]
        [--stored-key]

`--stored-key` sends a stored API key (one made for the run, as `keys create` makes them) on
every request, as a deployment with keys does; without it the reads are open and keyless.

The database (on HASHTAG_BENCH_DATABASE_URL's server) is created, filled with the benchmark
workload and recomputed when it does not exist yet, and kept afterwards (drop it yourself).
Results: printed, and written to `--out` (JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import ingest, reads, recompute
from bench.services import plain, with_database
from hashtag_core.keys.service import hash_key
from hashtag_core.migrate import upgrade


async def _exists(server_url: str, name: str) -> bool:
    conn = await asyncpg.connect(plain(with_database(server_url, "postgres")), timeout=10)
    try:
        found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    return found is not None


async def _create(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(plain(with_database(server_url, "postgres")), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def prepare(server_url: str, name: str, posts: int) -> str:
    """The database's URL, filled and recomputed on first use."""
    url = with_database(server_url, name)
    if asyncio.run(_exists(server_url, name)):
        return url
    from bench.workload import generate  # only when filling

    asyncio.run(_create(server_url, name))
    upgrade(url)
    workload = generate(posts)
    ingest.measure_import(url, workload.records)
    recompute.measure_process(url)
    return url


async def _stored_key(url: str) -> str:
    """A new stored key with scope read, in the database at `url`."""
    plaintext = f"hk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    conn = await asyncpg.connect(plain(url), timeout=10)
    try:
        await conn.execute(
            "INSERT INTO api_key (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, '{read}')",
            f"bench-{plaintext[3:11]}",
            plaintext[:11],
            hash_key(plaintext),
        )
    finally:
        await conn.close()
    return plaintext


async def _first_reads(
    base: str, targets: dict[str, str], url: str, rounds: int, headers: dict[str, str]
) -> Any:
    """Per target, the latency of the first read after the cache was emptied (a NOTIFY on the
    cache's channel, as every change sends), `rounds` times."""
    conn = await asyncpg.connect(plain(url))
    out: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as client:
            for name, target in targets.items():
                times = []
                for _ in range(rounds):
                    await conn.execute("NOTIFY hashtag_read_cache")
                    await asyncio.sleep(0.05)  # delivered to the API's listener
                    started = time.perf_counter()
                    response = await client.get(target)
                    times.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                times.sort()
                out[name] = {
                    "rounds": rounds,
                    "p50_ms": statistics.median(times),
                    "p99_ms": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
                    "max_ms": times[-1],
                }
    finally:
        await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--database", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--first-rounds", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("bench/results/reads_only.json"))
    parser.add_argument("--stored-key", action="store_true", help="send a stored API key")
    args = parser.parse_args()
    server = os.environ["HASHTAG_BENCH_DATABASE_URL"]
    redis_url = os.environ["HASHTAG_BENCH_REDIS_URL"]
    for name in ("HASHTAG_RATE_LIMIT_PER_MINUTE", "HASHTAG_RATE_LIMIT_WRITES_PER_MINUTE"):
        os.environ.setdefault(name, str(10**9))  # as `python -m bench`
    url = prepare(server, args.database, args.posts)
    first: dict[str, Any] = {}
    headers = {}
    if args.stored_key:
        headers["Authorization"] = f"Bearer {asyncio.run(_stored_key(url))}"

    def probe(base: str, targets: dict[str, str]) -> None:
        found = _first_reads(base, targets, url, args.first_rounds, headers)
        first.update(asyncio.run(found))

    result = reads.measure_reads(
        url,
        redis_url,
        seconds=args.seconds,
        depth=20,
        workdir=args.out.parent / "logs" / "reads_only",
        probe=probe,
        headers=headers,
    )
    result["first_read_after_change"] = first
    result["key"] = "stored" if args.stored_key else "none"
    result["posts"] = args.posts
    result["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'endpoint':22} {'api rps':>9} {'p99':>7} {'bare rps':>9} {'p99':>7} {'ratio':>6}")
    for name, item in result["endpoints"].items():
        api, bare = item["api"], item["bare"]
        print(
            f"{name:22} {api['rps']:9.0f} {api['p99_ms']:7.1f} {bare['rps']:9.0f} "
            f"{bare['p99_ms']:7.1f} {item['throughput_ratio']:6.2f}"
        )
    for name, item in first.items():
        print(
            f"first read after a change, {name}: p50 {item['p50_ms']:.1f} ms, "
            f"p99 {item['p99_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
