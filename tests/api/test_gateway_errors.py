"""Every error status the gateway answers with, and its JSON shape; never a 500."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from agent_core.settings import Settings
from fake_llm import Reply
from tests.api.sse_client import assert_error, read_frames, tenant_keys, tenant_of
from tests.support.gateway import api_client, free_port, gateway
from tests.support.stack import agent_stack

MAX_CHARS = 50


async def test_not_found_conflict_too_long_and_invalid(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(
            client, fake_llm, redis_url, api_keys=api_keys, agent_max_prompt_chars=MAX_CHARS
        ) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        # 404: a well-formed id nobody started, and malformed ones
        for cid in (uuid.uuid4().hex, "not.an.id", "white%20space", "x" * 65, "%2E%2E"):
            conv = f"/v1/conversations/{cid}"
            for method, path in [
                ("GET", conv),
                ("GET", f"{conv}/events"),
                ("POST", f"{conv}/tool-calls/call-1/confirm"),
                ("POST", f"{conv}/tool-calls/call-1/reject"),
                ("POST", f"{conv}/end"),
            ]:
                assert_error(await http.request(method, path), 404)
            assert_error(await http.post(f"{conv}/messages", json={"text": "hi"}), 404)

        # 413 before parsing: a body far over any valid request, declared or streamed
        huge = b'{"goal": "travel", "message": "' + b"x" * 2_000_000 + b'"}'
        headers = {"content-type": "application/json"}
        assert_error(
            await http.post("/v1/conversations", content=huge, headers=headers),
            413,
            "body_too_large",
        )

        async def chunks():  # no content-length: counted as it arrives
            for _ in range(40):
                yield b"x" * 50_000

        assert_error(
            await http.post("/v1/conversations", content=chunks(), headers=headers),
            413,
            "body_too_large",
        )

        # 422: malformed JSON, wrong types (strict: no coercion), unknown fields, unknown goal
        assert_error(
            await http.post(
                "/v1/conversations",
                content=b'{"goal": "travel",',
                headers={"content-type": "application/json"},
            ),
            422,
            "invalid_request",
        )
        for raw in (b"\xff\xfe\x00", b"uK\xc3\x28"):  # not even UTF-8
            assert_error(
                await http.post(
                    "/v1/conversations", content=raw, headers={"content-type": "application/json"}
                ),
                422,
                "invalid_request",
            )
        for body in (
            {"goal": 5},
            {"goal": "travel", "message": 5},
            {"goal": ["travel"]},
            {"goal": "travel", "colour": "red"},
            {},
            None,
        ):
            assert_error(await http.post("/v1/conversations", json=body), 422, "invalid_request")
        assert_error(
            await http.post("/v1/conversations", json={"goal": "no-such-goal"}), 422, "unknown_goal"
        )
        assert_error(await http.get("/v1/conversations", params={"limit": "many"}), 422)

        created = await http.post("/v1/conversations", json={"goal": "travel"})
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        conv = f"/v1/conversations/{cid}"
        for body in ({"text": 5}, {"text": None}, {"message": "hi"}, {}):
            assert_error(await http.post(f"{conv}/messages", json=body), 422, "invalid_request")
        assert_error(await http.post(f"{conv}/messages", json={"text": "   "}), 422, "bad_message")
        assert_error(
            await http.post(f"{conv}/tool-calls/call-1/reject", json={"reason": 5}),
            422,
            "invalid_request",
        )

        # 413: over agent_max_prompt_chars, when starting and when sending
        too_long = "x" * (MAX_CHARS + 1)
        assert_error(
            await http.post("/v1/conversations", json={"goal": "travel", "message": too_long}),
            413,
            "message_too_long",
        )
        assert_error(await http.post(f"{conv}/messages", json={"text": too_long}), 413)

        # 409: nothing pending to confirm or reject
        assert_error(await http.post(f"{conv}/tool-calls/call-1/confirm"), 409, "nothing_pending")
        assert_error(await http.post(f"{conv}/tool-calls/call-1/reject"), 409, "nothing_pending")

        # 409: a message after the end, right away (the workflow gives up the turn
        # stuck in a slow model call and closes) ...
        fake_llm.script("validate", Reply(hang_seconds=1.0, text="ok"))
        sent = await http.post(f"{conv}/messages", json={"text": "Melbourne in April"})
        assert sent.status_code == 202, sent.text
        assert (await http.post(f"{conv}/end")).status_code == 202
        handle = stack.conversations.handle(tenant_of(keys["alice"]), cid)
        assert_error(
            await http.post(f"{conv}/messages", json={"text": "one more"}),
            409,
            "conversation_ended",
        )
        assert_error(
            await http.post(f"{conv}/tool-calls/call-1/confirm"), 409, "conversation_ended"
        )
        # ... and once it has completed
        await asyncio.wait_for(handle.result(), 20)
        assert_error(
            await http.post(f"{conv}/messages", json={"text": "one more"}),
            409,
            "conversation_ended",
        )
        assert_error(
            await http.post(f"{conv}/tool-calls/call-1/confirm"), 409, "conversation_ended"
        )
        assert (await http.post(f"{conv}/end")).status_code == 202  # idempotent
        assert (await http.get(conv)).json()["status"] == "ended"


async def test_rate_limit_answers_429_with_retry_after(redis_url):
    api_keys, keys = tenant_keys("alice", "bob")
    settings = Settings(
        api_keys=api_keys,
        redis_url=redis_url,
        api_rate_limit_per_minute=3,
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    async with (
        gateway(settings) as base,
        api_client(base, keys["alice"]) as alice,
        api_client(base, keys["bob"]) as bob,
    ):
        for _ in range(3):
            assert (await alice.get("/v1/goals")).status_code == 200
        limited = await alice.get("/v1/goals")
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert (await bob.get("/v1/goals")).status_code == 200  # buckets are per tenant


async def test_temporal_unavailable_answers_503(redis_url):
    api_keys, keys = tenant_keys("alice")
    settings = Settings(
        api_keys=api_keys, redis_url=redis_url, temporal_address=f"127.0.0.1:{free_port()}"
    )
    async with gateway(settings) as base, api_client(base, keys["alice"]) as http:
        cid = uuid.uuid4().hex
        conv = f"/v1/conversations/{cid}"
        for method, path, body in [
            ("POST", "/v1/conversations", {"goal": "travel", "message": "hi"}),
            ("POST", "/v1/conversations", {"goal": "travel"}),
            ("GET", "/v1/conversations", None),
            ("GET", conv, None),
            ("GET", f"{conv}/events", None),
            ("POST", f"{conv}/messages", {"text": "hi"}),
            ("POST", f"{conv}/tool-calls/call-1/confirm", None),
            ("POST", f"{conv}/end", None),
        ]:
            r = await http.request(method, path, json=body)
            assert_error(r, 503)
            assert int(r.headers["retry-after"]) >= 1
        ready = await http.get("/readyz")  # streams from Redis can still be served
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["temporal"] == "unavailable" and ready.json()["redis"] == "ok"
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/v1/goals")).status_code == 200  # needs neither


async def test_redis_unavailable_degrades_gracefully(client, fake_llm, redis_url):
    """Temporal is the truth: with the gateway's Redis gone the API still works,
    and a stream starts from a snapshot."""
    api_keys, keys = tenant_keys("alice")
    async with agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack:
        broken = stack.settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"}
        )
        async with gateway(broken) as base, api_client(base, keys["alice"]) as http:
            ready = await http.get("/readyz")  # every request still works
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            assert ready.json()["redis"] == "unavailable" and ready.json()["temporal"] == "ok"

            created = await http.post(
                "/v1/conversations", json={"goal": "travel", "message": "Melbourne in April"}
            )
            assert created.status_code == 201, created.text
            cid = created.json()["id"]
            conv = f"/v1/conversations/{cid}"
            assert (await http.get(conv)).status_code == 200
            frames = await read_frames(http, f"{conv}/events", limit=1)
            assert frames[0].type == "STATE_SNAPSHOT"
            assert frames[0].data["snapshot"]["conversationId"] == cid
            frames = await read_frames(
                http, f"{conv}/events", limit=1, headers={"Last-Event-ID": "1-0"}
            )
            assert frames[0].type == "STATE_SNAPSHOT"
            listed = await http.get("/v1/conversations")
            assert listed.status_code == 200

            ended = await http.post(f"{conv}/end")
            assert ended.status_code == 202, ended.text
            handle = stack.conversations.handle(tenant_of(keys["alice"]), cid)
            await asyncio.wait_for(handle.result(), 20)
            # the stream of an ended conversation: a snapshot of the end, and it closes
            frames = await asyncio.wait_for(read_frames(http, f"{conv}/events"), 10)
            assert [f.type for f in frames] == ["STATE_SNAPSHOT"]
            assert frames[0].data["snapshot"]["status"] == "ended"


async def test_readiness_fails_only_when_temporal_and_redis_are_both_gone():
    settings = Settings(
        api_dev_mode=True,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    async with gateway(settings) as base, httpx.AsyncClient(base_url=base) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
    assert int(ready.headers["retry-after"]) >= 1
