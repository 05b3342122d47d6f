"""Checks of the dashboard's views in a real browser, shared by the desktop and phone tests.

Each check compares what the page shows with what the API answers to the call the page says
it made (the `#api-*` links in the "For developers" section).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import struct
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashtag_core.migrate import PROJECT_ROOT

TIMEOUT_MS = 20_000
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
AXE_VERSION = "4.14.1"
AXE_CACHE = PROJECT_ROOT / ".data" / "test" / "axe-core"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHARTS = ("chart-top", "chart-heat", "chart-eng", "chart-fol")


def axe_source() -> str:
    """axe-core's axe.min.js from npm (pinned, cached under .data/test); a skip without npm or
    the registry, a failure when HASHTAG_REQUIRE_NODE=1."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        reason = ""
        if shutil.which("npm") is None:
            reason = "npm not found: the accessibility scan needs axe-core from npm"
        else:
            AXE_CACHE.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                ["npm", "install", "--prefix", str(AXE_CACHE), "--no-audit", "--no-fund",
                 "--no-save", "--loglevel=error", f"axe-core@{AXE_VERSION}"],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            if done.returncode != 0 or not script.is_file():
                reason = f"npm install axe-core@{AXE_VERSION} failed: {done.stderr[-500:]}"
        if reason:
            if os.environ.get("HASHTAG_REQUIRE_NODE") == "1":
                pytest.fail(f"HASHTAG_REQUIRE_NODE=1 but {reason}")
            pytest.skip(reason)
    return script.read_text(encoding="utf-8")


async def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    # The page's CSP forbids inline scripts (add_script_tag); evaluation through the
    # DevTools protocol is not a page script, so the policy stays on for the scan.
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.evaluate(source)
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "help": v["help"],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def idle(page: Any, after: int) -> int:
    """Wait until the page has finished a refresh newer than `after`; its generation."""
    await page.wait_for_function(
        "after => Number(document.body.dataset.generation || 0) > after"
        " && document.body.dataset.loading === 'false'",
        arg=after,
        timeout=TIMEOUT_MS,
    )
    return int(await page.evaluate("document.body.dataset.generation"))


async def api(base: str, page: Any, link_id: str) -> Any:
    """What the API answers to the URL the panel says it fetched."""
    href = await page.get_attribute(f"#{link_id}", "href")
    shown = await page.text_content(f"#{link_id}")
    assert shown == f"{base}{href}"  # the link shows the exact, absolute URL
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.get(href)
    assert response.status_code == 200, response.text
    return response.json()


async def catalogue(base: str, **params: str) -> list[dict[str, Any]]:
    """Every hashtag of the scope, most used first, through the API's own paging."""
    items: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        query: dict[str, Any] = {"sort": "posts", "limit": 1000, **params}
        while True:
            page = (await client.get("/hashtag-performance", params=query)).json()
            items += page["items"]
            if not page["next_cursor"]:
                return items
            query = {"cursor": page["next_cursor"]}


def matching(items: list[dict[str, Any]], term: str) -> list[str]:
    wanted = unicodedata.normalize("NFKC", term.strip().lstrip("#")).lower()
    return [i["key"] for i in items if wanted in i["key"] or wanted in i["hashtag"].lower()]


async def tab_to(page: Any, predicate: str, limit: int = 80) -> dict[str, Any]:
    """Press Tab until the focused element satisfies `predicate` (a JS expression over `a`,
    the active element); its id, data-open and tag name."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        info: dict[str, Any] = await page.evaluate(
            f"() => {{ const a = document.activeElement; return {{ok: Boolean({predicate}),"
            " id: a.id, open: a.dataset ? a.dataset.open || null : null, tag: a.tagName}; }"
        )
        if info["ok"]:
            return info
    raise AssertionError(f"Tab never reached an element with {predicate}")


async def table_rows(page: Any, table_id: str) -> list[list[str]]:
    """Raw cell values (data-value, else text) of a table's body rows."""
    rows: list[list[str]] = await page.evaluate(
        """id => [...document.querySelectorAll(`#${id} tbody tr`)].map(tr =>
            [...tr.children].map(td => td.hasAttribute('data-value')
                ? td.getAttribute('data-value') : td.textContent.trim()))""",
        table_id,
    )
    return rows


