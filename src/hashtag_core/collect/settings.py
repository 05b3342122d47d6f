"""Settings of the collection layer (API base URLs and versions, paging, retry and pacing).

A plain pydantic model so that the application's Settings can embed it as `collect`
(environment variables `HASHTAG_COLLECT__X_BASE_URL` and so on).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CollectSettings"]


class CollectSettings(BaseModel):
    """Where the platform APIs live and how politely we call them."""

    model_config = ConfigDict(frozen=True)

    x_base_url: str = "https://api.x.com"
    # Where X posts come from: "timeline" (`GET /2/users/{id}/tweets`, the ~3,200 newest
    # posts) or "search" (`GET /2/tweets/search/recent` with `from:<user id> -is:retweet`; the
    # numeric id survives a rename, the handle is used only when the id is not numeric),
    # which reaches only the last 7 days: posts older than that are never collected.
    x_source: Literal["timeline", "search"] = "timeline"
    # Also ask X for `non_public_metrics,organic_metrics`. Only for accounts whose token is the
    # account's own user-context token (OAuth 2.0 user / OAuth 1.0a), and X serves them for
    # posts under 30 days old only. Likes, replies, reposts and impressions then count organic
    # reach (what a hashtag earns, without paid promotion). A token X refuses them to (an
    # app-only Bearer token, another user's token) falls back to `public_metrics` for that run
    # with a warning; it is not marked for re-authorisation.
    x_owned_metrics: bool = False
    meta_base_url: str = "https://graph.facebook.com"
    meta_api_version: str = Field("v22.0", pattern=r"^v\d+\.\d+$")
    instagram_base_url: str = "https://graph.facebook.com"
    linkedin_base_url: str = "https://api.linkedin.com"
    # Sent as the `LinkedIn-Version: YYYYMM` header; LinkedIn answers 426 once it is sunset
    # (about a year after release). 202505 was sunset in 2026; 202603 and 202606 are current.
    linkedin_version: str = Field("202606", pattern=r"^\d{6}(\.\d{2})?$")

    # X accepts 5-100 on timelines (recent search 10-100: smaller sizes are raised to 10);
    # Meta and LinkedIn have no documented maximum beyond 100.
    x_page_size: int = Field(100, ge=5, le=100)
    instagram_page_size: int = Field(50, ge=1, le=100)
    facebook_page_size: int = Field(50, ge=1, le=100)
    linkedin_page_size: int = Field(50, ge=1, le=100)

    max_in_flight_per_platform: int = Field(4, ge=1, le=64)
    max_tries: int = Field(5, ge=1, le=20)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30, ge=0)
    request_timeout_s: float = Field(20, gt=0)
    # Longest single or total rate-limit wait for one request before giving up (RateLimited).
    max_wait_s: float = Field(900, ge=0)
    # Rate-limit answers are not failures, but a platform that keeps saying "wait 0 s" must
    # not keep us looping forever.
    max_rate_limit_waits: int = Field(20, ge=1)
    # Meta usage headers report percent of quota used: above this we space requests out.
    meta_slowdown_pct: float = Field(80, ge=0, le=100)
    meta_slowdown_max_s: float = Field(2.0, ge=0)
    # A Meta throttle answer (codes 4, 17, 32, 613, 800xx) without usage headers or
    # Retry-After: wait this long, doubling on each further throttle (Meta extends a throttle
    # for calls made during it), until max_wait_s is spent; then the run stops (RateLimited).
    meta_throttle_wait_s: float = Field(300, ge=0)
    # On an account's first collection, read this many days of past daily follower counts
    # (Instagram reaches back 30 days, Facebook and LinkedIn further): follower trends and the
    # follower goal work from day one. 0 = no backfill.
    follower_backfill_days: int = Field(365, ge=0, le=2000)
    # Read the account's own first comment on each Instagram post and count its hashtags as the
    # post's (many accounts put their hashtags there instead of the caption).
    instagram_first_comment: bool = True
