"""Help pages: docs/metrics.md rendered to HTML for the dashboard's readers.

The wheel ships the Markdown as `hashtag_api/help/metrics.md` (pyproject: hatch force-include);
a source checkout or an editable install reads it from `docs/metrics.md` instead.
"""

from __future__ import annotations

from hashtag_api.help.render import METRICS_SOURCES, metrics_markdown, render_page

__all__ = ["METRICS_SOURCES", "metrics_markdown", "render_page"]
