"""/report-schedules and /alert-subscriptions: create, list, delete, and clear 4xx errors."""

from __future__ import annotations

from tests.helpers import AUTH

SECRET = "whsec_test_0123456789abcdefWXYZ"


async def _account(client) -> dict:
    body = {
        "platform": "instagram",
        "external_id": "1784",
        "handle": "legolandwindsor",
        "timezone": "Europe/London",
    }
    response = await client.post("/accounts", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return response.json()


async def test_schedule_created_listed_and_deleted(client):
    account = await _account(client)
    body = {
        "name": "Weekly Windsor",
        "recipients": ["analyst@example.com", "boss@example.co.uk", "analyst@example.com"],
        "cadence": "weekly",
        "account": "legolandwindsor",
        "window": "90d",
        "goal": "reach",
    }
    created = await client.post("/report-schedules", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    found = created.json()
    assert found["recipients"] == ["analyst@example.com", "boss@example.co.uk"]
    assert (found["platform"], found["account"]) == ("instagram", account["handle"])
    assert (found["cadence"], found["window"], found["goal"]) == ("weekly", "90d", "reach")

    listed = (await client.get("/report-schedules", headers=AUTH)).json()
    assert [s["id"] for s in listed] == [found["id"]]

    assert (
        await client.delete(f"/report-schedules/{found['id']}", headers=AUTH)
    ).status_code == 204
    again = await client.delete(f"/report-schedules/{found['id']}", headers=AUTH)
    assert again.status_code == 404
    assert again.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/report-schedules", headers=AUTH)).json() == []


async def test_schedule_bad_input_names_the_field(client):
    base = {"name": "r", "recipients": ["a@example.com"], "cadence": "weekly"}
    cases = [
        ({"recipients": ["not-an-address"]}, "body.recipients.0"),
        ({"recipients": ["a@example.com\r\nBcc: x@evil.com"]}, "body.recipients.0"),
        ({"recipients": []}, "body.recipients"),
        ({"cadence": "daily"}, "body.cadence"),
        ({"window": "14d"}, "body.window"),
        ({"surprise": 1}, "body.surprise"),
    ]
    for change, field in cases:
        response = await client.post("/report-schedules", json={**base, **change}, headers=AUTH)
        assert response.status_code == 422, (change, response.text)
        assert field in [d["field"] for d in response.json()["details"]], (change, response.text)
    unknown = await client.post(
        "/report-schedules", json={**base, "account": "nobody"}, headers=AUTH
    )
    assert unknown.status_code == 404
    assert "nobody" in unknown.json()["detail"]


async def test_subscription_secret_is_never_echoed(client):
    body = {
        "name": "ops",
        "webhook_url": "https://hooks.example.com/hashtags",
        "webhook_secret": SECRET,
        "emails": ["ops@example.com"],
        "kinds": ["sync_stale", "verdict_flip", "sync_stale"],
    }
    created = await client.post("/alert-subscriptions", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    assert SECRET not in created.text
    found = created.json()
    assert found["webhook_secret_hint"] == "…WXYZ"
    assert found["kinds"] == ["sync_stale", "verdict_flip"]
    assert (found["window"], found["goal"], found["platform"]) == ("all", "engagement", None)
    listed = await client.get("/alert-subscriptions", headers=AUTH)
    assert SECRET not in listed.text
    assert [s["id"] for s in listed.json()] == [found["id"]]
    gone = await client.delete(f"/alert-subscriptions/{found['id']}", headers=AUTH)
    assert gone.status_code == 204
    assert (await client.get("/alert-subscriptions", headers=AUTH)).json() == []


async def test_subscription_bad_input_names_the_field(client):
    base = {"name": "ops", "emails": ["ops@example.com"], "kinds": ["post_outlier"]}
    hook = {"webhook_url": "https://hooks.example.com/h", "webhook_secret": SECRET}
    cases = [
        ({**hook, "webhook_url": "ftp://hooks.example.com/h"}, "body.webhook_url"),
        ({**hook, "webhook_url": "https://user:pw@hooks.example.com/h"}, "body.webhook_url"),
        ({**hook, "webhook_url": "not a url"}, "body.webhook_url"),
        ({**hook, "webhook_url": "https://[::1/h"}, "body.webhook_url"),
        ({**hook, "webhook_url": "https://hooks.example.com:99999/h"}, "body.webhook_url"),
        ({**hook, "webhook_url": "https://hooks.example.com/\x00"}, "body.webhook_url"),
        ({**hook, "webhook_secret": SECRET + "\x00"}, "body.webhook_secret"),
        ({**hook, "webhook_secret": "short"}, "body.webhook_secret"),
        ({"webhook_url": "https://hooks.example.com/h"}, "body.webhook_secret"),
        ({"webhook_secret": SECRET}, "body.webhook_secret"),
        ({"emails": []}, "body.emails"),
        ({"emails": ["x@"]}, "body.emails.0"),
        ({"kinds": ["everything"]}, "body.kinds.0"),
        ({"kinds": []}, "body.kinds"),
    ]
    for change, field in cases:
        response = await client.post("/alert-subscriptions", json={**base, **change}, headers=AUTH)
        assert response.status_code == 422, (change, response.text)
        assert field in [d["field"] for d in response.json()["details"]], (change, response.text)
        assert SECRET not in response.text


async def test_writes_and_reads_need_an_admin_key(client):
    assert (await client.get("/alert-subscriptions")).status_code == 401
    assert (await client.get("/report-schedules")).status_code == 401
    response = await client.post(
        "/report-schedules",
        json={"name": "r", "recipients": ["a@example.com"], "cadence": "monthly"},
    )
    assert response.status_code == 401
