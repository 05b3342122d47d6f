"""A fast slice of the ranking study (bench/ranking_study.py, issue 13).

Few brands with few posts: the generator keeps its promises (schemas, time zones, planted
structure) and the study runs the production analytics and produces every metric for every
goal. The thresholds themselves are judged only by the full bench run; here only that a
missed threshold is reported by name and turns into a non-zero exit.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from bench.ranking_demo import DemoLine, demo_table
from bench.ranking_sim import GOALS, Brand, make_brand
from bench.ranking_study import Metric, checks, evaluate, main, run_study, table
from polars.testing import assert_frame_equal

from hashtag_core.analytics.frames import LINKS_SCHEMA, POSTS_SCHEMA
from hashtag_core.analytics.insight_frames import FOLLOWERS_SCHEMA

BRANDS = 3
SCALE = 0.05  # 1 to 1,000 posts per account


@pytest.fixture(scope="module")
def brand() -> Brand:
    return make_brand(7, scale=0.2)


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    return run_study(BRANDS, seed=1, scale=SCALE, windows=("all", "365d"))


def test_frames_have_the_project_schemas(brand: Brand) -> None:
    assert brand.posts.schema == POSTS_SCHEMA
    assert brand.links.schema == LINKS_SCHEMA
    assert brand.followers.schema == FOLLOWERS_SCHEMA
    assert brand.posts["post_id"].is_unique().all()
    assert brand.links.join(brand.posts, on="post_id", how="anti").is_empty()


def test_local_fields_follow_each_accounts_time_zone(brand: Brand) -> None:
    assert brand.accounts["time_zone"].n_unique() == brand.accounts.height  # one zone each
    for account_id, zone in brand.accounts.select("account_id", "time_zone").iter_rows():
        local = pl.col("posted_at").dt.convert_time_zone(zone)
        mine = brand.posts.filter(pl.col("account_id") == account_id)
        wrong = mine.filter(
            (local.dt.date() != pl.col("local_date"))
            | (local.dt.weekday() != pl.col("local_weekday"))
            | (local.dt.hour() != pl.col("local_hour"))
        )
        assert wrong.is_empty(), zone


def test_accounts_differ_in_size_and_followers(brand: Brand) -> None:
    followers = brand.accounts["followers"]
    assert followers.max() / followers.min() == pytest.approx(60, rel=0.01)  # type: ignore[operator]
    per_account = brand.posts.group_by("account_id").len()["len"]
    assert per_account.max() > 10 * per_account.min()  # type: ignore[operator]


def test_planted_structure(brand: Brand) -> None:
    truth = brand.truth
    kinds = dict(zip(truth["hashtag_id"], truth["kind"], strict=True))
    viral = truth.filter(pl.col("kind") == "viral")
    assert viral["posts"].to_list() == [1, 1]
    strong = truth.filter(pl.col("kind") == "strong")
    assert (strong["strength_engagement"] >= math.log(1.3) * 0.5).all()  # x1.3..1.6, varied
    nulls = truth.filter(pl.col("kind").is_in(["null", "generic", "rare", "control", "viral"]))
    for goal in GOALS:
        assert (nulls[f"truth_{goal}"] == 0).all()
    # Controls ride only on posts that carry a strong tag.
    strong_posts = brand.links.filter(pl.col("hashtag_id").is_in(strong["hashtag_id"].implode()))
    controls = [h for h, k in kinds.items() if k == "control"]
    on_controls = brand.links.filter(pl.col("hashtag_id").is_in(controls))
    assert not on_controls.is_empty()
    assert on_controls.join(strong_posts, on="post_id", how="anti").is_empty()


def test_same_seed_same_brand() -> None:
    a, b = make_brand(3, scale=SCALE), make_brand(3, scale=SCALE)
    assert a.posts.equals(b.posts)
    assert a.links.equals(b.links)
    assert_frame_equal(a.truth.sort("hashtag_id"), b.truth.sort("hashtag_id"))


def test_study_produces_every_metric_for_each_goal(rows: pl.DataFrame) -> None:
    assert set(rows["goal"].unique()) == set(GOALS)
    assert set(rows["brand"].unique()) == set(range(BRANDS))
    assert set(rows["window"].unique()) == {"all", "365d"}
    assert rows["truth"].null_count() == 0  # every production tag matched its truth
    # Each window has its own truth: the tag's own effect averaged over its posts there.
    recent = rows.filter(pl.col("window") == "365d", pl.col("goal") == "engagement")
    assert (
        recent.height
        < rows.filter(pl.col("window") == "all", pl.col("goal") == "engagement").height
    )
    for goal in GOALS:
        metrics = evaluate(rows.filter(pl.col("goal") == goal, pl.col("window") == "all"))
        assert all(isinstance(m, Metric) for m in metrics.values())
        assert metrics["one_post_top10"].total == BRANDS, goal
        assert metrics["coverage"].total > 0, goal
        assert metrics["other_null_flagged"].total > 0, goal
        lines = checks("all", goal, metrics)
        names = [c.metric for c in lines]
        assert names == [
            "FDR",
            "power",
            "one-post tag in top 10",
            "controls vs other nulls",
            "coverage",
        ]


def test_missed_threshold_is_named_and_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "table.md"
    code = main(["--brands", "2", "--scale", str(SCALE), "--quiet", "--no-demo", "--out", str(out)])
    table = out.read_text(encoding="utf-8")
    for goal in GOALS:
        assert f"| all | {goal} |" in table
    printed = capsys.readouterr().out
    failed = [line for line in printed.splitlines() if line.startswith("FAILED ")]
    assert code == (1 if failed else 0)
    assert all(" needs " in line for line in failed)


def _metrics(**given: Metric) -> dict[str, Metric]:
    good = {
        "fdr": Metric(1, 100),
        "power": Metric(19, 20),
        "one_post_top10": Metric(0, 20),
        "control_flagged": Metric(0, 30),
        "other_null_flagged": Metric(2, 300),
        "coverage": Metric(95, 100),
    }
    return {**good, **given}


def test_checks_pass_good_figures_and_name_each_bad_one() -> None:
    assert all(c.ok for c in checks("all", "reach", _metrics()))
    bad = _metrics(
        fdr=Metric(6, 100),
        power=Metric(17, 20),
        one_post_top10=Metric(1, 20),
        control_flagged=Metric(5, 30),
        coverage=Metric(98, 100),
    )
    failed = [c.metric for c in checks("all", "reach", bad) if not c.ok]
    assert failed == [
        "FDR",
        "power",
        "one-post tag in top 10",
        "controls vs other nulls",
        "coverage",
    ]
    assert not checks("all", "reach", _metrics(coverage=Metric(0, 0)))[4].ok  # no data, no proof
    assert checks("all", "reach", _metrics(fdr=Metric(1, 4)))[0].ok  # one error is allowed
    assert not checks("all", "reach", _metrics(fdr=Metric(2, 4)))[0].ok


def test_reference_yardstick_runs_and_reports_qvalues() -> None:
    rows = run_study(2, seed=2, scale=SCALE, estimator="reference", goals=["engagement"])
    assert "qvalue" in rows.columns
    assert set(rows["verdict"].unique()) <= {"lifts", "unclear", "underperforms", "too_few_posts"}
    assert rows.filter(pl.col("posts") < 5, pl.col("verdict") != "too_few_posts").is_empty()
    metrics = evaluate(rows)
    assert metrics["coverage"].total > 0
    assert "lfsr_flagged" not in metrics
    # An estimator with an lfsr gets its calibration column (here a stand-in lfsr).
    with_lfsr = evaluate(rows.with_columns(lfsr=pl.col("qvalue")))
    flagged = rows.filter(pl.col("verdict").is_in(["lifts", "underperforms"]))
    assert with_lfsr["lfsr_flagged"].total == flagged.height
    assert "mean lfsr of verdicts" in table({("all", "engagement"): with_lfsr})


def test_unjudged_line_is_reported_but_does_not_fail() -> None:
    power = [
        c for c in checks("all", "followers", _metrics(power=Metric(0, 20))) if c.metric == "power"
    ]
    assert power[0].ok
    assert power[0].shown == "0.0% (0/20)"


def test_demo_line_judges_only_windows_with_enough_posts() -> None:
    lines = [
        DemoLine("7d", 11, "unclear", 9, 9, 0.001, judged=False),
        DemoLine("30d", 44, "lifts", 2, 5, 0.5, judged=True),
        DemoLine("90d", 100, "unclear", 1, 1, 0.01, judged=True),
        DemoLine("all", 818, "lifts", 4, 4, 0.5, judged=True),
    ]
    assert [d.ok for d in lines] == [True, True, False, False]
    table = demo_table(lines)
    assert "| 90d | 100 | unclear | 1 | 1 | +1.0% | yes | NO |" in table
