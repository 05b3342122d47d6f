"""Small statistics as polars expressions: t quantiles, mergeable moments and intervals.

Group figures are built from three mergeable moments per group: ``n``, ``mean`` and ``m2``
(the sum of squared deviations from the mean). Account-level moments are merged into platform
and all-platform ones by summing ``n``, ``n*mean`` and ``m2 + n*mean^2`` (`roll_up_moments`).
No scipy: the 97.5% t quantile is solved exactly (Newton's method on the closed-form t
distribution function of integer degrees of freedom) up to EXACT_MAX_DF = 200 degrees of
freedom, each df once, and comes from a five-term Cornish-Fisher expansion above, where that
expansion is exact to < 5e-15 relative (tests check both against scipy to 1e-12).
"""

import functools
import math
from collections.abc import Sequence

import polars as pl

from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_PLATFORMS

__all__ = [
    "EXACT_MAX_DF",
    "WELCH_DF_SLACK",
    "Z975",
    "by_scope",
    "direction",
    "interval",
    "one_period",
    "merged",
    "moments",
    "roll_up_moments",
    "sd",
    "t975",
    "t975_expr",
    "t_bounds",
    "verdict",
    "welch",
]

#: 97.5% quantile of the standard normal distribution.
Z975 = 1.959963984540054
#: Up to this many degrees of freedom t975 is solved exactly from the t distribution function;
#: above, the Cornish-Fisher expansion is used, whose error there is below 5e-15 relative.
EXACT_MAX_DF = 200
# Cornish-Fisher coefficients g_k(z) of t = z + g1/v + g2/v^2 + ... + g5/v^5 at z = Z975
# (Abramowitz & Stegun 26.7.5 for g1..g4; g5 from Fisher & Cornish 1960, as in Hill 1970).
_Z = Z975
_CF = (
    (_Z**3 + _Z) / 4,
    (5 * _Z**5 + 16 * _Z**3 + 3 * _Z) / 96,
    (3 * _Z**7 + 19 * _Z**5 + 17 * _Z**3 - 15 * _Z) / 384,
    (79 * _Z**9 + 776 * _Z**7 + 1482 * _Z**5 - 1920 * _Z**3 - 945 * _Z) / 92160,
    (27 * _Z**11 + 339 * _Z**9 + 930 * _Z**7 - 1782 * _Z**5 - 765 * _Z**3 + 17955 * _Z) / 368640,
)
#: Two-sided coverage whose quantile t975 is: P(|T| <= t975) = 0.95.
_COVERAGE = 0.95
_MAX_NEWTON_STEPS = 100

#: Added to Welch's degrees of freedom before flooring (rounding can land just below a whole df).
WELCH_DF_SLACK = 1e-9


def t975(df: int) -> float:
    """97.5% quantile of Student's t with ``df`` >= 1 degrees of freedom (relative error < 1e-14).

    Exact (`_t975_exact`) up to EXACT_MAX_DF, the Cornish-Fisher expansion above.
    """
    if df < 1:
        raise ValueError("df must be >= 1")
    if df <= EXACT_MAX_DF:
        return _t975_exact(df)
    return _Z + sum(g / float(df) ** (k + 1) for k, g in enumerate(_CF))


def t975_expr(df: pl.Expr) -> pl.Expr:
    """Vectorised `t975` of an integer expression (NULL where df is NULL or < 1)."""
    nu = df.cast(pl.Float64)
    expansion = pl.lit(_Z) + sum(
        (pl.lit(g) / nu.pow(k + 1) for k, g in enumerate(_CF)), pl.lit(0.0)
    )
    exact = _exact_table()
    table = df.cast(pl.Int64).replace_strict(
        list(exact), list(exact.values()), default=None, return_dtype=pl.Float64
    )
    return pl.when(df > EXACT_MAX_DF).then(expansion).otherwise(table)


@functools.cache
def _exact_table() -> dict[int, float]:
    """`_t975_exact` of 1..EXACT_MAX_DF (computed once, on first use: a few ms)."""
    return {df: _t975_exact(df) for df in range(1, EXACT_MAX_DF + 1)}


