"""Canonical records rendered as Graph API objects and insights (the connectors' inverse).

Unreported counters are left out: an Instagram media without `views` data has no `views`
entry, a Facebook post without shares has no `shares` key, as Meta does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hashtag_sandbox.config import SandboxConfig
from hashtag_sandbox.data import SandboxAccount, SandboxPost

__all__ = [
    "fb_insight",
    "ig_insight",
    "render_fb_post",
    "render_ig_media",
    "render_ig_user",
    "render_page",
]

Getter = Callable[[Any], Any]


def _render(obj: Any, fields: list[str], getters: dict[str, Getter], node: str) -> dict[str, Any]:
    """The requested fields that have a value; unknown names fail like Graph's (#100)."""
    result: dict[str, Any] = {}
    for name in dict.fromkeys(["id", *fields]):
        getter = getters.get(name)
        if getter is None:
            raise ValueError(
                f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
            )
        value = getter(obj)
        if value is not None:
            result[name] = value
    return result


def _graph_time(post: SandboxPost) -> str:
    return post.posted_at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _summary(total: int | None) -> dict[str, Any] | None:
    return None if total is None else {"data": [], "summary": {"total_count": total}}


def _media_getters(account: SandboxAccount) -> dict[str, Getter]:
    return {
        "id": lambda p: p.post_id,
        "caption": lambda p: p.record["text"] or None,
        "media_type": lambda p: p.media_type,
        "media_product_type": lambda p: "REELS" if p.media_type == "VIDEO" else "FEED",
        "permalink": lambda p: p.record["url"],
        "timestamp": _graph_time,
        "like_count": lambda p: p.record["likes"],  # hidden likes: no field
        "comments_count": lambda p: p.record["comments"],
        "username": lambda p: account.handle,
        "shortcode": lambda p: str(p.record["url"]).rstrip("/").rsplit("/", 1)[-1],
        "media_url": lambda p: f"https://scontent.sandbox.invalid/{p.post_id}.jpg",
        "owner": lambda p: {"id": account.external_id},
    }


def render_ig_media(
    post: SandboxPost, account: SandboxAccount, fields: list[str]
) -> dict[str, Any]:
    """An IG Media node."""
    return _render(post, fields, _media_getters(account), "IGMedia")


def render_ig_user(account: SandboxAccount, fields: list[str]) -> dict[str, Any]:
    """An IG User node."""
    getters: dict[str, Getter] = {
        "id": lambda a: a.external_id,
        "username": lambda a: a.handle,
        "name": lambda a: a.handle,
        "biography": lambda a: "LEGOLAND sandbox account",
        "followers_count": lambda a: a.followers,
        "follows_count": lambda a: 150,
        "media_count": lambda a: len(a.posts),
        "profile_picture_url": lambda a: f"https://scontent.sandbox.invalid/{a.external_id}.jpg",
        "website": lambda a: "https://www.legoland.com/",
    }
    return _render(account, fields, getters, "IGUser")


def render_fb_post(post: SandboxPost, fields: list[str]) -> dict[str, Any]:
    """A Page Post node; `shares` is omitted when there are none."""
    getters: dict[str, Getter] = {
        "id": lambda p: p.post_id,
        "message": lambda p: p.record["text"] or None,
        "created_time": _graph_time,
        "permalink_url": lambda p: p.record["url"],
        "shares": lambda p: {"count": p.record["shares"]} if p.record["shares"] else None,
        "reactions": lambda p: _summary(p.record["likes"]),
        "comments": lambda p: _summary(p.record["comments"]),
        "is_published": lambda p: True,
    }
    return _render(post, fields, getters, "Post")


def render_page(account: SandboxAccount, fields: list[str]) -> dict[str, Any]:
    """A Page node; `fan_count` (likes) trails `followers_count` slightly."""
    getters: dict[str, Getter] = {
        "id": lambda a: a.external_id,
        "name": lambda a: a.handle,
        "username": lambda a: a.handle,
        "followers_count": lambda a: a.followers,
        "fan_count": lambda a: a.followers * 97 // 100,
        "link": lambda a: f"https://www.facebook.com/{a.external_id}",
    }
    return _render(account, fields, getters, "Page")


def _insight(post: SandboxPost, name: str, title: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None  # Meta leaves missing data out; it does not send zeros
    return {
        "name": name,
        "period": "lifetime",
        "values": [{"value": value}],
        "title": title,
        "description": f"Lifetime {title.lower()} of the post.",
        "id": f"{post.post_id}/insights/{name}/lifetime",
    }


_IG_REMOVED = frozenset(
    {"impressions", "plays", "video_views", "engagement", "clips_replays_count",
     "ig_reels_aggregated_all_plays_count", "carousel_album_impressions"}
)  # fmt: skip


def _interactions(r: dict[str, Any]) -> int | None:
    parts = [r["likes"], r["comments"], r["saves"], r["shares"]]
    return None if any(v is None for v in parts) else sum(parts)


def ig_insight(post: SandboxPost, metric: str, config: SandboxConfig) -> dict[str, Any] | None:
    """One IG media insight; ValueError for removed or unknown metrics (v22.0 rules)."""
    r = post.record
    values: dict[str, tuple[str, Any]] = {
        "views": ("Views", r["impressions"]),
        "reach": ("Accounts reached", r["reach"]),
        "saved": ("Saved", r["saves"]),
        "shares": ("Shares", r["shares"]),
        "likes": ("Likes", r["likes"]),
        "comments": ("Comments", r["comments"]),
        "total_interactions": ("Interactions", _interactions(r)),
        "follows": ("Follows", None),
        "profile_visits": ("Profile visits", None),
    }
    if metric in _IG_REMOVED or metric not in values:
        raise ValueError(metric)
    title, value = values[metric]
    return _insight(post, metric, title, value)


_FB_REMOVED = frozenset(
    {"post_impressions", "post_impressions_paid", "post_impressions_fan",
     "post_impressions_organic", "post_impressions_viral", "post_impressions_nonviral",
     "post_engaged_users", "post_negative_feedback", "post_clicks_unique"}
)  # fmt: skip


def fb_insight(post: SandboxPost, metric: str, config: SandboxConfig) -> dict[str, Any] | None:
    """One Page post insight; ValueError for removed or unknown metrics."""
    r = post.record
    values: dict[str, tuple[str, Any]] = {
        "post_media_view": ("Media views", r["impressions"]),
        "post_total_media_view_unique": ("Unique media views", r["reach"]),
        "post_reactions_by_type_total": (
            "Reactions by type",
            {"like": r["likes"]} if r["likes"] is not None else None,
        ),
        "post_clicks": ("Clicks", None),
    }
    if config.fb_legacy_reach_metric:
        values["post_impressions_unique"] = ("Reach", r["reach"])
    if metric in _FB_REMOVED or metric not in values:
        raise ValueError(metric)
    title, value = values[metric]
    return _insight(post, metric, title, value)
