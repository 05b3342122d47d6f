"""The demo generator: reproducible, valid PostRecords whose planted effects show in the raw data.

Everything here is pure (no database). The effects are checked with the plainest computation an
analyst would do, so that the service's own tests can rely on them being recoverable.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from hashtag_core.demo import (
    DEMO_ACCOUNTS,
    PLANTED_EFFECTS,
    DemoConfig,
    daily_followers,
    demo_accounts,
    generate_frame,
    generate_posts,
)
from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.ingest.schemas import PostRecord

CONFIG = DemoConfig(seed=7, posts=12_000)
PARTS = ("likes", "comments", "shares", "saves")


def _frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records plus engagement, local weekday/hour/month, UTC time and hashtag keys."""
    stamps = [datetime.fromisoformat(str(r["posted_at"])) for r in records]
    return pl.DataFrame(
        {
            "account": [r["account"] for r in records],
            "platform": [r["platform"] for r in records],
            "engagement": [sum(r[p] or 0 for p in PARTS) for r in records],
            "followers": [r["followers"] for r in records],
            "weekday": [s.isoweekday() for s in stamps],
            "hour": [s.hour for s in stamps],
            "month": [s.month for s in stamps],
            "utc": [s.astimezone(UTC) for s in stamps],
            "tags": [[k for k, _ in hashtags_in_post(str(r["text"]), "")] for r in records],
        }
    ).with_columns(
        # Engagement relative to the account's median: removes account size and platform.
        rel=pl.col("engagement") / pl.col("engagement").median().over("account"),
    )


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(generate_posts(CONFIG))


@pytest.fixture(scope="module")
def frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    return _frame(records)


def _has(tag: str) -> pl.Expr:
    return pl.col("tags").list.contains(tag.casefold())


def _mean(series: pl.Series) -> float:
    value = series.mean()
    assert isinstance(value, float)
    return value


def _ratio(frame: pl.DataFrame, tag: str) -> float:
    """Mean relative engagement of posts with `tag` over posts without (outlier excluded)."""
    data = frame.filter(~_has(PLANTED_EFFECTS.outlier.name))
    return _mean(data.filter(_has(tag))["rel"]) / _mean(data.filter(~_has(tag))["rel"])


# ---- shape, validity, determinism ------------------------------------------------------------


def test_records_validate_with_exact_field_names(records: list[dict[str, Any]]) -> None:
    assert len(records) == CONFIG.posts
    fields = list(PostRecord.model_fields)
    for record in records:
        assert list(record) == fields
        PostRecord(**record)
        assert all(isinstance(record[p], int | None) for p in (*PARTS, "impressions", "reach"))


def test_same_seed_same_records_and_other_seed_differs(records: list[dict[str, Any]]) -> None:
    again = list(itertools.islice(generate_posts(CONFIG), 300))
    assert again == records[:300]
    other = list(itertools.islice(generate_posts(DemoConfig(seed=8, posts=12_000)), 300))
    assert other != records[:300]


def test_frame_matches_records() -> None:
    config = DemoConfig(seed=3, posts=2_000)
    assert generate_frame(config).to_dicts() == list(generate_posts(config))


def test_ids_unique_per_platform_and_urls_plausible(records: list[dict[str, Any]]) -> None:
    keys = Counter((r["platform"], r["post_id"]) for r in records)
    assert max(keys.values()) == 1
    prefixes = {"x": "https://x.com/", "instagram": "https://www.instagram.com/p/"}
    prefixes |= {"facebook": "https://www.facebook.com/", "linkedin": "https://www.linkedin.com/"}
    for r in records:
        assert str(r["url"]).startswith(prefixes[str(r["platform"])])
        if r["platform"] == "linkedin":
            assert str(r["post_id"]).startswith("urn:li:share:7")
        elif r["platform"] == "facebook":
            assert str(r["post_id"]).count("_") == 1
        else:
            assert str(r["post_id"]).isdigit()


def test_default_accounts_span_platforms_and_zones(frame: pl.DataFrame) -> None:
    assert set(frame["account"]) == {a.handle for a in DEMO_ACCOUNTS}
    assert set(frame["platform"]) == {"x", "instagram", "facebook", "linkedin"}
    assert len({a.timezone for a in DEMO_ACCOUNTS}) == 6


def test_time_span_covers_the_history(frame: pl.DataFrame) -> None:
    first, last = frame["utc"].min(), frame["utc"].max()
    assert isinstance(first, datetime)
    assert isinstance(last, datetime)
    start = CONFIG.end - timedelta(days=CONFIG.days)
    assert start <= first < start + timedelta(days=2)
    assert CONFIG.end - timedelta(days=2) < last <= CONFIG.end


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoConfig(end=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="posts"):
        DemoConfig(posts=-1)


