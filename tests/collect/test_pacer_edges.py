"""The request pacer at its boundaries: exactly the allowed wait, a short token, every final
error, and the words a rate limit gives up with. Scripted answers on a fake clock (see
test_http.py); written for mutants `make mutate` found alive."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from hashtag_core.collect import (
    AuthExpired,
    CollectSettings,
    MalformedResponse,
    NotFound,
    PlatformUnavailable,
    RateLimited,
    RequestRejected,
)
from hashtag_core.collect.http import (
    Outcome,
    RequestPacer,
    RequestStats,
    Verdict,
    _scrub,
    redact_url,
)
from hashtag_core.collect.linkedin import classify_linkedin
from hashtag_core.collect.meta import classify_meta
from hashtag_core.collect.x import classify_x
from hashtag_core.platforms import Platform
from tests.collect.test_http import FakeClock, Script, _get, _transport


class TestScrub:
    def test_a_four_character_token_is_scrubbed(self) -> None:
        assert _scrub("bad token abcd", {"Authorization": "Bearer abcd"}) == "bad token ***"

    def test_a_shorter_token_is_left_alone(self) -> None:
        # Replacing every "abc" in a message would mangle it and protect nothing.
        assert _scrub("bad token abc", {"Authorization": "Bearer abc"}) == "bad token abc"

    def test_no_authorization_leaves_the_text(self) -> None:
        assert _scrub("plain words", {}) == "plain words"


class TestLimits:
    async def test_a_wait_of_exactly_the_allowed_time_is_waited(self) -> None:
        script: Script = [(429, {"Retry-After": "60"}, {}), (200, {}, {"ok": 1})]
        body, _, clock, _ = await _get(Platform.LINKEDIN, script, classify_linkedin, max_wait_s=60)
        assert (body, clock.slept) == ({"ok": 1}, [60.0])

    async def test_a_pause_of_exactly_the_allowed_time_is_waited(self) -> None:
        # X's exhausted window pauses the next request; 59 s to the reset + 1 s margin = 60.
        clock = FakeClock()
        headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(clock.now) + 59)}
        seen: list[httpx.Request] = []
        settings = CollectSettings(max_wait_s=60)
        pacer = RequestPacer(Platform.X, settings, sleep=clock.sleep, clock=clock.time)
        async with httpx.AsyncClient(transport=_transport([(200, headers, {})], seen)) as client:
            for _ in range(2):
                await pacer.get_json(
                    client, "https://x.example/2/x", params=None, headers={},
                    classify=classify_x, label="x", stats=RequestStats(),
                )  # fmt: skip
        assert clock.slept == [60.0]

    async def test_a_pause_longer_than_allowed_gives_up_before_sending(self) -> None:
        clock = FakeClock()
        headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(clock.now) + 60)}
        seen: list[httpx.Request] = []
        pacer = RequestPacer(
            Platform.X, CollectSettings(max_wait_s=60), sleep=clock.sleep, clock=clock.time
        )
        async with httpx.AsyncClient(transport=_transport([(200, headers, {})], seen)) as client:
            kwargs: dict[str, Any] = {
                "params": None, "headers": {}, "classify": classify_x, "label": "x",
                "stats": RequestStats(),
            }  # fmt: skip
            await pacer.get_json(client, "https://x.example/2/x", **kwargs)
            with pytest.raises(RateLimited, match="asks us to wait 61 s") as caught:
                await pacer.get_json(client, "https://x.example/2/x", **kwargs)
        assert caught.value.wait_s == 61.0
        assert (len(seen), clock.slept) == (1, [])

    async def test_usage_cap_says_until_it_resets(self) -> None:
        body = {"type": "https://api.twitter.com/2/problems/usage-capped", "period": "Monthly"}
        with pytest.raises(RateLimited, match="waiting until the usage cap resets"):
            await _get(Platform.X, [(429, {}, body)], classify_x)

    async def test_a_finite_wait_names_the_seconds(self) -> None:
        with pytest.raises(RateLimited, match="waiting 600 s more"):
            await _get(Platform.X, [(429, {"Retry-After": "600"}, {})], classify_x, max_wait_s=60)

    async def test_backoff_without_retry_after_grows_per_wait(self) -> None:
        # A 429 without any wait named backs off like a failure: 0.5, 1, 2 s (jitter at 1).
        script: Script = [(429, {}, {})] * 3 + [(200, {}, {})]
        _, _, clock, _ = await _get(Platform.LINKEDIN, script, classify_linkedin)
        assert clock.slept == [0.5, 1.0, 2.0]

    async def test_a_bare_meta_throttle_waits_minutes_doubling_up_to_the_allowed_total(
        self,
    ) -> None:
        # No usage header, no Retry-After: 300 s, then 600 s (900 s spent, all allowed); the
        # third throttle would need 1,200 s more, so the run stops, naming a wait beyond 900 s.
        throttle = {"error": {"code": 4, "message": "Application request limit reached"}}
        clock = FakeClock()
        with pytest.raises(RateLimited, match="after 900 s and 3 waits") as caught:
            await _get(Platform.INSTAGRAM, [(400, {}, throttle)], classify_meta, clock=clock)
        assert clock.slept == [300.0, 600.0]
        assert caught.value.wait_s is not None
        assert caught.value.wait_s > 900

    async def test_a_meta_throttle_wait_beyond_the_allowed_gives_up_at_once(self) -> None:
        # A throttle wait set longer than max_wait_s is not cut down to exactly max_wait_s
        # (which would be waited): the first throttle already stops the run.
        throttle = {"error": {"code": 4, "message": "Application request limit reached"}}
        clock = FakeClock()
        with pytest.raises(RateLimited):
            await _get(
                Platform.FACEBOOK, [(400, {}, throttle)], classify_meta, clock=clock,
                meta_throttle_wait_s=1000, max_wait_s=900,
            )  # fmt: skip
        assert clock.slept == []


def _answer(outcome: Outcome) -> Any:
    def classify(response: httpx.Response, body: Any, now: float) -> Verdict:
        return Verdict(outcome, "the platform's words")

    return classify


class TestFinalErrors:
    @pytest.mark.parametrize(
        ("outcome", "error", "words"),
        [
            (Outcome.AUTH, AuthExpired, "needs re-authorisation"),
            (Outcome.NOT_FOUND, NotFound, "not found: GET https://api.example/items"),
            (Outcome.REJECTED, RequestRejected, "request rejected: GET"),
            (Outcome.RETRY, PlatformUnavailable, "platform unavailable: GET"),
            (Outcome.MALFORMED, MalformedResponse, "unreadable response from GET"),
        ],
    )
    async def test_each_outcome_raises_its_error(
        self, outcome: Outcome, error: type[Exception], words: str
    ) -> None:
        with pytest.raises(error, match=words) as caught:
            await _get(Platform.X, [(200, {}, {})], _answer(outcome), max_tries=1)
        assert "the platform's words" in str(caught.value)
        assert type(caught.value) is error

    async def test_a_real_404_is_not_found(self) -> None:
        with pytest.raises(NotFound):
            await _get(Platform.X, [(404, {}, {"title": "Not Found Error"})], classify_x)


class TestMetaUsage:
    @staticmethod
    async def _twice(usage: dict[str, object], **settings: Any) -> list[float]:
        """The sleeps of two requests to Meta, the first answered with `usage` (X-App-Usage)."""
        clock = FakeClock()
        seen: list[httpx.Request] = []
        pacer = RequestPacer(
            Platform.FACEBOOK, CollectSettings(**settings), sleep=clock.sleep, clock=clock.time
        )
        headers = {"X-App-Usage": json.dumps(usage)}
        script: Script = [(200, headers, {}), (200, {}, {})]
        async with httpx.AsyncClient(transport=_transport(script, seen)) as client:
            for _ in range(2):
                await pacer.get_json(
                    client, "https://graph.example/v22.0/1", params=None, headers={},
                    classify=classify_meta, label="fb", stats=RequestStats(),
                )  # fmt: skip
        return clock.slept

    async def test_at_exactly_100_percent_the_platform_pauses(self) -> None:
        # No lockout announced: the longest backoff; then the slowest pace.
        slept = await self._twice({"call_count": 100}, backoff_max_s=30, meta_slowdown_max_s=2)
        assert slept == [30.0, 2.0]

    async def test_at_99_percent_there_is_no_pause_only_spacing(self) -> None:
        slept = await self._twice({"call_count": 99}, backoff_max_s=30, meta_slowdown_max_s=2)
        assert slept == [1.9]  # 19/20 of the way from 80% to 100%

    async def test_over_100_percent_the_pace_is_the_slowest_not_beyond(self) -> None:
        slept = await self._twice({"call_count": 120}, backoff_max_s=30, meta_slowdown_max_s=2)
        assert slept == [30.0, 2.0]

    async def test_a_threshold_of_100_percent_still_slows_down_above_it(self) -> None:
        slept = await self._twice(
            {"call_count": 120}, backoff_max_s=30, meta_slowdown_pct=100, meta_slowdown_max_s=2
        )
        assert slept == [30.0, 2.0]


async def test_a_retry_is_logged_with_its_number(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hashtag_core.collect")
    await _get(Platform.X, [(503, {}, {}), (200, {}, {})], classify_x, max_tries=3)
    assert "retry 1 of 2 in 0.50 s" in caplog.text


async def test_once_a_pause_is_over_the_next_request_does_not_wait() -> None:
    clock = FakeClock()
    seen: list[httpx.Request] = []
    pacer = RequestPacer(Platform.LINKEDIN, CollectSettings(), sleep=clock.sleep, clock=clock.time)
    script: Script = [(429, {"Retry-After": "7"}, {}), (200, {}, {})]
    async with httpx.AsyncClient(transport=_transport(script, seen)) as client:
        for _ in range(3):
            await pacer.get_json(
                client, "https://li.example/", params=None, headers={},
                classify=classify_linkedin, label="li", stats=RequestStats(),
            )  # fmt: skip
    assert clock.slept == [7.0]  # not a sleep of 0 s before each later request
    assert len(seen) == 4


def test_redact_url_keeps_the_other_params_it_merges() -> None:
    url = redact_url("https://graph.example/v22.0/1", {"limit": "2", "access_token": "abc"})
    assert "limit=2" in url
    assert "abc" not in url
    assert "access_token=%2A%2A%2A" in url
