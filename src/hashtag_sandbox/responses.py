"""Response bodies in each platform's own shape (platform-apis.md §1.7, §3.7, §4.9)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.responses import Response

__all__ = [
    "json_response",
    "linkedin_error",
    "meta_error",
    "retry_after_header",
    "x_credits_depleted",
    "x_problem",
]

_X_PROBLEMS = "https://api.twitter.com/2/problems/"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response with the charset X documents."""
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


def x_problem(
    status: int, title: str, detail: str, kind: str | None = None, **extra: Any
) -> Response:
    """An RFC 7807 problem body as X API v2 sends it."""
    body = {
        "title": title,
        "detail": detail,
        "type": _X_PROBLEMS + kind if kind else "about:blank",
        "status": status,
        **extra,
    }
    return json_response(body, status)


def x_credits_depleted(account_id: int) -> Response:
    """402 when pay-per-use credits are used up, in the shape X sends (as published, e.g. an
    xurl capture): the developer account's numeric id, no `status` member, and a problem type
    that X's OpenAPI problem list does not name."""
    detail = (
        f"Your enrolled account [{account_id}] does not have any credits to fulfill this request."
    )
    body = {
        "account_id": account_id,
        "title": "CreditsDepleted",
        "detail": detail,
        "type": _X_PROBLEMS + "credits",
    }
    return json_response(body, 402)


def meta_error(
    status: int,
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    transient: bool | None = None,
) -> Response:
    """A Graph API error body."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    return json_response({"error": error}, status)


def linkedin_error(status: int, service_code: int, code: str, message: str) -> Response:
    """A LinkedIn REST error body."""
    body = {"status": status, "serviceErrorCode": service_code, "code": code, "message": message}
    return json_response(body, status)


def retry_after_header(seconds: int, http_date: bool) -> dict[str, str]:
    """`Retry-After` as delta seconds or as an HTTP date."""
    if not http_date:
        return {"Retry-After": str(seconds)}
    when = datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds + 1, UTC)
    return {"Retry-After": format_datetime(when, usegmt=True)}
