"""Connectors against a misbehaving sandbox: 429s, 5xx, slow and held responses, truncated
JSON, duplicates across pages, expired and wrong tokens, sunset API versions."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from pydantic import SecretStr

from hashtag_core.collect import (
    AuthExpired,
    CollectResult,
    MalformedResponse,
    PlatformUnavailable,
    RateLimited,
    VersionGone,
    collect_many,
)
from hashtag_core.platforms import Platform
from tests.collect.conftest import Served, ServeSandbox
from tests.collect.helpers import SleepRecorder, comparable, connectors

pytestmark = pytest.mark.e2e

SMALL_PAGES = {
    "x_page_size": 10,
    "instagram_page_size": 8,
    "facebook_page_size": 8,
    "linkedin_page_size": 4,
}
FAST_RETRIES = {"max_tries": 3, "backoff_base_s": 0.01, "backoff_max_s": 0.05}


def _requests(served: Served, platform: Platform) -> int:
    return served.sandbox.faults.requests.get(platform.value, 0)


@pytest.mark.parametrize("error_status", [500, 503])
async def test_every_fault_at_once_still_collects_each_post_once(
    serve_sandbox: ServeSandbox, error_status: int
) -> None:
    faults = {
        "rate_limit_every": 6,
        "retry_after_s": 1,
        "error_every": 7,
        "error_status": error_status,
        "timeout_every": 17,
        "timeout_hold_s": 1.0,
        "malformed_every": 9,
        "slow_every": 5,
        "slow_ms": 40,
        "duplicate_across_pages": True,
    }
    # The Retry-After waits are recorded, not slept: the next test measures real ones.
    sleep = SleepRecorder(real=False)
    async with serve_sandbox(posts=400, faults=faults) as served:
        settings = served.settings(
            **SMALL_PAGES, request_timeout_s=0.3, max_tries=6, backoff_base_s=0.01
        )
        accounts = [served.account(p) for p in Platform]
        async with connectors(settings, sleep=sleep) as found:
            results = await collect_many(found, [(a, None, None) for a in accounts])
        injected = dict(served.sandbox.faults.injected)
        sources = [served.source(a.handle) for a in accounts]

    for result, source in zip(results, sources, strict=True):
        assert isinstance(result, CollectResult), result
        assert comparable(result.posts) == comparable(source)
        assert len(result.posts) == len(source)
        assert result.duplicates_dropped > 0
    assert set(injected) == {"rate_limit", "error", "timeout", "malformed"}
    # Retry-After: 1 honoured: a pause longer than any backoff these settings allow (the 6th
    # try's 0.01 * 2**4 s), at most the second asked for (counted from the 429's arrival).
    assert any(0.01 * 2**4 < wait <= 1.0 for wait in sleep.waits)


@pytest.mark.parametrize(
    ("platform", "http_date"),
    [(Platform.X, False), (Platform.INSTAGRAM, False), (Platform.LINKEDIN, True)],
)
async def test_retry_after_is_waited_for_real(
    serve_sandbox: ServeSandbox, platform: Platform, http_date: bool
) -> None:
    faults = {"rate_limit_next": 1, "retry_after_s": 1, "retry_after_http_date": http_date}
    sleep = SleepRecorder(real=True)
    async with serve_sandbox(posts=200, faults=faults) as served:
        async with connectors(served.settings(), sleep=sleep) as found:
            result = await found[platform].collect(
                served.account(platform), watermark=None, refresh_since=None
            )
        source = served.source(served.account(platform).handle)
        log = list(served.sandbox.log)

    assert comparable(result.posts) == comparable(source)
    # As the sandbox saw it: the platform's next request came at least Retry-After after the
    # 429 was answered (a lower bound: a slow machine only makes the gap longer).
    at = next(i for i, r in enumerate(log) if r.fault == "rate_limit")
    refused = log[at]
    following = next(r for r in log[at + 1 :] if r.platform == refused.platform)
    assert refused.answered_s is not None
    assert following.arrived_s - refused.answered_s >= 1.0
    # The pause is counted from when the 429 arrived, so the sleep is at most Retry-After
    # (an HTTP date has whole seconds: up to a second more).
    assert 0 < sleep.waits[0] <= (2.0 if http_date else 1.0)


@pytest.mark.parametrize("platform", list(Platform))
async def test_token_expiring_mid_run_raises_auth_expired_without_leaking_it(
    serve_sandbox: ServeSandbox, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log URLs at INFO/DEBUG
    async with serve_sandbox(posts=400, faults={"expire_tokens_after": 2}) as served:
        account = served.account(platform)
        async with connectors(served.settings(**SMALL_PAGES)) as found:
            with pytest.raises(AuthExpired) as caught:
                await found[platform].collect(account, watermark=None, refresh_since=None)
        sent = _requests(served, platform)

    message = str(caught.value)
    assert account.handle in message
    assert "re-authorisation" in message
    token = account.token.get_secret_value()
    assert token not in message
    assert token not in caplog.text
    assert token not in repr(account)
    assert sent <= 2 + 4  # no retries: at most the requests already in flight


@pytest.mark.parametrize("platform", list(Platform))
async def test_wrong_token_fails_on_the_first_request(
    serve_sandbox: ServeSandbox, platform: Platform
) -> None:
    async with serve_sandbox(posts=100) as served:
        good = served.account(platform)
        wrong = dataclasses.replace(good, token=SecretStr("not-a-valid-token"))
        async with connectors(served.settings()) as found:
            with pytest.raises(AuthExpired, match="re-authorisation"):
                await found[platform].collect(wrong, watermark=None, refresh_since=None)
        assert _requests(served, platform) == 1


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"error_every": 1}, PlatformUnavailable),
        ({"error_every": 1, "error_status": 500}, PlatformUnavailable),
        ({"timeout_every": 1, "timeout_hold_s": 1.0}, PlatformUnavailable),
        ({"malformed_every": 1}, MalformedResponse),
    ],
)
async def test_gives_up_after_max_tries(
    serve_sandbox: ServeSandbox, faults: dict[str, Any], error: type[Exception]
) -> None:
    async with serve_sandbox(posts=100, faults=faults) as served:
        settings = served.settings(**FAST_RETRIES, request_timeout_s=0.2)
        async with connectors(settings) as found:
            with pytest.raises(error, match="gave up after 3 tries"):
                await found[Platform.X].collect(
                    served.account(Platform.X), watermark=None, refresh_since=None
                )
        assert _requests(served, Platform.X) == 3


async def test_sunset_linkedin_version_is_rejected_once(serve_sandbox: ServeSandbox) -> None:
    async with serve_sandbox(posts=100) as served:
        async with connectors(served.settings(linkedin_version="202001")) as found:
            with pytest.raises(VersionGone, match="NONEXISTENT_VERSION.*LINKEDIN_VERSION"):
                await found[Platform.LINKEDIN].collect(
                    served.account(Platform.LINKEDIN), watermark=None, refresh_since=None
                )
        assert _requests(served, Platform.LINKEDIN) == 1


async def test_x_waits_for_the_window_reset_instead_of_hitting_429(
    serve_sandbox: ServeSandbox,
) -> None:
    sleep = SleepRecorder(real=True)
    async with serve_sandbox(
        posts=300, max_posts_per_account=12, x_rate_limit=2, x_window_s=1
    ) as served:
        async with connectors(served.settings(x_page_size=5), sleep=sleep) as found:
            result = await found[Platform.X].collect(
                served.account(Platform.X), watermark=None, refresh_since=None
            )
    assert len(result.posts) == 12
    assert result.requests == 3  # three pages, and no 429 to retry
    assert len(sleep.waits) == 1
    # Until the reset second (at most 2 s into a 1 s window) plus a one-second margin.
    assert 0 < sleep.waits[0] <= 3.0


async def test_meta_business_use_case_throttle_outlasting_max_wait(
    serve_sandbox: ServeSandbox,
) -> None:
    async with serve_sandbox(posts=200, meta_account_calls=3) as served:
        async with connectors(served.settings(max_wait_s=60)) as found:
            with pytest.raises(RateLimited, match="instagram"):
                await found[Platform.INSTAGRAM].collect(
                    served.account(Platform.INSTAGRAM), watermark=None, refresh_since=None
                )


async def test_meta_throttle_without_headers_waits_minutes_not_seconds(
    serve_sandbox: ServeSandbox,
) -> None:
    faults = {"platforms": ["instagram"], "rate_limit_every": 1, "meta_throttle_bare": True}
    sleep = SleepRecorder(real=False)
    async with serve_sandbox(posts=100, faults=faults) as served:
        async with connectors(served.settings(), sleep=sleep) as found:
            with pytest.raises(RateLimited, match="code 4"):
                await found[Platform.INSTAGRAM].collect(
                    served.account(Platform.INSTAGRAM), watermark=None, refresh_since=None
                )
        requests = _requests(served, Platform.INSTAGRAM)
    assert requests <= 3  # 300 s, then 600 s: the 900 s budget is spent, no retry storm
    assert sleep.waits
    assert min(sleep.waits) >= 299


async def test_one_refused_media_does_not_stop_the_account(serve_sandbox: ServeSandbox) -> None:
    async with serve_sandbox(posts=300, faults={"ig_insights_refused_every": 3}) as served:
        account = served.account(Platform.INSTAGRAM)
        async with connectors(served.settings()) as found:
            result = await found[Platform.INSTAGRAM].collect(
                account, watermark=None, refresh_since=None
            )
        source = served.source(account.handle)
    refused = {p["post_id"] for p in source if int(p["post_id"]) % 3 == 0}
    assert refused
    assert len(result.posts) == len(source)
    for post in result.posts:
        if post["post_id"] in refused:
            assert post["reach"] is None  # unknown for that media only
        else:
            assert post["reach"] is not None or post["impressions"] is None


async def test_x_credits_depleted_pauses_with_a_clear_message(
    serve_sandbox: ServeSandbox,
) -> None:
    async with serve_sandbox(posts=100, faults={"x_credits_depleted": True}) as served:
        async with connectors(served.settings()) as found:
            with pytest.raises(RateLimited, match="credits are depleted") as caught:
                await found[Platform.X].collect(
                    served.account(Platform.X), watermark=None, refresh_since=None
                )
        assert _requests(served, Platform.X) == 1
    assert caught.value.wait_s is not None
    assert 0 < caught.value.wait_s <= 86_400 + 1
