"""Recommendations and the hashtag report, assembled from the precomputed tables."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.service import resolve_scope
from hashtag_core.analytics.frames import ALL_PLATFORMS
from hashtag_core.analytics.recommend import Recommendation, recommend
from hashtag_core.hashtags import repository as hashtag_repo
from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.insights import repository as repo
from hashtag_core.insights.schemas import (
    OverCapPost,
    RecommendationItem,
    Recommendations,
    RecommendationSlot,
    ReportPage,
    ReportRow,
)
from hashtag_core.platforms import INSTAGRAM_MAX_HASHTAGS, Platform
from hashtag_core.sentiment import coverage_status

__all__ = ["csv_cell", "hashtag_report", "recommendations", "report_csv"]

#: A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _item(rec: Recommendation) -> RecommendationItem:
    slot = rec.best_slot
    return RecommendationItem(
        hashtag=rec.hashtag,
        posts=rec.posts,
        expected_lift=rec.expected_lift,
        expected_low=rec.expected_low,
        expected_high=rec.expected_high,
        qvalue=rec.qvalue,
        lift=rec.lift,
        lift_ci_low=rec.ci_low,
        lift_ci_high=rec.ci_high,
        verdict=rec.verdict,
        best_slot=RecommendationSlot(
            weekday=slot.weekday,
            hour=slot.hour,
            lift=slot.lift,
            posts=slot.posts,
            score=slot.score,
            verdict=slot.verdict,
        )
        if slot
        else None,
        companions=list(rec.companions),
        reason=rec.reason,
    )


async def recommendations(
    session: AsyncSession,
    *,
    goal: Goal,
    platform: Platform | None,
    account: str | None,
    window: Window,
    min_posts: int,
    limit: int,
) -> Recommendations:
    """Hashtags to use and to avoid for `goal` in the scope, each with its evidence."""
    scope = await resolve_scope(session, platform=platform, account=account)
    lift, slots, pairs = await repo.lift_frames(
        session,
        platform=scope.platform,
        account_id=scope.account_id,
        goal=goal.value,
        window=window.value,
    )
    ids = lift["hashtag_id"].to_list() + pairs["hashtag_a"].to_list() + pairs["hashtag_b"].to_list()
    names = await repo.hashtag_names(session, sorted(set(ids)))
    scope_name = scope.account.handle if scope.account else None
    found = recommend(
        lift,
        slots,
        pairs,
        platform=scope.platform,
        account_id=scope.account_id,
        goal=goal.value,
        names=names,
        scope_name=scope_name,
        window=window.value,
        min_posts=min_posts,
        limit=limit,
    )
    status = await hashtag_repo.recompute_status(session)
    return Recommendations(
        goal=goal,
        window=window,
        platform=None if scope.platform == "*" else scope.platform,
        account=scope_name,
        computed_at=status["computed_at"],
        use=[_item(r) for r in found.use],
        avoid=[_item(r) for r in found.avoid],
        worth_testing=[_item(r) for r in found.worth_testing],
        note=found.note,
    )


OVER_CAP_LIMIT = 100
_WINDOW_DAYS = {Window.D7: 7, Window.D30: 30, Window.D90: 90, Window.D365: 365}


async def hashtag_report(
    session: AsyncSession,
    *,
    platform: Platform | None,
    account: str | None,
    window: Window,
    min_posts: int,
) -> ReportPage:
    """Every figure for every hashtag of the scope and window."""
    scope = await resolve_scope(session, platform=platform, account=account)
    rows = await repo.report_rows(
        session,
        platform=scope.platform,
        account_id=scope.account_id,
        window=window.value,
        min_posts=min_posts,
    )
    over_cap: list[dict[str, Any]] = []
    if scope.platform in (ALL_PLATFORMS, Platform.INSTAGRAM.value):
        days = _WINDOW_DAYS.get(window)
        since = datetime.now(UTC) - timedelta(days=days) if days else None
        over_cap = await repo.posts_over_hashtag_cap(
            session,
            account_id=scope.account_id,
            since=since,
            cap=INSTAGRAM_MAX_HASHTAGS,
            limit=OVER_CAP_LIMIT,
        )
    return ReportPage(
        computed_at=rows[0]["computed_at"] if rows else None,
        window=window,
        platform=None if scope.platform == "*" else scope.platform,
        account=scope.account.handle if scope.account else None,
        items=[
            ReportRow.model_validate(
                {**r, "sentiment_status": coverage_status(r["sentiment_coverage"])}
            )
            for r in rows
        ],
        instagram_over_hashtag_cap=[OverCapPost.model_validate(r) for r in over_cap],
    )


def csv_cell(value: Any) -> Any:
    """A CSV cell: NULL as empty, and text a spreadsheet would run as a formula as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # shown as text, never run as a formula
    return "" if value is None else value


def report_csv(page: ReportPage) -> str:
    """The report as CSV with a header row; text cells are neutralised against injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    lead = ["hashtag", "key"]
    columns = lead + [c for c in ReportRow.model_fields if c not in lead]
    writer.writerow(columns)
    for row in page.items:
        values = row.model_dump()
        writer.writerow([csv_cell(values[c]) for c in columns])
    return out.getvalue()
