"""SQL for storing posts. Bulk writes go through COPY into a temporary staging table and then
set-based statements, so a batch of thousands of rows costs a handful of round trips.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hashtag_core.ingest.schemas import PostRecord
from hashtag_core.rawsql import session_driver

__all__ = [
    "BatchOutcome",
    "StageRows",
    "StagedPost",
    "IMPORTED_TABLES",
    "analyze_after_import",
    "bump_data_version",
    "get_post",
    "hashtag_ids",
    "mark_dirty",
    "mark_dirty_many",
    "post_history",
    "relink_hashtags",
    "request_refresh",
    "stored_links",
    "update_post",
    "stage_rows",
    "upsert_batch",
    "upsert_staged",
]

_STAGE_COLUMNS = (
    "row_no",
    "platform",
    "post_id",
    "account",
    "text",
    "posted_at",
    "url",
    "likes",
    "comments",
    "shares",
    "saves",
    "impressions",
    "reach",
    "followers",
    "account_timezone",
    "language",
    "sentiment",
)
_METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")


@dataclass(frozen=True)
class StagedPost:
    """A validated record with its input row number and the hashtags read from its text."""

    row: int
    record: PostRecord
    hashtags: Sequence[tuple[str, str]]  # (key, spelling), unique per post
    language: str = "unknown"  # hashtag_core.language code of the text
    sentiment: float | None = None  # compound score, None where the language is not scored
    #: Hashtags only in the account's own first comment (Instagram), not in the text.
    comment_hashtags: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch did to the database."""

    inserted: int
    updated: int
    duplicates: int  # rows that repeated a post already in this batch (last one wins)


def _stage_tuple(item: StagedPost) -> tuple[Any, ...]:
    r = item.record
    return (
        item.row,
        r.platform.value,
        r.post_id,
        r.account,
        r.text,
        r.posted_at,
        r.url,
        r.likes,
        r.comments,
        r.shares,
        r.saves,
        r.impressions,
        r.reach,
        r.followers,
        r.account_timezone,
        item.language,
        item.sentiment,
    )


_CREATE_STAGE = """
CREATE TEMP TABLE stage_post (
    row_no integer, platform text, post_id text, account text, text text,
    posted_at timestamptz, url text, likes bigint, comments bigint, shares bigint,
    saves bigint, impressions bigint, reach bigint, followers bigint, account_timezone text,
    language text, sentiment double precision
) ON COMMIT DROP;
CREATE TEMP TABLE stage_tag (
    row_no integer, hashtag_id bigint, spelling text, in_comment boolean
) ON COMMIT DROP;
"""

#: The batch's accounts (`StageRows.accounts`): a time zone given in the batch replaces the
#: stored one; an account new to the service without one is on UTC.
_ACCOUNTS = """
INSERT INTO account (platform, external_id, handle, timezone)
SELECT a.platform, a.handle, a.handle, coalesce(a.timezone, 'UTC')
FROM unnest($1::text[], $2::text[], $3::text[]) AS a(platform, handle, timezone)
ORDER BY a.platform, a.handle
ON CONFLICT (platform, handle) DO UPDATE SET timezone = EXCLUDED.timezone
WHERE EXCLUDED.timezone <> account.timezone
  AND EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[], $3::text[]) AS g(platform, handle, tz)
              WHERE g.platform = EXCLUDED.platform AND g.handle = EXCLUDED.handle
                AND g.tz IS NOT NULL)
"""


#: A collected post's `followers`: the account's count nearest in time to the post among the
#: follower snapshots already stored (the one just before or just after it), else the count
#: this collection read (at now()). The connector can only read today's count, which for a
#: post of last year is not the count it went out to.
_FOLLOWERS_AT_POST = """
CASE
  WHEN b.captured_at IS NOT NULL
       AND s.posted_at - b.captured_at <= coalesce(f.captured_at, now()) - s.posted_at
    THEN b.followers
  WHEN f.captured_at IS NOT NULL THEN f.followers
  ELSE coalesce(s.followers, b.followers)
END"""

_NEAREST_SNAPSHOTS = """
LEFT JOIN LATERAL (
  SELECT captured_at, followers FROM follower_snapshot fs
  WHERE fs.account_id = a.id AND fs.captured_at <= s.posted_at
  ORDER BY fs.captured_at DESC LIMIT 1) b ON true
LEFT JOIN LATERAL (
  SELECT captured_at, followers FROM follower_snapshot fs
  WHERE fs.account_id = a.id AND fs.captured_at > s.posted_at
  ORDER BY fs.captured_at LIMIT 1) f ON true"""