# ---- time zones ---------------------------------------------------------------------------------


def test_offsets_are_the_accounts_real_offsets(records: list[dict[str, Any]]) -> None:
    for r in records[::7]:
        stamp = datetime.fromisoformat(str(r["posted_at"]))
        local = stamp.astimezone(ZoneInfo(str(r["account_timezone"])))
        assert local.replace(tzinfo=None) == stamp.replace(tzinfo=None)
        assert local.utcoffset() == stamp.utcoffset()


@pytest.mark.parametrize("timezone", ["Europe/London", "America/New_York", "Europe/Copenhagen"])
def test_best_slot_stays_at_local_10_across_dst(frame: pl.DataFrame, timezone: str) -> None:
    handles = [a.handle for a in DEMO_ACCOUNTS if a.timezone == timezone]
    slot = frame.filter(
        pl.col("account").is_in(handles) & (pl.col("weekday") == 6) & (pl.col("hour") == 10)
    )
    # Same local hour, two different UTC hours: summer and winter time.
    assert slot["utc"].dt.hour().n_unique() == 2


# ---- platform NULL patterns -----------------------------------------------------------------


def test_null_patterns_per_platform(records: list[dict[str, Any]]) -> None:
    cutoff = datetime(2024, 7, 2, tzinfo=UTC)
    for r in records:
        assert all(r[name] is not None for name in ("likes", "comments", "shares", "followers"))
        platform = r["platform"]
        assert (r["saves"] is None) == (platform in ("facebook", "linkedin"))
        assert (r["reach"] is None) == (platform == "x")
        if platform == "instagram":
            before = datetime.fromisoformat(str(r["posted_at"])) < cutoff
            assert (r["impressions"] is not None) == before
        else:
            assert r["impressions"] is not None
        if r["reach"] is not None and r["impressions"] is not None:
            assert r["reach"] <= r["impressions"]


# ---- planted effects -----------------------------------------------------------------------


def test_lift_hashtag_lifts_engagement_within_accounts(frame: pl.DataFrame) -> None:
    effect = PLANTED_EFFECTS.lift
    share = frame.select(_has(effect.name).mean()).item()
    assert 0.05 <= share <= 0.08
    assert _ratio(frame, effect.name) > 1.4
    per_account = frame.group_by("account").agg(
        ratio=pl.col("rel").filter(_has(effect.name)).mean()
        / pl.col("rel").filter(~_has(effect.name)).mean()
    )
    assert (per_account["ratio"] > 1.2).sum() >= 0.8 * per_account.height


def test_weak_hashtag_lowers_engagement(frame: pl.DataFrame) -> None:
    share = frame.select(_has(PLANTED_EFFECTS.weak.name).mean()).item()
    assert 0.03 <= share <= 0.05
    assert _ratio(frame, PLANTED_EFFECTS.weak.name) < 0.75


@pytest.mark.parametrize("tag", PLANTED_EFFECTS.controls)
def test_control_hashtags_are_neutral(frame: pl.DataFrame, tag: str) -> None:
    assert frame.select(_has(tag).sum()).item() >= 200
    assert 0.85 < _ratio(frame, tag) < 1.15


def test_best_local_weekday_hour_is_the_planted_slot(frame: pl.DataFrame) -> None:
    slot = PLANTED_EFFECTS.best_slot
    data = frame.filter(~_has(PLANTED_EFFECTS.outlier.name))
    cells = (
        data.group_by("weekday", "hour")
        .agg(pl.col("rel").mean(), n=pl.len())
        .filter(pl.col("n") >= 50)
        .sort("rel", descending=True)
    )
    best = cells.row(0, named=True)
    assert (best["weekday"], best["hour"]) == (slot.iso_weekday, slot.hour)
    assert best["rel"] / cells["rel"][1] > 1.3
    assert best["n"] / len(frame) > 0.025


def test_viral_outlier_is_unique_and_tops_everything(frame: pl.DataFrame) -> None:
    effect = PLANTED_EFFECTS.outlier
    viral = frame.filter(_has(effect.name))
    assert len(viral) == 1
    assert viral["account"][0] == effect.default_account
    assert viral["engagement"][0] == frame["engagement"].max()
    assert viral["rel"][0] > 0.5 * effect.multiplier
    # A naive "average engagement per hashtag" ranking puts it first.
    ranking = (
        frame.explode("tags")
        .group_by("tags")
        .agg(pl.col("engagement").mean())
        .sort("engagement", descending=True)
    )
    assert ranking["tags"][0] == effect.name.casefold()


