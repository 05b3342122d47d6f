"""The full recompute in slices gives the tables `compute_frames` computes whole (issue 7)."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hashtag_core.aggregates.incremental import priors_of
from hashtag_core.aggregates.repository import AGGREGATE_TABLES
from hashtag_core.aggregates.service import compute_frames
from hashtag_core.aggregates.slices import FROZEN, collect_slice, slices
from hashtag_core.analytics.frames import WINDOWS
from tests.analytics.test_insights_demo import END, build_demo


@pytest.fixture(scope="module")
def inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    demo = build_demo(4_000)
    posts = demo.posts.collect()
    # A sentiment score per post that varies with the post (the sentiment table needs one),
    # and a language (the language table needs one): every third post unscored, in Japanese.
    unscored = pl.col("post_id") % 3 == 0
    posts = posts.with_columns(
        sentiment=pl.when(~unscored).then(((pl.col("post_id") * 7919) % 201 - 100) / 100.0),
        language=pl.when(unscored).then(pl.lit("ja")).otherwise(pl.lit("en")),
    )
    return posts, demo.links.collect(), demo.followers.collect()


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    keys = [c for c, t in frame.schema.items() if t in (pl.String, pl.Int64, pl.Int16, pl.Date)]
    keys += [c for c in ("weekday", "hour", "rank") if c in frame.columns and c not in keys]
    return frame.sort(keys, nulls_last=True)


@pytest.mark.parametrize("optional", [(), ("sentiment",), ("language",), ("sentiment", "language")])
def test_the_sentiment_and_language_tables_are_sliced_only_when_their_columns_are_there(
    inputs, optional: tuple[str, ...]
) -> None:
    # The sentiment and language columns of the posts frame are optional (`compute_frames`
    # checks them the same way): no scores, no sentiment table; the language table needs the
    # languages and the scores.
    posts, links, followers = inputs
    posts = posts.drop([c for c in ("sentiment", "language") if c not in optional])
    tables = {t for piece in slices(posts, links, followers, now=END) for t in piece.plans}
    assert ("hashtag_sentiment" in tables) == ("sentiment" in optional)
    assert ("hashtag_language" in tables) == ("sentiment" in optional and "language" in optional)
    assert tables >= {"hashtag_performance", "hashtag_lift", "hashtag_pair"}


def test_slices_concatenated_equal_the_whole_tables(inputs) -> None:
    posts, links, followers = inputs
    whole = compute_frames(posts, links, now=END, followers=followers, baselines=True)
    whole["lift_prior"] = priors_of(whole["hashtag_lift"])
    parts: dict[str, list[pl.DataFrame]] = {}
    labels = []
    for piece in slices(posts, links, followers, now=END):
        labels.append(piece.label)
        for name, frame in collect_slice(piece).items():
            parts.setdefault(name, []).append(frame)
    # Every windowed table comes in one slice per window; the lift in one per window and goal
    # (the four post-level goals and follower growth).
    assert sum(label.startswith("performance ") for label in labels) == len(WINDOWS)
    assert sum(label.startswith("lift ") for label in labels) == len(WINDOWS) * 5
    assert set(parts) == set(AGGREGATE_TABLES) | set(FROZEN)
    for name, frames in parts.items():
        joined = pl.concat(frames)
        assert joined.height == whole[name].height > 0, name
        # The hashtag estimate is solved iteratively (conjugate gradients to 1e-8 of the
        # right-hand side, EM to 1e-8 on the weights), so its figures agree to 1e-5 (0.001
        # percentage points), not to the last bits; every other figure to 1e-9.
        iterative = name in {"hashtag_lift", "lift_prior", "hashtag_slot", "hashtag_best_slot"}
        assert_frame_equal(
            _sorted(joined),
            _sorted(whole[name]),
            check_exact=False,
            rel_tol=1e-6 if iterative else 1e-9,
            abs_tol=1e-5 if iterative else 1e-12,
        )
