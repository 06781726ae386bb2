"""Small readers shared by the scenario tests: what the model saw, what the log holds.

The scenarios drive the real stack (``tests.support.stack``); these helpers
only read its outputs: the fake LLM's request log, the Redis event log and
the workflow's snapshot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from agent_core import activity_names as act
from agent_core.models import ConversationSnapshot, PlanTurnInput
from durable_agent.event_stream import StreamEvent
from fake_llm import FakeLLM, RecordedRequest
from tests.support.stack import AgentStack


def kinds(fake: FakeLLM) -> list[str]:
    """The kind of every model call so far, oldest first."""
    return [r.kind for r in fake.requests]


def last_user_text(request: RecordedRequest) -> str:
    """The last user message the model was sent (the prompt being judged or answered)."""
    users = [m for m in request.messages if m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else ""


def tool_messages(request: RecordedRequest) -> list[dict[str, Any]]:
    """The ``role: tool`` messages of a request, with their JSON content parsed."""
    return [
        {**m, "payload": json.loads(m["content"])}
        for m in request.messages
        if m.get("role") == "tool"
    ]


def agent_texts(snapshot: ConversationSnapshot) -> list[str]:
    return [m.text for m in snapshot.transcript if m.role == "agent"]


async def wait_until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def read_events(stack: AgentStack, conversation_id: str) -> list[StreamEvent]:
    """Every event of the conversation in stream order."""
    events: list[StreamEvent] = []
    after = "0"
    while True:
        batch = await stack.events.read_after(conversation_id, after)
        if not batch:
            return events
        events += [StreamEvent.parse(e.id, e.data) for e in batch]
        after = batch[-1].id


async def planned_call_id(stack: AgentStack, conversation_id: str) -> str:
    """The id the newest model call in the history gives the tool call it may propose."""
    handle = stack.conversations.handle(stack.tenant, conversation_id)
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == act.PLAN_STEP
    ]
    converter = stack.client.data_converter
    [plan] = await converter.decode(scheduled[-1].input.payloads, [PlanTurnInput])
    return plan.call_id


def deltas_of(events: list[StreamEvent], message_id: str) -> str:
    """The concatenated TEXT_MESSAGE_CONTENT deltas of one message id."""
    return "".join(
        e.data["delta"]
        for e in events
        if e.type == "TEXT_MESSAGE_CONTENT" and e.data.get("messageId") == message_id
    )
