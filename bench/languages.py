"""Speed of language detection and per-language sentiment scoring (docs/metrics.md, "Language").

    uv run python -m bench.languages [--posts 20000]

Times, on one core: loading py3langid's model; detecting the language of demo posts (the
demo generator's multilingual mix, each text once: the detector's own cache of repeated
texts is not measured) and of the labelled sample (tests/data/languages/posts.tsv, repeated);
and `score_posts` on the demo posts. Prints one JSON object and writes it to
bench/results/languages.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hashtag_core import language
from hashtag_core.demo.generator import DemoConfig, generate_posts
from hashtag_core.sentiment import score_posts

_ROOT = Path(__file__).resolve().parents[1]
_SAMPLE = _ROOT / "tests" / "data" / "languages" / "posts.tsv"


def _per_second(work: Callable[[], object], items: int) -> float:
    start = time.perf_counter()
    work()
    return items / (time.perf_counter() - start)


def _detect_each(texts: Sequence[str]) -> None:
    for text in texts:
        language.detect_languages([text])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    language.preload()
    load_s = time.perf_counter() - start
    demo = sorted({str(p["text"]) for p in generate_posts(DemoConfig(posts=args.posts, seed=3))})
    sample = [
        line.split("\t")[2]
        for line in _SAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ] * 20
    languages = language.detect_languages(demo)
    result = {
        "model_load_s": round(load_s, 3),
        "demo_texts": len(demo),
        "detect_demo_texts_per_s": round(_per_second(lambda: _detect_each(demo), len(demo))),
        "detect_sample_texts_per_s": round(_per_second(lambda: _detect_each(sample), len(sample))),
        "score_demo_texts_per_s": round(
            _per_second(lambda: score_posts(demo, languages), len(demo))
        ),
    }
    out = _ROOT / "bench" / "results" / "languages.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
