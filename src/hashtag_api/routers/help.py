"""GET /help/metrics: the definitions of every figure (docs/metrics.md) as a page."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hashtag_api.help import metrics_markdown, render_page
from hashtag_api.routers.dashboard import PAGE_HEADERS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@cache
def _metrics_page() -> str:
    """Rendered once per process: the file ships with the package and does not change while
    it runs (rendering its ~100 KB on every request would hold the event loop)."""
    return render_page(metrics_markdown(), title="Definitions of the figures")


@router.get("/help/metrics", response_class=HTMLResponse)
async def get_metrics_help() -> HTMLResponse:
    """docs/metrics.md rendered to HTML."""
    return HTMLResponse(_metrics_page(), headers=PAGE_HEADERS)
