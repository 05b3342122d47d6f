"""Seeded, reproducible demo and benchmark posts for a LEGOLAND-style theme-park group.

`generate_posts(DemoConfig(...))` yields plain dicts with exactly `PostRecord`'s field names, so
they can be validated, written as NDJSON or imported like any other source. The same config
always yields the same records (the module never reads the clock: pass `end=now` yourself).

What an analyst sees
--------------------
* Accounts: `DEMO_ACCOUNTS` (12 park accounts on X, Instagram, Facebook and LinkedIn in the
  parks' own time zones) or, with `DemoConfig(accounts=40)`, synthetic park accounts assigned
  round-robin to platforms and parks.
* Texts: park copy in English, and mostly (80%) in Danish, German and Japanese for the Billund,
  Deutschland and Japan parks, with brand tags in mixed spellings (#LEGOLAND/#Legoland/
  #legoland), park tags,
  seasonal tags only in season (#halloween in October, #christmas in December, ...), a Zipf-like
  tail of generic and synthesised tags (#family, #buildday17, ...), ~10% of posts without any
  hashtag and LinkedIn's `{hashtag|\\#|Careers}` markup on about half of the LinkedIn posts.
* Times: mostly local daytime, more on weekends and school holidays, fewer while the European
  parks are closed in winter; timestamps carry the account's real UTC offset (DST included).
* Metrics: lognormal, scaled by followers (which grow slowly) and platform norms. Engagement is
  likes + comments + shares + saves. Platform NULL patterns (None = not reported):

  ========= ===== ======== ====== ============================ ============================ =====
  platform  likes comments shares saves                        impressions                  reach
  ========= ===== ======== ====== ============================ ============================ =====
  x         int   int      int    int (None before 2023-03-01) int (None before 2022-12-22) None
  instagram int   int      int    int                          int (None from 2024-07-02)   int
  facebook  int   int      int    None                         int                          int
  linkedin  int   int      int    None                         int                          int
  ========= ===== ======== ====== ============================ ============================ =====

  Instagram stopped reporting impressions for media created from 2024-07-02. LinkedIn's
  `uniqueImpressionsCount` is reported as reach (unique members who saw the post).

Planted effects (see `PLANTED_EFFECTS` for the exact parameters)
-----------------------------------------------------------------
1. Lift: #BuildTogether (any case) on ~6.5% of posts, independent of account and time: engagement
   x1.6 on the baseline draw.
2. Weak: #ad on ~4% of posts: engagement x0.6.
3. Best slot: Saturday 10:00-10:59 in the account's LOCAL time: engagement x1.8 for every
   account; posting there is boosted so ~3.5% of posts fall into it. In UTC the slot moves by an
   hour at DST changes.
4. Viral outlier: exactly one post in the data set carries #MiniFigureMadness (and no other
   tag); its engagement is 200x its account's typical post, which makes it the single most
   engaging post. The account is the one with the largest typical engagement (legolandwindsor on
   Instagram for the default accounts); the post sits ~62% into the history.
5. Follower driver: #Giveaway on ~1.5% of posts (at most two per account per month, spaced at
   least 4 days apart); after each such post the account's followers rise by an extra 0.5%,
   ramping in linearly over 3 days, on top of the baseline growth. Engagement is neutral.
6. Controls: every other tag has multiplier 1.0 (#family, #kids, #themepark, #LEGO, #travel,
   #LEGOLAND, park and seasonal tags) within an account.

Effects multiply the engagement draw; reach and impressions scale with the square root of the
multiplier (better posts get shown more), so engagement per follower shows the full multiplier
and engagement per reach its square root. The baseline noise is truncated at 3 sigma so that no
ordinary post can rival the outlier.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from hashtag_core.platforms import Platform

__all__ = [
    "DEFAULT_END",
    "DEMO_ACCOUNTS",
    "FRAME_SCHEMA",
    "PARKS",
    "PLANTED_EFFECTS",
    "DemoAccount",
    "DemoConfig",
    "FollowerEffect",
    "HashtagEffect",
    "OutlierEffect",
    "Park",
    "PlantedEffects",
    "SlotEffect",
    "daily_followers",
    "demo_accounts",
    "generate_frame",
    "generate_posts",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

#: Default end of the history; callers wanting "recent" data pass `end=datetime.now(UTC)`.
DEFAULT_END: Final = datetime(2026, 1, 1, tzinfo=UTC)
# Posts are produced in fixed-size chunks, each with its own RNG stream: the chunk size is part
# of the output's definition, so it is a constant and not a parameter.
_CHUNK: Final = 50_000
_DAY_S: Final = 86_400
_YEAR_S: Final = 365.25 * _DAY_S
_Z_CLIP: Final = 3.0  # truncation of the normal draws behind the lognormal noise


# --------------------------------------------------------------------------------------------
# Public configuration and documentation structures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoConfig:
    """What to generate. Equal configs give identical output."""

    seed: int = 2026
    posts: int = 12_000  # total number of posts
    accounts: int | None = None  # None = DEMO_ACCOUNTS, n = n synthetic park accounts
    hashtags: int = 300  # vocabulary size (at least the ~90 named tags)
    days: int = 730  # history length, ending at `end`
    end: datetime = DEFAULT_END  # aware; pass "now" explicitly for live demos
    tail_scale: float = 1.0  # multiplies the mean number of tail tags per post (1.0 = default)

    def __post_init__(self) -> None:
        """Reject configs that cannot produce valid records."""
        if self.posts < 0:
            raise ValueError("posts must be >= 0")
        if self.accounts is not None and self.accounts < 1:
            raise ValueError("accounts must be None or >= 1")
        if self.hashtags < 1:
            raise ValueError("hashtags must be >= 1")
        if self.days < 2:
            raise ValueError("days must be >= 2")
        if self.tail_scale < 0:
            raise ValueError("tail_scale must be >= 0")
        if self.end.tzinfo is None or self.end.utcoffset() is None:
            raise ValueError("end must be timezone-aware, e.g. datetime.now(UTC)")


@dataclass(frozen=True)
class Park:
    """A theme park: its brand tag, time zone, school-holiday region and main language."""

    key: str
    name: str
    tag: str  # park hashtag without the sign
    timezone: str
    region: str  # "uk", "eu", "us" or "jp": school holidays and seasonal tags
    language: str  # "en", "da", "de" or "ja"


PARKS: Final[tuple[Park, ...]] = (
    Park("billund", "LEGOLAND Billund Resort", "LEGOLANDBillund", "Europe/Copenhagen", "eu", "da"),
    Park("windsor", "LEGOLAND Windsor Resort", "LEGOLANDWindsor", "Europe/London", "uk", "en"),
    Park(
        "california",
        "LEGOLAND California Resort",
        "LEGOLANDCalifornia",
        "America/Los_Angeles",
        "us",
        "en",
    ),
    Park("florida", "LEGOLAND Florida Resort", "LEGOLANDFlorida", "America/New_York", "us", "en"),
    Park("japan", "LEGOLAND Japan Resort", "LEGOLANDJapan", "Asia/Tokyo", "jp", "ja"),
    Park(
        "deutschland",
        "LEGOLAND Deutschland Resort",
        "LEGOLANDDeutschland",
        "Europe/Berlin",
        "eu",
        "de",
    ),
    Park("newyork", "LEGOLAND New York Resort", "LEGOLANDNewYork", "America/New_York", "us", "en"),
)
_PARK_BY_KEY: Final = {park.key: park for park in PARKS}


@dataclass(frozen=True)
class DemoAccount:
    """One brand account; `followers` is the count at the start of the history."""

    handle: str
    platform: Platform
    timezone: str
    followers: int
    park: str  # Park.key
    quality: float = 1.0  # account-level engagement factor (content quality, audience fit)


DEMO_ACCOUNTS: Final[tuple[DemoAccount, ...]] = (
    DemoAccount("LEGOLANDWindsor", Platform.X, "Europe/London", 210_000, "windsor"),
    DemoAccount("LEGOLAND_CA", Platform.X, "America/Los_Angeles", 95_000, "california"),
    DemoAccount("LEGOLANDFlorida", Platform.X, "America/New_York", 62_000, "florida", 0.9),
    DemoAccount("legolandbillund", Platform.INSTAGRAM, "Europe/Copenhagen", 180_000, "billund"),
    DemoAccount("legolandwindsor", Platform.INSTAGRAM, "Europe/London", 390_000, "windsor"),
    DemoAccount("legoland_japan", Platform.INSTAGRAM, "Asia/Tokyo", 120_000, "japan", 1.3),
    DemoAccount(
        "legoland.deutschland", Platform.INSTAGRAM, "Europe/Berlin", 140_000, "deutschland"
    ),
    DemoAccount("legolandnewyork", Platform.INSTAGRAM, "America/New_York", 85_000, "newyork", 1.1),
    DemoAccount(
        "LEGOLANDBillundResort", Platform.FACEBOOK, "Europe/Copenhagen", 520_000, "billund"
    ),
    DemoAccount(
        "LEGOLANDCaliforniaResort", Platform.FACEBOOK, "America/Los_Angeles", 610_000, "california"
    ),
    DemoAccount(
        "LEGOLANDDeutschland", Platform.FACEBOOK, "Europe/Berlin", 450_000, "deutschland", 0.9
    ),
    DemoAccount("legoland-windsor-resort", Platform.LINKEDIN, "Europe/London", 28_000, "windsor"),
    DemoAccount(
        "legoland-florida-resort", Platform.LINKEDIN, "America/New_York", 21_000, "florida"
    ),
)


@dataclass(frozen=True)
class HashtagEffect:
    """A hashtag whose posts get `multiplier` x engagement; `share` of posts carry it."""

    name: str  # canonical spelling without the sign; the grouping key is name.casefold()
    spellings: tuple[str, ...]  # spellings used in texts, all with the same key
    share: float
    multiplier: float


@dataclass(frozen=True)
class SlotEffect:
    """A local weekday-hour cell with `multiplier` x engagement for every account."""

    iso_weekday: int  # 1 = Monday ... 7 = Sunday, in the account's time zone
    hour: int  # local hour, 0..23
    multiplier: float
    posting_boost: float  # extra posting weight of that hour on that weekday
    approx_share: float  # resulting share of all posts in the cell


@dataclass(frozen=True)
class OutlierEffect:
    """A hashtag used exactly once, on one post with `multiplier` x its account's median."""

    name: str
    multiplier: float  # engagement vs. the account's typical (median, no-effect) post
    reach_multiplier: float  # reach/impressions vs. typical
    default_account: str  # the account it lands on with DEMO_ACCOUNTS
    position: float  # fraction of the history at which it is posted


