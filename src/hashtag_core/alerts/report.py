"""Scheduled reports: an HTML email with the top movers (momentum) and the recommendations of
the schedule's scope, window and goal, and the hashtag report's CSV attached. The figures are
those of `GET /reports/hashtags` and `GET /recommendations` (the same service functions)."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.aggregates.repository import AGGREGATE_TABLES
from hashtag_core.aggregates.staging import lock_for_read
from hashtag_core.alerts import repository as repo
from hashtag_core.alerts.delivery import Attempt, run_delivery
from hashtag_core.alerts.mail import build_message, send_message
from hashtag_core.alerts.settings import AlertSettings, SmtpSettings
from hashtag_core.errors import HashtagError
from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.insights import service as insight_service
from hashtag_core.insights.schemas import RecommendationItem, Recommendations, ReportPage, ReportRow
from hashtag_core.platforms import Platform

__all__ = [
    "MOVERS",
    "RECOMMENDATION_LIMIT",
    "RECOMMENDATION_MIN_POSTS",
    "ReportContent",
    "build_report",
    "period_of",
    "send_due_reports",
    "top_movers",
]

logger = logging.getLogger(__name__)
#: Rising and falling hashtags shown (each).
MOVERS = 5
#: The recommendations quoted: `GET /recommendations`' defaults.
RECOMMENDATION_MIN_POSTS = 10
RECOMMENDATION_LIMIT = 5


@dataclass(frozen=True)
class ReportContent:
    """A built report: subject, HTML and plain text, and the CSV attachment."""

    subject: str
    html: str
    text: str
    csv_name: str
    csv: str


def period_of(cadence: str, now: datetime) -> tuple[str, datetime]:
    """The period `now` falls in: its label (ISO week `2026-W49`, month `2026-12`) and start."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == "weekly":
        year, week, weekday = day.isocalendar()
        return f"{year}-W{week:02d}", day - timedelta(days=weekday - 1)
    return f"{day.year}-{day.month:02d}", day.replace(day=1)


def top_movers(page: ReportPage, limit: int = MOVERS) -> tuple[list[ReportRow], list[ReportRow]]:
    """The hashtags whose momentum is reliably rising (largest change first) and falling
    (largest drop first), at most `limit` each."""
    rising = [r for r in page.items if r.momentum_direction == "rising"]
    falling = [r for r in page.items if r.momentum_direction == "falling"]
    rising.sort(key=lambda r: (-(r.momentum_change or 0.0), r.key))
    falling.sort(key=lambda r: (r.momentum_change or 0.0, r.key))
    return rising[:limit], falling[:limit]


@asynccontextmanager
async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A read-only session on one snapshot of the aggregates, as the API's reads use."""
    async with sessionmaker() as session:
        conn = await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        await lock_for_read(conn, list(AGGREGATE_TABLES))
        yield session
        await session.commit()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}%"


def _cell(field: str, value: Any, shown: str | None = None) -> str:
    raw = "" if value is None else repr(value) if isinstance(value, float) else str(value)
    text = shown if shown is not None else raw
    return f'<td data-field="{field}" data-value="{html.escape(raw)}">{html.escape(text)}</td>'


def _movers_table(section: str, rows: list[ReportRow]) -> str:
    if not rows:
        return f'<p data-section="{section}">No hashtag is reliably {section}.</p>'
    head = (
        "<tr><th>Hashtag</th><th>Change</th><th>95% interval</th><th>Low</th>"
        "<th>Posts (last 30 d)</th><th>Posts (30 d before)</th></tr>"
    )
    body = "".join(
        f'<tr data-section="{section}" data-key="{html.escape(r.key)}">'
        + _cell("hashtag", r.hashtag, "#" + r.hashtag)
        + _cell("momentum_change", r.momentum_change, _pct(r.momentum_change))
        + _cell("momentum_ci_high", r.momentum_ci_high, _pct(r.momentum_ci_high))
        + _cell("momentum_ci_low", r.momentum_ci_low, _pct(r.momentum_ci_low))
        + _cell("momentum_recent_posts", r.momentum_recent_posts)
        + _cell("momentum_previous_posts", r.momentum_previous_posts)
        + "</tr>"
        for r in rows
    )
    return f'<table data-section="{section}">{head}{body}</table>'


def _recommendation_table(section: str, items: list[RecommendationItem]) -> str:
    if not items:
        return f'<p data-section="{section}">None.</p>'
    head = (
        "<tr><th>Hashtag</th><th>Expected lift</th><th>Low</th><th>High</th><th>q-value</th>"
        "<th>Verdict</th><th>Posts</th><th>Why</th></tr>"
    )
    body = "".join(
        f'<tr data-section="{section}" data-key="{html.escape(i.hashtag.casefold())}">'
        + _cell("hashtag", i.hashtag, "#" + i.hashtag)
        + _cell("expected_lift", i.expected_lift, _pct(i.expected_lift))
        + _cell("expected_low", i.expected_low, _pct(i.expected_low))
        + _cell("expected_high", i.expected_high, _pct(i.expected_high))
        + _cell("qvalue", i.qvalue, "–" if i.qvalue is None else f"{i.qvalue:.3f}")
        + _cell("verdict", i.verdict)
        + _cell("posts", i.posts)
        + _cell("reason", i.reason)
        + "</tr>"
        for i in items
    )
    return f'<table data-section="{section}">{head}{body}</table>'


