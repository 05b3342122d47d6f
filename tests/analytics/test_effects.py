"""The hashtag estimate (analytics/effects.py) against independent numerics.

The joint fit is checked against a dense direct solve of the same ridge problem, the mixture
posterior against numerical integration of prior x likelihood, the s-values by hand, and the
worked example of docs/metrics.md ("The hashtag estimate"). Whether the estimate is *right*
(error rates, power, coverage) is the simulation study's job: bench/ranking_study.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import integrate
from scipy.stats import norm

from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.effects import (
    MIXTURE_SDS,
    _em_weights,
    _svalues,
    _with_null_scale,
    components,
    effect_rows,
    interval,
    joint_fit,
    judged_rows,
    mixture_grid,
    posterior,
)
from hashtag_core.analytics.frames import POSTS_SCHEMA
from hashtag_core.analytics.lift import hashtag_lift

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# Written out here, not imported: a wrong constant in the code must not be shared by the check.
TAG_RIDGE = 1.0
MAIN_PENALTY = 2.0  # a weekday, an hour, a month
CELL_PENALTY = 20.0  # a weekday x hour cell beyond its weekday and hour
MIN_POSTS = 5  # a hashtag's posts for an estimate (a verdict and a rank)
GRID = np.array([0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56])


def _credible(b: np.ndarray, s: np.ndarray, weights: np.ndarray, sds: np.ndarray):
    """The posterior's 95% credible bounds, by bisection on each effect's mixture CDF: not a
    figure the service reports (its interval is `interval`), kept to show why not."""
    w, means, sd_k = components(b, s, weights, sds)
    safe = np.where(sd_k > 0, sd_k, 1.0)
    spread = np.where(sd_k > 0, sd_k, 0.0)
    bounds = []
    for p in (0.025, 0.975):
        low = np.minimum((means - 8 * spread).min(axis=1), 0.0) - 1e-9
        high = np.maximum((means + 8 * spread).max(axis=1), 0.0) + 1e-9
        for _ in range(44):
            middle = (low + high) / 2
            x = middle[:, None]
            cdf = np.where(sd_k > 0, norm.cdf((x - means) / safe), (x >= means).astype(float))
            below = (w * cdf).sum(axis=1) >= p
            high, low = np.where(below, middle, high), np.where(below, low, middle)
        bounds.append(np.where(np.abs(high) < 1e-12, 0.0, high))
    return bounds[0], bounds[1]


def _posts(log_effect: np.ndarray, *, accounts: np.ndarray, seed: int) -> pl.DataFrame:
    """Posts whose engagement is 100 * account * exp(effect + noise), over 300 days."""
    rng = np.random.default_rng(seed)
    n = len(log_effect)
    posted = [NOW - timedelta(hours=int(h)) for h in rng.integers(1, 24 * 300, n)]
    noise = rng.normal(0.0, 0.8, n)
    engagement = np.round(np.exp(np.log(100.0 * accounts) + log_effect + noise)).astype(int)
    return pl.DataFrame(
        {
            "post_id": np.arange(n),
            "account_id": accounts,
            "platform": ["instagram"] * n,
            "posted_at": posted,
            "local_date": [p.date() for p in posted],
            "local_weekday": [p.isoweekday() for p in posted],
            "local_hour": [p.hour for p in posted],
            "likes": engagement,
            "comments": [0] * n,
            "shares": [0] * n,
            "saves": [0] * n,
            "impressions": [None] * n,
            "reach": [None] * n,
            "followers": [None] * n,
        }
    ).cast(dict(POSTS_SCHEMA))  # type: ignore[arg-type]


def _links(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"post_id": pl.Int64, "hashtag_id": pl.Int64}, orient="row")


def _rider_case(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A strong tag (x1.5) on 15% of posts; a rider on half of those only; 20 null tags."""
    rng = np.random.default_rng(seed)
    n = 3_000
    strong = rng.random(n) < 0.15
    rider = strong & (rng.random(n) < 0.5)
    nulls = rng.integers(10, 30, n)
    accounts = rng.integers(1, 4, n)
    posts = _posts(np.log(1.5) * strong, accounts=accounts, seed=seed + 1)
    pairs = [(i, 1) for i in range(n) if strong[i]] + [(i, 2) for i in range(n) if rider[i]]
    pairs += [(i, int(nulls[i])) for i in range(n)]
    return posts, _links(pairs)


