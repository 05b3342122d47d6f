"""A Python client generated from the committed openapi.json, used against the real server.

openapi-python-client generates the client (it must print no warning); the test imports it
from a temporary folder and calls every operation over HTTP on loopback: uvicorn serves the app
(its lifespan builds the engine and Redis pool) on the migrated test database and real Redis,
and a real arq worker computes the figures. Every answer must parse into its generated model
(or `str` for the CSV): none is None or a raw dict. Reads go through a plain `Client` (reads
are open), writes through an `AuthenticatedClient`; a caller written that way passes
`mypy --strict` against the generated package.
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import importlib
import inspect
import io
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hashtag_core.config import Settings
from hashtag_core.migrate import PROJECT_ROOT
from tests.api.data import POSTS
from tests.client.served import run_worker
from tests.helpers import API_KEY, ndjson

pytestmark = pytest.mark.e2e

PACKAGE = "hashtag_client"
SPEC = PROJECT_ROOT / "openapi.json"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, str]]:
    """The generated package, imported, and what the generator printed."""
    root = tmp_path_factory.mktemp("client")
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        # The generator formats its output with ruff, which is in this virtualenv.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE), str(root)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_typed_caller_uses_a_plain_client_for_reads(generated: tuple[ModuleType, str]) -> None:
    """What a caller would write, checked by mypy --strict against the generated package:
    reads take a plain Client, enum members have names, imports take typed bodies."""
    _, root = generated
    caller = Path(root) / "caller.py"
    caller.write_text(CALLER, encoding="utf-8")
    # The caller is checked strictly; the generator's own client.py has __exit__(*args)
    # forwarding that strict mypy flags, which is the generator's business, not the caller's.
    config = Path(root) / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\n\n[mypy-hashtag_client.*]\nignore_errors = True\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--no-incremental",
            str(caller),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=root,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


CALLER = """
import io

from hashtag_client import AuthenticatedClient, Client
from hashtag_client.api.hashtags import get_hashtag, get_hashtag_performance
from hashtag_client.api.insights import get_hashtag_report_csv
from hashtag_client.api.posts import import_posts
from hashtag_client.models import (
    ImportFormat,
    ImportResult,
    PerformancePage,
    PostImport,
    PostRecord,
    Problem,
    SortOrder,
    Window,
)
from hashtag_client.types import File


def top(client: Client) -> list[str]:
    page = get_hashtag_performance.sync(client=client, window=Window.D30, order=SortOrder.ASC)
    if not isinstance(page, PerformancePage):
        return []
    return [item.hashtag for item in page.items]


def report(client: Client) -> str | None:
    answer = get_hashtag_report_csv.sync(client=client, window=Window.ALL)
    return answer if isinstance(answer, str) else None


def next_page(client: Client, cursor: str) -> object:
    return get_hashtag.sync("legoland", client=client, cursor=cursor)


def load(client: AuthenticatedClient, records: list[PostRecord], ndjson: bytes) -> int:
    one = import_posts.sync(client=client, body=PostImport(records=records))
    two = import_posts.sync(
        client=client, body=File(payload=io.BytesIO(ndjson)), format_=ImportFormat.NDJSON
    )
    if isinstance(one, Problem) or isinstance(two, Problem):
        return -1
    return sum(r.inserted for r in (one, two) if isinstance(r, ImportResult))
"""


class Calls:
    """The generated operations, called through asyncio_detailed; records which were used.

    An operation whose generated signature takes a plain Client (the open reads) is called
    with one; the others with the AuthenticatedClient."""

    def __init__(self, package: ModuleType, client: Any, reader: Any) -> None:
        self.package, self.client, self.reader = package, client, reader
        self.used: set[str] = set()
        self.plain: set[str] = set()

    async def __call__(
        self, tag: str, name: str, *args: Any, blocking: bool = False, **kwargs: Any
    ) -> Any:
        """asyncio_detailed, or with `blocking` sync_detailed in a thread: a binary body is a
        `File` around a sync file object, which httpx's AsyncClient cannot read."""
        module = _module(self.package, f"api.{tag}.{name}")
        self.used.add(f"{tag}.{name}")
        annotation = str(inspect.signature(module.asyncio_detailed).parameters["client"])
        if annotation.endswith(".Client"):
            self.plain.add(f"{tag}.{name}")
            kwargs.setdefault("client", self.reader)
        kwargs.setdefault("client", self.client)
        if blocking:
            response = await asyncio.to_thread(module.sync_detailed, *args, **kwargs)
        else:
            response = await module.asyncio_detailed(*args, **kwargs)
        if 200 <= response.status_code < 300 and response.status_code != 204:
            assert response.parsed is not None, (tag, name, response.content[:200])
            assert not isinstance(response.parsed, dict), (tag, name)
        return response

    def every_operation(self) -> set[str]:
        api = _module(self.package, "api")
        return {
            f"{tag.name}.{op.name}"
            for tag in pkgutil.iter_modules(api.__path__)
            for op in pkgutil.iter_modules(_module(self.package, f"api.{tag.name}").__path__)
        }


