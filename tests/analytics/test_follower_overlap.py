"""Follower growth: posts whose growth windows overlap are not independent evidence.

A post's follower growth is measured over the FOLLOWER_GROWTH_DAYS after it, so posts a day
apart share most of their window. `effects._overlapping` replaces the spread of a hashtag's
partial residuals by a kernel (Newey-West) estimate over UTC days and corrects it for few
independent pieces (docs/metrics.md, "Follower growth: overlapping windows"). Checked by hand
on a small case and, where the truth is known, by simulation: null hashtags used in bursts of
days must not get narrow intervals and verdicts by chance.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.special import stdtrit

from hashtag_core.analytics.effects import _overlapping
from hashtag_core.analytics.followers import follower_lift
from hashtag_core.analytics.insight_frames import FOLLOWER_GROWTH_DAYS, FOLLOWERS_SCHEMA
from tests.analytics.test_performance import make_posts

GROUP = ["account_id", "window", "goal", "hashtag_id"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _partials(days: list[int], deviations: list[float], inflation: float) -> pl.DataFrame:
    n = len(days)
    return pl.DataFrame(
        {
            "account_id": [1] * n,
            "window": ["all"] * n,
            "goal": ["followers"] * n,
            "hashtag_id": [7] * n,
            "day": days,
            "deviation": deviations,
            "inflation": [inflation] * n,
        }
    )


def _per_account(partials: pl.DataFrame) -> pl.DataFrame:
    return partials.group_by(GROUP).agg(
        n=pl.len().cast(pl.Int64),
        m2=(pl.col("deviation") ** 2).sum() * pl.col("inflation").first(),
    )


def test_overlapping_windows_by_hand() -> None:
    assert FOLLOWER_GROWTH_DAYS == 3  # the weights below are those of L = 3 days
    # Days 0, 0, 1, 3 and 10; deviations from the hashtag's mean sum to 0.
    partials = _partials([0, 0, 1, 3, 10], [1.0, -0.5, 2.0, -1.0, -1.5], inflation=2.0)
    out = _overlapping(_per_account(partials), partials, GROUP)
    # Daily sums D: day 0 0.5, day 1 2, day 3 -1, day 10 -1.5. Sum of d^2 8.5, of D^2 7.5.
    # Weights: same day 8/9, one day apart 2/3, two 1/3, three 1/18.
    # Lag 1: D0 D1 = 1; lag 2: D1 D3 = -2; lag 3: D0 D3 = -0.5.
    kernel = 8.5 / 9 + 7.5 * 8 / 9 + 2 * (2 / 3 * 1.0 + 1 / 3 * -2.0 + 1 / 18 * -0.5)
    # Pieces: days 0-3 are one run of 4 days (2 pieces), day 10 another (1): G = 3 of n = 5.
    g, n = 3.0, 5.0
    correction = g / (g - 1) * (n - 1) / n * (stdtrit(g - 1, 0.975) / stdtrit(n - 1, 0.975)) ** 2
    assert out["m2"][0] == pytest.approx(kernel * 2.0 * correction, rel=1e-12)


def test_posts_days_apart_keep_their_plain_spread() -> None:
    # No two posts within 3 days: no shared window, every post a piece of its own.
    partials = _partials([0, 4, 8, 20, 40], [0.3, -1.2, 0.5, 0.9, -0.5], inflation=1.5)
    per_account = _per_account(partials)
    out = _overlapping(per_account, partials, GROUP)
    assert out["m2"][0] == pytest.approx(per_account["m2"][0], rel=1e-12)


def _brand(seed: int) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """One account posting ~4 times a day for a year; its followers a random walk (no post
    has any effect). Hashtags 1-40 are used on every post of three 3-day bursts; hashtags
    101-140 on 30 posts picked at random. Every hashtag is null."""
    rng = np.random.default_rng(seed)
    days = 360
    start = NOW - timedelta(days=days + 5)
    hours = np.sort(rng.choice(days * 24, size=days * 4, replace=False))
    posted = [start + timedelta(hours=int(h)) for h in hours]
    n = len(posted)
    posts = make_posts(
        [
            {
                "post_id": i,
                "posted_at": at,
                "local_date": at.date(),
                "local_weekday": at.isoweekday(),
                "local_hour": at.hour,
                "likes": 10,
            }
            for i, at in enumerate(posted)
        ]
    )
    steps = rng.normal(0.0, 2e-4, (days + 10) * 24)
    followers = pl.DataFrame(
        {
            "account_id": np.ones(len(steps), dtype=np.int64),
            "captured_at": [start + timedelta(hours=h) for h in range(len(steps))],
            "followers": np.round(50_000 * np.exp(np.cumsum(steps))).astype(np.int64),
        }
    ).cast(dict(FOLLOWERS_SCHEMA))  # type: ignore[arg-type]
    day = hours // 24
    pairs: list[tuple[int, int]] = []
    for tag in range(1, 41):
        for first in rng.integers(0, days - 3, 3):
            burst = np.flatnonzero((day >= first) & (day < first + 3))
            pairs += [(int(i), tag) for i in burst]
    for tag in range(101, 141):
        pairs += [(int(i), tag) for i in rng.choice(n, 30, replace=False)]
    links = pl.DataFrame(
        pairs, schema={"post_id": pl.Int64, "hashtag_id": pl.Int64}, orient="row"
    ).unique()
    return posts, links.lazy(), followers.lazy()


def test_null_hashtags_used_in_bursts_get_honest_intervals() -> None:
    """Each post counted as independent, 40% of the bursty null hashtags had
    |estimate / se| > 1.96, and verdicts came by chance; with the kernel spread alone, 24%;
    with the few-pieces correction too, about 10% (the t tails of three pieces each), and
    the hashtags spread over the year about 4%."""
    z: dict[str, list[float]] = {"bursty": [], "spread": []}
    verdicts = 0
    for seed in range(3):
        posts, links, followers = _brand(seed)
        out = follower_lift(posts, links, followers, now=NOW, windows=["all"]).collect()
        out = out.filter(pl.col("account_id") == 1, pl.col("hashtag_id") > 0)
        ratio = (out["estimate"] / out["estimate_se"]).abs().to_numpy()
        tags = out["hashtag_id"].to_numpy()
        z["bursty"] += list(ratio[tags < 100])
        z["spread"] += list(ratio[tags > 100])
        verdicts += out.filter(pl.col("verdict").is_in(["lifts", "underperforms"])).height
    bursty, spread = np.array(z["bursty"]), np.array(z["spread"])
    assert len(bursty) == len(spread) == 120
    assert (bursty > 1.96).mean() <= 0.16, sorted(bursty)[-20:]
    assert (spread > 1.96).mean() <= 0.08
    # ... and not by making every interval wide: the spread hashtags' z stay near N(0, 1)'s.
    assert 0.45 <= float(np.median(spread)) <= 0.9
    assert verdicts <= 3  # of 240 null hashtags
