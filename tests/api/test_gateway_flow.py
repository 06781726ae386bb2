"""The gateway end to end: REST + SSE on a real uvicorn, real Temporal and Redis."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.agui.client import averify_events as verify_events
from tests.support.gateway import api_client, gateway
from tests.support.stack import agent_stack

KEYS = "key-alice:alice,key-bob:bob"


async def read_until_end(client: httpx.AsyncClient, url: str, on_event=None, headers=None) -> list:
    events = []
    async with aconnect_sse(client, "GET", url, headers=headers or {}) as source:
        assert source.response.status_code == 200
        async for sse in source.aiter_sse():
            if not sse.event or (sse.event == "message" and not sse.data):
                continue  # keep-alive
            data = json.loads(sse.data)
            events.append((sse.id, sse.event, data))
            if on_event is not None:
                await on_event(data)
    return events


_TEXT = ["TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "agent_message"]
_PROPOSAL = [
    "TOOL_CALL_START",
    "TOOL_CALL_ARGS",
    "TOOL_CALL_END",
    "tool_call_awaiting_confirmation",
    "status_changed:awaiting_confirmation",
    "RUN_FINISHED",  # with an interrupt: the decision starts the next run
]
_TOOL_RUN = [
    "RUN_STARTED",
    "tool_call_decided",
    "status_changed:running_tool",
    "tool_started",
    "tool_progress",
    "TOOL_CALL_RESULT",
    "status_changed:thinking",
]

EXPECTED_TRAVEL_EVENTS = [
    "RUN_STARTED",
    "conversation_created",
    "user_message",
    "status_changed:thinking",
    *_TEXT,
    *_PROPOSAL,
    *_TOOL_RUN,
    *_TEXT,
    *_PROPOSAL,
    *_TOOL_RUN,
    *_TEXT,
    *_PROPOSAL,
    *_TOOL_RUN,
    *_TEXT,
    "status_changed:ended",
    "RUN_FINISHED",  # the stream closes here
]


def collapse(events: list) -> list[str]:
    """Event kinds in order, runs of deltas and of progress lines counted once."""
    kinds: list[str] = []
    for _, kind, data in events:
        if kind == "CUSTOM":
            kind = data["name"]
            if kind == "status_changed":
                kind += ":" + data["value"]["status"]
        if kind in ("TEXT_MESSAGE_CONTENT", "tool_progress") and kinds and kinds[-1] == kind:
            continue
        kinds.append(kind)
    return kinds


@pytest.mark.parametrize("llm_client", ["auto", "litellm"])
async def test_full_travel_conversation_over_sse(client, fake_llm, redis_url, llm_client):
    """Through either model client: the OpenAI SDK one (``auto`` for ``openai/``
    models) and litellm, which every other provider takes."""
    async with agent_stack(
        client, fake_llm, redis_url, api_keys=KEYS, llm_client=llm_client
    ) as stack:
        async with gateway(stack.settings) as base, api_client(base, "key-alice") as http:
            created = await http.post(
                "/v1/conversations", json={"goal": "travel", "message": "Melbourne in April please"}
            )
            assert created.status_code == 201, created.text
            body = created.json()

            async def confirm(data):
                if data.get("name") == "tool_call_awaiting_confirmation":
                    call_id = data["value"]["toolCallId"]
                    r = await http.post(
                        f"/v1/conversations/{body['id']}/tool-calls/{call_id}/confirm"
                    )
                    assert r.status_code == 202, r.text

            events = await read_until_end(http, body["events_url"], confirm)
    kinds = [e[1] if e[1] != "CUSTOM" else e[2]["name"] for e in events]
    assert collapse(events) == EXPECTED_TRAVEL_EVENTS
    assert kinds[-2] == "status_changed" and events[-2][2]["value"]["status"] == "ended"
    assert (await verify_events([e[2] for e in events]))["ok"]
    assert kinds.count("tool_call_awaiting_confirmation") == 3
    assert kinds.count("TOOL_CALL_RESULT") == 3
    ids = [e[0] for e in events]
    assert len(set(ids)) == len(ids)
    # deltas of each message concatenate to its agent_message
    deltas: dict[str, str] = {}
    for _, kind, data in events:
        if kind == "TEXT_MESSAGE_CONTENT":
            deltas[data["messageId"]] = deltas.get(data["messageId"], "") + data["delta"]
    finals = [d["value"] for _, k, d in events if k == "CUSTOM" and d["name"] == "agent_message"]
    assert finals
    for final in finals:
        assert deltas.get(final["messageId"], "") == final["text"]