#: An import's `followers` is the count when the post went out, a real point of the account's
#: history. A connector can only read today's count; the sync records that once, at collection
#: time, instead of back-dating it to every post.
_FOLLOWERS = """,
fol AS (
  INSERT INTO follower_snapshot (account_id, captured_at, followers, source)
  SELECT DISTINCT ON (st.account_id, st.posted_at) st.account_id, st.posted_at, st.followers, $1
  FROM staged st WHERE st.followers IS NOT NULL
  ORDER BY st.account_id, st.posted_at, st.row_no DESC
  ON CONFLICT (account_id, captured_at) DO UPDATE SET followers = EXCLUDED.followers
)"""


def _store_sql(*, collected: bool = False) -> str:
    """One statement per batch: upsert the posts, append their metric snapshots (and, for an
    import, the follower counts they carry) and link the new posts to their hashtags.

    The rows come back from the upsert (RETURNING), so nothing scans `post` to find them. A
    post this statement inserts has no links yet; the ids and rows of the posts it updated
    are returned for `_RELINK_UPDATED` (their old links must go first)."""
    # A re-import is a newer look at the same post: text and known metrics replace the stored
    # ones, but a metric the new source does not report (NULL) keeps the stored value.
    # Language and sentiment follow the new text (a NULL sentiment is "not scored", not
    # "unknown": it replaces the stored score too).
    # Collected posts keep the follower count they were first stored with: a later re-fetch
    # reads the account's count at that later moment, not at the post's.
    keep = ",\n    ".join(
        f"{m} = coalesce(post.{m}, EXCLUDED.{m})"
        if collected and m == "followers"
        else f"{m} = coalesce(EXCLUDED.{m}, post.{m})"
        for m in _METRICS
    )
    cols = ", ".join(_METRICS)
    scols = ", ".join(
        _FOLLOWERS_AT_POST if collected and m == "followers" else f"s.{m}" for m in _METRICS
    )
    nearest = _NEAREST_SNAPSHOTS if collected else ""
    # A collection is an observation at a time of its own: its snapshot is recorded even if
    # nothing changed. An import's snapshots are added by `_SNAPSHOT_CHANGED`, afterwards.
    snap = (
        f"""
snap AS (
  INSERT INTO post_metric_snapshot (post_id, {cols}, source)
  SELECT id, {cols}, $1 FROM up
),"""
        if collected
        else ""
    )
    return f"""
WITH up AS (
  INSERT INTO post (account_id, platform, platform_post_id, text, posted_at, url, language,
                    sentiment, {cols})
  SELECT a.id, s.platform, s.post_id, s.text, s.posted_at, s.url, s.language, s.sentiment,
         {scols}
  FROM stage_post s JOIN account a ON a.platform = s.platform AND a.handle = s.account{nearest}
  -- Rows are locked in this order: concurrent imports of overlapping posts queue, not deadlock.
  ORDER BY s.platform, s.post_id
  ON CONFLICT (platform, platform_post_id) DO UPDATE SET
    account_id = EXCLUDED.account_id, text = EXCLUDED.text, posted_at = EXCLUDED.posted_at,
    url = coalesce(EXCLUDED.url, post.url), updated_at = now(),
    language = EXCLUDED.language, sentiment = EXCLUDED.sentiment,
    {keep}
  RETURNING id, account_id, platform, platform_post_id, {cols}, (xmax = 0) AS inserted
),
staged AS (
  SELECT up.id, up.account_id, up.inserted, s.row_no, s.posted_at, s.followers
  FROM up JOIN stage_post s ON s.platform = up.platform AND s.post_id = up.platform_post_id
),
{snap}{"" if collected else _FOLLOWERS.lstrip(",") + ","}
links AS (
  INSERT INTO post_hashtag (post_id, hashtag_id, spelling, in_first_comment)
  SELECT st.id, t.hashtag_id, t.spelling, t.in_comment
  FROM staged st JOIN stage_tag t ON t.row_no = st.row_no
  WHERE st.inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated,
       coalesce(array_agg(id) FILTER (WHERE NOT inserted), '{{}}') AS ids,
       coalesce(array_agg(row_no) FILTER (WHERE NOT inserted), '{{}}') AS rows,
       coalesce(array_agg(id), '{{}}') AS all_ids
FROM staged
"""


