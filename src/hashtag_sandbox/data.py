"""The sandbox's accounts and posts: seeded demo posts, kept in canonical form.

Posts are stored as canonical records (PostRecord field names, `posted_at` an aware UTC
datetime) oldest first, append-only, so positions never move and keyset cursors stay valid
while `advance` adds new posts. Each platform module renders them in its native shape, the
inverse of the connectors' mapping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hashtag_core.collect.text import linkedin_text
from hashtag_core.demo import (
    DemoAccount,
    DemoConfig,
    daily_followers,
    demo_accounts,
    generate_posts,
)
from hashtag_core.platforms import Platform
from hashtag_sandbox.config import SandboxConfig

__all__ = ["SandboxAccount", "SandboxData", "SandboxPost", "build_data", "keyset_page"]

_X_EPOCH_MS = 1_288_834_974_657  # Twitter snowflake epoch
_IG_NEW_BASE = 17_990_000_000_000_000  # ids of posts added at runtime (above generated ones)
_FB_NEW_BASE = 990_000_000_000_000
_NEW_SEQ_BASE = 3_000_000  # snowflake low bits of runtime posts, above any generated index
_MEDIA_TYPES = ("IMAGE",) * 7 + ("VIDEO",) * 2 + ("CAROUSEL_ALBUM",)


def _digest(*parts: object) -> int:
    """A stable number from the parts (ids and tokens must not change between runs)."""
    text = ":".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass
class SandboxPost:
    """One post: its canonical record plus native details the record does not hold."""

    record: dict[str, Any]
    media_type: str = "IMAGE"  # Instagram only
    # LinkedIn: `commentary` as served (little text: escapes, hashtag templates, mentions);
    # the record's `text` is what a person reads. None = derived from the record's text.
    native_text: str | None = None
    # Instagram: the account's own first comment, where this post keeps its hashtags (the
    # caption, the record's text, then has none).
    first_comment: str | None = None
    # X: the ids of an edited post's versions, oldest first (empty = never edited), and when
    # the latest version was made (its `created_at`; the record keeps the first version's).
    edit_history: list[str] = field(default_factory=list)
    edited_at: datetime | None = None

    @property
    def post_id(self) -> str:
        """The platform's post id (X/IG number, FB `page_post`, LinkedIn URN)."""
        return str(self.record["post_id"])

    @property
    def posted_at(self) -> datetime:
        """Publication time, aware UTC."""
        value: datetime = self.record["posted_at"]
        return value


