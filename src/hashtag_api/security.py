"""Security headers on every response, and CORS when origins are configured.

Every answer (JSON, errors, the early 413, the docs) gets `X-Content-Type-Options`,
`X-Frame-Options`, `Referrer-Policy`, `Cross-Origin-Opener-Policy` and a
`Content-Security-Policy` chosen by path:

* JSON and everything else: nothing may load (`default-src 'none'`);
* `/docs` and `/redoc`: Swagger UI and ReDoc, served locally by fastapi-offline, need their
  pages' inline scripts and styles, data: images and (ReDoc) blob: workers;
* `/dashboard`: its own scripts, styles and fetches only (no inline code).

`Strict-Transport-Security` is sent only when HASHTAG_HSTS_SECONDS > 0 (an HTTPS deployment).
The rate-limit headers a request earned (hashtag_api.deps) are added here too.

CORS is closed unless HASHTAG_CORS_ORIGINS names origins: without it no
`Access-Control-Allow-Origin` is ever sent, so browsers on other origins cannot read answers.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashtag_core.config import Settings

__all__ = [
    "CSP_API",
    "CSP_DASHBOARD",
    "CSP_DOCS",
    "SecurityHeaders",
    "base_headers",
    "content_security_policy",
]

CSP_API = "default-src 'none'; frame-ancestors 'none'"
CSP_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CSP_DASHBOARD = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
_DOCS_PATHS = ("/docs", "/redoc")


def content_security_policy(path: str) -> str:
    """The policy for a response to `path`."""
    if path in _DOCS_PATHS or path.startswith("/docs/"):
        return CSP_DOCS
    if path == "/dashboard" or path.startswith("/dashboard/"):
        return CSP_DASHBOARD
    return CSP_API


def base_headers(hsts_seconds: int) -> list[tuple[bytes, bytes]]:
    """The headers every answer gets whatever its path (the policy comes after them)."""
    base = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if hsts_seconds > 0:
        base.append(
            (b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode())
        )
    return base


class SecurityHeaders:
    """ASGI middleware: the headers above, without replacing any a handler set itself."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        self.base = base_headers(hsts_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = content_security_policy(scope.get("path", "")).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                extra = [*self.base, (b"content-security-policy", csp)]
                limits = (scope.get("state") or {}).get("rate_limit_headers") or {}
                extra += [(k.lower().encode(), v.encode()) for k, v in limits.items()]
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """CORS (when configured) inside the security headers, so preflights get them too.
    Call after adding the inner middleware and before the outermost (metrics)."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=[
                "X-Request-Id",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds)
