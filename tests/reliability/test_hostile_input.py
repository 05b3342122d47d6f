"""Input alone never makes a 500 (issue 14): deep nesting, dates at the ends of the calendar,
integers beyond int64 in every body format, parameter and cursor, and bodies that are not JSON.

Each case was a 500 (RecursionError, OverflowError, asyncpg DataError) or a bare 400 before."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from hashtag_api.main import create_app
from hashtag_core.config import Settings
from tests.api.data import NOW
from tests.helpers import API_KEY, AUTH, ndjson, query, recompute_in
from tests.reliability.test_hostile_imports import errors_by_row, post_import, rec, stored_ids

DEEP = 10_000
BOUND_KEYS = {"ge", "le", "gt", "lt", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
#: Instants whose offset pushes them past year 9999 or before year 1 in UTC.
EXTREME_DATES = [
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999-00:01",
    "0001-01-01T00:00:00+14:00",
]


def deep_json(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def _csv(records: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# --- deep nesting ---------------------------------------------------------------------------


async def test_a_deeply_nested_ndjson_line_is_a_row_error(
    client: httpx.AsyncClient, session: Any
) -> None:
    deep_field = json.dumps(rec("n2"))[:-1] + ', "extra": ' + deep_json() + "}"
    body = "\n".join(
        [
            json.dumps(rec("n1")),
            deep_json(),
            deep_field,
            json.dumps({**rec("n3"), "extra": json.loads("[" * 50 + "]" * 50)}),
            json.dumps(rec("n4")),
        ]
    ).encode()
    result = await post_import(client, body, "application/x-ndjson")
    errors = errors_by_row(result)
    assert set(errors) == {2, 3, 4}
    for row in (2, 3, 4):
        [(field, message)] = errors[row]
        assert field is None
        assert "nested more than" in message, message
    assert await stored_ids(session) == {"n1", "n4"}


async def test_a_deeply_nested_json_array_element_is_a_row_error_and_the_rest_is_read(
    client: httpx.AsyncClient, session: Any
) -> None:
    body = (
        "["
        + json.dumps(rec("a1"))
        + ","
        + deep_json()
        + ","
        + json.dumps({**rec("a2"), "extra": json.loads(deep_json(20))})
        + ","
        + json.dumps(rec("a3"))
        + "]"
    ).encode()
    result = await post_import(client, body, "application/json")
    [(field, message)] = errors_by_row(result)[2]
    assert field is None
    assert "nested more than" in message, message
    assert result["received"] == 4
    assert await stored_ids(session) == {"a1", "a2", "a3"}


# --- extreme dates --------------------------------------------------------------------------


@pytest.mark.parametrize("posted_at", EXTREME_DATES)
@pytest.mark.parametrize("fmt", ["ndjson", "csv", "json"])
async def test_dates_at_the_ends_of_the_calendar_are_row_errors(
    client: httpx.AsyncClient, session: Any, posted_at: str, fmt: str
) -> None:
    rows = [rec("d1"), rec("bad", posted_at=posted_at), rec("d2")]
    body, media = {
        "ndjson": (ndjson(rows), "application/x-ndjson"),
        "csv": (_csv(rows), "text/csv"),
        "json": (json.dumps(rows).encode(), "application/json"),
    }[fmt]
    result = await post_import(client, body, media)
    [(field, message)] = errors_by_row(result)[2]
    assert field == "posted_at"
    assert "out of range" in message or "future" in message or "before 2006" in message
    assert await stored_ids(session) == {"d1", "d2"}


async def _a_stored_hashtag(client: httpx.AsyncClient) -> None:
    await post_import(client, ndjson([rec("p1")]), "application/x-ndjson")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "9999-12-31T23:59:59-14:00"),
        ("since", "9999-12-31T23:59:59.999999-00:01"),
    ],
)
async def test_since_and_until_beyond_the_calendar_are_422(
    client: httpx.AsyncClient, session: Any, name: str, value: str
) -> None:
    await _a_stored_hashtag(client)
    response = await client.get("/hashtags/legoland", params={name: value})
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == f"query.{name}"


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("engagement", [10**30, 1]),
        ("engagement", [5, -(2**63) - 1]),
        ("engagement", [5, 2**63]),
        ("newest", ["0001-01-01T00:00:00+14:00", 1]),
        ("newest", ["9999-12-31T23:59:59-14:00", 1]),
        ("newest", ["2025-01-01T00:00:00+00:00", 10**30]),
    ],
)
async def test_tampered_cursors_are_422(
    client: httpx.AsyncClient, session: Any, sort: str, cursor: list[Any]
) -> None:
    await _a_stored_hashtag(client)
    response = await client.get(
        "/hashtags/legoland", params={"sort": sort, "cursor": _cursor(cursor)}
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "cursor"


# --- bodies that are not JSON ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/update-post", "/accounts", "/collect"])
@pytest.mark.parametrize("body", [deep_json(), '{"platform": "x",\n "post_id": '])
async def test_unparsable_json_bodies_are_422_with_the_location(
    client: httpx.AsyncClient, path: str, body: str
) -> None:
    response = await client.post(
        path, content=body.encode(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["field"].startswith("body")
    if body.startswith("["):
        assert "nested too deeply" in detail["message"]
    else:
        assert "line 2" in detail["message"], detail


async def test_after_false_is_not_a_number_of_seconds(
    client: httpx.AsyncClient, session: Any
) -> None:
    await _a_stored_hashtag(client)
    response = await client.post(
        "/update-post",
        json={"platform": "x", "post_id": "p1", "refetch": True, "after": False},
        headers=AUTH,
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "body.after"
    assert not await query(session, "SELECT 1 FROM post_refresh")


def test_the_document_states_the_bounds_the_code_enforces() -> None:
    document = create_app(Settings(api_keys=API_KEY)).openapi()
    seen: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            seen.extend((key, value) for key, value in node.items() if key in BOUND_KEYS)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert not [key for key, _ in seen if key in {"ge", "le", "gt", "lt"}]
    assert all(isinstance(value, int) for _, value in seen), seen
    account_id = document["components"]["schemas"]["CollectRequest"]["properties"]["account_id"]
    assert account_id["anyOf"][0]["maximum"] == 2**63 - 1
    likes = document["components"]["schemas"]["PostUpdate"]["properties"]["likes"]
    assert likes["anyOf"][0]["minimum"] == 0


async def test_an_unexpected_error_is_answered_not_raised_to_the_server(
    engine: AsyncEngine, arq_redis: ArqRedis, database_url: str
) -> None:
    # uvicorn closes the connection of an application that raises, even after it answered:
    # a keep-alive client lost its connection with every 500.
    app = create_app(Settings(database_url=database_url, redis_url="redis://u", api_keys=API_KEY))
    app.state.engine, app.state.arq = engine, arq_redis

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app=app)  # raises what the application raises
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/boom", headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "boom-1"
    assert response.headers["x-request-id"] == "boom-1"


# --- every parameter ------------------------------------------------------------------------

EXTREME_VALUES = {
    "date-time": [*EXTREME_DATES, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"],
    "date": ["0001-01-01", "9999-12-31"],
    "integer": [str(2**63), str(-(2**63) - 1), str(10**30), "-1"],
}


def _value_kind(schema: dict[str, Any]) -> str | None:
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("format") in ("date-time", "date"):
            return str(option["format"])
        if option.get("type") == "integer":
            return "integer"
    return None


async def test_extreme_dates_and_integers_in_every_query_parameter_are_never_a_500(
    client: httpx.AsyncClient, session: Any
) -> None:
    await post_import(
        client, ndjson([rec(f"e{i}", likes=i) for i in range(5)]), "application/x-ndjson"
    )
    await recompute_in(session, NOW)
    document = (await client.get("/openapi.json")).json()
    sent = 0
    for path, operations in document["paths"].items():
        if "{" in path and path != "/hashtags/{hashtag}":
            continue
        url = path.replace("{hashtag}", "legoland")
        for method, operation in operations.items():
            if method != "get":
                continue
            for parameter in operation.get("parameters", []):
                kind = _value_kind(parameter.get("schema", {}))
                if parameter["in"] != "query" or kind is None:
                    continue
                for value in EXTREME_VALUES[kind]:
                    response = await client.get(url, params={parameter["name"]: value})
                    sent += 1
                    assert response.status_code < 500, (
                        url,
                        parameter["name"],
                        value,
                        response.text,
                    )
    assert sent > 20
