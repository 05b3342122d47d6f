"""Building the connectors and running many accounts at once.

clients = make_clients(settings)            # one pooled AsyncClient per platform
connectors = build_connectors(settings, clients)
results = await collect_many(connectors, [(account, watermark, refresh_since), ...])
# ... then close the clients (await client.aclose())
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import httpx

from hashtag_core.collect.errors import CollectError
from hashtag_core.collect.facebook import FacebookConnector
from hashtag_core.collect.http import RequestPacer, Sleep
from hashtag_core.collect.instagram import InstagramConnector
from hashtag_core.collect.linkedin import LinkedInConnector
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.collect.x import XConnector
from hashtag_core.platforms import Platform

__all__ = ["CollectJob", "Connector", "build_connectors", "collect_many", "make_clients"]

#: (account, watermark of its last run or None, refresh horizon or None)
CollectJob = tuple[AccountSpec, Watermark | None, datetime | None]


class Connector(Protocol):
    """What the worker needs from a platform connector."""

    platform: Platform

    async def collect(
        self, account: AccountSpec, *, watermark: Watermark | None, refresh_since: datetime | None
    ) -> CollectResult:
        """Read the account's new posts and refresh those newer than `refresh_since`."""
        ...

    async def fetch_post(self, account: AccountSpec, post_id: str) -> dict[str, Any] | None:
        """One post with fresh metrics, or None when it no longer exists."""
        ...


_CONNECTOR_CLASSES: dict[
    Platform, Callable[[CollectSettings, httpx.AsyncClient, RequestPacer], Connector]
] = {
    Platform.X: XConnector,
    Platform.INSTAGRAM: InstagramConnector,
    Platform.FACEBOOK: FacebookConnector,
    Platform.LINKEDIN: LinkedInConnector,
}


def make_clients(settings: CollectSettings) -> dict[Platform, httpx.AsyncClient]:
    """One pooled AsyncClient per platform; the caller closes them (`aclose`)."""
    per_platform = settings.max_in_flight_per_platform
    # Instagram and Facebook share graph.facebook.com, but separate pools keep one platform's
    # slow answers from starving the other's connections.
    return {
        platform: httpx.AsyncClient(
            timeout=httpx.Timeout(settings.request_timeout_s),
            limits=httpx.Limits(
                max_connections=per_platform, max_keepalive_connections=per_platform
            ),
            headers={"Accept": "application/json", "User-Agent": "hashtag-analysis-collector"},
            follow_redirects=False,  # a redirect could carry our Authorization header elsewhere
        )
        for platform in Platform
    }


def build_connectors(
    settings: CollectSettings,
    clients: Mapping[Platform, httpx.AsyncClient],
    *,
    sleep: Sleep = asyncio.sleep,
) -> dict[Platform, Connector]:
    """One connector per platform that has a client, each with its own pacer."""
    connectors: dict[Platform, Connector] = {}
    for platform, client in clients.items():
        pacer = RequestPacer(platform, settings, sleep=sleep)
        connectors[platform] = _CONNECTOR_CLASSES[platform](settings, client, pacer)
    return connectors


async def _collect_one(
    connectors: Mapping[Platform, Connector], job: CollectJob
) -> CollectResult | CollectError:
    """One account's collection; its CollectError is returned, not raised."""
    account, watermark, refresh_since = job
    connector = connectors.get(account.platform)
    if connector is None:
        return CollectError(f"{account.label}: no connector configured for this platform")
    try:
        return await connector.collect(account, watermark=watermark, refresh_since=refresh_since)
    except CollectError as exc:
        return exc


async def collect_many(
    connectors: Mapping[Platform, Connector], jobs: list[CollectJob]
) -> list[CollectResult | CollectError]:
    """Collect all accounts concurrently; results in job order, errors per account.

    A CollectError of one account does not disturb the others; anything else is a bug and
    propagates (cancelling the rest).
    """
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_collect_one(connectors, job)) for job in jobs]
    return [task.result() for task in tasks]
