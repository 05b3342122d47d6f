"""Follower history backfill on an account's first collection, against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hashtag_core.collect import Watermark
from hashtag_core.collect.base import totals_from_gains
from hashtag_core.platforms import Platform
from tests.collect.conftest import SANDBOX_END, Served, ServeSandbox
from tests.collect.helpers import connectors

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)


def _now() -> datetime:
    """The sandbox's history must end now: the connectors ask for the days before today."""
    return datetime.now(UTC).replace(microsecond=0)


def test_totals_work_back_from_todays_count() -> None:
    d = datetime(2026, 12, 1, tzinfo=UTC)
    gains = [(d, 5), (d + DAY, -2), (d + 2 * DAY, 10)]
    assert totals_from_gains(100, gains) == [(d, 92), (d + DAY, 90), (d + 2 * DAY, 100)]


def _truth(served: Served, platform: Platform) -> dict[datetime, int]:
    handle = served.account(platform).handle
    account = next(a for a in served.sandbox.data.accounts if a.handle == handle)
    return dict(account.follower_days)


async def _first_run(
    served: Served, platform: Platform, **settings: object
) -> list[tuple[datetime, int]]:
    async with connectors(served.settings(**settings)) as found:
        result = await found[platform].collect(
            served.account(platform), watermark=None, refresh_since=None
        )
    return result.follower_history


@pytest.mark.parametrize(("platform", "days"), [(Platform.FACEBOOK, 200), (Platform.LINKEDIN, 200)])
async def test_first_collection_reads_the_daily_history(
    serve_sandbox: ServeSandbox, platform: Platform, days: int
) -> None:
    async with serve_sandbox(posts=300, days=400, end=_now()) as served:
        history = await _first_run(served, platform, follower_backfill_days=days)
        truth = _truth(served, platform)
    assert len(history) >= days - 2  # one point a day (the window's edges may fall between)
    times = [t for t, _ in history]
    assert times == sorted(times)
    assert times[0] >= _now() - timedelta(days=days + 1)
    # Totals derived from gains match the platform's own counts up to a constant offset
    # (today's count is read live and carries the noise of that moment).
    offsets = {n - truth[t] for t, n in history}
    assert len(offsets) == 1


async def test_instagram_reaches_back_thirty_days(serve_sandbox: ServeSandbox) -> None:
    async with serve_sandbox(posts=300, days=400, end=_now()) as served:
        history = await _first_run(served, Platform.INSTAGRAM, follower_backfill_days=365)
    assert 28 <= len(history) <= 31  # Meta keeps 30 days; the older windows are refused


async def test_instagram_whole_history_when_the_sandbox_keeps_it(
    serve_sandbox: ServeSandbox,
) -> None:
    async with serve_sandbox(
        posts=300, days=120, end=_now(), instagram_follower_days=None
    ) as served:
        history = await _first_run(served, Platform.INSTAGRAM, follower_backfill_days=120)
    assert len(history) >= 115


async def test_x_has_no_history_and_later_runs_read_none(serve_sandbox: ServeSandbox) -> None:
    async with serve_sandbox(posts=300) as served:
        assert await _first_run(served, Platform.X) == []
        async with connectors(served.settings()) as found:
            later = await found[Platform.LINKEDIN].collect(
                served.account(Platform.LINKEDIN),
                watermark=Watermark(None, SANDBOX_END - timedelta(days=1)),
                refresh_since=None,
            )
    assert later.follower_history == []