@dataclass(frozen=True)
class FollowerEffect:
    """A hashtag whose posts are followed by an extra follower jump of the account."""

    name: str
    spellings: tuple[str, ...]
    share: float  # target share of an account's posts
    max_per_30_days: float  # cap per account, so large data sets do not explode
    jump: float  # relative extra followers once the ramp is complete (0.005 = +0.5%)
    ramp_days: float  # the jump builds up linearly over this many days
    min_gap_days: float  # minimum distance between two such posts of one account
    engagement_multiplier: float = 1.0


@dataclass(frozen=True)
class PlantedEffects:
    """Every effect the generator plants; anything not listed here has no effect."""

    lift: HashtagEffect
    weak: HashtagEffect
    best_slot: SlotEffect
    outlier: OutlierEffect
    follower_driver: FollowerEffect
    controls: tuple[str, ...]  # neutral tags (multiplier 1.0 within an account)
    reach_exponent: float = 0.5  # reach/impressions scale with multiplier ** reach_exponent
    noise_sigma: float = 0.78  # sigma of log(engagement) around an account's typical post


PLANTED_EFFECTS: Final = PlantedEffects(
    lift=HashtagEffect(
        "BuildTogether", ("BuildTogether", "buildtogether", "BUILDTOGETHER"), 0.065, 1.6
    ),
    weak=HashtagEffect("ad", ("ad", "AD"), 0.04, 0.6),
    best_slot=SlotEffect(
        iso_weekday=6, hour=10, multiplier=1.8, posting_boost=3.0, approx_share=0.035
    ),
    outlier=OutlierEffect("MiniFigureMadness", 200.0, 40.0, "legolandwindsor", 0.62),
    follower_driver=FollowerEffect(
        "Giveaway",
        ("Giveaway", "giveaway", "GIVEAWAY"),
        share=0.015,
        max_per_30_days=2.0,
        jump=0.005,
        ramp_days=3.0,
        min_gap_days=4.0,
    ),
    controls=("family", "kids", "themepark", "LEGO", "travel", "LEGOLAND"),
)


# --------------------------------------------------------------------------------------------
# Platform norms
# --------------------------------------------------------------------------------------------

_PLATFORMS: Final = (Platform.X, Platform.INSTAGRAM, Platform.FACEBOOK, Platform.LINKEDIN)


@dataclass(frozen=True)
class _Norms:
    """Medians of a typical brand post on one platform."""

    reach_ratio: float  # reach / followers
    er_reach: float  # engagement / reach
    impressions_per_reach: float
    mix: tuple[float, float, float, float]  # share of likes, comments, shares, saves
    activity: float  # relative posting frequency
    hashtags_per_post: float  # mean number of tail tags (Poisson)


_NORMS: Final = (
    _Norms(0.08, 0.012, 1.0, (0.70, 0.08, 0.14, 0.08), 1.3, 1.2),  # x
    _Norms(0.22, 0.055, 1.35, (0.86, 0.035, 0.045, 0.06), 1.0, 2.2),  # instagram
    _Norms(0.06, 0.035, 1.25, (0.80, 0.09, 0.11, 0.0), 0.8, 0.9),  # facebook
    _Norms(0.25, 0.02, 1.4, (0.86, 0.07, 0.07, 0.0), 0.35, 0.6),  # linkedin
)
# Reporting changes (UTC epoch seconds): X showed view counts from late 2022 and bookmark
# counts from 2023; Instagram's API stopped reporting impressions of media from 2024-07-02.
_REACH_RATIO: Final = np.array([n.reach_ratio for n in _NORMS])
_ER_REACH: Final = np.array([n.er_reach for n in _NORMS])
_IMPRESSIONS_PER_REACH: Final = np.array([n.impressions_per_reach for n in _NORMS])
_MIX: Final = np.array([n.mix for n in _NORMS])
_TAIL_RATE: Final = np.array([n.hashtags_per_post for n in _NORMS])
_X_VIEWS_FROM: Final = int(datetime(2022, 12, 22, tzinfo=UTC).timestamp())
_X_BOOKMARKS_FROM: Final = int(datetime(2023, 3, 1, tzinfo=UTC).timestamp())
_IG_IMPRESSIONS_UNTIL: Final = int(datetime(2024, 7, 2, tzinfo=UTC).timestamp())
_METRICS: Final = ("likes", "comments", "shares", "saves", "impressions", "reach")


# --------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------


def demo_accounts(config: DemoConfig) -> tuple[DemoAccount, ...]:
    """Return the accounts `config` generates posts for."""
    if config.accounts is None:
        return DEMO_ACCOUNTS
    rng = np.random.default_rng([config.seed, 3])
    n = config.accounts
    followers = np.exp(rng.uniform(math.log(5_000), math.log(600_000), n))
    quality = np.exp(rng.normal(0.0, 0.25, n))
    accounts = []
    for i in range(n):
        platform = _PLATFORMS[i % len(_PLATFORMS)]
        park = PARKS[i % len(PARKS)]
        sep = "-" if platform is Platform.LINKEDIN else "_"
        handle = f"{park.tag.lower()}{sep}{platform.value}{sep}{i + 1:02d}"
        accounts.append(
            DemoAccount(
                handle, platform, park.timezone, int(followers[i]), park.key, float(quality[i])
            )
        )
    return tuple(accounts)


