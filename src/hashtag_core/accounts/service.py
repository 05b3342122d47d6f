"""Accounts: registering them for collection, and turning the platform/account parameters of
a request into an aggregate scope."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts import repository as repo
from hashtag_core.accounts.repository import AccountRef, find_accounts
from hashtag_core.accounts.schemas import (
    AccountCreate,
    AccountPublic,
    AccountsPage,
    AccountUpdate,
    CollectRequest,
    CollectStarted,
)
from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS
from hashtag_core.config import Settings
from hashtag_core.errors import Conflict, InvalidInput, NotFound
from hashtag_core.jobs import COLLECT_ACCOUNT, JobQueue, collect_job_id
from hashtag_core.paging import decode_cursor, encode_cursor, foreign_cursor
from hashtag_core.platforms import Platform
from hashtag_core.posts import repository as repo_posts

__all__ = [
    "Scope",
    "accounts_page",
    "delete_account",
    "get_account",
    "list_accounts",
    "register_account",
    "request_collection",
    "resolve_scope",
    "update_account",
]


@dataclass(frozen=True)
class Scope:
    """Which posts a figure covers: all, one platform, or one account."""

    platform: str  # '*' = every platform
    account_id: int  # 0 = every account of the platform scope
    account: AccountRef | None = None


async def resolve_scope(
    session: AsyncSession, *, platform: Platform | None, account: str | None
) -> Scope:
    """The scope named by the request; an unknown or ambiguous account is an error."""
    if account is None:
        return Scope(platform.value if platform else ALL_PLATFORMS, ALL_ACCOUNTS)
    found = await find_accounts(session, account, platform.value if platform else None)
    if not found:
        where = f" on {platform.value}" if platform else ""
        raise NotFound(f"no account {account!r}{where}; GET /hashtag-performance lists data")
    if len(found) > 1:
        platforms = ", ".join(sorted({a.platform for a in found}))
        raise InvalidInput(
            f"account {account!r} exists on several platforms ({platforms}); add platform=",
            field="account",
        )
    ref = found[0]
    return Scope(ref.platform, ref.id, ref)


def _public(row: dict[str, Any]) -> AccountPublic:
    return AccountPublic.model_validate(row)


def _check_token_ref(settings: Settings, token_ref: str | None) -> None:
    if token_ref is not None and token_ref not in settings.platform_tokens:
        raise InvalidInput(
            f"token_ref {token_ref!r} is not configured; add it to HASHTAG_PLATFORM_TOKENS "
            "(a JSON object of name -> token) and restart",
            field="token_ref",
        )


async def list_accounts(session: AsyncSession) -> list[AccountPublic]:
    """Every account with the state of its collection."""
    return [_public(row) for row in await repo.list_accounts(session)]


async def accounts_page(session: AsyncSession, *, cursor: str | None, limit: int) -> AccountsPage:
    """One page of accounts; `next_cursor` names where the next one starts."""
    after = _account_key(decode_cursor(cursor, kind="accounts")) if cursor else None
    rows = await repo.page_accounts(session, after=after, limit=limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(
            {"kind": "accounts", "after": [last["platform"], last["handle"], last["id"]]}
        )
    return AccountsPage(items=[_public(row) for row in rows], next_cursor=next_cursor)


def _account_key(payload: dict[str, Any]) -> tuple[str, str, int]:
    after = payload.get("after")
    if (
        not isinstance(after, list)
        or len(after) != 3
        or not isinstance(after[0], str)
        or not isinstance(after[1], str)
        or not isinstance(after[2], int)
    ):
        raise foreign_cursor()
    return after[0], after[1], after[2]


async def get_account(session: AsyncSession, account_id: int) -> AccountPublic:
    """One account, or NotFound."""
    row = await repo.get_account(session, account_id)
    if row is None:
        raise NotFound(f"no account with id {account_id}; GET /accounts lists them")
    return _public(row)


async def register_account(
    session: AsyncSession, body: AccountCreate, *, settings: Settings
) -> tuple[AccountPublic, bool]:
    """Register an account for collection; (account, created?).

    An account first seen through an import (no token) is adopted rather than duplicated.
    """
    _check_token_ref(settings, body.token_ref)
    values = {
        "platform": body.platform.value,
        "external_id": body.external_id,
        "handle": body.handle,
        "timezone": body.timezone,
        "token_ref": body.token_ref,
        "collect_enabled": body.token_ref is not None,
        "sync_interval_minutes": body.sync_interval_minutes,
        "status": "active",
    }
    existing = await repo.find_by_identity(
        session, body.platform.value, body.external_id, body.handle
    )
    if existing is not None and existing["token_ref"] is not None:
        raise Conflict(
            f"{body.platform.value} account {body.handle!r} is already registered "
            f"(id {existing['id']}); change it with PATCH /accounts/{existing['id']}"
        )
    if existing is not None:
        await repo.update_account(session, existing["id"], values)
        return await get_account(session, existing["id"]), False
    account_id = await repo.insert_account(session, values)
    return await get_account(session, account_id), True


async def update_account(
    session: AsyncSession, account_id: int, body: AccountUpdate, *, settings: Settings
) -> AccountPublic:
    """Change an account's settings; a new token clears a needs_reauth status."""
    current = await get_account(session, account_id)
    _check_token_ref(settings, body.token_ref)
    values: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"paused"})
    if body.token_ref is not None:
        values |= {
            "collect_enabled": True,
            "status": "active",
            "last_error": None,
            "next_sync_at": None,
        }
    if body.paused is not None:
        values["status"] = "paused" if body.paused else "active"
        if not body.paused:
            values["next_sync_at"] = None
    if values.get("status") == "active" and current.token_ref is None and "token_ref" not in values:
        values.pop("status")
    await repo.update_account(session, account_id, values)
    return await get_account(session, account_id)


async def delete_account(session: AsyncSession, account_id: int) -> None:
    """Remove an account with its posts and history."""
    if not await repo.delete_account(session, account_id):
        raise NotFound(f"no account with id {account_id}")
    await repo_posts.bump_data_version(session)


async def request_collection(
    session: AsyncSession, body: CollectRequest, *, queue: JobQueue
) -> CollectStarted:
    """Queue a collection of one account or of every collected account, now."""
    if body.account_id is not None:
        account = await get_account(session, body.account_id)
        if not account.collect_enabled:
            raise Conflict(
                f"account {account.id} has no token_ref, so it cannot be collected; "
                f"set one with PATCH /accounts/{account.id}"
            )
        targets = [account]
    else:
        targets = [a for a in await list_accounts(session) if a.collect_enabled]
    slot = int(time.time())
    await repo.make_due(session, [a.id for a in targets], datetime.fromtimestamp(slot, UTC))
    job_ids, queued = [], True
    for account in targets:
        job_id = collect_job_id(account.id, slot)
        queued = await queue.enqueue(COLLECT_ACCOUNT, account.id, job_id=job_id) and queued
        job_ids.append(job_id)
    return CollectStarted(job_ids=job_ids, job_queued=queued)
