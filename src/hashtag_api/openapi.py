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

And it gives a one-line definition to the response fields of the models that live outside the
`hashtag_core.*.schemas` modules (the error body, the job status), so that every property of
every response schema is described; a description set on the model itself wins.

Last, it puts the examples back as written: FastAPI builds the document with `exclude_none`,
which also drops every null from the examples, so an example showing a required nullable
field as null (`"next_cursor": null`) would no longer validate against its own schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from enum import Enum, StrEnum
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from hashtag_api.deps import READ_SCHEME, SCHEME_SCOPES
from hashtag_api.errors import PROBLEM_MEDIA_TYPE, PROBLEM_REF, Problem, error_responses
from hashtag_api.routers.imports import BODY_MODELS

__all__ = ["install"]

_REF = "#/components/schemas/"
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}


def _reads(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in schema["paths"].values():
        for operation in item.values():
            if {READ_SCHEME: []} in operation.get("security", []):
                yield operation


def _document_reads(schema: dict[str, Any], *, required: bool) -> None:
    """Idempotent: FastAPI caches the document and hands the same dict out again.

    Open reads declare no security at all, so that generated clients call them with a plain
    client (`[{"ReadKey": []}, {}]` made openapi-python-client demand an AuthenticatedClient);
    a key sent anyway is still counted against its own rate budget."""
    for operation in _reads(schema):
        if not required:
            del operation["security"]
            continue
        for code in (401, 403):
            description = error_responses(code)[code]["description"]
            operation["responses"].setdefault(
                str(code),
                {"description": description, "content": copy.deepcopy(_PROBLEM_CONTENT)},
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
                    "content": copy.deepcopy(_PROBLEM_CONTENT),
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
                        "content": copy.deepcopy(_PROBLEM_CONTENT),
                    },
                )


#: Definitions of response fields whose models (hashtag_api.jobs_status)
#: carry none themselves.
_FIELD_DESCRIPTIONS = {
    "JobInfo": {
        "job_id": "The job's id, as returned by the operation that queued it.",
        "status": "queued, running, complete (see result) or failed (see error).",
        "enqueued_at": "When it was queued; null if the queue (Redis) no longer knows.",
        "started_at": "When it started running; known once it has finished, else null.",
        "finished_at": "When it finished; null until it has.",
    },
}


def _document_fields(schema: dict[str, Any]) -> None:
    """Describe the fields `_FIELD_DESCRIPTIONS` names, unless the model does. Idempotent."""
    components = schema.get("components", {}).get("schemas", {})
    for name, fields in _FIELD_DESCRIPTIONS.items():
        properties = components.get(name, {}).get("properties", {})
        for field, description in fields.items():
            if field in properties:
                properties[field].setdefault("description", description)


