"""The campaign plans page in a real headless Chromium (Playwright for Python), on the same
served demo as the dashboard's browser test: make a plan with the form, see it listed and
shown with the API's figures, export its CSV, get a field-naming error for bad dates, use it
by keyboard and at 390 px, with no console error. Screenshots: artifacts/screenshots/campaigns*.png."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dashboard.test_dashboard_browser import (  # noqa: F401 (fixtures)
    chromium,
    served,
)
from tests.dashboard.views import SCREENSHOTS as ARTIFACTS
from tests.dashboard.views import TIMEOUT_MS, axe_source, axe_violations
from tests.helpers import API_KEY


async def _idle(page: Any, after: int) -> int:
    """Wait until the page has finished an action newer than `after`; its generation."""
    await page.wait_for_function(
        "after => Number(document.body.dataset.generation || 0) > after"
        " && document.body.dataset.loading === 'false'",
        arg=after,
        timeout=TIMEOUT_MS,
    )
    return int(await page.evaluate("document.body.dataset.generation"))


async def _fill(page: Any, name: str, start: str, end: str) -> None:
    await page.fill("#c-name", name)
    await page.fill("#c-start", start)
    await page.fill("#c-end", end)
    await page.check("input[name=platforms][value=instagram]")
    await page.fill("#c-brief", "#BuildTogether family days out")
    await page.fill("#c-key", API_KEY)


async def _shown(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        """() => ({
            title: document.getElementById('h-detail').textContent,
            use: [...document.querySelectorAll(
                "#d-platforms section[data-platform='instagram'] span.use")]
                .map(s => s.textContent),
            slots: document.querySelectorAll('#d-slots tbody tr').length,
            related: document.querySelectorAll('#d-related li').length,
            reviewRows: document.querySelectorAll('#d-review tbody tr').length,
            caveat: document.getElementById('d-caveat').textContent,
            listed: [...document.querySelectorAll('#campaign-list button')]
                .map(b => b.textContent),
        })"""
    )
    return result


async def test_campaign_page_in_a_real_browser(chromium: str, served: str) -> None:  # noqa: F811
    from playwright.async_api import async_playwright

    axe = axe_source()
    problems: list[str] = []
    expected_422: list[str] = []
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
                    if m.type in ("error", "warning") and "422" not in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "response",
                lambda r: (
                    (expected_422 if r.status == 422 else problems).append(f"{r.status} {r.url}")
                    if r.status >= 400
                    else None
                ),
            )
            response = await page.goto(f"{served}/dashboard/campaigns")
            assert response is not None
            assert response.status == 200
            assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
            generation = await _idle(page, 0)

            # Bad dates: the error names the field, nothing is stored.
            await _fill(page, "Backwards", "2025-12-31", "2025-10-01")
            await page.click("#c-submit")
            generation = await _idle(page, generation)
            assert "body.ends_on" in (await page.text_content("#form-error") or "")
            assert expected_422 == [f"422 {served}/campaigns"]

            # A plan made with the form, by keyboard (Enter in the name field submits).
            await _fill(page, "Winter", "2025-10-01", "2025-12-31")
            await page.focus("#c-name")
            await page.keyboard.press("Enter")
            generation = await _idle(page, generation)
            assert await page.text_content("#form-error") == ""
            shown = await _shown(page)
            async with httpx.AsyncClient(base_url=served, timeout=30) as client:
                listed = (await client.get("/campaigns")).json()["items"]
                (made,) = listed
                plan = (await client.get(f"/campaigns/{made['id']}")).json()
            assert shown["title"] == "Winter"
            assert shown["listed"] == ["Winter"]
            (instagram,) = plan["plan"]["platforms"]
            assert shown["use"] == [f"#{item['hashtag']}" for item in instagram["use"]]
            assert 1 <= len(shown["use"]) <= 5
            assert shown["slots"] == len(plan["plan"]["slots"])
            assert shown["related"] == max(1, len(plan["plan"]["related_posts"]))
            assert shown["reviewRows"] == 3
            assert shown["caveat"] == plan["plan"]["caveat"]

            # Export: a CSV download whose rows end with the caveat.
            async with page.expect_download() as info:
                await page.click("#d-export")
            download = await info.value
            path = await download.path()
            text = path.read_text(encoding="utf-8")
            assert text.startswith("section,platform,account,hashtag,")
            assert plan["plan"]["caveat"] in text.splitlines()[-1]

            # Reopen from the list by keyboard.
            await page.focus("#campaign-list button")
            await page.keyboard.press("Enter")
            generation = await _idle(page, generation)
            assert (await _shown(page))["title"] == "Winter"

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "campaigns.png"), full_page=True)
            # axe-core: no serious or critical violation with a plan shown, at both widths.
            assert await axe_violations(page, axe) == []
            # At 390 px nothing runs off the screen sideways.
            await page.set_viewport_size({"width": 390, "height": 844})
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            assert await axe_violations(page, axe) == []
            await page.screenshot(path=str(ARTIFACTS / "campaigns-390.png"), full_page=True)
        finally:
            await browser.close()
    assert problems == []
