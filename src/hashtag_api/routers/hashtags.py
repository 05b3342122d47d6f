"""GET /hashtags/{hashtag} and GET /hashtag-performance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.params import IsoDateTime
from hashtag_api.readcache import ReadCacheDep
from hashtag_core.hashtags import service as hashtag_service
from hashtag_core.hashtags.cursors import PerformanceQuery
from hashtag_core.hashtags.schemas import (
    Goal,
    HashtagPage,
    HashtagStandouts,
    PerformancePage,
    PerformanceSort,
    PostSort,
    SortOrder,
    Window,
)
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.language import LANGUAGE_PATTERN
from hashtag_core.platforms import Platform

__all__ = ["router"]

router = APIRouter(tags=["hashtags"])

PlatformQ = Annotated[Platform | None, Query(description="Only this platform.")]
AccountQ = Annotated[
    StorableText | None,
    Query(
        max_length=200,
        description="Only this account (handle or id); add platform if the "
        "handle exists on several platforms.",
    ),
]


@router.get(
    "/hashtag-performance",
    response_model=PerformancePage,
    summary="Figures for every hashtag",
    responses=error_responses(404, 422, 503),
)
async def get_hashtag_performance(
    request: Request,
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    platform: PlatformQ = None,
    account: AccountQ = None,
    window: Annotated[
        Window, Query(description="Posts from the last 7/30/90/365 days, or all.")
    ] = Window.D90,
    min_posts: Annotated[
        int,
        Query(
            ge=1,
            le=100_000,
            description="Leave out hashtags on fewer posts (the score already discounts them).",
        ),
    ] = 1,
    goal: Annotated[
        Goal, Query(description="Goal of the lift, score and verdict fields.")
    ] = Goal.ENGAGEMENT,
    sort: Annotated[
        PerformanceSort,
        Query(description="Figure to sort by; default score, which shrinks small samples."),
    ] = PerformanceSort.SCORE,
    order: Annotated[
        SortOrder, Query(description="desc (default) or asc; nulls last.")
    ] = SortOrder.DESC,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many hashtags.")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Skip this many hashtags first (paging).")
    ] = 0,
    cursor: Annotated[
        StorableText | None,
        Query(
            max_length=2000,
            description="next_cursor of the previous page; it carries the query, so send it "
            "alone (parameters sent with it must agree with it).",
        ),
    ] = None,
) -> PerformancePage:
    """Per-hashtag engagement, engagement rates, virality, reach and impressions, each with
    the number of posts it rests on, and for the chosen goal the lift over each post's own
    account baseline (raw), and the hashtag estimate the default ranking uses (adjusted for
    companions and timing, shrunk) with its interval, q-value and verdict. From the
    precomputed tables; every figure is defined in docs/metrics.md."""
    query = PerformanceQuery(
        platform=platform,
        account=account,
        window=window,
        min_posts=min_posts,
        goal=goal,
        sort=sort,
        order=order,
    )
    return await hashtag_service.performance_page(
        session,
        query,
        limit=limit,
        offset=offset,
        cursor=cursor,
        sent=frozenset(request.query_params.keys()),
    )


HashtagPath = Annotated[
    str,
    Path(
        max_length=300,
        description="With or without '#', any case; URL-encode non-ASCII (e.g. %23LEGOLAND).",
        examples=["LEGOLAND"],
    ),
]


@router.get(
    "/hashtags/{hashtag}/standouts",
    response_model=HashtagStandouts,
    summary="One hashtag's best and weakest posts against their accounts' usual post",
    responses=error_responses(404, 422, 503),
)
async def get_hashtag_standouts(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    hashtag: HashtagPath,
    platform: PlatformQ = None,
    account: AccountQ = None,
    window: Annotated[
        Window, Query(description="Posts from the last 7/30/90/365 days, or all (default).")
    ] = Window.ALL,
    limit: Annotated[int, Query(ge=1, le=50, description="Posts in each list (at most 50).")] = 5,
) -> HashtagStandouts:
    """The posts carrying the hashtag that did best and worst against their own account's
    median post in the window (engagement, log-ratio capped at 20-fold; each post's link is
    the platform URL it was stored with). Defined in docs/metrics.md, "Standout posts"."""
    return await hashtag_service.standouts(
        session, hashtag=hashtag, platform=platform, account=account, window=window, limit=limit
    )


@router.get(
    "/hashtags/{hashtag}",
    response_model=HashtagPage,
    summary="One hashtag: its figures and its posts",
    responses=error_responses(404, 422, 503),
)
async def get_hashtag(
    _: ReaderDep,
    _cached: ReadCacheDep,  # after the key check: a cached answer needs the same rights
    session: SnapshotDep,
    hashtag: Annotated[
        str,
        Path(
            max_length=300,
            description="With or without '#', any case; URL-encode non-ASCII (e.g. %23LEGOLAND).",
            examples=["LEGOLAND"],
        ),
    ],
    platform: PlatformQ = None,
    account: AccountQ = None,
    since: Annotated[
        IsoDateTime | None, Query(description="Posts at or after this time (ISO 8601).")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Posts before this time (ISO 8601).")
    ] = None,
    sort: Annotated[
        PostSort | None,
        Query(description="newest first (default), or by engagement; a cursor carries it."),
    ] = None,
    cursor: Annotated[
        StorableText | None,
        Query(
            max_length=2000,
            description="next_cursor of the previous page; it carries the sort, filters and "
            "window, so send it alone (parameters sent with it must agree with it).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Posts per page (at most 200).")] = 50,
    window: Annotated[
        Window | None,
        Query(
            description="Posts the figures and insights cover: last 7/30/90/365 days, or all "
            "(default)."
        ),
    ] = None,
    language: Annotated[
        str | None,
        Query(
            pattern=LANGUAGE_PATTERN,
            description="Only posts in this language (ISO 639-1, e.g. en, da, ja; or unknown). "
            "Filters the posts (items); figures and insights cover every language, and "
            "insights.languages breaks them down. A cursor carries it.",
        ),
    ] = None,
) -> HashtagPage:
    """The posts that carry the hashtag with their metrics and engagement, a page at a
    time (keyset pagination: pass `next_cursor` back as `cursor`), and the hashtag's
    figures and insights (lift per goal, content reach, sentiment with its coverage, posts per
    language) for the same platform/account in `window` (default all history; pairs always
    cover all history)."""
    return await hashtag_service.hashtag_page(
        session,
        hashtag=hashtag,
        platform=platform,
        account=account,
        since=since,
        until=until,
        sort=sort,
        cursor=cursor,
        limit=limit,
        window=window,
        language=language,
    )
