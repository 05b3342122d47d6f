"""The bounds of one imported record (`hashtag_core.ingest.schemas.PostRecord`), each tested on
both sides: the last value accepted and the first refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from hashtag_core.ingest.schemas import PostRecord


def _record(**fields: Any) -> dict[str, Any]:
    return {
        "platform": "x",
        "post_id": "1",
        "account": "acct",
        "text": "hello #world",
        "posted_at": "2024-05-01T12:00:00Z",
        **fields,
    }


def _refused(field: str, **fields: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        PostRecord.model_validate(_record(**fields))
    assert [error["loc"][0] for error in caught.value.errors()] == [field]


def test_text_may_be_exactly_the_maximum_length_and_not_one_character_more():
    text = "a" * 100_000  # the documented limit (docs/reliability.md, "a 1 MB text")
    assert PostRecord.model_validate(_record(text=text)).text == text
    _refused("text", text=text + "a")


@pytest.mark.parametrize("field", ["post_id", "account"])
def test_identifiers_are_stripped_then_hold_1_to_200_characters(field: str):
    assert getattr(PostRecord.model_validate(_record(**{field: " \tab c\n"})), field) == "ab c"
    longest = "x" * 200
    assert getattr(PostRecord.model_validate(_record(**{field: f" {longest} "})), field) == longest
    _refused(field, **{field: longest + "x"})
    _refused(field, **{field: " \t "})


@pytest.mark.parametrize(
    "posted_at",
    ["2006-01-01T00:00:00Z", "2006-01-01T01:00:00+01:00", "2005-12-31T19:00:00-05:00"],
)
def test_the_earliest_post_accepted_is_2006_01_01_utc(posted_at: str):
    record = PostRecord.model_validate(_record(posted_at=posted_at))
    assert record.posted_at == datetime(2006, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "posted_at",
    ["2005-12-31T23:59:59.999999Z", "2006-01-01T00:30:00+01:00", "2005-06-01T00:00:00Z"],
)
def test_a_post_before_2006_utc_is_refused(posted_at: str):
    _refused("posted_at", posted_at=posted_at)


def test_posts_dated_up_to_next_year_are_accepted_and_later_ones_refused():
    # Clocks are skewed and exports carry scheduled posts: up to the end of next year is
    # accepted. Mid-year dates keep the test clear of the new-year instant.
    year = datetime.now(UTC).year
    for accepted in (datetime(year, 6, 1, tzinfo=UTC), datetime(year + 1, 6, 1, tzinfo=UTC)):
        assert PostRecord.model_validate(_record(posted_at=accepted)).posted_at == accepted
    _refused("posted_at", posted_at=datetime(year + 2, 6, 1, tzinfo=UTC))


def test_an_account_time_zone_is_kept_when_known_and_refused_when_not():
    assert PostRecord.model_validate(_record()).account_timezone is None
    record = PostRecord.model_validate(_record(account_timezone="Europe/Copenhagen"))
    assert record.account_timezone == "Europe/Copenhagen"
    _refused("account_timezone", account_timezone="Mars/Olympus")


@pytest.mark.parametrize("field", ["likes", "comments", "shares", "saves", "followers"])
def test_a_count_may_be_0_to_2_to_the_53(field: str):
    assert getattr(PostRecord.model_validate(_record(**{field: 2**53})), field) == 2**53
    assert getattr(PostRecord.model_validate(_record(**{field: 0})), field) == 0
    _refused(field, **{field: 2**53 + 1})
    _refused(field, **{field: -1})
    _refused(field, **{field: True})


def test_a_nul_character_is_refused_anywhere_in_the_text():
    assert PostRecord.model_validate(_record(text="a\u0001b")).text == "a\u0001b"
    _refused("text", text="a\x00b")


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "/UTC", ""])
def test_an_unknown_time_zone_gets_the_same_clear_message(name: str):
    # ZoneInfo raises ZoneInfoNotFoundError for an unknown name and ValueError for one that
    # is not a key at all (a path): both read as an unknown IANA time zone.
    with pytest.raises(ValidationError) as caught:
        PostRecord.model_validate(_record(account_timezone=name))
    (error,) = caught.value.errors()
    assert error["loc"] == ("account_timezone",)
    assert "unknown IANA time zone" in error["msg"], error["msg"]
