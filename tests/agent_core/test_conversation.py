"""The agent conversation end to end on a real Temporal dev server.

Workers are the services' own, litellm talks HTTP to the fake LLM, events go
to the real Redis. The fake's auto brain plays the travel agent unless a test
scripts the model's replies.
"""

from __future__ import annotations

import uuid

import pytest

from agent_core.models import ConversationStatus
from tests.support.stack import WHOLE_TRIP, agent_stack

S = ConversationStatus


@pytest.mark.parametrize(
    "llm_queue",
    ["", f"llm-{uuid.uuid4().hex[:8]}"],
    ids=["model calls on the workflow queue", "model calls on their own queue"],
)
async def test_travel_conversation_with_confirmations(client, fake_llm, redis_url, llm_queue):
    async with agent_stack(client, fake_llm, redis_url, llm_task_queue=llm_queue) as stack:
        cid = await stack.start("travel", WHOLE_TRIP)
        for tool in ("find_events", "search_flights", "create_invoice"):
            snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
            assert snap.pending_call is not None and snap.pending_call.name == tool
            await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        final = await stack.result(cid)
    assert final.status == S.ENDED
    results = [m.tool_result for m in final.transcript if m.role == "tool"]
    assert [r.name for r in results] == ["find_events", "search_flights", "create_invoice"]
    assert all(r.ok for r in results)
    assert final.transcript[0].role == "user"
