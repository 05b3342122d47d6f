"""Measure 4: reads under load, the real API against a bare endpoint serving the same bytes.

The API runs as `hashtag-analysis api` does in production (its own process, uvicorn, one
worker, JSON logs to a file, request logging on); the bare app (`bench.bare`) is served by
the same uvicorn options. Each URL gets a short warm-up, then `seconds` at `connections`
concurrent keep-alive connections from the load generator (`bench.loadgen`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx

from bench.loadgen import load, tool
from bench.services import plain
from bench.stack import PREFIX

__all__ = ["measure_reads"]

CONNECTIONS = 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[None]:
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{command[2:4]} exited early; see {log}")
                try:
                    if httpx.get(ready, timeout=1).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[2:4]} not ready after 60 s; see {log}")
                time.sleep(0.2)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _popular(url: str) -> str:
    conn = await asyncpg.connect(plain(url))
    try:
        key: str = await conn.fetchval(
            "SELECT h.key FROM post_hashtag ph JOIN hashtag h ON h.id = ph.hashtag_id "
            "GROUP BY h.key ORDER BY count(*) DESC LIMIT 1"
        )
        return key
    finally:
        await conn.close()


def _targets(base: str, hashtag: str, depth: int) -> dict[str, str]:
    """name -> path?query of the benchmarked reads (follows `depth` pages for the deep one)."""
    page = f"/hashtags/{quote(hashtag, safe='')}?limit=50"
    cursor = None
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(depth):
            target = page if cursor is None else f"{page}&cursor={quote(cursor, safe='')}"
            response = client.get(target)
            response.raise_for_status()
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
    deep = page if cursor is None else f"{page}&cursor={quote(cursor, safe='')}"
    return {
        "hashtag_performance": "/hashtag-performance?limit=50",
        "engagement_trends": f"/engagement-trends?hashtag={quote(hashtag, safe='')}",
        "hashtag_deep_page": deep,
    }


def _bodies(
    base: str, targets: dict[str, str], headers: dict[str, str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        for target in targets.values():
            response = client.get(target)
            response.raise_for_status()
            out[target] = {
                "content_type": response.headers["content-type"],
                "body": base64.b64encode(response.content).decode(),
                "bytes": len(response.content),
            }
    return out


def _run_all(
    base: str,
    targets: dict[str, str],
    seconds: float,
    warmup: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, target in targets.items():
        url = base + target
        if warmup:
            load(url, connections=CONNECTIONS, seconds=warmup, headers=headers)
        results[name] = load(url, connections=CONNECTIONS, seconds=seconds, headers=headers)
    return results


def measure_reads(
    database_url: str,
    redis_url: str,
    *,
    seconds: float,
    depth: int,
    workdir: Path,
    warmup: float = 1,
    probe: Callable[[str, dict[str, str]], None] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """p50/p99 and throughput of the three reads on the API and on the bare app; `probe`, if
    given, is called with the API's base URL and the targets while the API still runs.
    `headers` go with every request to every app (an API key, say)."""
    sent = headers or {}
    workdir.mkdir(parents=True, exist_ok=True)
    hashtag = asyncio.run(_popular(database_url))
    api_port, bare_port = _free_port(), _free_port()
    env = dict(os.environ)
    env.update(
        HASHTAG_DATABASE_URL=database_url,
        HASHTAG_REDIS_URL=redis_url,
        HASHTAG_LOG_FORMAT="json",
        HASHTAG_ENV="development",
    )
    api_cmd = [sys.executable, "-m", "hashtag_cli", "api", "--host", "127.0.0.1"]
    api_cmd += ["--port", str(api_port)]
    api_base = f"http://127.0.0.1:{api_port}"
    with _process(api_cmd, env, workdir / "api.log", f"{api_base}/healthz"):
        targets = _targets(api_base, hashtag, depth)
        bodies = _bodies(api_base, targets, sent)
        api = _run_all(api_base, targets, seconds, warmup, sent)
        if probe is not None:
            probe(api_base, targets)
    spec = workdir / "bare_bodies.json"
    spec.write_text(json.dumps(bodies), encoding="utf-8")
    bare_cmd = [sys.executable, "-m", "bench.bare", "--port", str(bare_port), "--bodies"]
    bare_base = f"http://127.0.0.1:{bare_port}"
    with _process([*bare_cmd, str(spec)], env, workdir / "bare.log", f"{bare_base}/healthz"):
        bare = _run_all(bare_base, targets, seconds, warmup, sent)
    # The same bytes from a route of the real app (same middleware, key check, rate limit,
    # access log): the framework's floor, without the data path.
    stack_port = _free_port()
    stack_cmd = [sys.executable, "-m", "bench.stack", "--port", str(stack_port), "--bodies"]
    stack_base = f"http://127.0.0.1:{stack_port}"
    with _process([*stack_cmd, str(spec)], env, workdir / "stack.log", f"{stack_base}/healthz"):
        stack_targets = {name: PREFIX + target for name, target in targets.items()}
        for name, target in stack_targets.items():  # the same bytes, checked
            body = httpx.get(stack_base + target, timeout=30, headers=sent).content
            assert body == base64.b64decode(bodies[targets[name]]["body"]), name
        stack = _run_all(stack_base, stack_targets, seconds, warmup, sent)
    endpoints = {
        name: {
            "target": target,
            "bytes": bodies[target]["bytes"],
            "api": api[name],
            "bare": bare[name],
            "stack": stack[name],
            "throughput_ratio": api[name]["rps"] / bare[name]["rps"],
            "stack_ratio": api[name]["rps"] / stack[name]["rps"],
        }
        for name, target in targets.items()
    }
    return {
        "tool": tool(),
        "connections": CONNECTIONS,
        "seconds": seconds,
        "hashtag": hashtag,
        "endpoints": endpoints,
    }
