"""GET /engagement-trends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.params import IsoDate
from hashtag_api.readcache import ReadCacheDep
from hashtag_core.hashtags.schemas import Window
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.platforms import Platform
from hashtag_core.trends import service as trend_service
from hashtag_core.trends.schemas import Granularity, TrendsPage

__all__ = ["router"]

router = APIRouter(tags=["trends"])


@router.get(
    "/engagement-trends",
    response_model=TrendsPage,
    summary="Engagement by local weekday x hour and over time",
    responses=error_responses(404, 422, 503),
)
async def get_engagement_trends(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    hashtag: Annotated[
        list[str],
        Query(
            max_length=20, description="Hashtags to show (repeat the parameter); none = all posts."
        ),
    ] = [],  # noqa: B006 (FastAPI copies defaults)
    platform: Annotated[Platform | None, Query(description="Only this platform.")] = None,
    account: Annotated[
        StorableText | None, Query(max_length=200, description="Only this account (handle or id).")
    ] = None,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            description="IANA time zone for the cells and series; default: each account's own.",
            examples=["Europe/Copenhagen"],
        ),
    ] = None,
    granularity: Annotated[
        Granularity, Query(description="Series step: day or ISO week.")
    ] = Granularity.DAY,
    since: Annotated[IsoDate | None, Query(description="Series from this local date.")] = None,
    until: Annotated[IsoDate | None, Query(description="Series before this local date.")] = None,
    window: Annotated[
        Window,
        Query(description="Posts the slot lifts and best slots cover: 7/30/90/365 days, or all."),
    ] = Window.ALL,
) -> TrendsPage:
    """For each hashtag (or all posts), the number of posts and mean engagement in each
    weekday x hour slot and per day or week, in the account's own time zone (DST-aware),
    or in `tz` when given; each slot's engagement lift and the best slots over the posts of
    `window` (default all history); momentum (last 30 days vs the 30 before)."""
    return await trend_service.engagement_trends(
        session,
        hashtags=hashtag,
        platform=platform,
        account=account,
        tz=tz,
        granularity=granularity,
        since=since,
        until=until,
        window=window,
    )
