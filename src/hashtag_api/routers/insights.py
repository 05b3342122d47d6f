"""GET /recommendations and GET /reports/hashtags."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.readcache import ReadCacheDep
from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.insights import service as insight_service
from hashtag_core.insights.schemas import REPORT_EXAMPLE, Recommendations, ReportPage
from hashtag_core.platforms import Platform

__all__ = ["router"]

router = APIRouter(tags=["insights"])
PlatformQ = Annotated[Platform | None, Query(description="Only this platform.")]
AccountQ = Annotated[
    StorableText | None, Query(max_length=200, description="Only this account (handle or id).")
]
#: The CSV form of the report's JSON example, rendered the way the endpoint renders it.
_CSV_EXAMPLE = insight_service.report_csv(ReportPage.model_validate(REPORT_EXAMPLE))


@router.get(
    "/recommendations",
    response_model=Recommendations,
    summary="Hashtags to use and to avoid for a goal",
    responses=error_responses(404, 422, 503),
)
async def get_recommendations(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    goal: Annotated[Goal, Query(description="What the campaign should raise.")] = Goal.ENGAGEMENT,
    platform: PlatformQ = None,
    account: AccountQ = None,
    window: Annotated[Window, Query(description="Posts the evidence comes from.")] = Window.ALL,
    min_posts: Annotated[
        int, Query(ge=2, le=10_000, description="Least evidence a recommended hashtag needs.")
    ] = 10,
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many of each kind.")] = 5,
) -> Recommendations:
    """For a goal (engagement, reach, virality, engagement rate per follower, followers), the
    hashtags to use — each with its expected lift and interval, how many posts back it, its
    best posting slot, hashtags that go well with it and a one-sentence reason — and the
    hashtags to avoid (reliably below the account's typical post)."""
    return await insight_service.recommendations(
        session,
        goal=goal,
        platform=platform,
        account=account,
        window=window,
        min_posts=min_posts,
        limit=limit,
    )


ReportWindowQ = Annotated[
    Window, Query(description="Posts from the last 7/30/90/365 days, or all.")
]
ReportMinPostsQ = Annotated[
    int, Query(ge=1, le=100_000, description="Leave out hashtags on fewer posts.")
]


def _csv_response(page: ReportPage, window: Window) -> Response:
    return Response(
        insight_service.report_csv(page),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="hashtag-report-{window.value}.csv"'
        },
    )


@router.get(
    "/reports/hashtags",
    response_model=ReportPage,
    summary="Every figure per hashtag",
    responses=error_responses(404, 422, 503),
)
async def get_hashtag_report(
    request: Request,
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    platform: PlatformQ = None,
    account: AccountQ = None,
    window: ReportWindowQ = Window.ALL,
    min_posts: ReportMinPostsQ = 1,
    # Still honoured (curl, spreadsheets), but not documented: the CSV has its own operation,
    # GET /reports/hashtags.csv, so that generated clients know which answer they get.
    format: Annotated[Literal["json", "csv"] | None, Query(include_in_schema=False)] = None,
) -> ReportPage | Response:
    """One table an analyst can open in a spreadsheet: per hashtag the engagement figures,
    lift with interval for every goal, follower growth, content reach, sentiment, momentum
    and best slot. The same table as CSV: `GET /reports/hashtags.csv` (or `format=csv`, or
    `Accept: text/csv`, here)."""
    page = await insight_service.hashtag_report(
        session, platform=platform, account=account, window=window, min_posts=min_posts
    )
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    return _csv_response(page, window) if wants_csv else page


@router.get(
    "/reports/hashtags.csv",
    response_class=Response,
    summary="Every figure per hashtag, as CSV",
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
            "description": "The report as CSV (UTF-8, header row), for a spreadsheet.",
        },
        **error_responses(404, 422, 503),
    },
)
async def get_hashtag_report_csv(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    platform: PlatformQ = None,
    account: AccountQ = None,
    window: ReportWindowQ = Window.ALL,
    min_posts: ReportMinPostsQ = 1,
) -> Response:
    """The hashtag report's table as CSV, one row per hashtag, the columns in the order of
    the JSON fields. Text cells that a spreadsheet would run as formulas are neutralised."""
    page = await insight_service.hashtag_report(
        session, platform=platform, account=account, window=window, min_posts=min_posts
    )
    return _csv_response(page, window)
