"""GET /period-change: per-hashtag moments summed in PostgreSQL, compared in polars, named
and paged."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

import polars as pl
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.service import resolve_scope
from hashtag_core.analytics.period_change import change_of
from hashtag_core.errors import InvalidInput
from hashtag_core.periods import repository as repo
from hashtag_core.periods.schemas import PeriodChangeItem, PeriodChangePage
from hashtag_core.platforms import Platform

__all__ = ["MAX_RANGE_DAYS", "change_page"]

#: Longest range: ten years (the previous period doubles what is read).
MAX_RANGE_DAYS = 3660


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _check_range(since: date, until: date) -> date:
    """The previous period's first day, once the range is known to be sound."""
    if until <= since:
        raise InvalidInput(f"until ({until}) must be after since ({since})", field="until")
    if (until - since).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"the range may span at most {MAX_RANGE_DAYS} days", field="until")
    if since.toordinal() - (until - since).days < 1:
        raise InvalidInput(
            f"the period before {since} of the same length would start before year 1",
            field="since",
        )
    return since - (until - since)


async def change_page(
    session: AsyncSession,
    *,
    since: date,
    until: date,
    platform: Platform | None = None,
    account: str | None = None,
    min_posts: int = 1,
    limit: int = 50,
) -> PeriodChangePage:
    """Per hashtag: engagement in [since, until) against the same number of days before."""
    previous_since = _check_range(since, until)
    scope = await resolve_scope(session, platform=platform, account=account)
    levels = await repo.span_levels(
        session,
        platform=platform.value if platform else None,
        account_id=scope.account.id if scope.account else None,
        start=_midnight(previous_since),
        split=_midnight(since),
        end=_midnight(until),
    )
    plan = change_of(levels.lazy()).filter(
        pl.max_horizontal("current_posts", "previous_posts") >= min_posts
    )
    frame = await asyncio.to_thread(plan.collect)
    names = await repo.hashtag_names(session, frame["hashtag_id"].to_list())
    rows = sorted(
        frame.iter_rows(named=True),
        key=lambda r: (-r["current_posts"], names[r["hashtag_id"]][1]),
    )
    return PeriodChangePage(
        since=since,
        until=until,
        previous_since=previous_since,
        platform=platform.value
        if platform
        else (scope.account.platform if scope.account else None),
        account=scope.account.handle if scope.account else None,
        total=len(rows),
        items=[
            PeriodChangeItem(
                hashtag=names[r["hashtag_id"]][0],
                key=names[r["hashtag_id"]][1],
                **{k: v for k, v in r.items() if k != "hashtag_id"},
            )
            for r in rows[:limit]
        ],
    )
