"""Collecting posts, metrics and follower counts from the platforms' APIs (no database code).

Connectors (X, Instagram, Facebook Pages, LinkedIn) page through an account's posts, stop at
the last run's watermark while still refreshing recent posts, fetch per-post insights where the
platform needs a second call, and map everything to PostRecord-compatible dicts following the
table in docs/metrics.md. All HTTP goes through one `RequestPacer` per platform (bounded
concurrency, rate-limit waits, retries). Imports neither FastAPI nor arq.
"""

from hashtag_core.collect.errors import (
    AuthExpired,
    CollectError,
    MalformedResponse,
    NotFound,
    PlatformUnavailable,
    RateLimited,
    RequestRejected,
    VersionGone,
)
from hashtag_core.collect.facebook import FacebookConnector
from hashtag_core.collect.http import RequestPacer
from hashtag_core.collect.instagram import InstagramConnector
from hashtag_core.collect.linkedin import LinkedInConnector
from hashtag_core.collect.registry import (
    CollectJob,
    Connector,
    build_connectors,
    collect_many,
    make_clients,
)
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.types import AccountSpec, CollectResult, Watermark
from hashtag_core.collect.x import XConnector

__all__ = [
    "AccountSpec",
    "AuthExpired",
    "CollectError",
    "CollectJob",
    "CollectResult",
    "CollectSettings",
    "Connector",
    "FacebookConnector",
    "InstagramConnector",
    "LinkedInConnector",
    "MalformedResponse",
    "NotFound",
    "PlatformUnavailable",
    "RateLimited",
    "RequestPacer",
    "RequestRejected",
    "VersionGone",
    "Watermark",
    "XConnector",
    "build_connectors",
    "collect_many",
    "make_clients",
]
