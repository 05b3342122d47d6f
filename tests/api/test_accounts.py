"""/accounts and POST /collect."""

from __future__ import annotations

from tests.api.data import POSTS
from tests.helpers import AUTH, NDJSON, ndjson

WINDSOR = {
    "platform": "instagram",
    "external_id": "17841400000000001",
    "handle": "legolandwindsor",
    "timezone": "Europe/London",
    "token_ref": "windsor_ig",
    "sync_interval_minutes": 30,
}


async def test_register_list_update_delete(client):
    response = await client.post("/accounts", json=WINDSOR, headers=AUTH)
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["collect_enabled"]
    assert account["status"] == "active"
    assert account["token_ref"] == "windsor_ig"
    assert "s3cret" not in response.text
    listed = (await client.get("/accounts")).json()
    assert [a["handle"] for a in listed] == ["legolandwindsor"]
    assert listed[0]["last_sync_at"] is None
    assert listed[0]["next_sync_at"] is None
    patched = (
        await client.patch(f"/accounts/{account['id']}", json={"paused": True}, headers=AUTH)
    ).json()
    assert patched["status"] == "paused"
    assert (
        await client.post("/collect", json={"account_id": account["id"]}, headers=AUTH)
    ).status_code == 202
    assert (await client.delete(f"/accounts/{account['id']}", headers=AUTH)).status_code == 204
    assert (await client.get(f"/accounts/{account['id']}")).status_code == 404


async def test_an_imported_account_is_adopted_not_duplicated(client):
    await client.post("/posts/import", content=ndjson(POSTS), headers=NDJSON)
    response = await client.post("/accounts", json=WINDSOR, headers=AUTH)
    assert response.status_code == 200
    account = response.json()
    assert account["posts"] == 2
    assert account["followers"] == 10000
    assert account["external_id"] == "17841400000000001"
    again = await client.post("/accounts", json=WINDSOR, headers=AUTH)
    assert again.status_code == 409
    assert "PATCH" in again.json()["error"]["message"]


async def test_bad_registrations_say_what_is_wrong(client):
    response = await client.post("/accounts", json={**WINDSOR, "token_ref": "nope"}, headers=AUTH)
    assert response.status_code == 422
    assert "HASHTAG_PLATFORM_TOKENS" in response.json()["error"]["message"]
    response = await client.post(
        "/accounts", json={**WINDSOR, "timezone": "Europe/Londn"}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.timezone"
    assert (await client.post("/accounts", json=WINDSOR)).status_code == 401


async def test_collect_needs_a_token_and_queues_jobs(client, arq_redis):
    await client.post("/posts/import", content=ndjson(POSTS[:1]), headers=NDJSON)
    imported = (await client.get("/accounts")).json()[0]
    response = await client.post("/collect", json={"account_id": imported["id"]}, headers=AUTH)
    assert response.status_code == 409
    assert "token_ref" in response.json()["error"]["message"]
    registered = (await client.post("/accounts", json=WINDSOR, headers=AUTH)).json()
    started = (await client.post("/collect", json={}, headers=AUTH)).json()
    assert started["job_queued"]
    assert len(started["job_ids"]) == 1
    assert started["job_ids"][0].startswith(f"collect:{registered['id']}:")
    job = (await client.get(f"/jobs/{started['job_ids'][0]}")).json()
    assert job["status"] == "queued"
    assert job["function"] == "collect_account"
