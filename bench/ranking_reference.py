"""A yardstick estimator for the ranking study: are its thresholds reachable on its data?

Not the product and not a proposal: a plain, slow-at-scale textbook fit that shows what the
simulated data allow, so a missed line can be blamed on the estimator and not on the study.
Per (window, goal), on the production per-post responses (`relative_performance`'s log-ratio,
`follower_relative`'s excess growth):

1. winsorise each post at its account's median +/- 3 robust SDs (1.4826 MAD);
2. least squares of the response on every hashtag (0/1) plus, per account, an intercept and
   weekday, hour and month dummies (ridge 1e-3 on every column, for identifiability), solved
   densely from the normal equations (a few hundred columns here);
3. per tag: estimate b, heteroskedasticity-robust (HC0) variance, floored at the model-based
   sigma^2 [(X'X)^-1]_hh; tags with fewer than MIN_POSTS posts are "too_few_posts";
4. verdict by Benjamini-Hochberg at 5% over the remaining tags (two-sided normal p-values);
   score = exp(b) - 1 with the interval exp(b -/+ 1.96 se) - 1, no shrinkage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import sparse  # type: ignore[import-untyped]
from scipy.special import ndtr  # type: ignore[import-untyped]

from bench.ranking_sim import END, Brand
from hashtag_core.analytics.baseline import relative_performance
from hashtag_core.analytics.followers import follower_relative

__all__ = ["reference_rows"]

MIN_POSTS = 5
RIDGE = 1e-3
WINSOR_SDS = 3.0
Q_LEVEL = 0.05
Z975 = 1.959963984540054


def reference_rows(
    brand: Brand, production: pl.DataFrame, goals: Sequence[str], windows: Sequence[str]
) -> pl.DataFrame:
    """``production`` rows with score, score_low, score_high, verdict and qvalue replaced."""
    posts = brand.posts.lazy()
    plain = [g for g in goals if g != "followers"]
    parts = []
    if plain:
        parts.append(relative_performance(posts, now=END, goals=plain, windows=windows))
    if "followers" in goals:
        parts.append(follower_relative(posts, brand.followers.lazy(), now=END, windows=windows))
    relative = pl.concat([p.collect() for p in parts]).with_columns(
        pl.col("window", "goal").cast(pl.String)
    )
    calendar = brand.posts.select(
        "post_id", "local_weekday", "local_hour", month=pl.col("local_date").dt.month()
    )
    fits = []
    for (window, goal), group in relative.join(calendar, on="post_id").group_by("window", "goal"):
        fits.append(_fit(group, brand.links).with_columns(window=pl.lit(window), goal=pl.lit(goal)))
    fitted = pl.concat(fits)
    return production.drop(
        "score", "score_low", "score_high", "verdict", "lfsr", "qvalue", strict=False
    ).join(fitted, on=["window", "goal", "hashtag_id"], how="left")


def _design(frame: pl.DataFrame, links: pl.DataFrame) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Sparse 0/1 design: hashtags first (their ids returned), then per-account nuisance."""
    row = {p: i for i, p in enumerate(frame["post_id"].to_list())}
    mine = links.filter(pl.col("post_id").is_in(frame["post_id"].implode()))
    tags = np.unique(mine["hashtag_id"].to_numpy())
    column = {t: j for j, t in enumerate(tags)}
    rows = [row[p] for p in mine["post_id"].to_list()]
    cols = [column[t] for t in mine["hashtag_id"].to_list()]
    account = frame["account_id"].to_numpy()
    offset = len(tags)
    for name, size in (("one", 1), ("local_weekday", 8), ("local_hour", 24), ("month", 13)):
        level = np.zeros(len(frame), dtype=np.int64) if name == "one" else frame[name].to_numpy()
        if name == "month":  # month of the year (the relative frame's month is year * 12 + m - 1)
            level = level % 12
        rows.extend(range(len(frame)))
        cols.extend((offset + account * size + level).tolist())
        offset += (int(account.max()) + 1) * size
    data = np.ones(len(rows))
    x = sparse.csr_matrix((data, (rows, cols)), shape=(len(frame), offset))
    used = np.flatnonzero(np.asarray(x.sum(axis=0)).ravel() > 0)
    keep = np.union1d(np.arange(len(tags)), used)
    return x[:, keep].tocsr(), tags


def _winsorised(frame: pl.DataFrame) -> np.ndarray:
    y, med = pl.col("log_ratio"), pl.col("log_ratio").median().over("account_id")
    mad = (y - med).abs().median().over("account_id") * 1.4826
    bound = WINSOR_SDS * mad
    return frame.select(y.clip(med - bound, med + bound)).to_series().to_numpy()


def _fit(frame: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    x, tags = _design(frame, links)
    y = _winsorised(frame)
    gram = (x.T @ x).toarray() + RIDGE * np.eye(x.shape[1])
    inverse = np.linalg.inv(gram)
    beta = inverse @ (x.T @ y)
    residual = y - x @ beta
    k = len(tags)
    dof = max(len(y) - x.shape[1], 1)
    sigma2 = float(residual @ residual) / dof
    meat = (x.T @ sparse.diags(residual**2) @ x).toarray()
    robust = np.einsum("ij,jk,ik->i", inverse[:k], meat, inverse[:k])
    se = np.sqrt(np.maximum(robust, sigma2 * np.diag(inverse)[:k]))
    posts = np.asarray(x[:, :k].sum(axis=0)).ravel()
    b = beta[:k]
    judged = posts >= MIN_POSTS
    p = 2 * ndtr(-np.abs(b / se))
    q = np.full(k, np.nan)
    q[judged] = _bh(p[judged])
    verdict = np.where(
        ~judged,
        "too_few_posts",
        np.where(q < Q_LEVEL, np.where(b > 0, "lifts", "underperforms"), "unclear"),
    )
    return pl.DataFrame(
        {
            "hashtag_id": tags,
            "score": np.expm1(b),
            "score_low": np.expm1(b - Z975 * se),
            "score_high": np.expm1(b + Z975 * se),
            "verdict": verdict,
            "qvalue": q,
        }
    ).with_columns(pl.col("qvalue").fill_nan(None))


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    if len(p) == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(q)
    out[order] = q
    return out
