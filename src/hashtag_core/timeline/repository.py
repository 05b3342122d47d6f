"""SQL for follower trends: snapshots grouped into local days or ISO weeks."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["follower_series"]

_SERIES = """
WITH snaps AS (
    SELECT a.id AS account_id, a.platform, a.handle, a.timezone AS time_zone,
           (f.captured_at AT TIME ZONE a.timezone)::date AS local_date,
           f.captured_at, f.followers
    FROM follower_snapshot f JOIN account a ON a.id = f.account_id
    WHERE (CAST(:platform AS text) IS NULL OR a.platform = :platform)
      AND (CAST(:account AS bigint) IS NULL OR a.id = :account)
), periods AS (
    SELECT account_id, platform, handle, time_zone, {period} AS period_start,
           count(*)::int AS snapshots,
           (array_agg(followers ORDER BY captured_at DESC))[1] AS followers,
           min(followers) AS followers_min, max(followers) AS followers_max
    FROM snaps
    WHERE (CAST(:since AS date) IS NULL OR local_date >= :since)
      AND (CAST(:until AS date) IS NULL OR local_date < :until)
    GROUP BY 1, 2, 3, 4, 5
)
SELECT account_id, platform, handle, time_zone, period_start, snapshots, followers,
       followers_min, followers_max,
       followers - lag(followers) OVER (PARTITION BY account_id ORDER BY period_start) AS change
FROM periods ORDER BY handle, platform, account_id, period_start
"""


async def follower_series(
    session: AsyncSession,
    *,
    platform: str | None,
    account_id: int | None,
    week: bool,
    since: date | None,
    until: date | None,
) -> list[dict[str, Any]]:
    """One row per account and local day (or ISO week) with snapshots, in period order."""
    period = "date_trunc('week', local_date)::date" if week else "local_date"
    conn = await session.connection()
    result = await conn.execute(
        text(_SERIES.format(period=period)),
        {
            "platform": platform,
            "account": account_id,
            "since": since,
            "until": until,
        },
    )
    return [dict(r._mapping) for r in result.all()]
