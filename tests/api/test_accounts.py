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
    page = (await client.get("/accounts")).json()
    assert page["next_cursor"] is None
    listed = page["items"]
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
    assert "PATCH" in again.json()["detail"]


async def test_bad_registrations_say_what_is_wrong(client):
    response = await client.post("/accounts", json={**WINDSOR, "token_ref": "nope"}, headers=AUTH)
    assert response.status_code == 422
    assert "HASHTAG_PLATFORM_TOKENS" in response.json()["detail"]
    response = await client.post(
        "/accounts", json={**WINDSOR, "timezone": "Europe/Londn"}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "body.timezone"
    assert (await client.post("/accounts", json=WINDSOR)).status_code == 401


async def test_collect_needs_a_token_and_queues_jobs(client, arq_redis):
    await client.post("/posts/import", content=ndjson(POSTS[:1]), headers=NDJSON)
    imported = (await client.get("/accounts")).json()["items"][0]
    response = await client.post("/collect", json={"account_id": imported["id"]}, headers=AUTH)
    assert response.status_code == 409
    assert "token_ref" in response.json()["detail"]
    registered = (await client.post("/accounts", json=WINDSOR, headers=AUTH)).json()
    started = (await client.post("/collect", json={}, headers=AUTH)).json()
    assert started["job_queued"]
    assert len(started["job_ids"]) == 1
    assert started["job_ids"][0].startswith(f"collect:{registered['id']}:")
    job = (await client.get(f"/jobs/{started['job_ids'][0]}")).json()
    assert job["status"] == "queued"
    assert job["function"] == "collect_account"


async def test_accounts_come_a_page_at_a_time(client):
    for handle in ("c-brand", "a-brand", "b-brand"):
        body = {**WINDSOR, "handle": handle, "external_id": f"id-{handle}"}
        assert (await client.post("/accounts", json=body, headers=AUTH)).status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/accounts", params=params)).json()
        seen += [a["handle"] for a in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (["a-brand", "b-brand", "c-brand"], 2)

    wrong = await client.get("/accounts", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert wrong.status_code == 422
    assert wrong.json()["details"][0]["field"] == "cursor"
