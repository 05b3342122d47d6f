"""The request pacer and rate-limit header parsing, against scripted HTTP answers.

httpx.MockTransport stands in for the platforms here (third-party HTTP); the clock and sleep
are fakes so that minutes-long waits take no time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hashtag_core.collect import (
    AccountSpec,
    AuthExpired,
    CollectSettings,
    MalformedResponse,
    PlatformUnavailable,
    RateLimited,
    RequestRejected,
    build_connectors,
)
from hashtag_core.collect.http import RequestPacer, RequestStats, redact_url
from hashtag_core.collect.linkedin import classify_linkedin
from hashtag_core.collect.meta import classify_meta
from hashtag_core.collect.ratelimit import meta_usage, retry_after_s, x_reset_wait
from hashtag_core.collect.x import classify_x
from hashtag_core.platforms import Platform

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()
TOKEN = "s3cr3t-token-value"


class FakeClock:
    """Wall clock that only moves when the code under test sleeps."""

    def __init__(self, now: float = NOON) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds
        await asyncio.sleep(0)


class _YieldingClock(FakeClock):
    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)
        await super().sleep(seconds)


Script = Sequence[tuple[int, dict[str, str], Any]]


def _transport(script: Script, seen: list[httpx.Request]) -> httpx.MockTransport:
    """Answers from `script` in order (the last one repeats)."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, headers, body = script[min(len(seen) - 1, len(script) - 1)]
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, headers=headers, content=content)

    return httpx.MockTransport(handler)


