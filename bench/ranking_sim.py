"""Synthetic brands with known hashtag effects, for the ranking study (issue 13).

One brand = 2-5 accounts of very different size (20 to 20,000 posts a year, followers 60x
apart), each in its own time zone, posting over 18 months that end at `END` (so the "365d"
window differs from "all"). Every figure is
drawn with numpy from one seed, and the frames are exactly the project's POSTS_SCHEMA,
LINKS_SCHEMA and FOLLOWERS_SCHEMA, so the production analytics run on them unchanged.

Per post (log scale, everything additive):

    ln reach  = ln(followers * reach_rate) + slot(weekday, hour) + season(month)
                + sum_h bR[h, account] + eR
    ln other  = ln reach + ln rate + sum_h bE[h, account] + eE      (likes, comments, saves)
    ln shares = ln reach + ln rate + ln share_odds + sum_h (bE + bV)[h, account] + eE + eV

with counts drawn as Poisson around those means. The noises e are heavier-tailed than a normal
model assumes: Student t with 3 degrees of freedom scaled by the account's own spread, plus a
rare viral spike (x10 to x60) on 0.2% of posts. Follower snapshots (hourly, per account) follow
ln F(t) = ln F0 + drift t + a random walk + the sum of each earlier post's own follower jump,
``jump = g * LogNormal(0, 0.8) * exp(sum_h bF[h, account])``, landing an exponential lag
(mean 6 h) after the post; g is the account's yearly post-driven growth over its post count.

Hashtags: 4 topic clusters of null tags (a post picks a topic, then 1-4 tags of it, Zipf
popularity), generic null tags anywhere, a tail of rare null tags, and planted tags: strong
(x1.3 to x1.6 on every goal), one strong negative (x0.6 to x0.77), weak (x1.1), null "control"
tags placed only on posts that carry a strong tag, "timed" null tags used mostly at the
brand's best (or worst) weekday-hours and months, and one-post viral tags (their post gets a
huge spike; the tag itself has no effect). A tag's effect varies by account (its log effect
times LogNormal(0, 0.25)). The truth kept per tag and goal is the mean over the tag's posts of
its own log effect on that post (`TRUTH_COLUMNS`); for followers it is on the estimator's scale,
the expected excess log growth, and ``strength_followers`` is the log multiplier of the jump.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from hashtag_core.analytics.frames import LINKS_SCHEMA, POSTS_SCHEMA
from hashtag_core.analytics.insight_frames import FOLLOWERS_SCHEMA

__all__ = ["END", "GOALS", "Brand", "make_brand", "tag_truth"]

#: Data end (= `now` of the analytics): SPAN_DAYS of posts before it.
END = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_DAYS = 547
GOALS = ("engagement", "reach", "virality", "er_follower", "followers")
TIME_ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
PLATFORMS = ("instagram", "facebook", "x", "linkedin")
TOPICS = 4
TAGS_PER_TOPIC = 8
GENERIC_TAGS = 8
RARE_TAGS = 20
SHARE_FRACTION = 0.08  # shares / all engagement of a typical post
HETEROGENEITY_SD = 0.25  # sd of ln(account effect / brand effect)
VIRAL_SHARE = 0.002
RANDOM_WALK_SD = 5e-6  # hourly sd of ln followers, besides the posts' jumps
_KINDS = ("null", "generic", "rare", "strong", "negative", "weak", "control", "timed", "viral")


@dataclass(frozen=True)
class Brand:
    """Frames of one synthetic brand and the truth per hashtag.

    ``truth`` columns: hashtag_id, kind, posts, and per goal g: ``truth_<g>`` (true effect on
    the log scale of the estimand; ratio scale exp(x) - 1) and ``strength_<g>`` (the log of
    the planted multiplier used to class the tag: null when exactly 0).
    """

    posts: pl.DataFrame
    links: pl.DataFrame
    followers: pl.DataFrame
    truth: pl.DataFrame
    accounts: pl.DataFrame  # account_id, platform, time_zone, followers (at the start)
    link_truth: pl.DataFrame  # per link: the tag's own effect on that post (`tag_truth`)


@dataclass
class _Tags:
    """Planted tag table: kind, topic (-1 none) and brand-level log effects per component."""

    kind: list[str]
    topic: list[int]
    effects: np.ndarray  # (tags, 4): bR, bE, bV, bF

    def add(self, kind: str, topic: int, effects: tuple[float, float, float, float]) -> int:
        self.kind.append(kind)
        self.topic.append(topic)
        self.effects = np.vstack([self.effects, np.array(effects)])
        return len(self.kind) - 1


def _component_effects(
    engagement: float, reach: float, virality: float, followers: float
) -> tuple[float, float, float, float]:
    """Log components (bR, bE, bV, bF) giving these multipliers on the goals.

    Engagement's multiplier is bR + bE up to the shares' own term (`_engagement_log`).
    """
    b_r = math.log(reach)
    b_e = math.log(engagement) - b_r
    b_v = math.log(virality) - b_e
    return b_r, b_e, b_v, math.log(followers)


def _plant(rng: np.random.Generator) -> _Tags:
    tags = _Tags([], [], np.zeros((0, 4)))
    for topic in range(TOPICS):
        for _ in range(TAGS_PER_TOPIC):
            tags.add("null", topic, (0.0, 0.0, 0.0, 0.0))
    for _ in range(GENERIC_TAGS):
        tags.add("generic", -1, (0.0, 0.0, 0.0, 0.0))
    for _ in range(RARE_TAGS):
        tags.add("rare", -1, (0.0, 0.0, 0.0, 0.0))
    for _ in range(2):
        m = rng.uniform(1.3, 1.6, size=4)
        tags.add("strong", int(rng.integers(TOPICS)), _component_effects(*m))
    m = rng.uniform(0.6, 0.77, size=4)
    tags.add("negative", int(rng.integers(TOPICS)), _component_effects(*m))
    for _ in range(2):
        tags.add("weak", int(rng.integers(TOPICS)), _component_effects(1.1, 1.1, 1.1, 1.1))
    for _ in range(3):
        tags.add("control", -1, (0.0, 0.0, 0.0, 0.0))
    for _ in range(2):
        tags.add("viral", -1, (0.0, 0.0, 0.0, 0.0))
    for _ in range(2):
        tags.add("timed", -1, (0.0, 0.0, 0.0, 0.0))
    return tags


def _account_sizes(
    rng: np.random.Generator, accounts: int, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Posts a year (one big account, the rest log-uniform 20..20,000) and followers (60x apart)."""
    posts = np.exp(rng.uniform(math.log(20), math.log(20_000), size=accounts))
    posts[0] = math.exp(rng.uniform(math.log(2_000), math.log(20_000)))
    posts[1] = math.exp(rng.uniform(math.log(20), math.log(200)))
    counts = np.maximum(1, np.round(posts * scale)).astype(np.int64)
    spread = rng.uniform(0.0, 1.0, size=accounts)
    spread[rng.permutation(accounts)[:2]] = (0.0, 1.0)
    followers = np.round(2_000 * 60.0**spread).astype(np.int64)
    return counts, followers


