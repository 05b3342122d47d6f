"""Engagement trends: precomputed in each account's own time zone, or live in a given one."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.service import Scope, resolve_scope
from hashtag_core.analytics.frames import ALL_HASHTAGS, WINDOWS
from hashtag_core.analytics.stats import t975
from hashtag_core.errors import InvalidInput, NotFound
from hashtag_core.hashtags import parse_hashtag_param
from hashtag_core.hashtags import repository as hashtag_repo
from hashtag_core.hashtags.schemas import Window
from hashtag_core.ingest.schemas import validate_timezone
from hashtag_core.platforms import Platform
from hashtag_core.trends import repository as repo
from hashtag_core.trends.schemas import (
    BestSlot,
    Granularity,
    HashtagTrend,
    Momentum,
    SeriesPoint,
    TrendCell,
    TrendsPage,
)

__all__ = ["MAX_HASHTAGS", "engagement_trends"]

MAX_HASHTAGS = 20


async def _hashtags(session: AsyncSession, raw: list[str]) -> list[dict[str, Any]]:
    """Resolve requested hashtags; none requested means all posts."""
    if not raw:
        return [{"id": ALL_HASHTAGS, "key": None, "display": None}]
    if len(raw) > MAX_HASHTAGS:
        raise InvalidInput(f"at most {MAX_HASHTAGS} hashtags per request", field="hashtag")
    found = []
    for tag in raw:
        try:
            key = parse_hashtag_param(tag)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="hashtag") from exc
        row = await hashtag_repo.get_hashtag(session, key)
        if row is None:
            raise NotFound(f"no post carries #{key}")
        found.append(row)
    return found


def _lift(n: int, mean: float, sd: float | None) -> dict[str, float | int | None]:
    """Lift and its 95% t interval from the log-ratio mean and sd (as the stored slots)."""
    if n < 2 or sd is None:
        return {
            "lift": math.exp(mean) - 1,
            "lift_ci_low": None,
            "lift_ci_high": None,
            "lift_posts": n,
        }
    half = t975(n - 1) * sd / math.sqrt(n)
    return {
        "lift": math.exp(mean) - 1,
        "lift_ci_low": math.exp(mean - half) - 1,
        "lift_ci_high": math.exp(mean + half) - 1,
        "lift_posts": n,
    }


def _with_lift(cells: list[dict[str, Any]], stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_cell = {(s["weekday"], s["hour"]): s for s in stats}
    out = []
    for cell in cells:
        found = by_cell.get((cell["weekday"], cell["hour"]))
        out.append({**cell, **(_lift(found["n"], found["mean"], found["sd"]) if found else {})})
    return out


#: The stored pass's rule for best slots (hashtag_core.analytics.slots.best_slots defaults).
BEST_SLOT_MIN_POSTS = 5
BEST_SLOTS = 3


def _best(cells: list[dict[str, Any]], stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best slots of live cells, by the stored rule: at least BEST_SLOT_MIN_POSTS posts with a
    lift, ranked by the interval's low end, then the lift, then the earlier weekday and hour."""
    n_of = {(s["weekday"], s["hour"]): int(s["n"]) for s in stats}
    ranked = sorted(
        (
            c
            for c in cells
            if n_of.get((c["weekday"], c["hour"]), 0) >= BEST_SLOT_MIN_POSTS
            and c.get("lift_ci_low") is not None
        ),
        key=lambda c: (-c["lift_ci_low"], -c["lift"], c["weekday"], c["hour"]),
    )
    return [
        {
            "rank": rank,
            "weekday": c["weekday"],
            "hour": c["hour"],
            "posts": n_of[(c["weekday"], c["hour"])],
            **{name: c[name] for name in ("lift", "lift_ci_low", "lift_ci_high")},
        }
        for rank, c in enumerate(ranked[:BEST_SLOTS], start=1)
    ]


def _series(rows: list[dict[str, Any]]) -> list[SeriesPoint]:
    return [
        SeriesPoint(**r, avg_engagement=r["engagement_sum"] / r["posts"])
        for r in rows
        if r["posts"]
    ]


async def _one(
    session: AsyncSession,
    scope: Scope,
    tag: dict[str, Any],
    *,
    tz: str | None,
    week: bool,
    since: date | None,
    until: date | None,
    window: Window,
) -> HashtagTrend:
    args: dict[str, Any] = {
        "platform": scope.platform,
        "account_id": scope.account_id,
        "hashtag_id": tag["id"],
    }
    found_momentum = await repo.momentum(session, **args)
    best: list[dict[str, Any]] = []
    if tz is None:
        cells = await repo.stored_cells(session, **args, window=window.value)
        series = await repo.stored_series(session, **args, week=week, since=since, until=until)
        best = await repo.best_slots(session, **args, window=window.value)
    else:
        live: dict[str, Any] = {
            "tz": tz,
            "platform": None if scope.platform == "*" else scope.platform,
            "account_id": scope.account_id or None,
            "hashtag_id": tag["id"] or None,
        }
        stats = await repo.live_slot_stats(session, **live, days=WINDOWS[window.value])
        cells = _with_lift(await repo.live_cells(session, **live), stats)
        best = _best(cells, stats)
        series = await repo.live_series(session, **live, week=week, since=since, until=until)
    return HashtagTrend(
        hashtag=tag["display"],
        key=tag["key"],
        cells=[TrendCell(**c) for c in cells],
        best_slots=[BestSlot(**b) for b in best],
        momentum=Momentum(**found_momentum) if found_momentum else None,
        series=_series(series),
    )


async def engagement_trends(
    session: AsyncSession,
    *,
    hashtags: list[str],
    platform: Platform | None,
    account: str | None,
    tz: str | None,
    granularity: Granularity,
    since: date | None,
    until: date | None,
    window: Window = Window.ALL,
) -> TrendsPage:
    """Weekday x hour cells and a series for each requested hashtag (or all posts), with the
    slot lifts and best slots of `window`."""
    if tz is not None:
        try:
            validate_timezone(tz)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="tz") from exc
    scope = await resolve_scope(session, platform=platform, account=account)
    tags = await _hashtags(session, hashtags)
    week = granularity is Granularity.WEEK
    items = [
        await _one(session, scope, t, tz=tz, week=week, since=since, until=until, window=window)
        for t in tags
    ]
    status = await hashtag_repo.recompute_status(session)
    return TrendsPage(
        computed_at=status["computed_at"] if tz is None else None,
        time_zone=tz or "account",
        granularity=granularity,
        window=window,
        platform=scope.platform if scope.platform != "*" else None,
        account=scope.account.handle if scope.account else None,
        items=items,
    )
