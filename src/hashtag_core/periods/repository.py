"""Per hashtag and period, the moments of a scope's posts' log-ratios, computed in PostgreSQL
(`span_levels`); hashtag names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.analytics.baseline import LOG_RATIO_CAP
from hashtag_core.analytics.period_change import PERIOD_LEVELS_SCHEMA

__all__ = ["hashtag_names", "span_levels"]

#: The period-change moments in SQL (tests/oracles/period_change.py in polars): each post's
#: value 1 + engagement against its account's median in its period (percentile_cont(0.5):
#: the mean of the two middle values of an even count, as polars' median), ln capped at
#: +/- LOG_RATIO_CAP, then n, mean and n * population variance per hashtag and period. Only
#: the small result leaves the server.
_LEVELS = """
WITH scoped AS (
    SELECT p.id, p.account_id,
           CASE WHEN p.posted_at >= :split THEN 0 ELSE 1 END AS period,
           1.0 + coalesce(p.engagement, 0)::float8 AS value
    FROM post p
    WHERE (CAST(:platform AS text) IS NULL OR p.platform = :platform)
      AND (CAST(:account AS bigint) IS NULL OR p.account_id = :account)
      AND p.posted_at >= :start AND p.posted_at < :end
), baselines AS (
    SELECT account_id, period,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS baseline
    FROM scoped GROUP BY account_id, period
), rated AS (
    SELECT s.id, s.period,
           greatest(-CAST(:cap AS float8), least(CAST(:cap AS float8), ln(s.value / b.baseline)))
               AS log_ratio
    FROM scoped s JOIN baselines b USING (account_id, period)
)
SELECT ph.hashtag_id, r.period, count(*) AS n, avg(r.log_ratio) AS mean,
       coalesce(var_pop(r.log_ratio), 0) * count(*) AS m2
FROM post_hashtag ph JOIN rated r ON r.id = ph.post_id
GROUP BY ph.hashtag_id, r.period
"""


async def span_levels(
    session: AsyncSession,
    *,
    platform: str | None,
    account_id: int | None,
    start: datetime,
    split: datetime,
    end: datetime,
) -> pl.DataFrame:
    """PERIOD_LEVELS_SCHEMA of the scope's posts with start <= posted_at < end (period 0 from
    split on), as tests/oracles/period_change.py defines them, without loading the posts."""
    params: dict[str, Any] = {
        "platform": platform,
        "account": account_id,
        "start": start,
        "split": split,
        "end": end,
        "cap": LOG_RATIO_CAP,
    }
    conn = await session.connection()
    rows = (await conn.execute(text(_LEVELS), params)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=PERIOD_LEVELS_SCHEMA, orient="row")


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