def _models(package: ModuleType) -> Any:
    return _module(package, "models")


async def _health(call: Calls, m: Any) -> None:
    health = await call("health", "healthz")
    assert isinstance(health.parsed, m.Health)
    assert health.parsed.status == "ok"
    ready = await call("health", "readyz")
    assert isinstance(ready.parsed, m.Readiness)
    assert (ready.parsed.postgres, ready.parsed.redis) == (True, True)


def _csv(records: list[dict[str, Any]]) -> bytes:
    names = sorted({name for record in records for name in record})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


async def _import(call: Calls, m: Any) -> Any:
    """POST /posts/import in each of its forms through the generated import_posts: JSON
    records (PostImport), and NDJSON and CSV as one binary body with the format named."""
    files = _module(call.package, "types")
    first, second, third = POSTS[:2], POSTS[2:4], POSTS[4:]
    records = [m.PostRecord.from_dict(record) for record in first]
    answers = [
        await call("posts", "import_posts", body=m.PostImport(records=records)),
        await call(
            "posts",
            "import_posts",
            blocking=True,
            body=files.File(payload=io.BytesIO(ndjson(second))),
            format_=m.ImportFormat.NDJSON,
        ),
        await call(
            "posts",
            "import_posts",
            blocking=True,
            body=files.File(payload=io.BytesIO(_csv(third))),
            format_=m.ImportFormat.CSV,
        ),
    ]
    for answer, sent in zip(answers, (first, second, third), strict=True):
        assert answer.status_code == 202, answer.content
        result = answer.parsed
        assert isinstance(result, m.ImportResult)
        assert (result.received, result.inserted, result.rejected) == (len(sent), len(sent), 0)
        assert result.job_id
    return answers[-1].parsed


async def _figures(call: Calls, m: Any) -> None:
    page = (
        await call(
            "hashtags", "get_hashtag_performance", window=m.Window.ALL, order=m.SortOrder.DESC
        )
    ).parsed
    assert isinstance(page, m.PerformancePage)
    assert all(isinstance(item, m.PerformanceItem) for item in page.items)
    assert {item.key for item in page.items} >= {"legoland", "family", "ninjago"}
    assert page.pending_version is None
    one = (
        await call("hashtags", "get_hashtag", "LEGOLAND", limit=2, sort=m.PostSort.ENGAGEMENT)
    ).parsed
    assert isinstance(one, m.HashtagPage)
    assert one.key == "legoland"
    assert isinstance(one.figures, m.HashtagFigures)
    assert len(one.items) == 2
    assert all(isinstance(post, m.PostPublic) for post in one.items)
    assert isinstance(one.next_cursor, str)
    # Page 2 from the cursor alone: it carries the sort.
    two = (await call("hashtags", "get_hashtag", "LEGOLAND", cursor=one.next_cursor)).parsed
    assert isinstance(two, m.HashtagPage)
    assert two.sort == m.PostSort.ENGAGEMENT
    assert {p.post_id for p in two.items}.isdisjoint({p.post_id for p in one.items})
    standouts = (await call("hashtags", "get_hashtag_standouts", "LEGOLAND", limit=2)).parsed
    assert isinstance(standouts, m.HashtagStandouts)
    assert len(standouts.best) == len(standouts.worst) == 2
    assert all(isinstance(post, m.StandoutPost) for post in standouts.best)
    assert standouts.best[0].relative >= standouts.worst[0].relative
    change = (
        await call(
            "trends",
            "get_period_change",
            since=datetime.date(2025, 4, 1),
            until=datetime.date(2025, 6, 10),
        )
    ).parsed
    assert isinstance(change, m.PeriodChangePage)
    assert all(isinstance(item, m.PeriodChangeItem) for item in change.items)
    assert "legoland" in {item.key for item in change.items}
    trends = (await call("trends", "get_engagement_trends", hashtag=["legoland"])).parsed
    assert isinstance(trends, m.TrendsPage)
    assert [t.hashtag.lower() for t in trends.items] == ["legoland"]
    assert all(isinstance(t, m.HashtagTrend) for t in trends.items)
    followers = (await call("trends", "get_follower_trends", granularity=m.Granularity.DAY)).parsed
    assert isinstance(followers, m.FollowerTrendsPage)
    for account in followers.items:
        assert isinstance(account, m.AccountFollowers)
        assert account.series
        assert all(isinstance(point, m.FollowerPoint) for point in account.series)
    recs = (await call("insights", "get_recommendations", min_posts=2, limit=3)).parsed
    assert isinstance(recs, m.Recommendations)
    assert recs.goal == m.Goal.ENGAGEMENT
    report = (await call("insights", "get_hashtag_report", window=m.Window.ALL)).parsed
    assert isinstance(report, m.ReportPage)
    assert {row.hashtag.lower() for row in report.items} >= {"legoland", "family"}
    assert all(isinstance(row, m.ReportRow) for row in report.items)
    table = (await call("insights", "get_hashtag_report_csv", window=m.Window.ALL)).parsed
    assert isinstance(table, str)
    assert table.startswith("hashtag,key,")
    assert len(table.strip().splitlines()) == len(report.items) + 1


