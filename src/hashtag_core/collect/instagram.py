"""Instagram Graph API connector: an IG professional account's media plus media insights.

`GET /{ig-user-id}/media` gives likes and comments; `GET /{media-id}/insights` gives the rest
(docs/metrics.md): shares = `shares`, saves = `saved`, impressions = `views` (the v22.0
replacement of `impressions`, still read if an older API version returns it), reach = `reach`.
Missing insight data means unknown, never zero. Followers: the `followers_count` field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from hashtag_core.collect.base import count, parse_time
from hashtag_core.collect.errors import MalformedResponse
from hashtag_core.collect.http import RequestPacer
from hashtag_core.collect.meta import GraphApi, GraphConnector
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.types import AccountSpec
from hashtag_core.platforms import Platform

__all__ = ["InstagramConnector", "map_media"]

MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"
)
INSIGHT_METRICS = "views,reach,saved,shares"
# `impressions` was replaced by `views` in v22.0; a metric refused for a media type (error 100)
# is asked for again metric by metric rather than losing saves, shares and reach too.
METRICS_BY_VERSION: dict[str, tuple[str, ...]] = {
    "v21.0": ("impressions", "reach", "saved", "shares"),
}


def map_media(
    media: Mapping[str, Any],
    insights: Mapping[str, int] | None,
    *,
    handle: str,
    timezone: str,
    followers: int | None,
) -> dict[str, Any]:
    """A PostRecord-compatible dict from a media object and its insights (None = unknown)."""
    post_id = media.get("id")
    if not isinstance(post_id, str) or not post_id:
        raise MalformedResponse(f"media without a string id: {post_id!r}")
    found = insights or {}
    return {
        "platform": Platform.INSTAGRAM.value,
        "post_id": post_id,
        "account": handle,
        "text": str(media.get("caption") or ""),
        "posted_at": parse_time(media.get("timestamp"), "timestamp"),
        "likes": count(media.get("like_count")),  # absent when the owner hides likes: unknown
        "comments": count(media.get("comments_count")),
        "shares": found.get("shares"),
        "saves": found.get("saved"),
        "impressions": found.get("views", found.get("impressions")),
        "reach": found.get("reach"),
        "followers": followers,
        "url": media.get("permalink"),
        "account_timezone": timezone,
    }


class InstagramConnector(GraphConnector):
    """Collects one Instagram professional account (`external_id` = ig-user-id)."""

    platform = Platform.INSTAGRAM
    edge = "media"
    fields = MEDIA_FIELDS
    metrics = INSIGHT_METRICS
    metrics_by_version = METRICS_BY_VERSION
    time_field = "timestamp"
    follower_fields = "id,username,followers_count"

    def __init__(
        self, settings: CollectSettings, client: httpx.AsyncClient, pacer: RequestPacer
    ) -> None:
        """Use `client` (shared per platform) through `pacer`."""
        graph = GraphApi(settings.instagram_base_url, settings.meta_api_version, client, pacer)
        super().__init__(graph, settings.instagram_page_size)

    def map(
        self,
        post: Mapping[str, Any],
        insights: Mapping[str, int] | None,
        account: AccountSpec,
        followers: int | None,
    ) -> dict[str, Any]:
        """See `map_media`."""
        return map_media(
            post, insights, handle=account.handle, timezone=account.timezone, followers=followers
        )