def _direct(rel: pl.DataFrame, links: pl.DataFrame) -> dict[int, tuple[float, list[float], float]]:
    """The ridge problem of one account, built and solved densely: hashtag -> (offset sum,
    partial residuals, variance inflation by its closest companion)."""
    y = rel["log_ratio"].to_numpy()
    row_of = {pid: i for i, pid in enumerate(rel["post_id"].to_list())}
    mine = links.filter(pl.col("post_id").is_in(rel["post_id"].implode()))
    tags = sorted(set(mine["hashtag_id"].to_list()))
    slot = rel["slot"].to_numpy()
    # (level of each post, penalty) per timing term: weekday, hour, cell, month
    terms = [
        (slot // 24, MAIN_PENALTY),
        (slot % 24, MAIN_PENALTY),
        (slot, CELL_PENALTY),
        (rel["month"].to_numpy(), MAIN_PENALTY),
    ]
    blocks = [np.zeros((len(y), len(tags)))]
    penalties = [np.full(len(tags), TAG_RIDGE)]
    for pid, tag in mine.iter_rows():
        blocks[0][row_of[pid], tags.index(tag)] = 1.0
    for levels, penalty in terms:
        values = sorted(set(levels.tolist()))
        block = np.zeros((len(y), len(values)))
        block[np.arange(len(y)), [values.index(v) for v in levels]] = 1.0
        blocks.append(block)
        penalties.append(np.full(len(values), penalty))
    design, penalty = np.hstack(blocks), np.concatenate(penalties)
    theta = np.linalg.solve(design.T @ design + np.diag(penalty), design.T @ y)
    fitted = design @ theta
    gram = blocks[0].T @ blocks[0] + TAG_RIDGE * np.eye(len(tags))
    out = {}
    for j, tag in enumerate(tags):
        on = design[:, j] == 1.0
        partial = y[on] - fitted[on] + theta[j]
        closest = max(
            (gram[j, c] ** 2 / gram[c, c] for c in range(len(tags)) if c != j), default=0.0
        )
        inflation = gram[j, j] / max(gram[j, j] - closest, gram[j, j] / 100)
        out[tag] = (float(np.sum(y[on] - partial)), partial.tolist(), float(inflation))
    return out


def test_joint_fit_equals_a_direct_solve_of_the_ridge_problem() -> None:
    posts, links = _rider_case(seed=3)
    relative = relative_performance(posts.lazy(), now=NOW, goals=["engagement"], windows=["all"])
    fit = joint_fit(relative, links.lazy()).tags

    # One regression per account; a platform's figures pool its accounts' partial residuals.
    rel = relative.collect().sort("post_id")
    per_account = {
        account: _direct(rel.filter(pl.col("account_id") == account), links)
        for account in sorted(set(rel["account_id"].to_list()))
    }
    for account, solved in per_account.items():
        got = fit.filter(pl.col("account_id") == account).sort("hashtag_id")
        assert got["hashtag_id"].to_list() == sorted(solved)
        want = [solved[t][0] for t in sorted(solved)]
        np.testing.assert_allclose(got["offset_sum"].to_numpy(), want, rtol=1e-5, atol=1e-6)
        m2 = [np.var(solved[t][1]) * len(solved[t][1]) * solved[t][2] for t in sorted(solved)]
        np.testing.assert_allclose(got["resid_m2"].to_numpy(), m2, rtol=1e-5)
    pooled = fit.filter(pl.col("platform") == "*").sort("hashtag_id")
    for tag, offset, m2 in pooled.select("hashtag_id", "offset_sum", "resid_m2").iter_rows():
        parts = [solved[tag] for solved in per_account.values() if tag in solved]
        mean = np.mean(np.concatenate([np.array(p[1]) for p in parts]))
        # merged moments: each account's inflated spread, plus its mean's distance
        want = sum(
            np.var(p[1]) * len(p[1]) * p[2] + len(p[1]) * (np.mean(p[1]) - mean) ** 2 for p in parts
        )
        assert offset == pytest.approx(sum(p[0] for p in parts), rel=1e-5, abs=1e-6)
        assert m2 == pytest.approx(want, rel=1e-5)


def test_a_tag_riding_along_with_a_strong_tag_comes_out_near_zero() -> None:
    posts, links = _rider_case(seed=7)
    relative = relative_performance(posts.lazy(), now=NOW, goals=["engagement"], windows=["all"])
    lift = hashtag_lift(relative, links.lazy()).collect()
    every = lift.filter(pl.col("platform") == "*")
    strong = every.filter(pl.col("hashtag_id") == 1).row(0, named=True)
    rider = every.filter(pl.col("hashtag_id") == 2).row(0, named=True)
    # Raw, the rider looks as good as the tag it rides with; adjusted, it is near nothing.
    assert rider["lift"] > 0.25
    assert abs(rider["estimate"]) < 2.5 * rider["estimate_se"]
    assert rider["verdict"] == "unclear"
    assert abs(strong["estimate"] - np.log(1.5)) < 3 * strong["estimate_se"] + 0.05
    assert strong["verdict"] == "lifts"
    assert strong["score_low"] > 0.1


def _numerical_posterior(b: float, s: float, weights: np.ndarray) -> dict[str, float]:
    """Posterior of a mixture prior (point mass + normals) by numerical integration of
    prior x likelihood (quadrature for the moments, a fine grid for the quantiles)."""
    parts = [(w, sd) for w, sd in zip(weights[1:], GRID[1:], strict=True) if w > 0]

    def joint(x: float) -> float:
        return float(sum(w * norm.pdf(x, 0.0, sd) for w, sd in parts) * norm.pdf(b, x, s))

    def quad(f: object, low: float, high: float) -> float:
        return float(integrate.quad(f, low, high, epsabs=1e-14, epsrel=1e-12, limit=200)[0])

    point = weights[0] * norm.pdf(b, 0.0, s)
    below = quad(joint, -np.inf, 0.0)
    above = quad(joint, 0.0, np.inf)
    total = point + below + above
    mean = quad(lambda x: x * joint(x), -np.inf, 0.0) + quad(lambda x: x * joint(x), 0.0, np.inf)
    x = np.linspace(-12.0, 12.0, 480_001)
    density = np.array([joint(v) for v in x[::40]]) / total
    grid = x[::40]
    cdf = integrate.cumulative_trapezoid(density, grid, initial=0.0)
    cdf = cdf + np.where(grid >= 0, point / total, 0.0)
    return {
        "mean": mean / total,
        "lfsr": (min(below, above) + point) / total,
        "low": float(grid[np.searchsorted(cdf, 0.025)]),
        "high": float(grid[np.searchsorted(cdf, 0.975)]),
    }


@pytest.mark.parametrize(
    ("b", "s"), [(0.3326, 0.1043), (1.0, 0.5), (-0.2, 0.05), (0.02, 0.3), (2.5, 0.7)]
)
def test_posterior_equals_numerical_integration(b: float, s: float) -> None:
    weights = np.array([0.55, 0.0, 0.05, 0.05, 0.1, 0.1, 0.1, 0.05, 0.0, 0.0])
    mean, lfsr = posterior(np.array([b]), np.array([s]), weights, GRID)
    low, high = _credible(np.array([b]), np.array([s]), weights, GRID)
    want = _numerical_posterior(b, s, weights)
    assert mean[0] == pytest.approx(want["mean"], abs=1e-6)
    assert lfsr[0] == pytest.approx(want["lfsr"], abs=1e-6)
    assert low[0] == pytest.approx(want["low"], abs=2e-3)  # the grid's step is 2e-3
    assert high[0] == pytest.approx(want["high"], abs=2e-3)


def test_the_fallback_grid_is_the_documented_one() -> None:
    np.testing.assert_array_equal(np.array(MIXTURE_SDS), GRID)


def test_the_grid_follows_the_list_scale() -> None:
    se = np.array([0.002, 0.01, 0.05])
    b = np.array([0.0, 0.03, 0.4])
    grid = mixture_grid(b, se)
    assert grid[0] == 0.0
    assert grid[1] == pytest.approx(0.0002)  # a tenth of the smallest se
    assert grid[-1] == pytest.approx(2 * np.sqrt(0.4**2 - 0.05**2))
    assert len(grid) == len(GRID)
    tiny = mixture_grid(np.array([1e-4, -2e-4]), np.array([5e-5, 5e-5]))
    assert tiny[-1] < 1e-3  # follower-growth scale, not 1%


def test_worked_example_of_the_docs() -> None:
    weights = np.zeros(len(GRID))
    weights[0], weights[5], weights[6] = 0.6, 0.2, 0.2  # point mass; sd 0.16; sd 0.32
    b = (18.0 - 2.7) / (45 + 1)
    s = np.sqrt(0.5 / (45 + 1))
    mean, lfsr = posterior(np.array([b]), np.array([s]), weights, GRID)
    low, high = _credible(np.array([b]), np.array([s]), weights, GRID)
    assert b == pytest.approx(0.3326, abs=5e-5)
    assert s == pytest.approx(0.1043, abs=5e-5)
    assert np.expm1(mean[0]) == pytest.approx(0.296, abs=5e-4)
    assert low[0] == 0.0  # the lower quantile falls in the point mass
    assert np.expm1(high[0]) == pytest.approx(0.605, abs=5e-4)
    assert lfsr[0] == pytest.approx(0.058, abs=5e-4)


def test_worked_example_interval_of_the_docs() -> None:
    weights = np.zeros(len(GRID))
    weights[0], weights[5], weights[6] = 0.6, 0.2, 0.2
    b = np.array([(18.0 - 2.7) / 46])
    s = np.array([np.sqrt(0.5 / 46)])
    mean = posterior(b, s, weights, GRID)[0]
    low, high = interval(b, s, mean)
    # exp(0.3326 -/+ 1.96 * 0.1043) - 1, as docs/metrics.md works it out
    assert np.expm1(low[0]) == pytest.approx(0.1369, abs=5e-4)
    assert np.expm1(high[0]) == pytest.approx(0.7108, abs=5e-4)
    assert low[0] < mean[0] < high[0]


def test_the_interval_stretches_to_the_headline_but_not_to_zero() -> None:
    # A list where real effects are rare: b = 2.5 se is pulled far toward 0, past b - 1.96 se.
    weights = np.zeros(len(GRID))
    weights[0], weights[4] = 0.95, 0.05
    b, s = np.array([0.2, -0.2]), np.array([0.08, 0.08])
    mean = posterior(b, s, weights, GRID)[0]
    low, high = interval(b, s, mean)
    assert 0 < mean[0] < 0.2 - 1.96 * 0.08  # the headline is below the confidence interval
    assert low[0] == mean[0]
    assert high[0] == pytest.approx(0.2 + 1.959964 * 0.08)
    assert high[1] == mean[1] < 0
    assert low[1] == pytest.approx(-0.2 - 1.959964 * 0.08)
    assert low[0] > 0  # the stretch stops at the headline: it does not reach 0


def test_interval_covers_95_percent_of_true_effects_null_or_not() -> None:
    # 4,000 effects, 80% exactly 0 and 20% from N(0, 0.3^2); estimates b ~ N(effect, se^2).
    # The posterior's own credible interval would cover the nulls always and the real effects
    # far less often; the reported interval covers each kind about 95% of the time.
    rng = np.random.default_rng(3)
    n = 4_000
    real = rng.random(n) < 0.2
    truth = np.where(real, rng.normal(0.0, 0.3, n), 0.0)
    se = rng.uniform(0.05, 0.3, n)
    b = truth + rng.normal(0.0, se)
    sds = mixture_grid(b, se)
    weights = _em_weights(b, se, sds)
    mean = posterior(b, se, weights, sds)[0]
    cred_low, cred_high = _credible(b, se, weights, sds)
    low, high = interval(b, se, mean)
    inside = (low <= truth) & (truth <= high)
    assert 0.93 <= inside[real].mean() <= 0.97
    assert 0.93 <= inside[~real].mean() <= 0.97
    credible = (cred_low <= truth) & (truth <= cred_high)
    assert credible[real].mean() < 0.9 < 0.99 < credible[~real].mean()


def test_null_scale_comes_from_the_central_part_of_the_list() -> None:
    # 170 null hashtags whose |b / se| run 1.3 times wider than their se say, and 30 with a
    # large real effect: the scale is about 1.3, not pushed up by the 30.
    rng = np.random.default_rng(5)
    z = np.r_[rng.normal(0.0, 1.3, 170), rng.choice([-1.0, 1.0], 30) * rng.uniform(6, 12, 30)]
    rows = pl.DataFrame(
        {
            "platform": "*",
            "account_id": 0,
            "window": "all",
            "goal": "engagement",
            "posts": 50,
            "estimate": z * 0.1,
            "estimate_se": 0.1,
        }
    )
    scale = _with_null_scale(rows)["null_scale"][0]
    untrimmed = float(np.median(np.abs(z)) / 0.6744897501960817)
    assert scale == pytest.approx(1.3, rel=0.1)
    assert untrimmed > 1.3 * 1.12  # the whole list's median would overstate it
    few = _with_null_scale(rows.head(19))["null_scale"][0]
    assert few == 1.0  # under 20 judged hashtags: no scale


def test_em_recovers_the_mixture_it_is_drawn_from() -> None:
    rng = np.random.default_rng(11)
    true = np.where(rng.random(4_000) < 0.7, 0.0, rng.normal(0.0, 0.32, 4_000))
    se = np.full(4_000, 0.05)
    weights = _em_weights(true + rng.normal(0.0, 0.05, 4_000), se, GRID)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] == pytest.approx(0.7, abs=0.04)
    assert weights[5:8].sum() == pytest.approx(0.3, abs=0.05)  # sd 0.16 .. 0.64


