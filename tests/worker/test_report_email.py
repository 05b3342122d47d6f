"""Scheduled report end to end: the worker's job builds the report of a schedule and sends it
through SMTP to a real local server (aiosmtpd on loopback); the message's figures equal the
API's, its CSV attachment is the API's CSV, and a second run sends nothing again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hashtag_api.main import create_app
from hashtag_api.queue import ArqJobQueue
from hashtag_core.aggregates import service as aggregate_service
from hashtag_core.alerts.report import MOVERS, period_of
from hashtag_core.alerts.settings import SmtpSettings
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo import DemoConfig
from hashtag_core.demo.load import load_demo
from hashtag_worker import jobs
from hashtag_worker.resources import RESOURCES_KEY, WorkerResources
from tests.helpers import API_KEY, AUTH, wipe

END = datetime(2026, 1, 1, tzinfo=UTC)
RECIPIENTS = ["analyst@example.com", "lead@example.com"]


@pytest.fixture
async def loaded(engine, arq_redis, database_url) -> AsyncIterator[httpx.AsyncClient]:
    """Committed demo data, recomputed at END; the API on real sessions over it."""
    await wipe(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        result = await load_demo(
            session,
            ArqJobQueue(arq_redis),
            DemoConfig(posts=3000, days=180, end=END),
            batch_rows=3000,
        )
        await session.commit()
    assert result.inserted == 3000
    await aggregate_service.recompute(engine, now=END, force=True)
    app = create_app(
        Settings(database_url=database_url, redis_url="redis://unused", api_keys=API_KEY)
    )
    app.state.engine, app.state.arq, app.state.sessionmaker = engine, arq_redis, sessionmaker
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client
    finally:
        await wipe(engine)
        await arq_redis.flushdb()


class _Cells(HTMLParser):
    """Rows of the report's tables: (section, key) -> {field: data-value}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[dict[str, str]]] = {}
        self._row: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "data-section" in found:
            self._row = {}
            self.rows.setdefault(found["data-section"] or "", []).append(self._row)
        elif tag == "td" and self._row is not None:
            self._row[found["data-field"] or ""] = found["data-value"] or ""


def _same(shown: str, value: Any) -> bool:
    if value is None:
        return shown == ""
    if isinstance(value, float):
        return float(shown) == value
    return shown == str(value)


async def test_weekly_report_arrives_with_the_apis_figures(
    loaded, smtp_server, engine, arq_redis, database_url
):
    inbox, port = smtp_server, smtp_server.port
    created = await loaded.post(
        "/report-schedules",
        json={"name": "Weekly", "recipients": RECIPIENTS, "cadence": "weekly", "window": "all"},
        headers=AUTH,
    )
    assert created.status_code == 201, created.text
    settings = Settings(
        database_url=database_url,
        redis_url="redis://unused",
        smtp=SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="r@example.com"),
        report_hour_utc=0,
    )
    ctx = {
        RESOURCES_KEY: WorkerResources(settings, engine, create_sessionmaker(engine), {}, {}),
        "redis": arq_redis,
    }
    periods = {period_of("weekly", datetime.now(UTC))[0]}
    assert await jobs.send_reports(ctx) == {"delivered": 2, "failed": 0}
    periods.add(period_of("weekly", datetime.now(UTC))[0])
    # Once per period and recipient: a second run sends nothing.
    assert await jobs.send_reports(ctx) == {"delivered": 0, "failed": 0}
    assert sorted(r for rcpt, _ in inbox.messages for r in rcpt) == RECIPIENTS

    report = (
        await loaded.get("/reports/hashtags", params={"window": "all", "min_posts": 1})
    ).json()
    recs = (
        await loaded.get("/recommendations", params={"goal": "engagement", "window": "all"})
    ).json()
    csv_text = (
        await loaded.get("/reports/hashtags.csv", params={"window": "all", "min_posts": 1})
    ).text
    by_name = {item["hashtag"]: item for item in report["items"]}
    rising = sorted(
        (i for i in report["items"] if i["momentum_direction"] == "rising"),
        key=lambda i: (-i["momentum_change"], i["key"]),
    )[:MOVERS]
    falling = sorted(
        (i for i in report["items"] if i["momentum_direction"] == "falling"),
        key=lambda i: (i["momentum_change"], i["key"]),
    )[:MOVERS]
    assert rising or falling, "the demo should have some momentum to report"
    assert recs["use"] or recs["worth_testing"] or recs["avoid"]

    for _, raw in inbox.messages:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] in {f"Weekly: hashtag report {p}" for p in periods}
        assert message["From"] == "r@example.com"
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None
        cells = _Cells()
        cells.feed(html_part.get_content())
        for section, expected in (("rising", rising), ("falling", falling)):
            shown = cells.rows.get(section, [])
            assert [r["hashtag"] for r in shown] == [i["hashtag"] for i in expected]
            for row in shown:
                item = by_name[row["hashtag"]]
                for name, value in row.items():
                    assert _same(value, item[name]), (section, name, value, item[name])
        for section in ("use", "worth_testing", "avoid"):
            shown = cells.rows.get(section, [])
            assert [r["hashtag"] for r in shown] == [i["hashtag"] for i in recs[section]]
            for row, item in zip(shown, recs[section], strict=True):
                for name, value in row.items():
                    assert _same(value, item[name]), (section, name, value, item[name])
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == "hashtag-report-all.csv"
        assert attachment.get_content_type() == "text/csv"
        assert attachment.get_payload(decode=True).decode() == csv_text

    async with engine.connect() as conn:
        log = (
            await conn.execute(
                text("SELECT recipient, status, attempts FROM delivery ORDER BY recipient")
            )
        ).all()
    assert [tuple(r) for r in log] == [(r, "delivered", 1) for r in RECIPIENTS]
