"""SQL for campaigns: the campaign rows, and the posts, baselines and slots a plan reads."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.rawsql import session_driver

__all__ = [
    "POST_COLUMNS",
    "accounts_by_id",
    "accounts_of_platforms",
    "baselines",
    "best_slots",
    "campaign_posts",
    "delete_campaign",
    "get_campaign",
    "hashtags_of_posts",
    "insert_campaign",
    "lift_rows",
    "page_campaigns",
    "past_posts",
    "posts_in_window",
]

_COUNTERS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
#: The post columns a plan and a review read (counters as POSTS_SCHEMA has them).
_POST_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "post_id": pl.Int64,
    "account_id": pl.Int64,
    "platform": pl.String,
    "platform_post_id": pl.String,
    "url": pl.String,
    "posted_at": pl.Datetime("us", "UTC"),
    "text": pl.String,
    **dict.fromkeys(_COUNTERS, pl.Int64),
}
POST_COLUMNS = pl.Schema(_POST_COLUMNS)
_POSTS = f"""
SELECT p.id AS post_id, p.account_id, p.platform, p.platform_post_id, p.url, p.posted_at,
       p.text, {", ".join(f"p.{c}" for c in _COUNTERS)}
FROM post p JOIN account a ON a.id = p.account_id
"""
_CAMPAIGN = """
SELECT c.id, c.name, c.goal, c.starts_on, c.ends_on, c.platforms, c.account_ids, c.brief,
       c."window", c.plan::text AS plan, c.created_at
FROM campaign c
"""


def _frame(rows: list[Any]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=POST_COLUMNS)
    return pl.DataFrame([dict(r) for r in rows], schema=POST_COLUMNS, orient="row")


async def accounts_by_id(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    """id, platform, handle, timezone of the accounts `ids` that exist, by platform, handle."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT id, platform, handle, timezone FROM account WHERE id = ANY($1::bigint[]) "
        "ORDER BY platform, handle, id",
        ids,
    )
    return [dict(r) for r in rows]


async def accounts_of_platforms(session: AsyncSession, platforms: list[str]) -> list[int]:
    """Ids of every account on the given platforms."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT id FROM account WHERE platform = ANY($1::text[]) ORDER BY id", platforms
    )
    return [int(r["id"]) for r in rows]


async def insert_campaign(session: AsyncSession, values: dict[str, Any]) -> int:
    """Store a campaign; its id."""
    apg = await session_driver(session)
    return int(
        await apg.fetchval(
            "INSERT INTO campaign (name, goal, starts_on, ends_on, platforms, account_ids, brief, "
            '"window", plan) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) RETURNING id',
            values["name"],
            values["goal"],
            values["starts_on"],
            values["ends_on"],
            values["platforms"],
            values["account_ids"],
            values["brief"],
            values["window"],
            json.dumps(values["plan"]),
        )
    )


async def get_campaign(session: AsyncSession, campaign_id: int) -> dict[str, Any] | None:
    """One campaign row (plan as JSON text), or None."""
    apg = await session_driver(session)
    row = await apg.fetchrow(_CAMPAIGN + " WHERE c.id = $1", campaign_id)
    return dict(row) if row else None


async def page_campaigns(
    session: AsyncSession, *, after: tuple[str, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Campaigns newest first (created_at, id) after the keyset `after`, at most `limit`."""
    apg = await session_driver(session)
    order = " ORDER BY c.created_at DESC, c.id DESC LIMIT $1"
    if after is None:
        rows = await apg.fetch(_CAMPAIGN + order, limit)
    else:
        keyset = " WHERE (c.created_at, c.id) < ($2::text::timestamptz, $3)"
        rows = await apg.fetch(_CAMPAIGN + keyset + order, limit, *after)
    return [dict(r) for r in rows]


async def delete_campaign(session: AsyncSession, campaign_id: int) -> bool:
    """Remove a campaign; False if there was none."""
    apg = await session_driver(session)
    return bool(await apg.fetchval("DELETE FROM campaign WHERE id = $1 RETURNING id", campaign_id))


