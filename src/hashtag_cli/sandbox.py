"""The demo's data source for `up`: the platform sandbox, run as a child process on loopback.

On an empty database `up` starts `python -m hashtag_sandbox` on a loopback port, registers each
of its accounts for collection (token_ref `sandbox-<platform>-<handle>`), points the children's
collectors at it (HASHTAG_COLLECT__*_BASE_URL) with its tokens (HASHTAG_PLATFORM_TOKENS) and
queues a collection, so the demo runs the real path: connectors -> worker -> Postgres ->
recompute. `<data_dir>/sandbox.json` keeps the port and the data's parameters: later runs serve
the same accounts, tokens and post ids at the same address for as long as the accounts exist.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from hashtag_cli.console import CliError
from hashtag_cli.services import open_engine, open_queue
from hashtag_core.accounts import repository as account_repo
from hashtag_core.accounts import service as account_service
from hashtag_core.accounts.schemas import AccountCreate, CollectRequest
from hashtag_core.config import Settings
from hashtag_core.db import create_sessionmaker
from hashtag_core.demo.generator import DemoConfig
from hashtag_core.demo.load import has_posts
from hashtag_core.platforms import Platform

__all__ = [
    "SANDBOX_FILE",
    "TOKEN_REF_PREFIX",
    "DemoSource",
    "RunningSandbox",
    "SandboxPlan",
    "demo_source",
    "plan_sandbox",
    "register_and_collect",
    "wait_until_serving",
]

logger = logging.getLogger(__name__)

SANDBOX_FILE = "sandbox.json"
#: token_ref of the accounts `up` registers from the sandbox (how later runs recognise them).
TOKEN_REF_PREFIX = "sandbox-"
START_TIMEOUT_S = 60.0
_POLL_S = 0.2
_BASE_URL_FIELDS = {
    Platform.X: ("x_base_url", "/x"),
    Platform.INSTAGRAM: ("instagram_base_url", "/meta"),
    Platform.FACEBOOK: ("meta_base_url", "/meta"),
    Platform.LINKEDIN: ("linkedin_base_url", "/linkedin"),
}


class DemoSource(Enum):
    """What `up` does with the sandbox."""

    NEW = "new"  # empty database: start it, register its accounts, collect
    RUNNING = "running"  # accounts registered from it earlier: start it again


@dataclass(frozen=True)
class SandboxPlan:
    """Where the sandbox listens and which data it serves (kept in sandbox.json)."""

    port: int
    posts: int
    seed: int
    days: int
    end: datetime

    @property
    def root(self) -> str:
        """Its URL."""
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        """The command that serves it (quietly: uvicorn logs every request at info)."""
        return [
            sys.executable,
            "-m",
            "hashtag_sandbox",
            *("--port", str(self.port), "--posts", str(self.posts), "--seed", str(self.seed)),
            *("--days", str(self.days), "--end", self.end.isoformat()),
            # The demo's accounts get their whole follower history (Meta keeps 30 days of
            # Instagram's), so the follower chart has lines from the first collection on.
            *("--instagram-follower-days", "0"),
            *("--log-level", "warning"),
        ]


@dataclass(frozen=True)
class SandboxAccount:
    """One account the sandbox serves."""

    platform: Platform
    handle: str
    external_id: str
    timezone: str
    token: str

    @property
    def token_ref(self) -> str:
        """The name its token goes by in HASHTAG_PLATFORM_TOKENS."""
        return f"{TOKEN_REF_PREFIX}{self.platform.value}-{self.handle}".lower()


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox that answers, with its accounts."""

    plan: SandboxPlan
    accounts: list[SandboxAccount]

    def tokens(self) -> dict[str, str]:
        """token_ref -> token of every account."""
        return {a.token_ref: a.token for a in self.accounts}

    def base_urls(self) -> dict[str, str]:
        """CollectSettings field -> URL, for every platform."""
        return {name: self.plan.root + path for name, path in _BASE_URL_FIELDS.values()}

    def collect_overrides(self) -> dict[str, Any]:
        """CollectSettings fields for this sandbox: its URLs, and a follower backfill that
        reaches over the whole demo history (its chart and follower goal start filled)."""
        return self.base_urls() | {"follower_backfill_days": self.plan.days + 1}

    def configure(self, settings: Settings) -> Settings:
        """`settings` collecting from this sandbox, with its tokens beside the configured ones."""
        tokens = dict(settings.platform_tokens) | {
            ref: SecretStr(token) for ref, token in self.tokens().items()
        }
        collect = settings.collect.model_copy(update=self.collect_overrides())
        return settings.model_copy(update={"platform_tokens": tokens, "collect": collect})

    def environment(self, settings: Settings) -> dict[str, str]:
        """The children's variables that make `configure(settings)` their settings."""
        configured = self.configure(settings)
        tokens = {ref: t.get_secret_value() for ref, t in configured.platform_tokens.items()}
        env = {"HASHTAG_PLATFORM_TOKENS": json.dumps(tokens)}
        for name, value in self.collect_overrides().items():
            env[f"HASHTAG_COLLECT__{name.upper()}"] = str(value)
        return env


