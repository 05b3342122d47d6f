"""GET /follower-trends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.params import IsoDate
from hashtag_api.readcache import ReadCacheDep
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.platforms import Platform
from hashtag_core.timeline import service as timeline_service
from hashtag_core.timeline.schemas import FollowerTrendsPage
from hashtag_core.trends.schemas import Granularity

__all__ = ["router"]

router = APIRouter(tags=["trends"])


@router.get(
    "/follower-trends",
    response_model=FollowerTrendsPage,
    summary="Follower counts over time, per account",
    responses=error_responses(404, 422, 503),
)
async def get_follower_trends(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    platform: Annotated[Platform | None, Query(description="Only this platform.")] = None,
    account: Annotated[
        StorableText | None, Query(max_length=200, description="Only this account (handle or id).")
    ] = None,
    granularity: Annotated[
        Granularity, Query(description="Series step: day or ISO week.")
    ] = Granularity.DAY,
    since: Annotated[IsoDate | None, Query(description="Series from this local date.")] = None,
    until: Annotated[IsoDate | None, Query(description="Series before this local date.")] = None,
) -> FollowerTrendsPage:
    """For each account, its follower count (the last snapshot) per day or ISO week in the
    account's own time zone, the lowest and highest count in the period, how many snapshots
    it rests on, and the change from the previous point. Snapshots come from imports (each
    post's followers at posting time) and from collection; see docs/metrics.md, "Follower
    trends"."""
    return await timeline_service.follower_trends(
        session,
        platform=platform,
        account=account,
        granularity=granularity,
        since=since,
        until=until,
    )
