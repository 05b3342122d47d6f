"""One estimate per hashtag: adjusted for companions and timing, shrunk adaptively, judged
with error control across the list (docs/metrics.md, "The hashtag estimate").

Three steps per group of hashtags that share a prior (scope, window, goal):

1. **Joint fit** (`joint_fit`). Within each account, each post's log-ratio against the
   account's usual post (`baseline.relative_performance`) is regressed on its hashtags, its
   local weekday, hour, weekday x hour cell and calendar month, all at once, with ridge
   penalties (RIDGE pseudo-posts at 0 per hashtag, MAIN_RIDGE per weekday, hour or month,
   COVARIATE_RIDGE per cell). The sparse normal equations of every account (one block each)
   are solved together by conjugate gradients with a diagonal preconditioner; a platform's
   and all accounts' figures pool their accounts' partial residuals. A tag that only rides
   along with a strong tag comes out near 0, because the strong tag explains those posts;
   its variance is widened by its overlap with its closest companion (`_inflation`), and a
   list whose |estimate / se| runs wider than a standard normal's has every standard error
   widened to match (Efron's empirical null, `NULL_SCALE_MIN`).
2. **Adaptive shrinkage** (`fit_priors`, `apply_priors`). Each hashtag's adjusted estimate
   b (log scale) has a standard error s from its moderated residual variance. True effects
   are taken to come from a mixture of a point mass at 0 and normals N(0, sd_k^2) on a grid
   fitted to the list's scale (`mixture_grid`; Stephens 2017, "False discovery rates: a new
   deal"); the mixture weights are fitted by EM over the hashtags with at least MIN_POSTS
   posts, with a null-biased
   Dirichlet penalty as in ashr. Per hashtag this gives the posterior mean (the headline
   ``score``) and the local false sign rate (``lfsr``); the interval shown is the adjusted
   estimate's 95% confidence interval, stretched to hold the headline (`interval`).
3. **Verdicts with error control.** ``qvalue`` is the s-value: the mean lfsr of the hashtags
   judged at least as surely (sorted by lfsr); "lifts" / "underperforms" when it is <= FSR,
   which bounds the expected share of wrong signs among the verdicts of the list at FSR.
   Hashtags under MIN_POSTS posts are "too_few_posts": outside the verdicts and the ranking.

Incremental passes (`aggregates.incremental`) hold the fitted prior and each row's
companion-and-timing offset fixed; see `estimate_of`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import ndtr, stdtrit

from hashtag_core.analytics.frames import ALL_ACCOUNTS, ALL_HASHTAGS, ALL_PLATFORMS
from hashtag_core.analytics.insight_frames import FOLLOWER_GROWTH_DAYS, FOLLOWERS_GOAL
from hashtag_core.analytics.stats import by_scope, merged, roll_up_moments

__all__ = [
    "FSR",
    "KNOTS",
    "MIN_POSTS",
    "MIXTURE_SDS",
    "PRIOR_GROUP",
    "PRIOR_SCHEMA",
    "RIDGE",
    "apply_priors",
    "fit_priors",
    "effect_rows",
    "joint_fit",
    "judged_rows",
    "priors_of",
]

#: Ridge penalty of a hashtag's effect, in posts at "no effect": b = sum(r) / (n + RIDGE).
RIDGE = 1.0
#: Ridge penalty of a weekday x hour cell's own effect (beyond its weekday's and its hour's):
#: small accounts have few posts per cell, so cells are held close to 0 unless many posts say
#: otherwise.
COVARIATE_RIDGE = 20.0
#: Ridge penalty of a weekday, an hour or a calendar month effect (many posts each).
MAIN_RIDGE = 2.0
#: The hashtag's residual variance is blended with its group's pooled residual variance as if
#: the pooled one came from this many extra posts (a moderated variance), so a hashtag with a
#: few similar posts cannot look precise by luck.
PRIOR_DF = 10.0
#: Hashtags with fewer posts than this get no verdict and no rank ("too_few_posts"), and do
#: not enter the fit of the mixture prior: one or two posts are evidence about those posts.
MIN_POSTS = 5
#: Target false sign rate of the verdicts across the list (per scope, window and goal).
FSR = 0.05
#: lfsr closer than this to the next one are tied for the q-value (they share the mean of every
#: lfsr up to the last of the run): the fit is iterative (tolerance 1e-8), so digits below this
#: depend on summation order and thread count, and must not reorder two hashtags' q-values.
TIE = 1e-6
#: Standard deviations (log scale) of the mixture prior's components when a list has no judged
#: hashtag to fit a grid to (`mixture_grid`); 0 is the point mass.
MIXTURE_SDS: tuple[float, ...] = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56)
#: ashr's null-biased penalty: a Dirichlet prior with weight 10 on the point mass.
NULL_PENALTY = 10.0
#: Efron's empirical null: where a list's |estimate / se| has a median above the standard
#: normal's (0.674), the standard errors are too small for the data (heavier tails, overlaps
#: the fit does not see) and are widened by that ratio, per group of at least this many
#: judged hashtags (Efron 2004, "Large-scale simultaneous hypothesis testing").
NULL_SCALE_MIN = 20
#: The null scale is taken from the hashtags with |z| below this many times the scale (the
#: central part, where the nulls are), re-estimated this many times (`_with_null_scale`). Over
#: all hashtags, the few with a real effect widened every standard error of the list by
#: about 15% in the ranking study, and the intervals covered 97-98%.
NULL_TRIM = 3.0
NULL_TRIM_STEPS = 3
_HALF_NORMAL_MEDIAN = 0.6744897501960817
#: lfsr levels at which a full pass stores the list's q-value curve for incremental passes.
KNOTS: tuple[float, ...] = (0.0, 1e-3, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Columns of a group that shares one prior.
PRIOR_GROUP = ["platform", "account_id", "window", "goal"]
#: The fitted prior, one row per (group, component): the mixture weight of component k, the
#: list's q-value at lfsr KNOTS[k], and the group's pooled residual variance (repeated).
PRIOR_SCHEMA = pl.Schema(
    {
        "platform": pl.String,
        "account_id": pl.Int64,
        "window": pl.String,
        "goal": pl.String,
        "component": pl.Int16,
        "sd": pl.Float64,
        "weight": pl.Float64,
        "knot_lfsr": pl.Float64,
        "knot_qvalue": pl.Float64,
        "pooled_var": pl.Float64,
        "null_scale": pl.Float64,
    }
)

_EM_STEPS = 200  # SQUAREM cycles (three EM steps each)
_EM_TOLERANCE = 1e-8
_CG_STEPS = 300
_CG_TOLERANCE = 1e-16  # on squared norms: residual 1e-8 of the right-hand side
_MIN_SE = 1e-6
_Z975 = 1.959963984540054

Floats = NDArray[np.float64]


def _dense(key: pl.Expr) -> pl.Expr:
    """0-based dense rank of an integer key."""
    return key.rank("dense").cast(pl.Int64) - 1


class Fit(NamedTuple):
    """What `joint_fit` gives: per-hashtag rows, and per-cell rows when asked for."""

    tags: pl.DataFrame
    cells: pl.DataFrame | None


#: Per (scope, window, hashtag or ALL_HASHTAGS, weekday, hour): the cell's partial residuals.
CELL_SCHEMA = pl.Schema(
    {
        "platform": pl.String,
        "account_id": pl.Int64,
        "window": pl.String,
        "hashtag_id": pl.Int64,
        "weekday": pl.Int8,
        "hour": pl.Int8,
        "n": pl.Int64,
        "mean": pl.Float64,
        "m2": pl.Float64,
    }
)
_TAG_SCHEMA = pl.Schema(
    {
        "platform": pl.String,
        "account_id": pl.Int64,
        "window": pl.String,
        "goal": pl.String,
        "hashtag_id": pl.Int64,
        "offset_sum": pl.Float64,
        "resid_m2": pl.Float64,
    }
)


def joint_fit(relative: pl.LazyFrame, links: pl.LazyFrame, *, cells: bool = False) -> Fit:
    """Per (scope, window, goal, hashtag): ``offset_sum`` and ``resid_m2`` of the joint fit.

    ``relative`` has post_id, platform, account_id, window, goal, log_ratio, slot, month (one
    row per post, window and goal); ``links`` post_id, hashtag_id. The regression is fitted
    within each account (hashtag, slot and month effects of its own: a companion or a posting
    time matters differently on different accounts), one block per (account, window, goal) of
    one sparse system. For hashtag h with posts P_h, the partial residual of post p is
    r_p = y_p - (the fitted effects of p's other hashtags, its slot and its month);
    ``offset_sum`` = sum over P_h of (y_p - r_p), and ``resid_m2`` the sum of squared
    deviations of r_p from their mean. A platform's or all accounts' row pools its accounts'
    partial residuals (offsets add up, moments merge). The adjusted estimate is then
    (sum(y) - offset_sum) / (n + RIDGE) (`estimate_of`).

    With ``cells`` (one goal: engagement), also CELL_SCHEMA rows: the moments, per local
    weekday x hour cell, of the posts' residual plus the cell's fitted effect (ALL_HASHTAGS:
    adjusted for every hashtag and the month) and, per hashtag, plus that hashtag's own
    fitted effect too (adjusted for its companions and the month).
    """
    rel = relative.select(
        "post_id", "platform", "account_id", "window", "goal", "log_ratio", "slot", "month", "day"
    ).collect()
    pairs = links.select("post_id", "hashtag_id").drop_nulls().unique().collect()
    # Each (window, goal) is solved on its own, as the full pass's slices do: the figures do
    # not depend on what else was computed in the same call.
    fits = [
        _fit(part, pairs, cells=cells)
        for part in rel.partition_by("window", "goal", maintain_order=True)
    ]
    found = [fit.cells for fit in fits if fit.cells is not None]
    return Fit(
        pl.concat([fit.tags for fit in fits]) if fits else pl.DataFrame(schema=_TAG_SCHEMA),
        (pl.concat(found) if found else pl.DataFrame(schema=CELL_SCHEMA)) if cells else None,
    )


def _fit(rel: pl.DataFrame, pairs: pl.DataFrame, *, cells: bool) -> Fit:
    """`joint_fit` of one (window, goal)."""
    rel = rel.sort("account_id", "post_id")  # the same sums in the same order, however sliced
    no_cells = pl.DataFrame(schema=CELL_SCHEMA) if cells else None
    if rel.height == 0 or pairs.height == 0:
        return Fit(pl.DataFrame(schema=_TAG_SCHEMA), no_cells)
    window = pl.col("window").cast(pl.String).rank("dense").cast(pl.Int64)
    goal = pl.col("goal").cast(pl.String).rank("dense").cast(pl.Int64)
    width = int(rel["account_id"].max()) + 1  # type: ignore[arg-type]
    obs = rel.with_columns(
        block=_dense((window * 64 + goal) * width + pl.col("account_id"))
    ).with_row_index("row")
    tags = obs.select(
        "row", "block", "post_id", "account_id", "window", "goal", "log_ratio", "day"
    ).join(pairs, on="post_id", how="inner")
    if tags.height == 0:
        return Fit(pl.DataFrame(schema=_TAG_SCHEMA), no_cells)
    # Parameters are numbered by dense ranks of integer keys (ranks of structs are slow).
    top = int(pairs["hashtag_id"].max()) + 1  # type: ignore[arg-type]
    tags = tags.with_columns(param=_dense(pl.col("block") * top + pl.col("hashtag_id"))).sort(
        "row", "param"
    )
    n_tags = tags["param"].n_unique()
    # Timing terms of each account: weekday and hour (lightly held), their cell (held close
    # to 0 unless many posts say otherwise), and the calendar month.
    timed = obs.filter(pl.col("slot").is_not_null())
    months = obs.filter(pl.col("month").is_not_null())
    first = int(months["month"].min()) if months.height else 0  # type: ignore[arg-type]
    span = int(months["month"].max()) - first + 1 if months.height else 1  # type: ignore[arg-type]
    terms: list[tuple[pl.DataFrame, pl.Expr, int, float]] = [
        (timed, pl.col("slot") // 24, 7, MAIN_RIDGE),
        (timed, pl.col("slot") % 24, 24, MAIN_RIDGE),
        (timed, pl.col("slot"), 168, COVARIATE_RIDGE),
        (months, pl.col("month") - first, span, MAIN_RIDGE),
    ]
    placed: list[pl.DataFrame] = []
    ridges = [np.full(n_tags, RIDGE)]
    offset = n_tags
    for frame, level, size, penalty in terms:
        found = frame.select("row", param=_dense(pl.col("block") * size + level) + offset)
        count = found["param"].n_unique()
        placed.append(found)
        ridges.append(np.full(count, penalty))
        offset += count
    entries = pl.concat([tags.select("row", "param"), *placed])
    ridge = np.concatenate(ridges)
    n_params = offset
    y = obs["log_ratio"].to_numpy().astype(np.float64)
    design = sparse.csr_matrix(
        (np.ones(entries.height), (entries["row"].to_numpy(), entries["param"].to_numpy())),
        shape=(obs.height, n_params),
        dtype=np.float64,
    )
    transposed = design.T.tocsr()
    system = _system(transposed, ridge)
    theta = _ridge_solve(system, transposed @ y)
    residual = y - design @ theta
    inflation = _inflation(system[:n_tags, :n_tags].tocsr())
    # Let go of the matrices (a few hundred MB at a million posts) before the roll-ups.
    del system, transposed, design, entries
    # Per (account, hashtag): partial residuals r = residual + theta_h over its posts.
    params = tags["param"].to_numpy()
    partial = residual[tags["row"].to_numpy()] + theta[params]
    group = ["account_id", "window", "goal", "hashtag_id"]
    partials = tags.select(
        *group, "log_ratio", "day", r=partial, inflation=inflation[params]
    ).with_columns(deviation=pl.col("r") - pl.col("r").mean().over(group))
    per_account = partials.group_by(group).agg(
        n=pl.len().cast(pl.Int64),
        mean=pl.col("r").mean(),
        # The spread of the partial residuals, times the variance inflation that the
        # hashtag's overlap with its companions and posting times brings (`_inflation`).
        m2=(pl.col("deviation") ** 2).sum() * pl.col("inflation").first(),
        offset_sum=(pl.col("log_ratio") - pl.col("r")).sum(),
    )
    if str(rel["goal"][0]) == FOLLOWERS_GOAL:
        per_account = _overlapping(per_account, partials, group)
    del partials
    platforms = rel.select("account_id", "platform").unique("account_id").lazy()
    keys = ["window", "goal", "hashtag_id"]
    levels = by_scope(
        per_account.lazy(),
        platforms,
        keys,
        [*roll_up_moments(), pl.col("offset_sum").sum()],
        merged(),
    )
    fitted = (
        levels.select(
            "platform",
            "account_id",
            pl.col("window", "goal").cast(pl.String),
            "hashtag_id",
            "offset_sum",
            resid_m2="m2",
        )
        .collect()
        .cast(dict(_TAG_SCHEMA))  # type: ignore[arg-type]
    )
    if not cells:
        return Fit(fitted, None)
    timing = np.zeros(obs.height)  # each post's fitted weekday + hour + cell effect
    for found in placed[:3]:
        timing[found["row"].to_numpy()] += theta[found["param"].to_numpy()]
    return Fit(fitted, _cells(obs, tags, timed.select("row"), residual, timing, theta, platforms))


def _overlapping(
    per_account: pl.DataFrame, partials: pl.DataFrame, group: list[str]
) -> pl.DataFrame:
    """Follower growth: ``m2`` as a time-series (kernel, Newey-West) estimate of the spread of
    the partial residuals' sum, so that posts whose growth windows overlap are not counted as
    independent evidence, corrected for few independent pieces (`_few_pieces`).

    A post's growth is measured over FOLLOWER_GROWTH_DAYS (L) days; two posts x days apart
    share max(0, 1 - x / L) of their window, so their errors (the account's own follower walk
    and the jumps after other posts in the shared days) are correlated in that proportion.
    By UTC day: with D_t the sum of a hashtag's deviations from its mean on day t, two posts
    k days apart at uniform hours share on average w_0 = 1 - 1 / (3L) (same day),
    w_k = 1 - k / L (0 < k < L) and w_L = 1 / (6L) of their window, and
    m2 = (1 - w_0) sum d^2 + w_0 sum_t D_t^2 + 2 sum_{k=1}^{L} w_k sum_t D_t D_{t+k}:
    the plain m2 when no two posts are within L days. Then, as for every goal, times the
    hashtag's variance inflation."""
    span = float(FOLLOWER_GROWTH_DAYS)
    same_day = 1.0 - 1.0 / (3.0 * span)
    # The hashtags' days in order, numbered by hashtag (`piece`), so that a day's next ones
    # are plain shifts within the same number (no sort per lag).
    daily = (
        partials.group_by(*group, "day")
        .agg(
            total=pl.col("deviation").sum(),
            squares=(pl.col("deviation") ** 2).sum(),
            inflation=pl.col("inflation").first(),
        )
        .sort(*group, "day")
        .with_columns(
            piece=pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in group)
            .fill_null(True)
            .cum_sum()
        )
    )
    kernel = (1.0 - same_day) * pl.col("squares") + same_day * pl.col("total") ** 2
    for lag in range(1, FOLLOWER_GROWTH_DAYS + 1):
        weight = 1.0 - lag / span if lag < FOLLOWER_GROWTH_DAYS else 1.0 / (6.0 * span)
        # D_{t+lag}: the hashtag's days are distinct, so day t + lag is at most `lag` of its
        # days after t.
        later = pl.sum_horizontal(
            pl.when(_ahead(pl.col("day"), step) - pl.col("day") == lag)
            .then(_ahead(pl.col("total"), step))
            .otherwise(0.0)
            for step in range(1, lag + 1)
        )
        kernel = kernel + 2.0 * weight * pl.col("total") * later
    # Independent pieces of evidence (G): the hashtag's days fall into runs, a new run where
    # L days or more pass without it; a run of d days counts as ceil(d / L) pieces.
    same = pl.col("piece") == pl.col("piece").shift(1)
    gap = pl.when(same).then(pl.col("day") - pl.col("day").shift(1))
    run = (gap.fill_null(FOLLOWER_GROWTH_DAYS) >= FOLLOWER_GROWTH_DAYS).cum_sum()
    days = daily.with_columns(term=kernel, run=run)
    hac = days.group_by(group).agg(m2=pl.col("term").sum() * pl.col("inflation").first())
    blocks = (
        days.group_by(*group, "run")
        .agg(span=pl.col("day").max() - pl.col("day").min() + 1)
        .group_by(group)
        .agg(pieces=((pl.col("span") + FOLLOWER_GROWTH_DAYS - 1) // FOLLOWER_GROWTH_DAYS).sum())
    )
    return (
        per_account.drop("m2")
        .join(hac, on=group, how="left")
        .join(blocks, on=group, how="left")
        .with_columns(
            m2=pl.col("m2").clip(lower_bound=0.0) * _few_pieces(pl.col("pieces"), pl.col("n"))
        )
        .drop("pieces")
    )


def _ahead(column: pl.Expr, step: int) -> pl.Expr:
    """`column` of the hashtag's `step`-th next day (NULL past its last), in a frame sorted by
    hashtag and day whose ``piece`` numbers the hashtags."""
    return pl.when(pl.col("piece").shift(-step) == pl.col("piece")).then(column.shift(-step))


def _few_pieces(pieces: pl.Expr, posts: pl.Expr) -> pl.Expr:
    """The correction of a clustered spread for G independent pieces among n posts:
    G / (G - 1) * (n - 1) / n * (t_{0.975, G - 1} / t_{0.975, n - 1})^2 (G = 1 counts as 2).

    1 when every post is a piece of its own (G = n). The first two factors undo the bias of
    deviations taken from a mean of G pieces rather than n posts; the last widens the interval
    from Student's t with n - 1 degrees of freedom (what the moderated variance assumes) to
    t with G - 1, as cluster-robust inference with few clusters does (Cameron & Miller 2015,
    "A practitioner's guide to cluster-robust inference", section VI)."""
    n = posts.clip(lower_bound=2).cast(pl.Float64)
    g = pieces.clip(lower_bound=2).cast(pl.Float64).clip(upper_bound=n)
    ratio = pl.struct(g=g, n=n).map_batches(
        lambda s: pl.Series(
            stdtrit(s.struct.field("g").to_numpy() - 1.0, 0.975)
            / stdtrit(s.struct.field("n").to_numpy() - 1.0, 0.975)
        ),
        return_dtype=pl.Float64,
    )
    return g / (g - 1.0) * (n - 1.0) / n * ratio**2


def _cells(
    obs: pl.DataFrame,
    tags: pl.DataFrame,
    timed: pl.DataFrame,
    residual: Floats,
    timing: Floats,
    theta: Floats,
    platforms: pl.LazyFrame,
) -> pl.DataFrame:
    """CELL_SCHEMA rows of `joint_fit` (see there): `timing` is each row's fitted weekday,
    hour and cell effects, `timed` the rows with a slot."""
    own = residual + timing
    where = obs.select("account_id", "window", "slot")  # by row number (obs's "row")
    slot_rows = timed["row"].to_numpy()
    every = where[slot_rows].with_columns(
        hashtag_id=pl.lit(ALL_HASHTAGS, pl.Int64), r=own[slot_rows]
    )
    # Only the columns needed, gathered by row number: a join of the links' wide frame held
    # ~600 MB at a million posts.
    placed = tags.select("row", "hashtag_id", "param").join(timed, on="row", how="semi")
    rows = placed["row"].to_numpy()
    per_tag = where[rows].with_columns(
        hashtag_id=placed["hashtag_id"], r=own[rows] + theta[placed["param"].to_numpy()]
    )
    moments = {
        "n": pl.len().cast(pl.Int64),
        "mean": pl.col("r").mean(),
        "m2": pl.col("r").var(ddof=0) * pl.len(),
    }
    group = ["account_id", "window", "hashtag_id", "slot"]
    per_account = pl.concat(
        [every.group_by(group).agg(**moments), per_tag.group_by(group).agg(**moments)]
    )
    keys = ["window", "hashtag_id", "slot"]
    levels = by_scope(per_account.lazy(), platforms, keys, roll_up_moments(), merged())
    return (
        levels.with_columns(
            pl.col("window").cast(pl.String),
            weekday=(pl.col("slot") // 24 + 1).cast(pl.Int8),
            hour=(pl.col("slot") % 24).cast(pl.Int8),
        )
        .select(CELL_SCHEMA.names())
        .collect()
        .cast(dict(CELL_SCHEMA))  # type: ignore[arg-type]
    )


def _inflation(tags: sparse.csr_matrix) -> Floats:
    """Per hashtag, how much its overlap with its closest companion widens its variance:
    A_hh / (A_hh - max_c A_hc^2 / A_cc), `tags` = A = X'X + diag(ridge) over the hashtag
    columns (the hashtags' block of `_system`).
    A hashtag used on half its posts with another one can only be told apart from it by the
    other half (inflation 2, as the exact inverse gives for two hashtags); one never seen
    without the other is capped at 100 (its evidence is then nearly nil). The closest
    companion alone, not the sum over all of them: summed, the many small overlaps of a
    topic's hashtags count the same shared posts again and again."""
    diagonal = tags.diagonal()
    share = tags.multiply(tags).multiply(1.0 / diagonal[None, :]).tocsr()
    share.setdiag(0.0)
    closest = np.asarray(share.max(axis=1).todense()).ravel()
    schur = np.maximum(diagonal - closest, diagonal / 100.0)
    result: Floats = diagonal / schur
    return result


def _system(transposed: sparse.csr_matrix, ridge: Floats) -> sparse.csr_matrix:
    """A = X'X + diag(ridge), from X' (`transposed`), formed once per fit.

    Conjugate gradients then multiply by A (its nonzeros are the pairs of parameters that
    share a post: a popular hashtag meets at most 7 + 24 + 168 weekday, hour and cell levels
    and one per month, however many posts it has) instead of by X and X', two passes over
    every post's nonzeros: at a million posts the solve went from 5.4 to 2.3 CPU-s per
    slice, for 130 MB more at its peak. Its hashtag block gives `_inflation`."""
    system = (transposed @ transposed.T).tocsr()
    system.setdiag(system.diagonal() + ridge)
    return system


def _ridge_solve(system: sparse.csr_matrix, rhs: Floats) -> Floats:
    """Solve `system` theta = `rhs` (A theta = X'y, A from `_system`) by conjugate gradients
    preconditioned by A's diagonal.

    Dot products are plain sums (no BLAS call: on a loaded machine BLAS threads spin)."""
    diagonal = system.diagonal()
    theta: Floats = rhs / diagonal  # the one-hashtag-at-a-time answer: a good start
    residual = rhs - system @ theta
    z = residual / diagonal
    direction = z.copy()
    rz = float((residual * z).sum())
    bound = _CG_TOLERANCE * max(float((rhs * rhs).sum()), 1e-300)
    for _ in range(_CG_STEPS):
        if float((residual * residual).sum()) <= bound:
            break
        product = system @ direction
        step = rz / float((direction * product).sum())
        theta += step * direction
        residual -= step * product
        z = residual / diagonal
        rz_next = float((residual * z).sum())
        direction = z + (rz_next / rz) * direction
        rz = rz_next
    return theta


def estimate_of(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``estimate`` and ``estimate_se`` (log scale) to rows with posts, mean_log_ratio,
    offset_sum (NULL = 0) and resid_var: b = (n mean - offset_sum) / (n + RIDGE),
    se = sqrt(resid_var / (n + RIDGE))."""
    n = pl.col("posts").cast(pl.Float64)
    total = n * pl.col("mean_log_ratio") - pl.col("offset_sum").fill_null(0.0)
    return frame.with_columns(
        estimate=total / (n + RIDGE),
        estimate_se=(pl.col("resid_var") / (n + RIDGE)).sqrt().clip(lower_bound=_MIN_SE),
    )


def _moderated(pooled: pl.Expr, m2: pl.Expr, n: pl.Expr) -> pl.Expr:
    """(PRIOR_DF * pooled + m2) / (PRIOR_DF + n - 1); the pooled variance alone for n = 1,
    and m2 / (n - 1) where no pooled variance exists."""
    own = pl.when(n >= 2).then(m2 / (n - 1))
    return (
        pl.when(pooled.is_not_null())
        .then((PRIOR_DF * pooled + m2) / (PRIOR_DF + n - 1))
        .otherwise(own)
        .fill_null(0.0)
    )


def fit_priors(rows: pl.DataFrame) -> pl.DataFrame:
    """PRIOR_SCHEMA: the mixture prior and q-value curve of every group of `rows`.

    `rows` has PRIOR_GROUP, posts, estimate, estimate_se, pooled_var and (for the q-value
    curve) lfsr computed with the fitted weights; see `hashtag_lift`."""
    out: list[pl.DataFrame] = []
    judged = pl.col("posts") >= MIN_POSTS
    some = judged.any().over(PRIOR_GROUP)
    # A list with no judged hashtag (a small account) gets the point mass, all at once: a
    # brand with thousands of small accounts must not loop over each in Python.
    idle = rows.filter(~some).group_by(PRIOR_GROUP).agg(pl.col("pooled_var", "null_scale").first())
    if idle.height:
        table = pl.DataFrame(
            {
                "component": np.arange(len(MIXTURE_SDS), dtype=np.int16),
                "sd": np.array(MIXTURE_SDS),
                "weight": np.r_[1.0, np.zeros(len(MIXTURE_SDS) - 1)],
                "knot_lfsr": np.array(KNOTS),
                "knot_qvalue": np.full(len(KNOTS), None, dtype=object).astype(float),
            }
        )
        out.append(idle.join(table, how="cross").select(PRIOR_SCHEMA.names()).cast(PRIOR_SCHEMA))
    # The judged rows of every busy group, in a fixed order within each group (so the fit
    # does not depend on how the rows arrived), split by group once.
    order = [c for c in ("hashtag_id", "weekday", "hour") if c in rows.columns]
    busy = rows.filter(some)
    keys = busy.group_by(PRIOR_GROUP, maintain_order=True).agg(
        pl.col("pooled_var", "null_scale").first()
    )
    eligible = (
        busy.filter(pl.col("posts") >= MIN_POSTS)
        .join(keys.select(PRIOR_GROUP).with_row_index("group"), on=PRIOR_GROUP, nulls_equal=True)
        .sort("group", *order)
    )
    group = eligible["group"].to_numpy()
    bounds = np.searchsorted(group, np.arange(keys.height + 1))
    estimates, errors = eligible["estimate"].to_numpy(), eligible["estimate_se"].to_numpy()
    sds_all, weights_all = [], []
    for g in range(keys.height):
        b, se = estimates[bounds[g] : bounds[g + 1]], errors[bounds[g] : bounds[g + 1]]
        sds = mixture_grid(b, se)
        sds_all.append(sds)
        weights_all.append(_em_weights(b, se, sds))
    if keys.height:
        k = len(MIXTURE_SDS)
        components = pl.DataFrame(
            {
                "group": np.repeat(np.arange(keys.height, dtype=np.uint32), k),
                "component": np.tile(np.arange(k, dtype=np.int16), keys.height),
                "sd": np.concatenate(sds_all),
                "weight": np.concatenate(weights_all),
                "knot_lfsr": np.tile(np.array(KNOTS), keys.height),
            }
        )
        out.append(
            keys.with_row_index("group")
            .join(components, on="group", how="inner")
            .with_columns(knot_qvalue=pl.lit(None, pl.Float64))
            .select(PRIOR_SCHEMA.names())
            .cast(PRIOR_SCHEMA)
        )
    if not out:
        return pl.DataFrame(schema=PRIOR_SCHEMA)
    return pl.concat(out).with_columns(pl.col("knot_qvalue").fill_nan(None))


def mixture_grid(b: Floats, se: Floats) -> Floats:
    """The mixture's component sds for one list, as ashr chooses them: 0 (the point mass),
    then GRID_SIZE - 1 geometric steps from a tenth of the smallest standard error to twice
    the largest spread of an estimate beyond its noise, sqrt(max(b^2 - se^2)). A list
    whose effects are all tiny (follower growth: 1e-4) gets a grid of its own scale rather
    than one that starts at 1%. With no judged hashtag, the fixed MIXTURE_SDS."""
    if len(b) == 0:
        return np.array(MIXTURE_SDS)
    low = max(float(np.min(se)) / 10.0, 1e-9)
    high = 2.0 * float(np.sqrt(max(float(np.max(b * b - se * se)), 0.0)))
    high = max(high, 8.0 * low)
    grid: Floats = np.concatenate([[0.0], np.geomspace(low, high, len(MIXTURE_SDS) - 1)])
    return grid


def _em_weights(b: Floats, s: Floats, sds: Floats) -> Floats:
    """Mixture weights maximising the penalised likelihood of estimates b with errors s: EM,
    accelerated by SQUAREM (Varadhan & Roland 2008), which reaches the same fixed point in a
    fraction of the plain steps (each accepted extrapolation is followed by one EM step)."""
    k = len(sds)
    if len(b) == 0:
        point = np.zeros(k)
        point[0] = 1.0
        return point
    prior: Floats = np.full(k, 0.5 / (k - 1))
    prior[0] = 0.5
    alpha = np.zeros(k)
    alpha[0] = NULL_PENALTY - 1.0
    density = _densities(b, np.maximum(s, _MIN_SE), sds)

    def step(weights: Floats) -> Floats:
        # sum_i density_ik w_k / total_i, as einsum sums (no temporary H x K array, no BLAS
        # threads): a quarter of the time of the elementwise form, the same to 1e-15.
        total = np.einsum("ik,k->i", density, weights)
        total[total <= 0] = 1e-300
        share = np.einsum("ik,i->k", density, 1.0 / total)
        updated: Floats = (weights * share + alpha) / (len(b) + alpha.sum())
        return updated

    for _ in range(_EM_STEPS):
        first = step(prior)
        second = step(first)
        r, v = first - prior, second - 2 * first + prior
        if float(np.sqrt((v * v).sum())) == 0.0:
            prior = second
            break
        ratio = -float(np.sqrt((r * r).sum()) / np.sqrt((v * v).sum()))
        ratio = min(ratio, -1.0)
        leap = prior - 2 * ratio * r + ratio * ratio * v
        if (leap < 0).any() or not np.isfinite(leap).all():
            leap = second
        leap = step(leap / leap.sum())
        done = float(np.max(np.abs(leap - prior))) < _EM_TOLERANCE
        prior = leap
        if done:
            break
    return prior


def _densities(b: Floats, s: Floats, sds: Floats) -> Floats:
    """Normal densities of b under each component: N(b; 0, s^2 + sd_k^2), shape (H, K)."""
    var = s[:, None] ** 2 + sds[None, :] ** 2
    return np.exp(-0.5 * b[:, None] ** 2 / var) / np.sqrt(2 * np.pi * var)


def components(b: Floats, s: Floats, weights: Floats, sds: Floats) -> tuple[Floats, ...]:
    """Per effect and mixture component (shape (H, K)): the posterior component weights,
    means and standard deviations (sd 0: the point mass at 0)."""
    s = np.maximum(s, _MIN_SE)
    joint = _densities(b, s, sds) * weights[None, :]
    total = joint.sum(axis=1, keepdims=True)
    total[total <= 0] = 1e-300
    var_k = sds[None, :] ** 2
    shrink = var_k / (var_k + s[:, None] ** 2)
    return joint / total, shrink * b[:, None], np.sqrt(shrink * s[:, None] ** 2)


def posterior(b: Floats, s: Floats, weights: Floats, sds: Floats) -> tuple[Floats, Floats]:
    """Posterior mean and lfsr of each effect (log scale). The reported interval is not the
    posterior's credible one but `interval`."""
    w, means, sd_k = components(b, s, weights, sds)
    mean: Floats = (w * means).sum(axis=1)
    safe = np.where(sd_k > 0, sd_k, 1.0)
    above = np.where(sd_k > 0, ndtr(means / safe), 0.0)
    below = np.where(sd_k > 0, ndtr(-means / safe), 0.0)
    zero = np.where(sd_k > 0, 0.0, w).sum(axis=1)  # mass at exactly 0
    positive = (w * above).sum(axis=1)
    negative = (w * below).sum(axis=1)
    lfsr: Floats = np.clip(np.minimum(positive + zero, negative + zero), 0.0, 1.0)
    return mean, lfsr


def interval(b: Floats, se: Floats, mean: Floats) -> tuple[Floats, Floats]:
    """The reported 95% interval (log scale): the adjusted estimate's confidence interval
    b ± 1.96 se, stretched to reach the headline (posterior `mean`) where the list's prior
    pulls it past the interval's end toward 0.

    Not the posterior's credible interval: under a prior that puts most hashtags at exactly 0
    that is [0, 0] for most of them and misses most small real effects (in the ranking study
    it covered 71-82% of the real effects while covering 97-98% overall, the nulls' [0, 0]
    making up the rest). The posterior mean has the sign of b and never reaches 0, so the
    stretch widens the interval toward 0 without making it cover a null it would not."""
    low = b - _Z975 * se
    high = b + _Z975 * se
    return np.minimum(low, mean), np.maximum(high, mean)


def apply_priors(rows: pl.DataFrame, priors: pl.DataFrame, *, exact_q: bool) -> pl.DataFrame:
    """Add score, score_low, score_high, lfsr, qvalue and verdict to `rows` (which have
    PRIOR_GROUP, posts, estimate, estimate_se) from the mixture weights in `priors`.

    With ``exact_q`` the q-value is the s-value over the group's rows (a full pass: `rows` are
    the whole list); otherwise it is read off the group's stored q-value curve (an incremental
    pass, which sees only a few rows of the list)."""
    parts: list[pl.DataFrame] = []
    some = (pl.col("posts") >= MIN_POSTS).any().over(PRIOR_GROUP)
    idle = rows.filter(~some)  # no judged row: nothing to compute (all too_few_posts)
    if idle.height:
        parts.append(idle.with_columns(_nulls()))
    prior_groups = priors.partition_by(PRIOR_GROUP, as_dict=True)
    busy = rows.filter(some)
    # Per group, on the few columns the posterior needs (a narrow split, written back once).
    mean, low, high, lfsr, qvalue = (np.full(busy.height, np.nan) for _ in range(5))
    narrow = busy.select(*PRIOR_GROUP, "posts", "estimate", "estimate_se").with_row_index("_at")
    for key, part in narrow.partition_by(PRIOR_GROUP, as_dict=True, maintain_order=True).items():
        prior = prior_groups.get(key)
        if prior is None or prior.height != len(MIXTURE_SDS):
            continue  # no prior: NULL figures
        at = part["_at"].to_numpy()
        prior = prior.sort("component")
        weights = prior["weight"].to_numpy()
        sds = prior["sd"].to_numpy()
        judged = part["posts"].to_numpy() >= MIN_POSTS
        # Only judged rows get a headline (the others are NULL below): skip their posterior.
        found = np.full((4, part.height), np.nan)
        if judged.any():
            b = part["estimate"].to_numpy()[judged]
            se = np.maximum(part["estimate_se"].to_numpy()[judged], _MIN_SE)
            found[0, judged], found[3, judged] = posterior(b, se, weights, sds)
            # The interval is the adjusted estimate's, holding the headline (`interval`).
            found[1, judged], found[2, judged] = interval(b, se, found[0, judged])
        mean[at], low[at], high[at], lfsr[at] = found
        if exact_q:
            qvalue[at] = _svalues(found[3], judged)
        else:
            curve = _from_curve(found[3], prior["knot_lfsr"].to_numpy(), prior["knot_qvalue"])
            qvalue[at] = np.where(judged, curve, np.nan)
    if busy.height:
        parts.append(
            busy.with_columns(
                post_mean=pl.Series(mean).fill_nan(None),
                score=pl.Series(np.expm1(mean)).fill_nan(None),
                score_low=pl.Series(np.expm1(low)).fill_nan(None),
                score_high=pl.Series(np.expm1(high)).fill_nan(None),
                lfsr=pl.Series(lfsr).fill_nan(None),
                qvalue=pl.Series(qvalue).fill_nan(None),
            )
        )
    if not parts:
        return rows.with_columns(_nulls()).with_columns(verdict=pl.lit("unclear"))
    out = pl.concat(parts, how="diagonal_relaxed").with_columns(verdict=verdict_of())
    # Under MIN_POSTS posts there is no headline: the hashtag is outside the ranking.
    few = pl.col("posts") < MIN_POSTS
    hidden = ("score", "score_low", "score_high", "lfsr", "qvalue")
    return out.with_columns(pl.when(~few).then(pl.col(c)).alias(c) for c in hidden).drop(
        "post_mean"
    )


def _nulls() -> list[pl.Expr]:
    return [
        pl.lit(None, pl.Float64).alias(name)
        for name in ("post_mean", "score", "score_low", "score_high", "lfsr", "qvalue")
    ]


def verdict_of() -> pl.Expr:
    """too_few_posts under MIN_POSTS; lifts / underperforms when qvalue <= FSR; else unclear."""
    sure = pl.col("qvalue") <= FSR
    return (
        pl.when(pl.col("posts") < MIN_POSTS)
        .then(pl.lit("too_few_posts"))
        .when(sure & (pl.col("post_mean") > 0))
        .then(pl.lit("lifts"))
        .when(sure & (pl.col("post_mean") < 0))
        .then(pl.lit("underperforms"))
        .otherwise(pl.lit("unclear"))
    )


def _svalues(lfsr: Floats, judged: NDArray[np.bool_]) -> Floats:
    """s-values: for each judged row, the mean lfsr of the judged rows with lfsr <= its own."""
    out = np.full(len(lfsr), np.nan)
    index = np.flatnonzero(judged)
    if len(index) == 0:
        return out
    order = index[np.argsort(lfsr[index], kind="stable")]
    values = lfsr[order]
    running = np.cumsum(values) / np.arange(1, len(order) + 1)
    # Ties share the value of the last of them (the mean over every row at that lfsr). lfsr
    # within TIE of its neighbour count as tied (a run of them is one group): they come out of
    # an iterative fit whose last digits depend on summation order, and a q-value must not
    # swap between two hashtags on that noise.
    starts = np.concatenate([[True], np.diff(values) > TIE])
    group = np.cumsum(starts) - 1
    last = np.concatenate([np.flatnonzero(starts)[1:], [len(values)]]) - 1
    out[order] = running[last[group]]
    return out


def q_curve(lfsr: Floats, judged: NDArray[np.bool_]) -> Floats:
    """The s-value at each lfsr in KNOTS (NaN where no judged row is at or below it)."""
    values = np.sort(lfsr[judged])
    knots = np.array(KNOTS)
    if len(values) == 0:
        return np.full(len(knots), np.nan)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    counts = np.searchsorted(values, knots, side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        result: Floats = np.where(counts > 0, cumulative[counts] / np.maximum(counts, 1), np.nan)
    return result


def _from_curve(lfsr: Floats, knots: Floats, values: pl.Series) -> Floats:
    """Linear interpolation of a stored q-value curve; never above lfsr itself."""
    curve = values.fill_null(np.nan).to_numpy().astype(np.float64)
    known = ~np.isnan(curve)
    if not known.any():
        return lfsr.copy()
    interpolated = np.interp(lfsr, knots[known], curve[known])
    result: Floats = np.minimum(interpolated, lfsr)
    return result


def with_q_curve(priors: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """`priors` with knot_qvalue filled from the lfsr of the full list in `rows`."""
    parts = []
    narrow = rows.select(*PRIOR_GROUP, "posts", "lfsr")
    row_groups = narrow.partition_by(PRIOR_GROUP, as_dict=True)
    for key, prior in priors.partition_by(PRIOR_GROUP, as_dict=True, maintain_order=True).items():
        part = row_groups.get(key)
        if part is None or part.height == 0:
            parts.append(prior)
            continue
        lfsr = part["lfsr"].fill_null(1.0).to_numpy()
        curve = q_curve(lfsr, part["posts"].to_numpy() >= MIN_POSTS)
        parts.append(
            prior.sort("component").with_columns(
                knot_qvalue=pl.Series(curve).fill_nan(None).cast(pl.Float64)
            )
        )
    return pl.concat(parts) if parts else priors


def effect_rows(
    rows: pl.DataFrame, priors: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows with estimate, estimate_se, score, score_low, score_high, lfsr, qvalue, verdict;
    the priors they used).

    `rows` has PRIOR_GROUP, hashtag_id, posts, mean_log_ratio, offset_sum and resid_m2 (NULL
    where unknown: no offset, and the raw ``m2`` column stands in for the residual's). Without
    `priors` (a full pass: `rows` are every hashtag of their groups, or only those with
    MIN_POSTS posts as `judged_rows` gives them) the pooled variance, the null scale, the
    mixture and the q-value curve are fitted here; with them (an incremental pass) they are
    held fixed.
    """
    rows = rows.with_columns(pl.col("resid_m2").fill_null(pl.col("m2")))
    if priors is None:
        rows = _prepared(rows)
        priors = fit_priors(rows)
        rows = apply_priors(rows, priors, exact_q=True)
        priors = with_q_curve(priors, rows)
    else:
        held = priors.group_by(PRIOR_GROUP).agg(pl.col("pooled_var", "null_scale").first())
        rows = _prepared(rows.join(held, on=PRIOR_GROUP, how="left"))
        rows = apply_priors(rows, priors, exact_q=False)
    return rows.drop("pooled_var", "resid_var", "null_scale"), priors


def judged_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows of `rows` with at least MIN_POSTS posts, with ``pooled_var`` and ``prior_var``
    taken over every row of their groups, as `effect_rows` would take them.

    Rows under MIN_POSTS posts get no estimate, but their spread counts in the group's pooled
    variance, and an account's row in the post-weighted mean of a platform's or all accounts'
    row (`_with_prior_var`). `effect_rows` of the judged rows alone, carrying these two
    columns, gives them the same figures as `effect_rows` of every row. The slots need this:
    at a million posts, 2.2M weekday x hour cells, most of one to four posts; estimating them
    all held ~800 MB more."""
    judged = pl.col("posts") >= MIN_POSTS
    rows = rows.with_columns(pl.col("resid_m2").fill_null(pl.col("m2")))  # as effect_rows
    if "pooled_var" in rows.columns:
        pooled = rows.group_by(PRIOR_GROUP).agg(pl.col("pooled_var").first())
        rows = rows.drop("pooled_var")
    else:
        pooled = rows.group_by(PRIOR_GROUP).agg(pooled_var=_pooled_of_group())
    keys = [c for c in ("window", "goal", "hashtag_id", "weekday", "hour") if c in rows.columns]
    # The accounts' rows under MIN_POSTS posts that a judged platform or all-accounts row
    # pools over (the judged accounts' rows come with the judged rows).
    wanted = rows.filter(judged, pl.col("account_id") == ALL_ACCOUNTS).select(keys).unique()
    support = rows.filter(~judged, pl.col("account_id") != ALL_ACCOUNTS).join(
        wanted, on=keys, how="semi", nulls_equal=True
    )
    some = pl.concat([rows.filter(judged), support]).join(
        pooled, on=PRIOR_GROUP, how="left", nulls_equal=True
    )
    return _with_prior_var(some).filter(judged)


def _prepared(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with pooled_var, prior_var, resid_var, estimate and estimate_se (times the
    group's null_scale); pooled_var, prior_var and null_scale are computed per group where
    absent."""
    if "pooled_var" not in rows.columns:
        rows = rows.with_columns(pooled_var=_pooled())
    rows = (
        _with_prior_var(rows)
        .lazy()
        .with_columns(
            resid_var=_moderated(pl.col("prior_var"), pl.col("resid_m2"), pl.col("posts"))
        )
        .pipe(estimate_of)
        .collect()
    )
    if "null_scale" not in rows.columns:
        rows = _with_null_scale(rows)
    return rows.with_columns(
        estimate_se=pl.col("estimate_se") * pl.col("null_scale").fill_null(1.0)
    )


def _with_null_scale(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with ``null_scale``, per group: how much wider than its standard errors say the
    list's |b / se| run, from the central part of the list (Efron's central matching,
    simplified): the median |z| of the judged hashtags over the standard normal's 0.674, then
    again over those with |z| below NULL_TRIM times the scale found, NULL_TRIM_STEPS times,
    so the hashtags with a real effect (far in the tails) do not widen every other one's
    interval. At least 1; 1 under NULL_SCALE_MIN judged hashtags."""
    judged = pl.col("posts") >= MIN_POSTS
    z = (pl.col("estimate") / pl.col("estimate_se")).abs()
    # One row per judged hashtag and one per group: each step is a join and a median (an
    # expression nesting the steps would repeat each earlier step twice over).
    scores = rows.lazy().filter(judged).select(*PRIOR_GROUP, z=z).collect()
    groups = (
        scores.group_by(PRIOR_GROUP)
        .agg(count=pl.len(), scale=pl.col("z").median() / _HALF_NORMAL_MEDIAN)
        .with_columns(pl.col("scale").fill_null(1.0))
    )
    for _ in range(NULL_TRIM_STEPS):
        central = (
            scores.join(groups.select(*PRIOR_GROUP, "scale"), on=PRIOR_GROUP, nulls_equal=True)
            .filter(pl.col("z") < NULL_TRIM * pl.col("scale"))
            .group_by(PRIOR_GROUP)
            .agg(next=pl.col("z").median() / _HALF_NORMAL_MEDIAN)
        )
        groups = (
            groups.join(central, on=PRIOR_GROUP, how="left", nulls_equal=True)
            .with_columns(scale=pl.col("next").fill_null(pl.col("scale")))
            .drop("next")
        )
    scale = pl.col("scale").clip(lower_bound=1.0)
    groups = groups.select(
        *PRIOR_GROUP,
        null_scale=pl.when(pl.col("count") >= NULL_SCALE_MIN).then(scale).otherwise(1.0),
    )
    return rows.join(
        groups, on=PRIOR_GROUP, how="left", nulls_equal=True, maintain_order="left"
    ).with_columns(pl.col("null_scale").fill_null(1.0))


def _with_prior_var(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with ``prior_var``, the variance a row's own one is moderated towards: in an
    account's list, the list's pooled variance; in a platform's or all accounts' list, the
    mean of the pooled variances of the accounts the row's posts come from, weighted by its
    posts there (the group's pooled variance where no account row is at hand). A row that
    has one already (held by an incremental pass) keeps it.

    An account's posts are measured against that account's own baseline, so their spread is
    the account's: for follower growth, a variance over 100 times smaller in a brand's main
    account than in a small park's. Moderated towards the whole list's pooled variance, which
    the big accounts make, a hashtag used on a few posts of a small account would look
    precise by luck and get a verdict it has not earned."""
    keys = [c for c in ("window", "goal", "hashtag_id", "weekday", "hour") if c in rows.columns]
    held = pl.col("prior_var") if "prior_var" in rows.columns else pl.lit(None, pl.Float64)
    accounts = rows.filter(
        pl.col("account_id") != ALL_ACCOUNTS,
        pl.col("pooled_var").is_not_null(),
        pl.col("posts") > 0,
    ).select(
        "platform",
        *keys,
        n=pl.col("posts").cast(pl.Float64),
        nv=pl.col("posts").cast(pl.Float64) * pl.col("pooled_var"),
    )
    mixed = (pl.col("nv").sum() / pl.col("n").sum()).alias("mixed")
    by_platform = accounts.group_by("platform", *keys).agg(mixed)
    overall = accounts.group_by(keys).agg(mixed)
    levels = pl.concat(
        [
            by_platform.with_columns(account_id=pl.lit(ALL_ACCOUNTS, pl.Int64)),
            overall.with_columns(
                platform=pl.lit(ALL_PLATFORMS, pl.String),
                account_id=pl.lit(ALL_ACCOUNTS, pl.Int64),
            ),
        ],
        how="diagonal",
    )
    return (
        rows.join(
            levels,
            on=["platform", "account_id", *keys],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(prior_var=held.fill_null(pl.col("mixed")).fill_null(pl.col("pooled_var")))
        .drop("mixed")
    )


def _pooled() -> pl.Expr:
    """`_pooled_of_group`, on every row of its group."""
    return _pooled_of_group().over(PRIOR_GROUP)


def _pooled_of_group() -> pl.Expr:
    """The pooled residual variance of a group (an aggregation over its rows):
    sum(resid_m2) / sum(posts - 1).

    Follower growth: the median of the judged hashtags' own variances resid_m2 / (posts - 1)
    (the pooled one where none is judged). Its variances are corrected for overlapping growth
    windows and few independent pieces (`_overlapping`), which makes those of hashtags used in
    a burst of days many times the rest; summed, a few of them would widen every other
    hashtag's interval."""
    pooled_df = (pl.col("posts") - 1).clip(lower_bound=0).sum()
    pooled = pl.when(pooled_df > 0).then(pl.col("resid_m2").sum() / pooled_df)
    judged = pl.col("posts") >= MIN_POSTS
    median = (pl.col("resid_m2") / (pl.col("posts") - 1)).filter(judged).median()
    followers = pl.col("goal").first() == FOLLOWERS_GOAL
    return pl.when(followers).then(median.fill_null(pooled)).otherwise(pooled)


def priors_of(lift: pl.DataFrame) -> pl.DataFrame:
    """The prior a full pass fitted for the groups of a full lift table (LIFT_SCHEMA): the
    same pooled variance, null scale, mixture weights and q-value curve as `effect_rows`
    (deterministic functions of the stored posts, mean_log_ratio, offset_sum, resid_m2 and
    lfsr)."""
    rows = _prepared(lift.drop("estimate", "estimate_se"))
    return with_q_curve(fit_priors(rows), lift).select(PRIOR_SCHEMA.names())
