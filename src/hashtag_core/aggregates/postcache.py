"""The posts and links of recently updated hashtags, kept between incremental passes.

An incremental pass needs every post of each hashtag an update touched; for a popular hashtag
that is a tenth of all posts, and reading them is most of the pass. One worker process keeps
them from its last pass and brings them up to date from the dirty posts alone, so a later
update of the same hashtags reads a handful of rows instead.

The copy is used only if it is as of the state the pass starts from: the same database, and
the recompute bookkeeping row last written by this process's previous pass (its xmin; a full
pass, another worker's pass or a reset writes a new one). In between, only single-post
updates can have changed posts (any other write makes the next pass a full one), and those
are the dirty posts the pass applies to the copy. Anything else empties it. At most
`max_rows` posts are kept.

A copy is *settled* when every update it holds is also in the aggregate rows (it was taken
with no update pending, or by a pass, which applies every pending update). Then the copy's
rows of the posts a pass is about to apply are their old versions, which the pass can take
out of the stored figures (`Before`, and `aggregates.delta`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection

from hashtag_core.aggregates import repository as repo

__all__ = ["Before", "CacheState", "PostsCache"]

CacheState = tuple[str, str]
"""(database, `repository.state_token`): which write of the recompute bookkeeping the posts
are as of."""


@dataclass(frozen=True)
class Before:
    """The updated posts as a settled copy held them before a pass: their rows and their links
    to `hashtags` (every hashtag whose posts the copy held, all of them)."""

    hashtags: frozenset[int]
    posts: pl.DataFrame
    links: pl.DataFrame


@dataclass
class PostsCache:
    """See the module docstring. Not shared across processes; used by one pass at a time
    (passes hold the apply lock)."""

    max_rows: int = 1_000_000
    state: CacheState | None = None
    hashtags: set[int] = field(default_factory=set)
    posts: pl.DataFrame | None = None
    links: pl.DataFrame | None = None
    settled: bool = False
    reads: dict[str, int] = field(default_factory=lambda: {"hit": 0, "miss": 0})

    def clear(self) -> None:
        self.state, self.hashtags, self.posts, self.links = None, set(), None, None
        self.settled = False

    def keep(
        self,
        state: CacheState,
        hashtags: Sequence[int],
        posts: pl.DataFrame,
        links: pl.DataFrame,
        *,
        settled: bool,
    ) -> None:
        """Hold `posts` and `links`, every post and link of `hashtags` as of `state` (read in
        the snapshot that saw `state`), in place of anything held."""
        self.clear()
        if posts.height <= self.max_rows:
            self.state, self.hashtags, self.posts, self.links = state, set(hashtags), posts, links
            self.settled = settled

    async def load(
        self,
        conn: AsyncConnection,
        hashtags: Sequence[int],
        dirty: pl.DataFrame,
        *,
        before: CacheState,
        after: CacheState,
    ) -> tuple[pl.DataFrame, pl.DataFrame, Before | None]:
        """Posts (with every post of `hashtags`) and links as of `after`, when the cache is as
        of `before` and `dirty` (load_posts rows of the posts updated in between) is applied;
        and, from a settled copy, what it held of the dirty posts (else None). The caller
        applies every pending update, so the copy is settled afterwards."""
        if self.state != before or self.posts is None or self.links is None:
            self.clear()
        posts, links = self.posts, self.links
        old = None
        if posts is not None and links is not None and self.settled:
            changed = dirty["post_id"]
            old = Before(
                frozenset(self.hashtags),
                posts.filter(pl.col("post_id").is_in(changed.implode())),
                links.filter(pl.col("post_id").is_in(changed.implode())),
            )
        if posts is not None and links is not None and dirty.height:
            changed = dirty["post_id"]
            fresh = await repo.load_links_of_posts(conn, changed.to_list())
            fresh = fresh.filter(pl.col("hashtag_id").is_in(list(self.hashtags)))
            links = pl.concat([links.filter(~pl.col("post_id").is_in(changed)), fresh])
            posts = pl.concat(
                [posts.filter(~pl.col("post_id").is_in(changed)), dirty], how="vertical_relaxed"
            )
        missing = sorted(set(hashtags) - self.hashtags)
        self.reads["hit" if not missing else "miss"] += 1
        if missing:
            more_posts = await repo.load_posts(conn, missing)
            more_links = await repo.load_links(conn, missing)
            if posts is None or links is None:
                posts, links = more_posts, more_links
            else:
                known = posts["post_id"]
                posts = pl.concat(
                    [posts, more_posts.filter(~pl.col("post_id").is_in(known))],
                    how="vertical_relaxed",
                )
                links = pl.concat([links, more_links])
        assert posts is not None
        assert links is not None
        if posts.height > self.max_rows:
            self.clear()
        else:
            self.state, self.posts, self.links = after, posts, links
            self.hashtags |= set(missing)
            self.settled = True
        return posts, links, old