def _slot_effect(rng: np.random.Generator) -> np.ndarray:
    """(8, 24) ln multiplier by ISO weekday (index 1..7) and local hour: a brand's rhythm."""
    hours = np.arange(24)
    daily = 0.25 * np.cos((hours - rng.uniform(10, 20)) * 2 * math.pi / 24)
    weekly = rng.normal(0, 0.1, size=8)
    cell = rng.normal(0, 0.05, size=(8, 24))
    return weekly[:, None] + daily[None, :] + cell


def _local_times(rng: np.random.Generator, n: int, tz: str) -> pl.DataFrame:
    """posted_at (UTC) and local_date/weekday/hour for n posts in zone ``tz`` (sorted by time)."""
    start = END - timedelta(days=SPAN_DAYS)
    day = rng.integers(0, SPAN_DAYS, size=n)
    hour = np.clip(np.round(rng.normal(13, 4, size=n)), 0, 23).astype(np.int64)
    minute = rng.integers(0, 60, size=n)
    local_naive = (
        np.datetime64(start.replace(tzinfo=None), "m")
        + day.astype("timedelta64[D]")
        + hour.astype("timedelta64[h]")
        + minute.astype("timedelta64[m]")
    )
    frame = pl.DataFrame({"local": local_naive.astype("datetime64[us]")})
    utc = pl.col("local").dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    frame = frame.with_columns(posted_at=utc.dt.convert_time_zone("UTC")).drop_nulls()
    frame = frame.filter(pl.col("posted_at") <= END).sort("posted_at")
    local = pl.col("posted_at").dt.convert_time_zone(tz)
    return frame.select(
        "posted_at",
        local_date=local.dt.date(),
        local_weekday=local.dt.weekday().cast(pl.Int8),
        local_hour=local.dt.hour().cast(pl.Int8),
        month=local.dt.month(),
    )


