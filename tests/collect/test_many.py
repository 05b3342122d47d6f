"""collect_many: several platforms' accounts at once; one failure stays with its account."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import SecretStr

from hashtag_core.collect import AuthExpired, CollectError, CollectResult, collect_many
from hashtag_core.collect.registry import CollectJob
from hashtag_core.platforms import Platform
from tests.collect.conftest import ServeSandbox
from tests.collect.helpers import comparable, connectors

pytestmark = pytest.mark.e2e


async def test_accounts_run_concurrently_and_fail_alone(serve_sandbox: ServeSandbox) -> None:
    async with serve_sandbox(posts=600, faults={"latency_ms": 20}) as served:
        accounts = [served.account(p, i) for p in Platform for i in (0, 1)]
        broken = dataclasses.replace(served.account(Platform.X, 2), token=SecretStr("revoked"))
        jobs: list[CollectJob] = [(a, None, None) for a in accounts]
        jobs.insert(3, (broken, None, None))
        async with connectors(served.settings(instagram_page_size=10)) as found:
            results = await collect_many(found, jobs)
        sources = {a.handle: served.source(a.handle) for a in accounts}
        peak = dict(served.sandbox.max_in_flight)

    assert isinstance(results[3], AuthExpired)
    assert broken.handle in results[3].message
    ok = results[:3] + results[4:]
    for account, result in zip(accounts, ok, strict=True):
        assert isinstance(result, CollectResult), result
        assert comparable(result.posts) == comparable(sources[account.handle])
    # Several platforms were in flight together, and no platform exceeded its bound.
    assert peak["all"] > 4
    assert all(peak[p.value] <= 4 for p in Platform)
    assert peak[Platform.INSTAGRAM.value] == 4  # insights calls fill the platform's slots


async def test_missing_connector_is_an_error_for_that_account(
    serve_sandbox: ServeSandbox,
) -> None:
    async with serve_sandbox(posts=100) as served:
        x, linkedin = served.account(Platform.X), served.account(Platform.LINKEDIN)
        async with connectors(served.settings()) as found:
            only_x = {Platform.X: found[Platform.X]}
            results = await collect_many(only_x, [(linkedin, None, None), (x, None, None)])
    assert isinstance(results[0], CollectError)
    assert "no connector" in results[0].message
    assert isinstance(results[1], CollectResult)
