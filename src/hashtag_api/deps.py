"""Request dependencies: settings, database session, job queue, API-key checks."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.errors import ApiError
from hashtag_api.queue import ArqJobQueue
from hashtag_core.config import Settings

__all__ = ["READ_SCHEME", "QueueDep", "ReaderDep", "SessionDep", "SettingsDep", "WriterDep"]

_bearer = HTTPBearer(
    auto_error=False,
    description="API key: `Authorization: Bearer <key>` (keys from HASHTAG_API_KEYS).",
)
#: The same key on reads, under its own scheme name so that the OpenAPI document can say it
#: is optional there (hashtag_api.openapi).
READ_SCHEME = "ReadKey"
_read_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=READ_SCHEME,
    description="The API key on reads: needed only when HASHTAG_READ_REQUIRES_KEY is set.",
)


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request; committed if the handler succeeds, rolled back if not."""
    async with request.app.state.sessionmaker() as session:
        yield session
        await session.commit()


def get_queue(request: Request) -> ArqJobQueue:
    """The job queue (arq on Redis)."""
    return ArqJobQueue(request.app.state.arq)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
QueueDep = Annotated[ArqJobQueue, Depends(get_queue)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
ReadCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_read_bearer)]


def _check_key(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "this operation needs an API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    given = credentials.credentials.encode()
    # Compare against every key, in constant time, so timing does not reveal a near match.
    matches = [
        hmac.compare_digest(given, key.get_secret_value().encode()) for key in settings.api_keys
    ]
    if not any(matches):
        raise ApiError(403, "forbidden", "the API key is not valid (check HASHTAG_API_KEYS)")


def require_writer(settings: SettingsDep, credentials: Credentials) -> None:
    """Writes need a configured API key."""
    _check_key(settings, credentials)


def require_reader(settings: SettingsDep, credentials: ReadCredentials) -> None:
    """Reads are open unless HASHTAG_READ_REQUIRES_KEY is set."""
    if settings.read_requires_key:
        _check_key(settings, credentials)


WriterDep = Annotated[None, Depends(require_writer)]
ReaderDep = Annotated[None, Depends(require_reader)]
