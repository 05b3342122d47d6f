"""Find hashtags in post text the way twitter-text does, and turn them into grouping keys.

The definition follows twitter-text's `validHashtag` (it passes the `hashtags`,
`hashtags_from_astral` and `hashtags_with_indices` sections of its conformance suite):

* a hash sign, `#` or full-width `＃`, not glued to a preceding hashtag character or `&`
  (so `a#b` and HTML entities like `&#39;` are not hashtags), and not followed by U+FE0F or
  U+20E3 (the keycap emoji `#️⃣`);
* then a run of Unicode letters, marks, decimal digits, `_`, ZWNJ/ZWJ and a few punctuation
  characters that live inside words in some scripts (middle dot, Hebrew maqaf and geresh,
  Tibetan tsheg, wave dash, katakana middle dot, ...), containing at least one letter or mark;
* the run must not be followed by another hash sign or by `://` (`#http://...`);
* and it must not sit inside a URL (`https://x.com/a#b`, `example.com/#top`).

Indices are Python `str` indices (code points), which is also what the conformance suite counts.
Everything is built from regexes compiled once at import: the importer runs this on every post.
"""

import functools
import unicodedata
from dataclasses import dataclass

import regex

__all__ = [
    "HashtagMatch",
    "extract_hashtags",
    "extract_hashtags_with_indices",
    "hashtags_in_post",
    "linkedin_markup_to_text",
    "normalize_hashtag",
    "parse_hashtag_param",
]

# Characters twitter-text accepts inside a hashtag although they are neither letters, marks nor
# digits: underscore, ZWNJ and ZWJ (Persian, Indic conjuncts), Cyrillic paiyerok, Hebrew maqaf,
# geresh and gershayim, full-width tilde and wave dash (Japanese), katakana-hiragana voiced sound
# marks, katakana double hyphen, katakana middle dot, ditto mark, Tibetan tsheg and its
# non-breaking form, and the Catalan middle dot.
_SPECIAL = (
    "_\u200c\u200d\ua67e\u05be\u05f3\u05f4"
    "\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
)
# Disjoint halves of the hashtag alphabet: splitting them lets the body regex run without any
# backtracking (possessive quantifiers) while still demanding at least one letter or mark.
_ALPHA = r"\p{L}\p{M}"
_NON_ALPHA = r"\p{Nd}" + _SPECIAL
_ALNUM = _ALPHA + _NON_ALPHA
_HASH_SIGNS = "#\uff03"

_BODY = rf"[{_NON_ALPHA}]*+[{_ALPHA}][{_ALNUM}]*+"

_HASHTAG_RE = regex.compile(
    rf"""
    [{_HASH_SIGNS}]
    # The sign must not be glued to a word (or be an HTML entity's `&#`). Variation selectors
    # are marks, hence hashtag characters, but twitter-text lets an emoji + VS precede a hashtag.
    (?: (?<=[\ufe0e\ufe0f].) | (?<![{_ALNUM}&].) )
    (?![\ufe0f\u20e3])            # `#` + VS16 / keycap is the #️⃣ emoji, not a hashtag
    ({_BODY})
    (?![{_HASH_SIGNS}]|://)       # `#a#b` and `#http://...` are not hashtags
    """,
    regex.VERBOSE,
)

_BODY_RE = regex.compile(_BODY)

# A deliberately simple URL matcher: it only has to cover every URL that can hold a `#`, so
# that fragments are not counted as hashtags. Path characters are those twitter-text allows in
# URL paths and queries, widened to all letters; CJK punctuation, emoji and spaces end a URL.
_URL_CHARS = r"[\p{L}\p{M}\p{N}!*';:=+,.$/%#\[\]\-_~&|@()?\u2013]"
_URL_CHAR_RE = regex.compile(_URL_CHARS)
_URL_RE = regex.compile(
    rf"""
    https?://{_URL_CHARS}+
    |
    # A bare domain followed by a path (`twitter.com/#tag`); a domain alone cannot hold a `#`.
    # Like twitter-text, it must not continue a word, a mention, a cashtag or a hashtag.
    (?<![\p{{L}}\p{{M}}\p{{N}}_@\uff20$#\uff03.\-/])
    # The host is taken possessively and then checked to end in `.tld`: the equivalent
    # `(?:label\.)+tld` backtracks quadratically on long dotted runs.
    [\p{{L}}\p{{M}}\p{{N}}][\p{{L}}\p{{M}}\p{{N}}_.\-]*+(?<=\.[a-z]{{2,}})(?::[0-9]++)?
    /{_URL_CHARS}*
    """,
    regex.VERBOSE | regex.IGNORECASE,
)