# --------------------------------------------------------------------------------------------
# Calendar: school holidays, park seasons, seasonal tags, posting-time weights
# --------------------------------------------------------------------------------------------

_MonthDay = tuple[int, int]
_HOLIDAYS: Final[dict[str, tuple[tuple[_MonthDay, _MonthDay], ...]]] = {
    "uk": (((1, 1), (1, 3)), ((2, 12), (2, 20)), ((5, 25), (5, 31)), ((7, 22), (9, 3))),
    "eu": (((1, 1), (1, 2)), ((2, 8), (2, 22)), ((6, 28), (8, 10)), ((10, 12), (10, 20))),
    "us": (((1, 1), (1, 3)), ((3, 10), (4, 5)), ((6, 10), (8, 20)), ((11, 22), (11, 30))),
    "jp": (((1, 1), (1, 7)), ((3, 20), (4, 6)), ((4, 29), (5, 5)), ((7, 20), (8, 31))),
}
_EXTRA_HOLIDAYS: Final = {"uk": ((10, 21), (12, 20)), "eu": ((12, 21),), "us": ((12, 20),)}
# Weekday posting weights, Monday..Sunday: brands post more when families plan outings.
_WEEKDAY_WEIGHTS: Final = (1.0, 1.0, 1.0, 1.0, 1.1, 1.45, 1.35)
_HOUR_WEIGHTS: Final = np.array(
    [0.02, 0.01, 0.01, 0.01, 0.01, 0.03, 0.10, 0.35, 0.75, 1.10, 1.30, 1.30]
    + [1.40, 1.25, 1.10, 1.05, 1.10, 1.20, 1.30, 1.20, 0.95, 0.60, 0.30, 0.08]
)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _in_holidays(region: str, day: date) -> bool:
    """Whether `day` falls in (approximate) school holidays of the region."""
    md = (day.month, day.day)
    if any(lo <= md <= hi for lo, hi in _HOLIDAYS[region]):
        return True
    # Open-ended windows run to the end of their month (autumn half term, Christmas).
    if any(md[0] == lo[0] and md[1] >= lo[1] for lo in _EXTRA_HOLIDAYS.get(region, ())):
        return True
    if region != "jp":
        return abs((day - _easter(day.year)).days) <= 7
    return False


def _day_weight(region: str, day: date) -> float:
    """Relative posting volume on a local calendar day."""
    weight = _WEEKDAY_WEIGHTS[day.weekday()] * (1.3 if _in_holidays(region, day) else 1.0)
    # The European parks close from November to mid-March except for Christmas events.
    if region in ("uk", "eu") and (day.month in (11, 1, 2) or (day.month == 3 and day.day < 15)):
        weight *= 0.55
    return weight


def _season_tags(region: str, day: date) -> tuple[str, ...]:
    """Seasonal hashtags that make sense on `day` in the region (spellings included)."""
    tags: list[str] = []
    month = day.month
    if month == 10:
        tags += ["halloween", "Halloween", "brickortreat"]
        tags += ["ハロウィン"] if region == "jp" else []
    if month == 12:
        tags += ["クリスマス"] if region == "jp" else ["christmas", "Christmas", "merrychristmas"]
    if month in (7, 8):
        summer = {"uk": "summerholidays", "eu": "summer", "us": "summervacation", "jp": "夏休み"}
        tags.append(summer[region])
    if region == "jp" and (day.month, day.day) >= (4, 29) and (day.month, day.day) <= (5, 5):
        tags.append("ゴールデンウィーク")
    if region != "jp" and abs((day - _easter(day.year)).days) <= 10:
        tags.append("easter")
    if region == "uk" and _in_holidays("uk", day) and month in (2, 5, 10):
        tags += ["halfterm", "HalfTerm"]
    if region == "us" and month == 3:
        tags.append("springbreak")
    return tuple(tags)


@dataclass(frozen=True)
class _Calendar:
    """Per-region day weights and seasonal-tag options over the padded local date range."""

    first_day: date
    n_days: int
    weights: dict[str, F64]  # region -> normalised probability per day
    season_id: dict[str, I64]  # region -> index into `season_options` per day
    season_options: tuple[tuple[str, ...], ...]


def _calendar(first_day: date, n_days: int) -> _Calendar:
    """Day weights and seasonal tags of every region for the padded local date range."""
    options: dict[tuple[str, ...], int] = {(): 0}
    weights: dict[str, F64] = {}
    season_id: dict[str, I64] = {}
    for region in _HOLIDAYS:
        w = np.empty(n_days)
        ids = np.empty(n_days, dtype=np.int64)
        for i in range(n_days):
            day = first_day + timedelta(days=i)
            w[i] = _day_weight(region, day)
            ids[i] = options.setdefault(_season_tags(region, day), len(options))
        weights[region] = w / w.sum()
        season_id[region] = ids
    return _Calendar(first_day, n_days, weights, season_id, tuple(options))


@dataclass(frozen=True)
class _TzTable:
    """UTC offset (seconds) of every local wall-clock hour, and whether that hour exists."""

    offset: I64
    exists: Bools


@functools.lru_cache(maxsize=64)
def _tz_table(tz_name: str, first_day: date, n_days: int) -> _TzTable:
    """Offsets of every local hour of the range; cached: configs share time zones and ranges."""
    tz = ZoneInfo(tz_name)
    base = datetime.combine(first_day, time())
    offset = np.empty(n_days * 24, dtype=np.int64)
    exists = np.empty(n_days * 24, dtype=np.bool_)
    for h in range(n_days * 24):
        local = base + timedelta(hours=h)
        aware = local.replace(tzinfo=tz)
        delta = aware.utcoffset()
        offset[h] = 0 if delta is None else int(delta.total_seconds())
        # Wall-clock hours skipped by a spring-forward change do not round-trip.
        exists[h] = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local
    offset.flags.writeable = False
    exists.flags.writeable = False
    return _TzTable(offset, exists)


# --------------------------------------------------------------------------------------------
# Hashtag vocabulary and texts
# --------------------------------------------------------------------------------------------

_GENERIC_TAGS: Final = (
    "family", "kids", "themepark", "LEGO", "familyfun", "daysout", "travel", "ninjago", "duplo",
    "minifigures", "legominifigures", "weekendvibes", "rollercoaster", "legocity", "legofriends",
    "legotechnic", "miniland", "afol", "bricks", "legobuilding", "kidsactivities", "familytime",
    "vacation", "holiday", "funforkids", "creativeplay", "playtime", "thingstodo", "familytravel",
    "legostarwars", "waterpark", "legoideas", "toddlerfun", "staycation",
)  # fmt: skip
_JA_TAGS: Final = ("レゴ", "家族旅行", "子連れ", "名古屋", "子連れお出かけ", "テーマパーク")
_LINKEDIN_TAGS: Final = (
    "Careers", "Hiring", "Teamwork", "Tourism", "Hospitality", "ThemeParks", "Leadership",
    "Sustainability", "WorkWithUs", "MerlinEntertainments",
)  # fmt: skip
_WORDS_A: Final = (
    "build", "brick", "mini", "play", "ride", "castle", "dragon", "pirate", "ninja", "city",
    "dream", "little", "master", "ocean", "safari", "space", "train", "knight", "robot",
    "rainbow", "rocket", "jungle", "royal", "turbo", "pixel", "giant", "tiny", "happy", "super",
    "wild", "magic", "star", "sunny", "speedy", "clever", "cosmic", "golden", "mighty", "brave",
)  # fmt: skip
_WORDS_B: Final = (
    "day", "fun", "time", "crew", "life", "zone", "moments", "adventure", "quest", "world",
    "club", "squad", "land", "party", "challenge", "builders", "heroes", "explorers", "makers",
    "days", "trip", "weekend", "memories", "goals", "vibes", "story", "mission", "kingdom", "town",
)  # fmt: skip
_BRAND_SPELLINGS: Final = ("LEGOLAND", "LEGOLAND", "LEGOLAND", "Legoland", "Legoland", "legoland")
_SEASONAL_TAGS: Final = (
    *("halloween", "brickortreat", "christmas", "merrychristmas", "summerholidays", "summer"),
    *("summervacation", "easter", "halfterm", "springbreak", "ハロウィン", "クリスマス", "夏休み"),
    "ゴールデンウィーク",
)  # every tag _season_tags can return (spellings aside)
_JA_BRAND: Final = "レゴランド"


