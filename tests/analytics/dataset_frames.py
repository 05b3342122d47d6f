"""The real datasets of ../shared/datasets as analytics frames (for the dataset tests).

Each export goes through its named mapping; accounts are numbered in order of appearance and
the local calendar fields are in UTC (the exports name no time zone). Posts carry the VADER
sentiment of their text. `now` is one day after the last post, so every window holds posts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from hashtag_core.analytics.frames import LINKS_SCHEMA, POSTS_SCHEMA
from hashtag_core.analytics.insight_frames import FOLLOWERS_SCHEMA
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.mappings import iter_mapped_records
from hashtag_core.language import detect_languages
from hashtag_core.sentiment import score_posts

__all__ = [
    "DATASETS",
    "Dataset",
    "follower_snapshots",
    "load",
    "load_keyed",
    "ropensci_paths",
]

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")
#: posts (POSTS_SCHEMA + sentiment), links (LINKS_SCHEMA), now
Dataset = tuple[pl.DataFrame, pl.DataFrame, datetime]


def ropensci_paths() -> list[Path]:
    """The 60 monthly exports (the monthly summary file has another header)."""
    return sorted((DATASETS / "ropensci-twitter-analytics").glob("tweet_activity_metrics_*.csv"))


def load(paths: list[Path], mapping: str) -> Dataset:
    """POSTS (+ sentiment) and LINKS frames of the mapped records, and a `now` after them."""
    return load_keyed(paths, mapping)[0]


def load_keyed(paths: list[Path], mapping: str) -> tuple[Dataset, dict[str, int]]:
    """`load`, and the hashtag id of each hashtag key (NFKC + casefold)."""
    rows: list[dict[str, object]] = []
    links: list[tuple[int, int]] = []
    accounts: dict[str, int] = {}
    keys: dict[str, int] = {}
    for path in paths:
        for mapped in iter_mapped_records(path, mapping):
            record = mapped.record
            if record is None:
                continue
            post_id = len(rows) + 1
            at = datetime.fromisoformat(str(record["posted_at"])).astimezone(UTC)
            account = accounts.setdefault(str(record["account"]), len(accounts) + 1)
            rows.append(
                {
                    "post_id": post_id,
                    "account_id": account,
                    "platform": "x",
                    "posted_at": at,
                    "local_date": at.date(),
                    "local_weekday": at.isoweekday(),
                    "local_hour": at.hour,
                    **{m: record[m] for m in METRICS},
                    "text": str(record["text"]),
                }
            )
            for key, _ in hashtags_in_post(str(record["text"]), "x"):
                links.append((post_id, keys.setdefault(key, len(keys) + 1)))
    posts = pl.DataFrame(rows, infer_schema_length=None)
    # Scored as the import scores them: by language, NULL where no scorer reads it.
    texts = posts["text"].to_list()
    languages = detect_languages(texts)
    posts = posts.with_columns(
        language=pl.Series(languages, dtype=pl.String),
        sentiment=pl.Series(score_posts(texts, languages), dtype=pl.Float64),
    )
    posts = posts.drop("text").cast({**POSTS_SCHEMA, "sentiment": pl.Float64})
    link_frame = pl.DataFrame(links, schema=["post_id", "hashtag_id"], orient="row")
    now = posts["posted_at"].max() + timedelta(days=1)
    return (posts, link_frame.cast(LINKS_SCHEMA), now), keys


def follower_snapshots(posts: pl.DataFrame) -> pl.DataFrame:
    """FOLLOWERS_SCHEMA rows: each post's follower count at its time (as an import records)."""
    return (
        posts.filter(pl.col("followers").is_not_null())
        .select("account_id", captured_at="posted_at", followers="followers")
        .unique(["account_id", "captured_at"], keep="last")
        .cast(dict(FOLLOWERS_SCHEMA))
    )
