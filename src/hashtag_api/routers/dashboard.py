"""GET /dashboard (the analyst's page), GET /dashboard/campaigns (campaign plans), and their
assets under /dashboard/static/.

The page is plain HTML, CSS and JavaScript shipped inside the package (no CDN, no build step),
so the service works air-gapped. It reads the public read endpoints from the browser; nothing
here queries the database.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

__all__ = ["ASSETS", "CSP", "PAGE_HEADERS", "install", "router"]

#: The page, its stylesheet and its scripts.
ASSETS = Path(__file__).resolve().parent.parent / "dashboard"
#: No inline script or style anywhere on the page; everything comes from this origin.
CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
async def get_dashboard() -> FileResponse:
    """The dashboard page."""
    return FileResponse(
        ASSETS / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


@router.get("/dashboard/campaigns")
async def get_campaigns_page() -> FileResponse:
    """The campaign plans page: make, list, view and export plans (/campaigns)."""
    return FileResponse(
        ASSETS / "campaigns.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


class _Assets(StaticFiles):
    """Static files with the page's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(PAGE_HEADERS)
        return response


def install(app: FastAPI) -> None:
    """Serve the page and mount its assets."""
    app.include_router(router)
    app.mount("/dashboard/static", _Assets(directory=ASSETS), name="dashboard-static")