@dataclass(frozen=True)
class _Vocabulary:
    """The Zipf-ranked tail of tags (named generic tags first, then synthesised ones)."""

    names: tuple[str, ...]  # usual spelling
    alternates: tuple[str, ...]  # occasional other spelling with the same key
    cdf: F64  # cumulative Zipf probabilities over `names`


def _vocabulary(config: DemoConfig) -> _Vocabulary:
    """Named generic tags, then word-pair tags (#rocketcrew, #buildday17) up to the size."""
    reserved = {tag.casefold() for tag in _reserved_tags()}
    # The named tags count towards the vocabulary; the Zipf tail fills up the rest.
    size = max(len(_GENERIC_TAGS), config.hashtags - len(reserved))
    rng = np.random.default_rng([config.seed, 2])
    taken = reserved | {tag.casefold() for tag in _GENERIC_TAGS}
    combos = [(a, b) for a in _WORDS_A for b in _WORDS_B if a != b]
    order = rng.permutation(len(combos))
    names = list(_GENERIC_TAGS)
    alternates = [_alternate(tag) for tag in _GENERIC_TAGS]
    suffix = 0  # 0 = plain word pair, then numbered variants: #buildday2, #buildday3, ...
    while len(names) < size:
        for i in order:
            a, b = combos[int(i)]
            camel = f"{a.capitalize()}{b.capitalize()}{suffix or ''}"
            if camel.casefold() in taken:
                continue
            taken.add(camel.casefold())
            names.append(camel.lower())
            alternates.append(camel)
            if len(names) >= size:
                break
        suffix = 2 if suffix == 0 else suffix + 1
    weights = 1.0 / np.arange(1, size + 1) ** 1.05
    return _Vocabulary(tuple(names), tuple(alternates), np.cumsum(weights) / weights.sum())


def _alternate(tag: str) -> str:
    """Another spelling with the same grouping key (exercises case-insensitive grouping)."""
    if tag == "LEGO":
        return "Lego"
    return tag.lower() if tag != tag.lower() else tag.capitalize()


def _reserved_tags() -> tuple[str, ...]:
    """Named tags that the synthesised tail must never collide with."""
    effects = PLANTED_EFFECTS
    planted = (
        effects.lift.name,
        effects.weak.name,
        effects.outlier.name,
        effects.follower_driver.name,
    )
    parks = tuple(park.tag for park in PARKS)
    return planted + _SEASONAL_TAGS + parks + _LINKEDIN_TAGS + _JA_TAGS + ("LEGOLAND", _JA_BRAND)


_TEMPLATES: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "Build your dream at {park} this weekend!",
        "The sun is out and the coasters are running at {park}.",
        "Who's ready for a brick-tastic day out at {park}?",
        "New in Miniland: can you spot the tiny details?",
        "Tag someone who would love this view.",
        "Our Model Builders spent 300 hours on this one. Worth it?",
        "Family days out don't get much better than this.",
        "Tickets are cheaper online. Plan your visit to {park} now.",
        "Rain or shine, there's always something to build.",
        "Meet the crew keeping the rides running every day.",
        "Hands up if you screamed on this ride!",
        "Little builders, big imaginations.",
        "It's a great day to be a kid at {park}.",
        "Open every day this week. See you soon!",
        "Which land is your favourite? Tell us below.",
        "Behind the scenes: 40 million bricks and counting.",
        "Golden hour at {park} never gets old.",
        "Quick question: NINJAGO or DUPLO Valley first?",
        "Your adventure starts here.",
        "Bring the whole family to {park} and build memories that last.",
    ),
    "ja": (
        "週末は{park}で家族みんなでブロック遊び！",
        "ミニランドに新しい作品が登場しました。",
        "今日は晴れ！ジェットコースター日和です。",
        "子どもたちの笑顔がいっぱいの一日でした。",
        "{park}のチケットはオンラインがお得です。",
        "あなたのお気に入りのエリアはどこですか？",
        "夏休みの思い出は{park}で。",
        "マスター・モデルビルダーの作品をぜひ見に来てください。",
    ),
    "de": (
        "Am Wochenende ins {park}? Wir freuen uns auf euch!",
        "Neu im Miniland: Findet ihr alle Details?",
        "Sonne, Achterbahn und ganz viele Steine.",
        "Welche Attraktion ist euer Favorit?",
        "Tickets online buchen und sparen.",
        "Was für ein herrlicher Tag im {park}, danke für euren Besuch!",
        "Leider bleibt die Wasserbahn heute wegen des Gewitters geschlossen.",
        "Unsere Modellbauer haben 300 Stunden an diesem Modell gearbeitet.",
        "Heute bis 20 Uhr geöffnet, kommt vorbei!",
        "Die Warteschlangen waren heute Morgen zu lang, das tut uns leid.",
        "Kleine Baumeister, große Ideen.",
        "Ein toller Familientag im {park} mit ganz vielen Überraschungen.",
    ),
    "da": (
        "Kom og byg drømme i {park} i weekenden!",
        "Nyt i Miniland: kan I finde alle detaljerne?",
        "Solen skinner og rutsjebanerne kører.",
        "Hvilken forlystelse er jeres favorit?",
        "Køb billetter online og spar.",
        "Sikke en dejlig dag i {park}, tak fordi I kom!",
        "Desværre er vandlandet lukket i dag på grund af tordenvejr.",
        "Vores modelbyggere har brugt 300 timer på denne model.",
        "Åbent til klokken 20 i aften, vi ses!",
        "Køerne var for lange i morges, og det beklager vi.",
        "Små byggere med store idéer.",
        "En fantastisk familiedag i {park} med masser af overraskelser.",
    ),
    "linkedin": (
        "We're hiring seasonal team members at {park}. Join us and bring play to life!",
        "Proud of our team for another record season at {park}.",
        "Meet Sarah, one of our Master Model Builders, on what makes a great model.",
        "Our apprentices just completed their first season. Congratulations to all of them!",
        "How we cut energy use across the resort by 18% this year.",
        "Great to welcome industry partners to {park} for our annual tourism forum.",
        "Leadership lessons from running a theme park: listen to the kids.",
        "Applications for our graduate programme are now open.",
        "Thank you to every colleague who made this summer unforgettable.",
        "Behind every ride opening is a team of engineers, operators and planners.",
    ),
    "giveaway_en": (
        "GIVEAWAY! Win a family ticket to {park}. Follow us and tag a friend to enter.",
        "Competition time: 4 tickets to {park} up for grabs! Follow, like and share to enter.",
        "We're giving away an annual pass! Follow us and comment your favourite ride.",
    ),
    "giveaway_ja": ("プレゼントキャンペーン！フォロー＆いいねで{park}のチケットが当たる！",),
    "giveaway_da": (
        "KONKURRENCE! Vind billetter til {park}. Følg os og tag en ven for at deltage.",
    ),
    "giveaway_de": (
        "GEWINNSPIEL! Gewinnt Tickets für das {park}. Folgt uns und markiert einen Freund.",
    ),
}
_OUTLIER_TEXT: Final = "Wait for it... this minifigure stole the whole show today 😂 #{tag}"
_EMOJI: Final = ("🎢", "🧱", "🏰", "🐉", "🎉", "☀️", "👨‍👩‍👧", "🌈", "🚀", "🤩")


# --------------------------------------------------------------------------------------------
# Generation context (everything derived from the config once)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """Everything derived once from the config; per-account arrays are indexed by account."""

    config: DemoConfig
    accounts: tuple[DemoAccount, ...]
    parks: tuple[Park, ...]  # per account
    platform_idx: I64  # per account, index into _PLATFORMS
    start_s: int
    end_s: int
    calendar: _Calendar
    vocabulary: _Vocabulary
    followers: F64  # per account, followers at the start of the history
    quality: F64  # per account
    growth: F64  # per account, yearly log growth of followers
    page_ids: tuple[int, ...]  # Facebook page id per account
    giveaway_times: tuple[I64, ...] = field(default=())  # per account, sorted UTC seconds


