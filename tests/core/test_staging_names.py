"""The staged name of an aggregate table or index (`aggregates.staging.staged`): PostgreSQL
silently truncates an identifier past 63 characters, so a staged name that long would collide
with (or differ from) the one asked for; it is refused instead."""

from __future__ import annotations

import pytest

from hashtag_core.aggregates.staging import SUFFIX, staged


def test_the_suffix_is_added():
    assert staged("hashtag_performance") == "hashtag_performance" + SUFFIX


def test_a_staged_name_of_63_characters_is_allowed_and_64_refused():
    longest = "t" * (63 - len(SUFFIX))
    assert len(staged(longest)) == 63
    with pytest.raises(ValueError, match="longer than 63 characters"):
        staged(longest + "t")
