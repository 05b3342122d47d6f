"""POST /posts/import: JSON records, NDJSON or CSV.

The OpenAPI document declares two bodies that every common generator can send: JSON
(`{"records": [PostRecord, ...]}`, the `PostImport` schema) and one binary body
(`application/octet-stream`) whose format `?format=` names (ndjson, csv or json). The server
also takes a bare JSON array and the NDJSON/CSV media types themselves (curl, the README);
they are left out of the document because a generator given several JSON/binary bodies
cannot tell them apart (openapi-python-client 0.29 makes an `isinstance` check per body that
fails on a list and lets the second text body overwrite the first's Content-Type).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from hashtag_api.deps import QueueDep, SessionDep, SettingsDep, WriterDep
from hashtag_api.errors import ApiError, error_responses
from hashtag_core.ingest.parsers import ImportFormat, RawRow, detect_format, iter_rows
from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.posts import service as post_service
from hashtag_core.posts.schemas import ImportResult

__all__ = ["BODY_MODELS", "PostImport", "router"]

router = APIRouter(tags=["posts"])
_SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024

_NDJSON_EXAMPLE = (
    '{"platform":"instagram","post_id":"17890000000000001","account":"legolandwindsor",'
    '"text":"Build your dream at #LEGOLANDWindsor! #family",'
    '"posted_at":"2025-06-07T10:15:00+01:00",'
    '"likes":120,"comments":8,"shares":3,"saves":11,"reach":4000,"followers":250000,'
    '"account_timezone":"Europe/London"}\n'
)
_CSV_EXAMPLE = (
    "platform,post_id,account,text,posted_at,likes,comments,shares,saves,impressions,reach,followers\n"
    "x,1790000000000000001,LEGOLAND_Billund,Ny sæson! #LEGOLAND,2025-03-29T10:00:00+01:00,"
    "40,3,5,,9000,,52000\n"
)


class PostImport(BaseModel):
    """Post records as JSON (a bare array of them is accepted as well)."""

    records: list[PostRecord] = Field(description="The posts, each with its metrics.")


#: Models the document refers to by $ref from the request body (hashtag_api.openapi adds them).
BODY_MODELS: tuple[type[BaseModel], ...] = (PostImport,)
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'Post records: JSON (`{"records": [...]}`, or a bare array), or a file '
        "of NDJSON or CSV records sent as application/octet-stream with `?format=ndjson` or "
        "`?format=csv` (Content-Type application/x-ndjson or text/csv also names the format). "
        "Unknown fields are ignored (and listed in the answer); empty CSV cells mean "
        "'not reported'.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PostImport"}},
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "examples": {
                    "ndjson": {"summary": "?format=ndjson", "value": _NDJSON_EXAMPLE},
                    "csv": {"summary": "?format=csv", "value": _CSV_EXAMPLE},
                },
            },
        },
    }
}


async def _spool(request: Request, limit: int) -> tempfile.SpooledTemporaryFile[bytes]:
    """The body in a file that stays in memory while small; 413 past `limit` bytes, 422 if
    there is none."""
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(
        max_size=_SPOOL_IN_MEMORY_BYTES
    )
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            raise ApiError(
                413,
                "too_large",
                f"request body is larger than {limit} bytes "
                "(HASHTAG_MAX_BODY_BYTES); split it or use the command-line import",
            )
        spool.write(chunk)
    if size == 0:
        spool.close()
        raise ApiError(
            422,
            "invalid_request",
            "the body is empty: send post records as NDJSON, CSV or a JSON array",
        )
    spool.seek(0)
    return spool


@router.post(
    "/posts/import",
    status_code=202,
    response_model=ImportResult,
    summary="Import posts (JSON records, NDJSON or CSV)",
    responses=error_responses(401, 403, 413, 415, 422, 503),
    openapi_extra=_BODY,
)
async def import_posts(
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    settings: SettingsDep,
    _: WriterDep,
    format: Annotated[
        ImportFormat | None,
        Query(
            description="Body format: needed for an application/octet-stream body; "
            "otherwise taken from Content-Type (application/json, application/x-ndjson, "
            "text/csv)."
        ),
    ] = None,
) -> ImportResult:
    """Validates every record: valid ones are stored (a post seen before is updated, and gets
    a new metric snapshot if its metrics changed), invalid ones are listed with row, field and
    reason and nothing of them is written. Answers 202 with the counts and the id of the
    recompute job that will include the import.

    An import is atomic: its valid rows are stored in one transaction, all or none. A 5xx
    (or a lost connection) means it may not be stored (a database lost at the very moment
    of the commit can leave all of it stored behind a 503, never a part), and sending the
    same body again is always safe. A retried body adds no second snapshot for a post whose
    metrics it does not change."""
    fmt = format or detect_format(request.headers.get("content-type"))
    if fmt is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send Content-Type application/json, application/x-ndjson or text/csv, "
            "or name the format with ?format= (ndjson, csv or json)",
        )
    with await _spool(request, settings.max_body_bytes) as body:

        def read_body() -> Iterator[RawRow]:
            body.seek(0)  # from the start: an import that lost a lock race runs again
            return iter_rows(body, fmt)

        return await post_service.import_rows(
            session,
            read_body,
            queue=queue,
            batch_rows=settings.import_batch_rows,
            max_errors=settings.max_reported_errors,
        )
