"""SQL for recommendations and the report, all from the precomputed tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.analytics.insight_frames import BEST_SLOT_SCHEMA, COOCCURRENCE_SCHEMA, LIFT_SCHEMA
from hashtag_core.hashtags.repository import FIGURE_COLUMNS

__all__ = ["hashtag_names", "lift_frames", "posts_over_hashtag_cap", "report_rows"]

_SCOPE = "platform = :platform AND account_id = :account"


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    conn = await session.connection()
    return [dict(r._mapping) for r in (await conn.execute(text(sql), params)).all()]


def _columns(schema: pl.Schema) -> str:
    return ", ".join(f'"{c}"' for c in schema.names())


async def _frame(
    session: AsyncSession, table: str, schema: pl.Schema, where: str, params: dict[str, Any]
) -> pl.DataFrame:
    rows = await _rows(session, f"SELECT {_columns(schema)} FROM {table} WHERE {where}", params)
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


async def lift_frames(
    session: AsyncSession, *, platform: str, account_id: int, goal: str, window: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The lift rows of one scope, goal and window, with the scope's best slots and pairs."""
    params = {"platform": platform, "account": account_id, "goal": goal, "window": window}
    lift = await _frame(
        session,
        "hashtag_lift",
        LIFT_SCHEMA,
        f'{_SCOPE} AND goal = :goal AND "window" = :window',
        params,
    )
    slots = await _frame(
        session,
        "hashtag_best_slot",
        BEST_SLOT_SCHEMA,
        f'{_SCOPE} AND "window" = :window AND rank = 1',
        params,
    )
    pairs = await _frame(session, "hashtag_pair", COOCCURRENCE_SCHEMA, _SCOPE, params)
    return lift, slots, pairs


async def hashtag_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Display spellings of the given hashtags."""
    rows = await _rows(
        session, "SELECT id, display FROM hashtag WHERE id = ANY(:ids)", {"ids": ids}
    )
    return {int(r["id"]): str(r["display"]) for r in rows}


def _lift_join(goal: str, alias: str) -> str:
    return (
        f"LEFT JOIN hashtag_lift {alias} ON {alias}.platform = hp.platform "
        f"AND {alias}.account_id = hp.account_id AND {alias}.window = hp.window "
        f"AND {alias}.hashtag_id = hp.hashtag_id AND {alias}.goal = '{goal}'"
    )


def _same(alias: str, window: bool = False) -> str:
    on = (
        f"{alias}.platform = hp.platform AND {alias}.account_id = hp.account_id "
        f"AND {alias}.hashtag_id = hp.hashtag_id"
    )
    return on + (f" AND {alias}.window = hp.window" if window else "")


_GOAL_ALIASES = {
    "engagement": "le",
    "reach": "lr",
    "virality": "lv",
    "er_follower": "lf",
    "followers": "lg",
}
_GOAL_PREFIX = {"followers": "followers_growth"}


def _lift_columns() -> str:
    out = []
    for goal, a in _GOAL_ALIASES.items():
        prefix = _GOAL_PREFIX.get(goal, f"{goal}_lift")
        out += [
            f"{a}.lift AS {prefix}",
            f"{a}.ci_low AS {prefix}_ci_low",
            f"{a}.ci_high AS {prefix}_ci_high",
            f"{a}.verdict AS {goal}_verdict",
            f"{a}.posts AS {prefix}_posts",
            f"{a}.score AS {goal}_score",
            f"{a}.score_low AS {goal}_score_ci_low",
            f"{a}.score_high AS {goal}_score_ci_high",
            f"{a}.qvalue AS {goal}_qvalue",
        ]
    return ", ".join(out)


_REPORT = f"""
SELECT h.display AS hashtag, h.key, hp.computed_at,
       {", ".join(f"hp.{col} AS {name}" for name, col in FIGURE_COLUMNS.items())},
       {_lift_columns()},
       cr.reach_ratio AS content_reach, cr.ci_low AS content_reach_ci_low,
       cr.ci_high AS content_reach_ci_high, cr.posts AS content_reach_posts,
       se.mean_compound AS sentiment_mean, se.positive_share AS sentiment_positive_share,
       se.neutral_share AS sentiment_neutral_share,
       se.negative_share AS sentiment_negative_share,
       se.correlation AS sentiment_engagement_corr, se.corr_low AS sentiment_corr_ci_low,
       se.corr_high AS sentiment_corr_ci_high,
       mo.change AS momentum_change, mo.ci_low AS momentum_ci_low,
       mo.ci_high AS momentum_ci_high, mo.direction AS momentum_direction,
       mo.recent_posts AS momentum_recent_posts, mo.previous_posts AS momentum_previous_posts,
       bs.weekday AS best_weekday, bs.hour AS best_hour, bs.lift AS best_slot_lift,
       bs.ci_low AS best_slot_ci_low, bs.ci_high AS best_slot_ci_high,
       bs.posts AS best_slot_posts, se.posts AS sentiment_posts,
       lang.scored::float8 / nullif(lang.posts, 0) AS sentiment_coverage,
       lang.scored_languages AS sentiment_languages, lang.breakdown AS languages