async def _posts(call: Calls, m: Any) -> None:
    body = m.PostUpdate(platform=m.Platform.X, post_id="b1", likes=99)
    updated = await call("posts", "update_post", body=body)
    assert updated.status_code == 202
    assert isinstance(updated.parsed, m.UpdatePostResult)
    assert updated.parsed.changed == ["likes"]
    assert updated.parsed.post.likes == 99
    post = (await call("posts", "get_post", m.Platform.X, "b1")).parsed
    assert isinstance(post, m.PostPublic)
    assert (post.post_id, post.likes) == ("b1", 99)
    history = (await call("posts", "get_post_history", m.Platform.X, "b1")).parsed
    assert isinstance(history, m.PostHistory)
    assert [s.likes for s in history.snapshots] == [10, 99]
    assert all(isinstance(s, m.MetricSnapshot) for s in history.snapshots)


async def _campaigns(call: Calls, m: Any) -> None:
    body = m.CampaignCreate(
        name="Spring",
        starts_on=date(2025, 3, 1),
        ends_on=date(2025, 3, 31),
        platforms=[m.Platform.X],
        brief="Ninjago",
    )
    made = (await call("campaigns", "create_campaign", body=body)).parsed
    assert isinstance(made, m.CampaignPublic)
    assert made.review.status == m.CampaignReviewStatus.ENDED
    page = (await call("campaigns", "list_campaigns", limit=10)).parsed
    assert isinstance(page, m.CampaignsPage)
    assert made.id in {c.id for c in page.items}
    got = (await call("campaigns", "get_campaign", made.id)).parsed
    assert isinstance(got, m.CampaignPublic)
    assert got.plan.caveat == made.plan.caveat
    table = (await call("campaigns", "get_campaign_csv", made.id)).parsed
    assert isinstance(table, str)
    assert table.startswith("section,platform,")
    deleted = await call("campaigns", "delete_campaign", made.id)
    assert deleted.status_code == 204


async def _accounts(call: Calls, m: Any) -> None:
    body = m.AccountCreate(
        platform=m.Platform.INSTAGRAM, external_id="1789", handle="brand", token_ref="brand-ig"
    )
    created = await call("accounts", "register_account", body=body)
    assert created.status_code == 201
    account = created.parsed
    assert isinstance(account, m.AccountPublic)
    assert (account.handle, account.collect_enabled) == ("brand", True)
    first = (await call("accounts", "list_accounts", limit=1)).parsed
    assert isinstance(first, m.AccountsPage)
    listed, cursor = list(first.items), first.next_cursor
    while isinstance(cursor, str):
        page = (await call("accounts", "list_accounts", cursor=cursor, limit=1)).parsed
        assert isinstance(page, m.AccountsPage)
        listed += page.items
        cursor = page.next_cursor
    assert all(isinstance(a, m.AccountPublic) for a in listed)
    assert len(listed) > 1
    assert account.id in {a.id for a in listed}  # with the accounts the import created
    got = (await call("accounts", "get_account", account.id)).parsed
    assert isinstance(got, m.AccountPublic)
    changed = await call(
        "accounts",
        "update_account",
        account.id,
        body=m.AccountUpdate(sync_interval_minutes=30),
    )
    assert isinstance(changed.parsed, m.AccountPublic)
    assert changed.parsed.sync_interval_minutes == 30
    started = (
        await call("accounts", "collect_now", body=m.CollectRequest(account_id=account.id))
    ).parsed
    assert isinstance(started, m.CollectStarted)
    assert started.job_queued is True
    job = (await call("jobs", "get_job", started.job_ids[0])).parsed
    assert isinstance(job, m.JobInfo)
    assert (job.status, job.function) == (m.JobState.QUEUED, "collect_account")
    deleted = await call("accounts", "delete_account", account.id)
    assert deleted.status_code == 204


