"""Each connector against the sandbox over real HTTP: full runs, watermarks, refreshes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hashtag_core.collect import CollectResult, Watermark
from hashtag_core.platforms import Platform
from tests.collect.conftest import Served, ServeSandbox
from tests.collect.helpers import comparable, connectors

pytestmark = pytest.mark.e2e

# Small pages so that every account needs several of them.
PAGES = {
    "x_page_size": 10,
    "instagram_page_size": 10,
    "facebook_page_size": 10,
    "linkedin_page_size": 5,
}


async def _collect(
    served: Served,
    platform: Platform,
    watermark: Watermark | None = None,
    refresh_days: float | None = None,
) -> CollectResult:
    account = served.account(platform)
    refresh = None
    if refresh_days is not None and watermark and watermark.since_time:
        refresh = watermark.since_time - timedelta(days=refresh_days)
    async with connectors(served.settings(**PAGES)) as found:
        return await found[platform].collect(account, watermark=watermark, refresh_since=refresh)


@pytest.mark.parametrize("platform", list(Platform))
class TestCollect:
    async def test_first_run_reads_every_post_once(
        self, serve_sandbox: ServeSandbox, platform: Platform
    ) -> None:
        async with serve_sandbox(posts=800) as served:
            result = await _collect(served, platform)
            source = served.source(served.account(platform).handle)

        assert len(source) > 2 * PAGES[f"{platform.value}_page_size"]  # several pages
        assert len(result.posts) == len(source)
        assert comparable(result.posts) == comparable(source)
        times = [p["posted_at"] for p in result.posts]
        assert times == sorted(times, reverse=True)
        account = next(a for a in served.sandbox.data.accounts if a.handle == source[0]["account"])
        assert result.followers == account.followers
        assert {p["followers"] for p in result.posts} == {account.followers}
        newest = source[0]["posted_at"]
        assert result.watermark.since_time == newest
        assert result.watermark.since_id in {
            s["post_id"] for s in source if s["posted_at"] == newest
        }
        assert result.pages >= 3
        assert result.duplicates_dropped == 0

    async def test_second_run_reads_only_new_posts(
        self, serve_sandbox: ServeSandbox, platform: Platform
    ) -> None:
        async with serve_sandbox(posts=800) as served:
            first = await _collect(served, platform)
            handle = served.account(platform).handle
            response = await served.admin.post(
                "/_sandbox/advance", json={"posts": 3, "handles": [handle]}
            )
            new_ids = set(response.json()["added"][handle])
            second = await _collect(served, platform, first.watermark)
            source = served.source(handle)

        since = first.watermark.since_time
        got = {p["post_id"] for p in second.posts}
        assert len(new_ids) == 3
        assert new_ids <= got
        # Only the boundary post(s) may repeat: the watermark is inclusive (X: since_id is not).
        assert all(p["posted_at"] == since for p in second.posts if p["post_id"] not in new_ids)
        assert comparable(second.posts) == comparable([s for s in source if s["post_id"] in got])
        assert second.watermark.since_id == source[0]["post_id"]
        assert second.pages == 1

    async def test_refresh_window_rereads_recent_posts(
        self, serve_sandbox: ServeSandbox, platform: Platform
    ) -> None:
        async with serve_sandbox(posts=800) as served:
            first = await _collect(served, platform)
            handle = served.account(platform).handle
            await served.admin.post("/_sandbox/advance", json={"posts": 2, "handles": [handle]})
            second = await _collect(served, platform, first.watermark, refresh_days=20)
            source = served.source(handle)

        assert first.watermark.since_time is not None
        horizon = first.watermark.since_time - timedelta(days=20)
        expected = [s for s in source if s["posted_at"] >= horizon]
        assert len(expected) > 2  # new posts plus refreshed ones
        assert comparable(second.posts) == comparable(expected)
        assert second.watermark.since_id == source[0]["post_id"]

    async def test_refresh_only_run_keeps_the_watermark(
        self, serve_sandbox: ServeSandbox, platform: Platform
    ) -> None:
        async with serve_sandbox(posts=400) as served:
            first = await _collect(served, platform)
            second = await _collect(served, platform, first.watermark, refresh_days=30)

        assert second.watermark == first.watermark

    async def test_fetch_post_refreshes_one_post(
        self, serve_sandbox: ServeSandbox, platform: Platform
    ) -> None:
        async with serve_sandbox(posts=400) as served:
            account = served.account(platform)
            source = served.source(account.handle)[3]
            async with connectors(served.settings()) as found:
                post = await found[platform].fetch_post(account, source["post_id"])
                missing_id = {
                    Platform.X: "1234567890123456789",
                    Platform.INSTAGRAM: "17890000000000000",
                    Platform.FACEBOOK: f"{account.external_id}_42",
                    Platform.LINKEDIN: "urn:li:share:42",
                }[platform]
                missing = await found[platform].fetch_post(account, missing_id)
            followers = next(
                a.followers for a in served.sandbox.data.accounts if a.handle == account.handle
            )

        assert post is not None
        assert comparable([post]) == comparable([source])
        assert post["followers"] == followers
        assert missing is None


async def test_empty_account_returns_the_old_watermark(serve_sandbox: ServeSandbox) -> None:
    async with serve_sandbox(posts=200, max_posts_per_account=0) as served:
        mark = Watermark("123", None)
        result = await _collect(served, Platform.LINKEDIN, mark)
    assert result.posts == []
    assert result.watermark == mark
    assert result.followers is not None