async def _get(
    platform: Platform,
    script: Script,
    classify: Callable[..., Any],
    clock: FakeClock | None = None,
    **settings: Any,
) -> tuple[Any, list[httpx.Request], FakeClock, RequestStats]:
    clock = clock or FakeClock()
    seen: list[httpx.Request] = []
    pacer = RequestPacer(
        platform,
        CollectSettings(**settings),
        sleep=clock.sleep,
        clock=clock.time,
        jitter=lambda: 1.0,  # the top of each backoff interval, so waits are predictable
    )
    stats = RequestStats()
    async with httpx.AsyncClient(transport=_transport(script, seen)) as client:
        body = await pacer.get_json(
            client,
            "https://api.example/items",
            params={"a": "1"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            classify=classify,
            label=f"{platform.value} account 'park'",
            stats=stats,
        )
    return body, seen, clock, stats


class TestRetries:
    async def test_server_errors_back_off_exponentially_then_succeed(self) -> None:
        script: Script = [(503, {}, {}), (500, {}, {}), (502, {}, {}), (200, {}, {"ok": 1})]
        body, seen, clock, stats = await _get(Platform.X, script, classify_x, backoff_base_s=0.5)
        assert body == {"ok": 1}
        assert clock.slept == [0.5, 1.0, 2.0]
        assert stats.requests == len(seen) == 4

    async def test_backoff_is_capped(self) -> None:
        script: Script = [(503, {}, {})] * 4 + [(200, {}, {})]
        _, _, clock, _ = await _get(
            Platform.X, script, classify_x, backoff_base_s=1, backoff_max_s=3
        )
        assert clock.slept == [1.0, 2.0, 3.0, 3.0]

    async def test_gives_up_after_max_tries(self) -> None:
        with pytest.raises(PlatformUnavailable, match="gave up after 3 tries"):
            await _get(Platform.X, [(503, {}, {})], classify_x, max_tries=3)

    async def test_malformed_json_is_retried_then_reported(self) -> None:
        script: Script = [(200, {}, b'{"data": [')]
        with pytest.raises(MalformedResponse, match="not valid JSON"):
            await _get(Platform.INSTAGRAM, script, classify_meta, max_tries=2)

    async def test_malformed_json_once_is_survived(self) -> None:
        script: Script = [(200, {}, b'{"da'), (200, {}, {"data": []})]
        body, seen, _, _ = await _get(Platform.INSTAGRAM, script, classify_meta)
        assert body == {"data": []}
        assert len(seen) == 2


class TestAuth:
    @pytest.mark.parametrize(
        ("platform", "status", "body", "classify"),
        [
            (Platform.X, 401, {"title": "Unauthorized", "status": 401}, classify_x),
            (Platform.FACEBOOK, 400, {"error": {"message": "Session has expired", "code": 190, "error_subcode": 463}}, classify_meta),
            (Platform.INSTAGRAM, 403, {"error": {"message": "(#10) permission", "code": 10}}, classify_meta),
            (Platform.LINKEDIN, 401, {"status": 401, "serviceErrorCode": 65600, "code": "EXPIRED_ACCESS_TOKEN", "message": "expired"}, classify_linkedin),
            (Platform.LINKEDIN, 401, {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "revoked"}, classify_linkedin),
        ],
    )  # fmt: skip
    async def test_auth_errors_are_not_retried(
        self, platform: Platform, status: int, body: Any, classify: Any
    ) -> None:
        with pytest.raises(AuthExpired) as caught:
            await _get(platform, [(status, {}, body)], classify)
        assert "re-authorisation" in caught.value.message
        assert "'park'" in caught.value.message

    async def test_linkedin_access_denied_is_about_the_request(self) -> None:
        body = {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                "message": "Not enough permissions"}  # fmt: skip
        with pytest.raises(RequestRejected, match="ACCESS_DENIED") as caught:
            await _get(Platform.LINKEDIN, [(403, {}, body)], classify_linkedin)
        assert not isinstance(caught.value, AuthExpired)

    async def test_not_enough_viewers_is_not_an_auth_problem(self) -> None:
        body = {
            "error": {
                "message": "(#10) Not enough viewers for the media to show insights",
                "code": 10,
            }
        }
        with pytest.raises(RequestRejected, match="Not enough viewers"):
            await _get(Platform.INSTAGRAM, [(400, {}, body)], classify_meta)

    async def test_token_echoed_by_the_platform_is_scrubbed(self) -> None:
        body = {"error": {"message": f"Malformed access token {TOKEN}", "code": 190}}
        with pytest.raises(AuthExpired) as caught:
            await _get(Platform.FACEBOOK, [(400, {}, body)], classify_meta)
        assert TOKEN not in str(caught.value)


class TestRateLimits:
    async def test_retry_after_seconds(self) -> None:
        script: Script = [(429, {"Retry-After": "7"}, {}), (200, {}, {})]
        _, _, clock, _ = await _get(Platform.LINKEDIN, script, classify_linkedin)
        assert clock.slept == [7.0]

    async def test_x_429_waits_until_the_reset(self) -> None:
        reset = str(int(NOON) + 30)
        script: Script = [(429, {"x-rate-limit-reset": reset}, {"status": 429}), (200, {}, {})]
        _, _, clock, _ = await _get(Platform.X, script, classify_x)
        assert clock.slept == [31.0]  # until the reset second, plus a second of margin

    async def test_x_exhausted_window_pauses_the_next_request(self) -> None:
        headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOON) + 60)}
        clock = FakeClock()
        seen: list[httpx.Request] = []
        pacer = RequestPacer(Platform.X, CollectSettings(), sleep=clock.sleep, clock=clock.time)
        async with httpx.AsyncClient(transport=_transport([(200, headers, {})], seen)) as client:
            for _ in range(2):
                await pacer.get_json(
                    client, "https://x.example/2/x", params=None, headers={},
                    classify=classify_x, label="x", stats=RequestStats(),
                )  # fmt: skip
        assert clock.slept == [61.0]

    async def test_usage_capped_gives_up_at_once(self) -> None:
        body = {"type": "https://api.twitter.com/2/problems/usage-capped", "period": "Monthly"}
        with pytest.raises(RateLimited):
            await _get(Platform.X, [(429, {}, body)], classify_x)

    async def test_wait_longer_than_max_wait_gives_up(self) -> None:
        with pytest.raises(RateLimited, match="allowed 60 s"):
            await _get(Platform.X, [(429, {"Retry-After": "600"}, {})], classify_x, max_wait_s=60)

    async def test_linkedin_day_throttle_lasts_until_midnight(self) -> None:
        body = {
            "status": 429,
            "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        }
        with pytest.raises(RateLimited) as caught:
            await _get(Platform.LINKEDIN, [(429, {}, body)], classify_linkedin)
        assert caught.value.wait_s == 12 * 3600

    async def test_meta_throttle_code_with_http_400_is_a_rate_limit(self) -> None:
        buc = {
            "17841": [
                {"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 2}
            ]
        }
        script: Script = [
            (400, {"X-Business-Use-Case-Usage": json.dumps(buc)}, {"error": {"code": 80002, "message": "too many calls"}}),
            (200, {}, {"data": []}),
        ]  # fmt: skip
        _, _, clock, _ = await _get(Platform.INSTAGRAM, script, classify_meta)
        # estimated_time_to_regain_access is in minutes; then, still at 100%, the slowest pace.
        assert clock.slept == [120.0, 2.0]

    async def test_meta_usage_above_threshold_spaces_requests_out(self) -> None:
        usage = {
            "X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 10, "total_time": 10})
        }
        clock = FakeClock()
        seen: list[httpx.Request] = []
        settings = CollectSettings(meta_slowdown_pct=80, meta_slowdown_max_s=2.0)
        pacer = RequestPacer(Platform.FACEBOOK, settings, sleep=clock.sleep, clock=clock.time)
        async with httpx.AsyncClient(transport=_transport([(200, usage, {})], seen)) as client:
            for _ in range(3):
                await pacer.get_json(
                    client, "https://graph.example/v22.0/1", params=None, headers={},
                    classify=classify_meta, label="fb", stats=RequestStats(),
                )  # fmt: skip
        assert clock.slept == [1.0, 1.0]  # halfway from 80% to 100%: half the maximum delay

    async def test_meta_transient_code_is_retried(self) -> None:
        script: Script = [(500, {}, {"error": {"code": 2, "is_transient": True}}), (200, {}, {})]
        _, seen, _, _ = await _get(Platform.FACEBOOK, script, classify_meta)
        assert len(seen) == 2


class TestCaps:
    """The limits that stop a platform from keeping a collection waiting forever."""

    async def test_repeated_rate_limit_answers_are_capped(self) -> None:
        # Each answer asks for no wait at all: only the count of waits stops the loop.
        script: Script = [(429, {"Retry-After": "0"}, {})] * 4 + [(200, {}, {"ok": 1})]
        with pytest.raises(RateLimited, match="4 waits"):
            await _get(Platform.LINKEDIN, script, classify_linkedin, max_rate_limit_waits=3)

    async def test_up_to_the_cap_of_waits_is_waited_out(self) -> None:
        script: Script = [(429, {"Retry-After": "0"}, {})] * 3 + [(200, {}, {"ok": 1})]
        body, seen, _, _ = await _get(
            Platform.LINKEDIN, script, classify_linkedin, max_rate_limit_waits=3
        )
        assert (body, len(seen)) == ({"ok": 1}, 4)

    async def test_total_waiting_is_capped(self) -> None:
        # 40 s each is under the 100 s cap, but the third would make 120 s in all.
        script: Script = [(429, {"Retry-After": "40"}, {})] * 3 + [(200, {}, {})]
        with pytest.raises(RateLimited, match=r"after 80 s and 3 waits") as caught:
            await _get(Platform.LINKEDIN, script, classify_linkedin, max_wait_s=100)
        assert caught.value.wait_s == 40.0

    async def test_total_waiting_up_to_the_cap_is_waited_out(self) -> None:
        script: Script = [(429, {"Retry-After": "50"}, {})] * 2 + [(200, {}, {})]
        _, _, clock, _ = await _get(Platform.LINKEDIN, script, classify_linkedin, max_wait_s=100)
        assert clock.slept == [50.0, 50.0]

    @pytest.mark.parametrize(
        ("platform", "classify"),
        [
            (Platform.X, classify_x),
            (Platform.FACEBOOK, classify_meta),
            (Platform.LINKEDIN, classify_linkedin),
        ],
    )
    async def test_retry_after_on_a_server_error_is_honoured(
        self, platform: Platform, classify: Any
    ) -> None:
        script: Script = [(503, {"Retry-After": "12"}, {}), (200, {}, {})]
        _, seen, clock, _ = await _get(platform, script, classify, backoff_base_s=0.5)
        assert clock.slept == [12.0]  # not the 0.5 s backoff
        assert len(seen) == 2

    async def test_a_connection_error_is_retried(self) -> None:
        await self._transport_error_is_retried(httpx.ConnectError("refused"))

    async def test_a_broken_read_is_retried(self) -> None:
        await self._transport_error_is_retried(httpx.RemoteProtocolError("peer closed"))

    async def test_a_timeout_is_retried(self) -> None:
        await self._transport_error_is_retried(httpx.ReadTimeout("slow"))

    async def _transport_error_is_retried(self, error: httpx.TransportError) -> None:
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise error
            return httpx.Response(200, json={"ok": 1})

        clock = FakeClock()
        pacer = RequestPacer(
            Platform.X, CollectSettings(backoff_base_s=0.5), sleep=clock.sleep,
            clock=clock.time, jitter=lambda: 1.0,
        )  # fmt: skip
        stats = RequestStats()
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            body = await pacer.get_json(
                client, "https://x.example/", params=None, headers={},
                classify=classify_x, label="x", stats=stats,
            )  # fmt: skip
        assert (body, calls, stats.requests, clock.slept) == ({"ok": 1}, 2, 2, [0.5])

    async def test_connection_errors_give_up_after_max_tries(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused")

        pacer = RequestPacer(Platform.X, CollectSettings(max_tries=2), sleep=FakeClock().sleep)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            with pytest.raises(PlatformUnavailable, match=r"connection error \(ConnectError\)"):
                await pacer.get_json(
                    client, "https://x.example/", params=None, headers={},
                    classify=classify_x, label="x", stats=RequestStats(),
                )  # fmt: skip


class TestMetaSlowdown:
    @staticmethod
    async def _three(first: dict[str, str], then: dict[str, str]) -> list[float]:
        """Sleeps of three requests: the first answer carries `first`, the others `then`."""
        clock = FakeClock()
        seen: list[httpx.Request] = []
        settings = CollectSettings(meta_slowdown_pct=80, meta_slowdown_max_s=2.0)
        pacer = RequestPacer(Platform.INSTAGRAM, settings, sleep=clock.sleep, clock=clock.time)
        script: Script = [(200, first, {}), (200, then, {})]
        async with httpx.AsyncClient(transport=_transport(script, seen)) as client:
            for _ in range(3):
                await pacer.get_json(
                    client, "https://graph.example/v22.0/1", params=None, headers={},
                    classify=classify_meta, label="ig", stats=RequestStats(),
                )  # fmt: skip
        return clock.slept

    HIGH = {"X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 1, "total_time": 1})}

    async def test_lifted_once_usage_falls_below_the_threshold(self) -> None:
        low = {"X-App-Usage": json.dumps({"call_count": 50, "total_cputime": 1, "total_time": 1})}
        assert await self._three(self.HIGH, low) == [1.0]  # only the request after the 90%

    async def test_lifted_once_meta_stops_reporting_usage(self) -> None:
        assert await self._three(self.HIGH, {}) == [1.0]

    async def test_kept_while_usage_stays_high(self) -> None:
        assert await self._three(self.HIGH, self.HIGH) == [1.0, 1.0]


async def test_concurrency_is_bounded_per_platform() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={})

    pacer = RequestPacer(Platform.X, CollectSettings(max_in_flight_per_platform=3))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await asyncio.gather(
            *(
                pacer.get_json(
                    client,
                    "https://x.example/",
                    params=None,
                    headers={},
                    classify=classify_x,
                    label="x",
                    stats=RequestStats(),
                )  # fmt: skip
                for _ in range(12)
            )
        )
    assert peak == 3


async def test_a_request_queued_for_a_slot_waits_out_a_429_that_arrived_meanwhile() -> None:
    # The fake clock moves only when the pacer sleeps, so "after Retry-After" is a fact about
    # the order of events, not about how fast this machine is. A sleeper lets the other task
    # run before the clock moves: a request sent without waiting is seen at the 429's time.
    clock = _YieldingClock()
    arrived: list[float] = []
    answered_429: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(clock.time())
        await asyncio.sleep(0)  # the other request queues for the one slot meanwhile
        if len(arrived) == 1:
            answered_429.append(clock.time())
            return httpx.Response(429, headers={"Retry-After": "1"}, json={})
        return httpx.Response(200, json={})

    pacer = RequestPacer(
        Platform.LINKEDIN, CollectSettings(max_in_flight_per_platform=1),
        sleep=clock.sleep, clock=clock.time,
    )  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await asyncio.gather(
            *(
                pacer.get_json(
                    client,
                    f"https://li.example/{path}",
                    params=None,
                    headers={},
                    classify=classify_linkedin,
                    label="li",
                    stats=RequestStats(),
                )
                for path in ("first", "second")
            )
        )
    assert len(arrived) == 3
    # The platform's next request, whichever it is, goes out only after Retry-After.
    assert min(arrived[1:]) - answered_429[0] >= 1.0


class TestHeaders:
    def test_retry_after_http_date(self) -> None:
        headers = httpx.Headers({"Retry-After": "Mon, 02 Mar 2026 12:00:30 GMT"})
        assert retry_after_s(headers, NOON) == 30.0

    def test_retry_after_garbage_is_ignored(self) -> None:
        assert retry_after_s(httpx.Headers({"Retry-After": "soon"}), NOON) is None

    def test_x_reset_only_when_exhausted(self) -> None:
        reset = str(int(NOON) + 10)
        assert (
            x_reset_wait(
                httpx.Headers({"x-rate-limit-remaining": "5", "x-rate-limit-reset": reset}), NOON
            )
            is None
        )
        assert (
            x_reset_wait(
                httpx.Headers({"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}), NOON
            )
            == 11.0
        )

    def test_meta_usage_takes_the_highest_percentage(self) -> None:
        headers = httpx.Headers(
            {
                "X-App-Usage": '{"call_count":28,"total_cputime":25,"total_time":25}',
                "X-Business-Use-Case-Usage": '{"1":[{"type":"pages","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":19}]}',
            }
        )
        usage = meta_usage(headers)
        assert usage is not None
        assert usage.percent == 100
        assert usage.regain_s == 19 * 60

    def test_retry_after_a_date_already_past_is_no_wait(self) -> None:
        headers = httpx.Headers({"Retry-After": "Mon, 02 Mar 2026 11:59:00 GMT"})
        assert retry_after_s(headers, NOON) == 0.0

    @pytest.mark.parametrize(
        ("remaining", "reset"), [("none", "100"), ("0", "soon"), ("0.5", "100")]
    )
    def test_x_reset_unreadable_is_ignored(self, remaining: str, reset: str) -> None:
        headers = httpx.Headers({"x-rate-limit-remaining": remaining, "x-rate-limit-reset": reset})
        assert x_reset_wait(headers, NOON) is None

    def test_x_reset_with_one_request_left_is_no_pause(self) -> None:
        headers = httpx.Headers(
            {"x-rate-limit-remaining": "1", "x-rate-limit-reset": str(int(NOON) + 30)}
        )
        assert x_reset_wait(headers, NOON) is None

    def test_meta_regain_of_one_minute(self) -> None:
        buc = {"1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 1}]}
        usage = meta_usage(httpx.Headers({"X-Business-Use-Case-Usage": json.dumps(buc)}))
        assert usage is not None
        assert usage.regain_s == 60

    def test_x_reset_with_a_negative_remaining_count_is_exhausted(self) -> None:
        headers = httpx.Headers(
            {"x-rate-limit-remaining": "-1", "x-rate-limit-reset": str(int(NOON) + 30)}
        )
        assert x_reset_wait(headers, NOON) == 31.0

    def test_retry_after_date_without_zone_is_gmt(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # "-0000" parses to a naive datetime; read on a machine whose local zone is not UTC.
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        try:
            headers = httpx.Headers({"Retry-After": "Mon, 02 Mar 2026 12:00:30 -0000"})
            assert retry_after_s(headers, NOON) == 30.0
        finally:
            monkeypatch.undo()
            time.tzset()

    def test_x_reset_already_past_waits_the_margin_only(self) -> None:
        headers = httpx.Headers(
            {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOON) - 30)}
        )
        assert x_reset_wait(headers, NOON) == 1.0

    @pytest.mark.parametrize("minutes", [0, -3])
    def test_meta_regain_of_no_time_is_no_lockout(self, minutes: int) -> None:
        buc = {
            "1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": minutes}]
        }
        usage = meta_usage(httpx.Headers({"X-Business-Use-Case-Usage": json.dumps(buc)}))
        assert usage is not None
        assert (usage.percent, usage.regain_s) == (100, None)

    def test_meta_regain_takes_the_longest_lockout(self) -> None:
        buc = {
            "1": [{"type": "pages", "call_count": 10, "estimated_time_to_regain_access": 2}],
            "2": [{"type": "ads", "total_time": 40, "estimated_time_to_regain_access": 5}],
        }
        usage = meta_usage(httpx.Headers({"X-Business-Use-Case-Usage": json.dumps(buc)}))
        assert usage is not None
        assert (usage.percent, usage.regain_s) == (40, 300)

    @pytest.mark.parametrize("app", ["not json", "[1, 2]", '{"call_count": "high"}', ""])
    def test_meta_usage_unreadable_counts_as_zero(self, app: str) -> None:
        usage = meta_usage(httpx.Headers({"X-App-Usage": app}))
        assert usage is not None
        assert (usage.percent, usage.regain_s) == (0.0, None)

    def test_meta_usage_absent(self) -> None:
        assert meta_usage(httpx.Headers({})) is None

    def test_redact_url_masks_tokens(self) -> None:
        url = redact_url(
            "https://graph.example/v22.0/1/media?access_token=abc&after=Q", {"limit": "2"}
        )
        assert "abc" not in url
        assert "access_token=%2A%2A%2A" in url or "access_token=***" in url


async def test_instagram_insights_fall_back_without_views() -> None:
    """A media type that refuses `views` still yields reach, saves and shares."""

    def handler(request: httpx.Request) -> httpx.Response:
        path, metric = request.url.path, request.url.params.get("metric")
        if path.endswith("/insights") and metric and "views" in metric:
            return httpx.Response(
                400, json={"error": {"message": "(#100) metric[0] must be one of ...", "code": 100}}
            )
        if path.endswith("/insights"):
            values = {"reach": 50, "saved": 4, "shares": 2}
            return httpx.Response(
                200,
                json={
                    "data": [
                        {"name": k, "period": "lifetime", "values": [{"value": v}]}
                        for k, v in values.items()
                    ]
                },
            )
        if path.endswith("/17841400000000001"):
            return httpx.Response(200, json={"id": "17841400000000001", "followers_count": 1000})
        media = {
            "id": "1789",
            "caption": "#lego",
            "media_type": "CAROUSEL_ALBUM",
            "timestamp": "2025-05-01T12:00:00+0000",
            "like_count": 7,
            "comments_count": 1,
            "permalink": "https://www.instagram.com/p/X/",
        }
        return httpx.Response(200, json=media)

    settings = CollectSettings(instagram_base_url="https://graph.example")
    account = AccountSpec(Platform.INSTAGRAM, "17841400000000001", "park", "UTC", SecretStr(TOKEN))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        connector = build_connectors(settings, {Platform.INSTAGRAM: client})[Platform.INSTAGRAM]
        post = await connector.fetch_post(account, "1789")
    assert post is not None
    assert (post["likes"], post["reach"], post["saves"], post["shares"]) == (7, 50, 4, 2)
    assert post["impressions"] is None
    assert post["followers"] == 1000
