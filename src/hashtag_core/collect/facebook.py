"""Facebook Pages connector: a Page's posts plus post insights.

`GET /{page-id}/posts` with reaction and comment summaries and `shares`; `GET /{post-id}/insights`
for views. Mapping (docs/metrics.md): likes = reactions.summary.total_count (all reaction types),
comments = comments.summary.total_count, shares = shares.count (Meta omits `shares` when there
are none, so a missing key on a fetched post is 0), saves not reported, impressions =
`post_media_view`, reach = `post_total_media_view_unique` (the replacements of the removed
`post_impressions` / `post_impressions_unique`, which are still read if present).
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

__all__ = ["FacebookConnector", "map_page_post"]

POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
INSIGHT_METRICS = "post_media_view,post_total_media_view_unique"
# Meta removed `post_impressions` / `post_impressions_unique` (and others) by June 2025; older
# versions still serve them. A metric refused in a version (error 100) is dropped for the run's
# connector and the call repeated without it (see GraphConnector).
METRICS_BY_VERSION: dict[str, tuple[str, ...]] = {
    "v20.0": ("post_impressions", "post_impressions_unique"),
    "v21.0": ("post_impressions", "post_impressions_unique"),
}


def _summary_total(post: Mapping[str, Any], edge: str) -> int | None:
    """`{edge}.summary.total_count`, None when the edge or its summary is missing."""
    value = post.get(edge)
    summary = value.get("summary") if isinstance(value, dict) else None
    return count(summary.get("total_count")) if isinstance(summary, dict) else None


def _shares(post: Mapping[str, Any]) -> int | None:
    """`shares.count`; an absent `shares` key on a fetched post means none."""
    shares = post.get("shares")
    if shares is None:
        return 0
    return count(shares.get("count")) if isinstance(shares, dict) else None


def map_page_post(
    post: Mapping[str, Any],
    insights: Mapping[str, int] | None,
    *,
    handle: str,
    timezone: str,
    followers: int | None,
) -> dict[str, Any]:
    """A PostRecord-compatible dict from a Page post and its insights (None = unknown)."""
    post_id = post.get("id")
    if not isinstance(post_id, str) or not post_id:
        raise MalformedResponse(f"post without a string id: {post_id!r}")
    found = insights or {}
    return {
        "platform": Platform.FACEBOOK.value,
        "post_id": post_id,
        "account": handle,
        "text": str(post.get("message") or ""),
        "posted_at": parse_time(post.get("created_time"), "created_time"),
        "likes": _summary_total(post, "reactions"),
        "comments": _summary_total(post, "comments"),
        "shares": _shares(post),
        "saves": None,  # Facebook does not report saves
        "impressions": found.get("post_media_view", found.get("post_impressions")),
        "reach": found.get("post_total_media_view_unique", found.get("post_impressions_unique")),
        "followers": followers,
        "url": post.get("permalink_url"),
        "account_timezone": timezone,
    }


class FacebookConnector(GraphConnector):
    """Collects one Facebook Page (`external_id` = page id; token = a Page access token)."""

    platform = Platform.FACEBOOK
    edge = "posts"
    fields = POST_FIELDS
    metrics = INSIGHT_METRICS
    metrics_by_version = METRICS_BY_VERSION
    metric_refusal_is_global = True
    time_field = "created_time"
    history_metrics = ("page_daily_follows_unique", "page_daily_unfollows_unique")
    history_window_days = 90
    follower_fields = "id,name,followers_count,fan_count"

    def __init__(
        self, settings: CollectSettings, client: httpx.AsyncClient, pacer: RequestPacer
    ) -> None:
        """Use `client` (shared per platform) through `pacer`."""
        graph = GraphApi(settings.meta_base_url, settings.meta_api_version, client, pacer)
        super().__init__(graph, settings.facebook_page_size, settings.follower_backfill_days)

    def map(
        self,
        post: Mapping[str, Any],
        insights: Mapping[str, int] | None,
        account: AccountSpec,
        followers: int | None,
    ) -> dict[str, Any]:
        """See `map_page_post`."""
        return map_page_post(
            post, insights, handle=account.handle, timezone=account.timezone, followers=followers
        )
