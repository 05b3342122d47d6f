"""GET /jobs/{job_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from hashtag_api.deps import ReaderDep, SnapshotDep
from hashtag_api.errors import error_responses
from hashtag_api.jobs_status import JobInfo, job_info

__all__ = ["router"]

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}",
    response_model=JobInfo,
    summary="State of a background job",
    responses=error_responses(404, 422, 503),
)
async def get_job(
    job_id: Annotated[str, Path(max_length=200, examples=["recompute:42"])],
    request: Request,
    session: SnapshotDep,
    _: ReaderDep,
) -> JobInfo:
    """queued, running, complete (with its result) or failed (with the error). A recompute
    is complete once the figures include its data version."""
    return await job_info(session, request.app.state.arq, job_id)