def _draw_links(
    rng: np.random.Generator,
    tags: _Tags,
    topic: np.ndarray,
    viral: np.ndarray,
    timing: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(post index, tag index) pairs: topic tags, generic, rare, planted, controls, timed, viral."""
    n = len(topic)
    kinds = np.array(tags.kind)
    tag_topic = np.array(tags.topic)
    post_idx: list[np.ndarray] = []
    tag_idx: list[np.ndarray] = []
    zipf = 1.0 / np.arange(1, TAGS_PER_TOPIC + 1) ** 1.1
    for t in range(TOPICS):
        members = np.flatnonzero((kinds == "null") & (tag_topic == t))
        on = np.flatnonzero(topic == t)
        # Gumbel top-k: k tags without replacement, Zipf popularity.
        keys = np.log(zipf)[None, :] + rng.gumbel(size=(len(on), len(members)))
        order = np.argsort(-keys, axis=1)
        k = np.minimum(1 + rng.poisson(1.0, size=len(on)), 4)
        for j in range(4):
            chosen = on[k > j]
            post_idx.append(chosen)
            tag_idx.append(members[order[k > j, j]])
    for kind, rate in (("generic", 0.03), ("rare", None)):
        for h in np.flatnonzero(kinds == kind):
            if rate is None:
                chosen = rng.choice(n, size=min(n, int(rng.integers(1, 5))), replace=False)
            else:
                chosen = np.flatnonzero(rng.random(n) < rate)
            post_idx.append(chosen)
            tag_idx.append(np.full(len(chosen), h))
    strong_posts = np.zeros(n, dtype=bool)
    for h in np.flatnonzero(np.isin(kinds, ("strong", "negative", "weak"))):
        share = rng.uniform(0.08, 0.25)
        chosen = np.flatnonzero((topic == tag_topic[h]) & (rng.random(n) < share))
        if kinds[h] == "strong":
            strong_posts[chosen] = True
        post_idx.append(chosen)
        tag_idx.append(np.full(len(chosen), h))
    for h in np.flatnonzero(kinds == "control"):
        chosen = np.flatnonzero(strong_posts & (rng.random(n) < 0.35))
        post_idx.append(chosen)
        tag_idx.append(np.full(len(chosen), h))
    # Timed nulls: one on posts at the brand's good times (slot + season in the top quarter),
    # one at its bad times: no effect of their own, but their raw lift is the timing's.
    good, bad = np.quantile(timing, [0.75, 0.25])
    for h, at in zip(
        np.flatnonzero(kinds == "timed"), (timing >= good, timing <= bad), strict=True
    ):
        chosen = np.flatnonzero(at & (rng.random(n) < 0.2))
        post_idx.append(chosen)
        tag_idx.append(np.full(len(chosen), h))
    for h, p in zip(np.flatnonzero(kinds == "viral"), viral, strict=True):
        post_idx.append(np.array([p]))
        tag_idx.append(np.array([h]))
    pairs = np.unique(np.stack([np.concatenate(post_idx), np.concatenate(tag_idx)]), axis=1)
    return pairs[0], pairs[1]


def _engagement_log(b_r: np.ndarray, b_e: np.ndarray, b_v: np.ndarray) -> np.ndarray:
    """ln of the multiplier on a post's total engagement (shares are SHARE_FRACTION of it)."""
    f = SHARE_FRACTION
    result: np.ndarray = b_r + b_e + np.log((1 - f) + f * np.exp(b_v))
    return result


def _heavy_noise(rng: np.random.Generator, scale: np.ndarray) -> np.ndarray:
    """Student t(3) noise with standard deviation ``scale`` (heavier tails than a normal)."""
    return scale * rng.standard_t(3, size=len(scale)) / math.sqrt(3.0)


@dataclass(frozen=True)
class _Accounts:
    """Per-account draws: size, followers, zone, platform and the levels of each goal."""

    counts: np.ndarray
    followers: np.ndarray
    zones: list[str]
    platforms: list[str]
    reach_rate: np.ndarray
    engagement_rate: np.ndarray
    spread: np.ndarray
    post_growth: np.ndarray  # ln growth per year from posts
    drift: np.ndarray  # ln growth per year from everything else


def _draw_accounts(rng: np.random.Generator, scale: float) -> _Accounts:
    k = int(rng.integers(2, 6))
    counts, followers = _account_sizes(rng, k, scale)
    return _Accounts(
        counts=counts,
        followers=followers,
        zones=[str(z) for z in rng.choice(TIME_ZONES, size=k, replace=False)],
        platforms=[str(p) for p in rng.choice(PLATFORMS, size=k)],
        reach_rate=rng.uniform(0.1, 0.4, size=k),
        engagement_rate=rng.uniform(0.04, 0.1, size=k),
        spread=rng.uniform(0.35, 0.8, size=k),
        post_growth=rng.uniform(0.3, 1.0, size=k),
        drift=rng.uniform(0.0, 0.1, size=k),
    )


def _follower_paths(
    rng: np.random.Generator,
    acc: _Accounts,
    account: np.ndarray,
    posted: np.ndarray,
    jump: np.ndarray,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Hourly snapshots per account and each post's follower count when posted."""
    start = np.datetime64((END - timedelta(days=SPAN_DAYS + 1)).replace(tzinfo=None), "h")
    hours = (SPAN_DAYS + 1) * 24 + 1
    grid = start + np.arange(hours).astype("timedelta64[h]")
    post_hour = (posted - start.astype("datetime64[us]")) / np.timedelta64(1, "h")
    lag_h = 1.0 + rng.exponential(5.0, size=len(posted))
    frames, at_post = [], np.zeros(len(posted), dtype=np.int64)
    for a in range(len(acc.counts)):
        mine = np.flatnonzero(account == a)
        steps = rng.normal(0, RANDOM_WALK_SD, size=hours) + acc.drift[a] / (365 * 24)
        land = np.minimum(np.ceil(post_hour[mine] + lag_h[mine]).astype(np.int64), hours - 1)
        np.add.at(steps, land, jump[mine])
        log_f = math.log(acc.followers[a]) + np.cumsum(steps)
        count = np.round(np.exp(log_f)).astype(np.int64)
        at_post[mine] = count[np.floor(post_hour[mine]).astype(np.int64)]
        frames.append(
            pl.DataFrame(
                {
                    "account_id": np.full(hours, a + 1),
                    "captured_at": grid.astype("datetime64[us]"),
                    "followers": count,
                }
            )
        )
    snapshots = pl.concat(frames).with_columns(pl.col("captured_at").dt.replace_time_zone("UTC"))
    return snapshots.cast(dict(FOLLOWERS_SCHEMA)), at_post  # type: ignore[arg-type]


def make_brand(seed: int, *, scale: float = 1.0) -> Brand:
    """One synthetic brand from ``seed``; ``scale`` multiplies every account's post count."""
    rng = np.random.default_rng(seed)
    tags = _plant(rng)
    acc = _draw_accounts(rng, scale)
    span_posts = np.maximum(1, np.round(acc.counts * SPAN_DAYS / 365)).astype(np.int64)
    times = [_local_times(rng, int(n), tz) for n, tz in zip(span_posts, acc.zones, strict=True)]
    account = np.concatenate([np.full(t.height, a) for a, t in enumerate(times)])
    when = pl.concat(times)
    n = when.height
    topic_weights = rng.dirichlet(np.ones(TOPICS), size=len(acc.counts))
    cumulative = topic_weights.cumsum(axis=1)[account]
    topic = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), TOPICS - 1)
    viral = rng.choice(n, size=2, replace=False)
    slot = _slot_effect(rng)
    phase = rng.uniform(0, 12)
    month = when["month"].to_numpy()
    season = 0.15 * np.sin((month - phase) * 2 * math.pi / 12)
    weekday = when["local_weekday"].to_numpy().astype(np.int64)
    hour = when["local_hour"].to_numpy().astype(np.int64)
    timing = slot[weekday, hour] + season
    post_idx, tag_idx = _draw_links(rng, tags, topic, viral, timing)

    # Per-account tag effects (same sign, heterogeneous size) and their sums per post.
    factor = np.exp(rng.normal(0, HETEROGENEITY_SD, size=(len(tags.kind), len(acc.counts), 1)))
    per_account = tags.effects[:, None, :] * factor  # (tags, accounts, 4)
    link_effect = per_account[tag_idx, account[post_idx]]  # (links, 4)
    summed = np.zeros((n, 4))
    np.add.at(summed, post_idx, link_effect)
    b_r, b_e, b_v, b_f = summed.T

    spike = np.where(
        rng.random(n) < VIRAL_SHARE, rng.uniform(math.log(10), math.log(60), size=n), 0.0
    )
    spike[viral] = rng.uniform(math.log(30), math.log(80), size=2)
    sigma = acc.spread[account]
    posted = when["posted_at"].dt.replace_time_zone(None).to_numpy()
    jump_scale = acc.post_growth[account] / acc.counts[account]
    jump = jump_scale * rng.lognormal(-0.32, 0.8, size=n) * np.exp(b_f)
    snapshots, followers = _follower_paths(rng, acc, account, posted, jump)

    ln_reach = (
        np.log(followers * acc.reach_rate[account]) + timing + b_r
        + _heavy_noise(rng, sigma) + spike
    )  # fmt: skip
    e_e = _heavy_noise(rng, 0.5 * sigma)
    ln_other = ln_reach + np.log(acc.engagement_rate[account]) + b_e + e_e
    share_odds = SHARE_FRACTION / (1 - SHARE_FRACTION)
    ln_shares = ln_other + math.log(share_odds) + b_v + _heavy_noise(rng, 0.4 * sigma)
    ln_shares[viral] += rng.uniform(math.log(3), math.log(10), size=2)
    other = np.exp(np.minimum(ln_other, 25))
    reach = rng.poisson(np.exp(np.minimum(ln_reach, 25)))
    posts = when.select(
        post_id=pl.int_range(1, n + 1, dtype=pl.Int64),
        account_id=pl.Series(account + 1),
        platform=pl.Series([acc.platforms[a] for a in account]),
        posted_at=pl.col("posted_at"),
        local_date=pl.col("local_date"),
        local_weekday=pl.col("local_weekday"),
        local_hour=pl.col("local_hour"),
        likes=pl.Series(rng.poisson(0.85 * other)),
        comments=pl.Series(rng.poisson(0.10 * other)),
        shares=pl.Series(rng.poisson(np.exp(np.minimum(ln_shares, 25)))),
        saves=pl.Series(rng.poisson(0.05 * other)),
        impressions=pl.Series(np.round(reach * rng.uniform(1.1, 1.6, size=n)).astype(np.int64)),
        reach=pl.Series(reach),
        followers=pl.Series(followers),
    ).cast(dict(POSTS_SCHEMA))  # type: ignore[arg-type]
    links = pl.DataFrame({"post_id": post_idx + 1, "hashtag_id": tag_idx + 1}, schema=LINKS_SCHEMA)
    link_truth = _link_truth(tags, link_effect, post_idx, tag_idx, jump_scale[post_idx])
    accounts = pl.DataFrame(
        {
            "account_id": np.arange(1, len(acc.counts) + 1),
            "platform": acc.platforms,
            "time_zone": acc.zones,
            "followers": acc.followers,
        }
    )
    return Brand(posts, links, snapshots, tag_truth(link_truth), accounts, link_truth)