#: A metric snapshot of each imported post ($1) whose metrics differ from its latest
#: snapshot's, so that importing the same file again adds none. A separate statement, not a
#: CTE of `_store_sql`: the posts are locked by now (no other writer can add a snapshot of
#: them until this transaction ends), and a new statement sees every snapshot committed
#: before the lock was granted; a CTE would see only those committed before it started.
_SNAPSHOT_CHANGED = f"""
INSERT INTO post_metric_snapshot (post_id, {", ".join(_METRICS)}, source)
SELECT p.id, {", ".join(f"p.{m}" for m in _METRICS)}, $2
FROM post p
LEFT JOIN LATERAL (
  SELECT {", ".join(_METRICS)} FROM post_metric_snapshot ms WHERE ms.post_id = p.id
  ORDER BY ms.captured_at DESC, ms.id DESC LIMIT 1) last ON true
WHERE p.id = ANY($1::bigint[])
  AND ({", ".join(f"last.{m}" for m in _METRICS)})
      IS DISTINCT FROM ({", ".join(f"p.{m}" for m in _METRICS)})
"""

#: The batch's hashtags (`StageRows.hashtags`), new ones spelled as first seen; the ids of
#: those it inserted and of those already stored (as of the statement's start: a hashtag another
#: transaction commits meanwhile is in neither, `_HASHTAG_IDS` finds it).
_HASHTAGS = """
WITH t AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(key, spelling)),
ins AS (
  INSERT INTO hashtag (key, display) SELECT t.key, t.spelling FROM t ORDER BY t.key
  ON CONFLICT (key) DO NOTHING
  RETURNING id, key
)
SELECT id, key FROM ins UNION ALL SELECT h.id, h.key FROM hashtag h JOIN t ON h.key = t.key
"""
_HASHTAG_IDS = "SELECT id, key FROM hashtag WHERE key = ANY($1::text[])"

#: The posts a batch updated (ids and their stage rows): their links are replaced.
_UNLINK_UPDATED = "DELETE FROM post_hashtag WHERE post_id = ANY($1::bigint[])"
_LINK_UPDATED = """
INSERT INTO post_hashtag (post_id, hashtag_id, spelling, in_first_comment)
SELECT u.id, t.hashtag_id, t.spelling, t.in_comment
FROM unnest($1::bigint[], $2::integer[]) AS u(id, row_no) JOIN stage_tag t ON t.row_no = u.row_no
"""


@dataclass(frozen=True)
class StageRows:
    """A batch as the staging tables take it (built off the event loop: plain tuples)."""

    posts: list[tuple[Any, ...]]  # _STAGE_COLUMNS, one per post (the last row of each)
    tags: list[tuple[int, str, str, bool]]  # (row_no, key, spelling, in first comment)
    accounts: tuple[list[str], list[str], list[str | None]]  # platform, handle, time zone
    hashtags: tuple[list[str], list[str]]  # key, spelling of each hashtag once
    duplicates: int  # rows dropped because a later row has the same post


def stage_rows(batch: Sequence[StagedPost]) -> StageRows:
    """The staging rows of a batch: rows repeating a post a later row also has are dropped
    (the last one wins), the rest keep batch order. Every row's tags are kept, so a superseded
    row's hashtags are still registered (spelled as first seen); only kept rows are linked.
    An account's time zone is the one its last (kept) row that gives one gives."""
    last: dict[tuple[str, str], int] = {}
    for item in batch:
        post = (item.record.platform.value, item.record.post_id)
        if last.get(post, item.row) <= item.row:
            last[post] = item.row
    kept = [i for i in batch if last[(i.record.platform.value, i.record.post_id)] == i.row]
    zones: dict[tuple[str, str], tuple[bool, int, str | None]] = {}
    for i in kept:
        r = i.record
        rank = (r.account_timezone is not None, i.row, r.account_timezone)
        account = (r.platform.value, r.account)
        if account not in zones or rank[:2] > zones[account][:2]:
            zones[account] = rank
    spellings: dict[str, tuple[int, str]] = {}
    for i in batch:
        for key, spelling in (*i.hashtags, *i.comment_hashtags):
            if key not in spellings or i.row < spellings[key][0]:
                spellings[key] = (i.row, spelling)
    return StageRows(
        posts=[_stage_tuple(i) for i in kept],
        tags=[
            (i.row, key, spelling, in_comment)
            for i in batch
            for tags, in_comment in ((i.hashtags, False), (i.comment_hashtags, True))
            for key, spelling in tags
        ],
        accounts=(
            [platform for platform, _ in zones],
            [handle for _, handle in zones],
            [zone for _, _, zone in zones.values()],
        ),
        hashtags=(list(spellings), [spelling for _, spelling in spellings.values()]),
        duplicates=len(batch) - len(kept),
    )


async def upsert_batch(
    session: AsyncSession, batch: Sequence[StagedPost], *, source: str
) -> BatchOutcome:
    """Insert or update a batch of posts with their accounts, hashtags and snapshots."""
    return await upsert_staged(session, stage_rows(batch), source=source)