def render(name: str, period: str, page: ReportPage, recs: Recommendations) -> tuple[str, str]:
    """The report's HTML and plain-text bodies."""
    rising, falling = top_movers(page)
    scope = recs.account or (str(recs.platform) if recs.platform else "all accounts")
    title = f"{name}: hashtag report {period}"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Scope: {html.escape(scope)} · window {recs.window.value} · goal "
        f"{recs.goal.value} · figures computed {recs.computed_at or 'never'}.</p>",
        "<h2>Top movers (last 30 days against the 30 before)</h2><h3>Rising</h3>",
        _movers_table("rising", rising),
        "<h3>Falling</h3>",
        _movers_table("falling", falling),
        f"<h2>Recommendations ({recs.goal.value})</h2><h3>Use</h3>",
        _recommendation_table("use", recs.use),
        "<h3>Worth testing</h3>",
        _recommendation_table("worth_testing", recs.worth_testing),
        "<h3>Avoid</h3>",
        _recommendation_table("avoid", recs.avoid),
        f'<p data-field="note">{html.escape(recs.note)}</p>' if recs.note else "",
        "<p>The attached CSV is the hashtag report (GET /reports/hashtags.csv); every figure is "
        "defined in docs/metrics.md.</p></body></html>",
    ]
    lines = [title, f"Scope: {scope}, window {recs.window.value}, goal {recs.goal.value}", ""]
    lines += [f"Rising: #{r.hashtag} {_pct(r.momentum_change)}" for r in rising]
    lines += [f"Falling: #{r.hashtag} {_pct(r.momentum_change)}" for r in falling]
    lines += [f"Use: #{i.hashtag} {_pct(i.expected_lift)} ({i.reason})" for i in recs.use]
    lines += [f"Avoid: #{i.hashtag} {_pct(i.expected_lift)}" for i in recs.avoid]
    return "".join(parts), "\n".join(lines) + "\n"


async def build_report(session: AsyncSession, schedule: Any, period: str) -> ReportContent:
    """The report of one schedule, from one snapshot of the aggregates."""
    platform = Platform(schedule["platform"]) if schedule["platform"] else None
    account = str(schedule["account_id"]) if schedule["account_id"] else None
    window = Window(schedule["window"])
    page = await insight_service.hashtag_report(
        session, platform=platform, account=account, window=window, min_posts=1
    )
    recs = await insight_service.recommendations(
        session,
        goal=Goal(schedule["goal"]),
        platform=platform,
        account=account,
        window=window,
        min_posts=RECOMMENDATION_MIN_POSTS,
        limit=RECOMMENDATION_LIMIT,
    )
    body_html, body_text = render(schedule["name"], period, page, recs)
    return ReportContent(
        subject=f"{schedule['name']}: hashtag report {period}",
        html=body_html,
        text=body_text,
        csv_name=f"hashtag-report-{window.value}.csv",
        csv=insight_service.report_csv(page),
    )


async def send_due_reports(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    smtp: SmtpSettings,
    alerts: AlertSettings,
    report_hour_utc: int,
    now: datetime,
) -> dict[str, int]:
    """Send each schedule's report for the current week/month to every recipient that has not
    had it (once the period is `report_hour_utc` hours old). Idempotent: a recipient's
    delivery of a period is logged once, under `report:<schedule>:<period>:<address>`."""
    counts = {"delivered": 0, "failed": 0}
    if not smtp.host:
        logger.warning("scheduled reports are not sent: HASHTAG_SMTP__HOST is not set")
        return counts
    async with sessionmaker() as session:
        schedules = await repo.list_schedules(session)
    for schedule in schedules:
        period, start = period_of(schedule["cadence"], now)
        if now < start + timedelta(hours=report_hour_utc):
            continue
        await _log_period(sessionmaker, schedule, period)
        async with sessionmaker() as session:
            claimed = await repo.claim_deliveries(
                session,
                now=now,
                lease_s=alerts.lease_s,
                limit=100,
                reports=True,
                schedule_id=schedule["id"],
            )
            await session.commit()
        if not claimed:
            continue
        try:
            async with snapshot(sessionmaker) as session:
                content: ReportContent | str = await build_report(session, schedule, period)
        except HashtagError as exc:
            content = exc.message
        for row in claimed:
            ok = await run_delivery(sessionmaker, row, _sender(smtp, row, content), alerts)
            counts["delivered" if ok else "failed"] += 1
    return counts


async def _log_period(
    sessionmaker: async_sessionmaker[AsyncSession], schedule: Any, period: str
) -> None:
    rows = [
        {
            "idempotency_key": f"report:{schedule['id']}:{period}:{email.casefold()}",
            "channel": "email",
            "kind": "report",
            "schedule_id": schedule["id"],
            "recipient": email,
            "subject": f"{schedule['name']}: hashtag report {period}"[:500],
        }
        for email in schedule["recipients"]
    ]
    async with sessionmaker() as session:
        await repo.insert_deliveries(session, rows)
        await session.commit()


def _sender(smtp: SmtpSettings, row: Any, content: ReportContent | str) -> Any:
    async def send() -> Attempt:
        if isinstance(content, str):  # the report could not be built (its scope is gone)
            return Attempt(False, error=content, retry=False)
        message = build_message(
            smtp,
            to=row["recipient"],
            subject=content.subject,
            text=content.text,
            html=content.html,
            attachments=[(content.csv_name, "text/csv", content.csv.encode())],
            idempotency_key=row["idempotency_key"],
        )
        await send_message(smtp, message)
        return Attempt(True)

    return send
