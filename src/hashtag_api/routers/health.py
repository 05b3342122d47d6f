"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

__all__ = ["router"]

router = APIRouter(tags=["health"])
_CHECK_TIMEOUT_S = 2.0


class Health(BaseModel):
    """Process state."""

    status: str = Field(description="'ok' when the process answers.")


class Readiness(BaseModel):
    """Whether the dependencies answer."""

    status: str = Field(
        description="'ok' when PostgreSQL and Redis both answer, else 'unavailable'."
    )
    postgres: bool = Field(description="True when PostgreSQL answered SELECT 1 within 2 s.")
    redis: bool = Field(description="True when Redis answered PING within 2 s.")


@router.get(
    "/healthz",
    response_model=Health,
    summary="The process is up",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> Health:
    """Answers while the process runs, whatever the state of its dependencies."""
    return Health(status="ok")


async def _postgres(request: Request) -> bool:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_S):
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason is logged by the pool
        return False
    return True


async def _redis(request: Request) -> bool:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_S):
            await request.app.state.arq.ping()
    except Exception:
        return False
    return True


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="PostgreSQL and Redis answer",
    responses={
        200: {
            "content": {
                "application/json": {"example": {"status": "ok", "postgres": True, "redis": True}}
            }
        },
        503: {
            "model": Readiness,
            "description": "A dependency does not answer.",
            "content": {
                "application/json": {
                    "example": {"status": "unavailable", "postgres": True, "redis": False}
                }
            },
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    """200 when both dependencies answer; 503 with Retry-After when either does not."""
    pg, rd = await asyncio.gather(_postgres(request), _redis(request))
    body = Readiness(status="ok" if pg and rd else "unavailable", postgres=pg, redis=rd)
    headers = None if pg and rd else {"Retry-After": "5"}
    return JSONResponse(body.model_dump(), status_code=200 if pg and rd else 503, headers=headers)