def _context(config: DemoConfig) -> _Context:
    """Derive accounts, calendar, vocabulary and per-account parameters from the config."""
    accounts = demo_accounts(config)
    end_s = int(config.end.timestamp())
    start_s = end_s - config.days * _DAY_S
    # Pad the local date range by a day on both sides: time zones are up to 14 h off UTC.
    first_day = datetime.fromtimestamp(start_s, UTC).date() - timedelta(days=1)
    n_days = (datetime.fromtimestamp(end_s, UTC).date() - first_day).days + 2
    rng = np.random.default_rng([config.seed, 4])
    return _Context(
        config=config,
        accounts=accounts,
        parks=tuple(_PARK_BY_KEY[a.park] for a in accounts),
        platform_idx=np.array([_PLATFORMS.index(a.platform) for a in accounts], dtype=np.int64),
        start_s=start_s,
        end_s=end_s,
        calendar=_calendar(first_day, n_days),
        vocabulary=_vocabulary(config),
        followers=np.array([a.followers for a in accounts], dtype=np.float64),
        quality=np.array([a.quality for a in accounts], dtype=np.float64),
        growth=rng.uniform(0.03, 0.12, len(accounts)),
        page_ids=tuple(int(v) for v in rng.integers(10**14, 10**15 - 1, len(accounts))),
    )


def _typical_engagement(ctx: _Context) -> F64:
    """Median engagement of an effect-free post of each account at the start of the history."""
    p = ctx.platform_idx
    result: F64 = ctx.followers * _REACH_RATIO[p] * _ER_REACH[p] * ctx.quality
    return result


# --------------------------------------------------------------------------------------------
# Skeleton: who posts when, and which posts carry planted tags (small arrays for all posts)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Skeleton:
    """Per-post arrays for the whole data set (a few bytes per post), sorted by UTC time."""

    account: I64
    utc: I64  # epoch seconds, sorted ascending
    local: I64  # local wall-clock time as "epoch" seconds (naive)
    lift: Bools
    weak: Bools
    giveaway: Bools
    outlier: int  # index of the viral post, -1 when there is none


def _posts_per_account(ctx: _Context, rng: np.random.Generator) -> I64:
    """Split the total over accounts by platform posting habits (exact total)."""
    activity = np.array([_NORMS[p].activity for p in ctx.platform_idx])
    counts: I64 = rng.multinomial(ctx.config.posts, activity / activity.sum()).astype(np.int64)
    return counts


def _hour_cdfs() -> tuple[F64, F64]:
    """Cumulative local-hour distributions for ordinary days and for the best-slot weekday."""
    slot = PLANTED_EFFECTS.best_slot
    boosted = _HOUR_WEIGHTS.copy()
    boosted[slot.hour] *= slot.posting_boost
    plain = np.cumsum(_HOUR_WEIGHTS) / _HOUR_WEIGHTS.sum()
    return plain, np.cumsum(boosted) / boosted.sum()


def _draw_local_slots(
    rng: np.random.Generator, n: int, p_day: F64, first_weekday: int, table: _TzTable
) -> tuple[I64, I64]:
    """Draw n local (hour slot, seconds within the hour) pairs following the posting habits."""
    plain, boosted = _hour_cdfs()
    day = rng.choice(len(p_day), size=n, p=p_day)
    u = rng.random(n)
    # first_weekday is ISO-1 (Monday = 0), like the slot's iso_weekday - 1.
    in_slot_day = (first_weekday + day) % 7 == PLANTED_EFFECTS.best_slot.iso_weekday - 1
    hour = np.where(in_slot_day, np.searchsorted(boosted, u), np.searchsorted(plain, u))
    slot = day * 24 + np.minimum(hour, 23)
    # A wall-clock hour skipped by DST does not exist: such posts go out an hour later.
    slot = np.where(table.exists[slot], slot, np.minimum(slot + 1, len(table.exists) - 1))
    # Scheduled posts go out on the hour or half hour (second 0); the rest are typed live.
    kind = rng.random(n)
    minute = np.where(kind < 0.4, 0, np.where(kind < 0.5, 30, rng.integers(0, 60, n)))
    second = np.where(kind < 0.5, 0, rng.integers(0, 60, n))
    within: I64 = (minute * 60 + second).astype(np.int64)
    return slot.astype(np.int64), within


def _account_times(
    ctx: _Context, rng: np.random.Generator, account: int, n: int
) -> tuple[I64, I64]:
    """Return (utc, local) epoch seconds of n posts of one account inside the history."""
    cal = ctx.calendar
    table = _tz_table(ctx.accounts[account].timezone, cal.first_day, cal.n_days)
    p_day = cal.weights[ctx.parks[account].region]
    base_s = int(datetime.combine(cal.first_day, time(), UTC).timestamp())
    utc_parts: list[I64] = [np.empty(0, dtype=np.int64)]
    local_parts: list[I64] = [np.empty(0, dtype=np.int64)]
    need = n
    while need > 0:  # rejection sampling: the padded edge days fall partly outside the history
        slot, within = _draw_local_slots(
            rng, need + need // 8 + 8, p_day, cal.first_day.weekday(), table
        )
        local = base_s + slot * 3600 + within
        utc = local - table.offset[slot]
        keep = np.flatnonzero((utc >= ctx.start_s) & (utc <= ctx.end_s))[:need]
        utc_parts.append(utc[keep])
        local_parts.append(local[keep])
        need -= len(keep)
    return np.concatenate(utc_parts), np.concatenate(local_parts)


def _local_weekday_hour(local: I64) -> tuple[I64, I64]:
    """ISO weekday (1 = Monday) and hour of naive local epoch seconds (1970-01-01 = Thursday)."""
    days = local // _DAY_S
    weekday: I64 = (days + 3) % 7 + 1
    hour: I64 = (local % _DAY_S) // 3600
    return weekday, hour


def _in_best_slot(local: I64) -> Bools:
    """Whether each post falls into the planted best local weekday-hour."""
    weekday, hour = _local_weekday_hour(local)
    slot = PLANTED_EFFECTS.best_slot
    result: Bools = (weekday == slot.iso_weekday) & (hour == slot.hour)
    return result


def _pick_outlier(ctx: _Context, account: I64, utc: I64, local: I64) -> int:
    """Index of the viral post: the top account's post ~62% into the history, not in the slot."""
    counts = np.bincount(account, minlength=len(ctx.accounts))
    if counts.sum() == 0:
        return -1
    # The account with the largest typical post, so that no ordinary post can rival it.
    typical = np.where(counts > 0, _typical_engagement(ctx), -1.0)
    idx = np.flatnonzero(account == int(np.argmax(typical)))
    target = ctx.start_s + PLANTED_EFFECTS.outlier.position * (ctx.end_s - ctx.start_s)
    start = min(int(np.searchsorted(utc[idx], target)), len(idx) - 1)
    candidates = np.concatenate([idx[start:], idx[:start][::-1]])
    ordinary = candidates[~_in_best_slot(local[candidates])]
    return int(ordinary[0]) if len(ordinary) else int(candidates[0])


def _pick_giveaways(
    ctx: _Context, rng: np.random.Generator, idx: I64, utc: I64, outlier: int
) -> I64:
    """Indices (into the skeleton) of one account's #Giveaway posts, spread over its history."""
    effect = PLANTED_EFFECTS.follower_driver
    times = utc[idx]
    span_days = (ctx.end_s - ctx.start_s) / _DAY_S
    k = min(round(effect.share * len(idx)), int(span_days / 30 * effect.max_per_30_days))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    # One giveaway near the middle of each of k equal time bins, jittered a little.
    width = (times[-1] - times[0]) / k
    targets = times[0] + width * (np.arange(k) + 0.5 + rng.uniform(-0.2, 0.2, k))
    chosen = idx[np.minimum(np.searchsorted(times, targets), len(idx) - 1)]
    kept: list[int] = []
    for i in chosen.tolist():  # enforce the minimum gap so follower ramps never overlap
        if i == outlier or (kept and utc[i] - utc[kept[-1]] < effect.min_gap_days * _DAY_S):
            continue
        kept.append(i)
    return np.array(kept, dtype=np.int64)


