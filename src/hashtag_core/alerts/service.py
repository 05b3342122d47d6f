"""Report schedules and alert subscriptions: create, list, delete."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.service import resolve_scope
from hashtag_core.alerts import repository as repo
from hashtag_core.alerts.schemas import (
    AlertSubscriptionCreate,
    AlertSubscriptionPublic,
    ReportScheduleCreate,
    ReportSchedulePublic,
    secret_hint,
)
from hashtag_core.analytics.frames import ALL_PLATFORMS
from hashtag_core.errors import NotFound

__all__ = [
    "create_schedule",
    "create_subscription",
    "delete_schedule",
    "delete_subscription",
    "list_schedules",
    "list_subscriptions",
]


async def _scope(
    session: AsyncSession, body: ReportScheduleCreate | AlertSubscriptionCreate
) -> dict[str, Any]:
    """platform and account_id columns of the body's scope (the account must exist)."""
    scope = await resolve_scope(session, platform=body.platform, account=body.account)
    if scope.account is not None:
        return {"platform": scope.platform, "account_id": scope.account_id}
    return {
        "platform": None if scope.platform == ALL_PLATFORMS else scope.platform,
        "account_id": None,
    }


def _schedule(row: Any) -> ReportSchedulePublic:
    return ReportSchedulePublic.model_validate(dict(row))


def _subscription(row: Any) -> AlertSubscriptionPublic:
    values = dict(row)
    secret = values.pop("webhook_secret")
    return AlertSubscriptionPublic.model_validate(
        {**values, "webhook_secret_hint": secret_hint(secret) if secret else None}
    )


async def create_schedule(
    session: AsyncSession, body: ReportScheduleCreate
) -> ReportSchedulePublic:
    """Store a report schedule."""
    values = {
        "name": body.name,
        "recipients": list(dict.fromkeys(body.recipients)),
        "cadence": body.cadence.value,
        "window": body.window.value,
        "goal": body.goal.value,
        **await _scope(session, body),
    }
    new_id = await repo.insert_schedule(session, values)
    return _schedule((await repo.list_schedules(session, new_id))[0])


async def list_schedules(session: AsyncSession) -> list[ReportSchedulePublic]:
    """Every report schedule, oldest first."""
    return [_schedule(r) for r in await repo.list_schedules(session)]


async def delete_schedule(session: AsyncSession, schedule_id: int) -> None:
    """Delete a report schedule (NotFound if there is none)."""
    if not await repo.delete_schedule(session, schedule_id):
        raise NotFound(f"no report schedule {schedule_id}; GET /report-schedules lists them")


async def create_subscription(
    session: AsyncSession, body: AlertSubscriptionCreate
) -> AlertSubscriptionPublic:
    """Store an alert subscription."""
    values = {
        "name": body.name,
        "webhook_url": body.webhook_url,
        "webhook_secret": body.webhook_secret,
        "emails": list(dict.fromkeys(body.emails)),
        "kinds": [k.value for k in body.kinds],
        "window": body.window.value,
        "goal": body.goal.value,
        **await _scope(session, body),
    }
    new_id = await repo.insert_subscription(session, values)
    return _subscription((await repo.list_subscriptions(session, new_id))[0])


async def list_subscriptions(session: AsyncSession) -> list[AlertSubscriptionPublic]:
    """Every alert subscription, oldest first (secrets shown as hints)."""
    return [_subscription(r) for r in await repo.list_subscriptions(session)]


async def delete_subscription(session: AsyncSession, subscription_id: int) -> None:
    """Delete an alert subscription (NotFound if there is none)."""
    if not await repo.delete_subscription(session, subscription_id):
        raise NotFound(
            f"no alert subscription {subscription_id}; GET /alert-subscriptions lists them"
        )
