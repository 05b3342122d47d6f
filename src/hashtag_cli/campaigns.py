"""`hashtag-analysis campaign create|show|list`: campaign plans (as `/campaigns` serves them)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_cli.console import CliError, console, guard
from hashtag_cli.services import open_engine, running_services
from hashtag_core.campaigns import service as campaign_service
from hashtag_core.campaigns.schemas import CampaignCreate, CampaignPublic, CampaignsPage
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.platforms import Platform

__all__ = ["build", "render_campaign"]

T = TypeVar("T")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _run(begin: Callable[[], Settings], work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work` in one committed transaction on the configured (or embedded) database."""

    async def run(settings: Settings) -> T:
        async with open_engine(settings) as engine, create_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result

    with running_services(begin(), migrate_embedded=True) as settings:
        return asyncio.run(run(settings))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.0%}"


def render_campaign(campaign: CampaignPublic) -> Table:
    """The plan and review as one table: a row per hashtag, slot and review figure."""
    plan = campaign.plan
    table = Table(
        "what", "where", "item", "estimate", "95% interval", "posts", "verdict",
        title=f"{campaign.name} · {campaign.goal.value} · {campaign.starts_on} to "
        f"{campaign.ends_on} · evidence {plan.evidence_posts:,} posts ({plan.window.value})",
        caption=plan.caveat,
    )  # fmt: skip
    for section in plan.platforms:
        where = section.platform.value + (f" · {section.account}" if section.account else "")
        for what, items in (
            ("use", section.use),
            ("test", section.worth_testing),
            ("avoid", section.avoid),
        ):
            for i in items:
                interval = f"{_pct(i.expected_low)} to {_pct(i.expected_high)}"
                table.add_row(
                    what, where, f"#{i.hashtag}", _pct(i.expected_lift), interval,
                    str(i.posts), i.verdict,
                )  # fmt: skip
        if section.note:
            table.add_row("note", where, section.note, "", "", "", "")
    for s in plan.slots:
        when = f"{_WEEKDAYS[s.weekday - 1]} {s.hour:02d}:00 (#{s.rank})"
        interval = f"{_pct(s.score_low)} to {_pct(s.score_high)}"
        table.add_row(
            "slot", s.account, when, _pct(s.score), interval, str(s.posts), s.verdict or "–"
        )
    for h in plan.related_hashtags:
        interval = f"{_pct(h.score_low)} to {_pct(h.score_high)}"
        table.add_row(
            "related", h.platform.value, f"#{h.hashtag} ({h.related_posts} posts like the brief)",
            _pct(h.score), interval, str(h.posts or "–"), h.verdict or "–",
        )  # fmt: skip
    review = campaign.review
    for label, f in (
        ("all posts", review.all_posts),
        ("with planned tags", review.with_planned),
        ("without planned tags", review.without_planned),
    ):
        interval = f"{_pct(f.ci_low)} to {_pct(f.ci_high)}"
        table.add_row(
            f"review ({review.status})", label, review.goal.value, _pct(f.lift), interval,
            str(f.posts), "",
        )  # fmt: skip
    return table


def _body(**fields: object) -> CampaignCreate:
    try:
        return CampaignCreate.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise CliError(f"{name}: {first['msg']}") from None


def build(begin: Callable[[], Settings]) -> typer.Typer:
    """The `campaign` sub-app; `begin` reads the settings and sets up logging."""
    app = typer.Typer(
        name="campaign",
        help="Campaign plans: hashtags to use per platform, slots, what to avoid; the review.",
        no_args_is_help=True,
    )

    @app.command()
    def create(
        name: Annotated[str, typer.Argument(help="The campaign's name.")],
        starts_on: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
        ends_on: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD.")],
        goal: Annotated[Goal, typer.Option(help="What it should raise.")] = Goal.ENGAGEMENT,
        platform: Annotated[
            list[Platform] | None, typer.Option(help="A platform it covers (repeatable).")
        ] = None,
        account: Annotated[
            list[str] | None, typer.Option(help="An account it covers (repeatable).")
        ] = None,
        brief: Annotated[str | None, typer.Option(help="What it is about.")] = None,
        window: Annotated[Window, typer.Option(help="Evidence from.")] = Window.ALL,
    ) -> None:
        """Make and store a campaign plan, and print it."""
        with guard():
            body = _body(
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
                goal=goal,
                platforms=platform or [],
                accounts=account or [],
                brief=brief,
                window=window,
            )

            async def work(session: AsyncSession) -> CampaignPublic:
                return await campaign_service.create_campaign(session, body)

            made = _run(begin, work)
            console.print(render_campaign(made))
            console.print(f"stored as campaign {made.id}", highlight=False)

    @app.command()
    def show(
        campaign_id: Annotated[int, typer.Argument(min=1, help="The campaign's id.")],
        csv: Annotated[bool, typer.Option("--csv", help="Print the plan as CSV.")] = False,
        today: Annotated[
            str | None, typer.Option(help="Review as of this day (YYYY-MM-DD; default today).")
        ] = None,
    ) -> None:
        """Print a stored plan and its review (or the plan as CSV)."""
        with guard():
            day = date.fromisoformat(today) if today else None

            async def work(session: AsyncSession) -> CampaignPublic:
                return await campaign_service.get_campaign(session, campaign_id, today=day)

            found = _run(begin, work)
            if csv:
                sys.stdout.write(campaign_service.plan_csv(found))
            else:
                console.print(render_campaign(found))

    @app.command("list")
    def list_() -> None:
        """List the stored campaigns, newest first."""
        with guard():

            async def work(session: AsyncSession) -> CampaignsPage:
                return await campaign_service.campaigns_page(session, cursor=None, limit=200)

            page = _run(begin, work)
            table = Table("id", "name", "goal", "dates", "accounts")
            for c in page.items:
                table.add_row(
                    str(c.id), c.name, c.goal.value, f"{c.starts_on} to {c.ends_on}",
                    ", ".join(a.handle for a in c.accounts),
                )  # fmt: skip
            console.print(table)

    return app
