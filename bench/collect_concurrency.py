"""Concurrent vs sequential collection against the sandbox with 100 ms latency per request.

Four accounts (one per platform) of exactly 20 pages each are collected twice in the same run:
concurrently (collect_many, up to 4 requests in flight per platform) and one request at a time
(one account after another, 1 request in flight). Prints wall times, request counts and the
ratio, and writes bench/results/collect.json.

    uv run python -m bench.collect_concurrency [--latency-ms 100] [--page-size 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

from hashtag_core.collect import (
    AccountSpec,
    CollectResult,
    CollectSettings,
    build_connectors,
    collect_many,
    make_clients,
)
from hashtag_core.platforms import Platform
from hashtag_sandbox import FaultConfig, Sandbox, SandboxConfig, create_sandbox_app

RESULTS = Path(__file__).resolve().parent / "results" / "collect.json"
PAGES = 20
GOAL = 3.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _sandbox(config: SandboxConfig) -> AsyncIterator[tuple[str, Sandbox]]:
    """The sandbox on a free loopback port, served from this event loop."""
    app = create_sandbox_app(config)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError("sandbox did not start")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app.state.sandbox  # type: ignore[attr-defined]
    finally:
        server.should_exit = True
        await task


def _accounts(sandbox: Sandbox) -> list[AccountSpec]:
    """The first account of each platform."""
    specs = []
    for platform in Platform:
        a = next(a for a in sandbox.data.accounts if a.platform is platform)
        specs.append(AccountSpec(platform, a.external_id, a.handle, a.timezone, SecretStr(a.token)))
    return specs


async def _run(
    settings: CollectSettings, accounts: list[AccountSpec], *, sequential: bool
) -> tuple[float, list[CollectResult]]:
    """Collect all accounts; sequential = one account after another."""
    clients = make_clients(settings)
    connectors = build_connectors(settings, clients)
    try:
        started = time.perf_counter()
        if sequential:
            outcomes = [
                r for a in accounts for r in await collect_many(connectors, [(a, None, None)])
            ]
        else:
            outcomes = await collect_many(connectors, [(a, None, None) for a in accounts])
        elapsed = time.perf_counter() - started
    finally:
        for client in clients.values():
            await client.aclose()
    results = [r for r in outcomes if isinstance(r, CollectResult)]
    if len(results) != len(accounts):
        raise RuntimeError(f"collection failed: {outcomes}")
    return elapsed, results


def _summary(
    elapsed: float, results: list[CollectResult], accounts: list[AccountSpec]
) -> dict[str, Any]:
    return {
        "wall_s": round(elapsed, 3),
        "requests": sum(r.requests for r in results),
        "per_account": {
            a.platform.value: {
                "handle": a.handle,
                "pages": r.pages,
                "requests": r.requests,
                "posts": len(r.posts),
            }
            for a, r in zip(accounts, results, strict=True)
        },
    }


async def main(latency_ms: int, page_size: int) -> dict[str, Any]:
    """Run both modes and return the results."""
    config = SandboxConfig(
        posts=6000,
        end=datetime(2026, 6, 1, tzinfo=UTC),
        max_posts_per_account=PAGES * page_size,  # exactly PAGES pages per account
        faults=FaultConfig(latency_ms=latency_ms),
    )
    async with _sandbox(config) as (root, sandbox):
        accounts = _accounts(sandbox)
        base = {
            "x_base_url": f"{root}/x",
            "meta_base_url": f"{root}/meta",
            "instagram_base_url": f"{root}/meta",
            "linkedin_base_url": f"{root}/linkedin",
            **{f"{p.value}_page_size": page_size for p in Platform},
        }
        concurrent = CollectSettings.model_validate(base | {"max_in_flight_per_platform": 4})
        one_at_a_time = CollectSettings.model_validate(base | {"max_in_flight_per_platform": 1})
        c_time, c_results = await _run(concurrent, accounts, sequential=False)
        peak_concurrent = dict(sandbox.max_in_flight)
        sandbox.max_in_flight.clear()
        s_time, s_results = await _run(one_at_a_time, accounts, sequential=True)
        peak_sequential = dict(sandbox.max_in_flight)
        served = sum(sandbox.faults.requests.values())
    for results in (c_results, s_results):
        pages = {r.pages for r in results}
        if pages != {PAGES}:
            raise RuntimeError(f"expected {PAGES} pages per account, got {pages}")
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "latency_ms": latency_ms,
        "page_size": page_size,
        "pages_per_account": PAGES,
        "concurrent": _summary(c_time, c_results, accounts) | {"max_in_flight": peak_concurrent},
        "sequential": _summary(s_time, s_results, accounts) | {"max_in_flight": peak_sequential},
        "requests_served_by_sandbox": served,
        "ratio": round(s_time / c_time, 2),
        "goal": GOAL,
    }


def _print(result: dict[str, Any]) -> None:
    for mode in ("concurrent", "sequential"):
        data = result[mode]
        print(f"{mode:>10}: {data['wall_s']:7.2f} s  {data['requests']} requests")
        for platform, row in data["per_account"].items():
            counts = f"{row['pages']} pages, {row['requests']} requests, {row['posts']} posts"
            print(f"{'':>12}{platform:<10} {counts}")
    verdict = "meets" if result["ratio"] >= GOAL else "MISSES"
    print(f"     ratio: {result['ratio']:.2f}x faster concurrently ({verdict} the {GOAL}x goal)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=5)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.latency_ms, args.page_size))
    _print(outcome)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {RESULTS}")
