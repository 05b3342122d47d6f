"""What every job needs, built once at worker startup and kept in arq's ctx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.collect.registry import Connector
from hashtag_core.config import Settings
from hashtag_core.platforms import Platform

__all__ = ["RESOURCES_KEY", "WorkerResources", "resources"]

RESOURCES_KEY = "hashtag_resources"


@dataclass(frozen=True)
class WorkerResources:
    """Settings, database handles and platform connectors shared by a worker's jobs."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    http_clients: dict[Platform, httpx.AsyncClient]
    connectors: dict[Platform, Connector]

    def connector(self, platform: str) -> Connector:
        """The connector for a platform."""
        return self.connectors[Platform(platform)]


def resources(ctx: dict[str, Any]) -> WorkerResources:
    """The typed resources in an arq ctx."""
    found = ctx[RESOURCES_KEY]
    assert isinstance(found, WorkerResources)
    return found