def test_no_effect_anywhere_puts_almost_all_weight_on_the_null() -> None:
    rng = np.random.default_rng(5)
    se = rng.uniform(0.05, 0.5, 1_000)
    weights = _em_weights(rng.normal(0.0, se), se, GRID)
    assert weights[0] > 0.9


def test_svalues_by_hand() -> None:
    lfsr = np.array([0.2, 0.01, 0.03, 0.5, 0.03])
    judged = np.array([True, True, True, False, True])
    got = _svalues(lfsr, judged)
    # sorted judged: 0.01, 0.03, 0.03, 0.2 -> 0.01, 0.0233 (both ties), 0.0233, 0.0675
    np.testing.assert_allclose(got[[1, 2, 4, 0]], [0.01, 0.07 / 3, 0.07 / 3, 0.27 / 4])
    assert np.isnan(got[3])


def test_svalues_of_near_ties_do_not_depend_on_the_last_digits() -> None:
    # Two hashtags 1e-9 apart (rounding of the iterative fit): either order gives each the
    # same q-value; a run of near ties is one group; a gap above 1e-6 splits.
    judged = np.ones(4, dtype=bool)
    first = _svalues(np.array([0.1, 0.5, 0.5 + 1e-9, 0.9]), judged)
    second = _svalues(np.array([0.1, 0.5 + 1e-9, 0.5, 0.9]), judged)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, [0.1, 1.1 / 3, 1.1 / 3, 2.0 / 4])
    run = _svalues(np.array([0.3, 0.3 + 6e-7, 0.3 + 12e-7, 0.3 + 1e-4]), judged)
    np.testing.assert_allclose(run[:3], (0.9 + 18e-7) / 3)
    assert run[3] > run[0]


