"""The dashboard in a real headless Chromium (Debian's, driven by Playwright for Python).

uvicorn serves the app on loopback against the test database, loaded with seeded demo data and
its aggregates. At 1400 px and at 390 px the tests check that every view (top hashtags for each
goal, heatmap, trends, recommendations, search over all hashtags, the hashtag page) shows what
the API answers to the call the page lists under "For developers", that filters re-query them,
that exports download valid files (CSV, SVG, PNG; and the print layout), that the keyboard
reaches and activates the controls, that nothing needs sideways scrolling at 390 px, that an
axe-core scan finds no serious or critical violation, and that nothing logs an error or fails
to load. Screenshots go to artifacts/screenshots/.

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
from tests.client.served import serve
from tests.dashboard.views import (
    CHARTS,
    SCREENSHOTS,
    TIMEOUT_MS,
    api,
    axe_source,
    axe_violations,
    catalogue,
    check_chart_exports,
    check_csv,
    layout_problems,
    matching,
    tab_to,
    table_rows,
)
from tests.dashboard.views import (
    idle as _idle,
)
from tests.helpers import API_KEY, recompute_in, wipe

pytestmark = pytest.mark.e2e

END = datetime(2026, 1, 1, tzinfo=UTC)
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


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
    top = await api(base, page, "api-top")
    assert state["bars"] == [i["key"] for i in top["items"] if i["score"] is not None]
    assert state["bars"], "the demo data must give some hashtags"
    trends = await api(base, page, "api-heat")
    assert await page.get_attribute("#api-eng", "href") == await page.get_attribute(
        "#api-heat", "href"
    )
    # The heatmap's slot lifts and best slots are those of the chosen window.
    window = await page.input_value("#f-window")
    assert f"window={window}" in (await page.get_attribute("#api-heat", "href") or "")
    assert trends["window"] == window
    assert state["cells"] == len(trends["items"][0]["cells"]) > 0
    assert state["points"] == len(trends["items"][0]["series"]) > 0
    followers = await api(base, page, "api-fol")
    assert state["lines"] == len([a for a in followers["items"] if a["series"]]) > 0
    recs = await api(base, page, "api-rec")
    # "Use" lists the picks; with none, the hashtags worth testing under the note saying so.
    shown = recs["use"] or recs.get("worth_testing") or []
    assert state["recTags"] == [f"#{item['hashtag']}" for item in shown]
    assert state["recs"] == max(1, len(shown) + (1 if recs.get("note") else 0))


def _watch(page: Any, problems: list[str]) -> None:
    """Record console errors and warnings, page errors, failed requests and HTTP errors."""
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )


async def _open(browser: Any, served: str, viewport: dict[str, int], problems: list[str]) -> Any:
    page = await browser.new_page(viewport=viewport, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    _watch(page, problems)
    response = await page.goto(f"{served}/dashboard")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
    return page


async def _check_goal(page: Any, served: str, generation: int) -> int:
    """The goal selector drives the ranking, its chart, its table and the recommendations."""
    before = await _chart_state(page)
    await page.select_option("#f-goal", "reach")
    generation = await _idle(page, generation)
    assert "goal=reach" in (await page.get_attribute("#api-top", "href") or "")
    assert "goal=reach" in (await page.get_attribute("#api-rec", "href") or "")
    top = await api(served, page, "api-top")
    assert top["goal"] == "reach"
    assert await page.text_content("#goal-name") == "reach"
    after = await _chart_state(page)
    await _check_against_api(served, page, after)
    assert after["bars"] != before["bars"]
    rows = await table_rows(page, "table-top")
    assert [r[0] for r in rows] == [i["hashtag"] for i in top["items"]]
    assert [float(r[1]) if r[1] else None for r in rows] == [i["score"] for i in top["items"]]
    await page.select_option("#f-goal", "engagement")
    return await _idle(page, generation)


async def _pick_search_term(served: str, page: Any) -> tuple[str, list[str]]:
    """A Japanese demo hashtag outside the top list, and the keys it matches."""
    window = await page.input_value("#f-window")
    everything = await catalogue(served, window=window)
    top = {i["key"] for i in (await api(served, page, "api-top"))["items"]}
    assert len(everything) > len(top), "the demo must have more hashtags than the top list"
    outside = [i for i in everything if i["key"] not in top]
    japanese = [i for i in outside if any("\u3040" <= ch <= "\u9fff" for ch in i["hashtag"])]
    assert japanese, "the demo has Japanese hashtags outside the top list"
    term = japanese[0]["hashtag"]
    return term, matching(everything, term)[:50]


async def _search(page: Any, served: str) -> str:  # the key of the first match
    """Search by keyboard for a hashtag outside the top list; the results are the API's."""
    term, expected = await _pick_search_term(served, page)
    await page.locator("#f-until").focus()
    await tab_to(page, "a.id === 'q'")
    await page.keyboard.type(term)
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => !document.getElementById('panel-search').hidden"
        " && document.querySelectorAll('#table-search tbody tr').length > 0"
    )
    shown = await page.evaluate(
        "[...document.querySelectorAll('#table-search tbody tr')].map(tr => tr.dataset.key)"
    )
    assert shown == expected
    first = await api(served, page, "api-search")
    assert first["items"], "the search's first page"
    # The Japanese hashtag renders: its text has a width (CI installs fonts-noto-cjk).
    width = await page.evaluate(
        "() => { const r = document.createRange();"
        " r.selectNodeContents(document.querySelector('#table-search tbody tr button'));"
        " return r.getBoundingClientRect().width; }"
    )
    assert width > 0
    return expected[0]


