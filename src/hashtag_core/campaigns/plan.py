"""Making a campaign's plan from the stored estimates (docs/metrics.md, "Campaign plans").

The hashtag sets are `/recommendations` itself (`insights.service.recommendations`), one per
platform; related posts come from `analytics.tfidf`, and their lift from `analytics.campaign`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.analytics.campaign import post_log_ratios
from hashtag_core.analytics.frames import ALL_ACCOUNTS, WINDOWS
from hashtag_core.analytics.insight_frames import GOALS
from hashtag_core.analytics.tfidf import similarity
from hashtag_core.campaigns import repository as repo
from hashtag_core.campaigns.schemas import (
    CampaignPlan,
    PlanSlot,
    PlatformPlan,
    RelatedHashtag,
    RelatedPost,
)
from hashtag_core.hashtags import repository as hashtag_repo
from hashtag_core.hashtags.schemas import Goal, Window
from hashtag_core.insights import service as insight_service
from hashtag_core.platforms import Platform

__all__ = [
    "CORPUS_POSTS",
    "MIN_POSTS",
    "RELATED_POSTS",
    "SLOT_RANKS",
    "make_plan",
    "review_goal",
]

#: Least evidence a planned hashtag needs (as /recommendations' default).
MIN_POSTS = 10
#: Hashtags per platform at most (Instagram: at most INSTAGRAM_MAX_HASHTAGS, by `recommend`).
HASHTAGS_PER_PLATFORM = 10
#: Past posts searched for ones like the brief: the accounts' most recent ones.
CORPUS_POSTS = 20_000
#: Related posts shown, and the least similarity that counts as related.
RELATED_POSTS = 10
MIN_SIMILARITY = 0.05
#: Best slots shown per account.
SLOT_RANKS = 3


def review_goal(goal: Goal) -> str:
    """The goal a post is judged on against its baseline: follower growth has no per-post
    value from the post's counters, so a followers campaign is judged on engagement."""
    return goal.value if goal.value in GOALS else Goal.ENGAGEMENT.value


def _since(window: Window, computed_at: datetime | None) -> datetime | None:
    days = WINDOWS[window.value]
    if days is None:
        return None
    return (computed_at or datetime.now(UTC)) - timedelta(days=days)


async def make_plan(
    session: AsyncSession,
    *,
    goal: Goal,
    window: Window,
    brief: str | None,
    accounts: Sequence[dict[str, Any]],
) -> CampaignPlan:
    """The plan for `goal` over the `accounts` (id, platform, handle, timezone)."""
    status = await hashtag_repo.recompute_status(session)
    computed_at: datetime | None = status["computed_at"]
    ids = [int(a["id"]) for a in accounts]
    sections = [await _section(session, goal, window, p, accounts) for p in _platforms(accounts)]
    scopes = {s.platform.value: _scope_of(s, accounts) for s in sections}
    related, hashtags = await _related(session, goal, window, brief, ids, accounts, scopes)
    slots = await repo.best_slots(session, account_ids=ids, window=window.value, ranks=SLOT_RANKS)
    evidence = await repo.posts_in_window(
        session, account_ids=ids, since=_since(window, computed_at)
    )
    return CampaignPlan(
        goal=goal,
        window=window,
        computed_at=computed_at,
        evidence_posts=evidence,
        platforms=sections,
        related_posts=related,
        related_hashtags=hashtags,
        slots=[PlanSlot.model_validate(s) for s in slots],
        caveat=_caveat(window, evidence, computed_at),
    )


