"""GET /help/metrics: the definitions of every figure (docs/metrics.md) as a page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hashtag_api.help import metrics_markdown, render_page
from hashtag_api.routers.dashboard import PAGE_HEADERS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/help/metrics", response_class=HTMLResponse)
async def get_metrics_help() -> HTMLResponse:
    """docs/metrics.md rendered to HTML."""
    page = render_page(metrics_markdown(), title="Definitions of the figures")
    return HTMLResponse(page, headers=PAGE_HEADERS)
