"""The work behind `collect` and `report`: the same services the API and worker use.

`collect` runs the connectors in this process (one shared client per platform, accounts
concurrently, a progress bar per account) or, with `--queue`, hands the accounts to the
worker. `report` prints the hashtag report as a table or as CSV (the CSV the API serves, text
cells neutralised against spreadsheet formulas).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_api.queue import ArqJobQueue
from hashtag_cli.console import CliError, console
from hashtag_cli.services import open_engine, open_queue
from hashtag_core.accounts import service as account_service
from hashtag_core.accounts.schemas import AccountPublic, CollectRequest
from hashtag_core.collect.registry import Connector, build_connectors, make_clients
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.errors import HashtagError
from hashtag_core.hashtags.schemas import Window
from hashtag_core.insights import service as insight_service
from hashtag_core.insights.schemas import ReportPage, ReportRow
from hashtag_core.platforms import Platform
from hashtag_core.sync import service as sync_service
from hashtag_core.sync.service import SyncFailed, SyncOutcome

__all__ = ["CollectLine", "collect", "print_report", "report"]

ReportFormat = Literal["table", "csv"]


@dataclass(frozen=True)
class CollectLine:
    """One account's outcome: the sync's, or the error that stopped it."""

    account: AccountPublic
    outcome: SyncOutcome | None
    error: str | None = None


def _pick(found: Sequence[AccountPublic], wanted: Sequence[str]) -> list[AccountPublic]:
    """The accounts named by id, handle or platform/handle (all collectable ones when none
    are named)."""
    if not wanted:
        chosen = [a for a in found if a.collect_enabled]
        if not chosen:
            raise CliError(
                "no account can be collected: register one with a token_ref (POST /accounts) first"
            )
        return chosen
    chosen = []
    for name in wanted:
        wanted_name = name.lower()
        matches = [
            a
            for a in found
            if wanted_name in (str(a.id), a.handle.lower(), f"{a.platform}/{a.handle}".lower())
        ]
        if not matches:
            raise CliError(f"no account {name!r}; 'GET /accounts' lists them")
        if len(matches) > 1:
            raise CliError(
                f"{name!r} names several accounts; use platform/handle or the account id"
            )
        if not matches[0].collect_enabled:
            raise CliError(f"account {name!r} has no token_ref, so it cannot be collected")
        chosen.append(matches[0])
    return chosen


async def collect(settings: Settings, wanted: Sequence[str], *, queue: bool) -> list[CollectLine]:
    """Collect the named accounts now in this process (or queue them for the worker)."""
    async with open_engine(settings) as engine:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            accounts = _pick(await account_service.list_accounts(session), wanted)
        async with open_queue(settings) as jobs:
            if queue:
                async with sessionmaker() as session:
                    for account in accounts:
                        started = await account_service.request_collection(
                            session, CollectRequest(account_id=account.id), queue=jobs
                        )
                        state = "queued" if started.job_queued else "NOT queued (Redis down)"
                        console.print(f"{account.handle}: {state} {started.job_ids[0]}")
                return []
            clients = make_clients(settings.collect)
            connectors = build_connectors(settings.collect, clients)
            try:
                return await _run_all(sessionmaker, accounts, connectors, settings, jobs)
            finally:
                await asyncio.gather(*(client.aclose() for client in clients.values()))


async def _run_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    accounts: list[AccountPublic],
    connectors: dict[Platform, Connector],
    settings: Settings,
    jobs: ArqJobQueue,
) -> list[CollectLine]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )

    async def one(account: AccountPublic) -> CollectLine:
        task = progress.add_task(f"{account.platform}/{account.handle}", total=1, state="…")
        async with sessionmaker() as session:
            try:
                outcome = await sync_service.sync_account(
                    session,
                    account.id,
                    connector=connectors[Platform(account.platform)],
                    settings=settings,
                    queue=jobs,
                    now=datetime.now(UTC),
                )
                await session.commit()
            except (SyncFailed, HashtagError) as exc:
                progress.update(task, completed=1, state=f"[red]failed: {exc}")
                return CollectLine(account, None, str(exc))
        state = (
            f"{outcome.status}: {outcome.inserted:,} new, {outcome.updated:,} updated, "
            f"{outcome.pages} pages"
        )
        progress.update(task, completed=1, state=state)
        return CollectLine(account, outcome)

    with progress:
        return list(await asyncio.gather(*(one(a) for a in accounts)))


async def report(
    settings: Settings,
    *,
    platform: Platform | None,
    account: str | None,
    window: Window,
    min_posts: int,
) -> ReportPage:
    """The hashtag report of the scope, as GET /reports/hashtags serves it."""
    async with open_engine(settings) as engine:
        async with create_sessionmaker(engine)() as session:
            return await insight_service.hashtag_report(
                session, platform=platform, account=account, window=window, min_posts=min_posts
            )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.0%}"


def _sentiment(row: ReportRow) -> str:
    """Mean sentiment, or "not scored" where too few of the posts have a score."""
    if row.sentiment_status == "not scored" or row.sentiment_mean is None:
        return "not scored"
    return f"{row.sentiment_mean:+.2f}"


def print_report(page: ReportPage, *, fmt: ReportFormat, limit: int | None) -> str | None:
    """Print the report as a table, or return it as CSV text."""
    if fmt == "csv":
        return insight_service.report_csv(page)
    rows = page.items[:limit] if limit else page.items
    scope = page.account or page.platform or "all accounts"
    table = Table(
        title=f"Hashtags · {scope} · window {page.window.value} · computed "
        f"{page.computed_at:%Y-%m-%d %H:%M} UTC"
        if page.computed_at
        else f"Hashtags · {scope} · window {page.window.value}",
        caption="effect = engagement against the account's own median, allowing for the "
        "hashtags used with it and the posting time, shrunk by its evidence; verdict sure "
        "across the list at a 5% false sign rate; raw lift = unadjusted; sentiment = mean "
        "score, 'not scored' where under half the posts are in a language we score "
        "(docs/metrics.md)",
    )
    for name, justify in (
        ("hashtag", "left"),
        ("posts", "right"),
        ("effect", "right"),
        ("95% interval", "right"),
        ("verdict", "left"),
        ("q", "right"),
        ("raw lift", "right"),
        ("avg engagement", "right"),
        ("sentiment", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        interval = (
            f"{_pct(row.engagement_score_ci_low)} … {_pct(row.engagement_score_ci_high)}"
            if row.engagement_score_ci_low is not None
            else "–"
        )
        table.add_row(
            "#" + row.hashtag,
            f"{row.posts:,}",
            _pct(row.engagement_score),
            interval,
            (row.engagement_verdict or "–").replace("_", " "),
            "–" if row.engagement_qvalue is None else f"{row.engagement_qvalue:.3f}",
            _pct(row.engagement_lift),
            "–" if row.avg_engagement is None else f"{row.avg_engagement:,.1f}",
            _sentiment(row),
        )
    console.print(table)
    if limit and len(page.items) > limit:
        console.print(f"{len(page.items) - limit:,} more hashtags: --limit 0 shows all")
    return None
