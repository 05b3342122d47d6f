"""Post sentiment with VADER (lexicon and rules tuned for social media; ships its lexicon).

`score_texts` returns VADER's compound score per text, in [-1, 1]. The standard VADER
thresholds label a text positive at compound >= 0.05, negative at <= -0.05, neutral between.
LinkedIn stores hashtags as `{hashtag|\\#|Name}` markup; it is rewritten to `#Name` first, so
a hashtag's word is scored as it reads (VADER strips the sign: "#love" counts as "love").
VADER's lexicon is English: texts in other languages mostly score 0 (neutral).
"""

import functools
from collections.abc import Sequence
from typing import Literal, Protocol, cast

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from hashtag_core.hashtags import linkedin_markup_to_text

__all__ = [
    "NEGATIVE_THRESHOLD",
    "POSITIVE_THRESHOLD",
    "SentimentLabel",
    "label",
    "score_texts",
]

#: VADER's recommended thresholds on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05

SentimentLabel = Literal["positive", "neutral", "negative"]


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


def label(compound: float) -> SentimentLabel:
    """positive / neutral / negative by VADER's standard thresholds."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"
