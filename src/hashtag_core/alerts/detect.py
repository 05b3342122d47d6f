"""Finding alerts (posts far from their account's usual, accounts that stopped syncing; verdict
flips are found by the full recompute itself) and planning their deliveries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.alerts import repository as repo
from hashtag_core.alerts.settings import AlertSettings
from hashtag_core.analytics.outliers import OUTLIER_POSTS_SCHEMA, post_outliers

__all__ = ["describe", "find_post_outliers", "find_stale_accounts", "plan_deliveries"]

#: Events older than this are not fanned out any more (a subscription gets no history).
PLAN_HORIZON = timedelta(days=7)


async def find_post_outliers(
    session: AsyncSession, settings: AlertSettings, *, now: datetime
) -> int:
    """Record a post_outlier event for each post beyond the threshold (once per post)."""
    rows = await repo.recent_posts(
        session, since=now - timedelta(days=settings.post_reference_days)
    )
    if not rows:
        return 0
    frame = pl.DataFrame(
        {name: [r[name] for r in rows] for name in OUTLIER_POSTS_SCHEMA},
        schema=OUTLIER_POSTS_SCHEMA,
    )
    found = post_outliers(
        frame.lazy(),
        now=now,
        multiple=settings.post_outlier_multiple,
        min_age=timedelta(hours=settings.post_min_age_hours),
        max_age=timedelta(days=settings.post_max_age_days),
        min_posts=settings.post_reference_min_posts,
    ).collect()
    by_id = {r["post_id"]: r for r in rows}
    events = []
    for hit in found.iter_rows(named=True):
        post = by_id[hit["post_id"]]
        events.append(
            {
                "kind": "post_outlier",
                "key": f"post_outlier:{hit['post_id']}",
                "platform": post["platform"],
                "account_id": post["account_id"],
                "payload": {
                    "post_id": hit["post_id"],
                    "platform": post["platform"],
                    "account_id": post["account_id"],
                    "account": post["handle"],
                    "url": post["url"],
                    "posted_at": post["posted_at"].isoformat(),
                    "engagement": post["engagement"],
                    "direction": "above" if hit["deviations"] > 0 else "below",
                    "log_ratio": hit["log_ratio"],
                    "spread": hit["spread"],
                    "deviations": hit["deviations"],
                    "threshold": settings.post_outlier_multiple,
                },
            }
        )
    return await repo.insert_events(session, events)


async def find_stale_accounts(
    session: AsyncSession, settings: AlertSettings, *, now: datetime
) -> int:
    """Record a sync_stale event per account without a successful collection for too long
    (once per outage: the key names the last success)."""
    events = [
        {
            "kind": "sync_stale",
            "key": f"sync_stale:{row['id']}:{int(row['since'].timestamp())}",
            "platform": row["platform"],
            "account_id": row["id"],
            "payload": {
                "account_id": row["id"],
                "platform": row["platform"],
                "account": row["handle"],
                "status": row["status"],
                "last_error": row["last_error"],
                "last_sync_at": _iso(row["last_sync_at"]),
                "last_success_at": _iso(row["last_success_at"]),
                "hours_without_success": round((now - row["since"]).total_seconds() / 3600, 1),
                "threshold_hours": max(
                    settings.sync_stale_hours, 3 * row["sync_interval_minutes"] / 60
                ),
            },
        }
        for row in await repo.stale_accounts(session, now=now, hours=settings.sync_stale_hours)
    ]
    return await repo.insert_events(session, events)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def describe(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what an alert is about (email subject, webhook `summary`)."""
    if kind == "verdict_flip":
        scope = payload.get("account") or (
            "all accounts" if payload["platform"] == "*" else payload["platform"]
        )
        return (
            f"#{payload['hashtag']} {payload['before']} → {payload['after']} "
            f"({payload['goal']}, {payload['window']}, {scope})"
        )
    if kind == "post_outlier":
        return (
            f"Post {payload['post_id']} of {payload['account']} far {payload['direction']} "
            f"the account's usual ({payload['deviations']:+.1f} spreads)"
        )
    return (
        f"{payload['account']} ({payload['platform']}) has not synced for "
        f"{payload['hours_without_success']} h"
    )


async def plan_deliveries(session: AsyncSession, *, now: datetime) -> int:
    """Log a delivery per recent event and matching subscription: one to its webhook, one to
    each of its email addresses (known ones skipped: the idempotency key names them)."""
    rows: list[dict[str, Any]] = []
    for pair in await repo.matching_pairs(session, since=now - PLAN_HORIZON):
        subject = "Alert: " + describe(pair["kind"], json.loads(pair["payload"]))
        base = {
            "kind": pair["kind"],
            "subscription_id": pair["subscription_id"],
            "event_id": pair["event_id"],
            "subject": subject[:500],
        }
        key = f"alert:{pair['event_id']}:{pair['subscription_id']}"
        if pair["webhook_url"]:
            rows.append(
                {
                    **base,
                    "idempotency_key": f"{key}:webhook",
                    "channel": "webhook",
                    "recipient": pair["webhook_url"],
                }
            )
        rows.extend(
            {
                **base,
                "idempotency_key": f"{key}:email:{email.casefold()}",
                "channel": "email",
                "recipient": email,
            }
            for email in pair["emails"]
        )
    return await repo.insert_deliveries(session, rows)
