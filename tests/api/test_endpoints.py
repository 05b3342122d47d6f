"""The four plan endpoints and their neighbours, over HTTP, against real Postgres and Redis:
through the real session dependencies (commits, REPEATABLE READ snapshots, the read lock) and
figures from the worker's own recompute, on committed data wiped after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from hashtag_core.aggregates.service import recompute
from tests.api.data import NOW, POSTS
from tests.helpers import AUTH, NDJSON, ndjson


@pytest.fixture
def client(real_client):
    """Every test here runs on the app's real session dependencies."""
    return real_client


async def _recompute(engine) -> None:
    outcome = await recompute(engine, now=NOW, force=True)
    assert outcome.status == "computed"


@pytest.fixture
async def loaded(client, engine):
    response = await client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    assert response.status_code == 202, response.text
    await _recompute(engine)
    return response.json()


async def _perf(client, **params):
    response = await client.get("/hashtag-performance", params={"min_posts": 1, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _by_key(page):
    return {item["key"]: item for item in page["items"]}


class TestHashtagPerformance:
    async def test_figures_match_hand_computation(self, client, loaded):
        page = await _perf(client, window="all")
        lego = _by_key(page)["legoland"]
        # posts 1,2,4,6 with engagement 16, 4, 70, 33
        assert lego["posts"] == 4
        assert lego["avg_engagement"] == pytest.approx(30.75)
        assert lego["median_engagement"] == pytest.approx(24.5)
        # 16/2000, 4/2000, 70/10000, 33/5000
        assert lego["engagement_rate_follower"] == pytest.approx(
            (0.008 + 0.002 + 0.007 + 0.0066) / 4
        )
        assert lego["engagement_rate_follower_posts"] == 4
        # only posts 4 and 6 report reach: 70/1000, 33/600
        assert lego["engagement_rate_reach"] == pytest.approx((0.07 + 0.055) / 2)
        assert lego["engagement_rate_reach_posts"] == 2
        # shares/reach, or shares/impressions without reach: 4/1000, 0/400, 5/1000, 3/600
        assert lego["virality"] == pytest.approx((0.004 + 0 + 0.005 + 0.005) / 4)
        assert (lego["avg_reach"], lego["reach_posts"]) == (800, 2)
        assert (lego["avg_impressions"], lego["impressions_posts"]) == (700, 2)
        assert lego["hashtag"] == "LEGOLAND"  # spelled so on 3 of its 4 posts
        assert page["computed_at"] is not None
        assert page["pending_version"] is None

    async def test_reach_zero_falls_back_to_impressions_for_virality(self, client, loaded):
        family = _by_key(await _perf(client, window="all"))["family"]
        # post 4: 5/1000; post 5 has reach 0 -> 2/500
        assert family["virality"] == pytest.approx((0.005 + 0.004) / 2)
        assert family["engagement_rate_reach_posts"] == 1
        assert (family["avg_reach"], family["reach_posts"]) == (500, 2)

    async def test_windows_scopes_and_filters(self, client, loaded):
        assert _by_key(await _perf(client, window="7d"))["legoland"]["posts"] == 1
        assert _by_key(await _perf(client, window="30d"))["legoland"]["posts"] == 2
        on_x = _by_key(await _perf(client, window="all", platform="x"))["legoland"]
        assert (on_x["posts"], on_x["avg_engagement"]) == (2, 10)
        windsor = await _perf(client, window="all", account="legolandwindsor")
        assert windsor["account"] == "legolandwindsor"
        assert windsor["platform"] == "instagram"
        assert {k: v["posts"] for k, v in _by_key(windsor).items()} == {"legoland": 1, "family": 2}
        billund_ig = await _perf(
            client, window="all", account="LEGOLAND_Billund", platform="instagram"
        )
        assert _by_key(billund_ig)["legoland"]["posts"] == 1

    async def test_min_posts_sort_and_paging(self, client, loaded):
        page = await _perf(client, window="all", min_posts=2, sort="posts")
        assert [i["key"] for i in page["items"]] == ["legoland", "family"]
        page = await _perf(
            client, window="all", sort="avg_engagement", order="asc", limit=1, offset=1
        )
        assert page["total"] == 3
        assert [i["key"] for i in page["items"]] == ["legoland"]

    async def test_the_cursor_carries_the_query(self, client, loaded):
        query = {"window": "all", "sort": "avg_engagement", "order": "asc", "limit": 1}
        first = await _perf(client, **query)
        keys, cursor = [i["key"] for i in first["items"]], first["next_cursor"]
        while cursor:
            page = await _perf(client, cursor=cursor, limit=1)
            keys += [i["key"] for i in page["items"]]
            cursor = page["next_cursor"]
        every = await _perf(client, **{**query, "limit": 10})
        assert every["next_cursor"] is None
        assert keys == [i["key"] for i in every["items"]]
        assert len(keys) == 3
        for params, field in (({"order": "desc"}, "order"), ({"offset": 1}, "offset")):
            response = await client.get(
                "/hashtag-performance", params={"cursor": first["next_cursor"], **params}
            )
            assert response.status_code == 422, params
            assert response.json()["details"][0]["field"] == field
        same = await client.get(
            "/hashtag-performance", params={"cursor": first["next_cursor"], "order": "asc"}
        )
        assert same.status_code == 200

    async def test_ambiguous_and_unknown_accounts(self, client, loaded):
        response = await client.get("/hashtag-performance", params={"account": "LEGOLAND_Billund"})
        assert response.status_code == 422
        assert "several platforms" in response.json()["detail"]
        response = await client.get("/hashtag-performance", params={"account": "nobody"})
        assert response.status_code == 404

    async def test_bad_parameters_name_the_field(self, client):
        response = await client.get("/hashtag-performance", params={"limit": 0, "window": "2d"})
        body = response.json()
        assert response.status_code == 422
        assert body["code"] == "invalid_request"
        assert {d["field"] for d in body["details"]} == {"query.limit", "query.window"}


class TestHashtagPosts:
    @pytest.mark.parametrize(
        "spelling", ["legoland", "LEGOLAND", "%23LEGOLAND", "%EF%BC%83Legoland", "%23legoland"]
    )
    async def test_any_spelling_finds_the_hashtag(self, client, loaded, spelling):
        response = await client.get(f"/hashtags/{spelling}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["key"] == "legoland"
        assert body["figures"]["posts"] == 4
        assert [p["post_id"] for p in body["items"]] == ["w1", "bi1", "b2", "b1"]

    async def test_keyset_pages_cover_every_post_once(self, client, loaded):
        for sort, expected in (
            ("newest", ["w1", "bi1", "b2", "b1"]),
            ("engagement", ["w1", "bi1", "b1", "b2"]),
        ):
            seen, cursor = [], None
            while True:
                # The cursor carries the sort: later pages send it alone.
                params = {"limit": 1, **({"cursor": cursor} if cursor else {"sort": sort})}
                body = (await client.get("/hashtags/legoland", params=params)).json()
                assert body["sort"] == sort
                seen += [p["post_id"] for p in body["items"]]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert seen == expected

    async def test_a_cursor_keeps_its_filters_and_refuses_other_ones(self, client, loaded):
        first = (
            await client.get("/hashtags/legoland", params={"platform": "x", "limit": 1})
        ).json()
        assert [p["post_id"] for p in first["items"]] == ["b2"]
        cursor = first["next_cursor"]
        second = (await client.get("/hashtags/legoland", params={"cursor": cursor})).json()
        assert [p["post_id"] for p in second["items"]] == ["b1"]
        assert second["figures"]["posts"] == 2  # still the x figures
        same = await client.get("/hashtags/legoland", params={"cursor": cursor, "platform": "x"})
        assert same.status_code == 200
        for params, field in (
            ({"sort": "engagement"}, "sort"),
            ({"platform": "instagram"}, "platform"),
        ):
            response = await client.get("/hashtags/legoland", params={"cursor": cursor, **params})
            assert response.status_code == 422, params
            assert response.json()["details"][0]["field"] == field
        elsewhere = await client.get("/hashtags/family", params={"cursor": cursor})
        assert elsewhere.status_code == 422
        assert elsewhere.json()["details"][0]["field"] == "cursor"

    async def test_post_fields_and_filters(self, client, loaded):
        body = (
            await client.get("/hashtags/family", params={"since": "2025-06-08T00:00:00Z"})
        ).json()
        (post,) = body["items"]
        assert post["post_id"] == "w2"
        assert post["engagement"] == 22
        assert post["comments"] is None
        assert post["hashtags"] == ["Family"]
        assert post["account"] == "legolandwindsor"
        body = (await client.get("/hashtags/legoland", params={"platform": "x"})).json()
        assert [p["post_id"] for p in body["items"]] == ["b2", "b1"]
        assert body["figures"]["posts"] == 2

    async def test_unknown_hashtag_bad_tag_and_bad_cursor(self, client, loaded):
        response = await client.get("/hashtags/nosuchtag")
        assert response.status_code == 404
        assert "#nosuchtag" in response.json()["detail"]
        assert (await client.get("/hashtags/%23%23")).status_code == 422
        response = await client.get("/hashtags/legoland", params={"cursor": "garbage"})
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "cursor"


class TestEngagementTrends:
    async def test_cells_in_the_accounts_local_time_across_dst(self, client, loaded):
        body = (
            await client.get(
                "/engagement-trends", params={"account": "LEGOLAND_Billund", "platform": "x"}
            )
        ).json()
        (all_posts,) = body["items"]
        cells = {
            (c["weekday"], c["hour"]): (c["posts"], c["avg_engagement"]) for c in all_posts["cells"]
        }
        # posts 1 and 3 are both Saturday 10:00 local although DST moved UTC by an hour
        assert cells == {(6, 10): (2, 8.5), (7, 10): (1, 4.0)}
        assert body["time_zone"] == "account"
        assert all_posts["hashtag"] is None
        # Slot lift: engagement 16, 4, 1 -> smoothed 17, 5, 2, account median 5; the Saturday
        # cell holds 17 and 2: exp(mean(ln 17/5, ln 2/5)) - 1 = sqrt(34)/5 - 1
        saturday = next(c for c in all_posts["cells"] if (c["weekday"], c["hour"]) == (6, 10))
        assert saturday["lift"] == pytest.approx(34**0.5 / 5 - 1)
        assert saturday["lift_ci_low"] < saturday["lift"] < saturday["lift_ci_high"]
        assert all_posts["best_slots"] == []  # no slot has the 5 posts a best slot needs

    async def test_tz_override_computes_in_that_zone(self, client, loaded):
        body = (
            await client.get(
                "/engagement-trends",
                params={"account": "LEGOLAND_Billund", "platform": "x", "tz": "UTC"},
            )
        ).json()
        cells = {(c["weekday"], c["hour"]): c["posts"] for c in body["items"][0]["cells"]}
        assert cells == {(6, 9): 1, (6, 8): 1, (7, 8): 1}
        assert body["time_zone"] == "UTC"
        assert body["computed_at"] is None

    async def test_weekly_series_per_hashtag(self, client, loaded):
        body = (
            await client.get(
                "/engagement-trends",
                params={"hashtag": ["#LEGOLAND", "family"], "granularity": "week"},
            )
        ).json()
        lego, family = body["items"]
        assert lego["key"] == "legoland"
        assert family["key"] == "family"
        weeks = {p["period_start"]: (p["posts"], p["avg_engagement"]) for p in lego["series"]}
        # Sat 29 and Sun 30 March are one ISO week (from Monday 24th): 16 + 4 over 2 posts
        assert weeks == {"2025-03-24": (2, 10.0), "2025-05-26": (1, 33.0), "2025-06-02": (1, 70.0)}

    async def test_bad_time_zone_and_unknown_hashtag(self, client, loaded):
        response = await client.get("/engagement-trends", params={"tz": "Mars/Olympus"})
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "tz"
        assert (
            await client.get("/engagement-trends", params={"hashtag": "zzz"})
        ).status_code == 404


class TestImport:
    async def test_counts_errors_and_job(self, client):
        bad = {**POSTS[0], "post_id": "bad", "likes": -3}
        response = await client.post(
            "/posts/import", content=ndjson([POSTS[0], bad, POSTS[1]]), headers=NDJSON
        )
        body = response.json()
        assert response.status_code == 202
        assert (body["received"], body["inserted"], body["rejected"]) == (3, 2, 1)
        assert body["errors"] == [
            {"row": 2, "field": "likes", "message": "Input should be greater than or equal to 0"}
        ]
        assert body["job_id"] == f"recompute:{body['data_version']}"
        assert body["job_queued"] is True

    async def test_csv_and_json_bodies(self, client):
        csv_body = (
            "platform,post_id,account,text,posted_at,likes\nx,c1,acc,#a,2025-01-01T00:00:00Z,3\n"
        )
        response = await client.post(
            "/posts/import", content=csv_body, headers={**AUTH, "Content-Type": "text/csv"}
        )
        assert response.json()["inserted"] == 1
        response = await client.post("/posts/import", json=[POSTS[3]], headers=AUTH)
        assert response.json()["inserted"] == 1

    async def test_access_and_media_type_and_size(self, client):
        response = await client.post(
            "/posts/import", content=b"", headers={"Content-Type": "application/x-ndjson"}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        response = await client.post(
            "/posts/import",
            content=b"",
            headers={"Content-Type": "application/x-ndjson", "Authorization": "Bearer wrong"},
        )
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"
        response = await client.post(
            "/posts/import", content=b"x", headers={**AUTH, "Content-Type": "text/plain"}
        )
        assert response.status_code == 415
        response = await client.post("/posts/import", content=b"x" * 2_000_001, headers=NDJSON)
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"

    async def test_a_chunked_body_past_the_limit_is_refused_on_every_route(self, client):
        """No Content-Length to refuse early: the body is counted as it arrives."""

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 100_000

        for path in ("/update-post", "/posts/import"):
            headers = {**AUTH, "Content-Type": "application/json"}
            response = await client.post(path, content=chunks(), headers=headers)
            assert response.status_code == 413, (path, response.text)
            assert response.json()["code"] == "too_large"
            assert "HASHTAG_MAX_BODY_BYTES" in response.json()["detail"]


class TestUpdatePost:
    async def test_update_metrics_and_text(self, client, loaded, engine):
        body = {"platform": "x", "post_id": "b2", "likes": 40, "text": "Day two #LEGOLAND #Duplo"}
        response = await client.post("/update-post", json=body, headers=AUTH)
        assert response.status_code == 202, response.text
        result = response.json()
        assert result["changed"] == ["likes", "text"]
        assert result["post"]["engagement"] == 40
        assert result["post"]["hashtags"] == [
            "Duplo",
            "LEGOLAND",
        ]
        assert result["job_id"] == f"recompute:{result['data_version']}"
        history = (await client.get("/posts/x/b2/history")).json()
        assert [s["likes"] for s in history["snapshots"]] == [4, 40]
        assert [s["source"] for s in history["snapshots"]] == ["import", "update"]
        # the figures wait for the recompute: the page says a newer version is pending
        page = await _perf(client, window="all")
        assert page["pending_version"] == result["data_version"]
        await _recompute(engine)
        assert "duplo" in _by_key(await _perf(client, window="all"))

    async def test_no_change_no_job_and_unknown_post(self, client, loaded):
        response = await client.post(
            "/update-post", json={"platform": "x", "post_id": "b2", "likes": 4}, headers=AUTH
        )
        assert response.status_code == 202
        assert response.json()["job_id"] is None
        response = await client.post(
            "/update-post", json={"platform": "x", "post_id": "zz", "likes": 1}, headers=AUTH
        )
        assert response.status_code == 404
        response = await client.post(
            "/update-post", json={"platform": "x", "post_id": "b2", "likes": -1}, headers=AUTH
        )
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "body.likes"

    async def test_a_delay_without_a_refetch_is_refused_not_ignored(self, client, loaded):
        for body in (
            {"platform": "x", "post_id": "b1", "likes": 3, "after": 3600},
            {"platform": "x", "post_id": "b1", "refetch": False, "after": 0},
        ):
            response = await client.post("/update-post", json=body, headers=AUTH)
            assert response.status_code == 422, response.text
            detail = response.json()["details"][0]
            assert detail["field"] == "body.after"
            assert "refetch: true" in detail["message"]
        post = (await client.get("/posts/x/b1", headers=AUTH)).json()
        assert post["likes"] != 3  # nothing half-applied

    async def test_refetch_is_queued_with_delay(self, client, loaded, arq_redis, session):
        response = await client.post(
            "/update-post",
            json={"platform": "x", "post_id": "b1", "refetch": True, "after": 3600},
            headers=AUTH,
        )
        job_id = response.json()["refetch_job_id"]
        assert response.status_code == 202
        assert job_id.startswith("refresh:")
        job = (await client.get(f"/jobs/{job_id}")).json()
        assert job["status"] == "queued"
        assert job["function"] == "refresh_post"
        # The request's durable copy (what the refresh_due cron queues if Redis refused the
        # job) is due an hour after the request (read a moment later: just under an hour).
        conn = await session.connection()
        due = await conn.execute(
            text(
                "SELECT extract(epoch FROM due_at - now()) FROM post_refresh "
                "WHERE age_label = :label"
            ),
            {"label": job_id.split(":", 2)[2]},
        )
        assert 3000 < due.scalar_one() <= 3600


class TestJobsAndHealth:
    async def test_recompute_job_status_follows_the_database(self, client, loaded):
        version = loaded["data_version"]
        body = (await client.get(f"/jobs/recompute:{version}")).json()
        assert body["status"] == "complete"
        assert body["result"]["computed_version"] >= version
        assert (await client.get(f"/jobs/recompute:{version + 50}")).status_code == 404
        assert (await client.get("/jobs/nope")).status_code == 404

    async def test_health_and_ready(self, client):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ok",
            "postgres": True,
            "redis": True,
        }

    async def test_unknown_route_has_the_error_shape_and_request_id(self, client):
        response = await client.get("/nope", headers={"X-Request-ID": "abc123"})
        assert response.status_code == 404
        assert response.json()["request_id"] == "abc123"
        assert response.headers["x-request-id"] == "abc123"


class TestReport:
    async def test_csv_neutralises_formula_cells(self, client, engine):
        hostile = {**POSTS[0], "post_id": "evil", "text": "=cmd|' /C calc'!A0 #=cmd"}
        await client.post("/posts/import", content=ndjson([hostile, POSTS[1]]), headers=NDJSON)
        # "#=cmd" is not a hashtag, but a hashtag spelled like "@x" or "-x" cannot exist either;
        # force a dangerous display spelling to prove the writer neutralises it.
        await _recompute(engine)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE hashtag SET display = '=HYPERLINK(1)' WHERE key = 'legoland'"
            )
        response = await client.get("/reports/hashtags", params={"format": "csv", "min_posts": 1})
        assert response.status_code == 200
        assert "\n'=HYPERLINK(1)," in response.text
        assert "\n=HYPERLINK" not in response.text

    async def test_report_flags_instagram_posts_over_the_hashtag_cap(self, client, engine):
        base = {
            **POSTS[0],
            "platform": "instagram",
            "account": "park",
            "posted_at": NOW.isoformat(),
        }
        six = " ".join(f"#tag{i}" for i in range(6))
        posts = [
            {**base, "post_id": "six", "text": f"Six tags {six}"},
            {**base, "post_id": "five", "text": "Five " + " ".join(f"#t{i}" for i in range(5))},
            {**base, "post_id": "x-six", "platform": "x", "account": "xpark", "text": six},
        ]
        await client.post("/posts/import", content=ndjson(posts), headers=NDJSON)
        await _recompute(engine)
        body = (
            await client.get("/reports/hashtags", params={"min_posts": 1, "window": "all"})
        ).json()
        flagged = body["instagram_over_hashtag_cap"]
        assert [(p["post_id"], p["account"], p["hashtags"]) for p in flagged] == [
            ("six", "park", 6)
        ]
        scoped = (await client.get("/reports/hashtags", params={"platform": "x"})).json()
        assert scoped["instagram_over_hashtag_cap"] == []

    async def test_report_scope_and_empty(self, client, loaded):
        body = (await client.get("/reports/hashtags", params={"platform": "x"})).json()
        assert {r["key"] for r in body["items"]} == {"legoland", "ninjago"}
        assert body["platform"] == "x"
        empty = (
            await client.get("/reports/hashtags", params={"window": "7d", "platform": "x"})
        ).json()
        assert empty["items"] == []

    async def test_the_csv_has_its_own_operation(self, client, loaded):
        own = await client.get("/reports/hashtags.csv", params={"platform": "x"})
        asked = await client.get("/reports/hashtags", params={"platform": "x", "format": "csv"})
        assert own.status_code == asked.status_code == 200
        assert own.headers["content-type"] == "text/csv; charset=utf-8"
        assert own.text == asked.text
        assert own.text.startswith("hashtag,key,")
        spec = (await client.get("/openapi.json")).json()
        assert list(
            spec["paths"]["/reports/hashtags.csv"]["get"]["responses"]["200"]["content"]
        ) == ["text/csv"]
        report = spec["paths"]["/reports/hashtags"]["get"]
        assert list(report["responses"]["200"]["content"]) == ["application/json"]
        assert "format" not in {p["name"] for p in report["parameters"]}


class TestHttpDetails:
    async def test_405_names_the_methods_the_path_serves(self, client):
        for method, path, allowed in (
            ("DELETE", "/hashtag-performance", "GET"),
            ("PUT", "/accounts", "GET, POST"),
            ("GET", "/update-post", "POST"),
            ("POST", "/accounts/7", "DELETE, GET, PATCH"),
        ):
            response = await client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == allowed, (method, path)
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert (body["status"], body["code"], body["title"]) == (
                405,
                "method_not_allowed",
                "Method Not Allowed",
            )
            assert body["instance"] == path

    async def test_every_error_is_problem_details(self, client):
        response = await client.get("/hashtags/nosuchtag", headers={"X-Request-Id": "pd-1"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": body["detail"],
            "instance": "/hashtags/nosuchtag",
            "code": "not_found",
            "details": [],
            "request_id": "pd-1",
        }