def _subclasses(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _restore_examples(schema: dict[str, Any]) -> None:
    """Give each component schema the examples of its model as written, nulls included.

    A component is matched to the model of the same name with the same fields (the document
    does not say which model it came from). Idempotent."""
    components = schema.get("components", {}).get("schemas", {})
    for model in set(_subclasses(BaseModel)):
        extra = model.model_config.get("json_schema_extra")
        component = components.get(model.__name__)
        if not isinstance(extra, dict) or "examples" not in extra or component is None:
            continue
        fields = {field.alias or name for name, field in model.model_fields.items()}
        if set(component.get("properties", {})) == fields:
            component["examples"] = copy.deepcopy(extra["examples"])


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_NESTED = ("anyOf", "oneOf", "allOf")


def _copy_bounds(document: Any, model: Any) -> None:
    """Copy the numeric bounds of `model`'s JSON schema node onto the document's node."""
    if not isinstance(document, dict) or not isinstance(model, dict):
        return
    for key in _BOUNDS:
        if key in model:
            document[key] = model[key]
    for key in _NESTED:
        for doc_part, model_part in zip(document.get(key, []), model.get(key, []), strict=False):
            _copy_bounds(doc_part, model_part)
    _copy_bounds(document.get("items"), model.get("items"))


def _restore_bounds(schema: dict[str, Any]) -> None:
    """Give components the bounds their models declare, as written.

    FastAPI's OpenAPI model types `minimum`/`maximum` as float, so 1 became 1.0 and bigint's
    2^63-1 became 9.223372036854776e+18 (2^63: a schema-valid id the API refuses). Components
    are matched to models as in `_restore_examples`. Idempotent."""
    components = schema.get("components", {}).get("schemas", {})
    for model in set(_subclasses(BaseModel)):
        component = components.get(model.__name__)
        if component is None or not model.__pydantic_complete__:
            continue
        fields = {field.alias or name for name, field in model.model_fields.items()}
        if set(component.get("properties", {})) != fields:
            continue
        own = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, node in component["properties"].items():
            _copy_bounds(node, own.get("properties", {}).get(name))


def _add_models(schema: dict[str, Any], *models: type[BaseModel]) -> None:
    """Component schemas for models the document refers to by $ref without FastAPI knowing:
    the Problem of every error (`error_responses`) and the import's JSON body. Idempotent."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        found = model.model_json_schema(
            ref_template=_REF + "{model}",
            mode="validation" if model in BODY_MODELS else "serialization",
        )
        for name, definition in found.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(model.__name__, found)


def _name_enum_members(schema: dict[str, Any]) -> None:
    """`x-enum-varnames` from our enums' member names, so generated clients write
    `Window.D30` rather than `Window.VALUE_1`. Idempotent."""
    components = schema.get("components", {}).get("schemas", {})
    for enum in _enums():
        component = components.get(enum.__name__)
        if component is not None and component.get("enum") == [m.value for m in enum]:
            component["x-enum-varnames"] = [m.name for m in enum]


def _enums() -> Iterator[type[Enum]]:
    pending: list[type[Enum]] = [StrEnum]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            yield sub


def _request_schemas(schema: dict[str, Any]) -> set[str]:
    """Components reachable from request bodies and from nothing else."""
    bodies, answers = [], []
    for item in schema["paths"].values():
        for operation in item.values():
            bodies.append(operation.get("requestBody", {}))
            answers.append(operation.get("responses", {}))
    components = schema.get("components", {}).get("schemas", {})
    return _reachable(bodies, components) - _reachable(answers, components)


def _reachable(roots: list[Any], components: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = [name for root in roots for name in _refs(root)]
    while pending:
        name = pending.pop()
        if name not in seen and name in components:
            seen.add(name)
            pending.extend(_refs(components[name]))
    return seen


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            yield ref.removeprefix(_REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _optional_request_defaults(schema: dict[str, Any]) -> None:
    """Request-only schemas state their defaults in words, not as `default`.

    openapi-typescript (default options) types a property that has a `default` as always
    present, which is true of answers and false of requests: `refetch` would be required in
    every update. The server applies the default; the description says which. Idempotent."""
    components = schema.get("components", {}).get("schemas", {})
    for name in _request_schemas(schema):
        for prop in components[name].get("properties", {}).values():
            if "default" not in prop:
                continue
            default = prop.pop("default")
            if default is None:
                continue  # left out means null: nothing to say
            note = f"Default: {json.dumps(default)}."
            text = prop.get("description", "")
            if note not in text:
                prop["description"] = f"{text} {note}".strip()


def install(app: FastAPI, *, read_requires_key: bool) -> None:
    """Make `app.openapi()` document the key on reads as `read_requires_key` says."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        _add_models(schema, Problem, *BODY_MODELS)
        _document_access(schema)  # before the reads lose their security when they are open
        _document_reads(schema, required=read_requires_key)
        _document_body_limit(schema)
        _document_fields(schema)
        _restore_examples(schema)
        _restore_bounds(schema)
        _name_enum_members(schema)
        _optional_request_defaults(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
