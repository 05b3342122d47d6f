"""Freshness: from `POST /update-post` returning to `GET /hashtags/{tag}` showing the change.

```
uv run python -m bench.freshness --posts 100000 [--updates 200]
```

Standalone, it creates a fresh database (on the given or embedded servers), loads the issue's
workload at `--posts` posts through the import path, runs a full recompute, then `measure`s.
`measure` works on any database already loaded and fully recomputed: it starts a real API
(`hashtag-analysis api`, uvicorn) and a real arq worker (`hashtag-analysis worker`) as
subprocesses, then `updates` times picks a post, posts a new likes count for it, and polls the
all-time figures of one of its hashtags until the mean engagement moves. Latency is from the
POST returning to the first GET that shows the change (the poll runs every 10 ms, so that is
the resolution). Half of the posts carry one of the 20 most used hashtags (the most popular
has ~10% of all posts), the other half hashtags drawn evenly over the popularity ranks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

__all__ = ["measure"]

API_KEY = "freshness-bench-key"
_AUTH = {"Authorization": f"Bearer {API_KEY}"}
_POLL_S = 0.01
_TIMEOUT_S = 60.0
_WARM_UP = 3
_RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class _Target:
    platform: str
    post_id: str
    likes: int
    tag: str  # hashtag key polled
    popular: bool


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _targets(database_url: str, count: int, seed: int) -> list[_Target]:
    """`count` posts (distinct) with the hashtag to watch: half on popular hashtags."""
    conn = await asyncpg.connect(_plain(database_url))
    try:
        anchor = await conn.fetchval(
            "SELECT coalesce(full_computed_at, computed_at) FROM recompute_state"
        )
        ranked = await conn.fetch(
            "SELECT h.id, h.key FROM hashtag_performance hp JOIN hashtag h ON h.id = hp.hashtag_id "
            "WHERE hp.platform = '*' AND hp.account_id = 0 AND hp.\"window\" = 'all' "
            "ORDER BY hp.posts DESC, h.id"
        )
        rng = random.Random(seed)
        popular = ranked[:20]
        spread = [ranked[int(i * len(ranked) / count)] for i in range(count)]
        picks = [(rng.choice(popular), True) for _ in range(count - count // 2)]
        picks += [(tag, False) for tag in rng.sample(spread, count // 2)]
        rng.shuffle(picks)
        found: list[_Target] = []
        used: set[int] = set()
        for tag, is_popular in picks:
            rows = await conn.fetch(
                "SELECT p.id, p.platform, p.platform_post_id, p.likes FROM post_hashtag ph "
                "JOIN post p ON p.id = ph.post_id WHERE ph.hashtag_id = $1 AND p.posted_at <= $2 "
                "ORDER BY md5(p.id::text || $3) LIMIT 20",
                tag["id"],
                anchor,
                str(seed),
            )
            row = next((r for r in rows if r["id"] not in used), None)
            if row is None:
                continue
            used.add(row["id"])
            found.append(
                _Target(row["platform"], row["platform_post_id"], row["likes"] or 0, tag["key"],
                        is_popular)
            )  # fmt: skip
        return found
    finally:
        await conn.close()


async def _forget_stale_jobs(database_url: str, redis_url: str) -> None:
    """Drop kept results of recompute jobs for data versions this database has not reached:
    they come from another database that used the same Redis (a fresh database starts again
    at version 1), and arq refuses to queue a job id whose result it still keeps."""
    from arq.connections import RedisSettings, create_pool

    from hashtag_core.jobs import RECOMPUTE_JOB_PREFIX, parse_recompute_job_id

    conn = await asyncpg.connect(_plain(database_url))
    try:
        version = int(await conn.fetchval("SELECT version FROM data_version"))
    finally:
        await conn.close()
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        prefix = f"arq:result:{RECOMPUTE_JOB_PREFIX}"
        stale = [
            key
            async for key in redis.scan_iter(match=f"{prefix}*")
            if (found := parse_recompute_job_id(key.decode()[len("arq:result:") :])) is not None
            and found > version
        ]
        if stale:
            await redis.delete(*stale)
    finally:
        await redis.aclose()


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hashtag_cli", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _figure(client: httpx.AsyncClient, tag: str) -> float | None:
    response = await client.get(f"/hashtags/{tag}", params={"limit": 1}, headers=_AUTH)
    response.raise_for_status()
    figures = response.json()["figures"]
    return None if figures is None else float(figures["avg_engagement"])


async def _one(client: httpx.AsyncClient, target: _Target, likes: int) -> float:
    """Seconds from the update's response to the first read showing it (_TIMEOUT_S: never)."""
    before = await _figure(client, target.tag)
    response = await client.post(
        "/update-post",
        json={"platform": target.platform, "post_id": target.post_id, "likes": likes},
        headers=_AUTH,
    )
    response.raise_for_status()
    posted = time.perf_counter()
    while time.perf_counter() - posted < _TIMEOUT_S:
        if await _figure(client, target.tag) != before:
            return time.perf_counter() - posted
        await asyncio.sleep(_POLL_S)
    return _TIMEOUT_S


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 200 values = the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