async def download(page: Any, button_id: str, folder: Path) -> Path:
    try:
        async with page.expect_download() as info:
            await page.click(f"#{button_id}")
        got = await info.value
    except Exception as exc:
        status = await page.text_content("#status")
        raise AssertionError(f"#{button_id} downloaded nothing; status: {status!r}") from exc
    assert await got.failure() is None
    path = folder / got.suggested_filename
    await got.save_as(str(path))
    return path


async def check_csv(
    page: Any, table_id: str, folder: Path, *, real: bool = False
) -> list[dict[str, str]]:
    """The table's CSV (downloaded, or made by the button's code) parses, has its header and
    one row per row of the table."""
    if real:
        path = await download(page, f"export-csv-{table_id}", folder)
        assert path.suffix == ".csv"
        text = path.read_text(encoding="utf-8")
    else:
        text = await page.evaluate("id => window.hashtagExports.csv(id)", table_id)
    records = list(csv.DictReader(io.StringIO(text)))
    heads: list[str] = await page.evaluate(
        "id => [...document.querySelectorAll(`#${id} thead th:not(.no-export)`)]"
        ".map(th => th.textContent.trim())",
        table_id,
    )
    shown = [r for r in await table_rows(page, table_id) if len(r) >= len(heads)]
    assert records, f"{table_id}: an empty CSV"
    assert list(records[0].keys()) == heads
    assert len(records) == len(shown)
    return records


async def check_chart_exports(
    page: Any, chart_id: str, folder: Path, *, download_png: bool = False
) -> None:
    """The chart downloads as an SVG that parses, and its PNG (downloaded, or made by the same
    code as the button's) has PNG's signature and twice the chart's width."""
    assert await page.locator(f"#{chart_id} svg[role='img']").count() == 1, chart_id
    if download_png:  # the last chart: both its files really downloaded
        svg_bytes = (await download(page, f"export-svg-{chart_id}", folder)).read_bytes()
    else:
        svg_bytes = (await page.evaluate("id => window.hashtagExports.svg(id)", chart_id)).encode()
    root = ET.fromstring(svg_bytes)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(root.iter())) > 10
    width = float(root.get("width") or 0)
    assert width > 100
    if download_png:
        data = (await download(page, f"export-png-{chart_id}", folder)).read_bytes()
    else:
        made = await page.evaluate("id => window.hashtagExports.pngBase64(id)", chart_id)
        data = base64.b64decode(made)
    assert data[:8] == PNG_MAGIC
    png_width, _ = struct.unpack(">II", data[16:24])  # IHDR
    assert png_width == round(width * 2)


async def layout_problems(page: Any) -> list[str]:
    """Things that would make a reader scroll sideways or squint, at the current width."""
    found: list[str] = await page.evaluate(
        """() => {
            const w = window.innerWidth, out = [];
            if (document.documentElement.scrollWidth > w)
                out.push(`page ${document.documentElement.scrollWidth}px wide in ${w}px`);
            const visible = (e) => e.getClientRects().length > 0;
            for (const e of document.querySelectorAll('select, input, button, table.data tr')) {
                if (!visible(e)) continue;
                const r = e.getBoundingClientRect();
                if (r.right > w + 0.5) out.push(`${e.tagName}#${e.id || ''} ends at ${r.right}`);
            }
            for (const wrap of document.querySelectorAll('.table-wrap')) {
                if (visible(wrap) && wrap.scrollWidth > wrap.clientWidth + 1)
                    out.push(`table in .table-wrap scrolls: ${wrap.scrollWidth}/${wrap.clientWidth}`);
            }
            for (const t of document.querySelectorAll('figure.chart svg text')) {
                if (!visible(t) || !t.textContent.trim()) continue;
                const h = t.getBoundingClientRect().height;
                if (h < 9) {
                    const svg = t.closest('svg');
                    out.push(`chart text '${t.textContent}' ${h.toFixed(1)}px high in ` +
                        `#${svg.parentElement.id} (${svg.getAttribute('viewBox')} drawn ` +
                        `${svg.getBoundingClientRect().width.toFixed(0)}px wide)`);
                }
            }
            return out.slice(0, 20);
        }"""
    )
    return found


def dump(name: str, value: Any) -> str:
    return f"{name}: {json.dumps(value, ensure_ascii=False)[:2000]}"
