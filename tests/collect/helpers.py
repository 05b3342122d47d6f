"""Helpers shared by the collection tests (not fixtures)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hashtag_core.collect import CollectSettings, Connector, build_connectors, make_clients
from hashtag_core.collect.http import Sleep
from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.platforms import Platform

#: Fields a connector must reproduce exactly from the sandbox's source records.
COMPARED = (
    "platform", "post_id", "account", "text", "posted_at", "likes", "comments", "shares",
    "saves", "impressions", "reach", "url", "account_timezone",
)  # fmt: skip


@asynccontextmanager
async def connectors(
    settings: CollectSettings, *, sleep: Sleep = asyncio.sleep
) -> AsyncIterator[dict[Platform, Connector]]:
    """Connectors over fresh pooled clients, closed afterwards."""
    clients = make_clients(settings)
    try:
        yield build_connectors(settings, clients, sleep=sleep)
    finally:
        for client in clients.values():
            await client.aclose()


def comparable(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records keyed by post id, reduced to the compared fields (and validated)."""
    result = {}
    for record in records:
        PostRecord.model_validate(record)
        result[record["post_id"]] = {k: record[k] for k in COMPARED}
    return result


class SleepRecorder:
    """An injectable sleep that records every wait; `real=False` skips the waiting."""

    def __init__(self, *, real: bool) -> None:
        self.real = real
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds if self.real else 0)
