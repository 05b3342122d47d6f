"""/report-schedules and /alert-subscriptions: scheduled reports and alerts the worker sends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from hashtag_api.deps import AdminDep, SessionDep
from hashtag_api.errors import error_responses
from hashtag_core.accounts.schemas import MAX_ID
from hashtag_core.alerts import service as alert_service
from hashtag_core.alerts.schemas import (
    AlertSubscriptionCreate,
    AlertSubscriptionPublic,
    ReportScheduleCreate,
    ReportSchedulePublic,
)

__all__ = ["router"]

router = APIRouter(tags=["alerts"])
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="The id the list shows.")]


@router.get(
    "/report-schedules",
    response_model=list[ReportSchedulePublic],
    summary="Scheduled reports",
    responses=error_responses(401, 403, 503),
)
async def list_report_schedules(session: SessionDep, _: AdminDep) -> list[ReportSchedulePublic]:
    """Every weekly or monthly report and who gets it."""
    return await alert_service.list_schedules(session)


@router.post(
    "/report-schedules",
    status_code=201,
    response_model=ReportSchedulePublic,
    summary="Schedule a report",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def create_report_schedule(
    body: ReportScheduleCreate, session: SessionDep, _: AdminDep
) -> ReportSchedulePublic:
    """A weekly (ISO week) or monthly report for a recipient list: an HTML email with the top
    movers and the recommendations of the scope, window and goal, and the hashtag report as
    CSV. The worker sends it once per period to each recipient, at `HASHTAG_REPORT_HOUR_UTC`
    on the period's first day (or at its next pass after that)."""
    return await alert_service.create_schedule(session, body)


@router.delete(
    "/report-schedules/{schedule_id}",
    status_code=204,
    summary="Stop a scheduled report",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def delete_report_schedule(schedule_id: ItemId, session: SessionDep, _: AdminDep) -> Response:
    """Stop sending the report (what was sent stays in the delivery log)."""
    await alert_service.delete_schedule(session, schedule_id)
    return Response(status_code=204)


@router.get(
    "/alert-subscriptions",
    response_model=list[AlertSubscriptionPublic],
    summary="Alert subscriptions",
    responses=error_responses(401, 403, 503),
)
async def list_alert_subscriptions(
    session: SessionDep, _: AdminDep
) -> list[AlertSubscriptionPublic]:
    """Every alert subscription; webhook secrets show their last four characters only."""
    return await alert_service.list_subscriptions(session)


@router.post(
    "/alert-subscriptions",
    status_code=201,
    response_model=AlertSubscriptionPublic,
    summary="Subscribe to alerts",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def create_alert_subscription(
    body: AlertSubscriptionCreate, session: SessionDep, _: AdminDep
) -> AlertSubscriptionPublic:
    """Alerts of the chosen kinds — a hashtag's verdict flips (in the subscription's scope,
    window and goal), a post far above or below its account's usual, an account that stopped
    syncing (docs/metrics.md, "Alerts") — POSTed to a webhook signed with the secret
    (`X-Hashtag-Signature`, docs/deployment.md) and/or emailed. The secret is never shown
    again in full."""
    return await alert_service.create_subscription(session, body)


@router.delete(
    "/alert-subscriptions/{subscription_id}",
    status_code=204,
    summary="Unsubscribe",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def delete_alert_subscription(
    subscription_id: ItemId, session: SessionDep, _: AdminDep
) -> Response:
    """Stop the alerts of this subscription."""
    await alert_service.delete_subscription(session, subscription_id)
    return Response(status_code=204)
