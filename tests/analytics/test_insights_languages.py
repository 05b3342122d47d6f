"""Posts per language per hashtag and the sentiment coverage behind it: hand-worked frames."""

from datetime import timedelta

import polars as pl
from polars.testing import assert_frame_equal

from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_HASHTAGS, ALL_PLATFORMS
from hashtag_core.analytics.insight_frames import LANGUAGE_POSTS_SCHEMA, LANGUAGE_SCHEMA
from hashtag_core.analytics.languages import hashtag_languages
from hashtag_core.analytics.sentiment import hashtag_sentiment
from tests.analytics.test_performance import NOW, make_links, make_posts

# post_id, account, platform, language, sentiment, days before NOW
_POSTS = [
    (1, 1, "x", "en", 0.5, 1),
    (2, 1, "x", "da", -0.3, 2),
    (3, 1, "x", "ja", None, 3),
    (4, 2, "instagram", "ja", None, 1),
    (5, 2, "instagram", "en", 0.2, 60),  # outside 30d
    (6, 2, "instagram", "unknown", None, 1),
]


def _posts() -> pl.LazyFrame:
    base = make_posts(
        [
            {
                "post_id": post,
                "account_id": account,
                "platform": platform,
                "posted_at": NOW - timedelta(days=days),
                "likes": 10 * post,
            }
            for post, account, platform, _, _, days in _POSTS
        ]
    )
    extra = pl.LazyFrame(
        {
            "post_id": [p[0] for p in _POSTS],
            "language": [p[3] for p in _POSTS],
            "sentiment": [p[4] for p in _POSTS],
        },
        schema={"post_id": pl.Int64, "language": pl.String, "sentiment": pl.Float64},
    )
    return base.join(extra, on="post_id").select(LANGUAGE_POSTS_SCHEMA.names())


LINKS = make_links([(1, 7), (2, 7), (3, 7), (4, 7), (5, 7), (6, 8)])


def _rows(frame: pl.DataFrame, **where: object) -> dict[str, tuple[int, int]]:
    picked = frame.filter(*(pl.col(k) == v for k, v in where.items()))
    return {r["language"]: (r["posts"], r["scored_posts"]) for r in picked.iter_rows(named=True)}


def test_posts_and_scored_posts_per_language_hand_worked() -> None:
    out = hashtag_languages(_posts(), LINKS, now=NOW, windows=("all", "30d")).collect()
    assert out.schema == LANGUAGE_SCHEMA
    everywhere = {"platform": ALL_PLATFORMS, "account_id": ALL_ACCOUNTS}
    assert _rows(out, **everywhere, window="all", hashtag_id=7) == {
        "en": (2, 2),
        "da": (1, 1),
        "ja": (2, 0),
    }
    assert _rows(out, **everywhere, window="30d", hashtag_id=7) == {
        "en": (1, 1),
        "da": (1, 1),
        "ja": (2, 0),
    }
    assert _rows(out, platform="x", account_id=1, window="all", hashtag_id=7) == {
        "en": (1, 1),
        "da": (1, 1),
        "ja": (1, 0),
    }
    assert _rows(out, **everywhere, window="all", hashtag_id=ALL_HASHTAGS) == {
        "en": (2, 2),
        "da": (1, 1),
        "ja": (2, 0),
        "unknown": (1, 0),
    }


def test_scored_posts_add_up_to_the_sentiment_rows_posts() -> None:
    windows = ("all", "30d", "7d")
    languages = hashtag_languages(_posts(), LINKS, now=NOW, windows=windows)
    scored = (
        languages.group_by("platform", "account_id", "window", "hashtag_id")
        .agg(pl.col("scored_posts").sum().alias("posts"))
        .filter(pl.col("posts") > 0)
    )
    sentiment = hashtag_sentiment(_posts(), LINKS, now=NOW, windows=windows).select(
        "platform", "account_id", "window", "hashtag_id", "posts"
    )
    keys = ["platform", "account_id", "window", "hashtag_id"]
    assert_frame_equal(scored.collect().sort(keys), sentiment.collect().sort(keys))