def _link_truth(
    tags: _Tags,
    link_effect: np.ndarray,
    post_idx: np.ndarray,
    tag_idx: np.ndarray,
    jump_scale: np.ndarray,
) -> pl.DataFrame:
    """Per link: post_id, hashtag_id, kind and the tag's own effect on that post per goal."""
    b_r, b_e, b_v, b_f = link_effect.T
    engagement = _engagement_log(b_r, b_e, b_v)
    per_link = {
        "engagement": engagement,
        "reach": b_r,
        "virality": b_e + b_v,
        "er_follower": engagement,
        "followers": jump_scale * np.expm1(b_f),
    }
    return pl.DataFrame(
        {
            "post_id": post_idx + 1,
            "hashtag_id": tag_idx + 1,
            "kind": np.array(tags.kind)[tag_idx],
            **{f"truth_{g}": v for g, v in per_link.items()},
            "strength_followers": b_f,
        }
    )


def tag_truth(link_truth: pl.DataFrame) -> pl.DataFrame:
    """Per tag of ``link_truth`` rows (all, or one window's): kind, posts, truth_/strength_<goal>.

    The truth is the mean of the tag's own effect over its posts; ``strength`` is the same for
    the four post-level goals and the log jump multiplier for followers.
    """
    out = link_truth.group_by("hashtag_id").agg(
        pl.len().alias("posts"),
        pl.col("kind").first(),
        pl.exclude("post_id", "kind").mean(),
    )
    return out.with_columns(
        **{f"strength_{g}": pl.col(f"truth_{g}") for g in GOALS if g != "followers"}
    ).sort("hashtag_id")