def _port_free(port: int) -> bool:
    try:
        with socket.socket() as probe:
            # As uvicorn binds: connections of an earlier run in TIME_WAIT do not block it.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_plan(path: Path) -> SandboxPlan | None:
    try:
        found: dict[str, Any] = json.loads(path.read_text())
        return SandboxPlan(**(found | {"end": datetime.fromisoformat(found["end"])}))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        logger.warning("ignoring %s: %s", path, exc)
        return None


def _write_plan(path: Path, plan: SandboxPlan) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(plan) | {"end": plan.end.isoformat()}, indent=2) + "\n")


def plan_sandbox(settings: Settings, source: DemoSource) -> SandboxPlan:
    """The sandbox to start: the stored one again (RUNNING), or new data ending now (NEW).

    The stored port is kept while it is free, so the accounts' sandbox stays at one address.
    """
    path = settings.data_dir / SANDBOX_FILE
    stored = _read_plan(path)
    if source is DemoSource.RUNNING and stored is None:
        logger.warning("%s is missing: the sandbox serves new posts beside the stored ones", path)
    if source is DemoSource.NEW or stored is None:
        demo = DemoConfig()
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        port = stored.port if stored else _free_port()
        stored = SandboxPlan(port, settings.demo_posts or demo.posts, demo.seed, demo.days, end)
    if not _port_free(stored.port):
        moved = _free_port()
        logger.warning("port %d is taken: the sandbox moves to %d", stored.port, moved)
        stored = SandboxPlan(moved, stored.posts, stored.seed, stored.days, stored.end)
    _write_plan(path, stored)
    return stored


async def demo_source(settings: Settings) -> DemoSource | None:
    """NEW for an empty database with the demo on, RUNNING when sandbox accounts exist."""
    async with open_engine(settings) as engine, create_sessionmaker(engine)() as session:
        accounts = await account_repo.list_accounts(session)
        posts = await has_posts(session)
    refs = [a["token_ref"] or "" for a in accounts]
    if any(ref.startswith(TOKEN_REF_PREFIX) for ref in refs):
        others = [ref for ref in refs if ref and not ref.startswith(TOKEN_REF_PREFIX)]
        if others:
            logger.warning(
                "the collectors point at the demo sandbox, so accounts %s cannot be collected "
                "from their platforms; delete the sandbox accounts (DELETE /accounts/{id})",
                ", ".join(others),
            )
        return DemoSource.RUNNING
    if settings.demo_posts > 0 and not accounts and not posts:
        return DemoSource.NEW
    if settings.demo_posts > 0:
        logger.info("the database holds data already: no demo data collected")
    return None


def _accounts(state: dict[str, Any]) -> list[SandboxAccount]:
    return [
        SandboxAccount(
            Platform(a["platform"]), a["handle"], a["external_id"], a["timezone"], a["token"]
        )
        for a in state["accounts"]
    ]


def wait_until_serving(plan: SandboxPlan, check_alive: Callable[[], None]) -> RunningSandbox:
    """Poll the sandbox's state until it answers (`check_alive` raises if it died)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            check_alive()
            try:
                response = client.get(f"{plan.root}/_sandbox/state")
                if response.status_code == 200:
                    return RunningSandbox(plan, _accounts(response.json()))
            except httpx.HTTPError:
                pass
            time.sleep(_POLL_S)
    raise CliError(
        f"the platform sandbox did not answer on {plan.root} within {START_TIMEOUT_S:.0f} s; "
        "see its output above. Stopped everything"
    )


async def register_and_collect(
    settings: Settings, sandbox: RunningSandbox, *, register: bool
) -> list[str]:
    """Register the sandbox's accounts (with `register`; those not registered yet) and queue
    a collection of the sandbox accounts never collected: all of them on a new demo, usually
    none on later runs (where accounts someone deleted stay deleted).

    `settings` must be `sandbox.configure(...)`: registering checks the token references.
    """
    job_ids: list[str] = []
    async with open_engine(settings) as engine, open_queue(settings) as queue:
        async with create_sessionmaker(engine)() as session:
            known = {a["token_ref"] for a in await account_repo.list_accounts(session)}
            added = [a for a in sandbox.accounts if register and a.token_ref not in known]
            for account in added:
                body = AccountCreate(
                    platform=account.platform,
                    external_id=account.external_id,
                    handle=account.handle,
                    timezone=account.timezone,
                    token_ref=account.token_ref,
                )
                await account_service.register_account(session, body, settings=settings)
            await session.commit()
            for row in await account_repo.list_accounts(session):
                ref = row["token_ref"] or ""
                if ref.startswith(TOKEN_REF_PREFIX) and row["last_sync_at"] is None:
                    request = CollectRequest(account_id=row["id"])
                    started = await account_service.request_collection(
                        session, request, queue=queue
                    )
                    job_ids += started.job_ids if started.job_queued else []
    if added:
        logger.info("registered %d accounts of the platform sandbox", len(added))
    if job_ids:
        logger.info("queued a collection of %d sandbox accounts", len(job_ids))
    return job_ids
