"""/dashboard and its assets: served from the package, right media types, nothing external,
nothing inline (the page must work air-gapped and under its Content-Security-Policy)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from hashtag_api.help.render import METRICS_SOURCES, slug
from hashtag_api.main import create_app
from hashtag_api.routers.dashboard import CSP
from hashtag_core.config import Settings
from hashtag_core.migrate import PROJECT_ROOT
from tests.helpers import API_KEY

#: The only absolute URL allowed in an asset: the SVG namespace, which is never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'`)]*")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script" and not found.get("src"):
            self.inline.append("<script> without src")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}={value!r}")
            if name in ("src", "href") and value and value.startswith("/dashboard/static/"):
                self.refs.append(value)


@pytest.fixture
async def app_client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url="postgresql://unused@127.0.0.1/unused",
        redis_url="redis://unused",
        api_keys=API_KEY,
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_page_and_assets_are_served_self_contained(app_client: httpx.AsyncClient) -> None:
    page = await app_client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    parsed = _Page()
    parsed.feed(page.text)
    assert parsed.lang == "en"
    assert parsed.inline == []
    assert sorted(parsed.refs) == [
        "/dashboard/static/dashboard.css",
        "/dashboard/static/dashboard.js",
        "/dashboard/static/exports.js",
        "/dashboard/static/favicon.svg",
    ]
    assert set(URL.findall(page.text)) == set()
    media = {
        ".css": {"text/css"},
        ".js": {"text/javascript", "application/javascript"},  # by the system's mime table
        ".svg": {"image/svg+xml"},
    }
    for ref in parsed.refs:
        asset = await app_client.get(ref)
        assert asset.status_code == 200, ref
        suffix = ref[ref.rindex(".") :]
        assert asset.headers["content-type"].split(";")[0] in media[suffix], ref
        assert set(URL.findall(asset.text)) <= {SVG_NAMESPACE}, ref
        assert "@import" not in asset.text, ref
        assert "innerHTML" not in asset.text, ref


async def test_unknown_assets_are_404_and_the_page_is_not_in_the_schema(
    app_client: httpx.AsyncClient,
) -> None:
    for path in (
        "/dashboard/static/nope.js",
        "/dashboard/static/../routers/dashboard.py",
        "/dashboard/static/%2e%2e/routers/dashboard.py",
    ):
        assert (await app_client.get(path)).status_code == 404, path
    schema = (await app_client.get("/openapi.json")).json()
    assert not any(p.startswith("/dashboard") for p in schema["paths"])
    assert "/follower-trends" in schema["paths"]


class _Doc(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.inline: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if name == "href" and value:
                self.hrefs.append(value)
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}")
        if tag == "script" or tag == "style":
            self.inline.append(tag)


async def test_metrics_definitions_are_a_page(app_client: httpx.AsyncClient) -> None:
    page = await app_client.get("/help/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    parsed = _Doc()
    parsed.feed(page.text)
    assert parsed.inline == []
    assert "table" in parsed.tags
    # Every in-page link of the definitions lands on a heading.
    anchors = {h[1:] for h in parsed.hrefs if h.startswith("#")}
    assert {"momentum", "relative-performance-per-post"} <= anchors
    assert anchors <= set(parsed.ids), anchors - set(parsed.ids)
    # What the dashboard links to exists.
    dashboard = (await app_client.get("/dashboard")).text
    linked = set(re.findall(r'href="/help/metrics#([^"]+)"', dashboard))
    assert linked
    assert linked <= set(parsed.ids), linked - set(parsed.ids)
    # Markdown's raw HTML is escaped, not passed through.
    assert "<script" not in page.text


def test_slugs_are_githubs() -> None:
    assert slug("Platform counters → canonical metrics") == "platform-counters--canonical-metrics"
    assert slug("Posts (n)") == "posts-n"
    assert slug("Engagement rate per follower (`er_follower`)") == (
        "engagement-rate-per-follower-er_follower"
    )


def test_the_wheel_ships_the_definitions(tmp_path: Path) -> None:
    """An installed package serves /help/metrics without the repository's docs/ folder."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv not found: it builds the wheel")
    done = subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    packaged = "hashtag_api/help/metrics.md"
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(packaged) == (PROJECT_ROOT / "docs" / "metrics.md").read_bytes()
    # ... which is where the page looks first.
    assert METRICS_SOURCES[0].as_posix().endswith(packaged)
