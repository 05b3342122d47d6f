"""Follower trends: each account's follower snapshots per local day or ISO week."""

from __future__ import annotations

from datetime import date
from itertools import groupby

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.service import resolve_scope
from hashtag_core.analytics.frames import ALL_PLATFORMS
from hashtag_core.errors import InvalidInput
from hashtag_core.platforms import Platform
from hashtag_core.timeline import repository as repo
from hashtag_core.timeline.schemas import AccountFollowers, FollowerPoint, FollowerTrendsPage
from hashtag_core.trends.schemas import Granularity

__all__ = ["follower_trends"]

_ACCOUNT_FIELDS = ("account_id", "platform", "handle", "time_zone")


async def follower_trends(
    session: AsyncSession,
    *,
    platform: Platform | None,
    account: str | None,
    granularity: Granularity,
    since: date | None,
    until: date | None,
) -> FollowerTrendsPage:
    """The follower series of every account in scope (one account, a platform, or all)."""
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"since ({since}) must be before until ({until})", field="since")
    scope = await resolve_scope(session, platform=platform, account=account)
    rows = await repo.follower_series(
        session,
        platform=None if scope.platform == ALL_PLATFORMS else scope.platform,
        account_id=scope.account.id if scope.account else None,
        week=granularity is Granularity.WEEK,
        since=since,
        until=until,
    )
    items = []
    for key, group in groupby(rows, key=lambda r: tuple(r[f] for f in _ACCOUNT_FIELDS)):
        items.append(
            AccountFollowers(
                **dict(zip(_ACCOUNT_FIELDS, key, strict=True)),
                series=[
                    FollowerPoint.model_validate(
                        {k: v for k, v in r.items() if k not in _ACCOUNT_FIELDS}
                    )
                    for r in group
                ],
            )
        )
    return FollowerTrendsPage(
        granularity=granularity,
        platform=scope.platform if scope.platform != "*" else None,
        account=scope.account.handle if scope.account else None,
        items=items,
    )
