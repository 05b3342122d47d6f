"""SQL for trends: precomputed cells and daily rows, or live ones in a given time zone."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = [
    "best_slots",
    "live_cells",
    "live_series",
    "live_slot_stats",
    "momentum",
    "stored_cells",
    "stored_series",
]

_SCOPE = "platform = :platform AND account_id = :account AND hashtag_id = :hid"
_LIVE_SCOPE = """
    (CAST(:platform AS text) IS NULL OR p.platform = :platform)
    AND (CAST(:account AS bigint) IS NULL OR p.account_id = :account)
    AND (CAST(:hid AS bigint) IS NULL
         OR EXISTS (SELECT 1 FROM post_hashtag ph WHERE ph.post_id = p.id AND ph.hashtag_id = :hid))
"""


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    conn = await session.connection()
    return [dict(r._mapping) for r in (await conn.execute(text(sql), params)).all()]


async def stored_cells(
    session: AsyncSession, *, platform: str, account_id: int, hashtag_id: int, window: str
) -> list[dict[str, Any]]:
    """Precomputed weekday x hour cells (account-local time, all history) with the slot lift
    of `window`."""
    return await _rows(
        session,
        "SELECT c.weekday, c.hour, c.posts, c.avg_engagement, s.lift, s.ci_low AS lift_ci_low, "
        "s.ci_high AS lift_ci_high, s.posts AS lift_posts, s.score, "
        "s.score_low AS score_ci_low, s.score_high AS score_ci_high, s.qvalue, s.verdict "
        "FROM hashtag_trend_cell c LEFT JOIN hashtag_slot s "
        "ON s.platform = c.platform AND s.account_id = c.account_id AND s.window = :window "
        "AND s.hashtag_id = c.hashtag_id AND s.weekday = c.weekday AND s.hour = c.hour "
        "WHERE c.platform = :platform AND c.account_id = :account AND c.hashtag_id = :hid "
        "ORDER BY c.weekday, c.hour",
        {"platform": platform, "account": account_id, "hid": hashtag_id, "window": window},
    )


async def stored_series(
    session: AsyncSession,
    *,
    platform: str,
    account_id: int,
    hashtag_id: int,
    week: bool,
    since: date | None,
    until: date | None,
) -> list[dict[str, Any]]:
    """Precomputed daily rows, summed into ISO weeks when `week`."""
    period = "date_trunc('week', local_date)::date" if week else "local_date"
    return await _rows(
        session,
        f"SELECT {period} AS period_start, sum(posts)::int AS posts, "
        "sum(engagement_sum)::bigint AS engagement_sum FROM hashtag_daily "
        f"WHERE {_SCOPE} AND (CAST(:since AS date) IS NULL OR local_date >= :since) "
        "AND (CAST(:until AS date) IS NULL OR local_date < :until) GROUP BY 1 ORDER BY 1",
        {
            "platform": platform,
            "account": account_id,
            "hid": hashtag_id,
            "since": since,
            "until": until,
        },
    )


async def live_cells(
    session: AsyncSession,
    *,
    tz: str,
    platform: str | None,
    account_id: int | None,
    hashtag_id: int | None,
) -> list[dict[str, Any]]:
    """Weekday x hour cells computed now, in time zone `tz`."""
    local = "(p.posted_at AT TIME ZONE :tz)"
    return await _rows(
        session,
        f"SELECT extract(isodow FROM {local})::int AS weekday, "
        f"extract(hour FROM {local})::int AS hour, count(*)::int AS posts, "
        f"avg(p.engagement)::float8 AS avg_engagement FROM post p WHERE {_LIVE_SCOPE} "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        {"tz": tz, "platform": platform, "account": account_id, "hid": hashtag_id},
    )


async def live_series(
    session: AsyncSession,
    *,
    tz: str,
    platform: str | None,
    account_id: int | None,
    hashtag_id: int | None,
    week: bool,
    since: date | None,
    until: date | None,
) -> list[dict[str, Any]]:
    """Daily or weekly rows computed now, in time zone `tz`."""
    day = "(p.posted_at AT TIME ZONE :tz)::date"
    period = f"date_trunc('week', {day})::date" if week else day
    return await _rows(
        session,
        f"SELECT {period} AS period_start, count(*)::int AS posts, "
        f"sum(p.engagement)::bigint AS engagement_sum FROM post p WHERE {_LIVE_SCOPE} "
        f"AND (CAST(:since AS date) IS NULL OR {day} >= :since) "
        f"AND (CAST(:until AS date) IS NULL OR {day} < :until) GROUP BY 1 ORDER BY 1",
        {
            "tz": tz,
            "platform": platform,
            "account": account_id,
            "hid": hashtag_id,
            "since": since,
            "until": until,
        },
    )


async def best_slots(
    session: AsyncSession, *, platform: str, account_id: int, hashtag_id: int, window: str
) -> list[dict[str, Any]]:
    """The precomputed best slots of `window`, best first."""
    return await _rows(
        session,
        "SELECT rank, weekday, hour, posts, lift, ci_low AS lift_ci_low, ci_high AS lift_ci_high, "
        "score, score_low AS score_ci_low, score_high AS score_ci_high, qvalue, verdict "
        f'FROM hashtag_best_slot WHERE {_SCOPE} AND "window" = :window ORDER BY rank',
        {"platform": platform, "account": account_id, "hid": hashtag_id, "window": window},
    )


async def momentum(
    session: AsyncSession, *, platform: str, account_id: int, hashtag_id: int
) -> dict[str, Any] | None:
    """The precomputed momentum row, if any."""
    rows = await _rows(
        session,
        "SELECT recent_posts, previous_posts, change, ci_low AS change_ci_low, "
        f"ci_high AS change_ci_high, direction FROM hashtag_momentum WHERE {_SCOPE}",
        {"platform": platform, "account": account_id, "hid": hashtag_id},
    )
    return rows[0] if rows else None


#: Where the windows end: the time of the last full recompute, as for the stored figures
#: (its incremental passes keep that anchor), else now.
_ANCHOR = (
    "SELECT coalesce(full_computed_at, computed_at, now()) AS at FROM recompute_state WHERE id = 1"
)


async def live_slot_stats(
    session: AsyncSession,
    *,
    tz: str,
    platform: str | None,
    account_id: int | None,
    hashtag_id: int | None,
    days: int | None = None,
) -> list[dict[str, Any]]:
    """Per weekday x hour in `tz`: n, mean and sd of each post's engagement log-ratio to its
    account's median (the definition of the stored slot lift, docs/metrics.md), over the
    posts of the `days` days (None: all history) up to the stored figures' anchor (`_ANCHOR`),
    and their accounts' medians there."""
    local = "(p.posted_at AT TIME ZONE :tz)"
    since = "(CAST(:days AS int) IS NULL OR {0}posted_at >= a.at - make_interval(days => :days))"
    return await _rows(
        session,
        f"""
        WITH a AS ({_ANCHOR}), medians AS (
            SELECT account_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY 1 + engagement) AS m
            FROM post, a WHERE posted_at <= a.at AND {since.format("")} GROUP BY account_id
        ), ratios AS (
            SELECT {local} AS at_local,
                   greatest(least(ln((1 + p.engagement) / m.m), ln(20)), -ln(20)) AS r
            FROM post p JOIN medians m ON m.account_id = p.account_id, a
            WHERE p.posted_at <= a.at AND {since.format("p.")} AND {_LIVE_SCOPE}
        )
        SELECT extract(isodow FROM at_local)::int AS weekday,
               extract(hour FROM at_local)::int AS hour, count(*)::int AS n,
               avg(r)::float8 AS mean, stddev_samp(r)::float8 AS sd
        FROM ratios GROUP BY 1, 2
        """,
        {"tz": tz, "platform": platform, "account": account_id, "hid": hashtag_id, "days": days},
    )
