"""The OpenAPI document and the offline docs pages."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from hashtag_api.main import create_app
from hashtag_core.config import Settings

PLAN_PATHS = {
    "/hashtags/{hashtag}": "get",
    "/hashtag-performance": "get",
    "/engagement-trends": "get",
    "/update-post": "post",
}


async def test_plan_endpoints_keep_their_exact_paths(client):
    spec = (await client.get("/openapi.json")).json()
    for path, method in PLAN_PATHS.items():
        assert method in spec["paths"][path]


async def test_every_operation_is_documented(client):
    spec = (await client.get("/openapi.json")).json()
    ids = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ids.append(op["operationId"])
            assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]), (path, method)
            assert op.get("summary"), (path, method)
            success = next(code for code in op["responses"] if code.startswith("2"))
            if success != "204":
                media = "text/csv" if path.endswith(".csv") else "application/json"
                assert list(op["responses"][success]["content"]) == [media], (path, method)
            if path in ("/healthz", "/readyz"):
                continue
            expected = {"503"} | (
                {"422"} if op.get("parameters") or op.get("requestBody") else set()
            )
            assert expected <= set(op["responses"]), (path, method)
            for code in expected:
                content = op["responses"][code]["content"]
                assert list(content) == ["application/problem+json"], (path, method, code)
                assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert len(ids) == len(set(ids))


#: Schemas that carry the figures of docs/metrics.md: the walk below must reach them.
FIGURE_SCHEMAS = {
    "HashtagFigures",
    "PerformanceItem",
    "TrendCell",
    "SeriesPoint",
    "ImportResult",
    "LiftFigures",
    "BestSlot",
    "Momentum",
    "HashtagInsights",
    "PairFigures",
    "RecommendationItem",
    "ReportRow",
    "AccountPublic",
    "FollowerPoint",
    "JobInfo",
    "Problem",
}
_REF = "#/components/schemas/"


def _refs(node: Any) -> Iterator[str]:
    """Names of the component schemas `node` refers to, at any depth ($ref, anyOf, items...)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            yield ref.removeprefix(_REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _response_schemas(spec: dict[str, Any]) -> set[str]:
    """Every component schema reachable from any response of any operation."""
    components = spec["components"]["schemas"]
    todo = [
        name
        for item in spec["paths"].values()
        for op in item.values()
        for name in _refs(op["responses"])
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(components[name]))
    return seen


def _properties(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, schema) of every property declared anywhere inside `node` (inline objects too)."""
    if isinstance(node, dict):
        for field, prop in (node.get("properties") or {}).items():
            yield f"{where}.{field}", prop
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _properties(value, where if key == "properties" else f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}[{i}]")


def _bodies(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(operation, status, media type, media object) of every response with a body."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, response in op["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    yield f"{method.upper()} {path}", code, media_type, media


def _successes(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """The same for the 2xx responses."""
    return ((op, code, t, m) for op, code, t, m in _bodies(spec) if code.startswith("2"))


def _schema_has_example(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """True when the schema, the one it names, or (for an array) its items carry an example."""
    if schema.get("examples") or "example" in schema:
        return True
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(_REF)
        return _schema_has_example(spec, spec["components"]["schemas"][name])
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _schema_has_example(spec, schema["items"])
    return False


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` against the spec's components, with unknown fields refused (the
    generated schemas allow them, which would let a misspelt field in an example pass)."""
    components = copy.deepcopy(spec["components"])
    for component in components["schemas"].values():
        if "properties" in component:
            component.setdefault("additionalProperties", False)
    return Draft202012Validator(
        {**schema, "components": components}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


async def test_every_response_field_has_a_one_line_definition(client):
    """Every property of every schema a response can carry, nested ones included, says in one
    line what it is (figures: as docs/metrics.md defines them)."""
    spec = (await client.get("/openapi.json")).json()
    reached = _response_schemas(spec)
    assert FIGURE_SCHEMAS <= reached, FIGURE_SCHEMAS - reached
    missing, multiline = [], []
    for name in sorted(reached):
        for where, prop in _properties(spec["components"]["schemas"][name], name):
            text = (prop.get("description") or "").strip()
            if not text:
                missing.append(where)
            elif "\n" in text:
                multiline.append(where)
    assert not missing, f"response fields without a description: {missing}"
    assert not multiline, f"descriptions longer than one line: {multiline}"


async def test_every_parameter_is_described(client):
    spec = (await client.get("/openapi.json")).json()
    missing = [
        f"{method.upper()} {path} {param['in']}.{param['name']}"
        for path, item in spec["paths"].items()
        for method, op in item.items()
        for param in op.get("parameters", [])
        if not (param.get("description") or "").strip()
    ]
    assert not missing, f"parameters without a description: {missing}"


async def test_every_success_response_has_an_example(client):
    """Swagger UI shows an example for every 2xx body: a media-type example, or one on the
    schema the response names (or on its items, for a list)."""
    spec = (await client.get("/openapi.json")).json()
    found = list(_successes(spec))
    assert len({op for op, *_ in found}) >= 15, "the walk found too few operations"
    missing = [
        f"{op} {code} {media_type}"
        for op, code, media_type, media in found
        if not (
            media.get("examples")
            or "example" in media
            or _schema_has_example(spec, media.get("schema", {}))
        )
    ]
    assert not missing, f"success responses without an example: {missing}"


async def test_examples_validate_against_their_schema(client):
    spec = (await client.get("/openapi.json")).json()
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        examples = schema.get("examples", [])
        examples = examples if isinstance(examples, list) else []
        if "example" in schema:
            examples = [*examples, schema["example"]]
        for i, example in enumerate(examples):
            errors = list(_validator(spec, {"$ref": _REF + name}).iter_errors(example))
            assert not errors, f"{name} example {i}: {[e.message for e in errors]}"
            checked += 1
    for op, code, media_type, media in _bodies(spec):
        examples = [media["example"]] if "example" in media else []
        examples += [e["value"] for e in media.get("examples", {}).values() if "value" in e]
        for example in examples:
            errors = list(_validator(spec, media["schema"]).iter_errors(example))
            assert not errors, f"{op} {code} {media_type}: {[e.message for e in errors]}"
            checked += 1
    assert checked >= 20, f"only {checked} examples found"


async def test_write_operations_declare_bearer_auth(client):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/posts/import", "/update-post"):
        assert spec["paths"][path]["post"]["security"] == [{"HTTPBearer": []}]
    content = spec["paths"]["/posts/import"]["post"]["requestBody"]["content"]
    # One JSON body by $ref, one binary body whose format ?format= names: every generator can
    # send both (NDJSON and CSV media types are still accepted, but not declared).
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/PostImport"}
    records = spec["components"]["schemas"]["PostImport"]["properties"]["records"]
    assert records["items"] == {"$ref": "#/components/schemas/PostRecord"}
    assert content["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    assert set(content) == {"application/json", "application/octet-stream"}


def test_open_reads_declare_no_security():
    for required, expected in ((False, None), (True, [{"ReadKey": []}])):
        settings = Settings(
            database_url="postgresql+asyncpg://unused@127.0.0.1/unused",
            redis_url="redis://unused",
            api_keys="k" * 32,
            read_requires_key=required,
        )
        spec = create_app(settings).openapi()
        for path in ("/hashtag-performance", "/accounts", "/reports/hashtags.csv"):
            assert spec["paths"][path]["get"].get("security") == expected, (required, path)


async def test_enums_name_their_members_and_request_defaults_are_optional(client):
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert schemas["Window"]["x-enum-varnames"] == ["D7", "D30", "D90", "D365", "ALL"]
    assert schemas["SortOrder"]["enum"] == ["asc", "desc"]
    order = next(
        p
        for p in spec["paths"]["/hashtag-performance"]["get"]["parameters"]
        if p["name"] == "order"
    )
    assert order["schema"]["$ref"].endswith("/SortOrder")
    # Request-only schemas say their defaults in words: openapi-typescript would otherwise
    # make `refetch` required in every update.
    refetch = schemas["PostUpdate"]["properties"]["refetch"]
    assert "default" not in refetch
    assert refetch["description"].endswith("Default: false.")
    assert "refetch" not in schemas["PostUpdate"].get("required", [])


async def test_swagger_ui_and_redoc_need_no_internet(client):
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from outside"
            assert (await client.get(asset)).status_code == 200
