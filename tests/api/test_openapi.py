"""The OpenAPI document and the offline docs pages."""

from __future__ import annotations

import re

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
                assert "application/json" in op["responses"][success]["content"], (path, method)
            if path in ("/healthz", "/readyz"):
                continue
            expected = {"503"} | (
                {"422"} if op.get("parameters") or op.get("requestBody") else set()
            )
            assert expected <= set(op["responses"]), (path, method)
            for code in expected:
                ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody")
    assert len(ids) == len(set(ids))


async def test_every_figure_field_has_a_one_line_definition(client):
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for name in (
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
    ):
        for field, prop in schemas[name]["properties"].items():
            assert prop.get("description"), f"{name}.{field} has no description"


async def test_write_operations_declare_bearer_auth(client):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/posts/import", "/update-post"):
        assert spec["paths"][path]["post"]["security"] == [{"HTTPBearer": []}]
    content = spec["paths"]["/posts/import"]["post"]["requestBody"]["content"]
    assert {"application/x-ndjson", "text/csv", "application/json"} <= set(content)


async def test_swagger_ui_and_redoc_need_no_internet(client):
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from outside"
            assert (await client.get(asset)).status_code == 200
