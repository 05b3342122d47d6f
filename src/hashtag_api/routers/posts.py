"""POST /update-post and reading single posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hashtag_api.deps import QueueDep, ReaderDep, SessionDep, SnapshotDep, WriterDep
from hashtag_api.errors import error_responses
from hashtag_core.ingest.schemas import StorableText
from hashtag_core.platforms import Platform
from hashtag_core.posts import service as post_service
from hashtag_core.posts.schemas import PostHistory, PostPublic, PostUpdate, UpdatePostResult

__all__ = ["router"]

router = APIRouter(tags=["posts"])
PostIdPath = Annotated[
    StorableText, Path(max_length=200, description="The platform's id of the post.")
]
PlatformPath = Annotated[Platform, Path(description="x, instagram, facebook or linkedin.")]


@router.post(
    "/update-post",
    status_code=202,
    response_model=UpdatePostResult,
    summary="Update a post's metrics or text, or ask for a re-fetch",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def update_post(
    body: PostUpdate, session: SessionDep, queue: QueueDep, _: WriterDep
) -> UpdatePostResult:
    """Change the metrics or text of a stored post (a new metric snapshot is recorded and
    the figures are recomputed), and/or have it re-fetched from its platform now or
    `after` seconds (`refetch`). Answers 202 with the updated post and the job ids."""
    return await post_service.update_post(session, body, queue=queue)


@router.get(
    "/posts/{platform}/{post_id}",
    response_model=PostPublic,
    summary="One post",
    responses=error_responses(404, 422, 503),
)
async def get_post(
    platform: PlatformPath, post_id: PostIdPath, session: SnapshotDep, _: ReaderDep
) -> PostPublic:
    """A stored post with its current metrics and hashtags."""
    return await post_service.get_post(session, platform, post_id)


@router.get(
    "/posts/{platform}/{post_id}/history",
    response_model=PostHistory,
    summary="A post's metrics over time",
    responses=error_responses(404, 422, 503),
)
async def get_post_history(
    platform: PlatformPath, post_id: PostIdPath, session: SnapshotDep, _: ReaderDep
) -> PostHistory:
    """Every metric snapshot recorded for the post (imports, updates, re-fetches)."""
    return await post_service.post_history(session, platform, post_id)