# LinkedIn "little text": `{hashtag|\#|Name}`, also seen with an unescaped or full-width sign.
# Reserved characters inside the name are backslash-escaped (`my\_tag`).
_LINKEDIN_RE = regex.compile(r"\{hashtag\|\\?[#\uff03]\|((?:\\.|[^{}|\\])+)\}")
_LINKEDIN_ESCAPE_RE = regex.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class HashtagMatch:
    """One hashtag found in a text: its spelling without the sign, and `text[start:end]`."""

    hashtag: str
    start: int  # index of the hash sign
    end: int  # index just past the last hashtag character


def _url_spans(text: str) -> list[tuple[int, int]]:
    """Return the `(start, end)` spans of the URLs in `text` that contain a `#`."""
    return [m.span() for m in _URL_RE.finditer(text) if "#" in m.group()]


def extract_hashtags_with_indices(text: str) -> list[HashtagMatch]:
    """Return the hashtags in `text` with their code-point indices, in order of appearance."""
    # Most posts are scanned with no hash sign at all; `in` is far cheaper than a regex scan.
    if "#" not in text and "\uff03" not in text:
        return []
    found = [HashtagMatch(m.group(1), m.start(), m.end()) for m in _HASHTAG_RE.finditer(text)]
    # A URL holding a hash sign holds the character before it too, so the (costly) URL scan is
    # needed only when some hashtag follows a URL character: almost always a space precedes.
    if (
        found
        and "/" in text
        and any(h.start and _URL_CHAR_RE.match(text, h.start - 1) for h in found)
    ):
        spans = _url_spans(text)
        if spans:
            found = [h for h in found if not any(s <= h.start < e for s, e in spans)]
    return found


def extract_hashtags(text: str) -> list[str]:
    """Return the hashtags in `text` (without the sign), in order, repeats included."""
    return [h.hashtag for h in extract_hashtags_with_indices(text)]


def _markup_name(match: regex.Match[str]) -> str:
    """Return the unescaped name of one LinkedIn hashtag template."""
    return str(_LINKEDIN_ESCAPE_RE.sub(r"\1", match.group(1)))


def linkedin_markup_to_text(text: str) -> str:
    """Rewrite LinkedIn `{hashtag|\\#|Name}` templates in `text` into plain `#Name`."""
    if "{hashtag|" not in text:
        return text
    return str(_LINKEDIN_RE.sub(lambda m: "#" + _markup_name(m), text))


def _markup_to_separate_hashtags(text: str) -> str:
    """Like `linkedin_markup_to_text`, but pad each `#Name` with spaces.

    A template is a hashtag whatever touches it: `{..|Lego}{..|Duplo}` renders as two hashtags,
    yet `#Lego#Duplo` would give none, and `x{..|Lego}` would be glued to the `x`.
    """
    if "{hashtag|" not in text:
        return text
    return str(_LINKEDIN_RE.sub(lambda m: " #" + _markup_name(m) + " ", text))


@functools.lru_cache(maxsize=1 << 16)
def _key(tag: str) -> str:
    """Return the grouping key of an already validated hashtag (cached: tags repeat a lot)."""
    return unicodedata.normalize("NFKC", tag).casefold()


def hashtags_in_post(text: str, platform: str) -> list[tuple[str, str]]:
    """Return one post's unique `(key, first spelling)` hashtag pairs, in first-seen order."""
    # Only LinkedIn emits the template markup, but the conversion is a no-op elsewhere and
    # imports sometimes mislabel platforms, so it runs for all of them; `platform` is kept
    # so that platform-specific rules have a place to go.
    del platform
    seen: dict[str, str] = {}
    for tag in extract_hashtags(_markup_to_separate_hashtags(text)):
        seen.setdefault(_key(tag), tag)
    return list(seen.items())


def normalize_hashtag(tag: str) -> str:
    """Return the grouping key of one hashtag given with or without its sign (NFKC, casefolded)."""
    body = tag.strip()
    if body[:1] in ("#", "\uff03"):
        body = body[1:]
    if not body:
        raise ValueError(f"empty hashtag: {tag!r}")
    if _BODY_RE.fullmatch(body) is None:
        raise ValueError(
            f"not a single valid hashtag: {tag!r} (a hashtag is letters, digits and underscores, "
            "with at least one letter, and no spaces or punctuation)"
        )
    return _key(body)


def parse_hashtag_param(raw: str) -> str:
    """Return the key for an API path hashtag (with or without `#`/`＃`, any case), or raise."""
    body = raw.strip()
    if body[:1] in ("#", "\uff03"):
        body = body[1:]
    if not body:
        raise ValueError("the hashtag is empty")
    # The extractor is the authority: a parameter is valid iff a post containing it would be
    # counted under exactly this tag.
    if extract_hashtags("#" + body) != [body]:
        raise ValueError(
            f"{raw!r} is not a valid hashtag: use letters, digits and underscores, with at least "
            "one letter, and no spaces or punctuation"
        )
    return _key(body)
