"""`hashtag-analysis up`: everything on one machine, from an empty folder to a running API.

Order: servers (embedded where no URL is set) -> migrations -> on an empty database, the
platform sandbox as the demo's data source (its accounts registered, a collection queued; see
`hashtag_cli.sandbox`) -> API key -> API and worker as child processes -> wait until ready,
collected and computed -> one block that says where everything is. SIGINT/SIGTERM stop the
children first (they still need the servers), then the embedded servers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

import httpx
from rich.panel import Panel
from rich.table import Table

from hashtag_cli.apikey import ApiKeys, resolve_api_keys
from hashtag_cli.console import CliError, console, err_console
from hashtag_cli.sandbox import (
    TOKEN_REF_PREFIX,
    DemoSource,
    RunningSandbox,
    demo_source,
    plan_sandbox,
    register_and_collect,
    wait_until_serving,
)
from hashtag_cli.serve import APP_FACTORY
from hashtag_cli.services import child_environment, migrate, running_services
from hashtag_cli.supervisor import Children, describe_exit
from hashtag_core.config import Settings

__all__ = ["api_argv", "base_url", "run_up", "worker_argv"]

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
COLLECT_TIMEOUT_S = 300.0
FIGURES_TIMEOUT_S = 120.0
_POLL_S = 0.5
_WATCH_S = 0.5


def base_url(settings: Settings) -> str:
    """Where the API answers, as a client on this machine reaches it."""
    host = settings.api_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}"


def api_argv(settings: Settings) -> list[str]:
    """uvicorn serving the app built from the environment's settings, logging as they say
    (the API logs each request itself, with its id: no uvicorn access log)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        APP_FACTORY,
        "--no-access-log",
        "--host",
        settings.api_host,
        "--port",
        str(settings.api_port),
        "--log-level",
        settings.log_level.lower(),
    ]


def worker_argv() -> list[str]:
    """The arq worker, through this CLI."""
    return [sys.executable, "-m", "hashtag_cli", "worker"]


def _check_port(host: str, port: int) -> None:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        raise CliError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "set HASHTAG_API_PORT to a free port or stop what is using it"
        ) from exc


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    # Ignore repeats so that the shutdown (children first, then servers) runs to the end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    previous = {s: signal.signal(s, _stop_requested) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _check_children(children: Children, doing: str) -> None:
    child = children.exited()
    if child is not None:
        assert child.process.returncode is not None
        raise CliError(
            f"the {child.name} {describe_exit(child.process.returncode)} {doing}; "
            "see its output above. Stopped everything"
        )


