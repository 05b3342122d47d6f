"""One error shape for every failure (RFC 9457 problem details), and the mapping of domain
errors to HTTP.

Nothing here lets a stack trace reach the caller: an unexpected exception is logged with its
request id and answered with a 500 that says only that.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashtag_core.errors import (
    Conflict,
    HashtagError,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from hashtag_core.rawsql import has_sqlstate

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ApiError",
    "ErrorDetail",
    "Problem",
    "error_responses",
    "install",
    "problem",
]

logger = logging.getLogger(__name__)
RETRY_AFTER_S = 5


class ErrorDetail(BaseModel):
    """One thing wrong with the request."""

    field: str | None = Field(
        default=None, description="Where: e.g. 'query.limit' or 'body.likes'."
    )
    message: str = Field(description="What is wrong.")


#: The media type of every error answer (RFC 9457).
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """The body of every error response: RFC 9457 problem details, with our stable `code`, the
    `details` naming each invalid field and the `request_id` as extension members."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "invalid request: query.window: Input should be "
                    "'7d', '30d', '90d', '365d' or 'all'",
                    "instance": "/hashtag-performance",
                    "code": "invalid_request",
                    "details": [
                        {
                            "field": "query.window",
                            "message": "Input should be '7d', '30d', '90d', '365d' or 'all'",
                        }
                    ],
                    "request_id": "5f0c2a9e8b7d4c1e9a3b6d2f1e0c9b8a",
                }
            ]
        }
    )

    type: str = Field(
        default="about:blank",
        description="A URI naming the problem type; about:blank: the status says it all, "
        "`code` says more.",
    )
    title: str = Field(description="The HTTP status phrase, e.g. 'Not Found'.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What went wrong and what to do, for a person.")
    instance: str | None = Field(default=None, description="The path of the request.")
    code: str = Field(description="Stable machine-readable code, e.g. 'not_found'.")
    details: list[ErrorDetail] = Field(
        default_factory=list,
        description="One entry per invalid parameter or field; empty when none is to blame.",
    )
    request_id: str | None = Field(default=None, description="Quote it when reporting a problem.")


class ApiError(Exception):
    """An HTTP-level failure (authentication, media type, size)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


_DESCRIPTIONS = {
    401: "No API key was sent, or the key is unknown, revoked or expired (RFC 6750: "
    'WWW-Authenticate: Bearer, with error="invalid_token" for a key that was sent).',
    403: "The API key is valid but lacks the scope this operation needs (insufficient_scope).",
    404: "The thing named does not exist.",
    409: "The request contradicts stored state.",
    413: "The request body is larger than the configured limit.",
    415: "The body's media type is not one the operation accepts.",
    422: "A parameter or body field is invalid; details name each one.",
    429: "Too many requests for this key or address; retry after the Retry-After seconds.",
    503: "PostgreSQL or Redis cannot answer now (down, restarting, or over a lock or statement "
    "timeout); retry after the Retry-After seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error codes, all with the Problem schema."""
    return {
        code: {
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for code in codes
    }


#: Where the Problem schema is in the OpenAPI document (hashtag_api.openapi registers it).
PROBLEM_REF = "#/components/schemas/Problem"


def problem(
    status: int,
    code: str,
    message: str,
    *,
    details: list[ErrorDetail] | None = None,
    request_id: str | None = None,
    instance: str | None = None,
) -> Problem:
    """The problem details for one failure."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return Problem(
        title=title,
        status=status,
        detail=message,
        instance=instance,
        code=code,
        details=details or [],
        request_id=request_id,
    )


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem(
        status,
        code,
        message,
        details=details,
        request_id=getattr(request.state, "request_id", None),
        instance=request.url.path,
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


_DOMAIN = {
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    InvalidInput: (422, "invalid_input"),
}


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HashtagError)
    if isinstance(exc, ServiceUnavailable):
        return _respond(
            request,
            503,
            "unavailable",
            exc.message,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    status, code = next(
        (v for cls, v in _DOMAIN.items() if isinstance(exc, cls)), (400, "bad_request")
    )
    details = None
    if isinstance(exc, InvalidInput) and exc.field:
        details = [ErrorDetail(field=exc.field, message=exc.message)]
    return _respond(request, status, code, exc.message, details)


async def _api(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _respond(request, exc.status, exc.code, exc.message, headers=exc.headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _message(err: dict[str, Any], body: Any) -> str:
    """pydantic's message, or for JSON that does not parse, what and where (FastAPI says only
    "JSON decode error" and the character offset)."""
    loc = err.get("loc", ())
    if err.get("type") != "json_invalid" or len(loc) != 2 or not isinstance(loc[1], int):
        return str(err.get("msg", "invalid"))
    reason = (err.get("ctx") or {}).get("error", "JSON decode error")
    text = body if isinstance(body, str) else ""
    line = text.count("\n", 0, loc[1]) + 1
    column = loc[1] - (text.rfind("\n", 0, loc[1]) + 1) + 1
    return f"invalid JSON: {reason} at line {line} column {column} (character {loc[1]})"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(field=_loc(err.get("loc", ())), message=_message(err, exc.body))
        for err in exc.errors()
    ]
    summary = "; ".join(f"{d.field}: {d.message}" for d in details[:3])
    return _respond(request, 422, "invalid_request", f"invalid request: {summary}", details)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (RFC 9110 requires them in Allow).

    Asked of each route with the method swapped in, because included routers do not list
    their routes' methods (and Starlette names only the first route's)."""
    methods = set()
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return ", ".join(sorted(methods))


