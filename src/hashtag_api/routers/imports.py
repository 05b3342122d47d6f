"""POST /posts/import: NDJSON, CSV or a JSON array of post records."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from hashtag_api.deps import QueueDep, SessionDep, SettingsDep, WriterDep
from hashtag_api.errors import ApiError, error_responses
from hashtag_core.ingest.parsers import ImportFormat, RawRow, detect_format, iter_rows
from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.posts import service as post_service
from hashtag_core.posts.schemas import ImportResult

__all__ = ["router"]

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
_RECORD_SCHEMA = PostRecord.model_json_schema(ref_template="#/components/schemas/{model}")
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Post records. Unknown fields are ignored (and listed in the answer); "
        "empty CSV cells mean 'not reported'.",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}, "example": _NDJSON_EXAMPLE},
            "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
            "application/json": {"schema": {"type": "array", "items": _RECORD_SCHEMA}},
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
    summary="Import posts (NDJSON, CSV or JSON array)",
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
            description="Body format; default from Content-Type (application/x-ndjson, "
            "text/csv, application/json)."
        ),
    ] = None,
) -> ImportResult:
    """Validates every record: valid ones are stored (a post seen before is updated, and gets
    a new metric snapshot if its metrics changed), invalid ones are listed with row, field and
    reason and nothing of them is written. Answers 202 with the counts and the id of the
    recompute job that will include the import.

    An import is atomic: its valid rows are stored in one transaction, so a 5xx (or a lost
    connection) means nothing of the body was stored, and sending the same body again is
    always safe. A retried body adds no second snapshot for a post whose metrics it does not
    change."""
    fmt = format or detect_format(request.headers.get("content-type"))
    if fmt is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send Content-Type application/x-ndjson, "
            "text/csv or application/json, or name the format with ?format=",
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