async def upsert_staged(session: AsyncSession, rows: StageRows, *, source: str) -> BatchOutcome:
    """upsert_batch of a batch already turned into staging rows (`stage_rows`)."""
    apg = await session_driver(session)
    await apg.execute(_CREATE_STAGE)
    await apg.copy_records_to_table("stage_post", records=rows.posts, columns=_STAGE_COLUMNS)
    await apg.execute(_ACCOUNTS, *rows.accounts)
    if rows.tags:
        ids = {key: tag_id for tag_id, key in await apg.fetch(_HASHTAGS, *rows.hashtags)}
        if len(ids) < len(rows.hashtags[0]):
            ids.update({key: i for i, key in await apg.fetch(_HASHTAG_IDS, rows.hashtags[0])})
        await apg.copy_records_to_table(
            "stage_tag",
            records=[(row, ids[k], sp, c) for row, k, sp, c in rows.tags if k in ids],
            columns=("row_no", "hashtag_id", "spelling", "in_comment"),
        )
    collected = source == "collect"
    stored = await apg.fetchrow(_store_sql(collected=collected), source)
    if not collected:
        await apg.execute(_SNAPSHOT_CHANGED, stored["all_ids"], source)
    if stored["ids"]:
        await apg.execute(_UNLINK_UPDATED, stored["ids"])
        if rows.tags:
            await apg.execute(_LINK_UPDATED, stored["ids"], stored["rows"])
    await apg.execute("DROP TABLE stage_post; DROP TABLE stage_tag;")
    return BatchOutcome(
        inserted=stored["inserted"], updated=stored["updated"], duplicates=rows.duplicates
    )


async def bump_data_version(session: AsyncSession) -> int:
    """Mark the aggregates stale, in the caller's transaction; return the new data version."""
    apg = await session_driver(session)
    version = await apg.fetchval(
        "UPDATE data_version SET version = version + 1 WHERE id = 1 RETURNING version"
    )
    return int(version)


#: Tables an import writes in bulk, whose planner statistics it refreshes.
IMPORTED_TABLES = ("post", "post_hashtag", "hashtag", "account")


#: How long the ANALYZE after an import waits for a table another ANALYZE (or VACUUM) holds
#: before it gives up (autovacuum's own yields to us within deadlock_timeout, 1 s).
ANALYZE_LOCK_TIMEOUT_MS = 5_000


async def analyze_after_import(session: AsyncSession, inserted: int) -> bool:
    """ANALYZE the imported tables when `inserted` new posts exceed autovacuum's default
    threshold for `post` (50 + 10% of the rows its statistics were taken on); whether it did.

    Autovacuum may be off, or lag a bulk load by minutes; until then the planner guesses. At
    1M posts with no statistics, a rare hashtag's newest post was found by walking every post
    by date (1 s) instead of through its 3 links. Waits at most ANALYZE_LOCK_TIMEOUT_MS for a
    table's lock, then raises (the caller treats the ANALYZE as optional).
    """
    apg = await session_driver(session)
    known = await apg.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'post'::regclass")
    if inserted <= 50 + 0.1 * max(float(known or 0), 0.0):
        return False
    await apg.execute(f"SET LOCAL lock_timeout = {int(ANALYZE_LOCK_TIMEOUT_MS)}")
    for table in IMPORTED_TABLES:
        await apg.execute(f'ANALYZE "{table}"')
    return True


_PUBLIC_POST = """
SELECT p.id, p.platform, p.platform_post_id AS post_id, a.handle AS account, p.text, p.url,
       p.posted_at, p.likes, p.comments, p.shares, p.saves, p.impressions, p.reach,
       p.followers, p.engagement, p.language, p.sentiment,
       ARRAY(SELECT x.spelling FROM post_hashtag x WHERE x.post_id = p.id
             ORDER BY x.spelling) AS hashtags
FROM post p JOIN account a ON a.id = p.account_id
WHERE p.platform = $1 AND p.platform_post_id = $2
"""