FROM hashtag_performance hp JOIN hashtag h ON h.id = hp.hashtag_id
{" ".join(_lift_join(goal, a) for goal, a in _GOAL_ALIASES.items())}
LEFT JOIN hashtag_content_reach cr ON {_same("cr", window=True)}
LEFT JOIN hashtag_sentiment se ON {_same("se", window=True)}
-- momentum has no window: the last 30 days against the 30 before (docs/metrics.md)
LEFT JOIN hashtag_momentum mo ON {_same("mo")}
LEFT JOIN hashtag_best_slot bs ON {_same("bs", window=True)} AND bs.rank = 1
LEFT JOIN LATERAL (
  SELECT sum(l.posts) AS posts, sum(l.scored_posts) AS scored,
         string_agg(l.language, ' ' ORDER BY l.language)
           FILTER (WHERE l.scored_posts > 0) AS scored_languages,
         string_agg(l.language || ':' || l.posts, ' ' ORDER BY l.posts DESC, l.language)
           AS breakdown
  FROM hashtag_language l WHERE {_same("l", window=True)}
) lang ON true
WHERE hp.platform = :platform AND hp.account_id = :account AND hp.window = :window
  AND hp.posts >= :min_posts
ORDER BY le.score DESC NULLS LAST, h.key
"""


async def report_rows(
    session: AsyncSession, *, platform: str, account_id: int, window: str, min_posts: int
) -> list[dict[str, Any]]:
    """One row per hashtag with every figure, best engagement score first."""
    return await _rows(
        session,
        _REPORT,
        {"platform": platform, "account": account_id, "window": window, "min_posts": min_posts},
    )


_OVER_CAP = """
SELECT p.platform_post_id AS post_id, a.handle AS account, p.posted_at, p.url,
       count(*) AS hashtags
FROM post p JOIN account a ON a.id = p.account_id JOIN post_hashtag l ON l.post_id = p.id
WHERE p.platform = 'instagram'
  AND (CAST(:account AS bigint) = 0 OR p.account_id = :account)
  AND (CAST(:since AS timestamptz) IS NULL OR p.posted_at >= :since)
  AND p.posted_at <= now()
GROUP BY p.id, a.handle
HAVING count(*) > :cap
ORDER BY p.posted_at DESC, p.id DESC
LIMIT :limit
"""


async def posts_over_hashtag_cap(
    session: AsyncSession,
    *,
    account_id: int,
    since: datetime | None,
    cap: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Instagram posts of the scope since `since` carrying more than `cap` hashtags, newest
    first (caption and first-comment hashtags alike)."""
    params = {"account": account_id, "since": since, "cap": cap, "limit": limit}
    return await _rows(session, _OVER_CAP, params)
