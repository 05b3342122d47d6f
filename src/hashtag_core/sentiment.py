"""Post sentiment, only in the languages a validated scorer can read (SCORED_LANGUAGES).

- English ("en"): VADER (lexicon and rules tuned for social media; MIT, ships its lexicon).
  `score_texts` returns VADER's compound score per text, in [-1, 1].
- Danish ("da"): the AFINN-da-32 word list (Finn Årup Nielsen, ODbL 1.0; shipped in
  `hashtag_core/lexicons`, see SOURCE.md there). The sum of the valences of the words and
  phrases found is put on VADER's scale with VADER's own normalisation, s / sqrt(s^2 + 15).

`score_posts` scores each text by its detected language and gives None ("not scored") for
every other language and for "unknown": a lexicon that cannot read a text would give it 0,
which would count as neutral. The standard VADER thresholds label a text positive at
compound >= 0.05, negative at <= -0.05, neutral between. LinkedIn stores hashtags as
`{hashtag|\\#|Name}` markup; it is rewritten to `#Name` first, so a hashtag's word is scored
as it reads (VADER strips the sign: "#love" counts as "love").

Each scorer's agreement with hand labels on its language is tested (tests/core/
test_language.py) and reported in docs/metrics.md ("Sentiment").
"""

import functools
import math
import re
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Literal, Protocol, cast

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from hashtag_core.hashtags import linkedin_markup_to_text

__all__ = [
    "NEGATIVE_THRESHOLD",
    "POSITIVE_THRESHOLD",
    "MIN_COVERAGE",
    "SCORED_LANGUAGES",
    "SentimentLabel",
    "SentimentStatus",
    "afinn_da_scores",
    "coverage_status",
    "label",
    "score_posts",
    "score_texts",
]

#: VADER's recommended thresholds on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05

#: Below this share of a hashtag's posts with a score (coverage), its sentiment figures rest
#: on a minority of its posts and show as "not scored" (docs/metrics.md, "Sentiment coverage").
MIN_COVERAGE = 0.5

SentimentLabel = Literal["positive", "neutral", "negative"]
SentimentStatus = Literal["scored", "not scored"]


class _Analyzer(Protocol):
    """The one method of VADER's (untyped) analyzer that we use."""

    def polarity_scores(self, text: str) -> dict[str, float]: ...


@functools.cache
def _analyzer() -> _Analyzer:
    """One shared analyzer: building it parses the lexicon files (tens of milliseconds)."""
    return cast(_Analyzer, SentimentIntensityAnalyzer())


def score_texts(texts: Sequence[str]) -> list[float]:
    """VADER compound score of each text, in order (identical texts are scored once)."""
    analyzer = _analyzer()
    scores: dict[str, float] = {}
    result: list[float] = []
    for text in texts:
        score = scores.get(text)
        if score is None:
            plain = linkedin_markup_to_text(text)
            score = float(analyzer.polarity_scores(plain)["compound"])
            scores[text] = score
        result.append(score)
    return result


#: VADER's normalisation constant (vaderSentiment.normalize's alpha).
_VADER_ALPHA = 15.0
_WORDS = re.compile(r"\w+(?:-\w+)*")
#: The longest AFINN-da entry has three words.
_MAX_PHRASE_WORDS = 3


@functools.cache
def _afinn_da() -> dict[str, int]:
    """The Danish AFINN word list: word or phrase -> valence in [-5, 5]."""
    path = resources.files("hashtag_core") / "lexicons" / "AFINN-da-32.txt"
    lexicon: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, valence = line.rpartition("\t")
        lexicon[word] = int(valence)
    return lexicon


def _afinn_sum(text: str, lexicon: dict[str, int]) -> int:
    """Sum of the valences of the longest lexicon matches, left to right."""
    words = _WORDS.findall(text.lower())
    total, i = 0, 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            valence = lexicon.get(" ".join(words[i : i + size]))
            if valence is not None:
                total += valence
                i += size
                break
        else:
            i += 1
    return total


def afinn_da_scores(texts: Sequence[str]) -> list[float]:
    """Danish AFINN score of each text on VADER's compound scale, in (-1, 1)."""
    lexicon = _afinn_da()
    result = []
    for text in texts:
        total = _afinn_sum(linkedin_markup_to_text(text), lexicon)
        result.append(total / math.sqrt(total * total + _VADER_ALPHA))
    return result


_SCORERS: dict[str, Callable[[Sequence[str]], list[float]]] = {
    "en": score_texts,
    "da": afinn_da_scores,
}
#: The languages with a scorer validated against hand labels (docs/metrics.md, "Sentiment").
SCORED_LANGUAGES = tuple(sorted(_SCORERS))


def score_posts(texts: Sequence[str], languages: Sequence[str]) -> list[float | None]:
    """Each text's score by the scorer of its language, or None where none can read it."""
    result: list[float | None] = [None] * len(texts)
    for language, scorer in _SCORERS.items():
        where = [i for i, code in enumerate(languages) if code == language]
        if where:
            for i, score in zip(where, scorer([texts[i] for i in where]), strict=True):
                result[i] = score
    return result


def label(compound: float) -> SentimentLabel:
    """positive / neutral / negative by VADER's standard thresholds."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def coverage_status(coverage: float | None) -> SentimentStatus:
    """ "scored" when at least MIN_COVERAGE of the posts have a score, else "not scored"."""
    return "scored" if coverage is not None and coverage >= MIN_COVERAGE else "not scored"