def _skeleton(ctx: _Context) -> tuple[_Skeleton, _Context]:
    """Draw posting times and planted-tag flags for every post; sorted by UTC time."""
    rng = np.random.default_rng([ctx.config.seed, 5])
    counts = _posts_per_account(ctx, rng)
    parts = [_account_times(ctx, rng, a, int(n)) for a, n in enumerate(counts)]
    account = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    utc = np.concatenate([p[0] for p in parts])
    local = np.concatenate([p[1] for p in parts])
    order = np.lexsort((account, utc))
    account, utc, local = account[order], utc[order], local[order]
    n = len(utc)
    lift = rng.random(n) < PLANTED_EFFECTS.lift.share
    weak = rng.random(n) < PLANTED_EFFECTS.weak.share
    outlier = _pick_outlier(ctx, account, utc, local)
    giveaway = np.zeros(n, dtype=np.bool_)
    times: list[I64] = []
    for a in range(len(ctx.accounts)):
        chosen = _pick_giveaways(ctx, rng, np.flatnonzero(account == a), utc, outlier)
        giveaway[chosen] = True
        times.append(utc[chosen])
    if outlier >= 0:  # the viral post carries its one tag and nothing else
        lift[outlier] = weak[outlier] = False
    skeleton = _Skeleton(account, utc, local, lift, weak, giveaway, outlier)
    return skeleton, replace(ctx, giveaway_times=tuple(times))


# --------------------------------------------------------------------------------------------
# Chunks: followers, metrics, texts, ids, timestamps for posts lo..hi of the skeleton
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    """A slice of the skeleton that is turned into records in one vectorised pass."""

    lo: int  # global index of the first post (ids are derived from it)
    account: I64
    utc: I64
    local: I64
    lift: Bools
    weak: Bools
    giveaway: Bools
    outlier: int  # index within the chunk, -1 if the viral post is elsewhere


def _slice(sk: _Skeleton, lo: int, hi: int) -> _Chunk:
    """Posts lo..hi of the skeleton."""
    outlier = sk.outlier - lo if lo <= sk.outlier < hi else -1
    return _Chunk(
        lo,
        sk.account[lo:hi],
        sk.utc[lo:hi],
        sk.local[lo:hi],
        sk.lift[lo:hi],
        sk.weak[lo:hi],
        sk.giveaway[lo:hi],
        outlier,
    )


def _giveaway_log_boost(ctx: _Context, account: I64, utc: I64) -> F64:
    """log of the extra follower factor from earlier #Giveaway posts of the same account."""
    effect = PLANTED_EFFECTS.follower_driver
    ramp_s = effect.ramp_days * _DAY_S
    boost = np.zeros(len(utc))
    for a in np.unique(account).tolist():
        times = ctx.giveaway_times[a]
        if len(times) == 0:
            continue
        mask = account == a
        t = utc[mask]
        before = np.searchsorted(times, t, side="left")  # giveaways strictly earlier than t
        last = times[np.maximum(before - 1, 0)]
        # Giveaways are >= min_gap_days > ramp_days apart, so only the last one can be ramping.
        ramp = np.clip((t - last) / ramp_s, 0.0, 1.0)
        boost[mask] = np.where(before > 0, before - 1 + ramp, 0.0) * math.log1p(effect.jump)
    return boost


def _followers(ctx: _Context, ch: _Chunk, rng: np.random.Generator) -> F64:
    """Followers at post time: slow exponential growth, giveaway jumps and snapshot noise."""
    years = (ch.utc - ctx.start_s) / _YEAR_S
    log_f = np.log(ctx.followers[ch.account]) + ctx.growth[ch.account] * years
    log_f += _giveaway_log_boost(ctx, ch.account, ch.utc)
    # Counts are read at slightly different moments (unfollows, bot purges): tiny noise.
    log_f += rng.normal(0.0, 0.0008, len(ch.utc))
    result: F64 = np.rint(np.exp(log_f))
    return result


def _multiplier(ch: _Chunk) -> F64:
    """Planted engagement multiplier of every post (1.0 for neutral posts)."""
    effects = PLANTED_EFFECTS
    m = np.ones(len(ch.utc))
    m[ch.lift] *= effects.lift.multiplier
    m[ch.weak] *= effects.weak.multiplier
    m[_in_best_slot(ch.local)] *= effects.best_slot.multiplier
    return m


def _reach_and_engagement(
    ctx: _Context, ch: _Chunk, followers: F64, rng: np.random.Generator
) -> tuple[F64, F64, F64]:
    """Latent reach, engagement and impressions (floats) of every post in the chunk."""
    p = ctx.platform_idx[ch.account]
    root_q = np.sqrt(ctx.quality[ch.account])
    root_m = np.sqrt(_multiplier(ch))
    # Two truncated lognormal factors (how far it travelled, how much it resonated) make
    # engagement heavy-tailed with sigma = noise_sigma, and keep reach/engagement correlated.
    sigma = PLANTED_EFFECTS.noise_sigma / math.sqrt(2.0)
    z = np.clip(rng.standard_normal((3, len(p))), -_Z_CLIP, _Z_CLIP)
    reach = followers * _REACH_RATIO[p] * root_q * np.exp(sigma * z[0]) * root_m
    engagement = reach * _ER_REACH[p] * root_q * np.exp(sigma * z[1]) * root_m
    if ch.outlier >= 0:
        o, effect = ch.outlier, PLANTED_EFFECTS.outlier
        reach[o] = followers[o] * _REACH_RATIO[p[o]] * root_q[o] * effect.reach_multiplier
        typical = followers[o] * _REACH_RATIO[p[o]] * _ER_REACH[p[o]] * root_q[o] ** 2
        engagement[o] = typical * effect.multiplier
    impressions = reach * _IMPRESSIONS_PER_REACH[p] * np.exp(0.12 * np.abs(z[2]))
    return reach, engagement, impressions


def _presence(platform: I64, utc: I64) -> Bools:
    """Which of likes, comments, shares, saves, impressions, reach a platform reports (6 x n)."""
    x, ig = platform == 0, platform == 1
    always = np.ones(len(utc), dtype=np.bool_)
    saves = (x & (utc >= _X_BOOKMARKS_FROM)) | ig
    impressions = np.where(x, utc >= _X_VIEWS_FROM, np.where(ig, utc < _IG_IMPRESSIONS_UNTIL, True))
    reach = ~x
    result: Bools = np.stack([always, always, always, saves, impressions, reach])
    return result


def _nullable(values: F64, present: Bools) -> list[int | None]:
    """Integer list with None where the platform does not report the metric."""
    if present.all():
        ints: list[int | None] = values.astype(np.int64).tolist()
        return ints
    if not present.any():
        return [None] * len(values)
    raw: list[int] = np.where(present, values, -1).astype(np.int64).tolist()
    return [None if v < 0 else v for v in raw]


def _metric_columns(
    ctx: _Context, ch: _Chunk, followers: F64, rng: np.random.Generator
) -> dict[str, list[int | None]]:
    """likes, comments, shares, saves, impressions, reach columns with platform NULLs."""
    p = ctx.platform_idx[ch.account]
    reach, engagement, impressions = _reach_and_engagement(ctx, ch, followers, rng)
    present = _presence(p, ch.utc)
    # Split engagement into its parts around the platform's usual mix; unreported parts get 0.
    mix = _MIX[p] * np.exp(0.35 * rng.standard_normal((len(p), 4))) * present[:4].T
    mix /= mix.sum(axis=1, keepdims=True)
    parts = np.floor(engagement[:, None] * mix + rng.random((len(p), 4)))  # stochastic rounding
    values = [parts[:, i] for i in range(4)] + [np.rint(impressions), np.rint(reach)]
    return {
        name: _nullable(v, present[i])
        for i, (name, v) in enumerate(zip(_METRICS, values, strict=True))
    }


