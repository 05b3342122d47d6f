"""Cursors of the hashtag reads: each carries the whole query it continues.

A caller passes `next_cursor` back alone. Parameters sent with a cursor must agree with it
(422 naming the one that differs): a page never silently mixes two queries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from hashtag_core.bounds import check_instant, check_int64
from hashtag_core.errors import InvalidInput
from hashtag_core.hashtags.schemas import Goal, PerformanceSort, PostSort, SortOrder, Window
from hashtag_core.paging import decode_cursor, encode_cursor, foreign_cursor
from hashtag_core.platforms import Platform

__all__ = ["PerformanceQuery", "PostQuery", "resume", "resume_performance"]


@dataclass(frozen=True)
class PostQuery:
    """What a page of a hashtag's posts is of: its cursor carries all of it."""

    sort: PostSort = PostSort.NEWEST
    platform: Platform | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    window: Window = Window.ALL
    language: str | None = None

    def encode(self, key: Any, post_id: int, hashtag: str) -> str:
        """The cursor of the page after the row (key, post id)."""
        payload = {
            "kind": "hashtag-posts",
            "tag": hashtag,
            "after": [key.isoformat() if isinstance(key, datetime) else key, post_id],
            **{name: _plain(getattr(self, name)) for name in _QUERY_FIELDS},
        }
        return encode_cursor(payload)


_QUERY_FIELDS = ("sort", "platform", "account", "since", "until", "window", "language")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value.value if isinstance(value, StrEnum) else value


def resume(
    cursor: str | None, hashtag: str, given: dict[str, Any]
) -> tuple[PostQuery, tuple[Any, int] | None]:
    """The query and keyset of a page: from the cursor (parameters sent with it must agree
    with it), or from the parameters given (None: not sent) for a first page."""
    sent = {name: value for name, value in given.items() if value is not None}
    if cursor is None:
        return PostQuery(**sent), None
    payload = decode_cursor(cursor, kind="hashtag-posts")
    try:
        query = PostQuery(
            sort=PostSort(payload["sort"]),
            platform=Platform(payload["platform"]) if payload["platform"] else None,
            account=payload["account"],
            since=_instant(payload["since"]),
            until=_instant(payload["until"]),
            window=Window(payload["window"]),
            language=payload.get("language"),
        )
        if query.language is not None and not isinstance(query.language, str):
            raise TypeError
        key, post_id = payload["after"]
        if query.sort is PostSort.NEWEST:
            key = check_instant(datetime.fromisoformat(key))
            if key.tzinfo is None:
                raise TypeError
        elif not isinstance(key, int) or isinstance(key, bool):
            raise TypeError
        else:
            check_int64(key)
        if payload["tag"] != hashtag or not isinstance(post_id, int) or isinstance(post_id, bool):
            raise TypeError
        check_int64(post_id)
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        raise foreign_cursor() from exc
    _agree(query, sent)
    return query, (key, post_id)


def _instant(value: str | None) -> datetime | None:
    return check_instant(datetime.fromisoformat(value)) if value is not None else None


def _agree(query: Any, sent: dict[str, Any]) -> None:
    for name, value in sent.items():
        if getattr(query, name) != value:
            raise InvalidInput(
                f"{name} differs from the query this cursor continues; send the cursor alone "
                "(it carries the sort and filters) or start again without it",
                field=name,
            )


@dataclass(frozen=True)
class PerformanceQuery:
    """What a page of `GET /hashtag-performance` is of."""

    platform: Platform | None
    account: str | None
    window: Window
    min_posts: int
    goal: Goal
    sort: PerformanceSort
    order: SortOrder

    def encode(self, offset: int) -> str:
        """The cursor of the page that starts at `offset`."""
        payload = {name: _plain(value) for name, value in asdict(self).items()}
        return encode_cursor({"kind": "performance", "offset": offset, **payload})


def resume_performance(
    cursor: str | None, query: PerformanceQuery, sent: set[str], offset: int
) -> tuple[PerformanceQuery, int]:
    """The query and offset of a page: `query` and `offset` as sent, or what the cursor
    carries (the parameters in `sent`, those the caller gave, must agree with it)."""
    if cursor is None:
        return query, offset
    payload = decode_cursor(cursor, kind="performance")
    try:
        carried = PerformanceQuery(
            platform=Platform(payload["platform"]) if payload["platform"] else None,
            account=payload["account"],
            window=Window(payload["window"]),
            min_posts=int(payload["min_posts"]),
            goal=Goal(payload["goal"]),
            sort=PerformanceSort(payload["sort"]),
            order=SortOrder(payload["order"]),
        )
        start = payload["offset"]
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise TypeError
        check_int64(start)
    except (KeyError, ValueError, TypeError) as exc:
        raise foreign_cursor() from exc
    names = {f.name for f in fields(PerformanceQuery)}
    _agree(carried, {name: getattr(query, name) for name in sent & names})
    if "offset" in sent:
        raise InvalidInput("send either offset or cursor, not both", field="offset")
    return carried, start
