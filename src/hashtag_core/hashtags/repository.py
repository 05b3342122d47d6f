"""SQL for reading hashtags, their precomputed figures and their posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = [
    "FIGURE_COLUMNS",
    "LIFT_COLUMNS",
    "SORT_COLUMNS",
    "get_hashtag",
    "insight_rows",
    "performance_rows",
    "posts_page",
    "recompute_status",
    "standout_posts",
]

#: API figure name -> column of hashtag_performance.
FIGURE_COLUMNS = {
    "posts": "posts",
    "avg_engagement": "avg_engagement",
    "median_engagement": "median_engagement",
    "engagement_rate_follower": "er_follower",
    "engagement_rate_follower_posts": "er_follower_posts",
    "engagement_rate_reach": "er_reach",
    "engagement_rate_reach_posts": "er_reach_posts",
    "virality": "virality",
    "virality_posts": "virality_posts",
    "avg_reach": "avg_reach",
    "reach_posts": "reach_posts",
    "avg_impressions": "avg_impressions",
    "impressions_posts": "impressions_posts",
}
#: API lift name -> column of hashtag_lift.
LIFT_COLUMNS = {
    "lift_posts": "posts",
    "lift": "lift",
    "lift_ci_low": "ci_low",
    "lift_ci_high": "ci_high",
    "score": "score",
    "score_ci_low": "score_low",
    "score_ci_high": "score_high",
    "lfsr": "lfsr",
    "qvalue": "qvalue",
    "verdict": "verdict",
}
SORT_COLUMNS = {
    **{name: f"hp.{col}" for name, col in FIGURE_COLUMNS.items()},
    "hashtag": "h.display",
    "score": "hl.score",
    "lift": "hl.lift",
}
_SELECT_FIGURES = ", ".join(f"hp.{col} AS {name}" for name, col in FIGURE_COLUMNS.items())
_SELECT_LIFT = ", ".join(
    f"coalesce(hl.{col}, 0) AS {name}" if name == "lift_posts" else f"hl.{col} AS {name}"
    for name, col in LIFT_COLUMNS.items()
)


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    conn = await session.connection()
    result = await conn.execute(text(sql), params)
    return [dict(row._mapping) for row in result.all()]


async def get_hashtag(session: AsyncSession, key: str) -> dict[str, Any] | None:
    """The hashtag with this key, or None."""
    rows = await _rows(session, "SELECT id, key, display FROM hashtag WHERE key = :k", {"k": key})
    return rows[0] if rows else None


async def recompute_status(session: AsyncSession) -> dict[str, Any]:
    """Computed and requested data versions and when the aggregates were computed."""
    rows = await _rows(
        session,
        "SELECT r.computed_version, r.computed_at, r.full_computed_at, r.last_duration_ms, "
        "d.version AS requested "
        "FROM recompute_state r, data_version d",
        {},
    )
    return rows[0]


async def performance_rows(
    session: AsyncSession,
    *,
    platform: str,
    account_id: int,
    window: str,
    min_posts: int,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    hashtag_id: int | None = None,
    goal: str = "engagement",
) -> tuple[int, list[dict[str, Any]]]:
    """One page of figures (with the goal's lift) in a scope and window, and the total."""
    where = (
        "hp.platform = :platform AND hp.account_id = :account AND hp.window = :window "
        "AND hp.posts >= :min_posts AND (CAST(:hid AS bigint) IS NULL OR hp.hashtag_id = :hid)"
    )
    params = {
        "platform": platform,
        "account": account_id,
        "window": window,
        "goal": goal,
        "min_posts": min_posts,
        "hid": hashtag_id,
        "limit": limit,
        "offset": offset,
    }
    direction = "DESC NULLS LAST" if descending else "ASC NULLS LAST"
    rows = await _rows(
        session,
        f"SELECT h.display AS hashtag, h.key, hp.computed_at, {_SELECT_FIGURES}, "
        f"{_SELECT_LIFT}, count(*) OVER () AS total "
        "FROM hashtag_performance hp JOIN hashtag h ON h.id = hp.hashtag_id "
        "LEFT JOIN hashtag_lift hl ON hl.platform = hp.platform "
        "AND hl.account_id = hp.account_id AND hl.window = hp.window AND hl.goal = :goal "
        f"AND hl.hashtag_id = hp.hashtag_id WHERE {where} "
        f"ORDER BY {SORT_COLUMNS[sort]} {direction}, h.key LIMIT :limit OFFSET :offset",
        params,
    )
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:
        count = await _rows(
            session, f"SELECT count(*) AS n FROM hashtag_performance hp WHERE {where}", params
        )
        total = int(count[0]["n"])
    return total, rows


async def posts_page(
    session: AsyncSession,
    *,
    hashtag_id: int,
    platform: str | None,
    account_id: int | None,
    since: datetime | None,
    until: datetime | None,
    language: str | None,
    by_engagement: bool,
    after: tuple[Any, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Posts carrying the hashtag, newest (or most engaging) first, after a keyset cursor."""
    key = "p.engagement" if by_engagement else "p.posted_at"
    sql = f"""
        SELECT p.id, p.platform, p.platform_post_id AS post_id, a.handle AS account, p.text,
               p.url, p.posted_at, p.likes, p.comments, p.shares, p.saves, p.impressions,
               p.reach, p.followers, p.engagement, p.language, p.sentiment,
               ARRAY(SELECT x.spelling FROM post_hashtag x WHERE x.post_id = p.id
                     ORDER BY x.spelling) AS hashtags
        FROM post_hashtag ph JOIN post p ON p.id = ph.post_id
        JOIN account a ON a.id = p.account_id
        WHERE ph.hashtag_id = :hid
          AND (CAST(:platform AS text) IS NULL OR p.platform = :platform)
          AND (CAST(:account AS bigint) IS NULL OR p.account_id = :account)
          AND (CAST(:since AS timestamptz) IS NULL OR p.posted_at >= :since)
          AND (CAST(:until AS timestamptz) IS NULL OR p.posted_at < :until)
          AND (CAST(:language AS text) IS NULL OR p.language = :language)
          {"AND (" + key + ", p.id) < (:after_key, :after_id)" if after else ""}
        ORDER BY {key} DESC, p.id DESC
        LIMIT :limit
    """
    params: dict[str, Any] = {
        "hid": hashtag_id,
        "platform": platform,
        "account": account_id,
        "since": since,
        "until": until,
        "language": language,
        "limit": limit,
    }
    if after:
        params["after_key"], params["after_id"] = after
    return await _rows(session, sql, params)


_SCOPED = "platform = :platform AND account_id = :account"


async def insight_rows(
    session: AsyncSession,
    *,
    platform: str,
    account_id: int,
    hashtag_id: int,
    pairs: int,
    window: str = "all",
) -> dict[str, Any]:
    """A hashtag's lift per goal, content reach, sentiment and posts per language in a window,
    and its top pairs (pairs cover all history)."""
    params = {
        "platform": platform,
        "account": account_id,
        "hid": hashtag_id,
        "limit": pairs,
        "window": window,
    }
    in_window = f'{_SCOPED} AND "window" = :window AND hashtag_id = :hid'
    lifts = await _rows(
        session,
        f"SELECT goal, {_SELECT_LIFT.replace('hl.', '')} FROM hashtag_lift "
        f"WHERE {in_window} ORDER BY goal",
        params,
    )
    reach = await _rows(
        session,
        f"SELECT reach_ratio, posts FROM hashtag_content_reach WHERE {in_window}",
        params,
    )
    sentiment = await _rows(
        session,
        "SELECT mean_compound, positive_share, negative_share, correlation "
        f"FROM hashtag_sentiment WHERE {in_window}",
        params,
    )
    languages = await _rows(
        session,
        "SELECT language, posts, scored_posts "
        f"FROM hashtag_language WHERE {in_window} ORDER BY posts DESC, language",
        params,
    )
    pair_rows = await _rows(
        session,
        "SELECT h.display AS hashtag, p.posts, p.pair_lift, p.synergy, "
        "p.synergy_low AS synergy_ci_low, p.synergy_high AS synergy_ci_high "
        "FROM hashtag_pair p JOIN hashtag h ON h.id = CASE WHEN p.hashtag_a = :hid "
        "THEN p.hashtag_b ELSE p.hashtag_a END "
        "WHERE p.platform = :platform AND p.account_id = :account "
        "AND (p.hashtag_a = :hid OR p.hashtag_b = :hid) ORDER BY p.posts DESC, h.key LIMIT :limit",
        params,
    )
    return {
        "lifts": lifts,
        "reach": reach[0] if reach else None,
        "sentiment": sentiment[0] if sentiment else None,
        "languages": languages,
        "pairs": pair_rows,
    }


#: Relative performance is capped to +-ln 20 (docs/metrics.md, Relative performance).
_LOG_CAP = "ln(20.0)"


async def standout_posts(
    session: AsyncSession,
    *,
    hashtag_id: int,
    platform: str | None,
    account_id: int | None,
    window: str,
    since: datetime | None,
    limit: int,
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """The hashtag's posts with an engagement baseline for `window`, counted, and the `limit`
    best and worst by capped log-ratio against it (ties: newest first)."""
    pool = f"""
        WITH pool AS (
            SELECT p.id, p.platform, p.platform_post_id AS post_id, a.handle AS account,
                   p.text, p.url, p.posted_at, p.likes, p.comments, p.shares, p.saves,
                   p.impressions, p.reach, p.followers, p.engagement, p.language, p.sentiment,
                   b.baseline AS account_baseline,
                   LEAST(GREATEST(ln((1 + p.engagement) / b.baseline), -{_LOG_CAP}),
                         {_LOG_CAP}) AS log_ratio
            FROM post_hashtag ph JOIN post p ON p.id = ph.post_id
            JOIN account a ON a.id = p.account_id
            JOIN account_baseline b ON b.account_id = p.account_id
                 AND b."window" = :window AND b.goal = 'engagement' AND b.baseline > 0
            WHERE ph.hashtag_id = :hid
              AND (CAST(:platform AS text) IS NULL OR p.platform = :platform)
              AND (CAST(:account AS bigint) IS NULL OR p.account_id = :account)
              AND (CAST(:since AS timestamptz) IS NULL OR p.posted_at >= :since)
        )
    """
    tags = (
        "ARRAY(SELECT x.spelling FROM post_hashtag x WHERE x.post_id = pool.id "
        "ORDER BY x.spelling) AS hashtags"
    )
    params: dict[str, Any] = {
        "hid": hashtag_id,
        "platform": platform,
        "account": account_id,
        "window": window,
        "since": since,
        "limit": limit,
    }
    count = await _rows(session, pool + "SELECT count(*) AS n FROM pool", params)
    ends = []
    for direction in ("DESC", "ASC"):
        ends.append(
            await _rows(
                session,
                pool + f"SELECT pool.*, {tags} FROM pool "
                f"ORDER BY log_ratio {direction}, posted_at DESC, id DESC LIMIT :limit",
                params,
            )
        )
    return int(count[0]["n"]), ends[0], ends[1]