def _wait_until_ready(children: Children, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client, err_console.status("waiting for the API"):
        while True:
            _check_children(children, "before the API was ready")
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise CliError(
                    f"the API did not answer 200 on {url}/readyz within {READY_TIMEOUT_S:.0f} s; "
                    "see its output above. Stopped everything"
                )
            time.sleep(_POLL_S)


def _collecting(client: httpx.Client, url: str) -> tuple[int, int] | None:
    """(sandbox accounts synced at least once, all of them), or None if the API did not say."""
    try:
        response = client.get(f"{url}/accounts", params={"limit": 500})
        if response.status_code != 200:
            return None
        accounts = [
            a
            for a in response.json()["items"]
            if (a["token_ref"] or "").startswith(TOKEN_REF_PREFIX)
        ]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return sum(a["last_sync_at"] is not None for a in accounts), len(accounts)


def _reader(keys: ApiKeys, timeout_s: float) -> httpx.Client:
    """A client for our polls; it sends a key in case HASHTAG_READ_REQUIRES_KEY is set."""
    headers = {"Authorization": f"Bearer {keys.keys[0]}"} if keys.keys else {}
    return httpx.Client(timeout=timeout_s, headers=headers)


def _wait_for_collection(children: Children, url: str, keys: ApiKeys) -> bool:
    """Wait until every sandbox account has been collected once (True if they were)."""
    deadline = time.monotonic() + COLLECT_TIMEOUT_S
    with _reader(keys, 5.0) as client:
        with err_console.status("collecting the demo from the platform sandbox") as status:
            while time.monotonic() < deadline:
                _check_children(children, "while collecting the demo")
                found = _collecting(client, url)
                if found is not None and found[0] >= found[1]:
                    return True
                if found is not None:
                    status.update(
                        f"collecting the demo from the platform sandbox: {found[0]} of "
                        f"{found[1]} accounts"
                    )
                time.sleep(_POLL_S)
    return False


def _figures_pending(client: httpx.Client, url: str) -> bool:
    params: dict[str, str | int] = {"window": "all", "min_posts": 1, "limit": 1}
    try:
        page = client.get(f"{url}/hashtag-performance", params=params)
        return page.status_code != 200 or page.json().get("pending_version") is not None
    except httpx.HTTPError:
        return True


def _wait_for_figures(children: Children, url: str, keys: ApiKeys) -> bool:
    """Wait until the worker has computed the figures for the stored data (True if it did)."""
    deadline = time.monotonic() + FIGURES_TIMEOUT_S
    with _reader(keys, 5.0) as client:
        if not _figures_pending(client, url):
            return True
        with err_console.status("the worker is computing the figures"):
            while time.monotonic() < deadline:
                _check_children(children, "while computing the figures")
                time.sleep(_POLL_S)
                if not _figures_pending(client, url):
                    return True
    return False


def _key_lines(keys: ApiKeys, url: str) -> list[tuple[str, str]]:
    if keys.file is None:
        return [("API key", "the keys in HASHTAG_API_KEYS (writes need one)")]
    kept = "new; kept" if keys.created else "kept"
    return [
        ("API key", keys.keys[0]),
        ("", f"{kept} in {keys.file} and reused on later runs; writes need it"),
        (
            "Import",
            f'curl -X POST {url}/posts/import -H "Authorization: Bearer $(cat {keys.file})" '
            '-H "Content-Type: application/x-ndjson" --data-binary @posts.ndjson',
        ),
    ]


def _sandbox_lines(sandbox: RunningSandbox | None, url: str) -> list[tuple[str, str]]:
    if sandbox is None:
        return []
    root = sandbox.plan.root
    return [
        ("Demo data", f"collected from the local platform sandbox at {root}"),
        ("", f"(X, Instagram, Facebook, LinkedIn APIs; accounts: {root}/_sandbox/state)"),
        ("Accounts", f"curl '{url}/accounts'  shows the {len(sandbox.accounts)} accounts syncing"),
    ]


def _print_banner(
    url: str, keys: ApiKeys, sandbox: RunningSandbox | None, notes: list[str]
) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("Dashboard", f"{url}/dashboard"),
        ("Swagger UI", f"{url}/docs"),
        ("ReDoc", f"{url}/redoc"),
        *(("Note", note) for note in notes),
        ("Read", f"curl '{url}/hashtag-performance?window=30d'"),
        *_sandbox_lines(sandbox, url),
        *_key_lines(keys, url),
        ("Stop", "Ctrl-C"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(Panel(table, title="hashtag-analysis is running", expand=False))


def _start_sandbox(settings: Settings, source: DemoSource, children: Children) -> RunningSandbox:
    """Serve the sandbox; register its accounts and queue their first collection if needed."""
    plan = plan_sandbox(settings, source)
    children.start("sandbox", plan.argv(), dict(os.environ))
    sandbox = wait_until_serving(
        plan, lambda: _check_children(children, "before the sandbox answered")
    )
    register = source is DemoSource.NEW
    asyncio.run(register_and_collect(sandbox.configure(settings), sandbox, register=register))
    return sandbox


def _start(settings: Settings, stack: ExitStack) -> None:
    resolved = stack.enter_context(running_services(settings))
    migrate(resolved)
    children = stack.enter_context(Children())
    source = asyncio.run(demo_source(resolved))
    sandbox = _start_sandbox(resolved, source, children) if source else None
    keys = resolve_api_keys(resolved)
    env = child_environment(resolved, keys.keys)
    if sandbox is not None:
        env |= sandbox.environment(resolved)
    url = base_url(resolved)
    children.start("API", api_argv(resolved), env)
    children.start("worker", worker_argv(), env)
    _wait_until_ready(children, url)
    logger.info("API at %s, worker started", url)
    notes = []
    if sandbox is not None and not _wait_for_collection(children, url, keys):
        notes.append(f"the demo accounts are still being collected (GET {url}/accounts)")
    if not _wait_for_figures(children, url, keys):
        notes.append("figures are still being computed (pending_version is set)")
    _print_banner(url, keys, sandbox, notes)
    while True:
        _check_children(children, "unexpectedly")
        time.sleep(_WATCH_S)


def run_up(settings: Settings) -> None:
    """Run everything until SIGINT/SIGTERM (returns) or a child fails (raises CliError)."""
    _check_port(settings.api_host, settings.api_port)
    with _stop_on_signals():
        try:
            with ExitStack() as stack:
                _start(settings, stack)
        except KeyboardInterrupt:
            logger.info("stopped")