_UNPARSABLE = {
    UnicodeDecodeError: "the body is not valid UTF-8 JSON",
    # json.loads gives up near Python's recursion limit (about 1,000 levels); no body of this
    # API nests more than 3.
    RecursionError: "the body's arrays and objects are nested too deeply to read",
}


def _unparsable(exc: StarletteHTTPException) -> str | None:
    """Why FastAPI could not parse a JSON body (its bare 400), if the body is to blame."""
    if exc.status_code != 400:
        return None
    return next((m for t, m in _UNPARSABLE.items() if isinstance(exc.__cause__, t)), None)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if (reason := _unparsable(exc)) is not None:
        # FastAPI answers a body json.loads raised on (other than a JSONDecodeError) with a
        # bare 400; malformed JSON gets a 422, and this is the same mistake.
        detail = ErrorDetail(field="body", message=reason)
        return _respond(
            request, 422, "invalid_request", "invalid request: " + detail.message, [detail]
        )
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}; see /docs"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return _respond(
        request, exc.status_code, codes.get(exc.status_code, "http_error"), message, headers=headers
    )


#: Exception classes that can mean "a dependency is down"; handled (not re-raised) as 503.
UNAVAILABLE_TYPES: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    DBAPIError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    TimeoutError,
)


#: asyncpg's message for a query sent on a connection that is still taking in an error the
#: server sent (state 2, PROTOCOL_ERROR_CONSUME): PostgreSQL shutting down sends its FATAL
#: to every connection, and a query sent in that moment fails with this, not with the
#: shutdown error (seen in `test_faults_import.py`: a 500 where the outage is a 503).
_CONSUMING_AN_ERROR = "another operation (2) is in progress"


#: SQLSTATEs after which the same request can succeed a moment later, so they are answered
#: 503 with Retry-After, not 500: a connection lost (08), the server out of connections,
#: memory or disk (53), shutting down or restarting (57P), a statement or lock wait over its
#: timeout (57014, 55P03), and a transaction PostgreSQL rolled back for a deadlock or a
#: serialization failure (40P01, 40001; on a read replica also a query cancelled by a
#: conflict with recovery).
_TRANSIENT_SQLSTATES = ("08", "53", "57P", "57014", "55P03", "40001", "40P01")


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that mean Postgres or Redis cannot answer right now (a retry after a
    pause can succeed)."""
    if has_sqlstate(exc, *_TRANSIENT_SQLSTATES):
        return True
    if isinstance(
        exc,
        (
            OperationalError,
            InterfaceError,
            PoolTimeoutError,
            RedisConnectionError,
            RedisTimeoutError,
            ConnectionError,
            TimeoutError,
        ),
    ):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    cause = exc.__cause__ or exc.__context__
    name = type(exc).__name__
    if name == "InternalClientError" and _CONSUMING_AN_ERROR in str(exc):
        return True
    return name in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "InterfaceError",
        "ConnectionFailureError",
        "AdminShutdownError",
    } or (cause is not None and cause is not exc and is_unavailable(cause))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        logger.warning("dependency unavailable: %s", exc.__class__.__name__)
        return _respond(
            request,
            503,
            "unavailable",
            "the database or queue cannot answer right now (unreachable, restarting or busy); "
            "retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return _respond(
        request, 500, "internal_error", "unexpected error; it was logged with this request id"
    )


class AnswerUnexpected:
    """ASGI middleware (innermost of ours): answers an exception no handler took with the
    500 (or 503) `_unexpected` makes, and does not re-raise it.

    Starlette's ServerErrorMiddleware answers too, but then re-raises, and uvicorn closes a
    connection whose application raised: a client on keep-alive lost its connection with
    the answer. The exception is logged here instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late to answer: the server must end the response
                raise
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register every handler on `app`."""
    app.add_exception_handler(HashtagError, _domain)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    # Registered by class so Starlette's ExceptionMiddleware answers them; a handler for
    # bare Exception runs in ServerErrorMiddleware, which re-raises after answering.
    for exc_type in UNAVAILABLE_TYPES:
        app.add_exception_handler(exc_type, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(AnswerUnexpected)
