"""A description of the machine the benchmark ran on, for the results."""

from __future__ import annotations

import asyncio
import os
import platform
from typing import Any

import asyncpg
import pandas as pd
import polars as pl

from bench.services import plain

__all__ = ["describe"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


async def _postgres(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(plain(url))
    try:
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather")
        }
        return {"version": await conn.fetchval("SHOW server_version"), **settings}
    finally:
        await conn.close()


def describe(database_url: str) -> dict[str, Any]:
    """CPU, cores, RAM, OS, and the versions that matter for the figures."""
    from bench.loadgen import tool

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "pandas": pd.__version__,
        "postgres": asyncio.run(_postgres(database_url)),
        "load_generator": tool(),
        "note": "shared, noisy machine: other developers ran tests at the same time",
    }