def test_a_tag_on_too_few_posts_has_no_headline_and_no_rank() -> None:
    posts, links = _rider_case(seed=9)
    viral = posts.with_columns(
        likes=pl.when(pl.col("post_id") == 0).then(10**7).otherwise(pl.col("likes"))
    )
    links = pl.concat([links, _links([(0, 999), (1, 998), (2, 998)])])
    relative = relative_performance(viral.lazy(), now=NOW, goals=["engagement"], windows=["all"])
    lift = hashtag_lift(relative, links.lazy()).collect().filter(pl.col("platform") == "*")
    lone = lift.filter(pl.col("hashtag_id") == 999).row(0, named=True)
    assert lone["lift"] > 10  # raw: a huge lift
    assert lone["verdict"] == "too_few_posts"
    assert lone["score"] is None
    assert lone["qvalue"] is None
    ranked = lift.sort("score", descending=True, nulls_last=True)["hashtag_id"].to_list()
    assert ranked.index(999) > ranked.index(1)
    assert set(ranked[-2:]) == {998, 999}


def _list_rows(platform: str, account: int, tags: dict[int, tuple[int, float, float]]):
    """Rows of one list for `effect_rows`: hashtag -> (posts, mean log ratio, variance)."""
    return [
        {
            "platform": platform,
            "account_id": account,
            "window": "all",
            "goal": "engagement",
            "hashtag_id": tag,
            "posts": n,
            "mean_log_ratio": mean,
            "offset_sum": 0.0,
            "resid_m2": (n - 1) * var,
            "m2": (n - 1) * var,
        }
        for tag, (n, mean, var) in tags.items()
    ]


