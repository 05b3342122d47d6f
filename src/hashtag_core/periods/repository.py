"""The posts and hashtag links of a scope and time span, as polars frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.analytics.period_change import PERIOD_POSTS_SCHEMA

__all__ = ["hashtag_names", "span_frames"]

_LINKS = pl.Schema({"post_id": pl.Int64, "hashtag_id": pl.Int64})


async def span_frames(
    session: AsyncSession,
    *,
    platform: str | None,
    account_id: int | None,
    start: datetime,
    end: datetime,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Posts with start <= posted_at < end in the scope (PERIOD_POSTS_SCHEMA) and their links."""
    where = """
        (CAST(:platform AS text) IS NULL OR p.platform = :platform)
        AND (CAST(:account AS bigint) IS NULL OR p.account_id = :account)
        AND p.posted_at >= :start AND p.posted_at < :end
    """
    params: dict[str, Any] = {
        "platform": platform,
        "account": account_id,
        "start": start,
        "end": end,
    }
    conn = await session.connection()
    posts = (
        await conn.execute(
            text("SELECT p.id, p.account_id, p.posted_at, p.engagement FROM post p WHERE " + where),
            params,
        )
    ).all()
    links = (
        await conn.execute(
            text(
                "SELECT ph.post_id, ph.hashtag_id FROM post_hashtag ph "
                "JOIN post p ON p.id = ph.post_id WHERE " + where
            ),
            params,
        )
    ).all()
    return (
        pl.DataFrame([tuple(r) for r in posts], schema=PERIOD_POSTS_SCHEMA, orient="row"),
        pl.DataFrame([tuple(r) for r in links], schema=_LINKS, orient="row"),
    )


async def hashtag_names(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, str]]:
    """hashtag id -> (display, key)."""
    if not ids:
        return {}
    conn = await session.connection()
    rows = (
        await conn.execute(
            text("SELECT id, display, key FROM hashtag WHERE id = ANY(:ids)"), {"ids": ids}
        )
    ).all()
    return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}
