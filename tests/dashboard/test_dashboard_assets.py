"""/dashboard and its assets: served from the package, right media types, nothing external,
nothing inline (the page must work air-gapped and under its Content-Security-Policy)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest

from hashtag_api.main import create_app
from hashtag_api.routers.dashboard import CSP
from hashtag_core.config import Settings
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
