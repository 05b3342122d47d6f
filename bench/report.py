"""docs/benchmarks.md and docs/benchmarks.png from the results JSON.

The tables are generated; the hand-written analysis between ANALYSIS_START and ANALYSIS_END
in the existing document is kept as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DOCS", "summary", "write"]

DOCS = Path(__file__).resolve().parents[1] / "docs"
ANALYSIS_START = "<!-- analysis:start -->"
ANALYSIS_END = "<!-- analysis:end -->"
GOALS = {
    "ingest": 0.6,  # >= x COPY throughput
    "recompute": 0.35,  # <= x SQL time
    "polars": 3.0,  # >= x faster than pandas
    "rss_mb": 1536.0,  # <= at 1M posts
    "fresh_p99_s": 1.0,
    "read_p99_ms": 20.0,
    "read_ratio": 0.6,
}


def _num(value: Any, fmt: str = ".2f") -> str:
    return format(value, fmt) if isinstance(value, int | float) else "n/a"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def rows_for(size: dict[str, Any]) -> list[list[str]]:
    """Table rows: measure, service, baseline, ratio, goal, met."""
    rows: list[list[str]] = []
    posts = size["posts"]
    imp, copy = _get(size, "ingest", "seconds"), _get(size, "copy", "seconds")
    if imp and copy:
        ratio = copy / imp
        rows.append(
            [
                "1. Ingest (posts/s)",
                f"{posts / imp:,.0f} posts/s ({imp:.1f} s, import path)",
                f"{posts / copy:,.0f} posts/s ({copy:.2f} s, raw COPY)",
                f"{ratio:.3f}x",
                ">= 0.6x",
                _met(ratio >= GOALS["ingest"]),
            ]
        )
    rec, sql = _get(size, "recompute_process", "seconds"), _get(size, "sql", "seconds")
    if rec and sql:
        ratio = rec / sql
        rows.append(
            [
                "2a. Full recompute (wall)",
                f"{rec:.2f} s (10 tables, load + polars + write)",
                f"{sql:.2f} s (SQL: 4 tables' core)",
                f"{ratio:.2f}x",
                "<= 0.35x",
                _met(ratio <= GOALS["recompute"]),
            ]
        )
    pol, pds = _get(size, "compute", "polars_s"), _get(size, "compute", "pandas_s")
    if pol and pds:
        ratio = _get(size, "compute", "speedup") or pds / pol
        same = _get(size, "compute", "identical")
        skipped = _get(size, "compute", "pandas_skipped") or []
        note = f"; pandas skipped {', '.join(skipped)}" if skipped else ""
        rows.append(
            [
                "2b. Compute step, polars vs pandas",
                f"{pol:.2f} s (compute_frames, all tables)",
                f"{pds:.2f} s (pandas references{note})",
                f"{ratio:.1f}x faster",
                ">= 3x, identical",
                _met(ratio >= GOALS["polars"] and bool(same))
                + (
                    ""
                    if same
                    else " (differs: "
                    + ", ".join(_get(size, "compute", "mismatches") or {})
                    + ", see below)"
                ),
            ]
        )
    rss = _get(size, "recompute_process", "peak_rss_mb")
    if rss:
        goal = posts >= 1_000_000
        rows.append(
            [
                "2c. Worker peak RSS (recompute)",
                f"{rss:,.0f} MB",
                "-",
                "-",
                "<= 1.5 GB at 1M",
                _met(rss <= GOALS["rss_mb"]) if goal else "n/a (goal at 1M)",
            ]
        )
    fresh = size.get("freshness") or {}
    if "p99_s" in fresh:
        rows.append(
            [
                "3. Freshness (update -> visible)",
                f"p50 {fresh.get('p50_s', 0):.3f} s, p99 {fresh['p99_s']:.3f} s "
                f"({fresh.get('updates', '?')} updates)",
                "-",
                "-",
                "p99 <= 1 s",
                _met(fresh["p99_s"] <= GOALS["fresh_p99_s"]),
            ]
        )
    elif "error" in fresh:
        rows.append(
            ["3. Freshness", f"not measured: {fresh['error']}", "-", "-", "p99 <= 1 s", "n/a"]
        )
    for name, ep in (_get(size, "reads", "endpoints") or {}).items():
        api, bare = ep["api"], ep["bare"]
        ok = api["p99_ms"] <= GOALS["read_p99_ms"] and ep["throughput_ratio"] >= GOALS["read_ratio"]
        failed = f", **{api['errors']} errors**" if api.get("errors") else ""
        baseline = f"{bare['rps']:,.0f} req/s, p99 {bare['p99_ms']:.1f} ms (bare ASGI"
        ratio = f"{ep['throughput_ratio']:.2f}x"
        stack = ep.get("stack")
        if stack:
            baseline += (
                f"); {stack['rps']:,.0f} req/s, p99 {stack['p99_ms']:.1f} ms (same app, bytes only"
            )
            ratio += f"; {ep['stack_ratio']:.2f}x"
        rows.append(
            [
                f"4. GET {name.replace('_', ' ')}",
                f"{api['rps']:,.0f} req/s, p50 {api['p50_ms']:.1f} ms, "
                f"p99 {api['p99_ms']:.1f} ms{failed}",
                f"{baseline}, {ep['bytes']:,} B)",
                ratio,
                "p99 <= 20 ms, >= 0.6x",
                _met(ok),
            ]
        )
    for key in ("ingest", "copy", "recompute_process", "sql", "compute", "reads"):
        if isinstance(size.get(key), dict) and "error" in size[key]:
            rows.append([f"({key})", f"failed: {size[key]['error'][:200]}", "-", "-", "-", "n/a"])
    return rows


def _table(rows: list[list[str]]) -> str:
    head = ["Measure", "Service", "Baseline (same run)", "Ratio", "Goal", "Met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _machine(machine: dict[str, Any]) -> str:
    pg = machine.get("postgres", {})
    return (
        f"{machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('ram_gb')} GB RAM, "
        f"{machine.get('os')}; PostgreSQL {pg.get('version')} (shared_buffers "
        f"{pg.get('shared_buffers')}, work_mem {pg.get('work_mem')}, parallel workers per "
        f"gather {pg.get('max_parallel_workers_per_gather')}); Python {machine.get('python')}, "
        f"polars {machine.get('polars')}, pandas {machine.get('pandas')}; load generator "
        f"{machine.get('load_generator')}. {machine.get('note', '')}."
    )


def _collect(collect: dict[str, Any] | None) -> str:
    if not collect:
        return "Not run."
    if "error" in collect:
        return f"Failed: {collect['error']}"
    con, seq = collect["concurrent"], collect["sequential"]
    return (
        f"{con['requests']} requests per mode at {collect.get('latency_ms')} ms added latency: "
        f"concurrent {con['wall_s']:.2f} s vs one at a time {seq['wall_s']:.2f} s, "
        f"**{collect['ratio']:.1f}x** (goal >= 3.5x)."
    )


def markdown(results: dict[str, Any], analysis: str) -> str:
    """The whole document."""
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`) from `bench/results/bench.json`; only the "
        "analysis section is written by hand. Every figure is compared with a baseline measured "
        "in the same run on the same machine. What each baseline is: `bench/README.md`.",
        "",
        f"**Machine:** {_machine(results.get('machine', {}))}",
        "",
        f"Run {results.get('started')} to {results.get('finished')}.",
        "",
        "![cost against size](benchmarks.png)",
        "",
    ]
    for key, size in results.get("sizes", {}).items():
        wl = size.get("workload", {})
        parts += [
            f"## {int(key):,} posts",
            "",
            f"Workload: {wl.get('posts', 0):,} posts, {wl.get('links', 0):,} post-hashtag links "
            f"({wl.get('links_per_post')}/post), {wl.get('hashtags', 0):,} distinct hashtags, "
            f"{wl.get('accounts')} accounts on {wl.get('platforms')} platforms, "
            f"{wl.get('first_post', '')[:10]} to {wl.get('last_post', '')[:10]}.",
            "",
            _table(rows_for(size)),
            "",
        ]
        compute = size.get("compute") or {}
        if compute.get("per_table"):
            parts += [
                "<details><summary>Per table: polars alone vs pandas</summary>",
                "",
                "| Table | polars s | pandas s | identical |",
                "|---|---|---|---|",
            ]
            for name, t in compute["per_table"].items():
                parts.append(
                    f"| {name} | {_num(t.get('polars_s'))} | {_num(t.get('pandas_s'))} | "
                    f"{t.get('identical', 'n/a')} |"
                )
            sql = size.get("sql") or {}
            steps = ", ".join(f"{k} {v:.2f} s" for k, v in (sql.get("steps_s") or {}).items())
            problems = "".join(
                f"\n\nDifference in {name}: {text}"
                for name, text in (compute.get("mismatches") or {}).items()
            )
            parts += [
                "",
                f"Frames loaded in {_num(compute.get('load_s'))} s; SQL steps: {steps}." + problems,
                "",
                "</details>",
                "",
            ]
    parts += ["## 5. Collection concurrency", "", _collect(results.get("collect")), ""]
    parts += ["## Analysis", "", ANALYSIS_START, analysis.strip(), ANALYSIS_END, ""]
    return "\n".join(parts)


def _analysis(path: Path) -> str:
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if ANALYSIS_START in text and ANALYSIS_END in text:
            return text.split(ANALYSIS_START, 1)[1].split(ANALYSIS_END, 1)[0]
    return "\n_To be written after the run._\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Cost against size, log-log: each measure and its baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results.get("sizes", {})
    series: dict[str, tuple[str, list[tuple[int, float]]]] = {
        "import path": ("C0", []),
        "raw COPY": ("C0", []),
        "full recompute": ("C1", []),
        "SQL baseline": ("C1", []),
        "polars compute": ("C2", []),
        "pandas reference": ("C2", []),
    }
    paths = {
        "import path": ("ingest", "seconds"),
        "raw COPY": ("copy", "seconds"),
        "full recompute": ("recompute_process", "seconds"),
        "SQL baseline": ("sql", "seconds"),
        "polars compute": ("compute", "polars_s"),
        "pandas reference": ("compute", "pandas_s"),
    }
    for key, size in sizes.items():
        for name, where in paths.items():
            value = _get(size, *where)
            if isinstance(value, int | float) and value > 0:
                series[name][1].append((int(key), float(value)))
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, (color, points) in series.items():
        if points:
            xs, ys = zip(*sorted(points), strict=True)
            style = "--" if name in ("raw COPY", "SQL baseline", "pandas reference") else "-"
            ax.plot(xs, ys, style, marker="o", color=color, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("posts")
    ax.set_ylabel("wall time (s)")
    ax.set_title("Cost against size (solid: service, dashed: same-run baseline)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], docs: Path) -> None:
    """Write benchmarks.md (keeping its analysis) and benchmarks.png under `docs`."""
    docs.mkdir(parents=True, exist_ok=True)
    md = docs / "benchmarks.md"
    md.write_text(markdown(results, _analysis(md)), encoding="utf-8")
    plot(results, docs / "benchmarks.png")


def summary(results: dict[str, Any]) -> str:
    """The tables as plain text for the terminal."""
    lines = []
    for key, size in results.get("sizes", {}).items():
        lines.append(f"== {int(key):,} posts")
        lines += ["  " + " | ".join(row) for row in rows_for(size)]
    lines.append("collection: " + _collect(results.get("collect")))
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys

    write(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")), DOCS)