def test_a_small_accounts_tag_keeps_its_accounts_spread_in_the_all_accounts_list() -> None:
    # A main account whose posts vary little (variance 1e-6; 40 hashtags on 300 posts each)
    # and a small park account whose posts vary 140 times more: its hashtag 99 (5 posts) is
    # moderated towards the small account's variance in its own list, and must be in the
    # platform's and all accounts' lists too, not towards the main account's (which would
    # make 5 posts look as precise as hundreds and give them a verdict).
    rng = np.random.default_rng(3)
    big_var, small_var = 1e-6, 1.4e-4
    big = {t: (300, float(rng.normal(0, (big_var / 300) ** 0.5)), big_var) for t in range(1, 41)}
    small = {99: (5, -0.0067, small_var), 98: (30, 0.0, small_var), 97: (12, 0.001, small_var)}
    rows = _list_rows("x", 1, big) + _list_rows("x", 2, small)
    for platform in ("x", "*"):  # the same posts again in the platform's and the whole list
        rows += _list_rows(platform, 0, {**big, **small})
    estimated, _priors = effect_rows(pl.DataFrame(rows))
    tag = estimated.filter(pl.col("hashtag_id") == 99)
    own = tag.filter(pl.col("account_id") == 2).row(0, named=True)
    assert own["estimate_se"] == pytest.approx(
        ((10 * small_var + 4 * small_var) / 14 / 6) ** 0.5, rel=1e-9
    )
    for pooled in tag.filter(pl.col("account_id") == 0).iter_rows(named=True):
        # At least the account's own (the list's null scale may widen it, never narrow it).
        assert pooled["estimate_se"] >= own["estimate_se"] * (1 - 1e-9)
        assert pooled["estimate_se"] <= own["estimate_se"] * 1.3
        assert pooled["verdict"] == own["verdict"] == "unclear"