@functools.cache
def _t975_exact(df: int) -> float:
    """The t with P(|T| <= t) = 0.95 for ``df`` degrees of freedom, by Newton's method.

    `_t_coverage` is concave in t > 0 (the density falls), so Newton steps started below the
    root (at the normal quantile, which every t quantile exceeds) rise monotonically to it, and
    converge quadratically: after a step below 1e-10 t the remaining error is of order
    (1e-10)^2, so the result is as exact as the coverage, i.e. its rounding error (~1e-16)
    over the slope (about 2e-15 relative at df = 1, less above).
    """
    nu = float(df)
    log_density = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
    t = _Z
    for _ in range(_MAX_NEWTON_STEPS):
        # d/dt P(|T| <= t) = 2 f(t), f(t) = density * (1 + t^2 / nu)^(-(nu + 1) / 2)
        slope = 2 * math.exp(log_density - (nu + 1) / 2 * math.log1p(t * t / nu))
        step = (_COVERAGE - _t_coverage(t, df)) / slope
        t += step
        if abs(step) <= 1e-10 * t:
            return t
    raise ArithmeticError(f"t quantile for df={df} did not converge")  # pragma: no cover


def _t_coverage(t: float, df: int) -> float:
    """P(|T| <= t), t >= 0, for integer ``df`` (Abramowitz & Stegun 26.7.3 and 26.7.4).

    With theta = atan(t / sqrt(df)), s = sin(theta) and c2 = cos(theta)^2: for even df
    s * (1 + 1/2 c2 + 1*3/(2*4) c2^2 + ... + 1*3*..*(df-3)/(2*4*..*(df-2)) c2^(df/2-1)); for odd
    df (2/pi) * (theta + s cos(theta) (1 + 2/3 c2 + 2*4/(3*5) c2^2 + ... up to c2^((df-3)/2)))
    (just (2/pi) theta for df = 1). Finite sums of positive terms: exact up to rounding.
    """
    nu = float(df)
    t2 = t * t
    y = t2 / (nu + t2)  # sin(theta)^2, to a few units in the last place
    # c2 = 1 - y as an unevaluated sum hi + lo (exact: Sterbenz). A single rounded c2 would
    # be off by up to half an ulp, which c2^k turns into k half-ulps in the sums below.
    hi = 1.0 - y
    lo = (1.0 - hi) - y
    # Both sums in nested (Horner) form, innermost term first: 1 + c2 r1 (1 + c2 r2 (1 + ...)).
    # Each rounding is then damped by the factors outside it, where a running product of the
    # coefficients would carry the rounding of every earlier factor into every later term.
    total = 1.0
    if df % 2 == 0:
        for k in range(df // 2 - 1, 0, -1):
            inner = (2 * k - 1) / (2 * k) * total
            total = 1.0 + (hi * inner + lo * inner)
        return math.sqrt(y) * total
    theta = math.atan2(t, math.sqrt(nu))
    if df == 1:
        return 2 / math.pi * theta
    for k in range((df - 1) // 2 - 1, 0, -1):
        inner = (2 * k) / (2 * k + 1) * total
        total = 1.0 + (hi * inner + lo * inner)
    return 2 / math.pi * (theta + math.sqrt(y * hi) * total)


def moments(value: pl.Expr, prefix: str = "") -> list[pl.Expr]:
    """Aggregations ``n``, ``mean`` and ``m2`` of ``value`` (which must have no NULLs).

    ``m2 = n * var(ddof=0)``: polars' variance aggregation is on its fast path and stable.
    """
    count = pl.len().cast(pl.Int64)
    return [
        count.alias(f"{prefix}n"),
        value.mean().alias(f"{prefix}mean"),
        (value.var(ddof=0) * count).alias(f"{prefix}m2"),
    ]


def roll_up_moments(prefix: str = "") -> list[pl.Expr]:
    """Aggregations merging groups' moments into ``n``, ``sum`` and ``sq`` (see `merged`).

    Merged m2 = sum(m2_g + n_g mean_g^2) - n mean^2 loses about eps * mean^2 / var of its
    digits, which is nothing here: group means of log-ratios sit near 0 by construction, and
    sums (unlike the Chan et al. form with a broadcast mean) stay on polars' fast path.
    """
    n, mean, m2 = (pl.col(f"{prefix}{name}") for name in ("n", "mean", "m2"))
    return [
        n.sum().alias(f"{prefix}n"),
        (n * mean).sum().alias(f"{prefix}sum"),
        (m2 + n * mean * mean).sum().alias(f"{prefix}sq"),
    ]


def merged(prefix: str = "") -> list[pl.Expr]:
    """``mean`` and ``m2`` (clipped at 0 against rounding) from `roll_up_moments` columns."""
    n, total, sq = (pl.col(f"{prefix}{name}") for name in ("n", "sum", "sq"))
    mean = total / n
    return [
        mean.alias(f"{prefix}mean"),
        (sq - n * mean * mean).clip(lower_bound=0.0).alias(f"{prefix}m2"),
    ]


def by_scope(
    accounts: pl.LazyFrame,
    platforms: pl.LazyFrame,
    keys: Sequence[str],
    roll_up: Sequence[pl.Expr],
    finish: Sequence[pl.Expr],
) -> pl.LazyFrame:
    """Account rows plus their roll-ups to platform and to all platforms.

    ``accounts`` has one row per (account_id, *keys); ``platforms`` maps account_id -> platform.
    ``roll_up`` aggregates account rows of a scope, and ``finish`` turns the aggregates back into
    the account rows' columns (e.g. `roll_up_moments` and `merged`). Output columns: platform,
    account_id, *keys, then the accounts' other columns, for the three levels concatenated.
    """
    per_account = accounts.join(platforms, on="account_id", how="left")
    values = [c for c in accounts.collect_schema().names() if c not in {"account_id", *keys}]
    order = ["platform", "account_id", *keys, *values]
    platform_level = per_account.group_by(["platform", *keys]).agg(roll_up).with_columns(finish)
    all_level = per_account.group_by(list(keys)).agg(roll_up).with_columns(finish)
    return pl.concat(
        [
            per_account.select(order),
            platform_level.with_columns(account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)).select(order),
            all_level.with_columns(
                platform=pl.lit(ALL_PLATFORMS, pl.String),
                account_id=pl.lit(ALL_ACCOUNTS, pl.Int64),
            ).select(order),
        ]
    )


def sd(n: pl.Expr, m2: pl.Expr) -> pl.Expr:
    """Sample standard deviation from moments; NULL for n < 2."""
    return pl.when(n >= 2).then((m2 / (n - 1)).sqrt())


def t_bounds(center: pl.Expr, se: pl.Expr, df: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """95% t interval ``center -/+ t975(df) * se`` (NULL where se or df is NULL)."""
    half = t975_expr(df) * se
    return center - half, center + half


def interval(center: pl.Expr, se: pl.Expr, df: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """`t_bounds` of a log-scale figure, mapped to the ratio scale exp(x) - 1."""
    low, high = t_bounds(center, se, df)
    return low.exp() - 1, high.exp() - 1


def verdict(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    """ "lifts" if the interval is above 0, "underperforms" if below, else "unclear"."""
    return (
        pl.when(low > 0)
        .then(pl.lit("lifts"))
        .when(high < 0)
        .then(pl.lit("underperforms"))
        .otherwise(pl.lit("unclear"))
    )


def direction(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    """ "rising" if a change's interval is above 0, "falling" if below, else "flat"."""
    return (
        pl.when(low > 0)
        .then(pl.lit("rising"))
        .when(high < 0)
        .then(pl.lit("falling"))
        .otherwise(pl.lit("flat"))
    )


def one_period(levels: pl.LazyFrame, period: int, prefix: str) -> pl.LazyFrame:
    """The rows of one ``period`` of two-period moments, with n, mean and m2 renamed
    ``<prefix>n`` etc. (momentum and period change join the two periods side by side)."""
    return (
        levels.filter(pl.col("period") == period)
        .drop("period")
        .rename({name: f"{prefix}{name}" for name in ("n", "mean", "m2")})
    )


def welch(
    n1: pl.Expr, mean1: pl.Expr, m2_1: pl.Expr, n2: pl.Expr, mean2: pl.Expr, m2_2: pl.Expr
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Difference ``mean1 - mean2``, its standard error and Welch's df (floored; n >= 2 each).

    Welch-Satterthwaite degrees of freedom are real-valued; flooring them widens the interval
    slightly (the textbook conservative choice) and lets the t table serve. A whole df computed
    as 1.9999999 through rounding must still floor to 2, hence WELCH_DF_SLACK. Where both
    variances are 0 the df formula is 0/0; any df then gives the same (zero-width) interval.
    """
    v1 = pl.when(n1 >= 2).then(m2_1 / (n1 - 1) / n1)
    v2 = pl.when(n2 >= 2).then(m2_2 / (n2 - 1) / n2)
    var = v1 + v2
    satterthwaite = var**2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    df = (
        pl.when(var > 0)
        .then((satterthwaite + WELCH_DF_SLACK).floor().clip(lower_bound=1.0))
        .otherwise((n1 + n2 - 2).cast(pl.Float64))
    )
    return mean1 - mean2, var.sqrt(), df.cast(pl.Int64)
