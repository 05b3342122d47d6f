"""SQL of report schedules, alert subscriptions, alert events and the delivery log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.rawsql import in_transaction, session_driver

__all__ = [
    "claim_deliveries",
    "delete_schedule",
    "delete_subscription",
    "delivery_target",
    "finish_delivery",
    "insert_deliveries",
    "insert_events",
    "insert_schedule",
    "insert_subscription",
    "list_schedules",
    "list_subscriptions",
    "matching_pairs",
    "record_attempt",
    "record_verdict_flips",
    "recent_posts",
    "stale_accounts",
]

_SCHEDULE_COLUMNS = (
    "s.id, s.name, s.recipients, s.cadence, s.platform, s.account_id, a.handle AS account, "
    's."window", s.goal, s.created_at'
)
_SUBSCRIPTION_COLUMNS = (
    "s.id, s.name, s.webhook_url, s.webhook_secret, s.emails, s.kinds, s.platform, "
    's.account_id, a.handle AS account, s."window", s.goal, s.created_at'
)
#: Verdicts a flip is between ("too_few_posts" to a verdict is more evidence, not a flip).
_JUDGED = "('lifts', 'unclear', 'underperforms')"


async def insert_schedule(session: AsyncSession, values: dict[str, Any]) -> int:
    """Store a report schedule; its id."""
    apg = await session_driver(session)
    found: int = await apg.fetchval(
        'INSERT INTO report_schedule (name, recipients, cadence, platform, account_id, "window", '
        "goal) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        values["name"],
        values["recipients"],
        values["cadence"],
        values["platform"],
        values["account_id"],
        values["window"],
        values["goal"],
    )
    return found


async def list_schedules(session: AsyncSession, schedule_id: int | None = None) -> list[Any]:
    """Every report schedule (or the one `schedule_id`), oldest first, with its account handle."""
    apg = await session_driver(session)
    return list(
        await apg.fetch(
            f"SELECT {_SCHEDULE_COLUMNS} FROM report_schedule s "
            "LEFT JOIN account a ON a.id = s.account_id "
            "WHERE $1::bigint IS NULL OR s.id = $1 ORDER BY s.id",
            schedule_id,
        )
    )


async def delete_schedule(session: AsyncSession, schedule_id: int) -> bool:
    """Delete a report schedule (its deliveries stay in the log); False if there was none."""
    apg = await session_driver(session)
    status: str = await apg.execute("DELETE FROM report_schedule WHERE id = $1", schedule_id)
    return status != "DELETE 0"


async def insert_subscription(session: AsyncSession, values: dict[str, Any]) -> int:
    """Store an alert subscription; its id."""
    apg = await session_driver(session)
    found: int = await apg.fetchval(
        "INSERT INTO alert_subscription (name, webhook_url, webhook_secret, emails, kinds, "
        'platform, account_id, "window", goal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) '
        "RETURNING id",
        values["name"],
        values["webhook_url"],
        values["webhook_secret"],
        values["emails"],
        values["kinds"],
        values["platform"],
        values["account_id"],
        values["window"],
        values["goal"],
    )
    return found


async def list_subscriptions(
    session: AsyncSession, subscription_id: int | None = None
) -> list[Any]:
    """Every alert subscription (or one), oldest first, with its account handle."""
    apg = await session_driver(session)
    return list(
        await apg.fetch(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM alert_subscription s "
            "LEFT JOIN account a ON a.id = s.account_id "
            "WHERE $1::bigint IS NULL OR s.id = $1 ORDER BY s.id",
            subscription_id,
        )
    )


async def delete_subscription(session: AsyncSession, subscription_id: int) -> bool:
    """Delete an alert subscription; False if there was none."""
    apg = await session_driver(session)
    status: str = await apg.execute("DELETE FROM alert_subscription WHERE id = $1", subscription_id)
    return status != "DELETE 0"


async def record_verdict_flips(conn: AsyncConnection, *, at: datetime) -> int:
    """In a full pass, before its swap: an alert event for each hashtag row whose verdict
    differs between the live `hashtag_lift` and the staged one, in a (scope, window, goal)
    some subscription watches (only those lists are read, by their primary keys). The key
    names the pass (`at`), so a pass records a flip once."""
    apg = await in_transaction(conn)
    status: str = await apg.execute(
        f"""
        INSERT INTO alert_event (kind, key, platform, account_id, "window", goal, payload)
        SELECT 'verdict_flip',
               concat_ws(':', 'verdict_flip', o.platform, o.account_id, o."window", o.goal,
                         o.hashtag_id, $1::text),
               o.platform, o.account_id, o."window", o.goal,
               jsonb_build_object(
                   'hashtag', h.display, 'key', h.key, 'platform', o.platform,
                   'account_id', o.account_id, 'account', a.handle, 'window', o."window",
                   'goal', o.goal, 'before', o.verdict, 'after', n.verdict,
                   'score', n.score, 'score_ci_low', n.score_low, 'score_ci_high', n.score_high,
                   'qvalue', n.qvalue, 'posts', n.posts, 'computed_at', $2::timestamptz)
        FROM (
            SELECT DISTINCT coalesce(platform, '*') AS platform,
                   coalesce(account_id, 0) AS account_id, "window", goal
            FROM alert_subscription WHERE 'verdict_flip' = ANY (kinds)
        ) AS watched
        JOIN hashtag_lift o USING (platform, account_id, "window", goal)
        JOIN hashtag_lift__next n USING (platform, account_id, "window", goal, hashtag_id)
        JOIN hashtag h ON h.id = o.hashtag_id
        LEFT JOIN account a ON a.id = o.account_id
        WHERE o.verdict <> n.verdict AND o.verdict IN {_JUDGED} AND n.verdict IN {_JUDGED}
        ON CONFLICT (key) DO NOTHING
        """,
        str(int(at.timestamp() * 1_000_000)),
        at,
    )
    return int(status.rsplit(" ", 1)[-1])


async def insert_events(session: AsyncSession, events: list[dict[str, Any]]) -> int:
    """Store alert events; one whose key is known already is skipped. How many were new."""
    if not events:
        return 0
    apg = await session_driver(session)
    rows = await apg.fetch(
        'INSERT INTO alert_event (kind, key, platform, account_id, "window", goal, payload) '
        "SELECT e.kind, e.key, e.platform, e.account_id, e.win, e.goal, e.payload::jsonb "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], "
        "$7::text[]) AS e(kind, key, platform, account_id, win, goal, payload) "
        "ON CONFLICT (key) DO NOTHING RETURNING id",
        [e["kind"] for e in events],
        [e["key"] for e in events],
        [e["platform"] for e in events],
        [e["account_id"] for e in events],
        [e.get("window") for e in events],
        [e.get("goal") for e in events],
        [json.dumps(e["payload"], sort_keys=True, default=str) for e in events],
    )
    return len(rows)


async def stale_accounts(session: AsyncSession, *, now: datetime, hours: float) -> list[Any]:
    """Collected accounts (not paused) without a successful collection for `hours` or three
    sync intervals, whichever is longer (counted from registration if never)."""
    apg = await session_driver(session)
    return list(
        await apg.fetch(
            "SELECT id, platform, handle, status, last_error, last_sync_at, last_success_at, "
            "created_at, sync_interval_minutes, coalesce(last_success_at, created_at) AS since "
            "FROM account WHERE collect_enabled AND status <> 'paused' "
            "AND coalesce(last_success_at, created_at) < $1::timestamptz - "
            "greatest($2 * interval '1 hour', 3 * sync_interval_minutes * interval '1 minute') "
            "ORDER BY id",
            now,
            hours,
        )
    )


async def recent_posts(session: AsyncSession, *, since: datetime) -> list[Any]:
    """Posts since `since` of the accounts that posted then: id, account, time, engagement."""
    apg = await session_driver(session)
    return list(
        await apg.fetch(
            "SELECT p.id AS post_id, p.account_id, p.platform, a.handle, p.posted_at, "
            "p.engagement, p.url FROM post p JOIN account a ON a.id = p.account_id "
            "WHERE p.posted_at >= $1 ORDER BY p.id",
            since,
        )
    )


async def matching_pairs(session: AsyncSession, *, since: datetime) -> list[Any]:
    """(event, subscription) pairs to deliver: the event's kind is subscribed and its scope
    matches (a verdict flip: the subscription's exact scope, window and goal; an account's
    alert: any account within the subscription's platform/account), and the event is newer
    than the subscription and than `since`."""
    apg = await session_driver(session)
    return list(
        await apg.fetch(
            "SELECT e.id AS event_id, e.kind, e.key, e.payload::text AS payload, e.created_at, "
            "s.id AS subscription_id, s.webhook_url, s.emails "
            "FROM alert_event e JOIN alert_subscription s ON e.kind = ANY (s.kinds) "
            "AND e.created_at >= s.created_at "
            "AND CASE WHEN e.kind = 'verdict_flip' THEN "
            "  e.platform = coalesce(s.platform, '*') AND e.account_id = coalesce(s.account_id, 0)"
            '  AND e."window" = s."window" AND e.goal = s.goal '
            "ELSE (s.platform IS NULL OR s.platform = e.platform) "
            "  AND (s.account_id IS NULL OR s.account_id = e.account_id) END "
            "WHERE e.created_at >= $1 ORDER BY e.id, s.id",
            since,
        )
    )


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Log deliveries to make; one whose idempotency key is known is skipped. How many new."""
    if not rows:
        return 0
    apg = await session_driver(session)
    found = await apg.fetch(
        "INSERT INTO delivery (idempotency_key, channel, kind, schedule_id, subscription_id, "
        "event_id, recipient, subject) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], "
        "$6::bigint[], $7::text[], $8::text[]) ON CONFLICT (idempotency_key) DO NOTHING "
        "RETURNING id",
        *(
            [r.get(name) for r in rows]
            for name in (
                "idempotency_key",
                "channel",
                "kind",
                "schedule_id",
                "subscription_id",
                "event_id",
                "recipient",
                "subject",
            )
        ),
    )
    return len(found)


async def claim_deliveries(
    session: AsyncSession,
    *,
    now: datetime,
    lease_s: float,
    limit: int,
    reports: bool,
    schedule_id: int | None = None,
) -> list[Any]:
    """Take open deliveries (pending, or claimed by a worker whose lease ran out) for this
    worker until `now + lease_s`: alerts, or reports (of `schedule_id` if given). Rows another
    transaction is claiming are skipped, so two workers never take the same one."""
    apg = await session_driver(session)
    kind = "= 'report'" if reports else "<> 'report'"
    return list(
        await apg.fetch(
            "UPDATE delivery d SET status = 'sending', lease_until = $2 "
            "FROM (SELECT id FROM delivery "
            f"  WHERE kind {kind} AND ($4::bigint IS NULL OR schedule_id = $4) AND "
            "  (status = 'pending' OR (status = 'sending' AND lease_until < $1)) "
            "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) AS open "
            "WHERE d.id = open.id RETURNING d.*",
            now,
            now + timedelta(seconds=lease_s),
            limit,
            schedule_id,
        )
    )


async def delivery_target(session: AsyncSession, delivery_id: int) -> Any:
    """What a delivery sends: its event (kind, key, payload, time) and its subscription's
    secret (None once the subscription is deleted)."""
    apg = await session_driver(session)
    return await apg.fetchrow(
        "SELECT e.kind, e.key, e.payload::text AS payload, e.created_at, s.webhook_secret "
        "FROM delivery d LEFT JOIN alert_event e ON e.id = d.event_id "
        "LEFT JOIN alert_subscription s ON s.id = d.subscription_id WHERE d.id = $1",
        delivery_id,
    )


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    attempt: int,
    *,
    ok: bool,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    """Log one attempt and count it on its delivery."""
    apg = await session_driver(session)
    await apg.execute(
        "INSERT INTO delivery_attempt (delivery_id, attempt, ok, status_code, error, "
        "duration_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        delivery_id,
        attempt,
        ok,
        status_code,
        error,
        duration_ms,
    )
    await apg.execute(
        "UPDATE delivery SET attempts = greatest(attempts, $2), last_error = $3 WHERE id = $1",
        delivery_id,
        attempt,
        error,
    )


async def finish_delivery(
    session: AsyncSession, delivery_id: int, *, delivered: bool, now: datetime
) -> None:
    """Close a delivery: delivered, or failed for good."""
    apg = await session_driver(session)
    await apg.execute(
        "UPDATE delivery SET status = $2, lease_until = NULL, "
        "delivered_at = CASE WHEN $2 = 'delivered' THEN $3::timestamptz END WHERE id = $1",
        delivery_id,
        "delivered" if delivered else "failed",
        now,
    )