async def measure(database_url: str, redis_url: str, updates: int = 200) -> dict[str, float]:
    """Freshness percentiles (seconds) over `updates` updates, with a real API and worker.

    The database must be loaded and fully recomputed; the Redis database should be one of
    the caller's own (the worker takes every job queued there).
    """
    targets = await _targets(database_url, updates + _WARM_UP, seed=updates)
    await _forget_stale_jobs(database_url, redis_url)
    port = _free_port()
    env = {
        "HASHTAG_DATABASE_URL": database_url,
        "HASHTAG_REDIS_URL": redis_url,
        "HASHTAG_API_KEYS": API_KEY,
        "HASHTAG_COLLECT_CRON_MINUTES": "0",
        "HASHTAG_RECOMPUTE_CRON_MINUTES": "0",
        "HASHTAG_WORKER_METRICS_PORT": "0",
        "HASHTAG_RATE_LIMIT_PER_MINUTE": "0",  # the poll reads every 10 ms
        "HASHTAG_RATE_LIMIT_WRITES_PER_MINUTE": "0",
        "HASHTAG_LOG_LEVEL": "WARNING",
        "HASHTAG_LOG_FORMAT": "text",
    }
    logs = Path(tempfile.mkdtemp(prefix="freshness-"))
    api = _start(["api", "--host", "127.0.0.1", "--port", str(port)], env, logs / "api.log")
    worker = _start(["worker"], env, logs / "worker.log")
    latencies: list[tuple[float, bool]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or api.poll() is not None:
                    raise RuntimeError(f"API did not start; see {logs / 'api.log'}")
                await asyncio.sleep(0.2)
            for i, target in enumerate(targets):
                seconds = await _one(client, target, target.likes + 1_000 + i)
                if i >= _WARM_UP:
                    latencies.append((seconds, target.popular))
    finally:
        _stop(api)
        _stop(worker)
    values = [s for s, _p in latencies]
    popular = [s for s, p in latencies if p] or [0.0]
    rare = [s for s, p in latencies if not p] or [0.0]
    return {
        "updates": float(len(values)),
        "p50_s": _percentile(values, 50),
        "p90_s": _percentile(values, 90),
        "p99_s": _percentile(values, 99),
        "max_s": max(values),
        "mean_s": statistics.fmean(values),
        "popular_p50_s": _percentile(popular, 50),
        "popular_p99_s": _percentile(popular, 99),
        "rare_p50_s": _percentile(rare, 50),
        "rare_p99_s": _percentile(rare, 99),
        "timeouts": float(sum(s >= _TIMEOUT_S for s in values)),
    }


#: hashtag_performance of one hashtag in SQL (scopes by GROUPING SETS, medians by
#: percentile_cont), to compare with loading the hashtag's posts into polars.
_PERFORMANCE_SQL = """
WITH w(name, start) AS (
    SELECT name, $2::timestamptz - make_interval(days => days)
    FROM unnest(ARRAY['7d', '30d', '90d', '365d', 'all'], ARRAY[7, 30, 90, 365, NULL])
        AS t(name, days)
), p AS (
    SELECT p.platform, p.account_id, p.posted_at, p.engagement,
           p.engagement::float8 / NULLIF(p.followers, 0) AS er_follower,
           p.engagement::float8 / NULLIF(p.reach, 0) AS er_reach,
           p.shares::float8 / NULLIF(coalesce(p.reach, p.impressions), 0) AS virality,
           p.reach, p.impressions
    FROM post p JOIN post_hashtag ph ON ph.post_id = p.id
    WHERE ph.hashtag_id = $1 AND p.posted_at <= $2::timestamptz
)
SELECT w.name, p.platform, p.account_id, count(*) AS posts, avg(p.engagement),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY p.engagement),
       avg(p.er_follower), count(p.er_follower), avg(p.er_reach), count(p.er_reach),
       avg(p.virality), count(p.virality), avg(p.reach), count(p.reach),
       avg(p.impressions), count(p.impressions)
FROM p JOIN w ON w.start IS NULL OR p.posted_at >= w.start
GROUP BY GROUPING SETS ((w.name, p.platform, p.account_id), (w.name, p.platform), (w.name))
"""


async def slice_timings(database_url: str, *, repeat: int = 5) -> dict[str, Any]:
    """Median seconds of the incremental slice for the most used hashtag: loading its posts
    and links, the polars figures (all four tables), writing the rows, and, for comparison,
    hashtag_performance alone computed in SQL."""
    from hashtag_core.aggregates import repository as repo
    from hashtag_core.aggregates.incremental import (
        BASELINE_SCHEMA,
        PRIOR_SCHEMA,
        incremental_frames,
    )
    from hashtag_core.analytics.insight_frames import GOALS
    from hashtag_core.config import Settings
    from hashtag_core.db import create_engine
    from hashtag_core.rawsql import in_transaction

    engine = create_engine(Settings(database_url=database_url), application_name="bench")
    timings: dict[str, list[float]] = {}

    def timed(name: str, started: float) -> None:
        timings.setdefault(name, []).append(time.perf_counter() - started)

    try:
        async with engine.connect() as conn:
            apg = await in_transaction(conn)
            top = await apg.fetchrow(
                "SELECT hashtag_id, posts FROM hashtag_performance WHERE platform = '*' "
                "AND account_id = 0 AND \"window\" = 'all' ORDER BY posts DESC LIMIT 1"
            )
            anchor = await apg.fetchval("SELECT full_computed_at FROM recompute_state")
            ids = [top["hashtag_id"]]
            baselines = await repo.load_baselines(conn, BASELINE_SCHEMA)
            priors = await repo.load_priors(conn, PRIOR_SCHEMA)
            for _ in range(repeat):
                started = time.perf_counter()
                posts = await repo.load_posts(conn, ids)
                links = await repo.load_links(conn, ids)
                timed("load_s", started)
                started = time.perf_counter()
                frames = incremental_frames(
                    posts, links, ids, now=anchor, baselines=baselines, priors=priors
                )
                timed("polars_s", started)
                started = time.perf_counter()
                await repo.replace_hashtag_rows(conn, frames, ids, computed_at=anchor, goals=GOALS)
                timed("write_s", started)
                started = time.perf_counter()
                sql_rows = await apg.fetch(_PERFORMANCE_SQL, ids[0], anchor)
                timed("sql_performance_only_s", started)
            await conn.rollback()  # leave the stored rows as they were
    finally:
        await engine.dispose()
    result: dict[str, Any] = {
        "hashtag_posts": top["posts"],
        "rows": {name: frame.height for name, frame in frames.items()},
        "sql_rows": len(sql_rows),
    }
    result.update({k: round(statistics.median(v), 4) for k, v in timings.items()})
    return result


async def _prepare(database_url: str, posts: int) -> dict[str, Any]:
    """Load the workload through the import path and run a full recompute; the timings."""
    from bench.workload import bench_config
    from hashtag_core.aggregates.service import recompute
    from hashtag_core.config import Settings
    from hashtag_core.db import create_engine, create_sessionmaker
    from hashtag_core.demo.load import load_demo

    class _NoQueue:
        async def enqueue(self, name: str, *args: object, job_id: str, defer_s: float = 0) -> bool:
            return False

    engine = create_engine(Settings(database_url=database_url), application_name="bench")
    try:
        started = time.perf_counter()
        async with create_sessionmaker(engine)() as session:
            await load_demo(session, _NoQueue(), bench_config(posts), batch_rows=20_000)
        loaded = time.perf_counter()
        outcome = await recompute(engine)
        done = time.perf_counter()
    finally:
        await engine.dispose()
    return {
        "load_s": round(loaded - started, 1),
        "full_recompute_s": round(done - loaded, 1),
        "full_status": outcome.status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("HASHTAG_BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("HASHTAG_BENCH_REDIS_URL"))
    args = parser.parse_args()

    from bench.services import fresh_database, servers

    with (
        servers(args.database_url, args.redis_url) as found,
        fresh_database(found.database_url, "freshness") as url,
    ):
        prepared = asyncio.run(_prepare(url, args.posts))
        print(f"loaded {args.posts} posts: {prepared}", flush=True)
        slices = asyncio.run(slice_timings(url))
        print(f"slice of the most used hashtag: {slices}", flush=True)
        figures = asyncio.run(measure(url, found.redis_url, args.updates))
    result = {
        "posts": args.posts,
        **prepared,
        **{k: round(v, 4) for k, v in figures.items()},
        "slice": slices,
    }
    print(json.dumps(result, indent=2))
    _RESULTS.mkdir(exist_ok=True)
    (_RESULTS / f"freshness_{args.posts}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
