"""GET /jobs/{job_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.jobs_status import JobInfo, job_info

__all__ = ["router"]

router = APIRouter(tags=["jobs"])
_EXAMPLE = {
    "job_id": "recompute:43",
    "status": "complete",
    "function": "recompute",
    "result": {
        "status": "incremental",
        "computed_version": 43,
        "passes": 1,
        "rows": {
            "hashtags": 3,
            "hashtag_performance": 45,
            "hashtag_lift": 180,
            "hashtag_trend_cell": 61,
            "hashtag_daily": 212,
        },
        "duration_ms": 412,
        "computed_at": "2025-06-09T08:02:11+00:00",
    },
    "error": None,
    "enqueued_at": "2025-06-09T08:02:10.512Z",
    "started_at": "2025-06-09T08:02:10.640Z",
    "finished_at": "2025-06-09T08:02:11.052Z",
}


@router.get(
    "/jobs/{job_id}",
    response_model=JobInfo,
    summary="State of a background job",
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        **error_responses(404, 422, 503),
    },
)
async def get_job(
    job_id: Annotated[
        str,
        Path(
            max_length=200,
            description="Id returned by the operation that queued the job (job_id, job_ids).",
            examples=["recompute:42"],
        ),
    ],
    request: Request,
    session: SnapshotDep,
    _: ReaderDep,
) -> JobInfo:
    """queued, running, complete (with its result) or failed (with the error). A recompute
    is complete once the figures include its data version."""
    return await job_info(session, request.app.state.arq, job_id)
