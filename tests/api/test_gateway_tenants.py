"""Tenants: a conversation is invisible to every key but its own tenant's."""

from __future__ import annotations

import asyncio

from tests.api.sse_client import assert_error, tenant_keys, tenant_of
from tests.support.gateway import api_client, gateway
from tests.support.stack import agent_stack


async def test_other_tenant_gets_404_everywhere_and_bad_keys_get_401(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice", "bob")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as alice,
        api_client(base, keys["bob"]) as bob,
        api_client(base) as anonymous,
        api_client(base, "key-nobody") as stranger,
    ):
        created = await alice.post("/v1/conversations", json={"goal": "travel"})
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        conv = f"/v1/conversations/{cid}"

        assert (await alice.get(conv)).status_code == 200
        attempts = [
            ("GET", conv, None),
            ("GET", f"{conv}/events", None),
            ("POST", f"{conv}/messages", {"text": "hello"}),
            ("POST", f"{conv}/tool-calls/call-1/confirm", None),
            ("POST", f"{conv}/tool-calls/call-1/reject", {"reason": "no"}),
            ("POST", f"{conv}/end", None),
        ]
        for method, path, body in attempts:
            r = await bob.request(method, path, json=body)
            assert_error(r, 404, "conversation_not_found")

        for who in (anonymous, stranger):
            for method, path, body in [
                *attempts,
                ("GET", "/v1/conversations", None),
                ("GET", "/v1/goals", None),
            ]:
                r = await who.request(method, path, json=body)
                assert_error(r, 401, "unauthorized")
                assert r.headers["www-authenticate"] == "Bearer"

        # Listing goes through the visibility store, which catches up within moments.
        for _ in range(100):
            listed = await alice.get("/v1/conversations")
            assert listed.status_code == 200, listed.text
            if cid in [c["id"] for c in listed.json()["conversations"]]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("alice's list never showed her conversation")
        bobs = await bob.get("/v1/conversations")
        assert bobs.status_code == 200
        assert cid not in [c["id"] for c in bobs.json()["conversations"]]

        # Bob's attempts changed nothing: alice's conversation still takes messages.
        snap = (await alice.get(conv)).json()
        assert snap["status"] != "ended" and snap["transcript"] == []
        assert (await alice.post(f"{conv}/end")).status_code == 202
        handle = stack.conversations.handle(tenant_of(keys["alice"]), cid)
        await asyncio.wait_for(handle.result(), 20)
