"""Corrections to the generated OpenAPI document that FastAPI cannot express by itself.

Reads check the API key through a `Security` dependency, so FastAPI lists the key as
*required* on every read, which is false by default: reads are open unless
HASHTAG_READ_REQUIRES_KEY is set. Reads use their own scheme name (`deps.READ_SCHEME`), and
this module makes the document say what the server does: the key is optional on reads
(`security: [{"ReadKey": []}, {}]`), or required with the 401/403 answers documented when
the setting is on.

It also states what `hashtag_api.deps` enforces: every operation that checks a key names the
scope it needs (`x-required-scope`, and a line in its description) and can answer 429 from
the rate limiter, with Retry-After and the RateLimit-* headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from hashtag_api.deps import READ_SCHEME, SCHEME_SCOPES
from hashtag_api.errors import error_responses

__all__ = ["install"]

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _reads(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in schema["paths"].values():
        for operation in item.values():
            if {READ_SCHEME: []} in operation.get("security", []):
                yield operation


def _document_reads(schema: dict[str, Any], *, required: bool) -> None:
    """Idempotent: FastAPI caches the document and hands the same dict out again."""
    for operation in _reads(schema):
        if not required:
            if {} not in operation["security"]:
                operation["security"].append({})
            continue
        for code in (401, 403):
            description = error_responses(code)[code]["description"]
            operation["responses"].setdefault(
                str(code),
                {
                    "description": description,
                    "content": {"application/json": {"schema": _ERROR_REF}},
                },
            )


_RATE_HEADERS = {
    "Retry-After": "Seconds until the budget resets.",
    "RateLimit-Limit": "Requests allowed in the window.",
    "RateLimit-Remaining": "Requests left in the window (0).",
    "RateLimit-Reset": "Seconds until the window resets.",
}


def _document_access(schema: dict[str, Any]) -> None:
    """The scope each keyed operation needs, and its 429. Idempotent."""
    description_429 = error_responses(429)[429]["description"]
    for item in schema["paths"].values():
        for operation in item.values():
            schemes = {name for entry in operation.get("security", []) for name in entry}
            scopes = [SCHEME_SCOPES[name] for name in schemes if name in SCHEME_SCOPES]
            if not scopes:
                continue
            scope = scopes[0].value
            if operation.get("x-required-scope") != scope:
                operation["x-required-scope"] = scope
                note = (
                    "Needs an API key with scope `read` when the server sets "
                    "HASHTAG_READ_REQUIRES_KEY; open otherwise."
                    if scope == "read"
                    else f"Needs an API key with scope `{scope}`."
                )
                operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
            operation["responses"].setdefault(
                "429",
                {
                    "description": description_429,
                    "headers": {
                        name: {"description": text, "schema": {"type": "integer"}}
                        for name, text in _RATE_HEADERS.items()
                    },
                    "content": {"application/json": {"schema": _ERROR_REF}},
                },
            )


def _document_body_limit(schema: dict[str, Any]) -> None:
    """Every operation that takes a body can meet the early 413 of `RequestContext`, which
    answers before routing when Content-Length passes HASHTAG_MAX_BODY_BYTES."""
    description = error_responses(413)[413]["description"]
    for item in schema["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:
                operation["responses"].setdefault(
                    "413",
                    {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    },
                )


def install(app: FastAPI, *, read_requires_key: bool) -> None:
    """Make `app.openapi()` document the key on reads as `read_requires_key` says."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        _document_reads(schema, required=read_requires_key)
        _document_access(schema)
        _document_body_limit(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
