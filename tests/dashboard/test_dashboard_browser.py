"""The dashboard in a real headless Chromium (Debian's, driven by Playwright for Python).

uvicorn serves the app on loopback against the test database, loaded with seeded demo data and
its aggregates. The test checks that the charts are drawn from the API calls each panel shows,
that a filter re-queries them, that the keyboard reaches the filters and a hashtag, and that
nothing logs an error or fails to load. It saves a screenshot to artifacts/dashboard.png.

Chromium comes from HASHTAG_CHROMIUM or PATH; without it the test is skipped, unless
HASHTAG_REQUIRE_BROWSER=1 (CI), when it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.queue import ArqJobQueue
from hashtag_core.config import Settings
from hashtag_core.demo import DemoConfig
from hashtag_core.demo.load import load_demo
from hashtag_core.embedded import EmbeddedServices
from hashtag_core.migrate import PROJECT_ROOT
from tests.client.served import serve
from tests.helpers import API_KEY, recompute_in, wipe

pytestmark = pytest.mark.e2e

END = datetime(2026, 1, 1, tzinfo=UTC)
ARTIFACTS = PROJECT_ROOT / "artifacts"
TIMEOUT_MS = 20_000


@pytest.fixture
def chromium() -> str:
    """The Chromium executable, or a skip (a failure when the browser is required)."""
    found = os.environ.get("HASHTAG_CHROMIUM") or shutil.which("chromium")
    reason = ""
    if not found or not os.access(found, os.X_OK):
        reason = (
            f"Chromium not found (HASHTAG_CHROMIUM={found!r}; set it or install Debian's chromium)"
            if found
            else "Chromium not found (set HASHTAG_CHROMIUM or install Debian's chromium)"
        )
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            reason = "Playwright for Python is not installed"
    if reason:
        if os.environ.get("HASHTAG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"HASHTAG_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    assert found
    return found


@pytest.fixture
async def served(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str, services: EmbeddedServices
) -> AsyncIterator[str]:
    """The API on loopback with demo data and its aggregates committed (wiped afterwards)."""
    await arq_redis.flushdb()
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            result = await load_demo(
                session,
                ArqJobQueue(arq_redis),
                DemoConfig(posts=4000, days=365, seed=7, end=END),
                batch_rows=2000,
            )
            assert result.inserted == 4000
            await recompute_in(session, END)
            await session.commit()
        settings = Settings(
            database_url=database_url,
            redis_url=services.redis_url,
            api_keys=API_KEY,
            collect_cron_minutes=0,
        )
        async with serve(settings) as url:
            yield url
    finally:
        await wipe(engine)
        await arq_redis.flushdb()


async def _idle(page: Any, after: int) -> int:
    """Wait until the page has finished a refresh newer than `after`; its generation."""
    await page.wait_for_function(
        "after => Number(document.body.dataset.generation || 0) > after"
        " && document.body.dataset.loading === 'false'",
        arg=after,
        timeout=TIMEOUT_MS,
    )
    return int(await page.evaluate("document.body.dataset.generation"))


async def _api(base: str, page: Any, link_id: str) -> Any:
    """What the API answers to the URL the panel says it fetched."""
    href = await page.get_attribute(f"#{link_id}", "href")
    shown = await page.text_content(f"#{link_id}")
    assert shown == f"{base}{href}"  # the link shows the exact, absolute URL
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.get(href)
    assert response.status_code == 200, response.text
    return response.json()


async def _chart_state(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        """() => ({
            bars: [...document.querySelectorAll('#chart-top .bar-row')]
                .map(g => g.dataset.key),
            whiskers: document.querySelectorAll('#chart-top .whisker').length,
            cells: document.querySelectorAll('#chart-heat rect.cell:not(.empty)').length,
            points: document.querySelectorAll('#chart-eng circle.pt').length,
            lines: document.querySelectorAll('#chart-fol path.line').length,
            recs: document.querySelectorAll('#rec-use li').length,
            recTags: [...document.querySelectorAll('#rec-use li > span.use, #rec-use li > span.test')]
                .map(s => s.textContent),
            heatTag: document.getElementById('heat-tag').textContent,
        })"""
    )
    return result


async def _check_against_api(base: str, page: Any, state: dict[str, Any]) -> None:
    top = await _api(base, page, "api-top")
    assert state["bars"] == [i["key"] for i in top["items"] if i["score"] is not None]
    assert state["bars"], "the demo data must give some hashtags"
    trends = await _api(base, page, "api-heat")
    assert await page.get_attribute("#api-eng", "href") == await page.get_attribute(
        "#api-heat", "href"
    )
    # The heatmap's slot lifts and best slots are those of the chosen window.
    window = await page.input_value("#f-window")
    assert f"window={window}" in (await page.get_attribute("#api-heat", "href") or "")
    assert trends["window"] == window
    assert state["cells"] == len(trends["items"][0]["cells"]) > 0
    assert state["points"] == len(trends["items"][0]["series"]) > 0
    followers = await _api(base, page, "api-fol")
    assert state["lines"] == len([a for a in followers["items"] if a["series"]]) > 0
    recs = await _api(base, page, "api-rec")
    # "Use" lists the picks; with none, the hashtags worth testing under the note saying so.
    shown = recs["use"] or recs.get("worth_testing") or []
    assert state["recTags"] == [f"#{item['hashtag']}" for item in shown]
    assert state["recs"] == max(1, len(shown) + (1 if recs.get("note") else 0))


async def test_dashboard_in_a_real_browser(chromium: str, served: str) -> None:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "requestfailed",
                lambda r: problems.append(f"request failed: {r.url} {r.failure}"),
            )
            page.on(
                "response",
                lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
            )

            response = await page.goto(f"{served}/dashboard")
            assert response is not None
            assert response.status == 200
            assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
            generation = await _idle(page, 0)

            # Charts render, each drawn from the API call its panel shows.
            before = await _chart_state(page)
            await _check_against_api(served, page, before)
            assert before["whiskers"] >= 3 * len(before["bars"]) - 3
            assert (
                before["heatTag"]
                == f"#{(await _api(served, page, 'api-heat'))['items'][0]['hashtag']}"
            )
            for chart in ("top", "heat", "eng", "fol"):
                svg = page.locator(f"#chart-{chart} svg[role='img']")
                assert await svg.count() == 1
                assert len(await svg.locator("title").first.text_content() or "") > 20
            assert await page.locator("#status").get_attribute("aria-live") == "polite"

            # A filter changes the charts.
            await page.select_option("#f-platform", "linkedin")
            generation = await _idle(page, generation)
            after = await _chart_state(page)
            assert "platform=linkedin" in (await page.get_attribute("#api-top", "href") or "")
            assert "platform=linkedin" in (await page.get_attribute("#api-fol", "href") or "")
            await _check_against_api(served, page, after)
            assert after["bars"] != before["bars"]
            assert after["lines"] < before["lines"]
            # the account list follows the platform
            options = await page.locator("#f-account option").all_text_contents()
            assert len(options) > 1
            assert all("(linkedin)" in o for o in options[1:])

            # Keyboard: Tab reaches the filters, then a hashtag; Enter selects it.
            await page.locator("body").focus()
            await page.evaluate("document.activeElement && document.activeElement.blur()")
            reached: list[str] = []
            target = None
            for _ in range(60):
                await page.keyboard.press("Tab")
                info = await page.evaluate(
                    "() => ({id: document.activeElement.id,"
                    " key: document.activeElement.dataset.key || null,"
                    " pressed: document.activeElement.getAttribute('aria-pressed')})"
                )
                reached.append(info["id"])
                if info["key"] and info["pressed"] == "false":
                    target = info["key"]
                    break
            for control in ("f-platform", "f-account", "f-window", "apply"):
                assert control in reached, reached
            assert target is not None, "Tab never reached an unselected hashtag"
            await page.keyboard.press("Enter")
            await page.wait_for_function(
                "key => document.querySelector(`#table-top button[data-key='${key}']`)"
                ".getAttribute('aria-pressed') === 'true'"
                " && document.body.dataset.loading === 'false'"
                " && document.getElementById('api-heat').href.includes("
                "'hashtag=' + encodeURIComponent(key))",
                arg=target,
            )
            selected = await _chart_state(page)
            trend = await _api(served, page, "api-heat")
            assert trend["items"][0]["key"] == target
            assert selected["heatTag"] == f"#{trend['items'][0]['hashtag']}"
            assert selected["cells"] == len(trend["items"][0]["cells"])

            # Back to every platform for a representative screenshot.
            await page.select_option("#f-platform", "")
            await _idle(page, generation)
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []
