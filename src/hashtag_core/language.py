"""The language a post is written in, detected offline with py3langid (BSD-3-Clause).

py3langid ships its model inside the package (`py3langid/data/model.npz.xz`, about 5 MB,
97 languages) and never downloads anything. Before detection, URLs, #hashtags and @mentions
are removed (LinkedIn's `{hashtag|\\#|Name}` markup first becomes `#Name`): they are names,
not sentences, and a Danish post tagged #legoland #familyday should not read as English.

A text is "unknown" when what is left has fewer than `MIN_LETTERS` letters (an emoji, "OK",
a bare hashtag) or when the detector's normalised probability is below `MIN_CONFIDENCE`.
Codes are ISO 639-1 ("en", "da", "de", "ja", ...). Accuracy and speed on our labelled sample
are in docs/metrics.md ("Language").
"""

import functools
import re
from collections.abc import Sequence
from typing import Protocol, cast

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from hashtag_core.hashtags import linkedin_markup_to_text

__all__ = [
    "LANGUAGE_PATTERN",
    "MAX_CHARS",
    "MIN_CONFIDENCE",
    "MIN_LETTERS",
    "UNKNOWN",
    "detect_languages",
    "detection_text",
    "preload",
]

UNKNOWN = "unknown"
#: What a stored language looks like (a filter parameter is checked against it).
LANGUAGE_PATTERN = r"^([a-z]{2,3}|unknown)$"
#: Fewer letters than this after stripping: too little to tell ("Wow!", "🎉🎉", "#tbt").
MIN_LETTERS = 4
#: Below this normalised probability the guess is too often wrong to keep. On our labelled
#: sample (tests/data/languages) 0.25 turns 2 wrong and 3 right answers on 2-4 word posts
#: into "unknown" (docs/metrics.md, "Language"); two-word posts score about 0.22 whether
#: right ("Great day": en) or wrong ("Opening day": jv), "Nice", "lol" or "Billund" under 0.13.
MIN_CONFIDENCE = 0.25

#: URLs, #hashtags (also the full-width ＃ of Japanese keyboards) and @mentions.
_NOT_PROSE = re.compile(r"https?://\S+|www\.\S+|[#＃@][^\s#＃@]+")
_SPACES = re.compile(r"\s+")
#: Only the start of a long text is read: its language is settled long before, and the
#: detector's cost grows with the length (a 100,000-character post would take ~30 ms).
MAX_CHARS = 1000


class _Identifier(Protocol):
    """The one method of py3langid's (untyped) identifier that we use."""

    def classify(self, text: str) -> tuple[str, float]: ...


@functools.cache
def _identifier() -> _Identifier:
    """One shared identifier: loading the model takes about half a second."""
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return cast(_Identifier, model)


def preload() -> None:
    """Load the model now (before forking workers, so they share it instead of each loading it)."""
    _identifier()


def detection_text(text: str) -> str:
    """The text with URLs, hashtags and mentions removed and whitespace collapsed."""
    plain = _NOT_PROSE.sub(" ", linkedin_markup_to_text(text[: MAX_CHARS * 2]))
    return _SPACES.sub(" ", plain).strip()


def _detect(text: str) -> str:
    plain = detection_text(text)
    if sum(ch.isalpha() for ch in plain) < MIN_LETTERS:
        return UNKNOWN
    code, probability = _identifier().classify(plain[:MAX_CHARS])
    if probability < MIN_CONFIDENCE or code == "zxx":  # zxx: "no linguistic content"
        return UNKNOWN
    return str(code)


def detect_languages(texts: Sequence[str]) -> list[str]:
    """The language code of each text, in order, or UNKNOWN (identical texts are read once)."""
    seen: dict[str, str] = {}
    result: list[str] = []
    for text in texts:
        code = seen.get(text)
        if code is None:
            code = seen[text] = _detect(text)
        result.append(code)
    return result