def _follower_growth(frame: pl.DataFrame, days: float) -> pl.DataFrame:
    """Per post: relative follower change to the account's first post >= `days` later."""
    posts = frame.select("account", "utc", "followers", "tags").with_row_index("i").sort("utc")
    later = posts.select(
        "account",
        pl.col("utc").alias("later_utc"),
        pl.col("followers").alias("later_followers"),
    ).sort("later_utc")
    joined = posts.with_columns(target=pl.col("utc") + timedelta(days=days)).join_asof(
        later,
        left_on="target",
        right_on="later_utc",
        by="account",
        strategy="forward",
        check_sortedness=False,
    )
    return joined.drop_nulls("later_followers").with_columns(
        growth=pl.col("later_followers") / pl.col("followers") - 1
    )


def test_giveaway_posts_are_followed_by_follower_jumps(frame: pl.DataFrame) -> None:
    effect = PLANTED_EFFECTS.follower_driver
    growth = _follower_growth(frame, effect.ramp_days + 0.5)
    tagged = growth.filter(_has(effect.name))
    # Controls: posts with no giveaway in the window that follows them.
    giveaway_times = frame.filter(_has(effect.name)).select("account", g="utc").sort("g")
    controls = (
        growth.filter(~_has(effect.name))
        .sort("utc")
        .join_asof(
            giveaway_times,
            left_on="utc",
            right_on="g",
            by="account",
            strategy="forward",
            check_sortedness=False,
        )
        .filter(pl.col("g").is_null() | (pl.col("g") > pl.col("later_utc")))
    )
    assert len(tagged) >= 100
    after_giveaway, baseline = _mean(tagged["growth"]), _mean(controls["growth"])
    assert 0.6 * effect.jump < after_giveaway - baseline < 1.5 * effect.jump
    # Between giveaways followers only creep up (baseline growth + noise).
    assert abs(baseline) < 0.4 * effect.jump


def test_daily_followers_cover_every_account_and_day(records: list[dict[str, Any]]) -> None:
    history = daily_followers(CONFIG)
    assert set(history) == {a.handle for a in demo_accounts(CONFIG)}
    end = CONFIG.end
    for handle, days in history.items():
        assert len(days) == CONFIG.days, handle
        assert days[-1][0] <= end < days[-1][0] + timedelta(days=1)
        assert all(b[0] - a[0] == timedelta(days=1) for a, b in zip(days, days[1:], strict=False))
        # The same model as the posts' own follower counts (which add a little noise).
        own = [r for r in records if r["account"] == handle]
        last = datetime.fromisoformat(str(own[-1]["posted_at"]))
        near = min(days, key=lambda d: abs(d[0] - last))
        assert abs(near[1] / int(own[-1]["followers"]) - 1) < 0.02
    assert daily_followers(CONFIG) == history  # seeded


# ---- texts ------------------------------------------------------------------------------------


def test_texts_look_like_a_brands_posts(records: list[dict[str, Any]], frame: pl.DataFrame) -> None:
    texts = [str(r["text"]) for r in records]
    spellings = {tag for t in texts for tag in ("#LEGOLAND", "#Legoland", "#legoland") if tag in t}
    assert spellings == {"#LEGOLAND", "#Legoland", "#legoland"}
    assert any("#レゴランド" in t for t in texts)
    linkedin = [str(r["text"]) for r in records if r["platform"] == "linkedin"]
    assert sum("{hashtag|\\#|" in t for t in linkedin) > 0.3 * len(linkedin)
    untagged = _mean(frame.select(pl.col("tags").list.len() == 0).to_series().cast(pl.Float64))
    assert 0.03 < untagged < 0.15
    assert frame["tags"].explode().n_unique() <= CONFIG.hashtags


def test_seasonal_tags_only_in_season(frame: pl.DataFrame) -> None:
    months = {
        tag: set(frame.filter(_has(tag))["month"]) for tag in ("halloween", "christmas", "summer")
    }
    assert months == {"halloween": {10}, "christmas": {12}, "summer": {7, 8}}


# ---- benchmark-sized config -----------------------------------------------------------------


def test_benchmark_config_shape() -> None:
    config = DemoConfig(seed=11, posts=50_000, accounts=40, hashtags=20_000)
    frame = generate_frame(config)
    assert frame.height == config.posts
    assert frame["account"].n_unique() == 40
    assert set(frame["platform"]) == {"x", "instagram", "facebook", "linkedin"}
    assert frame["account_timezone"].n_unique() == 6
    assert frame.select("platform", "post_id").is_unique().all()
    keys = {key for text in frame["text"] for key, _ in hashtags_in_post(text, "")}
    assert 3_000 < len(keys) <= config.hashtags
    assert frame.filter(pl.col("text").str.contains("#MiniFigureMadness")).height == 1
