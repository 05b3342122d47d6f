"""Load generators for the read benchmark: wrk (with wrk_report.lua) when installed, else a
keep-alive HTTP/1.1 client on asyncio streams. Both keep `connections` connections busy for
`seconds` and report latency percentiles and throughput. The Python client shares the 2 cores
with the server and tops out well below wrk: its figures are a floor, not the server's limit."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["load", "tool"]

_LUA = Path(__file__).resolve().parent / "wrk_report.lua"


def tool() -> str:
    """ "wrk" when it is on PATH, else "python"."""
    return "wrk" if shutil.which("wrk") else "python"


def load(
    url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Hammer `url` (with `headers` on every request); p50/p99/max latency in ms, requests
    per second, errors."""
    if tool() == "wrk":
        return _wrk(url, connections, seconds, headers or {})
    return asyncio.run(_python(url, connections, seconds, headers or {}))


def _wrk(url: str, connections: int, seconds: float, headers: dict[str, str]) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(_LUA)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    raw = json.loads(line)
    duration = raw["duration_us"] / 1e6
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "rps": raw["requests"] / duration,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["socket_errors"] + raw["non2xx"],
    }


async def _python(
    url: str, connections: int, seconds: float, headers: dict[str, str]
) -> dict[str, Any]:
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\n{extra}\r\n".encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port or 80))
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "tool": "python-asyncio",
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "errors": errors,
    }