_LOCAL_PARK_NAMES: Final = {"japan": "レゴランド・ジャパン"}


class _U:
    """Columns of the per-post uniform draws behind a text's discrete choices."""

    BARE = 0  # no ordinary hashtags at all
    BRAND, BRAND_SPELLING = 1, 2
    PARK, PARK_STYLE = 3, 4  # PARK_STYLE: lower-case spelling or inline placement
    SEASON, SEASON_PICK = 5, 6
    TEMPLATE, EMOJI, LAYOUT, LANGUAGE = 7, 8, 9, 10
    MARKUP = 11  # LinkedIn markup; also where #ad goes
    EXTRA_PICK, PLANTED_SPELLING, AD_SPELLING, JA_TAG = 12, 13, 14, 15
    COUNT = 16


def _render(tag: str, markup: bool) -> str:
    """`#tag`, or LinkedIn's stored markup for it."""
    return "{hashtag|\\#|" + tag + "}" if markup else "#" + tag


def _pick(options: Sequence[str], u: float) -> str:
    """The option a uniform draw `u` in [0, 1) selects (all equally likely)."""
    return options[min(int(u * len(options)), len(options) - 1)]


def _spelling(spellings: Sequence[str], u: float) -> str:
    """Mostly the canonical spelling, sometimes lower case or shouting (80/15/5%)."""
    if u < 0.8 or len(spellings) == 1:
        return spellings[0]
    return spellings[1] if u < 0.95 or len(spellings) == 2 else spellings[2]


