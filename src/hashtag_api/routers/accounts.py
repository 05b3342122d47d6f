"""/accounts and POST /collect: the accounts the worker keeps current."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from hashtag_api.deps import (
    AdminDep,
    QueueDep,
    ReaderDep,
    SessionDep,
    SettingsDep,
    SnapshotDep,
    WriterDep,
)
from hashtag_api.errors import error_responses
from hashtag_core.accounts import service as account_service
from hashtag_core.accounts.schemas import (
    MAX_ID,
    AccountCreate,
    AccountPublic,
    AccountsPage,
    AccountUpdate,
    CollectRequest,
    CollectStarted,
)
from hashtag_core.ingest.schemas import StorableText

__all__ = ["router"]

router = APIRouter(tags=["accounts"])
AccountId = Annotated[int, Path(ge=1, le=MAX_ID, description="The service's id of the account.")]


@router.get(
    "/accounts",
    response_model=AccountsPage,
    summary="Accounts and their sync state",
    responses=error_responses(422, 503),
)
async def list_accounts(
    session: SnapshotDep,
    _: ReaderDep,
    cursor: Annotated[
        StorableText | None, Query(max_length=500, description="next_cursor of the previous page.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=500, description="Accounts per page (at most 500).")
    ] = 100,
) -> AccountsPage:
    """The accounts with their last and next sync, status and last error, by platform and
    handle, a page at a time (pass `next_cursor` back as `cursor`)."""
    return await account_service.accounts_page(session, cursor=cursor, limit=limit)


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountPublic,
    summary="Register an account to collect",
    responses={
        200: {"model": AccountPublic, "description": "An imported account was adopted."},
        **error_responses(401, 403, 409, 422, 503),
    },
)
async def register_account(
    body: AccountCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: AdminDep,
) -> AccountPublic:
    """Register a platform account with the reference name of its token; the worker then
    collects it every `sync_interval_minutes`. An account already known from imports is
    adopted (200) rather than duplicated."""
    account, created = await account_service.register_account(session, body, settings=settings)
    response.status_code = 201 if created else 200
    return account


@router.get(
    "/accounts/{account_id}",
    response_model=AccountPublic,
    summary="One account",
    responses=error_responses(404, 422, 503),
)
async def get_account(account_id: AccountId, session: SnapshotDep, _: ReaderDep) -> AccountPublic:
    """One account and the state of its collection."""
    return await account_service.get_account(session, account_id)


@router.patch(
    "/accounts/{account_id}",
    response_model=AccountPublic,
    summary="Change an account",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def update_account(
    account_id: AccountId,
    body: AccountUpdate,
    session: SessionDep,
    settings: SettingsDep,
    _: AdminDep,
) -> AccountPublic:
    """Change the handle, time zone, token reference or sync interval, or pause/resume.
    A new token_ref clears a needs_reauth status."""
    return await account_service.update_account(session, account_id, body, settings=settings)


@router.delete(
    "/accounts/{account_id}",
    status_code=204,
    summary="Remove an account",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def delete_account(account_id: AccountId, session: SessionDep, _: AdminDep) -> Response:
    """Remove the account with its posts and history (figures are recomputed)."""
    await account_service.delete_account(session, account_id)
    return Response(status_code=204)


@router.post(
    "/collect",
    status_code=202,
    response_model=CollectStarted,
    summary="Collect one account or all now",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def collect_now(
    body: CollectRequest, session: SessionDep, queue: QueueDep, _: WriterDep
) -> CollectStarted:
    """Queue a collection now instead of waiting for the schedule; poll the job ids."""
    return await account_service.request_collection(session, body, queue=queue)