async def lift_rows(
    session: AsyncSession,
    *,
    platform: str,
    account_id: int,
    goal: str,
    window: str,
    hashtag_ids: list[int],
) -> list[dict[str, Any]]:
    """The hashtag estimate of `hashtag_ids` in one scope, goal and window."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT hashtag_id, posts, score, score_low, score_high, qvalue, verdict "
        "FROM hashtag_lift WHERE platform = $1 AND account_id = $2 AND goal = $3 "
        'AND "window" = $4 AND hashtag_id = ANY($5::bigint[])',
        platform,
        account_id,
        goal,
        window,
        hashtag_ids,
    )
    return [dict(r) for r in rows]


async def best_slots(
    session: AsyncSession, *, account_ids: list[int], window: str, ranks: int
) -> list[dict[str, Any]]:
    """The best `ranks` local slots of all posts (hashtag_id 0) per account."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT a.handle AS account, a.platform, a.timezone, s.rank, s.weekday, s.hour, s.posts, "
        "s.lift, s.score, s.score_low, s.score_high, s.verdict "
        "FROM hashtag_best_slot s "
        "JOIN account a ON a.id = s.account_id AND a.platform = s.platform "
        'WHERE s.account_id = ANY($1::bigint[]) AND s."window" = $2 AND s.hashtag_id = 0 '
        "AND s.rank <= $3 ORDER BY a.platform, a.handle, s.rank",
        account_ids,
        window,
        ranks,
    )
    return [dict(r) for r in rows]


async def baselines(session: AsyncSession, *, account_ids: list[int], goal: str) -> pl.DataFrame:
    """(account_id, baseline): the accounts' stored median value for `goal`, window all."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT account_id, baseline FROM account_baseline "
        "WHERE account_id = ANY($1::bigint[]) AND \"window\" = 'all' AND goal = $2",
        account_ids,
        goal,
    )
    schema = {"account_id": pl.Int64, "baseline": pl.Float64}
    return pl.DataFrame([dict(r) for r in rows], schema=schema, orient="row")


async def past_posts(
    session: AsyncSession, *, account_ids: list[int], since: Any, limit: int
) -> pl.DataFrame:
    """The accounts' most recent `limit` posts up to now (and from `since`, if given)."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        _POSTS + "WHERE p.account_id = ANY($1::bigint[]) AND p.posted_at <= now() "
        "AND ($2::timestamptz IS NULL OR p.posted_at >= $2) "
        "ORDER BY p.posted_at DESC, p.id DESC LIMIT $3",
        account_ids,
        since,
        limit,
    )
    return _frame(rows)


async def posts_in_window(session: AsyncSession, *, account_ids: list[int], since: Any) -> int:
    """How many posts the accounts have up to now (from `since`, if given)."""
    apg = await session_driver(session)
    return int(
        await apg.fetchval(
            "SELECT count(*) FROM post WHERE account_id = ANY($1::bigint[]) "
            "AND posted_at <= now() AND ($2::timestamptz IS NULL OR posted_at >= $2)",
            account_ids,
            since,
        )
    )


async def campaign_posts(
    session: AsyncSession, *, account_ids: list[int], starts_on: date, ends_on: date
) -> pl.DataFrame:
    """The accounts' posts up to now whose local date (the account's time zone) is in the
    dates (a post scheduled for later has no figures yet)."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        _POSTS + "WHERE p.account_id = ANY($1::bigint[]) AND p.posted_at <= now() "
        "AND (p.posted_at AT TIME ZONE a.timezone)::date BETWEEN $2 AND $3 ORDER BY p.id",
        account_ids,
        starts_on,
        ends_on,
    )
    return _frame(rows)


async def hashtags_of_posts(session: AsyncSession, post_ids: list[int]) -> pl.DataFrame:
    """(post_id, hashtag_id, hashtag): the posts' hashtags with their display spelling."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT DISTINCT l.post_id, l.hashtag_id, h.display AS hashtag "
        "FROM post_hashtag l JOIN hashtag h ON h.id = l.hashtag_id "
        "WHERE l.post_id = ANY($1::bigint[]) ORDER BY l.post_id, h.display",
        post_ids,
    )
    schema = {"post_id": pl.Int64, "hashtag_id": pl.Int64, "hashtag": pl.String}
    return pl.DataFrame([dict(r) for r in rows], schema=schema, orient="row")
