"""/campaigns: stored campaign plans, their review, and the plan as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from hashtag_api.deps import ReaderDep, SessionDep, SnapshotDep, WriterDep
from hashtag_api.errors import error_responses
from hashtag_core.accounts.schemas import MAX_ID
from hashtag_core.campaigns import service as campaign_service
from hashtag_core.campaigns.schemas import (
    CAMPAIGN_EXAMPLE,
    CampaignCreate,
    CampaignPublic,
    CampaignsPage,
)
from hashtag_core.ingest.schemas import StorableText

__all__ = ["router"]

router = APIRouter(tags=["campaigns"])
#: The CSV form of the campaign example, rendered the way the endpoint renders it.
_CSV_EXAMPLE = campaign_service.plan_csv(CampaignPublic.model_validate(CAMPAIGN_EXAMPLE))
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID, description="The service's id of the campaign.")]


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignPublic,
    summary="Plan a campaign",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def create_campaign(
    body: CampaignCreate, session: SessionDep, _: WriterDep
) -> CampaignPublic:
    """Make and store the plan for a campaign (name, goal, dates, accounts and/or platforms,
    optional brief): per platform the hashtags to use with their estimate, interval and
    evidence, the hashtags of past posts like the brief, the best local slots per account,
    what to avoid and a caveat. The plan is kept as made; later estimates do not change it."""
    return await campaign_service.create_campaign(session, body)


@router.get(
    "/campaigns",
    response_model=CampaignsPage,
    summary="Campaigns, newest first",
    responses=error_responses(422, 503),
)
async def list_campaigns(
    session: SnapshotDep,
    _: ReaderDep,
    cursor: Annotated[
        StorableText | None, Query(max_length=500, description="next_cursor of the previous page.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=200, description="Campaigns per page (at most 200).")
    ] = 50,
) -> CampaignsPage:
    """The stored campaigns without their plans, newest first, a page at a time (pass
    `next_cursor` back as `cursor`)."""
    return await campaign_service.campaigns_page(session, cursor=cursor, limit=limit)


@router.get(
    "/campaigns/{campaign_id:int}.csv",
    response_class=Response,
    summary="A campaign's plan, as CSV",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
            "description": "The plan as CSV (UTF-8, header row), for a spreadsheet.",
        },
        **error_responses(404, 422, 503),
    },
)
async def get_campaign_csv(campaign_id: CampaignId, session: SnapshotDep, _: ReaderDep) -> Response:
    """The stored plan as one table: a row per hashtag to use, worth testing, to avoid and
    used by related posts, per best slot, then the caveat."""
    campaign = await campaign_service.get_campaign(session, campaign_id)
    return Response(
        campaign_service.plan_csv(campaign),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
    )


@router.get(
    "/campaigns/{campaign_id:int}",
    response_model=CampaignPublic,
    summary="One campaign: its plan and review",
    responses=error_responses(404, 422, 503),
)
async def get_campaign(
    campaign_id: CampaignId, session: SnapshotDep, _: ReaderDep
) -> CampaignPublic:
    """The campaign's stored plan, and how its posts did so far: against their account
    baselines and against the plan (posts with planned hashtags vs without)."""
    return await campaign_service.get_campaign(session, campaign_id)


@router.delete(
    "/campaigns/{campaign_id:int}",
    status_code=204,
    summary="Remove a campaign",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def delete_campaign(campaign_id: CampaignId, session: SessionDep, _: WriterDep) -> Response:
    """Remove the campaign and its plan (posts and figures stay)."""
    await campaign_service.delete_campaign(session, campaign_id)
    return Response(status_code=204)
