"""Hashtag extraction: twitter-text's conformance suite plus the project's own cases."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from hashtag_core.hashtags import (
    HashtagMatch,
    extract_hashtags,
    extract_hashtags_with_indices,
    hashtags_in_post,
    linkedin_markup_to_text,
    normalize_hashtag,
    parse_hashtag_param,
)

# ../shared/ seen from the project root; it is never copied into the project.
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CONFORMANCE = SHARED / "conformance" / "twitter-text-extract.yml"
SKIP_REASON = "../shared/conformance not present (a user's clone): conformance cases skipped"


def _cases(section: str) -> list[Any]:
    """Return one pytest param per case of a conformance section, or one skipped param."""
    if not CONFORMANCE.is_file():
        return [pytest.param(None, id=f"{section}-absent", marks=pytest.mark.skip(SKIP_REASON))]
    tests = yaml.safe_load(CONFORMANCE.read_text(encoding="utf-8"))["tests"]
    return [pytest.param(case, id=case["description"]) for case in tests[section]]


@pytest.mark.parametrize("case", _cases("hashtags"))
def test_conformance_hashtags(case: dict[str, Any]) -> None:
    assert extract_hashtags(case["text"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("hashtags_from_astral"))
def test_conformance_hashtags_from_astral(case: dict[str, Any]) -> None:
    assert extract_hashtags(case["text"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("hashtags_with_indices"))
def test_conformance_hashtags_with_indices(case: dict[str, Any]) -> None:
    expected = [HashtagMatch(e["hashtag"], *e["indices"]) for e in case["expected"]]
    assert extract_hashtags_with_indices(case["text"]) == expected


# --- the project's own cases ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("#123 on the bus", [], id="all-numeric"),
        pytest.param("#1st place", ["1st"], id="digit-first"),
        pytest.param("see https://x.com/a#b", [], id="url-fragment"),
        pytest.param("see x.com/a/#b and #c", ["c"], id="bare-url-fragment"),
        pytest.param("and/or .#tag", ["tag"], id="slash-elsewhere-in-text"),
        pytest.param("https://x.com/a。#日本", ["日本"], id="url-ends-at-cjk-punctuation"),
        pytest.param("https://x.com/a #b", ["b"], id="hashtag-after-url"),
        pytest.param("#レゴランド に行った", ["レゴランド"], id="japanese"),
        pytest.param("Fun day\n#Legoland", ["Legoland"], id="after-newline"),
        pytest.param("line\r\n#a\t#b", ["a", "b"], id="after-crlf-and-tab"),
        pytest.param("🎢#Legoland🎉 #fun", ["Legoland", "fun"], id="emoji-adjacent"),
        pytest.param("#️⃣ keycap", [], id="keycap-emoji"),
        pytest.param("ＬＥＧＯ ＃ＬＥＧＯＬＡＮＤ", ["ＬＥＧＯＬＡＮＤ"], id="full-width"),
        pytest.param("word#tag", [], id="glued-to-word"),
        pytest.param("&#39; is an entity", [], id="html-entity"),
        pytest.param("#a#b", [], id="followed-by-hash"),
        pytest.param("##b", ["b"], id="double-sign"),
        pytest.param("#", [], id="sign-alone"),
        pytest.param("", [], id="empty"),
        pytest.param("no tags here", [], id="no-sign"),
        pytest.param("email me: a@b.com #ok", ["ok"], id="email"),
        pytest.param("#snake_case_2024!", ["snake_case_2024"], id="underscore"),
    ],
)
def test_extract_hashtags_own_cases(text: str, expected: list[str]) -> None:
    assert extract_hashtags(text) == expected


def test_indices_count_code_points_for_astral_characters() -> None:
    # 🎉 is one code point (two UTF-16 units): Python indices must not count it twice.
    text = "🎉 #a\U00020021b"
    [match] = extract_hashtags_with_indices(text)
    assert match == HashtagMatch("a\U00020021b", 2, 6)
    assert text[match.start : match.end] == "#a\U00020021b"


def test_hashtag_match_is_frozen() -> None:
    match = HashtagMatch("a", 0, 2)
    with pytest.raises(AttributeError):
        match.hashtag = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    "spelling", ["#LEGOLAND", "Legoland", "＃legoland", "  #LegoLand ", "ＬＥＧＯＬＡＮＤ"]
)
def test_normalize_groups_legoland_spellings(spelling: str) -> None:
    assert normalize_hashtag(spelling) == "legoland"


def test_normalize_casefolds_beyond_lower() -> None:
    assert normalize_hashtag("#Straße") == normalize_hashtag("STRASSE") == "strasse"


@pytest.mark.parametrize("bad", ["", "  ", "#", "＃", "two words", "#a#b", "a-b", "##tag"])
def test_normalize_rejects_non_hashtags(bad: str) -> None:
    with pytest.raises(ValueError, match="hashtag"):
        normalize_hashtag(bad)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("LEGOLAND", "legoland"),
        ("#Legoland", "legoland"),
        ("＃ｌｅｇｏｌａｎｄ", "legoland"),
        (" 1st ", "1st"),
        ("レゴランド", "レゴランド"),
    ],
)
def test_parse_hashtag_param(raw: str, key: str) -> None:
    assert parse_hashtag_param(raw) == key


@pytest.mark.parametrize("raw", ["", "#", "123", "#123", "two words", "a#b", "http://x", "#_"])
def test_parse_hashtag_param_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="hashtag") as info:
        parse_hashtag_param(raw)
    assert str(info.value)  # a human message for the API's 4xx body


def test_linkedin_markup_to_text() -> None:
    text = r"Day out {hashtag|\#|Legoland} with {hashtag|#|Family} and {hashtag|＃|Fun}!"
    assert linkedin_markup_to_text(text) == "Day out #Legoland with #Family and #Fun!"


def test_linkedin_markup_unescapes_reserved_characters() -> None:
    assert linkedin_markup_to_text(r"{hashtag|\#|snake\_case}") == "#snake_case"


def test_linkedin_markup_leaves_other_text_alone() -> None:
    text = "{not|a|template} {hashtag|x|Name} plain #tag"
    assert linkedin_markup_to_text(text) == text


def test_extractor_does_not_read_raw_markup_as_hashtags() -> None:
    # The raw template's `\#|Name` is not a hashtag: conversion is hashtags_in_post's job.
    assert extract_hashtags(r"{hashtag|\#|Legoland}") == []


def test_hashtags_in_post_linkedin() -> None:
    text = r"{hashtag|\#|Legoland}{hashtag|\#|Duplo} and x{hashtag|\#|Lego}s"
    assert hashtags_in_post(text, "linkedin") == [
        ("legoland", "Legoland"),
        ("duplo", "Duplo"),
        ("lego", "Lego"),
    ]


def test_hashtags_in_post_repeats_count_once_first_spelling_wins() -> None:
    text = "#LegoLand is great. #LEGOLAND again, ＃legoland, #Fun #legoland"
    assert hashtags_in_post(text, "instagram") == [("legoland", "LegoLand"), ("fun", "Fun")]


def test_hashtags_in_post_mixes_markup_and_plain_spellings() -> None:
    text = r"#LEGOLAND trip {hashtag|\#|Legoland}"
    assert hashtags_in_post(text, "linkedin") == [("legoland", "LEGOLAND")]


def test_hashtags_in_post_converts_markup_on_every_platform() -> None:
    assert hashtags_in_post(r"{hashtag|\#|Legoland}", "x") == [("legoland", "Legoland")]


def test_hashtags_in_post_empty() -> None:
    assert hashtags_in_post("no tags", "facebook") == []