class _TextMaker:
    """Writes post texts; all randomness comes in as pre-drawn uniforms (vectorised per chunk)."""

    def __init__(self, ctx: _Context) -> None:
        """Precompute what every text needs from the context."""
        self._ctx = ctx
        self._epoch_day0 = (ctx.calendar.first_day - date(1970, 1, 1)).days
        self._linkedin = [a.platform is Platform.LINKEDIN for a in ctx.accounts]

    def chunk(self, ch: _Chunk, rng: np.random.Generator) -> list[str]:
        """Texts of one chunk of posts."""
        ctx, n = self._ctx, len(ch.utc)
        rows: list[list[float]] = rng.random((n, _U.COUNT)).tolist()
        # Zipf-distributed tail tags: how many per post, which ones, which spelling.
        rate = _TAIL_RATE[ctx.platform_idx[ch.account]]
        if ctx.config.tail_scale != 1.0:  # keep the default draws bit-identical
            rate = rate * ctx.config.tail_scale
        counts = rng.poisson(rate)
        ends: list[int] = np.cumsum(counts).tolist()
        picks: list[int] = np.searchsorted(
            ctx.vocabulary.cdf, rng.random(ends[-1] if n else 0)
        ).tolist()
        alternate: list[bool] = (rng.random(len(picks)) < 0.12).tolist()
        names, alts = ctx.vocabulary.names, ctx.vocabulary.alternates
        tail = [alts[j] if alternate[k] else names[j] for k, j in enumerate(picks)]
        days: list[int] = (ch.local // _DAY_S - self._epoch_day0).tolist()
        flags = zip(
            ch.account.tolist(),
            ch.lift.tolist(),
            ch.weak.tolist(),
            ch.giveaway.tolist(),
            strict=True,
        )
        texts: list[str] = []
        start = 0
        for i, (account, lift, weak, giveaway) in enumerate(flags):
            if i == ch.outlier:
                texts.append(_OUTLIER_TEXT.format(tag=PLANTED_EFFECTS.outlier.name))
            else:
                planted = (lift, weak, giveaway)
                texts.append(self._one(account, days[i], planted, rows[i], tail[start : ends[i]]))
            start = ends[i]
        return texts

    def _template_key(self, account: int, giveaway: bool, u: float) -> str:
        """Which template family (language / platform / giveaway) a post is written from."""
        language = self._ctx.parks[account].language
        if self._linkedin[account]:
            return "linkedin"
        if language == "en":
            return "giveaway_en" if giveaway else "en"
        # The Danish, German and Japanese parks write mostly in their own language, some
        # posts in English for visitors from abroad.
        own = u < 0.8
        if giveaway:
            return f"giveaway_{language}" if own else "giveaway_en"
        return language if own else "en"

    def _tags(
        self, account: int, day: int, key: str, row: list[float], tail: list[str]
    ) -> list[str]:
        """The ordinary (non-planted) tags of one post, brand and park tag first."""
        park = self._ctx.parks[account]
        japanese = key.endswith("ja")
        tags: list[str] = []
        if row[_U.BRAND] < 0.45:
            u = row[_U.BRAND_SPELLING]
            tags.append(_JA_BRAND if japanese and u < 0.7 else _pick(_BRAND_SPELLINGS, u))
        if row[_U.PARK] < 0.45:
            tags.append(park.tag.lower() if row[_U.PARK_STYLE] < 0.15 else park.tag)
        cal = self._ctx.calendar
        options = cal.season_options[int(cal.season_id[park.region][day])]
        if options and row[_U.SEASON] < 0.4:  # only tags that fit the local date
            tags.append(_pick(options, row[_U.SEASON_PICK]))
        if key == "linkedin":
            tags.append(_pick(_LINKEDIN_TAGS, row[_U.EXTRA_PICK]))
        if japanese and row[_U.JA_TAG] < 0.6:
            tags.append(_pick(_JA_TAGS, row[_U.EXTRA_PICK]))
        return tags + tail

    def _one(
        self,
        account: int,
        day: int,
        planted: tuple[bool, bool, bool],
        row: list[float],
        tail: list[str],
    ) -> str:
        """One post's text: template sentence, hashtags, maybe an emoji, maybe #ad."""
        lift, weak, giveaway = planted
        key = self._template_key(account, giveaway, row[_U.LANGUAGE])
        template = _pick(_TEMPLATES[key], row[_U.TEMPLATE])
        markup = key == "linkedin" and row[_U.MARKUP] < 0.5
        tags = [] if row[_U.BARE] < 0.07 else self._tags(account, day, key, row, tail)
        if lift:
            tags.append(_spelling(PLANTED_EFFECTS.lift.spellings, row[_U.PLANTED_SPELLING]))
        if giveaway:
            driver = PLANTED_EFFECTS.follower_driver
            tags.insert(0, _spelling(driver.spellings, row[_U.PLANTED_SPELLING]))
        park = self._ctx.parks[account]
        japanese = key.endswith("ja")
        name = _LOCAL_PARK_NAMES.get(park.key, park.name) if japanese else park.name
        # Sometimes the park tag sits inline ("... at #LEGOLANDWindsor this weekend!"), never in
        # Japanese text: there the following word would be glued onto the hashtag.
        inline = park.tag in tags and "{park}" in template and row[_U.PARK_STYLE] > 0.7
        if inline and not japanese:
            tags.remove(park.tag)
            name = _render(park.tag, markup)
        text = _assemble(template.replace("{park}", name), tags, markup, row)
        if weak:  # UK advertising rules want #ad up front; not everyone complies
            ad = _render(_spelling(PLANTED_EFFECTS.weak.spellings, row[_U.AD_SPELLING]), markup)
            text = f"{ad} {text}" if row[_U.MARKUP] > 0.4 else f"{text} {ad}"
        return text


def _assemble(sentence: str, tags: list[str], markup: bool, row: list[float]) -> str:
    """Sentence, then the hashtags (same line or after a blank line), then maybe an emoji."""
    first: dict[str, str] = {}
    for tag in tags:  # a tail tag may repeat a named one: keep the first spelling
        first.setdefault(tag.casefold(), tag)
    text = sentence
    if first:
        separator = "\n\n" if row[_U.LAYOUT] > 0.8 else " "
        text += separator + " ".join(_render(t, markup) for t in first.values())
    if row[_U.EMOJI] < 0.35:
        text += " " + _pick(_EMOJI, row[_U.EMOJI] / 0.35)
    return text


_X_EPOCH_MS: Final = 1_288_834_974_657  # Twitter snowflake epoch
_IG_EPOCH_MS: Final = 1_314_220_021_721  # Instagram's id epoch (its public ids are snowflakes)
_IG_MEDIA_BASE: Final = 17_890_000_000_000_000  # Graph API media ids look like 17890000000000001
_FB_STORY_BASE: Final = 900_000_000_000_000
_SHORTCODE_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _shortcode(media_id: int) -> str:
    """Instagram's URL shortcode: the media id in URL-safe base64 digits."""
    chars: list[str] = []
    while media_id:
        media_id, digit = divmod(media_id, 64)
        chars.append(_SHORTCODE_ALPHABET[digit])
    return "".join(reversed(chars))


def _numeric_ids(
    ctx: _Context, ch: _Chunk, rng: np.random.Generator
) -> tuple[list[int], list[int]]:
    """Platform-style numeric ids (and Instagram URL pks); unique via the global index."""
    n = len(ch.utc)
    index = np.arange(ch.lo, ch.lo + n, dtype=np.int64)
    ms = ch.utc * 1000 + rng.integers(0, 1000, n)
    # Snowflakes (X, LinkedIn): 41 bits of milliseconds, then 22 bits where the platforms keep
    # worker and sequence numbers; we store the global index there, so ids never collide for
    # data sets below 4M posts and stay time-ordered like the real thing.
    low = index & 0x3FFFFF
    snowflake_x = ((ms - _X_EPOCH_MS) << 22) | low
    snowflake_li = (ms << 22) | low
    instagram = _IG_MEDIA_BASE + index * 1000 + rng.integers(0, 1000, n)
    facebook = _FB_STORY_BASE + index * 1000 + rng.integers(0, 1000, n)
    # The shortcode in an Instagram URL encodes a different, snowflake-style media "pk".
    instagram_pk: list[int] = (((ms - _IG_EPOCH_MS) << 23) | low).tolist()
    p = ctx.platform_idx[ch.account]
    ids: list[int] = np.select(
        [p == 0, p == 1, p == 2], [snowflake_x, instagram, facebook], snowflake_li
    ).tolist()
    return ids, instagram_pk


def _ids_and_urls(
    ctx: _Context, ch: _Chunk, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """post_id and url in each platform's own format."""
    post_ids: list[str] = []
    urls: list[str] = []
    numbers, pks = _numeric_ids(ctx, ch, rng)
    for account, number, pk in zip(ch.account.tolist(), numbers, pks, strict=True):
        acc = ctx.accounts[account]
        if acc.platform is Platform.X:
            post_ids.append(str(number))
            urls.append(f"https://x.com/{acc.handle}/status/{number}")
        elif acc.platform is Platform.INSTAGRAM:
            post_ids.append(str(number))
            urls.append(f"https://www.instagram.com/p/{_shortcode(pk)}/")
        elif acc.platform is Platform.FACEBOOK:
            page = ctx.page_ids[account]
            post_ids.append(f"{page}_{number}")
            urls.append(f"https://www.facebook.com/{page}/posts/{number}")
        else:
            urn = f"urn:li:share:{number}"
            post_ids.append(urn)
            urls.append(f"https://www.linkedin.com/feed/update/{urn}/")
    return post_ids, urls


def _format_offset(seconds: int) -> str:
    """`+02:00` style offset."""
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _iso_local(ch: _Chunk) -> list[str]:
    """ISO 8601 local wall-clock time with the account's UTC offset at that instant."""
    stamps = np.datetime_as_string(ch.local.astype("datetime64[s]"), unit="s")
    offsets, inverse = np.unique(ch.local - ch.utc, return_inverse=True)
    suffixes = np.array([_format_offset(int(o)) for o in offsets.tolist()])
    result: list[str] = np.char.add(stamps, suffixes[inverse]).tolist()
    return result


def _chunk_columns(
    ctx: _Context, sk: _Skeleton, lo: int, hi: int, texts: _TextMaker
) -> dict[str, list[Any]]:
    """Columns (PostRecord field order) of posts lo..hi; depends only on config and lo."""
    rng = np.random.default_rng([ctx.config.seed, 7, lo // _CHUNK])
    ch = _slice(sk, lo, hi)
    followers = _followers(ctx, ch, rng)
    metrics = _metric_columns(ctx, ch, followers, rng)
    post_ids, urls = _ids_and_urls(ctx, ch, rng)
    accounts = [ctx.accounts[a] for a in ch.account.tolist()]
    followers_list: list[int] = followers.astype(np.int64).tolist()
    return {
        "platform": [a.platform.value for a in accounts],
        "post_id": post_ids,
        "account": [a.handle for a in accounts],
        "text": texts.chunk(ch, rng),
        "posted_at": _iso_local(ch),
        **metrics,
        "followers": followers_list,
        "url": urls,
        "account_timezone": [a.timezone for a in accounts],
    }


def _iter_chunks(config: DemoConfig) -> Iterator[dict[str, list[Any]]]:
    """Column chunks of at most _CHUNK posts, oldest first."""
    ctx = _context(config)
    sk, ctx = _skeleton(ctx)
    texts = _TextMaker(ctx)
    n = len(sk.utc)
    for lo in range(0, n, _CHUNK):
        yield _chunk_columns(ctx, sk, lo, min(lo + _CHUNK, n), texts)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def daily_followers(config: DemoConfig | None = None) -> dict[str, list[tuple[datetime, int]]]:
    """Each account's follower count at every 00:00 UTC of the history, oldest first.

    The same model as the posts' `followers` (slow growth plus the #Giveaway jumps) without
    the per-reading noise: what a platform's daily follower statistics report.
    """
    ctx = _context(config or DemoConfig())
    _, ctx = _skeleton(ctx)
    first = (ctx.start_s // _DAY_S + 1) * _DAY_S
    days = np.arange(first, ctx.end_s + 1, _DAY_S, dtype=np.int64)
    found: dict[str, list[tuple[datetime, int]]] = {}
    for a, account in enumerate(ctx.accounts):
        index = np.full(len(days), a, dtype=np.int64)
        log_f = np.log(ctx.followers[a]) + ctx.growth[a] * (days - ctx.start_s) / _YEAR_S
        log_f += _giveaway_log_boost(ctx, index, days)
        counts = np.rint(np.exp(log_f)).astype(np.int64).tolist()
        found[account.handle] = [
            (datetime.fromtimestamp(int(t), UTC), int(n))
            for t, n in zip(days.tolist(), counts, strict=True)
        ]
    return found


def generate_posts(config: DemoConfig | None = None) -> Iterator[dict[str, object]]:
    """Yield `config.posts` post records (PostRecord field names), oldest first.

    `posted_at` is an ISO 8601 string in the account's local time with its UTC offset, counts
    are int or None. Memory stays bounded: besides a few int64 arrays over all posts (~40 bytes
    per post) only one chunk of 50,000 records is materialised at a time.
    """
    for columns in _iter_chunks(config or DemoConfig()):
        names = tuple(columns)
        for values in zip(*columns.values(), strict=True):
            yield dict(zip(names, values, strict=True))


FRAME_SCHEMA: Final = pl.Schema(
    {
        "platform": pl.String,
        "post_id": pl.String,
        "account": pl.String,
        "text": pl.String,
        "posted_at": pl.String,  # local ISO 8601 with offset, as in the records
        **dict.fromkeys(_METRICS, pl.Int64),
        "followers": pl.Int64,
        "url": pl.String,
        "account_timezone": pl.String,
    }
)


def generate_frame(config: DemoConfig | None = None) -> pl.DataFrame:
    """The same records as `generate_posts`, as one polars DataFrame (FRAME_SCHEMA)."""
    frames = [
        pl.DataFrame(cols, schema=FRAME_SCHEMA) for cols in _iter_chunks(config or DemoConfig())
    ]
    return pl.concat(frames) if frames else FRAME_SCHEMA.to_frame()
