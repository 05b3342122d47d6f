"""Sending what the delivery log holds: signed webhooks and emails, retried with exponential
backoff, each attempt recorded.

A delivery is claimed (status `sending`, a lease) and committed before anything is sent, so a
second worker or a second run of the job skips it; one whose worker died is taken again when
its lease runs out. Each attempt is committed as it ends. The idempotency key travels with every
attempt (`X-Hashtag-Delivery`), so a receiver can drop the repeat of a message whose answer was
lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.alerts import repository as repo
from hashtag_core.alerts.detect import describe
from hashtag_core.alerts.mail import build_message, send_message
from hashtag_core.alerts.settings import AlertSettings, SmtpSettings
from hashtag_core.alerts.signing import SIGNATURE_HEADER, signature_header

__all__ = [
    "DELIVERY_HEADER",
    "Attempt",
    "backoff_s",
    "deliver_alerts",
    "run_delivery",
    "webhook_body",
]

DELIVERY_HEADER = "X-Hashtag-Delivery"
EVENT_HEADER = "X-Hashtag-Event"
#: Answers worth another try: timeouts, conflicts, too early, rate limits.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_BATCH = 100
_CONCURRENT = 8


@dataclass(frozen=True)
class Attempt:
    """How one attempt ended; `retry` says whether another may succeed."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry: bool = True


Sender = Callable[[], Awaitable[Attempt]]


def backoff_s(settings: AlertSettings, attempt: int) -> float:
    """The wait after failed attempt `attempt` (1-based): base x 2^(attempt-1), capped."""
    return float(min(settings.backoff_cap_s, settings.backoff_base_s * 2 ** (attempt - 1)))


async def run_delivery(
    sessionmaker: async_sessionmaker[AsyncSession],
    row: Any,
    send: Sender,
    settings: AlertSettings,
) -> bool:
    """Try a claimed delivery until it succeeds, fails for good or uses up `max_attempts`
    (counting earlier runs' attempts), recording each attempt; True if delivered."""
    attempt = row["attempts"]
    delivered = False
    while attempt < settings.max_attempts:
        attempt += 1
        started = time.perf_counter()
        try:
            outcome = await send()
        except Exception as exc:  # network, TLS, SMTP refusal: worth another try
            outcome = Attempt(False, error=f"{type(exc).__name__}: {exc}"[:1000])
        async with sessionmaker() as session:
            await repo.record_attempt(
                session,
                row["id"],
                attempt,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=int((time.perf_counter() - started) * 1000),
            )
            await session.commit()
        if outcome.ok or not outcome.retry:
            delivered = outcome.ok
            break
        if attempt < settings.max_attempts:
            await asyncio.sleep(backoff_s(settings, attempt))
    async with sessionmaker() as session:
        await repo.finish_delivery(session, row["id"], delivered=delivered, now=datetime.now(UTC))
        await session.commit()
    return delivered


def webhook_body(idempotency_key: str, target: Any) -> bytes:
    """The JSON a webhook delivery POSTs (the same bytes on every attempt)."""
    payload = json.loads(target["payload"])
    return json.dumps(
        {
            "id": idempotency_key,
            "event": target["key"],
            "type": target["kind"],
            "created_at": target["created_at"].isoformat(),
            "summary": describe(target["kind"], payload),
            "data": payload,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


async def _post_webhook(
    client: httpx.AsyncClient, row: Any, target: Any, settings: AlertSettings
) -> Attempt:
    if target["webhook_secret"] is None:
        return Attempt(False, error="the subscription was deleted", retry=False)
    body = webhook_body(row["idempotency_key"], target)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(target["webhook_secret"], body, int(time.time())),
        DELIVERY_HEADER: row["idempotency_key"],
        EVENT_HEADER: target["kind"],
        "User-Agent": "hashtag-analysis-webhooks/1",
    }
    response = await client.post(
        row["recipient"], content=body, headers=headers, timeout=settings.timeout_s
    )
    code = response.status_code
    if 200 <= code < 300:
        return Attempt(True, code)
    retry = code >= 500 or code in _RETRYABLE_4XX
    return Attempt(False, code, f"HTTP {code}: {response.text[:200]}", retry)


async def _email_alert(smtp: SmtpSettings, row: Any, target: Any) -> Attempt:
    if not smtp.host:
        return Attempt(
            False, error="no SMTP server is configured (HASHTAG_SMTP__HOST)", retry=False
        )
    payload = json.loads(target["payload"])
    lines = [describe(target["kind"], payload), ""] + [
        f"{name}: {value}" for name, value in sorted(payload.items())
    ]
    message = build_message(
        smtp,
        to=row["recipient"],
        subject=row["subject"],
        text="\n".join(lines) + "\n",
        idempotency_key=row["idempotency_key"],
    )
    await send_message(smtp, message)
    return Attempt(True)


async def deliver_alerts(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    alerts: AlertSettings,
    smtp: SmtpSettings,
    client: httpx.AsyncClient,
) -> dict[str, int]:
    """Send every open alert delivery (webhooks and emails), a batch at a time."""
    counts = {"delivered": 0, "failed": 0}
    while True:
        async with sessionmaker() as session:
            claimed = await repo.claim_deliveries(
                session, now=datetime.now(UTC), lease_s=alerts.lease_s, limit=_BATCH, reports=False
            )
            await session.commit()
        if not claimed:
            return counts
        # Side by side: one receiver's retries and backoff do not hold up the others.
        gate = asyncio.Semaphore(_CONCURRENT)
        jobs = (_deliver_one(sessionmaker, row, gate, alerts, smtp, client) for row in claimed)
        for ok in await asyncio.gather(*jobs):
            counts["delivered" if ok else "failed"] += 1


async def _deliver_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    row: Any,
    gate: asyncio.Semaphore,
    alerts: AlertSettings,
    smtp: SmtpSettings,
    client: httpx.AsyncClient,
) -> bool:
    async with gate:
        async with sessionmaker() as session:
            target = await repo.delivery_target(session, row["id"])

        async def send() -> Attempt:
            if row["channel"] == "webhook":
                return await _post_webhook(client, row, target, alerts)
            return await _email_alert(smtp, row, target)

        return await run_delivery(sessionmaker, row, send, alerts)