async def _alerts(call: Calls, m: Any) -> None:
    body = m.ReportScheduleCreate(
        name="Weekly", recipients=["analyst@example.com"], cadence=m.Cadence.WEEKLY
    )
    schedule = (await call("alerts", "create_report_schedule", body=body)).parsed
    assert isinstance(schedule, m.ReportSchedulePublic)
    listed = (await call("alerts", "list_report_schedules")).parsed
    assert [s.id for s in listed] == [schedule.id]
    assert (await call("alerts", "delete_report_schedule", schedule.id)).status_code == 204
    secret = "whsec_client_test_0123456789abcd"
    hook = m.AlertSubscriptionCreate(
        name="Ops",
        webhook_url="https://hooks.example.com/h",
        webhook_secret=secret,
        kinds=[m.AlertKind.SYNC_STALE],
    )
    created = await call("alerts", "create_alert_subscription", body=hook)
    assert isinstance(created.parsed, m.AlertSubscriptionPublic)
    assert created.parsed.webhook_secret_hint == "…abcd"
    assert secret not in created.content.decode()
    subscriptions = (await call("alerts", "list_alert_subscriptions")).parsed
    assert [s.id for s in subscriptions] == [created.parsed.id]
    gone = await call("alerts", "delete_alert_subscription", created.parsed.id)
    assert gone.status_code == 204


async def _errors(call: Calls, m: Any, anonymous: Any, url: str) -> None:
    missing = await call("hashtags", "get_hashtag", "NeverUsedTag")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert isinstance(missing.parsed, m.Problem)
    assert (missing.parsed.status, missing.parsed.title) == (404, "Not Found")
    assert missing.parsed.code == "not_found"
    assert missing.parsed.request_id == missing.headers["x-request-id"]
    invalid = await call("hashtags", "get_hashtag_performance", min_posts=0)
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, m.Problem)
    assert [d.field for d in invalid.parsed.details] == ["query.min_posts"]
    assert all(isinstance(d, m.ErrorDetail) for d in invalid.parsed.details)
    body = m.PostUpdate(platform=m.Platform.X, post_id="b1", likes=1)
    refused = await call("posts", "update_post", body=body, client=anonymous)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, m.Problem)
    assert refused.parsed.code == "unauthorized"
    unknown = call.package.AuthenticatedClient(base_url=url, token="not-a-key")
    denied = await call("posts", "update_post", body=body, client=unknown)
    assert denied.status_code == 401
    assert isinstance(denied.parsed, m.Problem)
    assert denied.parsed.code == "invalid_token"
    gone = await call("jobs", "get_job", "no-such-job")
    assert gone.status_code == 404
    assert isinstance(gone.parsed, m.Problem)


async def test_every_operation_through_the_generated_client(
    generated: tuple[ModuleType, str], server: tuple[str, Settings]
) -> None:
    package, _ = generated
    m = _models(package)
    url, settings = server
    async with (
        package.AuthenticatedClient(base_url=url, token=API_KEY) as client,
        package.Client(base_url=url) as anonymous,
    ):
        call = Calls(package, client, anonymous)
        await _health(call, m)
        imported = await _import(call, m)
        queued = (await call("jobs", "get_job", imported.job_id)).parsed
        assert isinstance(queued, m.JobInfo)
        assert queued.status == m.JobState.QUEUED

        worker = await run_worker(settings)
        assert worker.jobs_failed == 0

        done = (await call("jobs", "get_job", imported.job_id)).parsed
        assert done.status == m.JobState.COMPLETE
        assert isinstance(done.result, m.JobInfoResultType0)
        await _figures(call, m)
        await _posts(call, m)
        await _accounts(call, m)
        await _campaigns(call, m)
        await _alerts(call, m)
        await _errors(call, m, anonymous, url)

    assert call.used == call.every_operation()
    # Open reads (every GET but the admin's) are typed to take a plain Client; writes and
    # the admin's reads (report schedules, alert subscriptions) need the key.
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    reads = {
        f"{op['tags'][0]}.{op['operationId']}"
        for item in spec["paths"].values()
        for method, op in item.items()
        if method == "get" and not op.get("security")
    }
    assert call.plain == reads
