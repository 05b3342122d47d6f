"""Post text as a person reads it: the platforms' escaping and markup undone (pure functions).

* X: `text` is HTML-escaped (`&amp;`, `&lt;`, `&gt;`); posts over 280 characters carry the full
  text only in `note_tweet.text` (X's 2026 OpenAPI spells it `note_post`), `text` being cut.
* LinkedIn "little text": reserved characters are escaped with a backslash (`\\(`, `\\#`, ...),
  hashtags are templates (`{hashtag|\\#|Lego}`) and mentions `@[Name](urn:li:organization:1)`,
  which a reader sees as `Name`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["linkedin_text", "x_text"]

_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?[#\uff03]\|((?:\\.|[^\\}])*)\}")
_MENTION = re.compile(r"(?<!\\)@\[((?:\\.|[^\\\]])*)\]\((urn:li:[^)\s]+)\)")
_ESCAPE = re.compile(r"\\(.)", re.S)


def x_text(tweet: Mapping[str, Any]) -> str:
    """The whole text of an X post, unescaped: `note_tweet.text` when present, else `text`."""
    for name in ("note_tweet", "note_post"):
        note = tweet.get(name)
        if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"]:
            return html.unescape(note["text"])
    return html.unescape(str(tweet.get("text") or ""))


def linkedin_text(commentary: str) -> str:
    """LinkedIn little text rendered as plain text: `#Name` hashtags, mention names, no escapes."""
    if "\\" not in commentary and "{" not in commentary and "@[" not in commentary:
        return commentary
    text = _HASHTAG_TEMPLATE.sub(lambda m: "#" + m.group(1), commentary)
    text = _MENTION.sub(lambda m: m.group(1), text)
    return _ESCAPE.sub(r"\1", text)
