"""The gateway end to end: REST + SSE on a real uvicorn, real Temporal and Redis."""

from __future__ import annotations

import pytest

from durable_agent.event_stream import StreamEvent
from tests.agui.client import averify_events as verify_events
from tests.api.sse_client import auto_confirm, read_frames
from tests.support.gateway import api_client, gateway
from tests.support.stack import WHOLE_TRIP, agent_stack

KEYS = "key-alice:alice,key-bob:bob"


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


def collapse(events: list[StreamEvent]) -> list[str]:
    """Event kinds in order, runs of deltas and of progress lines counted once."""
    kinds: list[str] = []
    for event in events:
        kind = event.name
        if kind == "status_changed":
            kind += ":" + event.value["status"]
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
                "/v1/conversations", json={"goal": "travel", "message": WHOLE_TRIP}
            )
            assert created.status_code == 201, created.text
            body = created.json()
            confirm = auto_confirm(http, body["id"])
            events = await read_frames(http, body["events_url"], on_frame=confirm)
    kinds = [e.name for e in events]
    assert collapse(events) == EXPECTED_TRAVEL_EVENTS
    assert events[-2].is_end
    assert (await verify_events([e.data for e in events]))["ok"]
    assert kinds.count("tool_call_awaiting_confirmation") == 3
    assert kinds.count("TOOL_CALL_RESULT") == 3
    ids = [e.id for e in events]
    assert len(set(ids)) == len(ids)
    # deltas of each message concatenate to its agent_message
    deltas: dict[str, str] = {}
    for e in events:
        if e.type == "TEXT_MESSAGE_CONTENT":
            deltas[e.data["messageId"]] = deltas.get(e.data["messageId"], "") + e.data["delta"]
    finals = [e.value for e in events if e.name == "agent_message"]
    assert finals
    for final in finals:
        assert deltas.get(final["messageId"], "") == final["text"]
