"""The `hashtag-analysis` command line: one typer app, one function per command.

Every command reads its configuration from the environment and `.env` (see `.env.example`);
where HASHTAG_DATABASE_URL / HASHTAG_REDIS_URL are unset it starts embedded servers under
HASHTAG_DATA_DIR. The work itself lives in the modules beside this one.
"""

from __future__ import annotations

import asyncio
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import ValidationError

from hashtag_cli import campaigns, importing, keys, ops
from hashtag_cli import openapi as openapi_file
from hashtag_cli.console import EXIT_FAILURE, CliError, console, err_console, guard, setup
from hashtag_cli.demo import demo_config, load
from hashtag_cli.serve import serve_api, serve_worker
from hashtag_cli.services import migrate as migrate_to
from hashtag_cli.services import open_engine, running_services
from hashtag_cli.up import run_up
from hashtag_core.aggregates.service import recompute as recompute_aggregates
from hashtag_core.config import Settings, get_settings
from hashtag_core.hashtags.schemas import Window
from hashtag_core.ingest.mappings import MAPPINGS
from hashtag_core.ingest.parsers import ImportFormat
from hashtag_core.migrate import downgrade as downgrade_to
from hashtag_core.platforms import Platform

__all__ = ["app"]

app = typer.Typer(
    name="hashtag-analysis",
    help="Which hashtags drive engagement, when, and which to use next.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _begin() -> Settings:
    """The settings (environment and .env), with logging set up at their level."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HASHTAG_" + "__".join(str(part) for part in first["loc"]).upper()
        raise CliError(f"invalid configuration: {name}: {first['msg']}") from exc
    setup(settings)
    return settings


app.add_typer(keys.build(_begin), name="keys")
app.add_typer(campaigns.build(_begin), name="campaign")


def _version(value: bool) -> None:
    if value:
        console.print(f"hashtag-analysis {package_version('hashtag-analysis')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Which hashtags drive engagement, when, and which to use next."""


def _mapping(value: str | None) -> str | None:
    if value is not None and value != importing.AUTO_MAPPING and value not in MAPPINGS:
        known = ", ".join([importing.AUTO_MAPPING, *sorted(MAPPINGS)])
        raise typer.BadParameter(f"unknown mapping {value!r}; use one of: {known}")
    return value


def _timezone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise typer.BadParameter(
                f"unknown time zone {value!r}; use an IANA name such as Europe/London"
            ) from None
    return value


@app.command()
def up() -> None:
    """Run everything: servers, migrations, demo data, the API and the worker. Ctrl-C stops.

    Starts embedded PostgreSQL/Redis under HASHTAG_DATA_DIR for unset URLs, makes an API key if
    none is set and, on an empty database, collects HASHTAG_DEMO_POSTS demo posts from a local
    platform sandbox (python -m hashtag_sandbox) through the worker, as from real accounts.
    """
    with guard():
        run_up(_begin())


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default: HASHTAG_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: HASHTAG_API_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
) -> None:
    """Run only the API (uvicorn), after migrating the database."""
    with guard():
        settings = _begin()
        serve_api(
            settings,
            host=host or settings.api_host,
            port=port or settings.api_port,
            workers=workers,
        )


@app.command()
def worker() -> None:
    """Run only the background worker (arq): recomputes, catch-up, re-fetches."""
    with guard():
        serve_worker(_begin())


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Upgrade to this revision.")] = "head",
    downgrade: Annotated[
        str | None, typer.Option(help="Downgrade to this revision instead (e.g. base).")
    ] = None,
) -> None:
    """Bring the database schema to the latest revision (or --revision / --downgrade)."""
    with guard(), running_services(_begin()) as settings:
        assert settings.database_url
        if downgrade is None:
            migrate_to(settings, revision)
        else:
            downgrade_to(settings.database_url, downgrade)
        console.print(f"database at revision {downgrade or revision}")


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="Files to import.", show_default=False)
    ],
    format: Annotated[
        ImportFormat | None,
        typer.Option("--format", help="Default: from the file extension."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            callback=_mapping,
            metavar="NAME",
            help=f"Dataset export mapping: auto or one of {', '.join(sorted(MAPPINGS))}.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            callback=_timezone, metavar="IANA", help="IANA zone for records that name none."
        ),
    ] = None,
    batch_rows: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help="Rows per transaction (HASHTAG_IMPORT_BATCH_ROWS)."),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any row is rejected.")] = False,
) -> None:
    """Stream files of posts (NDJSON, CSV, JSON array, or dataset exports) into the database."""
    with guard():
        settings = _begin()
        sources = importing.plan_sources(files, format, mapping)
        options = importing.ImportOptions(
            batch_rows=batch_rows or settings.import_batch_rows,
            max_errors=settings.max_reported_errors,
            timezone=timezone,
        )
        with running_services(settings, migrate_embedded=True) as resolved:
            outcomes = asyncio.run(importing.run_import(resolved, sources, options))
        rejected = sum(o.result.rejected for o in outcomes)
        if strict and rejected:
            raise CliError(f"{rejected:,} rows were rejected (--strict)")


