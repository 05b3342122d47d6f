"""Which hashtags to use and to avoid in one scope, for one goal, with a plain reason for each.

Input: the collected outputs of `lift.hashtag_lift` (or `followers.follower_lift`),
`slots.best_slots` and `cooccurrence.cooccurrence` (small frames, already collected by the
caller) plus the hashtags' display names. Rules (docs/metrics.md, "Recommendations"):

* use: posts >= ``min_posts`` and verdict "lifts" (the sign is sure across the list: q-value
  <= 5%), ordered by the score (the hashtag estimate, highest first), at most ``limit`` (at
  most INSTAGRAM_MAX_HASHTAGS for an Instagram scope);
* worth testing: only when no hashtag qualifies for "use": the "unclear" ones with a positive
  score, highest first, said plainly to be unproven;
* avoid: posts >= ``min_posts`` and verdict "underperforms", ordered by the score (lowest first);
* each with its best slot (rank 1 of best_slots for that scope, window and hashtag) and its
  top companions (pairs in the scope with the highest pair lift; pairs cover all history).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS
from hashtag_core.analytics.insight_frames import FOLLOWERS_GOAL
from hashtag_core.platforms import INSTAGRAM_MAX_HASHTAGS, Platform

__all__ = ["Recommendation", "Recommendations", "Slot", "recommend"]

_WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
#: How each goal reads in a sentence ("got 25% more <phrase>").
_GOAL_PHRASES = {
    "engagement": "engagement",
    "reach": "reach",
    "virality": "shares per viewer",
    "er_follower": "engagement per follower",
}


@dataclass(frozen=True)
class Slot:
    """A local weekday-hour cell and the engagement lift posts in it got."""

    weekday: int  # ISO, 1 = Monday
    hour: int
    lift: float  # raw
    posts: int
    score: float | None = None  # the slot's estimate (what the heatmap shows)
    verdict: str | None = None


@dataclass(frozen=True)
class Recommendation:
    """One hashtag to use or avoid, with the figures behind it."""

    action: Literal["use", "test", "avoid"]
    hashtag_id: int
    hashtag: str  # display name, without the sign
    posts: int
    expected_lift: float  # the hashtag estimate (score): adjusted for companions, shrunk
    expected_low: float  # its 95% interval (effects.interval)
    expected_high: float
    qvalue: float | None  # the list's false sign rate at this hashtag's evidence
    lift: float  # raw (marginal) lift of the posts: secondary evidence
    ci_low: float | None  # its 95% t interval (None for posts < 2)
    ci_high: float | None
    verdict: str
    best_slot: Slot | None
    companions: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Recommendations:
    """The use and avoid lists of one (scope, goal, window)."""

    platform: str
    account_id: int
    goal: str
    window: str
    use: tuple[Recommendation, ...]
    avoid: tuple[Recommendation, ...]
    worth_testing: tuple[Recommendation, ...] = ()
    note: str | None = None  # plain words when no hashtag can be recommended with confidence


def recommend(
    lift: pl.DataFrame,
    best_slots: pl.DataFrame,
    cooccurrence: pl.DataFrame,
    *,
    platform: str,
    account_id: int,
    goal: str,
    names: Mapping[int, str],
    scope_name: str | None = None,
    window: str = "all",
    min_posts: int = 10,
    limit: int = 5,
    companions: int = 3,
) -> Recommendations:
    """Hashtags to use and to avoid in the scope (platform, account_id) for ``goal``.

    ``names`` maps hashtag ids to display names; ``scope_name`` names the account (or
    platform) in the reasons, defaulting to the platform / "all accounts".
    """
    in_scope = pl.col("platform") == platform, pl.col("account_id") == account_id
    rows = lift.filter(*in_scope, pl.col("goal") == goal, pl.col("window") == window)
    rows = rows.filter(pl.col("posts") >= min_posts, pl.col("score").is_not_null())
    if platform == Platform.INSTAGRAM.value:
        limit = min(limit, INSTAGRAM_MAX_HASHTAGS)
    use = rows.filter(pl.col("verdict") == "lifts").sort(
        "score", "hashtag_id", descending=[True, False]
    )
    testing = rows.filter(pl.col("verdict") == "unclear", pl.col("score") > 0).sort(
        "score", "hashtag_id", descending=[True, False]
    )
    avoid = rows.filter(pl.col("verdict") == "underperforms").sort("score", "hashtag_id")
    context = _Context(
        slots=best_slots.filter(*in_scope, pl.col("window") == window, pl.col("rank") == 1),
        pairs=cooccurrence.filter(*in_scope),
        names=names,
        scope=_scope_phrase(platform, account_id, scope_name),
        goal=goal,
        companions=companions,
    )
    chosen = tuple(context.build("use", row) for row in use.head(limit).iter_rows(named=True))
    to_test: tuple[Recommendation, ...] = ()
    note = None
    if not chosen:
        to_test = tuple(
            context.build("test", row) for row in testing.head(limit).iter_rows(named=True)
        )
        note = (
            f"No hashtag {context.scope.where} lifts {_GOAL_PHRASES.get(goal, 'follower growth')}"
            f" surely enough to recommend (at most 5% of such calls wrong, with at least "
            f"{min_posts} posts each)"
            + (
                "; the ones below are the most promising: worth testing, not proven."
                if to_test
                else "."
            )
        )
    return Recommendations(
        platform=platform,
        account_id=account_id,
        goal=goal,
        window=window,
        use=chosen,
        avoid=tuple(context.build("avoid", row) for row in avoid.head(limit).iter_rows(named=True)),
        worth_testing=to_test,
        note=note,
    )


@dataclass(frozen=True)
class _Scope:
    """How a scope reads: where the posts are and whose typical post they are compared with."""

    where: str  # "on legolandwindsor" / "on instagram" / "across all accounts"
    typical: str  # "the account's" / "their account's"


def _scope_phrase(platform: str, account_id: int, name: str | None) -> _Scope:
    """The scope's words for the reason sentence."""
    if account_id != ALL_ACCOUNTS:
        return _Scope(f"on {name or f'account {account_id}'}", "the account's")
    if platform != ALL_PLATFORMS:
        return _Scope(f"on {name or platform}", "their account's")
    return _Scope(f"across {name or 'all accounts'}", "their account's")