async def get_post(
    session: AsyncSession, platform: str, post_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The post as the API shows it (with hashtags), optionally locked for update."""
    apg = await session_driver(session)
    if lock:
        await apg.execute(
            "SELECT 1 FROM post WHERE platform = $1 AND platform_post_id = $2 FOR UPDATE",
            platform,
            post_id,
        )
    row = await apg.fetchrow(_PUBLIC_POST, platform, post_id)
    return dict(row) if row else None


async def update_post(
    session: AsyncSession, post_pk: int, changes: dict[str, Any], *, source: str = "update"
) -> None:
    """Set the given columns of one post and append a metric snapshot."""
    apg = await session_driver(session)
    if changes:  # an unchanged re-fetch still records its snapshot
        sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(changes))
        await apg.execute(
            f"UPDATE post SET {sets}, updated_at = now() WHERE id = $1", post_pk, *changes.values()
        )
    await apg.execute(
        f"INSERT INTO post_metric_snapshot (post_id, {', '.join(_METRICS)}, source) "
        f"SELECT id, {', '.join(_METRICS)}, $2 FROM post WHERE id = $1",
        post_pk,
        source,
    )


async def request_refresh(session: AsyncSession, post_pk: int, label: str, after_s: int) -> None:
    """Record, in the caller's transaction, a re-fetch of one post due `after_s` from now.

    The row is the request's durable copy: the job queued for it after the commit may be
    refused (Redis down), and the worker's refresh_due cron then queues it from here."""
    apg = await session_driver(session)
    await apg.execute(
        "INSERT INTO post_refresh (post_id, age_label, due_at) "
        "VALUES ($1, $2, now() + make_interval(secs => $3)) ON CONFLICT DO NOTHING",
        post_pk,
        label,
        float(after_s),
    )


async def stored_links(
    session: AsyncSession, platform: str, post_ids: Sequence[str]
) -> dict[int, list[int]]:
    """The stored posts among `post_ids` of `platform`: post pk -> its hashtag ids."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        "SELECT p.id, coalesce(array_agg(ph.hashtag_id) FILTER (WHERE ph.hashtag_id IS NOT NULL),"
        " '{}') AS tags FROM post p LEFT JOIN post_hashtag ph ON ph.post_id = p.id "
        "WHERE p.platform = $1 AND p.platform_post_id = ANY($2::text[]) GROUP BY p.id",
        platform,
        list(post_ids),
    )
    return {int(r["id"]): sorted(r["tags"]) for r in rows}


async def hashtag_ids(session: AsyncSession, post_pk: int) -> list[int]:
    """The ids of the hashtags a post is linked to."""
    apg = await session_driver(session)
    rows = await apg.fetch("SELECT hashtag_id FROM post_hashtag WHERE post_id = $1", post_pk)
    return sorted(r["hashtag_id"] for r in rows)


async def mark_dirty(
    session: AsyncSession, version: int, post_pk: int, old_hashtag_ids: Sequence[int]
) -> None:
    """Record, in the caller's transaction, that data version `version` changed this one post
    (which had `old_hashtag_ids` before): the incremental recompute's to-do list."""
    await mark_dirty_many(session, version, {post_pk: old_hashtag_ids})


async def mark_dirty_many(
    session: AsyncSession, version: int, old_hashtag_ids: Mapping[int, Sequence[int]]
) -> None:
    """mark_dirty for several posts of one data version: post pk -> its hashtag ids before."""
    apg = await session_driver(session)
    await apg.executemany(
        "INSERT INTO dirty_post (version, post_id, old_hashtag_ids) VALUES ($1, $2, $3) "
        "ON CONFLICT (version, post_id) DO NOTHING",
        [(version, pk, list(tags)) for pk, tags in old_hashtag_ids.items()],
    )


async def relink_hashtags(
    session: AsyncSession, post_pk: int, hashtags: Sequence[tuple[str, str]]
) -> None:
    """Replace a post's hashtag links with `hashtags` ((key, spelling) pairs)."""
    apg = await session_driver(session)
    await apg.execute("DELETE FROM post_hashtag WHERE post_id = $1", post_pk)
    if not hashtags:
        return
    keys = [k for k, _ in hashtags]
    spellings = [s for _, s in hashtags]
    await apg.execute(
        "INSERT INTO hashtag (key, display) SELECT * FROM unnest($1::text[], $2::text[]) "
        "ON CONFLICT (key) DO NOTHING",
        keys,
        spellings,
    )
    await apg.execute(
        "INSERT INTO post_hashtag (post_id, hashtag_id, spelling) "
        "SELECT $1, h.id, t.spelling FROM unnest($2::text[], $3::text[]) AS t(key, spelling) "
        "JOIN hashtag h ON h.key = t.key",
        post_pk,
        keys,
        spellings,
    )


async def post_history(session: AsyncSession, post_pk: int) -> list[dict[str, Any]]:
    """A post's metric snapshots, oldest first."""
    apg = await session_driver(session)
    rows = await apg.fetch(
        f"SELECT captured_at, {', '.join(_METRICS)}, source FROM post_metric_snapshot "
        "WHERE post_id = $1 ORDER BY captured_at, id",
        post_pk,
    )
    return [dict(r) for r in rows]
