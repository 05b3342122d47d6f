"""The examples of posts/schemas.py (the OpenAPI document's) agree with each other and with
what the fields say they mean: a reader checking one example against another, or against a
description, finds no contradiction. `test_openapi.py` checks that they validate."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from hashtag_core.posts.schemas import (
    POST_EXAMPLE,
    ImportResult,
    PostHistory,
    PostPublic,
    PostUpdate,
    UpdatePostResult,
)

_METRICS = ("likes", "comments", "shares", "saves", "impressions", "reach")


def _examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list)
    assert examples
    return examples


def _engagement(post: dict[str, Any]) -> int:
    return sum(post.get(name) or 0 for name in ("likes", "comments", "shares", "saves"))


def test_the_post_example_adds_up_its_engagement():
    assert _examples(PostPublic) == [POST_EXAMPLE]
    assert POST_EXAMPLE["engagement"] == _engagement(POST_EXAMPLE)


def test_the_import_result_example_adds_up():
    (example,) = _examples(ImportResult)
    assert example["stored"] == example["inserted"] + example["updated"]
    assert (
        example["received"]
        == example["stored"] + example["duplicates_in_body"] + example["rejected"]
    )
    assert example["rejected"] == len(example["errors"])
    assert example["job_id"] == f"recompute:{example['data_version']}"


def test_every_update_example_asks_for_something_and_after_only_with_refetch():
    examples = _examples(PostUpdate)
    for example in examples:
        PostUpdate.model_validate(example)
        changes = {name for name in (*_METRICS, "text") if name in example}
        assert changes or example.get("refetch"), example
        assert "after" not in example or example.get("refetch"), example
    assert any(example.get("refetch") for example in examples)


def test_the_update_result_example_is_the_post_example_with_the_update_example_applied():
    update = _examples(PostUpdate)[0]
    (result,) = _examples(UpdatePostResult)
    fields = {name: value for name, value in update.items() if name in (*_METRICS, "text")}
    expected = {**POST_EXAMPLE, **fields}
    expected["engagement"] = _engagement(expected)
    assert (update["platform"], update["post_id"]) == (
        POST_EXAMPLE["platform"],
        POST_EXAMPLE["post_id"],
    )
    assert result["post"] == expected
    assert sorted(result["changed"]) == sorted(
        name for name, value in fields.items() if POST_EXAMPLE[name] != value
    )
    assert result["job_id"] == f"recompute:{result['data_version']}"


def test_the_history_example_ends_with_the_posts_current_metrics():
    (example,) = _examples(PostHistory)
    assert example["post"] == POST_EXAMPLE
    snapshots = example["snapshots"]
    assert [s["captured_at"] for s in snapshots] == sorted(s["captured_at"] for s in snapshots)
    latest = snapshots[-1]
    assert {name: latest[name] for name in _METRICS} == {
        name: POST_EXAMPLE[name] for name in _METRICS
    }
    # Stored once by an import and then collected: a collection keeps the follower count the
    # post was stored with (posts/repository.py), so every snapshot records the post's.
    assert [s["source"] for s in snapshots] == ["import", "collect"]
    assert {s["followers"] for s in snapshots} == {POST_EXAMPLE["followers"]}
    for earlier, later in zip(snapshots, snapshots[1:], strict=False):
        for name in _METRICS:
            assert earlier[name] <= later[name], (name, earlier, later)


def test_an_update_names_its_post_by_an_id_of_1_to_200_characters():
    # The same bounds as an imported post's id (ingest.schemas.Identifier).
    for post_id in ("1", "x" * 200):
        assert PostUpdate.model_validate({"platform": "x", "post_id": post_id}).post_id == post_id
    for post_id in ("", "x" * 201):
        with pytest.raises(ValidationError):
            PostUpdate.model_validate({"platform": "x", "post_id": post_id})
