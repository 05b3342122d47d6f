"""Instagram Graph API connector: an IG professional account's media plus media insights.

`GET /{ig-user-id}/media` gives likes and comments; `GET /{media-id}/insights` gives the rest
(docs/metrics.md): shares = `shares`, saves = `saved`, impressions = `views` (the v22.0
replacement of `impressions`, still read if an older API version returns it), reach = `reach`.
Missing insight data means unknown, never zero. Followers: the `followers_count` field.

First comment (`instagram_first_comment`, on by default): many accounts put their hashtags in
their own first comment instead of the caption. For a post with comments, the account's own
earliest comment (`GET /{media-id}/comments`) goes into the record as `first_comment`; the
sync counts its hashtags as the post's, marked as such (`post_hashtag.in_first_comment`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from hashtag_core.collect.base import Run, count, parse_time
from hashtag_core.collect.errors import MalformedResponse, RequestRejected
from hashtag_core.collect.http import RequestPacer
from hashtag_core.collect.meta import GraphApi, GraphConnector, classify_meta_item
from hashtag_core.collect.settings import CollectSettings
from hashtag_core.collect.types import AccountSpec
from hashtag_core.platforms import Platform

__all__ = ["InstagramConnector", "first_comment", "map_media"]

logger = logging.getLogger("hashtag_core.collect")

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


COMMENT_FIELDS = "id,text,username,timestamp"


def first_comment(body: Any, owner: str) -> str | None:
    """The text of `owner`'s earliest comment in a comments body, if any."""
    data = body.get("data") if isinstance(body, dict) else None
    own = [
        c
        for c in (data if isinstance(data, list) else [])
        if isinstance(c, dict)
        and str(c.get("username", "")).casefold() == owner.casefold()
        and isinstance(c.get("text"), str)
    ]
    if not own:
        return None
    earliest = min(own, key=lambda c: (str(c.get("timestamp") or ""), str(c.get("id"))))
    return str(earliest["text"])


class InstagramConnector(GraphConnector):
    """Collects one Instagram professional account (`external_id` = ig-user-id)."""

    platform = Platform.INSTAGRAM
    edge = "media"
    fields = MEDIA_FIELDS
    metrics = INSIGHT_METRICS
    metrics_by_version = METRICS_BY_VERSION
    time_field = "timestamp"
    history_metrics = ("follower_count",)
    history_window_days = 30
    follower_fields = "id,username,followers_count"

    def __init__(
        self, settings: CollectSettings, client: httpx.AsyncClient, pacer: RequestPacer
    ) -> None:
        """Use `client` (shared per platform) through `pacer`."""
        graph = GraphApi(settings.instagram_base_url, settings.meta_api_version, client, pacer)
        super().__init__(graph, settings.instagram_page_size, settings.follower_backfill_days)
        self._first_comment = settings.instagram_first_comment

    async def extras(self, run: Run, post: Mapping[str, Any]) -> dict[str, Any]:
        """`first_comment`: the account's own first comment, for posts that have comments."""
        if not self._first_comment or not post.get("comments_count"):
            return {}
        url = self._graph.url(f"{post['id']}/comments")
        params = {"fields": COMMENT_FIELDS, "limit": "50"}
        try:
            body = await self._graph.get(run, url, params, classify_meta_item)
        except RequestRejected as exc:  # comments hidden or not permitted for this item
            logger.info("%s: no comments of %s: %s", run.account.label, post["id"], exc.message)
            return {}
        found = first_comment(body, run.owner or run.account.handle)
        return {"first_comment": found} if found else {}

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
