"""Conversation control through the gateway: the busy policy and stopping a turn.

REST and SSE on a real uvicorn, over the real stack; a slow fake model keeps a
turn in flight while the test acts on it.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from agent_core.models import EventRecord
from fake_llm import Reply
from tests.agui.client import averify_events as verify_events
from tests.api.sse_client import read_frames
from tests.support.gateway import api_client, gateway
from tests.support.stack import agent_stack

KEYS = "key-carol:carol"
SLOW = Reply.say("Thinking hard about Melbourne in April, slowly.", chunk_chars=2, chunk_delay=0.3)


async def answering(http: httpx.AsyncClient, cid: str) -> None:
    """Until the conversation is thinking (its turn is in flight)."""
    for _ in range(200):
        body = (await http.get(f"/v1/conversations/{cid}")).json()
        if body["status"] == "thinking":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the agent never started answering")


async def test_busy_policy_and_stop_over_http(client, fake_llm, redis_url):
    fake_llm.script("plan", SLOW, SLOW, "Sydney in May it is.")
    async with agent_stack(client, fake_llm, redis_url, api_keys=KEYS) as stack:
        async with gateway(stack.settings) as base, api_client(base, "key-carol") as http:
            created = await http.post(
                "/v1/conversations",
                json={"goal": "travel", "message": "Melbourne in April", "busy_policy": "reject"},
            )
            assert created.status_code == 201, created.text
            cid = created.json()["id"]
            await answering(http, cid)
            busy = await http.post(f"/v1/conversations/{cid}/messages", json={"text": "hello?"})

            stop_url = f"/v1/conversations/{cid}/stop"
            stopped = await http.post(stop_url, headers={"Idempotency-Key": "stop-a"})
            again = await http.post(stop_url, headers={"Idempotency-Key": "stop-a"})
            by_run = await http.post(stop_url, json={"run_id": stopped.json()["run_id"]})
            for _ in range(100):
                if (await http.get(f"/v1/conversations/{cid}")).json()["status"] != "thinking":
                    break
                await asyncio.sleep(0.05)
            idle = await http.post(stop_url)
            bad = await http.post(stop_url, json={"run": "x"})
            bad_policy = await http.post(
                f"/v1/conversations/{cid}/messages", json={"text": "x", "busy_policy": "later"}
            )

            # this message asks to interrupt, whatever the conversation's policy
            sent = await http.post(f"/v1/conversations/{cid}/messages", json={"text": "Melbourne"})
            await answering(http, cid)
            interrupting = await http.post(
                f"/v1/conversations/{cid}/messages",
                json={"text": "No: Sydney in May", "busy_policy": "interrupt"},
            )
            for _ in range(200):
                body = (await http.get(f"/v1/conversations/{cid}")).json()
                if body["status"] == "awaiting_input" and not body["queued_messages"]:
                    break
                await asyncio.sleep(0.05)
            ended = await http.post(f"/v1/conversations/{cid}/end")
            assert ended.status_code == 202
            events = await read_frames(http, f"/v1/conversations/{cid}/events")

    assert busy.status_code == 409, busy.text
    error = busy.json()["error"]
    assert error["code"] == "agent_busy"
    [collided] = error["details"]
    assert collided["busy"] == "thinking" and collided["run_id"] and collided["turn_seq"] > 0

    assert stopped.status_code == 202, stopped.text
    first = stopped.json()
    assert first["duplicate"] is False and first["run_id"] == collided["run_id"]
    assert again.json() == first
    assert by_run.status_code == 202 and by_run.json() == {**first, "duplicate": True}
    assert idle.status_code == 409 and idle.json()["error"]["code"] == "nothing_running"
    assert bad.status_code == 422
    assert bad_policy.status_code == 422, bad_policy.text

    assert sent.status_code == 202 and interrupting.status_code == 202
    transcript = [(m["role"], m["text"]) for m in body["transcript"]]
    assert transcript == [
        ("user", "Melbourne in April"),
        ("agent", "(stopped by the user)"),
        ("user", "Melbourne"),
        ("agent", "(interrupted by a newer message)"),
        ("user", "No: Sydney in May"),
        ("agent", "Sydney in May it is."),
    ]
    data = [e.data for e in events]
    stops = [d["value"] for d in data if d.get("name") == "turn_stopped"]
    assert [s["byUser"] for s in stops] == [True, False]
    outcomes = [d.get("outcome") for d in data if d["type"] == "RUN_FINISHED"]
    assert outcomes[0] == {"type": "cancelled"}
    assert (await verify_events(data))["ok"]


async def test_a_new_run_refused_by_a_workflow_behind_its_log_waits_for_it(
    client, fake_llm, redis_url
):
    """A worker that dies after its workflow task wrote the end of a run leaves
    the workflow behind its log: the retried task still has the turn in flight,
    so a client that saw the end and starts a new run would get 409. The gateway
    sees the log hold more events than the refusal says were written and sends
    the message again until the workflow gets there. The dead task's write is
    made here by hand, with the next number the workflow will give."""
    fake_llm.script("plan", SLOW, "Sydney in May it is.")
    async with agent_stack(client, fake_llm, redis_url, api_keys=KEYS) as stack:
        async with gateway(stack.settings) as base, api_client(base, "key-carol") as http:
            created = await http.post(
                "/v1/conversations", json={"goal": "travel", "message": "Melbourne in April"}
            )
            cid = created.json()["id"]
            await answering(http, cid)
            message = {"id": "m-2", "role": "user", "content": "Sydney in May"}
            run = {"threadId": cid, "messages": [message]}
            early = await http.post("/v1/ag-ui/travel", json={**run, "runId": "run-early"})
            [refused] = early.json()["error"]["details"]
            written = refused["events_written"]
            ahead = {"type": "CUSTOM", "name": "written_by_a_dead_task", "value": {}}
            record = EventRecord(key="dead-task", data=json.dumps(ahead), n=written + 1)
            await stack.events.publish(cid, [record])
            late = await http.post("/v1/ag-ui/travel", json={**run, "runId": "run-late"})
            body = (await http.get(f"/v1/conversations/{cid}")).json()

    assert early.status_code == 409 and early.json()["error"]["code"] == "run_in_progress"
    assert refused["run_id"] and written > 0
    assert late.status_code == 200, late.text
    frames = [json.loads(line[5:]) for line in late.text.splitlines() if line.startswith("data:")]
    assert frames[0]["type"] == "RUN_STARTED" and frames[0]["runId"] == "run-late"
    assert frames[-1]["type"] == "RUN_FINISHED" and frames[-1]["runId"] == "run-late"
    users = [m["text"] for m in body["transcript"] if m["role"] == "user"]
    assert users == ["Melbourne in April", "Sydney in May"]


async def test_an_idle_conversation_closes_itself_and_stays_readable(client, fake_llm, redis_url):
    fake_llm.script("plan", "Which city?")
    async with agent_stack(
        client, fake_llm, redis_url, api_keys=KEYS, agent_idle_timeout_seconds=1.5
    ) as stack:
        async with gateway(stack.settings) as base, api_client(base, "key-carol") as http:
            created = await http.post("/v1/conversations", json={"goal": "travel", "message": "Hi"})
            cid = created.json()["id"]
            events = await read_frames(http, f"/v1/conversations/{cid}/events")
            for _ in range(100):  # the workflow closes a moment after its last event
                listed = (await http.get("/v1/conversations")).json()["conversations"]
                if not next(c for c in listed if c["id"] == cid)["running"]:
                    break
                await asyncio.sleep(0.05)
            read = await http.get(f"/v1/conversations/{cid}")
            replayed = await read_frames(http, f"/v1/conversations/{cid}/events")
            late = await http.post(f"/v1/conversations/{cid}/messages", json={"text": "hello?"})
            stop = await http.post(f"/v1/conversations/{cid}/stop")

    data = [e.data for e in events]
    assert [d.get("name") or d["type"] for d in data[-3:]] == [
        "conversation_timed_out",
        "status_changed",
        "RUN_FINISHED",
    ]
    assert data[-3]["value"] == {"reason": "idle_timeout", "idleSeconds": 1.5}
    assert read.status_code == 200
    body = read.json()
    assert body["status"] == "ended"
    assert [(m["role"], m["text"]) for m in body["transcript"]] == [
        ("user", "Hi"),
        ("agent", "Which city?"),
    ]
    assert [e.data for e in replayed] == data  # the log is kept for a while after the end
    assert late.status_code == 409 and late.json()["error"]["code"] == "conversation_ended"
    assert stop.status_code == 409 and stop.json()["error"]["code"] == "conversation_ended"
    assert (await verify_events(data))["ok"]
