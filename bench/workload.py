"""The benchmark workload: the seeded demo generator at the issue's shape.

40 synthetic park accounts (round-robin over the four platforms), a 20,000-tag vocabulary with
Zipf-like popularity, two years of history and ~3.1 post-hashtag links per post (the demo's
default tail rate scaled by `TAIL_SCALE`). Equal sizes on the same UTC day give identical posts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hashtag_core.demo.generator import DemoConfig, generate_posts
from hashtag_core.hashtags import hashtags_in_post

__all__ = ["TAIL_SCALE", "Workload", "bench_config", "generate"]

#: Scales the demo's tail-tag rate from ~2.5 to ~3.1 links per post.
TAIL_SCALE = 1.47
SEED = 2026


def bench_config(posts: int) -> DemoConfig:
    """The demo config of the issue's workload at `posts` posts, ending today at 00:00 UTC
    (so the 7/30/90-day windows the API shows by default are populated)."""
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return DemoConfig(
        seed=SEED,
        posts=posts,
        accounts=40,
        hashtags=20_000,
        days=730,
        end=end,
        tail_scale=TAIL_SCALE,
    )


@dataclass
class Workload:
    """The generated records (PostRecord field names) and their shape."""

    posts: int
    records: list[dict[str, Any]]
    generate_s: float
    shape: dict[str, Any]


def generate(posts: int) -> Workload:
    """Generate the records once (kept in memory, so imports time only the import path)."""
    started = time.perf_counter()
    records = list(generate_posts(bench_config(posts)))
    elapsed = time.perf_counter() - started
    links = 0
    keys: set[str] = set()
    for record in records:
        tags = hashtags_in_post(str(record["text"]), str(record["platform"]))
        links += len(tags)
        keys.update(key for key, _ in tags)
    shape = {
        "posts": len(records),
        "links": links,
        "links_per_post": round(links / max(1, len(records)), 3),
        "hashtags": len(keys),
        "accounts": len({(r["platform"], r["account"]) for r in records}),
        "platforms": len({r["platform"] for r in records}),
        "first_post": min((str(r["posted_at"]) for r in records), default=None),
        "last_post": max((str(r["posted_at"]) for r in records), default=None),
    }
    return Workload(posts=len(records), records=records, generate_s=elapsed, shape=shape)
