"""`hashtag-analysis demo`: importing the demo posts directly, with a progress bar (`up` collects
them from the platform sandbox instead, see `hashtag_cli.sandbox`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hashtag_cli.console import err_console
from hashtag_cli.services import open_engine, open_queue
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo.generator import DemoConfig
from hashtag_core.demo.load import load_demo
from hashtag_core.posts.schemas import ImportResult

__all__ = ["demo_config", "load"]

logger = logging.getLogger(__name__)


def demo_config(posts: int, seed: int | None = None) -> DemoConfig:
    """The demo ending now (to the hour, UTC), so the 7d/30d windows hold posts."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if seed is None:
        return DemoConfig(posts=posts, end=end)
    return DemoConfig(posts=posts, end=end, seed=seed)


async def load(settings: Settings, config: DemoConfig) -> ImportResult:
    """Import the demo posts into the configured database, showing progress."""
    logger.info("loading demo data: %s posts (seed %s)", f"{config.posts:,}", config.seed)
    columns = (TextColumn("demo posts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    async with open_engine(settings) as engine, open_queue(settings) as queue:
        with Progress(*columns, console=err_console) as progress:
            task = progress.add_task("demo", total=config.posts)
            async with create_sessionmaker(engine)() as session:
                return await load_demo(
                    session,
                    queue,
                    config,
                    batch_rows=settings.import_batch_rows,
                    progress=lambda rows: progress.advance(task, rows),
                )
