"""Language detection and the per-language sentiment scorers against a labelled sample
(tests/data/languages/posts.tsv; its origin and licence in SOURCE.md beside it)."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import py3langid
import pytest
from scipy.stats import binomtest

from hashtag_core import language as language_module
from hashtag_core import sentiment as sentiment_module
from hashtag_core.language import MAX_CHARS, UNKNOWN, detect_languages, detection_text
from hashtag_core.sentiment import (
    SCORED_LANGUAGES,
    afinn_da_scores,
    coverage_status,
    label,
    score_posts,
    score_texts,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "languages" / "posts.tsv"
_LABELS = {"pos": "positive", "neg": "negative", "neu": "neutral"}


class Row(NamedTuple):
    language: str
    sentiment: str | None
    text: str


def _sample() -> list[Row]:
    rows = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, sentiment, text = line.split("\t")
            rows.append(Row(language, _LABELS.get(sentiment), text))
    return rows


ROWS = _sample()


class TestDetection:
    def test_the_model_ships_in_the_package_and_needs_no_network(self, monkeypatch) -> None:
        assert (Path(py3langid.__file__).parent / "data" / "model.npz.xz").is_file()

        def refuse(*args: object, **kwargs: object) -> None:
            raise OSError("no network in this test")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        language_module._identifier.cache_clear()  # load the model again, network off
        sentiment_module._afinn_da.cache_clear()
        texts = ["Vielen Dank für euren Besuch im Park", "Tusind tak for en dejlig dag"]
        assert detect_languages(texts) == ["de", "da"]
        assert score_posts(texts, ["de", "da"])[1] > 0

    def test_accuracy_on_the_labelled_sample(self) -> None:
        found = detect_languages([row.text for row in ROWS])
        right, total = Counter[str](), Counter[str]()
        for row, got in zip(ROWS, found, strict=True):
            total[row.language] += 1
            right[row.language] += got == row.language
        assert len(total) >= 13
        assert min(total.values()) >= 11
        # docs/metrics.md ("Language") has the table: 220 of 227 right, 5 unknown, 2 wrong.
        assert sum(right.values()) / len(ROWS) >= 0.95
        for code, n in total.items():
            assert right[code] / n >= 0.85, code

    def test_wrong_answers_are_rare_unknown_is_preferred(self) -> None:
        found = detect_languages([row.text for row in ROWS])
        wrong = [
            (row.language, got)
            for row, got in zip(ROWS, found, strict=True)
            if got not in (row.language, UNKNOWN)
        ]
        assert len(wrong) <= 3, wrong

    @pytest.mark.parametrize(
        "text",
        ["Wow!", "🎉🎉🎉", "#legoland #fun", "@legoland https://example.com/x", "OK", "", "12:00"],
    )
    def test_too_little_text_is_unknown(self, text: str) -> None:
        assert detect_languages([text]) == [UNKNOWN]

    def test_hashtags_mentions_and_urls_are_not_read(self) -> None:
        text = "Tusind tak for i dag, vi ses snart igen #familyday #bestdayever @legoland https://x.co/a"
        assert detection_text(text) == "Tusind tak for i dag, vi ses snart igen"
        assert detect_languages([text]) == ["da"]

    def test_linkedin_markup_is_a_hashtag(self) -> None:
        text = r"Vielen Dank für euren Besuch im Park {hashtag|\#|ThankYouVisitors}"
        assert detection_text(text) == "Vielen Dank für euren Besuch im Park"

    def test_only_the_start_of_a_long_text_is_read(self) -> None:
        danish = "Tusind tak til alle jer der besøgte os i sommer, det var en fantastisk sæson. "
        english = "Thank you to everyone who visited us this summer, it was a great season. "
        text = danish * (MAX_CHARS // len(danish) + 1) + english * 1000
        assert detect_languages([text]) == ["da"]

    def test_order_and_repeats_are_kept(self) -> None:
        texts = ["What a lovely day in the park", "今日はとても楽しかったです"] * 2
        assert detect_languages(texts) == ["en", "ja", "en", "ja"]


def _agreement(language: str, scores: list[float]) -> tuple[int, int, float]:
    """(agreeing, labelled, share of the commonest label) for the labelled rows of a language."""
    labelled = [row for row in ROWS if row.language == language and row.sentiment]
    assert len(labelled) == len(scores)
    agree = sum(label(s) == row.sentiment for s, row in zip(scores, labelled, strict=True))
    majority = Counter(row.sentiment for row in labelled).most_common(1)[0][1] / len(labelled)
    return agree, len(labelled), majority


def _texts(language: str) -> list[str]:
    return [row.text for row in ROWS if row.language == language and row.sentiment]


class TestScorers:
    @pytest.mark.parametrize(
        ("language", "scorer"), [("en", score_texts), ("da", afinn_da_scores)], ids=["en", "da"]
    )
    def test_each_scorer_beats_chance_on_its_language(self, language, scorer) -> None:
        agree, n, majority = _agreement(language, scorer(_texts(language)))
        # Better than always answering the commonest label, at the 1% level (one-sided).
        assert binomtest(agree, n, majority, alternative="greater").pvalue < 0.01
        assert agree / n >= 0.8  # docs/metrics.md ("Sentiment"): en 35/35, da 37/39

    def test_vader_cannot_read_danish(self) -> None:
        # Why Danish needs its own scorer: VADER gives most Danish posts 0 ("neutral").
        agree, n, majority = _agreement("da", score_texts(_texts("da")))
        assert binomtest(agree, n, majority, alternative="greater").pvalue > 0.05

    def test_only_validated_languages_are_scored(self) -> None:
        assert SCORED_LANGUAGES == ("da", "en")
        texts = ["A great day", "En dejlig dag", "Ein schöner Tag", "素晴らしい日", "Wow"]
        scores = score_posts(texts, ["en", "da", "de", "ja", UNKNOWN])
        assert scores[0] is not None
        assert scores[0] > 0
        assert scores[1] is not None
        assert scores[1] > 0
        assert scores[2:] == [None, None, None]

    def test_danish_phrases_count_once(self) -> None:
        # "for lidt" is one AFINN-da entry (-2); "lidt" alone is not in the list.
        assert afinn_da_scores(["Der var for lidt plads"]) == afinn_da_scores(["for lidt"])
        assert afinn_da_scores(["for lidt"])[0] < 0

    @pytest.mark.parametrize(
        ("coverage", "status"),
        [(None, "not scored"), (0.0, "not scored"), (0.49, "not scored"), (0.5, "scored")],
    )
    def test_coverage_threshold(self, coverage: float | None, status: str) -> None:
        assert coverage_status(coverage) == status
