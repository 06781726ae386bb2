"""Requests are applied once and streams behave at their edges.

A retried create or message (same ``Idempotency-Key`` or body id) returns the
first answer; a stream resumed after the end answers 204 so EventSource
stops; a malformed cursor is a 422; opening a stream needs no workflow worker.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from tests.agui.client import averify_events
from tests.api.sse_client import assert_error, read_frames, tenant_keys, tenant_of
from tests.support.gateway import api_client, gateway
from tests.support.stack import agent_stack, run_workers


async def test_retried_create_and_message_are_applied_once(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        body = {"goal": "travel", "message": "Melbourne in April please"}
        once = {"Idempotency-Key": "create-1"}
        first = await http.post("/v1/conversations", json=body, headers=once)
        again = await http.post("/v1/conversations", json=body, headers=once)
        assert first.status_code == again.status_code == 201, again.text
        cid = first.json()["id"]
        assert again.json()["id"] == cid
        conv = f"/v1/conversations/{cid}"
        await _wait_status(http, conv, "awaiting_confirmation")

        sent = [
            await http.post(
                f"{conv}/messages", json={"text": "Sydney instead", "message_id": "m-7"}
            )
            for _ in range(3)
        ]
        assert [r.status_code for r in sent] == [202, 202, 202]
        assert len({r.json()["seq"] for r in sent}) == 1  # the first answer, every time
        snap = await _wait_status(http, conv, "awaiting_confirmation")
        listed = (await http.get("/v1/conversations")).json()["conversations"]

    users = [m["text"] for m in snap["transcript"] if m["role"] == "user"]
    assert users == ["Melbourne in April please", "Sydney instead"]
    assert [c["id"] for c in listed] == [cid]  # no orphan conversation from the retry


async def test_stream_edges_end_cursor_and_no_worker(client, fake_llm, redis_url):
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys, with_workers=False) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        async with run_workers(client, stack.settings, stack.events):
            created = await http.post(
                "/v1/conversations", json={"goal": "travel", "message": "Melbourne in April"}
            )
            cid, url = created.json()["id"], created.json()["events_url"]
            conv = f"/v1/conversations/{cid}"
            await _wait_status(http, conv, "awaiting_confirmation")
        # every worker is gone: the log is still readable, straight from Redis
        frames = await asyncio.wait_for(
            read_frames(http, url, until=lambda f: f.name == "tool_call_awaiting_confirmation"), 10
        )
        assert frames[0].name == "RUN_STARTED"
        for bad in ("garbage", "1-2-3", "0-"):
            assert_error(await http.get(url, headers={"Last-Event-ID": bad}), 422, "bad_cursor")
        for bad in ("x", "not-an-id\x00"):
            assert_error(await http.get(url, params={"after": bad}), 422, "bad_cursor")

        async with run_workers(client, stack.settings, stack.events):
            assert (await http.post(f"{conv}/end")).status_code == 202
            whole = await asyncio.wait_for(read_frames(http, url), 20)  # closes at the end
            handle = stack.conversations.handle(tenant_of(keys["alice"]), cid)
            await asyncio.wait_for(handle.result(), 20)
        last = whole[-1]
        resumed = await http.get(url, headers={"Last-Event-ID": last.id})
        raw = (await http.get(url)).content  # the whole log again, as bytes

    assert b"\r" not in raw and raw.count(b"\n\n") >= len(
        whole
    )  # LF framing    assert last.name == "RUN_FINISHED" and whole[-2].is_end
    assert resumed.status_code == 204  # EventSource stops reconnecting
    assert (await averify_events([f.data for f in whole]))["ok"]


async def _wait_status(http, conv: str, status: str) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(400):
        snap = (await http.get(conv)).json()
        if snap["status"] == status and not snap["queued_messages"]:
            return snap
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {status}: {snap}")


async def test_a_message_whose_answer_was_lost_is_applied_once_on_retry(
    client, fake_llm, redis_url
):
    """No workflow worker runs, so the client gives up waiting (a dropped
    connection). Temporal still holds the update and applies it when a worker
    comes back; the client's retry with the same key gets that first answer,
    and the conversation holds the message once, answered once."""
    api_keys, keys = tenant_keys("alice")
    async with (
        agent_stack(client, fake_llm, redis_url, api_keys=api_keys, with_workers=False) as stack,
        gateway(stack.settings) as base,
        api_client(base, keys["alice"]) as http,
    ):
        async with run_workers(client, stack.settings, stack.events):
            created = await http.post("/v1/conversations", json={"goal": "travel"})
            assert created.status_code == 201, created.text
            conv = f"/v1/conversations/{created.json()['id']}"
            await _wait_status(http, conv, "awaiting_input")
        body, once = {"text": "Melbourne in April please"}, {"Idempotency-Key": "msg-1"}
        with contextlib.suppress(httpx.ReadTimeout):  # the client hangs up
            await http.post(f"{conv}/messages", json=body, headers=once, timeout=1.0)
        async with run_workers(client, stack.settings, stack.events):
            retried = await http.post(f"{conv}/messages", json=body, headers=once)
            assert retried.status_code == 202, retried.text
            snap = await _wait_status(http, conv, "awaiting_confirmation")

    users = [m["text"] for m in snap["transcript"] if m["role"] == "user"]
    assert users == ["Melbourne in April please"]
    assert [m["role"] for m in snap["transcript"]] == ["user", "agent"]
