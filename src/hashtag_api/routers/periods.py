"""GET /period-change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.params import IsoDate
from hashtag_api.readcache import ReadCacheDep
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.periods import service as period_service
from hashtag_core.periods.schemas import PeriodChangePage
from hashtag_core.platforms import Platform

__all__ = ["router"]

router = APIRouter(tags=["trends"])


@router.get(
    "/period-change",
    response_model=PeriodChangePage,
    summary="Each hashtag in a date range against the period of the same length before it",
    responses=error_responses(404, 422, 503),
)
async def get_period_change(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    since: Annotated[IsoDate, Query(description="First day of the range (UTC).")],
    until: Annotated[IsoDate, Query(description="Day after the range (UTC, exclusive).")],
    platform: Annotated[Platform | None, Query(description="Only this platform.")] = None,
    account: Annotated[
        StorableText | None, Query(max_length=200, description="Only this account (handle or id).")
    ] = None,
    min_posts: Annotated[
        int, Query(ge=1, le=100_000, description="Leave out hashtags on fewer posts in both.")
    ] = 1,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many hashtags.")] = 50,
) -> PeriodChangePage:
    """Engagement per hashtag in [since, until) against the same number of days just before,
    each post against its account's median post of its own period, with the change's 95%
    Welch interval: computed live from the posts (docs/metrics.md, "Period change")."""
    return await period_service.change_page(
        session,
        since=since,
        until=until,
        platform=platform,
        account=account,
        min_posts=min_posts,
        limit=limit,
    )
