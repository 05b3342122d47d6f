"""Loading the seeded demo posts through the ordinary import path.

The records from `generate_posts` go through `import_rows` like any uploaded file (validation,
upsert, data-version bump, recompute request), so the demo exercises the real code and
loading the same config twice changes no post count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.demo.generator import DemoConfig, generate_posts
from hashtag_core.ingest.parsers import RawRow
from hashtag_core.jobs import JobQueue
from hashtag_core.posts.schemas import ImportResult
from hashtag_core.posts.service import import_rows

__all__ = ["DEMO_SOURCE", "has_posts", "load_demo"]

#: The `source` recorded on the demo's metric snapshots.
DEMO_SOURCE = "demo"
# Generated records are valid by construction; a few reported errors are enough to debug one.
_MAX_REPORTED_ERRORS = 100


def _demo_rows(config: DemoConfig) -> Iterator[RawRow]:
    for number, record in enumerate(generate_posts(config), start=1):
        yield RawRow(row=number, data=record)


async def load_demo(
    session: AsyncSession,
    queue: JobQueue,
    config: DemoConfig,
    *,
    batch_rows: int,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import the demo posts `config` describes, in one transaction like any import."""
    return await import_rows(
        session,
        _demo_rows(config),
        queue=queue,
        batch_rows=batch_rows,
        max_errors=_MAX_REPORTED_ERRORS,
        source=DEMO_SOURCE,
        progress=progress,
    )


async def has_posts(session: AsyncSession) -> bool:
    """Whether any post is stored (the run command loads the demo only into an empty DB)."""
    # One-off existence check; the posts repository has no such query to reuse.
    conn = await session.connection()
    found = await conn.execute(text("SELECT EXISTS (SELECT 1 FROM post)"))
    return bool(found.scalar_one())
