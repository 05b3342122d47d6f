"""GET /metrics: request latency by route template, queue depth and aggregate freshness read
at scrape time; and the access-log line each request leaves."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from hashtag_core.config import Settings
from tests.logs import captured_logs

LATENCY = "hashtag_http_request_duration_seconds"


async def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics, keyed by (name, sorted labels)."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def execute(session, sql: str) -> None:
    """A write inside the test's transaction (rolled back afterwards)."""
    await (await session.connection()).execute(text(sql))


def count(samples, method: str, route: str, status: str) -> float:
    labels = (("code", status), ("method", method), ("route", route))
    return float(samples.get((f"{LATENCY}_count", labels), 0.0))


class TestRequestLatency:
    async def test_requests_are_counted_by_route_template_method_and_status(self, client):
        before = await scrape(client)
        for tag in ("legoland", "family"):
            assert (await client.get(f"/hashtags/{tag}")).status_code == 404
        assert (await client.get("/hashtag-performance", params={"limit": 0})).status_code == 422
        after = await scrape(client)

        route = "/hashtags/{hashtag}"
        assert count(after, "GET", route, "404") - count(before, "GET", route, "404") == 2
        assert count(after, "GET", "/hashtag-performance", "422") == 1
        # The /metrics scrape before is itself a measured request.
        assert count(after, "GET", "/metrics", "200") >= 1
        bucket = (
            f"{LATENCY}_bucket",
            (("code", "404"), ("le", "+Inf"), ("method", "GET"), ("route", route)),
        )
        assert after[bucket] == count(after, "GET", route, "404")

    async def test_unknown_paths_share_one_label(self, client):
        for path in ("/nope/1", "/nope/2"):
            assert (await client.get(path)).status_code == 404
        after = await scrape(client)
        assert count(after, "GET", "<unmatched>", "404") == 2
        assert not any("/nope" in str(key) for key in after)

    async def test_no_created_series(self, client):
        assert (await client.get("/hashtags/legoland")).status_code == 404
        after = await scrape(client)
        assert f"{LATENCY}_count" in {name for name, _ in after}
        assert not [name for name, _ in after if name.endswith("_created")]


class TestScrapeTimeGauges:
    async def test_queue_depth_follows_the_arq_queue(self, client, arq_redis):
        await arq_redis.flushdb()
        empty = await scrape(client)
        await arq_redis.enqueue_job("recompute", 1, _job_id="metrics-test:due")
        await arq_redis.enqueue_job("recompute", 2, _job_id="metrics-test:later", _defer_by=600)
        await arq_redis.enqueue_job("recompute", 3, _job_id="metrics-test:due2")
        queued = await scrape(client)
        await arq_redis.flushdb()

        assert empty[("hashtag_queue_jobs", (("state", "due"),))] == 0
        assert queued[("hashtag_queue_jobs", (("state", "due"),))] == 2
        assert queued[("hashtag_queue_jobs", (("state", "deferred"),))] == 1
        assert queued[("hashtag_metrics_source_up", (("source", "redis"),))] == 1

    async def test_freshness_is_read_from_the_recompute_state(self, client, session):
        await execute(
            session,
            "UPDATE recompute_state SET computed_version = 2, "
            "computed_at = now() - interval '300 seconds'",
        )
        await execute(session, "UPDATE data_version SET version = 5")
        stale = await scrape(client)
        await execute(
            session, "UPDATE recompute_state SET computed_version = 5, computed_at = now()"
        )
        fresh = await scrape(client)

        assert stale[("hashtag_aggregates_versions_behind", ())] == 3
        assert 300 <= stale[("hashtag_aggregates_age_seconds", ())] < 400
        assert fresh[("hashtag_aggregates_versions_behind", ())] == 0
        assert fresh[("hashtag_aggregates_age_seconds", ())] < 60
        assert fresh[("hashtag_metrics_source_up", (("source", "postgres"),))] == 1

    async def test_never_computed_aggregates_have_no_age(self, client, session):
        await execute(session, "UPDATE recompute_state SET computed_at = NULL")
        samples = await scrape(client)
        assert ("hashtag_aggregates_age_seconds", ()) not in samples
        assert ("hashtag_aggregates_versions_behind", ()) in samples


class TestAccessLog:
    async def test_one_json_line_per_request_with_its_request_id(self, client):
        with captured_logs(Settings(log_format="json", log_level="INFO")) as stream:
            response = await client.get("/hashtags/legoland", headers={"x-request-id": "req-77"})

        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        access = [line for line in lines if line["logger"] == "hashtag_api.access"]
        assert response.headers["x-request-id"] == "req-77"
        assert len(access) == 1
        assert access[0] | {"time": None, "duration_ms": None} == {
            "time": None,
            "level": "INFO",
            "logger": "hashtag_api.access",
            "message": access[0]["message"],
            "request_id": "req-77",
            "method": "GET",
            "path": "/hashtags/legoland",
            "route": "/hashtags/{hashtag}",
            "status": 404,
            "duration_ms": None,
        }
        assert access[0]["message"].startswith("GET /hashtags/legoland 404 ")
