"""Campaigns: create (the plan is made and stored), list, read with the review, delete, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.accounts.repository import find_accounts
from hashtag_core.analytics.campaign import post_log_ratios, summarise
from hashtag_core.campaigns import repository as repo
from hashtag_core.campaigns.plan import make_plan, review_goal
from hashtag_core.campaigns.schemas import (
    CampaignAccount,
    CampaignCreate,
    CampaignPlan,
    CampaignPublic,
    CampaignReview,
    CampaignsPage,
    CampaignSummary,
    PlannedUse,
    ReviewFigure,
    ReviewStatus,
)
from hashtag_core.errors import InvalidInput, NotFound
from hashtag_core.hashtags.schemas import Goal
from hashtag_core.insights.service import csv_cell
from hashtag_core.paging import decode_cursor, encode_cursor, foreign_cursor

__all__ = [
    "campaigns_page",
    "create_campaign",
    "delete_campaign",
    "get_campaign",
    "plan_csv",
]


async def _resolve_accounts(session: AsyncSession, body: CampaignCreate) -> list[int]:
    """The campaign's accounts: those named, and every account of a platform named without
    one of its own; a name that finds no account, or several, is the caller's mistake."""
    if not body.accounts and not body.platforms:
        raise InvalidInput(
            "name at least one account or platform the campaign covers", field="body.accounts"
        )
    named: dict[int, str] = {}
    for i, name in enumerate(body.accounts):
        found = await find_accounts(session, name, None)
        narrowed = [a for a in found if a.platform in body.platforms]
        found = narrowed or found
        if not found:
            raise InvalidInput(
                f"no account {name!r}; GET /accounts lists them", field=f"body.accounts.{i}"
            )
        if len(found) > 1:
            platforms = ", ".join(sorted({a.platform for a in found}))
            raise InvalidInput(
                f"account {name!r} exists on several platforms ({platforms}); "
                "add the one you mean to platforms",
                field=f"body.accounts.{i}",
            )
        named[found[0].id] = found[0].platform
    rest = [p.value for p in body.platforms if p.value not in set(named.values())]
    ids = set(named) | set(await repo.accounts_of_platforms(session, rest))
    if not ids:
        raise InvalidInput(
            f"no account on {', '.join(rest)} yet: nothing to plan from", field="body.platforms"
        )
    return sorted(ids)


async def create_campaign(session: AsyncSession, body: CampaignCreate) -> CampaignPublic:
    """Make the campaign's plan from the current estimates and store both."""
    ids = await _resolve_accounts(session, body)
    accounts = await repo.accounts_by_id(session, ids)
    plan = await make_plan(
        session, goal=body.goal, window=body.window, brief=body.brief, accounts=accounts
    )
    campaign_id = await repo.insert_campaign(
        session,
        {
            "name": body.name,
            "goal": body.goal.value,
            "starts_on": body.starts_on,
            "ends_on": body.ends_on,
            "platforms": sorted({str(a["platform"]) for a in accounts}),
            "account_ids": ids,
            "brief": body.brief,
            "window": body.window.value,
            "plan": plan.model_dump(mode="json"),
        },
    )
    return await get_campaign(session, campaign_id)


