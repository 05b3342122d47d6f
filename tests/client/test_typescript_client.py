"""A TypeScript client generated from the committed openapi.json, used against the real server.

openapi-typescript 7.13 generates the types, `tsc --strict` compiles `ts/client.ts` (openapi-fetch
calls of every operation, so the compile is itself a check of the generated types: a request
field with a default is optional, enums are unions, the CSV is text, errors are Problem), and
node runs it against the API served on loopback, before and after a real worker computes the
figures. The npm packages are pinned by `ts/package-lock.json` and installed with `npm ci` once
under `.data/test/ts-client` (the npm registry must be reachable the first time).

Without node and npm the test is skipped, saying so; CI sets HASHTAG_REQUIRE_NODE=1, which
turns that into a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hashtag_core.config import Settings
from hashtag_core.migrate import PROJECT_ROOT
from tests.client.served import run_worker
from tests.helpers import API_KEY

pytestmark = pytest.mark.e2e

SPEC = PROJECT_ROOT / "openapi.json"
SOURCES = Path(__file__).parent / "ts"
CACHE = PROJECT_ROOT / ".data" / "test" / "ts-client"
_PINNED = ("package.json", "package-lock.json")


def _need_node() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return
    reason = (
        f"{' and '.join(missing)} not found: the TypeScript client test needs Node.js 18+ and "
        "npm (e.g. apt-get install nodejs npm)"
    )
    if os.environ.get("HASHTAG_REQUIRE_NODE"):
        pytest.fail(reason)
    pytest.skip(reason)


def _run(*args: str, cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _install() -> Path:
    """node_modules as package-lock.json pins them (npm ci, again only when the lock changed)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    current = all(
        (CACHE / name).is_file() and (CACHE / name).read_bytes() == (SOURCES / name).read_bytes()
        for name in _PINNED
    )
    if not current or not (CACHE / "node_modules" / ".bin" / "tsc").exists():
        for name in _PINNED:
            shutil.copyfile(SOURCES / name, CACHE / name)
        _run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=CACHE)
    return CACHE / "node_modules"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated types and the compiled client, in a folder of their own."""
    _need_node()
    modules = _install()
    work = tmp_path_factory.mktemp("ts-client")
    for name in ("client.ts", "tsconfig.json", "package.json"):
        shutil.copyfile(SOURCES / name, work / name)
    (work / "node_modules").symlink_to(modules, target_is_directory=True)
    output = _run(
        str(modules / ".bin" / "openapi-typescript"), str(SPEC), "-o", "schema.d.ts", cwd=work
    )
    assert "warn" not in output.lower(), output
    _run(str(modules / ".bin" / "tsc"), "-p", "tsconfig.json", cwd=work)
    return work


async def _node(work: Path, phase: str, url: str) -> dict[str, Any]:
    """Run one phase of the client (the server answers from this test's event loop)."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(work / "dist" / "client.js"),
        phase,
        url,
        API_KEY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode == 0, f"{phase}: {err.decode()}\n{out.decode()}"
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_every_operation_through_the_typescript_client(
    compiled: Path, server: tuple[str, Settings]
) -> None:
    url, settings = server
    written = await _node(compiled, "write", url)
    assert written["called"] == ["import_posts"] * 3
    assert written["job_id"]

    worker = await run_worker(settings)
    assert worker.jobs_failed == 0

    read = await _node(compiled, "read", url)
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    operations = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert set(written["called"]) | set(read["called"]) == operations
