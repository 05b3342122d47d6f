"""Tests for the dataset column mappings (`hashtag_core.ingest.mappings`).

The first half uses small literal CSV files written to tmp_path, so the mapping logic is tested
everywhere. The second half (marked `datasets`) reads the real exports in ../shared/datasets and
is skipped where that folder is absent; its expected values were read by eye in the files or
counted independently with the csv module, not with the code under test.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from hashtag_core.ingest.mappings import (
    MAPPINGS,
    SKIP_MALFORMED,
    SKIP_RETWEET,
    MappedRow,
    RecordDict,
    detect_mapping,
    iter_mapped_records,
)
from hashtag_core.ingest.schemas import PostRecord

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
ROPENSCI = DATASETS / "ropensci-twitter-analytics"
FIVETHIRTYEIGHT = DATASETS / "fivethirtyeight-twitter-ratio"
PFIZER = DATASETS / "pfizer-vaccine-tweets" / "vaccination_tweets.csv"

X_ANALYTICS_HEADER = (
    '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements",'
    '"engagement rate","retweets","replies","likes","promoted impressions"\r\n'
)
FIVETHIRTYEIGHT_HEADER = "created_at,text,url,replies,retweets,favorites,user\n"
PFIZER_HEADER = (
    "id,user_name,user_location,user_description,user_created,user_followers,user_friends,"
    "user_favourites,user_verified,date,text,hashtags,source,retweets,favorites,is_retweet\n"
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _rows(path: Path, mapping_name: str) -> list[MappedRow]:
    return list(iter_mapped_records(path, mapping_name))


def _records(rows: list[MappedRow]) -> list[RecordDict]:
    return [row.record for row in rows if row.record is not None]


def _snowflake_time(tweet_id: str) -> datetime:
    """When a tweet was posted, from the millisecond timestamp inside its snowflake id."""
    milliseconds = (int(tweet_id) >> 22) + 1_288_834_974_657
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


# --- pure tests: literal CSV text, no datasets needed -----------------------------------------


def test_every_mapping_yields_exactly_postrecord_fields(tmp_path: Path) -> None:
    files = {
        "x-analytics": _write(
            tmp_path / "x.csv",
            X_ANALYTICS_HEADER + '"1","https://twitter.com/acme/status/1","hi","2020-01-01 '
            '10:00 +0000","5.0","1.0","0.2","0.0","0.0","1.0","-"\r\n',
        ),
        "fivethirtyeight": _write(
            tmp_path / "f.csv",
            FIVETHIRTYEIGHT_HEADER
            + "1/2/17 3:04,hi,https://twitter.com/acme/status/2,1,2,3,acme\n",
        ),
        "pfizer-kaggle": _write(
            tmp_path / "p.csv",
            PFIZER_HEADER + "3,Acme,,,2010-01-01 00:00:00,10,1,1,False,2021-01-01 00:00:00,"
            "hi,,Web,1,2,False\n",
        ),
    }
    assert set(files) == set(MAPPINGS)
    for name, path in files.items():
        (record,) = _records(_rows(path, name))
        assert set(record) == set(PostRecord.model_fields), name
        PostRecord.model_validate(record)


def test_x_analytics_maps_floats_placeholders_entities_and_offsets(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tweet_activity.csv",
        X_ANALYTICS_HEADER
        + '"101","https://twitter.com/rOpenSci/status/101","pkgs &amp; docs\nline two &lt;3",'
        '"2016-12-23 18:50 +0000","1938.0","18.0","0.0093","11.0","0.0","1.0","-"\r\n'
        '"102","https://twitter.com/rOpenSci/status/102","no metrics","2017-03-05 09:15 +0100",'
        '"-","","","-","","","-"\r\n',
        encoding="utf-8-sig",  # the analytics export may start with a BOM
    )

    first, second = _records(_rows(path, "x-analytics"))

    assert first == {
        "platform": "x",
        "post_id": "101",
        "account": "rOpenSci",
        "text": "pkgs & docs\nline two <3",
        "posted_at": "2016-12-23T18:50:00+00:00",
        "likes": 1,
        "comments": 0,
        "shares": 11,
        "saves": None,
        "impressions": 1938,
        "reach": None,
        "followers": None,
        "url": "https://twitter.com/rOpenSci/status/101",
        "account_timezone": None,
    }
    # "-" and "" mean "not reported": None, never 0.
    assert [second[k] for k in ("likes", "comments", "shares", "impressions")] == [None] * 4
    # A non-UTC offset is kept by the mapping and normalised to the same instant in UTC.
    validated = PostRecord.model_validate(second)
    assert validated.posted_at == datetime(2017, 3, 5, 8, 15, tzinfo=UTC)


def test_fivethirtyeight_skips_retweets_and_keeps_bare_cr_in_quoted_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "someone.csv",
        FIVETHIRTYEIGHT_HEADER + '10/16/17 22:59,"Thanks &amp; more\rsecond line ‰Û_",'
        "https://twitter.com/BarackObama/status/920061541986250758,17064,89916,641842,BarackObama\n"
        '9/20/17 16:32,"RT @gatesfoundation: watch #Goalkeepers17",'
        "https://twitter.com/BarackObama/status/910542207991590917,846,2615,11273,BarackObama\n",
        encoding="mac_roman",  # the real files are 8-bit mojibake, not UTF-8
    )

    rows = _rows(path, "fivethirtyeight")

    assert [(row.row_number, row.skip_reason) for row in rows] == [(1, None), (2, SKIP_RETWEET)]
    record = rows[0].record
    assert record is not None
    assert record["post_id"] == "920061541986250758"
    assert record["account"] == "BarackObama"
    assert record["text"] == "Thanks & more\rsecond line ‰Û_"
    assert record["posted_at"] == "2017-10-16T22:59:00+00:00"
    assert (record["likes"], record["comments"], record["shares"]) == (641842, 17064, 89916)
    assert record["impressions"] is None
    assert record["followers"] is None


def test_pfizer_kaggle_maps_followers_and_leaves_comments_unknown(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "vaccination_tweets.csv",
        PFIZER_HEADER
        + '1340539111971516416,Rachel Roh,"La Crescenta, CA","multi\nline bio",2009-04-08 '
        "17:52:46,405,1692,3247,False,2020-12-20 06:06:44,"
        "\"Q&amp;A on #PfizerBioNTech https://t.co/x\",['PfizerBioNTech'],Web,3,7,False\n"
        "2,Someone,,,2010-01-01 00:00:00,1,1,1,False,2021-01-01 00:00:00,RT @x: hi,,Web,"
        "9,9,True\n",
    )

    rows = _rows(path, "pfizer-kaggle")

    assert rows[1].skip_reason == SKIP_RETWEET
    record = rows[0].record
    assert record is not None
    assert record["post_id"] == "1340539111971516416"
    assert record["account"] == "Rachel Roh"
    assert record["text"] == "Q&A on #PfizerBioNTech https://t.co/x"
    assert record["posted_at"] == "2020-12-20T06:06:44+00:00"
    assert (record["likes"], record["shares"], record["followers"]) == (7, 3, 405)
    assert record["comments"] is None  # no replies column: unknown, not zero


def test_unconvertible_values_are_passed_through_for_validation_to_reject(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "bad.csv",
        FIVETHIRTYEIGHT_HEADER + "2017-10-16,hi,https://twitter.com/a/status/1,1.5,-2,x,a\n",
    )

    (record,) = _records(_rows(path, "fivethirtyeight"))

    assert (record["posted_at"], record["comments"], record["shares"]) == ("2017-10-16", "1.5", -2)
    with pytest.raises(ValidationError) as excinfo:
        PostRecord.model_validate(record)
    failed = {error["loc"][0] for error in excinfo.value.errors()}
    assert failed == {"posted_at", "comments", "shares", "likes"}


def test_malformed_rows_are_skipped_with_a_reason_and_blank_lines_ignored(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "shifted.csv",
        FIVETHIRTYEIGHT_HEADER
        + "1/2/17 3:04,hi,https://twitter.com/a/status/1,1,2,3,a,EXTRA\n"
        + "\n"
        + "1/2/17 3:05,ok,https://twitter.com/a/status/2,1,2,3,a\n",
    )

    rows = _rows(path, "fivethirtyeight")

    assert [row.row_number for row in rows] == [1, 2]
    assert rows[0].record is None
    assert rows[0].skip_reason == f"{SKIP_MALFORMED}: 8 fields, header has 7"
    assert rows[1].record is not None


def test_rows_stream_before_the_rest_of_the_file_is_decoded(tmp_path: Path) -> None:
    # Invalid UTF-8 far down the file only fails once reached: rows before it were already
    # yielded, so the file is read incrementally rather than loaded whole.
    good = "1,A,,,2010-01-01 00:00:00,1,1,1,False,2021-01-01 00:00:00,hi,,Web,0,0,False\n"
    path = tmp_path / "late_error.csv"
    path.write_bytes((PFIZER_HEADER + good * 5000).encode() + b"\xff\xfe broken\n")

    rows = iter_mapped_records(path, "pfizer-kaggle")

    assert next(rows).row_number == 1
    with pytest.raises(UnicodeDecodeError):
        list(rows)


def test_encoding_override_copes_with_a_bom(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bom.csv",
        X_ANALYTICS_HEADER + '"7","https://x.com/acme/status/7","hi","2024-01-01 00:00 +0000",'
        '"1.0","","","","","","-"\r\n',
        encoding="utf-8-sig",
    )

    (record,) = _records(list(iter_mapped_records(path, "x-analytics", encoding="utf-8")))

    assert (record["post_id"], record["account"], record["impressions"]) == ("7", "acme", 1)


def test_wrong_mapping_unknown_name_and_empty_file_raise(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.csv", FIVETHIRTYEIGHT_HEADER)
    empty = _write(tmp_path / "empty.csv", "")

    with pytest.raises(ValueError, match="missing columns"):
        list(iter_mapped_records(path, "pfizer-kaggle"))
    with pytest.raises(ValueError, match="unknown mapping 'nope'"):
        list(iter_mapped_records(path, "nope"))
    with pytest.raises(ValueError, match="empty file"):
        list(iter_mapped_records(empty, "fivethirtyeight"))


@pytest.mark.parametrize(
    ("header_line", "expected"),
    [
        (X_ANALYTICS_HEADER, "x-analytics"),
        ("\ufeff" + X_ANALYTICS_HEADER, "x-analytics"),  # BOM left on by a plain utf-8 read
        # The same with an unquoted first name: nothing but the BOM is taken off it.
        ("\ufeff" + FIVETHIRTYEIGHT_HEADER, "fivethirtyeight"),
        ("\ufeff" + PFIZER_HEADER, "pfizer-kaggle"),
        (FIVETHIRTYEIGHT_HEADER, "fivethirtyeight"),
        (PFIZER_HEADER, "pfizer-kaggle"),
        ("date,caption,likes\n", None),
        (FIVETHIRTYEIGHT_HEADER.strip() + ",id,user_name,user_followers,date,is_retweet\n", None),
    ],
)
def test_detect_mapping(header_line: str, expected: str | None) -> None:
    header = next(csv.reader([header_line]))
    assert detect_mapping(header) == expected


# --- real datasets ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"real datasets not available: {DATASETS} does not exist")
    return DATASETS


def _validate_all(rows: list[MappedRow]) -> list[PostRecord]:
    return [PostRecord.model_validate(record) for record in _records(rows)]


def _count_rt_rows(path: Path) -> int:
    """Independent count of retweet rows: plain csv + str.startswith, no mapping code."""
    with path.open(encoding="mac_roman", newline="") as handle:
        return sum(row["text"].startswith("RT @") for row in csv.DictReader(handle))


@pytest.fixture(scope="module")
def ropensci_rows(datasets: Path) -> list[MappedRow]:
    files = sorted(ROPENSCI.glob("tweet_activity_metrics_rOpenSci_*_en.csv"))
    assert len(files) == 60
    return [row for path in files for row in iter_mapped_records(path, "x-analytics")]


@pytest.mark.datasets
def test_ropensci_maps_1668_unique_valid_records(ropensci_rows: list[MappedRow]) -> None:
    posts = _validate_all(ropensci_rows)

    assert len(ropensci_rows) == len(posts) == 1668
    assert len({post.post_id for post in posts}) == 1668
    assert {post.account for post in posts} == {"rOpenSci"}
    # Not in the export: unknown for every tweet, never zero.
    assert all(p.saves is None and p.reach is None and p.followers is None for p in posts)
    assert all(p.impressions is not None for p in posts)
    assert sum("#" in post.text for post in posts) == 1065
    assert not any("&amp;" in post.text for post in posts)


@pytest.mark.datasets
def test_ropensci_spot_checks(ropensci_rows: list[MappedRow]) -> None:
    # Values read by eye in tweet_activity_metrics_rOpenSci_20161201_20170101_en.csv.
    by_id = {post.post_id: post for post in _validate_all(ropensci_rows)}
    first = by_id["812369747765362688"]
    assert (first.impressions, first.likes, first.shares, first.comments) == (1938, 1, 0, 0)
    assert first.posted_at == datetime(2016, 12, 23, 18, 50, tzinfo=UTC)
    assert first.url == "https://twitter.com/rOpenSci/status/812369747765362688"
    second = by_id["812341199767863296"]
    assert second.text.endswith("including a new vignette, new fxn, & more")
    assert (second.impressions, second.likes, second.shares) == (3626, 11, 11)


@pytest.mark.datasets
def test_ropensci_times_are_utc(ropensci_rows: list[MappedRow]) -> None:
    # `time` has minute precision, so it trails the id's own timestamp by under a minute.
    for post in _validate_all(ropensci_rows):
        lag = _snowflake_time(post.post_id) - post.posted_at
        assert timedelta(0) <= lag < timedelta(minutes=1), post.post_id


@pytest.mark.datasets
@pytest.mark.parametrize(
    ("file_name", "rows_total", "rt_rows"),
    [("BarackObama.csv", 3207, 351), ("realDonaldTrump.csv", 3232, 354)],
)
def test_fivethirtyeight_counts_and_retweet_skips(
    datasets: Path, file_name: str, rows_total: int, rt_rows: int
) -> None:
    path = FIVETHIRTYEIGHT / file_name
    rows = _rows(path, "fivethirtyeight")
    posts = _validate_all(rows)

    assert len(rows) == rows_total
    assert _count_rt_rows(path) == rt_rows
    assert [row.skip_reason for row in rows if row.record is None] == [SKIP_RETWEET] * rt_rows
    assert len(posts) == rows_total - rt_rows
    assert len({post.post_id for post in posts}) == len(posts)
    assert not any(post.text.startswith("RT @") for post in posts)
    assert all(p.impressions is None and p.followers is None for p in posts)
    for post in posts:  # created_at is UTC at minute precision
        lag = _snowflake_time(post.post_id) - post.posted_at
        assert timedelta(0) <= lag < timedelta(minutes=1), post.post_id


@pytest.mark.datasets
def test_fivethirtyeight_spot_checks(datasets: Path) -> None:
    obama = _rows(FIVETHIRTYEIGHT / "BarackObama.csv", "fivethirtyeight")
    trump = _rows(FIVETHIRTYEIGHT / "realDonaldTrump.csv", "fivethirtyeight")
    obama_by_id = {post.post_id: post for post in _validate_all(obama)}
    trump_by_id = {post.post_id: post for post in _validate_all(trump)}

    mccain = obama_by_id["920061541986250758"]  # first data row of BarackObama.csv
    assert (mccain.likes, mccain.comments, mccain.shares) == (641842, 17064, 89916)
    assert mccain.posted_at == datetime(2017, 10, 16, 22, 59, tzinfo=UTC)
    assert obama_by_id["914832655170011137"].text.startswith("Michelle & I are praying")
    # Row 6 is "RT @gatesfoundation: ..." and must be skipped.
    assert (obama[5].row_number, obama[5].skip_reason) == (6, SKIP_RETWEET)
    # Mojibake stays as documented in SOURCE.md ("…" reads as "‰Û_").
    assert "Join us a‰Û_ https://t.co/gkrp1RwXR4" in obama_by_id["912724426709504000"].text

    widow = trump_by_id["922440008971292672"]  # first data row of realDonaldTrump.csv
    assert (widow.likes, widow.comments, widow.shares) == (49468, 46228, 10243)
    # A bare \r inside a quoted field is part of the text, not a row break.
    assert "@UN\rSecretary-General" in trump_by_id["921448521617821701"].text
    assert "Ã‰lysÃ©e Palace" in trump_by_id["885579818875670528"].text


@pytest.mark.datasets
def test_pfizer_maps_9214_valid_records(datasets: Path) -> None:
    rows = _rows(PFIZER, "pfizer-kaggle")
    posts = _validate_all(rows)

    assert len(rows) == len(posts) == 9214
    assert len({post.post_id for post in posts}) == 9214
    assert len({post.account for post in posts}) == 6122  # display names, see docs
    assert all(p.comments is None and p.impressions is None for p in posts)
    assert all(p.followers is not None for p in posts)
    assert not any("&amp;" in post.text for post in posts)
    for post in posts:  # `date` is UTC to the second
        lag = _snowflake_time(post.post_id) - post.posted_at
        assert abs(lag) <= timedelta(seconds=1), post.post_id


@pytest.mark.datasets
def test_pfizer_spot_checks(datasets: Path) -> None:
    rows = _rows(PFIZER, "pfizer-kaggle")
    by_id = {post.post_id: post for post in _validate_all(rows)}

    first = by_id["1340539111971516416"]  # first data row
    assert first.account == "Rachel Roh"
    assert first.posted_at == datetime(2020, 12, 20, 6, 6, 44, tzinfo=UTC)
    assert (first.followers, first.likes, first.shares) == (405, 0, 0)
    adler = by_id["1337855739918835717"]  # data row 4, the SOURCE.md sample
    assert (adler.account, adler.likes, adler.shares, adler.followers) == (
        "Charles Adler",
        2129,
        446,
        49165,
    )
    assert by_id["1337789191598575616"].text.startswith("UPDATED: #YellowFever & #COVID19")
