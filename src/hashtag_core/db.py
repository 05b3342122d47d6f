"""Engine and session factories. Nothing is built at import time: the API lifespan and the
worker's startup create the engine and dispose of it on shutdown."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.config import Settings

__all__ = ["create_engine", "create_sessionmaker"]


def create_engine(settings: Settings, *, application_name: str) -> AsyncEngine:
    """An asyncpg engine that survives Postgres restarts (pre-ping) and names itself."""
    if not settings.database_url:
        raise RuntimeError("database_url is not set; start the embedded engines first")
    return create_async_engine(
        settings.database_url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args={
            "timeout": settings.db_pool_timeout_s,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "application_name": application_name,
                "statement_timeout": str(settings.db_statement_timeout_ms),
                # JIT compiles a plan whose estimated cost is high, which a one-row lookup can
                # have on stale statistics after a bulk import: measured at 1M posts, the
                # update's post lookup spent 166 of its 190 ms compiling. Nothing here runs
                # long enough in one query to repay it.
                "jit": "off",
            },
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
