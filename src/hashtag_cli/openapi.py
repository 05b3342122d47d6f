"""`hashtag-analysis openapi`: the API's OpenAPI document, as committed in openapi.json.

The document is built from the app itself (no server, no database), with fixed settings so it
does not depend on the environment, and written with sorted keys and two-space indents so a
change to an endpoint shows as a small diff. `tests/client/test_openapi_drift.py` fails when
the committed file and the app disagree; clients are generated from the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hashtag_api.main import create_app
from hashtag_core.config import Settings

__all__ = ["COMMAND", "DEFAULT_PATH", "changed_operations", "openapi_document", "render", "write"]

#: The command that rewrites the committed file (quoted in the drift test's message).
COMMAND = "uv run hashtag-analysis openapi"
DEFAULT_PATH = Path("openapi.json")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of `create_app()`."""
    settings = Settings(database_url="postgresql://x@localhost/x", redis_url="redis://localhost")
    return create_app(settings).openapi()


def render(document: dict[str, Any]) -> str:
    """The file's text: sorted keys, indent 2, UTF-8 as is, a trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _operations(document: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{method.upper()} {path}": op
        for path, item in document.get("paths", {}).items()
        for method, op in item.items()
        if method in _METHODS
    }


def changed_operations(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two documents, one line per operation or schema."""
    lines = []
    for kind, before, after in (
        ("operation", _operations(old), _operations(new)),
        (
            "schema",
            old.get("components", {}).get("schemas", {}),
            new.get("components", {}).get("schemas", {}),
        ),
    ):
        for name in sorted(before.keys() | after.keys()):
            if name not in before:
                lines.append(f"+ {kind} {name}")
            elif name not in after:
                lines.append(f"- {kind} {name}")
            elif before[name] != after[name]:
                lines.append(f"~ {kind} {name}")
    return lines


def write(path: Path = DEFAULT_PATH) -> bool:
    """Write the document to `path`; True if that changed the file."""
    text = render(openapi_document())
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