async def _check_tag_page(page: Any, served: str, goal: str) -> None:
    """The hashtag page's figures, companions and standout posts are the API's."""
    body = await api(served, page, "api-tag")
    standouts = await api(served, page, "api-tag-posts")
    assert await page.text_content("#tag-name") == f"#{body['hashtag']}"
    fields: dict[str, list[str]] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(
            '#table-tag-figures tbody tr')].map(tr => [tr.dataset.field,
            [...tr.children].map(td => td.getAttribute('data-value'))]))"""
    )
    figures = body["figures"]
    assert figures is not None
    assert int(fields["posts"][1]) == figures["posts"]
    assert float(fields["avg_engagement"][1]) == figures["avg_engagement"]
    assert int(fields["virality"][2]) == figures["virality_posts"]
    lift = next(x for x in body["insights"]["lifts"] if x["goal"] == goal)
    assert (float(fields["score"][1]) if fields["score"][1] else None) == lift["score"]
    companions = [r for r in await table_rows(page, "table-companions") if len(r) == 4]
    assert [r[0] for r in companions] == [p["hashtag"] for p in body["insights"]["pairs"]]
    assert [int(r[1]) for r in companions] == [p["posts"] for p in body["insights"]["pairs"]]
    assert standouts["best"], "the demo must give the hashtag standout posts"
    for table, posts in (("table-best", standouts["best"]), ("table-worst", standouts["worst"])):
        rows = await table_rows(page, table)
        assert [float(r[4]) for r in rows] == [p["relative"] for p in posts]
        links = await page.evaluate(
            f"[...document.querySelectorAll('#{table} tbody td:first-child a')].map(a => a.href)"
        )
        assert links == [p["url"] for p in posts if p["url"]]
        assert links, "the demo's posts link to their platform"


async def _open_tag_by_keyboard(page: Any, served: str, generation: int) -> None:
    await page.locator("#search-go").focus()
    target = await tab_to(page, "a.dataset && a.dataset.open")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "key => document.body.dataset.tag === key && document.body.dataset.loading === 'false'",
        arg=target["open"],
    )
    await _check_tag_page(page, served, await page.input_value("#f-goal"))
    # A filter changes the page: its figures follow the window.
    posts_all = int((await api(served, page, "api-tag"))["figures"]["posts"])
    await page.select_option("#f-window", "all")
    await _idle(page, generation)
    assert "window=all" in (await page.get_attribute("#api-tag", "href") or "")
    await _check_tag_page(page, served, "engagement")
    assert int((await api(served, page, "api-tag"))["figures"]["posts"]) >= posts_all


async def _check_compare_against_api(page: Any, served: str, keys: list[str]) -> None:
    trends = await api(served, page, "api-compare")
    assert [t["key"] for t in trends["items"]] == keys
    rows = await table_rows(page, "table-compare")
    async with httpx.AsyncClient(base_url=served, timeout=30) as client:
        for row, key in zip(rows, keys, strict=True):
            window = await page.input_value("#f-window")
            body = (await client.get(f"/hashtags/{key}", params={"window": window})).json()
            assert row[0] == body["hashtag"]
            assert int(row[1]) == (body["figures"] or {}).get("posts", 0)
    lines = await page.locator("#chart-cmp-lines path.line").count()
    assert lines == len([t for t in trends["items"] if t["series"]]) > 0
    for i, trend in enumerate(trends["items"]):
        cells = await page.locator(f"#chart-cmp-heat-{i} rect.cell:not(.empty)").count()
        assert cells == len(trend["cells"])
    assert await page.locator(f"#chart-cmp-heat-{len(keys)}").is_hidden()


async def _compare(page: Any, served: str, generation: int, extra: str) -> int:
    """Two to four hashtags side by side, typed and submitted from the keyboard."""
    top = [i["key"] for i in (await api(served, page, "api-top"))["items"][:2]]
    keys = [*top, extra]
    await page.locator("#compare-tags").focus()
    await page.keyboard.type(", ".join(keys))
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "keys => document.body.dataset.compare === keys"
        " && document.body.dataset.loading === 'false'",
        arg=",".join(keys),
    )
    await _check_compare_against_api(page, served, keys)
    # A filter re-queries the comparison.
    await page.select_option("#f-window", "30d")
    generation = await _idle(page, generation)
    assert "window=30d" in (await page.get_attribute("#api-compare", "href") or "")
    await _check_compare_against_api(page, served, keys)
    # Too many is a clear message, not a request.
    await page.fill("#compare-tags", "a, b, c, d, e")
    await page.click("#compare-go")
    assert "2 to 4" in (await page.text_content("#msg-compare") or "")
    await page.fill("#compare-tags", ", ".join(keys))
    await page.click("#compare-go")
    await page.wait_for_function("() => document.body.dataset.loading === 'false'")
    return generation


async def _check_period_against_api(page: Any, served: str) -> list[str]:
    body = await api(served, page, "api-period")
    rows = await table_rows(page, "table-period")
    assert [r[0] for r in rows] == [i["hashtag"] for i in body["items"]]
    assert [int(r[1]) for r in rows] == [i["current_posts"] for i in body["items"]]
    # Computed live on each call: the last bits of a parallel mean may differ between calls.
    shown = [float(r[3]) if r[3] else None for r in rows]
    answered = [i["change"] for i in body["items"]]
    assert [x is None for x in shown] == [x is None for x in answered]
    assert [x for x in shown if x is not None] == pytest.approx(
        [x for x in answered if x is not None], rel=1e-9
    )
    assert [r[5] for r in rows] == [i["direction"] for i in body["items"]]
    assert rows, "the demo must give period changes"
    return [r[0] for r in rows]


async def _check_period(page: Any, served: str, generation: int) -> int:
    """The window's days against the days before; then any dates the analyst types."""
    window = await page.input_value("#f-window")
    href = await page.get_attribute("#api-period", "href") or ""
    assert "since=" in href, href
    assert "until=" in href, href
    body = await api(served, page, "api-period")
    days = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}[window]
    since, until = (datetime.fromisoformat(body[k]) for k in ("since", "until"))
    assert (until - since).days == days
    before = await _check_period_against_api(page, served)
    await page.fill("#f-since", "2025-06-01")
    generation = await _idle(page, generation)
    await page.fill("#f-until", "2025-09-01")
    generation = await _idle(page, generation)
    href = await page.get_attribute("#api-period", "href") or ""
    assert "since=2025-06-01" in href, href
    assert "until=2025-09-01" in href, href
    assert (await api(served, page, "api-period"))["previous_since"] == "2025-03-01"
    after = await _check_period_against_api(page, served)
    assert after != before
    for field in ("#f-until", "#f-since"):  # back to the window
        await page.fill(field, "")
        generation = await _idle(page, generation)
    return generation


