"""Ranking study, demo line: the demo's planted lifting tag is visible in every window.

On the project's demo data (`hashtag_core.demo`, 12,000 posts over two years, frames built as
in tests/analytics/test_insights_demo.py), the planted #BuildTogether (x1.6 engagement) must
have verdict "lifts" and be in the top 3 of the default ranking (scope all posts, goal
engagement) in every window where it has at least DEMO_MIN_POSTS posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from tests.analytics.test_insights_demo import END, build_demo

from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS, WINDOWS
from hashtag_core.analytics.lift import hashtag_lift
from hashtag_core.demo.generator import PLANTED_EFFECTS

__all__ = ["DEMO_MIN_POSTS", "DEMO_TOP", "DemoLine", "demo_lines", "demo_table"]

DEMO_MIN_POSTS = 30
DEMO_TOP = 3
_ORDER = {"lifts": 0, "unclear": 1, "underperforms": 2, "too_few_posts": 3}


@dataclass(frozen=True)
class DemoLine:
    """The planted tag in one window: its posts, verdict, rank and whether that is enough."""

    window: str
    posts: int
    verdict: str
    rank: int
    score_rank: int  # rank under plain score order (reported, not judged)
    score: float
    judged: bool

    @property
    def ok(self) -> bool:
        return not self.judged or (self.verdict == "lifts" and self.rank <= DEMO_TOP)


def demo_lines(posts: int = 12_000) -> list[DemoLine]:
    """One line per window, from the production engagement lift of the demo data."""
    demo = build_demo(posts)
    relative = relative_performance(demo.posts, now=END, goals=["engagement"])
    rows = (
        hashtag_lift(relative, demo.links)
        .filter(pl.col("platform") == ALL_PLATFORMS, pl.col("account_id") == ALL_ACCOUNTS)
        .collect()
    )
    planted = demo.id(PLANTED_EFFECTS.lift.name)
    order = pl.col("verdict").replace_strict(_ORDER, default=len(_ORDER))
    lines = []
    for window in WINDOWS:
        score = -pl.col("score").fill_null(-float("inf"))
        ranked = (
            rows.filter(pl.col("window") == window)
            .sort(score)
            .with_row_index("score_rank", offset=1)
            .sort([order, score])
            .with_row_index("rank", offset=1)
            .filter(pl.col("hashtag_id") == planted)
        )
        if ranked.is_empty():
            lines.append(DemoLine(window, 0, "-", 0, 0, float("nan"), judged=False))
            continue
        row = ranked.row(0, named=True)
        n = int(row["posts"])
        ranks = int(row["rank"]), int(row["score_rank"])
        lines.append(DemoLine(window, n, row["verdict"], *ranks, row["score"], n >= DEMO_MIN_POSTS))
    return lines


def demo_table(lines: list[DemoLine]) -> str:
    """Markdown table of the demo lines."""
    out = [
        f"| window | #{PLANTED_EFFECTS.lift.name} posts | verdict | rank | rank by score | score "
        f"| judged (>= {DEMO_MIN_POSTS} posts) | ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in lines:
        score = f"{100 * d.score:+.1f}%" if d.score == d.score else "-"
        out.append(
            f"| {d.window} | {d.posts} | {d.verdict} | {d.rank} | {d.score_rank} | {score} | "
            f"{'yes' if d.judged else 'no'} | {'yes' if d.ok else 'NO'} |"
        )
    return "\n".join(out)
