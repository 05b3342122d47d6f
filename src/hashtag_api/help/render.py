"""Markdown to a self-contained HTML page (markdown-it-py, raw HTML in the source escaped)."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["METRICS_SOURCES", "metrics_markdown", "render_page", "slug"]

_PACKAGE = Path(__file__).resolve().parent
#: Where docs/metrics.md is looked for: inside the installed package first, then the checkout.
METRICS_SOURCES = (_PACKAGE / "metrics.md", _PACKAGE.parents[2] / "docs" / "metrics.md")

_NOT_SLUG = re.compile(r"[^\w\- ]", re.UNICODE)


def slug(text: str) -> str:
    """The anchor GitHub gives a heading, so links such as `#momentum` in the docs work."""
    return _NOT_SLUG.sub("", text.strip().lower()).replace(" ", "-")


def metrics_markdown() -> str:
    """The text of docs/metrics.md, from the package or the checkout."""
    for path in METRICS_SOURCES:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"metrics.md not found in {[str(p) for p in METRICS_SOURCES]}")


def _with_anchors(tokens: list[Token]) -> None:
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or i + 1 >= len(tokens):
            continue
        base = slug(tokens[i + 1].content)
        count = seen.get(base, 0)
        seen[base] = count + 1
        token.attrSet("id", base if count == 0 else f"{base}-{count}")


@lru_cache(maxsize=8)
def _body(markdown: str) -> str:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown)
    _with_anchors(tokens)
    return str(md.renderer.render(tokens, md.options, {}))


def render_page(markdown: str, *, title: str) -> str:
    """A full HTML page for `markdown`, styled by the dashboard's stylesheet."""
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{html.escape(title)}</title>
  <link rel="icon" href="/dashboard/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/dashboard/static/dashboard.css">
</head>
<body class="doc-page">
  <a class="skip-link" href="#main">Skip to the text</a>
  <header class="page-header">
    <nav aria-label="Pages" class="nav"><a href="/dashboard">Dashboard</a>
      <a href="/help/metrics" aria-current="page">Definitions</a></nav>
  </header>
  <main id="main" class="doc" tabindex="-1">
{_body(markdown)}
  </main>
</body>
</html>
"""
