"""`hashtag-analysis keys create|list|revoke`: API keys with scopes, stored only as hashes.

The plaintext of a key is printed once, by `create`, on stdout (so `$(...)` can capture it);
everything else goes to stderr. Scopes nest: admin > write > read. Keys in HASHTAG_API_KEYS
(and the one `up` generates) are bootstrap keys with every scope and are not listed here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_cli.console import CliError, console, err_console, guard
from hashtag_cli.services import open_engine, running_services
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.errors import HashtagError
from hashtag_core.keys import service as key_service
from hashtag_core.keys.schemas import ApiKeyPublic, CreatedKey, Scope

__all__ = ["build", "parse_duration", "parse_expiry"]

T = TypeVar("T")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str) -> timedelta:
    """'30d', '12h', '2w', '90m' as a timedelta (ValueError otherwise)."""
    found = _DURATION.match(value)
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"invalid duration {value!r}: use a number and m, h, d or w, e.g. 30d")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def parse_expiry(value: str) -> datetime:
    """'2027-01-01' (midnight UTC) or an ISO date-time (UTC if it names no zone)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"invalid date {value!r}: use YYYY-MM-DD or an ISO date-time, e.g. 2027-01-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _run(begin: Callable[[], Settings], work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work` in one committed transaction on the configured (or embedded) database."""

    async def run(settings: Settings) -> T:
        async with open_engine(settings) as engine, create_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result

    with running_services(begin(), migrate_embedded=True) as settings:
        try:
            return asyncio.run(run(settings))
        except HashtagError as exc:
            raise CliError(exc.message) from None


def build(begin: Callable[[], Settings]) -> typer.Typer:
    """The `keys` sub-app; `begin` reads the settings and sets up logging."""
    app = typer.Typer(
        name="keys",
        help="API keys with scopes (read < write < admin), stored only as hashes.",
        no_args_is_help=True,
    )

    @app.command()
    def create(
        name: Annotated[
            str, typer.Argument(metavar="NAME", help="Unique name, e.g. dashboard or etl-nightly.")
        ],
        scope: Annotated[
            list[Scope],
            typer.Option(
                "--scope",
                help="read, write or admin (repeatable; admin includes write includes read).",
            ),
        ],
        expires_in: Annotated[
            str | None,
            typer.Option(metavar="DURATION", help="Expire after e.g. 90m, 12h, 30d or 2w."),
        ] = None,
        expires: Annotated[
            str | None,
            typer.Option(metavar="DATE", help="Expire at YYYY-MM-DD (UTC) or an ISO date-time."),
        ] = None,
    ) -> None:
        """Create a key and print it once: it is stored only as a hash."""
        with guard():
            if expires_in and expires:
                raise CliError("give --expires-in or --expires, not both")
            try:
                expires_at = (
                    datetime.now(UTC) + parse_duration(expires_in)
                    if expires_in
                    else parse_expiry(expires)
                    if expires
                    else None
                )
            except ValueError as exc:
                raise CliError(str(exc)) from None

            async def work(session: AsyncSession) -> CreatedKey:
                return await key_service.create_key(
                    session, name=name, scopes=scope, expires_at=expires_at
                )

            created = _run(begin, work)
            info = created.info
            err_console.print(
                f"created key {info.name!r} ({info.prefix}), scopes "
                f"{', '.join(info.scopes)}, expires {_when(info.expires_at)}",
                highlight=False,
            )
            console.print(created.plaintext, highlight=False, markup=False)
            err_console.print(
                "[bold yellow]warning:[/] copy this key now: it is stored only as a hash "
                "and will not be shown again."
            )

    @app.command("list")
    def list_() -> None:
        """List keys: name, prefix, scopes, dates and status (never the key itself)."""
        with guard():

            async def work(session: AsyncSession) -> list[ApiKeyPublic]:
                return await key_service.list_keys(session)

            found = _run(begin, work)
            if not found:
                err_console.print(
                    "no API keys stored; make one with 'hashtag-analysis keys create'"
                )
                return
            now = datetime.now(UTC)
            table = Table(
                "name", "prefix", "scopes", "created", "expires", "last used", "status",
                caption="Keys in HASHTAG_API_KEYS (every scope) are not listed.",
            )  # fmt: skip
            for key in found:
                status = key.status(now)
                style = {"active": "green", "expired": "yellow", "revoked": "red"}[status]
                table.add_row(
                    key.name,
                    key.prefix,
                    ", ".join(key.scopes),
                    _when(key.created_at),
                    _when(key.expires_at),
                    _when(key.last_used_at),
                    f"[{style}]{status}[/]",
                )
            console.print(table)

    @app.command()
    def revoke(
        ref: Annotated[str, typer.Argument(metavar="NAME_OR_PREFIX", help="e.g. hk_ab12cd34.")],
    ) -> None:
        """Revoke a key: requests with it are refused (403) from now on."""
        with guard():

            async def work(session: AsyncSession) -> tuple[ApiKeyPublic, bool]:
                return await key_service.revoke_key(session, ref)

            key, already = _run(begin, work)
            if already:
                console.print(
                    f"{key.name!r} ({key.prefix}) was already revoked at {_when(key.revoked_at)}"
                )
            else:
                console.print(f"revoked {key.name!r} ({key.prefix})")

    return app
