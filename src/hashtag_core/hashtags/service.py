"""Reading hashtag figures and posts: parameter rules, cursors, and response assembly."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.service import Scope, resolve_scope
from hashtag_core.analytics.performance import window_bounds
from hashtag_core.errors import InvalidInput, NotFound
from hashtag_core.hashtags import parse_hashtag_param
from hashtag_core.hashtags import repository as repo
from hashtag_core.hashtags.cursors import PerformanceQuery, resume, resume_performance
from hashtag_core.hashtags.schemas import (
    HashtagFigures,
    HashtagInsights,
    HashtagPage,
    HashtagStandouts,
    LanguageShare,
    LiftFigures,
    PairFigures,
    PerformanceItem,
    PerformancePage,
    PostSort,
    SortOrder,
    StandoutPost,
    Window,
)
from hashtag_core.platforms import Platform
from hashtag_core.posts.schemas import PostPublic
from hashtag_core.sentiment import coverage_status

__all__ = ["hashtag_page", "performance_page", "standouts"]

_PAIRS_SHOWN = 10


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in repo.FIGURE_COLUMNS}


async def performance_page(
    session: AsyncSession,
    query: PerformanceQuery,
    *,
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
    sent: frozenset[str] = frozenset(),
) -> PerformancePage:
    """Hashtag figures for a scope and window from the precomputed tables, a page at a time:
    from `offset`, or where `cursor` says (the parameters in `sent` must agree with it)."""
    query, offset = resume_performance(cursor, query, set(sent), offset)
    platform, account, window, goal = query.platform, query.account, query.window, query.goal
    sort, min_posts = query.sort, query.min_posts
    descending = query.order is SortOrder.DESC
    scope = await resolve_scope(session, platform=platform, account=account)
    status = await repo.recompute_status(session)
    total, rows = await repo.performance_rows(
        session,
        platform=scope.platform,
        account_id=scope.account_id,
        window=window.value,
        min_posts=min_posts,
        sort=sort.value,
        descending=descending,
        limit=limit,
        offset=offset,
        goal=goal.value,
    )
    return PerformancePage(
        computed_at=status["computed_at"],
        full_recompute_at=status["full_computed_at"],
        data_version=status["computed_version"],
        pending_version=status["requested"]
        if status["requested"] > status["computed_version"]
        else None,
        platform=platform.value
        if platform
        else (scope.account.platform if scope.account else None),
        account=scope.account.handle if scope.account else None,
        window=window,
        goal=goal,
        total=total,
        next_cursor=query.encode(offset + limit) if offset + limit < total else None,
        items=[
            PerformanceItem(
                hashtag=r["hashtag"],
                key=r["key"],
                goal=goal,
                **_figures(r),
                **{name: r[name] for name in repo.LIFT_COLUMNS},
            )
            for r in rows
        ],
    )


def _post(row: dict[str, Any]) -> PostPublic:
    return PostPublic.model_validate({k: v for k, v in row.items() if k != "id"})


async def _scope_figures(
    session: AsyncSession, scope: Scope, hashtag_id: int, window: Window
) -> tuple[HashtagFigures | None, datetime | None]:
    _, rows = await repo.performance_rows(
        session,
        platform=scope.platform,
        account_id=scope.account_id,
        window=window.value,
        min_posts=0,
        sort="posts",
        descending=True,
        limit=1,
        offset=0,
        hashtag_id=hashtag_id,
    )
    if not rows:
        return None, None
    return HashtagFigures(**_figures(rows[0])), rows[0]["computed_at"]


def _language_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Posts per language and the sentiment coverage they give (docs/metrics.md)."""
    posts = sum(row["posts"] for row in rows)
    scored = sum(row["scored_posts"] for row in rows)
    coverage = scored / posts if posts else None
    return {
        "languages": [LanguageShare(**row, share=row["posts"] / posts) for row in rows],
        "sentiment_scored_posts": scored,
        "sentiment_coverage": coverage,
        "sentiment_languages": sorted(row["language"] for row in rows if row["scored_posts"]),
        "sentiment_status": coverage_status(coverage),
    }