@app.command()
def recompute(
    force: Annotated[bool, typer.Option(help="Recompute even if no data changed.")] = False,
) -> None:
    """Recompute the figures now, in this process (the worker normally does this)."""

    async def run(settings: Settings) -> None:
        # A full pass over a large history takes a while: say so while it runs.
        with err_console.status("recomputing the figures ...", spinner="dots"):
            async with open_engine(settings) as engine:
                outcome = await recompute_aggregates(engine, force=force)
        console.print(
            f"recompute: {outcome.status}, data version {outcome.computed_version}, "
            f"{outcome.passes} pass(es), {outcome.duration_ms or 0} ms, rows {outcome.rows or {}}"
        )

    with guard(), running_services(_begin(), migrate_embedded=True) as settings:
        asyncio.run(run(settings))


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Loopback port.")] = 8900,
    posts: Annotated[int, typer.Option(min=0, help="Demo posts it serves.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same accounts and posts.")] = 2026,
    days: Annotated[int, typer.Option(min=2, help="Days of history.")] = 365,
    latency_ms: Annotated[
        int, typer.Option(min=0, help="Added to every request (to see concurrency).")
    ] = 0,
    host: Annotated[
        str, typer.Option(help="Listen address; loopback unless on a private network.")
    ] = "127.0.0.1",
) -> None:
    """Serve the platform sandbox: X, Instagram, Facebook and LinkedIn's HTTP formats on
    loopback, with demo data (point HASHTAG_COLLECT__*_BASE_URL at it)."""
    from hashtag_sandbox.__main__ import main as sandbox_main

    with guard():
        sandbox_main(
            [
                f"--port={port}",
                f"--posts={posts}",
                f"--seed={seed}",
                f"--days={days}",
                f"--latency-ms={latency_ms}",
                f"--host={host}",
            ]
        )


@app.command()
def collect(
    accounts: Annotated[
        list[str] | None,
        typer.Argument(help="Account ids or handles (default: every account with a token)."),
    ] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="Hand the accounts to the worker instead.")
    ] = False,
) -> None:
    """Collect posts, metrics and followers from the platforms now, in this process (or
    --queue them for the worker). Exit code 1 when any account failed."""
    with guard(), running_services(_begin(), migrate_embedded=True) as settings:
        lines = asyncio.run(ops.collect(settings, accounts or [], queue=queue))
        failed = [line for line in lines if line.error]
        if failed:
            names = ", ".join(line.account.handle for line in failed)
            raise CliError(f"{len(failed)} of {len(lines)} accounts failed: {names}")


@app.command()
def report(
    platform: Annotated[Platform | None, typer.Option(help="Only this platform.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account (handle).")] = None,
    window: Annotated[Window, typer.Option(help="How far back.")] = Window.D90,
    min_posts: Annotated[int, typer.Option(min=1, help="Hide hashtags used less.")] = 1,
    fmt: Annotated[
        str, typer.Option("--format", help="table or csv (csv has every figure).")
    ] = "table",
    limit: Annotated[int, typer.Option(min=0, help="Table rows (0 = all).")] = 30,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here, not stdout.")
    ] = None,
) -> None:
    """Print the hashtag report (ranked by the hashtag estimate) as a table or CSV."""
    if fmt not in ("table", "csv"):
        raise typer.BadParameter(f"--format must be table or csv, not {fmt!r}")
    with guard(), running_services(_begin(), migrate_embedded=True) as settings:
        page = asyncio.run(
            ops.report(
                settings, platform=platform, account=account, window=window, min_posts=min_posts
            )
        )
        text = ops.print_report(page, fmt="csv" if fmt == "csv" else "table", limit=limit)
        if text is not None:
            if output:
                output.write_text(text, encoding="utf-8")
                console.print(f"wrote {len(page.items):,} hashtags to {output}", highlight=False)
            else:
                sys.stdout.write(text)


@app.command()
def demo(
    posts: Annotated[
        int | None, typer.Option(min=1, help="How many posts (HASHTAG_DEMO_POSTS).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; same seed, same posts.")] = None,
) -> None:
    """Import the seeded demo posts (LEGOLAND-style parks) straight into the database."""
    with guard(), running_services(_begin(), migrate_embedded=True) as settings:
        config = demo_config(posts or settings.demo_posts, seed)
        result = asyncio.run(load(settings, config))
        console.print(
            f"demo: received {result.received:,} · inserted {result.inserted:,} · "
            f"updated {result.updated:,} · rejected {result.rejected:,}"
        )
        if result.job_id and not result.job_queued:
            console.print("recompute not queued (Redis unreachable); the worker will catch up")


@app.command()
def openapi(
    output: Annotated[
        Path, typer.Option(help="Where to write the document.")
    ] = openapi_file.DEFAULT_PATH,
    check: Annotated[
        bool, typer.Option(help="Only check: exit 1 if the file differs from the app.")
    ] = False,
) -> None:
    """Write the API's OpenAPI document to openapi.json (commit it; clients are generated
    from it), or --check that the committed one is current. Needs no servers."""
    with guard():
        if check:
            current = openapi_file.render(openapi_file.openapi_document())
            found = output.read_text(encoding="utf-8") if output.exists() else ""
            if found != current:
                raise CliError(
                    f"{output} is out of date: run {openapi_file.COMMAND}",
                    exit_code=EXIT_FAILURE,
                )
            console.print(f"{output} is up to date")
            return
        changed = openapi_file.write(output)
        console.print(f"{'wrote' if changed else 'unchanged:'} {output}")