@dataclass(frozen=True)
class _Context:
    """What every recommendation of one call shares."""

    slots: pl.DataFrame
    pairs: pl.DataFrame
    names: Mapping[int, str]
    scope: _Scope
    goal: str
    companions: int

    def build(
        self, action: Literal["use", "test", "avoid"], row: dict[str, object]
    ) -> Recommendation:
        """A Recommendation from one LIFT_SCHEMA row."""
        hashtag_id = _int(row["hashtag_id"])
        slot = self._best_slot(hashtag_id)
        partial = Recommendation(
            action=action,
            hashtag_id=hashtag_id,
            hashtag=self.names.get(hashtag_id, str(hashtag_id)),
            posts=_int(row["posts"]),
            expected_lift=_float(row["score"]),
            expected_low=_float(row["score_low"]),
            expected_high=_float(row["score_high"]),
            qvalue=_optional(row.get("qvalue")),
            lift=_float(row["lift"]),
            ci_low=_optional(row["ci_low"]),
            ci_high=_optional(row["ci_high"]),
            verdict=str(row["verdict"]),
            best_slot=slot,
            companions=self._companions(hashtag_id),
            reason="",
        )
        return replace(partial, reason=self._reason(partial))

    def _best_slot(self, hashtag_id: int) -> Slot | None:
        """The hashtag's rank-1 slot in the scope, if it has one."""
        found = self.slots.filter(pl.col("hashtag_id") == hashtag_id)
        if found.is_empty():
            return None
        row = found.row(0, named=True)
        return Slot(
            _int(row["weekday"]),
            _int(row["hour"]),
            _float(row["lift"]),
            _int(row["posts"]),
            _optional(row.get("score")),
            None if row.get("verdict") is None else str(row["verdict"]),
        )

    def _companions(self, hashtag_id: int) -> tuple[str, ...]:
        """Names of the partners whose pairs with the hashtag have the highest pair lift."""
        a, b = pl.col("hashtag_a"), pl.col("hashtag_b")
        partners = (
            self.pairs.filter((a == hashtag_id) | (b == hashtag_id))
            .with_columns(partner=pl.when(a == hashtag_id).then(b).otherwise(a))
            .sort("pair_lift", "partner", descending=[True, False])
            .head(self.companions)
        )
        return tuple(self.names.get(p, str(p)) for p in partners["partner"].to_list())

    def _reason(self, item: Recommendation) -> str:
        """One plain sentence from the numbers: the hashtag estimate and its interval, the same
        figures as the headline beside it."""
        more = "more" if item.expected_lift >= 0 else "less"
        size = _percent(abs(item.expected_lift))
        figures = f"({_interval(item)}{item.posts} posts)"
        if self.goal == FOLLOWERS_GOAL:
            sentence = (
                f"Follower counts {self.scope.where} grew {size} {more} after posts with "
                f"#{item.hashtag} than after {self.scope.typical} typical post, allowing for "
                f"the hashtags used with it and the posting time {figures}"
            )
        else:
            what = _GOAL_PHRASES.get(self.goal, self.goal)
            sentence = (
                f"Posts with #{item.hashtag} {self.scope.where} got {size} {more} {what} "
                f"than {self.scope.typical} typical post, allowing for the hashtags used with "
                f"it and the posting time {figures}"
            )
        if item.verdict == "unclear":
            sentence += "; not proven yet: worth testing on comparable posts"
        if (
            item.best_slot is not None
            and item.action != "avoid"
            and item.best_slot.verdict == "lifts"  # only a slot that is surely better
        ):
            slot = item.best_slot
            when = f"{_WEEKDAYS[slot.weekday - 1]} at {slot.hour:02d}:00"
            # Slots are judged on engagement whatever the goal; say so when it differs.
            sentence += (
                f"; best on {when}"
                if self.goal == "engagement"
                else f"; its posts engage best on {when}"
            )
        if item.companions and item.action != "avoid":
            sentence += f"; pairs best with #{item.companions[0]}"
        return sentence + "."


def _interval(item: Recommendation) -> str:
    """ "95% interval +31% to +90%, " (the estimate's interval)."""
    return f"95% interval {_signed(item.expected_low)} to {_signed(item.expected_high)}, "


def _percent(fraction: float) -> str:
    """0.583 -> "58%", 0.005 -> "0.5%", 0.0004 -> "0.04%" (enough digits to be non-zero)."""
    size = abs(fraction) * 100
    digits = 0 if size >= 10 or size == 0 else 1 if size >= 1 else 2 if size >= 0.1 else 3
    return f"{size:.{digits}f}%"


def _signed(fraction: float | None) -> str:
    """+31% / -4% style."""
    if fraction is None:
        return "n/a"
    return ("+" if fraction >= 0 else "-") + _percent(fraction)


def _int(value: object) -> int:
    """A non-NULL integer cell."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _float(value: object) -> float:
    """A non-NULL float cell."""
    if not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _optional(value: object) -> float | None:
    """A float cell that may be NULL."""
    return None if value is None else _float(value)