def test_the_judged_rows_alone_get_the_figures_every_row_gives_them() -> None:
    # Three accounts of very different spread on two platforms; hashtags of 1 to 40 posts per
    # account, most of them under MIN_POSTS, and their platform and all-accounts rows. The
    # small rows get no estimate, yet their spread counts in the pooled variances and the
    # accounts' mix behind a platform's row: `judged_rows` must carry those in. Breaks: the
    # pooled variance of the judged rows only; the platform rows' mix without the accounts'
    # small rows (`support`).
    rng = np.random.default_rng(11)
    accounts = {1: ("x", 1e-3), 2: ("x", 0.5), 3: ("instagram", 0.05)}
    rows: list[dict[str, object]] = []
    merged: dict[tuple[str, int], list[tuple[int, float, float]]] = {}
    for account, (platform, var) in accounts.items():
        tags = {}
        for tag in range(1, 121):
            n = int(rng.choice([1, 2, 3, 4, 6, 12, 40], p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.1, 0.05]))
            spread = var * float(rng.chisquare(max(n - 1, 1))) / max(n - 1, 1)  # as observed
            tags[tag] = (n, float(rng.normal(0.02 * (tag % 5 == 0), (var / n) ** 0.5)), spread)
            for scope in (platform, "*"):
                merged.setdefault((scope, tag), []).append(tags[tag])
        rows += _list_rows(platform, account, tags)
    for (scope, tag), parts in merged.items():
        n = sum(p[0] for p in parts)
        mean = sum(p[0] * p[1] for p in parts) / n
        var = sum(p[0] * p[2] for p in parts) / n
        rows += _list_rows(scope, 0, {tag: (n, mean, var)})
    frame = pl.DataFrame(rows)
    every, _ = effect_rows(frame)
    alone, _ = effect_rows(judged_rows(frame))
    keys = ["platform", "account_id", "hashtag_id"]
    expected = every.filter(pl.col("posts") >= MIN_POSTS).sort(keys)
    got = alone.sort(keys)
    assert got.height == expected.height > 100
    assert expected.filter(pl.col("account_id") == 0).height > 50
    for column in ("prior_var", "estimate", "estimate_se", "score", "lfsr", "qvalue"):
        assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), rel=1e-6)
    assert got["verdict"].to_list() == expected["verdict"].to_list()