async def _summary(session: AsyncSession, row: dict[str, Any]) -> CampaignSummary:
    accounts = await repo.accounts_by_id(session, list(row["account_ids"]))
    return CampaignSummary(
        id=row["id"],
        name=row["name"],
        goal=row["goal"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        platforms=list(row["platforms"]),
        accounts=[CampaignAccount.model_validate(a) for a in accounts],
        brief=row["brief"],
        window=row["window"],
        created_at=row["created_at"],
    )


async def get_campaign(
    session: AsyncSession, campaign_id: int, *, today: date | None = None
) -> CampaignPublic:
    """One campaign with its stored plan and its review as of `today` (UTC date by default)."""
    row = await repo.get_campaign(session, campaign_id)
    if row is None:
        raise NotFound(f"no campaign with id {campaign_id}; GET /campaigns lists them")
    summary = await _summary(session, row)
    plan = CampaignPlan.model_validate_json(row["plan"])
    review = await _review(session, summary, plan, today or datetime.now(UTC).date())
    return CampaignPublic(**summary.model_dump(), plan=plan, review=review)


async def campaigns_page(session: AsyncSession, *, cursor: str | None, limit: int) -> CampaignsPage:
    """One page of campaigns, newest first; `next_cursor` names where the next one starts."""
    after = _key(decode_cursor(cursor, kind="campaigns")) if cursor else None
    rows = await repo.page_campaigns(session, after=after, limit=limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(
            {"kind": "campaigns", "after": [last["created_at"].isoformat(), last["id"]]}
        )
    return CampaignsPage(items=[await _summary(session, r) for r in rows], next_cursor=next_cursor)


def _key(payload: dict[str, Any]) -> tuple[str, int]:
    after = payload.get("after")
    if (
        not isinstance(after, list)
        or len(after) != 2
        or not isinstance(after[0], str)
        or not isinstance(after[1], int)
    ):
        raise foreign_cursor()
    try:
        datetime.fromisoformat(after[0])
    except ValueError as exc:
        raise foreign_cursor() from exc
    return after[0], after[1]


async def delete_campaign(session: AsyncSession, campaign_id: int) -> None:
    """Remove a campaign and its plan."""
    if not await repo.delete_campaign(session, campaign_id):
        raise NotFound(f"no campaign with id {campaign_id}; GET /campaigns lists them")


def _status(summary: CampaignSummary, today: date) -> ReviewStatus:
    if today < summary.starts_on:
        return "not_started"
    return "running" if today <= summary.ends_on else "ended"


def _planned(plan: CampaignPlan) -> pl.DataFrame:
    """(platform, key, hashtag) of the planned hashtags (use, else worth testing)."""
    rows = [
        {"platform": s.platform.value, "key": item.hashtag.lower(), "hashtag": item.hashtag}
        for s in plan.platforms
        for item in (s.use or s.worth_testing)
    ]
    schema = {"platform": pl.String, "key": pl.String, "hashtag": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


async def _review(
    session: AsyncSession, summary: CampaignSummary, plan: CampaignPlan, today: date
) -> CampaignReview:
    """The campaign's posts against their account baselines and against the plan."""
    goal = review_goal(summary.goal)
    ids = [a.id for a in summary.accounts]
    posts = await repo.campaign_posts(
        session, account_ids=ids, starts_on=summary.starts_on, ends_on=summary.ends_on
    )
    tags = await repo.hashtags_of_posts(session, posts["post_id"].to_list())
    planned = _planned(plan)
    tagged = (
        tags.with_columns(key=pl.col("hashtag").str.to_lowercase())
        .join(posts.select("post_id", "platform"), on="post_id")
        .join(planned.select("platform", "key", planned_as="hashtag"), on=["platform", "key"])
    )
    with_plan = set(tagged["post_id"].to_list())
    baselines = await repo.baselines(session, account_ids=ids, goal=goal)
    ratios = post_log_ratios(posts.lazy(), baselines.lazy(), goal=goal).collect()
    has_plan = pl.col("post_id").is_in(list(with_plan))
    used = tagged.group_by("platform", "planned_as").agg(posts=pl.col("post_id").n_unique())
    counts = {(r["platform"], r["planned_as"]): r["posts"] for r in used.iter_rows(named=True)}
    return CampaignReview(
        status=_status(summary, today),
        goal=Goal(goal),
        posts=posts.height,
        all_posts=ReviewFigure.model_validate(summarise(ratios)),
        with_planned=ReviewFigure.model_validate(summarise(ratios.filter(has_plan))),
        without_planned=ReviewFigure.model_validate(summarise(ratios.filter(~has_plan))),
        planned_used=[
            PlannedUse(platform=p, hashtag=h, posts=counts.get((p, h), 0))
            for p, h in planned.select("platform", "hashtag").iter_rows()
        ],
        note=(
            f"Each post of the campaign's accounts in its dates against its account's typical "
            f"post ({goal}, all history as of the last full recompute); planned hashtags "
            "compared with posts without them, association not causation."
        ),
    )


_CSV_COLUMNS = [
    "section",
    "platform",
    "account",
    "hashtag",
    "weekday",
    "hour",
    "posts",
    "estimate",
    "estimate_low",
    "estimate_high",
    "qvalue",
    "verdict",
    "text",
]


def plan_csv(campaign: CampaignPublic) -> str:
    """The plan as CSV: one row per planned, worth-testing, avoided and related hashtag and
    per slot, then the caveat; text cells are neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for row in _plan_rows(campaign.plan):
        writer.writerow([csv_cell(row.get(c)) for c in _CSV_COLUMNS])
    return out.getvalue()


def _plan_rows(plan: CampaignPlan) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for section in plan.platforms:
        where = {"platform": section.platform.value, "account": section.account}
        for name, items in (
            ("use", section.use),
            ("worth_testing", section.worth_testing),
            ("avoid", section.avoid),
        ):
            rows += [
                {
                    "section": name,
                    **where,
                    "hashtag": i.hashtag,
                    "posts": i.posts,
                    "estimate": i.expected_lift,
                    "estimate_low": i.expected_low,
                    "estimate_high": i.expected_high,
                    "qvalue": i.qvalue,
                    "verdict": i.verdict,
                    "text": i.reason,
                }
                for i in items
            ]
        if section.note:
            rows.append({"section": "note", **where, "text": section.note})
    rows += [
        {
            "section": "related_hashtag",
            "platform": h.platform.value,
            "hashtag": h.hashtag,
            "posts": h.posts,
            "estimate": h.score,
            "estimate_low": h.score_low,
            "estimate_high": h.score_high,
            "qvalue": h.qvalue,
            "verdict": h.verdict,
            "text": f"used by {h.related_posts} related posts",
        }
        for h in plan.related_hashtags
    ]
    rows += [
        {
            "section": "slot",
            "platform": s.platform.value,
            "account": s.account,
            "weekday": s.weekday,
            "hour": s.hour,
            "posts": s.posts,
            "estimate": s.score,
            "estimate_low": s.score_low,
            "estimate_high": s.score_high,
            "verdict": s.verdict,
            "text": f"rank {s.rank}, local time ({s.timezone})",
        }
        for s in plan.slots
    ]
    rows.append({"section": "caveat", "text": plan.caveat})
    return rows