async def _insights(
    session: AsyncSession, scope: Scope, hashtag_id: int, window: Window
) -> HashtagInsights:
    found = await repo.insight_rows(
        session,
        platform=scope.platform,
        account_id=scope.account_id,
        hashtag_id=hashtag_id,
        pairs=_PAIRS_SHOWN,
        window=window.value,
    )
    reach, sentiment = found["reach"] or {}, found["sentiment"] or {}
    return HashtagInsights(
        **_language_figures(found["languages"]),
        lifts=[LiftFigures(**row) for row in found["lifts"]],
        content_reach=reach.get("reach_ratio"),
        content_reach_posts=reach.get("posts", 0),
        sentiment_mean=sentiment.get("mean_compound"),
        sentiment_positive_share=sentiment.get("positive_share"),
        sentiment_negative_share=sentiment.get("negative_share"),
        sentiment_engagement_corr=sentiment.get("correlation"),
        pairs=[PairFigures(**row) for row in found["pairs"]],
    )


async def hashtag_page(
    session: AsyncSession,
    *,
    hashtag: str,
    platform: Platform | None = None,
    account: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: PostSort | None = None,
    cursor: str | None = None,
    limit: int,
    window: Window | None = None,
    language: str | None = None,
) -> HashtagPage:
    """A hashtag's figures and insights in a window, and one page of its posts.

    None means "not sent": the first page takes the defaults (newest first, all history),
    a later one what its cursor carries."""
    try:
        key = parse_hashtag_param(hashtag)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="hashtag") from exc
    given = {
        "sort": sort,
        "platform": platform,
        "account": account,
        "since": since,
        "until": until,
        "window": window,
        "language": language,
    }
    query, after = resume(cursor, key, given)
    platform, account, since, until = query.platform, query.account, query.since, query.until
    sort, window, language = query.sort, query.window, query.language
    found = await repo.get_hashtag(session, key)
    if found is None:
        raise NotFound(f"no post carries #{key}; GET /hashtag-performance lists known hashtags")
    scope = await resolve_scope(session, platform=platform, account=account)
    rows = await repo.posts_page(
        session,
        hashtag_id=found["id"],
        platform=platform.value if platform else None,
        account_id=scope.account.id if scope.account else None,
        since=since,
        until=until,
        language=language,
        by_engagement=sort is PostSort.ENGAGEMENT,
        after=after,
        limit=limit + 1,
    )
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = None
    if more and last:
        next_cursor = query.encode(
            last["engagement"] if sort is PostSort.ENGAGEMENT else last["posted_at"],
            last["id"],
            key,
        )
    figures, computed_at = await _scope_figures(session, scope, found["id"], window)
    insights = await _insights(session, scope, found["id"], window) if figures else None
    return HashtagPage(
        hashtag=found["display"],
        key=found["key"],
        window=window,
        figures=figures,
        computed_at=computed_at,
        sort=sort,
        items=[_post(r) for r in rows],
        next_cursor=next_cursor,
        insights=insights,
    )


def _standout(row: dict[str, Any]) -> StandoutPost:
    fields = {k: v for k, v in row.items() if k not in ("id", "log_ratio")}
    return StandoutPost.model_validate({**fields, "relative": math.expm1(row["log_ratio"])})


async def standouts(
    session: AsyncSession,
    *,
    hashtag: str,
    platform: Platform | None = None,
    account: str | None = None,
    window: Window = Window.ALL,
    limit: int,
) -> HashtagStandouts:
    """The hashtag's best and weakest posts by engagement relative to each post's account
    baseline in the window (docs/metrics.md, Standout posts)."""
    try:
        key = parse_hashtag_param(hashtag)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="hashtag") from exc
    found = await repo.get_hashtag(session, key)
    if found is None:
        raise NotFound(f"no post carries #{key}; GET /hashtag-performance lists known hashtags")
    scope = await resolve_scope(session, platform=platform, account=account)
    at = (await repo.recompute_status(session))["full_computed_at"]
    since = window_bounds(at)[window.value][0] if at is not None else None
    total, best, worst = await repo.standout_posts(
        session,
        hashtag_id=found["id"],
        platform=platform.value if platform else None,
        account_id=scope.account.id if scope.account else None,
        window=window.value,
        since=since,
        limit=limit,
    )
    return HashtagStandouts(
        hashtag=found["display"],
        key=found["key"],
        window=window,
        baselines_at=at,
        posts=total,
        best=[_standout(r) for r in best],
        worst=[_standout(r) for r in worst],
    )