async def _check_exports(page: Any, folder: Any) -> None:
    for table in ("table-top", "table-search", "table-tag-figures", "table-companions",
                  "table-best", "table-worst", "table-compare", "table-period"):  # fmt: skip
        records = await check_csv(page, table, folder, real=table == "table-top")
        if table == "table-top":
            top = await table_rows(page, "table-top")
            assert [r["Hashtag"] for r in records] == [r[0] for r in top]
            assert [r["Score"] for r in records] == [r[1] for r in top]
    # Every export is made by its button's code; one CSV, one SVG and one PNG really download
    # (Chromium held back some of a page's downloads when it started a dozen in a row).
    charts = (*CHARTS, "chart-cmp-lines", "chart-cmp-heat-0")
    for chart in charts:
        await check_chart_exports(page, chart, folder, download_png=chart == charts[-1])


async def _check_print(page: Any, name: str) -> None:
    await page.emulate_media(media="print")
    assert not await page.locator("#filters").is_visible()
    assert not await page.locator("#dev").is_visible()
    assert await page.locator("#table-top").is_visible()
    assert await page.locator("#chart-heat svg").is_visible()
    pdf = await page.pdf(format="A4", print_background=True)
    assert pdf[:5] == b"%PDF-"
    (SCREENSHOTS / name).write_bytes(pdf)
    await page.emulate_media(media="screen")


