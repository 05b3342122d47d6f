"""Run the alembic migrations programmatically (the run command, tests and CLI use this)."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["PROJECT_ROOT", "alembic_config", "downgrade", "upgrade"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    """An alembic Config pointing at `database_url`."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def _in_thread(target: str, database_url: str, revision: str) -> None:
    # alembic's async env.py calls asyncio.run(); a thread keeps it away from a running loop.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            getattr(command, target)(alembic_config(database_url), revision)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"alembic-{target}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision`."""
    _in_thread("upgrade", database_url, revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database to `revision`."""
    _in_thread("downgrade", database_url, revision)