@dataclass
class SandboxAccount:
    """One account with its token and posts (oldest first)."""

    platform: Platform
    handle: str
    external_id: str
    token: str
    timezone: str
    followers: int
    posts: list[SandboxPost] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    #: Follower count at each 00:00 UTC of the history, oldest first (the platforms' daily
    #: follower statistics are derived from it).
    follower_days: list[tuple[datetime, int]] = field(default_factory=list)

    def daily_gains(self, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
        """(end of day, followers gained that day) for the days ending in (since, until]."""
        days = self.follower_days
        return [
            (end, count - days[i - 1][1])
            for i, (end, count) in enumerate(days)
            if i > 0 and since < end <= until
        ]

    def append(self, post: SandboxPost) -> None:
        """Add a post at the newest end."""
        self.index[post.post_id] = len(self.posts)
        self.posts.append(post)

    def newest_first(self, before: int | None = None) -> Iterator[tuple[int, SandboxPost]]:
        """(position, post) pairs, newest first, starting below `before` if given."""
        top = len(self.posts) if before is None else before
        for pos in range(top - 1, -1, -1):
            yield pos, self.posts[pos]

    @property
    def urn(self) -> str:
        """LinkedIn organization URN (LinkedIn accounts only)."""
        return f"urn:li:organization:{self.external_id}"


class SandboxData:
    """All accounts and an index of their posts by platform and id."""

    def __init__(self, accounts: list[SandboxAccount], seed: int) -> None:
        """Index `accounts`; `seed` drives the posts that `advance` adds."""
        self.accounts = accounts
        self._seed = seed
        self._added = 0
        self.by_id = {(a.platform, a.external_id): a for a in accounts}
        self.by_token = {(a.platform, a.token): a for a in accounts}
        self.posts: dict[tuple[Platform, str], tuple[SandboxAccount, SandboxPost]] = {}
        # Earlier versions of edited X posts by id: the version as it was, and the post.
        self._x_versions: dict[str, tuple[SandboxAccount, SandboxPost, SandboxPost]] = {}
        for account in accounts:
            for post in account.posts:
                self.posts[(account.platform, post.post_id)] = (account, post)

    def account(self, platform: Platform, external_id: str) -> SandboxAccount | None:
        """The account with this platform id (LinkedIn: number or organization URN)."""
        key = external_id.removeprefix("urn:li:organization:")
        return self.by_id.get((platform, key))

    def post(self, platform: Platform, post_id: str) -> tuple[SandboxAccount, SandboxPost] | None:
        """The post with this id and its account."""
        return self.posts.get((platform, post_id))

    def x_version(self, post_id: str) -> tuple[SandboxAccount, SandboxPost] | None:
        """An earlier version of an edited X post, as X still serves it by its id.

        Its own text and counters (as they were at the edit) and the whole edit chain: a
        lookup of the first version after an edit answers that version, not the latest one,
        with `edit_history_tweet_ids` naming both (a twarc recording, DocNow/twarc-csv
        `test-data/edited_before.jsonl`). Timelines and search list only the latest version.
        """
        found = self._x_versions.get(post_id)
        if found is None:
            return None
        account, version, latest = found
        return account, replace(version, edit_history=list(latest.edit_history))

    def meta_platform(self, object_id: str) -> Platform | None:
        """Whether a Graph API object id belongs to Instagram or Facebook (None = unknown)."""
        for platform in (Platform.INSTAGRAM, Platform.FACEBOOK):
            if (platform, object_id) in self.by_id or (platform, object_id) in self.posts:
                return platform
        return None

    def advance(
        self, count: int, handles: list[str] | None = None, at: datetime | None = None
    ) -> dict[str, list[str]]:
        """Append `count` new posts to each (selected) account; returns their ids.

        They are posted a minute after the account's newest post, or from `at` on (which must
        not be older than any account's newest post: posts stay in time order).
        """
        added: dict[str, list[str]] = {}
        for account in self.accounts:
            if handles is not None and account.handle not in handles:
                continue
            added[account.handle] = [self._add_post(account, i, at) for i in range(count)]
        return added

    def edit_x_post(self, post_id: str, text: str, at: datetime | None = None) -> str:
        """Edit an X post as X does: a new id for the new version, the history chained.

        The post keeps its place and first version's time; returns the new id.
        """
        account, post = self.posts.pop((Platform.X, post_id))
        self._x_versions[post_id] = (account, replace(post, record=dict(post.record)), post)
        when = (at or datetime.now(UTC)).astimezone(UTC)
        self._added += 1
        new_id, url = _new_identity(account, when, _NEW_SEQ_BASE + self._added)
        post.edit_history = (post.edit_history or [post_id]) + [new_id]
        post.edited_at = when
        post.record |= {"post_id": new_id, "url": url, "text": text}
        account.index[new_id] = account.index.pop(post_id)
        self.posts[(Platform.X, new_id)] = (account, post)
        return new_id

    def _add_post(self, account: SandboxAccount, i: int, at: datetime | None) -> str:
        """A copy of an older post of the account, one minute after its newest post."""
        self._added += 1
        seq = _NEW_SEQ_BASE + self._added
        newest = account.posts[-1] if account.posts else None
        base = newest.posted_at if newest else datetime.now(UTC).replace(microsecond=0)
        first = at.astimezone(UTC).replace(microsecond=0) if at else base + timedelta(minutes=1)
        when = first + timedelta(seconds=i % 7)
        template = account.posts[_digest(self._seed, seq) % len(account.posts)] if newest else None
        account.followers += max(account.followers // 1000, 1)
        record = dict(template.record) if template else _empty_record(account)
        post_id, url = _new_identity(account, when, seq)
        record |= {
            "post_id": post_id,
            "url": url,
            "posted_at": when,
            "followers": account.followers,
        }
        post = SandboxPost(
            record,
            template.media_type if template else "IMAGE",
            template.native_text if template else None,
        )
        account.append(post)
        self.posts[(account.platform, post_id)] = (account, post)
        return post_id


def _empty_record(account: SandboxAccount) -> dict[str, Any]:
    """Text and counters for a first post of an account without history."""
    saves = 0 if account.platform in (Platform.X, Platform.INSTAGRAM) else None
    reach = None if account.platform is Platform.X else 0
    counters = {"likes": 0, "comments": 0, "shares": 0, "saves": saves, "impressions": 0}
    return {
        "platform": account.platform.value,
        "account": account.handle,
        "text": "Hello from the sandbox #LEGOLAND",
        **counters,
        "reach": reach,
        "account_timezone": account.timezone,
    }


def _new_identity(account: SandboxAccount, when: datetime, seq: int) -> tuple[str, str]:
    """(post_id, url) of a post added at runtime, in the platform's own format."""
    ms = int(when.timestamp() * 1000)
    if account.platform is Platform.X:
        number = ((ms - _X_EPOCH_MS) << 22) | (seq & 0x3FFFFF)
        return str(number), f"https://x.com/{account.handle}/status/{number}"
    if account.platform is Platform.INSTAGRAM:
        media = _IG_NEW_BASE + seq
        return str(media), f"https://www.instagram.com/p/SBX{media}/"
    if account.platform is Platform.FACEBOOK:
        story = _FB_NEW_BASE + seq
        url = f"https://www.facebook.com/{account.external_id}/posts/{story}"
        return f"{account.external_id}_{story}", url
    urn = f"urn:li:share:{(ms << 22) | (seq & 0x3FFFFF)}"
    return urn, f"https://www.linkedin.com/feed/update/{urn}/"


def _external_id(demo: DemoAccount, records: list[dict[str, Any]]) -> str:
    """A stable platform id for a demo account (Facebook: the page id in its post ids)."""
    h = _digest("account", demo.platform.value, demo.handle)
    if demo.platform is Platform.X:
        return str(1_000_000_000 + h % 9_000_000_000)
    if demo.platform is Platform.INSTAGRAM:
        return str(17_841_400_000_000_000 + h % 100_000_000_000)
    if demo.platform is Platform.FACEBOOK:
        if records:
            return str(records[0]["post_id"]).split("_", 1)[0]
        return str(100_000_000_000_000 + h % 900_000_000_000_000)
    return str(10_000_000 + h % 90_000_000)


def _to_sandbox_post(record: dict[str, Any]) -> SandboxPost:
    """Canonical record with an aware UTC datetime; some LinkedIn posts become ugcPosts."""
    record = dict(record)
    record["posted_at"] = datetime.fromisoformat(record["posted_at"]).astimezone(UTC)
    h = _digest("post", record["post_id"])
    native = None
    if record["platform"] == Platform.LINKEDIN.value:
        # The generator writes LinkedIn's markup; the canonical record holds what people read.
        native = str(record["text"])
        record["text"] = linkedin_text(native)
    if record["platform"] == Platform.LINKEDIN.value and h % 5 == 0:
        # Videos and some UI-created posts are ugcPosts; the statistics call lists them apart.
        urn = str(record["post_id"]).replace("urn:li:share:", "urn:li:ugcPost:")
        record |= {"post_id": urn, "url": f"https://www.linkedin.com/feed/update/{urn}/"}
    post = SandboxPost(record, _MEDIA_TYPES[h % len(_MEDIA_TYPES)], native)
    if record["platform"] == Platform.INSTAGRAM.value and h % 4 == 1 and record["comments"]:
        _move_tags_to_first_comment(post)
    return post


def _move_tags_to_first_comment(post: SandboxPost) -> None:
    """Put the caption's hashtags into the account's own first comment (a quarter of the
    Instagram posts with comments, as many accounts do)."""
    text = str(post.record["text"])
    tags = [t for t in text.split() if t.startswith("#")]
    if not tags:
        return
    caption = " ".join(t for t in text.split() if not t.startswith("#"))
    post.record["text"] = caption
    post.first_comment = " ".join(tags)


def build_data(config: SandboxConfig) -> SandboxData:
    """Generate the posts and accounts `config` describes."""
    end = config.end or datetime.now(UTC).replace(microsecond=0)
    demo = DemoConfig(
        seed=config.seed,
        posts=config.posts,
        accounts=config.demo_accounts,
        days=config.days,
        end=end,
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in generate_posts(demo):
        grouped.setdefault(str(record["account"]), []).append(record)
    accounts = []
    history = daily_followers(demo)
    for demo_account in demo_accounts(demo):
        if config.handles is not None and demo_account.handle not in config.handles:
            continue
        records = grouped.get(demo_account.handle, [])
        if config.max_posts_per_account is not None:
            records = (
                records[len(records) - config.max_posts_per_account :]
                if config.max_posts_per_account
                else []
            )
        account = _account(config, demo_account, records)
        account.follower_days = history.get(demo_account.handle, [])
        accounts.append(account)
    return SandboxData(accounts, config.seed)


def _account(
    config: SandboxConfig, demo: DemoAccount, records: list[dict[str, Any]]
) -> SandboxAccount:
    """One sandbox account from a demo account and its records (oldest first)."""
    external_id = _external_id(demo, records)
    digest = hashlib.sha256(
        f"{config.seed}:{demo.platform.value}:{demo.handle}".encode()
    ).hexdigest()
    token = config.tokens.get(demo.handle, f"sbx_{demo.platform.value}_{digest[:32]}")
    followers = int(records[-1]["followers"]) if records else demo.followers
    account = SandboxAccount(
        demo.platform, demo.handle, external_id, token, demo.timezone, followers
    )
    for record in records:
        account.append(_to_sandbox_post(record))
    return account


def keyset_page(
    account: SandboxAccount,
    after_id: str | None,
    limit: int,
    *,
    keep: Callable[[SandboxPost], bool] = lambda post: True,
    stop: Callable[[SandboxPost], bool] = lambda post: False,
    repeat_cursor: bool = False,
) -> tuple[list[SandboxPost], bool]:
    """A newest-first page below the post `after_id`: (posts, whether more follow).

    `stop` ends the walk (a lower bound: everything older fails it too), `keep` filters.
    `repeat_cursor` starts the page with the cursor post itself: a duplicate across pages.
    Raises KeyError for an unknown cursor.
    """
    before = None
    if after_id is not None:
        before = account.index[after_id] + (1 if repeat_cursor else 0)
    page: list[SandboxPost] = []
    for _, post in account.newest_first(before):
        if stop(post):
            return page, False
        if not keep(post):
            continue
        if len(page) == limit:
            return page, True
        page.append(post)
    return page, False