async def _dev_section(page: Any) -> None:
    """Developer aids sit in a closed "For developers" section that opens by keyboard."""
    assert await page.get_attribute("#dev", "open") is None
    assert not await page.locator("#f-key").is_visible()
    assert not await page.locator("#api-top").is_visible()
    await page.locator("#dev summary").focus()
    await page.keyboard.press("Enter")
    assert await page.locator("#f-key").is_visible()
    assert await page.locator("#api-top").is_visible()
    await page.keyboard.press("Enter")
    assert not await page.locator("#f-key").is_visible()


async def test_dashboard_in_a_real_browser(chromium: str, served: str, tmp_path: Any) -> None:
    from playwright.async_api import async_playwright

    axe = axe_source()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await _open(browser, served, DESKTOP, problems)
            generation = await _idle(page, 0)

            # Charts render, each drawn from the API call its panel shows.
            before = await _chart_state(page)
            await _check_against_api(served, page, before)
            assert before["whiskers"] >= 3 * len(before["bars"]) - 3
            assert (
                before["heatTag"]
                == f"#{(await api(served, page, 'api-heat'))['items'][0]['hashtag']}"
            )
            for chart in ("top", "heat", "eng", "fol"):
                svg = page.locator(f"#chart-{chart} svg[role='img']")
                assert await svg.count() == 1
                assert len(await svg.locator("title").first.text_content() or "") > 20
            assert await page.locator("#status").get_attribute("aria-live") == "polite"
            assert (problems_now := await layout_problems(page)) == [], problems_now
            await _dev_section(page)

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
            for control in ("f-goal", "f-platform", "f-account", "f-window", "apply", "q"):
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
            trend = await api(served, page, "api-heat")
            assert trend["items"][0]["key"] == target
            assert selected["heatTag"] == f"#{trend['items'][0]['hashtag']}"
            assert selected["cells"] == len(trend["items"][0]["cells"])

            # Back to every platform; then every goal, search, the hashtag page, exports.
            await page.select_option("#f-platform", "")
            generation = await _idle(page, generation)
            generation = await _check_goal(page, served, generation)
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-1400.png"), full_page=True)
            generation = await _check_period(page, served, generation)
            found = await _search(page, served)
            await _open_tag_by_keyboard(page, served, generation)
            await page.screenshot(path=str(SCREENSHOTS / "hashtag-page-1400.png"), full_page=True)
            generation = await _compare(page, served, generation, found)
            await page.locator("#panel-compare").screenshot(
                path=str(SCREENSHOTS / "compare-1400.png")
            )
            await _check_exports(page, tmp_path)
            assert (problems_now := await layout_problems(page)) == [], problems_now
            assert await axe_violations(page, axe) == []
            await _check_print(page, "report-1400.pdf")
        finally:
            await browser.close()
    assert problems == []


async def test_dashboard_on_a_phone(chromium: str, served: str, tmp_path: Any) -> None:
    from playwright.async_api import async_playwright

    axe = axe_source()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await _open(browser, served, PHONE, problems)
            generation = await _idle(page, 0)
            state = await _chart_state(page)
            await _check_against_api(served, page, state)
            # Nothing runs off the screen: the account list, the tables, the charts' text.
            assert (problems_now := await layout_problems(page)) == [], problems_now
            right = await page.evaluate(
                "document.getElementById('f-account').getBoundingClientRect().right"
            )
            assert right <= PHONE["width"]
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-390.png"), full_page=True)
            # Stacked table rows name their columns.
            label = await page.evaluate(
                "getComputedStyle(document.querySelector('#table-top tbody td:nth-child(2)'),"
                " '::before').content"
            )
            assert label == '"Score"'
            generation = await _check_goal(page, served, generation)
            generation = await _check_period(page, served, generation)
            found = await _search(page, served)
            await _open_tag_by_keyboard(page, served, generation)
            generation = await _compare(page, served, generation, found)
            assert (problems_now := await layout_problems(page)) == [], problems_now
            await page.screenshot(path=str(SCREENSHOTS / "hashtag-page-390.png"), full_page=True)
            await page.locator("#panel-compare").screenshot(
                path=str(SCREENSHOTS / "compare-390.png")
            )
            await _check_exports(page, tmp_path)
            assert await axe_violations(page, axe) == []

            # The definitions are a page too, readable on the phone.
            response = await page.goto(f"{served}/help/metrics")
            assert response is not None
            assert response.status == 200
            assert await page.locator("h2#momentum").count() == 1
            assert await page.locator("h2#standout-posts-hashtag-page").count() == 1
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0
            await page.screenshot(path=str(SCREENSHOTS / "help-metrics-390.png"))
            assert await axe_violations(page, axe) == []
        finally:
            await browser.close()
    assert problems == []