def _platforms(accounts: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({str(a["platform"]) for a in accounts})


def _scope_of(section: PlatformPlan, accounts: Sequence[dict[str, Any]]) -> int:
    """The account id of a section's scope, ALL_ACCOUNTS for a platform's."""
    if section.account is None:
        return ALL_ACCOUNTS
    return next(
        int(a["id"])
        for a in accounts
        if a["handle"] == section.account and a["platform"] == section.platform.value
    )


async def _section(
    session: AsyncSession,
    goal: Goal,
    window: Window,
    platform: str,
    accounts: Sequence[dict[str, Any]],
) -> PlatformPlan:
    """The platform's hashtag set: its one account's estimates, else the platform's."""
    mine = [a for a in accounts if a["platform"] == platform]
    account = str(mine[0]["id"]) if len(mine) == 1 else None
    found = await insight_service.recommendations(
        session,
        goal=goal,
        platform=Platform(platform),
        account=account,
        window=window,
        min_posts=MIN_POSTS,
        limit=HASHTAGS_PER_PLATFORM,
    )
    return PlatformPlan(
        platform=Platform(platform),
        account=found.account,
        use=found.use,
        worth_testing=found.worth_testing,
        avoid=found.avoid,
        note=found.note,
    )


async def _related(
    session: AsyncSession,
    goal: Goal,
    window: Window,
    brief: str | None,
    ids: list[int],
    accounts: Sequence[dict[str, Any]],
    scopes: dict[str, int],
) -> tuple[list[RelatedPost], list[RelatedHashtag]]:
    """The past posts most like the brief, and the hashtags they used with their estimate."""
    if not brief:
        return [], []
    posts = await repo.past_posts(session, account_ids=ids, since=None, limit=CORPUS_POSTS)
    docs = posts.lazy().select(pl.col("post_id").alias("doc_id"), "text")
    ranked = await asyncio.to_thread(
        lambda: (
            similarity(docs, brief)
            .filter(pl.col("similarity") >= MIN_SIMILARITY)
            .head(RELATED_POSTS)
            .collect()
        )
    )
    chosen = ranked.join(posts, left_on="doc_id", right_on="post_id").sort(
        ["similarity", "doc_id"], descending=[True, False]
    )
    post_ids = chosen["doc_id"].to_list()
    tags = await repo.hashtags_of_posts(session, post_ids)
    baselines = await repo.baselines(session, account_ids=ids, goal=review_goal(goal))
    ratios = post_log_ratios(
        chosen.lazy().rename({"doc_id": "post_id"}), baselines.lazy(), goal=review_goal(goal)
    ).collect()
    lifts = dict(zip(ratios["post_id"].to_list(), ratios["log_ratio"].exp().to_list(), strict=True))
    handles = {int(a["id"]): str(a["handle"]) for a in accounts}
    related = [
        RelatedPost(
            platform=Platform(row["platform"]),
            account=handles.get(row["account_id"], str(row["account_id"])),
            post_id=row["platform_post_id"],
            url=row["url"],
            posted_at=row["posted_at"],
            similarity=row["similarity"],
            lift=None if row["doc_id"] not in lifts else lifts[row["doc_id"]] - 1,
            hashtags=tags.filter(pl.col("post_id") == row["doc_id"])["hashtag"].to_list(),
        )
        for row in chosen.iter_rows(named=True)
    ]
    return related, await _related_hashtags(session, goal, window, chosen, tags, scopes)


async def _related_hashtags(
    session: AsyncSession,
    goal: Goal,
    window: Window,
    chosen: pl.DataFrame,
    tags: pl.DataFrame,
    scopes: dict[str, int],
) -> list[RelatedHashtag]:
    """Per (platform, hashtag) of the related posts: how many used it, and its estimate in
    the platform's scope of the plan."""
    used = (
        tags.join(chosen.select(pl.col("doc_id").alias("post_id"), "platform"), on="post_id")
        .group_by("platform", "hashtag_id", "hashtag")
        .agg(related_posts=pl.len())
        .sort(["related_posts", "platform", "hashtag"], descending=[True, False, False])
    )
    out: list[RelatedHashtag] = []
    for platform in used["platform"].unique().sort().to_list():
        mine = used.filter(pl.col("platform") == platform)
        rows = await repo.lift_rows(
            session,
            platform=platform,
            account_id=scopes.get(platform, ALL_ACCOUNTS),
            goal=goal.value,
            window=window.value,
            hashtag_ids=mine["hashtag_id"].to_list(),
        )
        estimates = {int(r["hashtag_id"]): r for r in rows}
        for row in mine.iter_rows(named=True):
            found = estimates.get(row["hashtag_id"], {})
            out.append(
                RelatedHashtag(
                    platform=Platform(platform),
                    hashtag=row["hashtag"],
                    related_posts=row["related_posts"],
                    posts=found.get("posts"),
                    score=found.get("score"),
                    score_low=found.get("score_low"),
                    score_high=found.get("score_high"),
                    qvalue=found.get("qvalue"),
                    verdict=found.get("verdict"),
                )
            )
    return sorted(out, key=lambda h: (-h.related_posts, h.platform.value, h.hashtag))


def _caveat(window: Window, evidence: int, computed_at: datetime | None) -> str:
    """One sentence: what the figures are and are not."""
    span = "all their history" if window is Window.ALL else f"the last {window.value}"
    when = f" as of {computed_at:%Y-%m-%d}" if computed_at else " (not computed yet)"
    return (
        f"Association, not causation: these figures compare {evidence} past posts of the "
        f"campaign's accounts ({span}{when}) with each account's typical post, and a hashtag "
        "or slot that did well before may not do so in this campaign."
    )
