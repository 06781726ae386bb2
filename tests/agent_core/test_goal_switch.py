"""Switching goals mid-conversation: the planner's switch_goal, the API's, the starter goal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from agent_core.errors import ErrorType
from agent_core.models import (
    ConversationStatus,
    EventRecord,
    Message,
    PlanTurnInput,
    TurnContext,
)
from fake_llm import Reply
from tests.agent_core.scenario import agent_texts, read_events
from tests.agui.client import verify_events
from tests.support.stack import agent_stack, stack_settings
from worker_llm.chat_model import chat_model_for
from worker_llm.legacy import LegacyLLMActivities
from worker_llm.main import agent_config

S = ConversationStatus
#: what the auto brain needs to reach each goal's side effect without asking
TIME_OFF = "Actually I need to book time off first: I'm E1042, annual leave 3 to 7 May"
RETURN = "My order ORD-48213 came but the shoes are too small"
HR_TOOLS = ["check_leave_balance", "book_leave", "switch_goal", "done"]


def plan_requests(fake_llm):
    return [r for r in fake_llm.requests if r.kind == "plan"]


async def test_the_agent_proposes_a_switch_and_the_new_goal_applies_from_the_next_turn(
    client, fake_llm, redis_url
):
    fake_llm.script(
        "plan", Reply.call("switch_goal", goal="hr_time_off").replace(text="Let me hand over.")
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", TIME_OFF)
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        call = snap.pending_call
        assert call is not None and call.name == "switch_goal"
        assert call.args == {"goal": "hr_time_off"}
        await stack.conversations.confirm(stack.tenant, cid, call.id)
        # the HR agent takes over: check_leave_balance runs (auto), book_leave asks
        snap = await stack.wait_for(
            cid, lambda s: s.pending_call is not None and s.pending_call.name == "book_leave"
        )
        events = await read_events(stack, cid)
    assert snap.goal_id == "hr_time_off"
    first, *after = plan_requests(fake_llm)
    assert "switch_goal" in first.tools and "find_events" in first.tools
    assert "if another goal serves it, propose `switch_goal`" in first.messages[0]["content"]
    assert after and all(r.tools == HR_TOOLS for r in after)
    assert "Time-off assistant" in str(after[0].messages[0]["content"])
    # one transcript: the travel turn, the switch, then the HR turns
    assert snap.transcript[0].text == TIME_OFF
    names = [m.tool_result.name for m in snap.transcript if m.tool_result]
    assert names == ["switch_goal", "check_leave_balance"]
    [changed] = [e for e in events if e.name == "goal_changed"]
    assert changed.value == {"goal": "hr_time_off", "previous": "travel"}
    results = [e for e in events if e.type == "TOOL_CALL_RESULT"]
    assert results[0].data["toolCallId"] == call.id
    assert not [e for e in events if e.name == "tool_started" and e.value["name"] == "switch_goal"]
    assert verify_events([e.data for e in events])["ok"]


async def test_the_api_switches_goal_directly_withdrawing_a_proposal(client, fake_llm, redis_url):
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", f"Melbourne in April. {RETURN}")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        stale = snap.pending_call
        assert stale is not None
        with pytest.raises(WorkflowUpdateFailedError) as unknown:
            await stack.conversations.switch_goal(stack.tenant, cid, "astrology")
        assert unknown.value.cause.type == ErrorType.UNKNOWN_GOAL

        switched = await stack.conversations.switch_goal(
            stack.tenant, cid, "order_tracking", request_id="g-1"
        )
        again = await stack.conversations.switch_goal(
            stack.tenant, cid, "order_tracking", request_id="g-1"
        )
        assert switched.goal == "order_tracking" and not switched.unchanged
        assert again == switched  # a retry gets the first answer
        # the order helper takes over: its lookups run (auto), request_return asks
        snap = await stack.wait_for(
            cid, lambda s: s.pending_call is not None and s.pending_call.name == "request_return"
        )
        with pytest.raises(WorkflowUpdateFailedError) as withdrawn:
            await stack.conversations.confirm(stack.tenant, cid, stale.id)
        same = await stack.conversations.switch_goal(stack.tenant, cid, "order_tracking")
        await stack.conversations.end(stack.tenant, cid)
        await stack.result(cid)
        with pytest.raises(RPCError) as closed:
            await stack.conversations.switch_goal(stack.tenant, cid, "travel")
        events = await read_events(stack, cid)
    assert withdrawn.value.cause.type == ErrorType.NOTHING_PENDING
    assert closed.value.status == RPCStatusCode.NOT_FOUND  # the gateway's 409
    assert same.unchanged
    assert snap.goal_id == "order_tracking"
    tools = [m.tool_result.name for m in snap.transcript if m.tool_result]
    assert tools == ["switch_goal", "find_order", "track_shipment"]
    names = [e.name or e.type for e in events]
    assert names.count("goal_changed") == 1
    assert names.index("tool_call_withdrawn") == names.index("goal_changed") + 1
    assert "order_tracking" in plan_requests(fake_llm)[1].messages[-1]["content"]
    assert verify_events([e.data for e in events])["ok"]


async def test_the_starter_goal_lists_the_goals_and_hands_over(client, fake_llm, redis_url):
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("goal_choice", "Hello")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        assert "order_tracking" in agent_texts(snap)[-1]
        await stack.conversations.send(stack.tenant, cid, f"Order tracking, please. {RETURN}")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None and snap.pending_call.name == "switch_goal"
        await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        snap = await stack.wait_for(
            cid, lambda s: s.pending_call is not None and s.pending_call.name == "request_return"
        )
    first = plan_requests(fake_llm)[0]
    assert first.tools == ["switch_goal", "done", "refuse"]
    system = str(first.messages[0]["content"])
    assert all(goal in system for goal in ("travel", "hr_time_off", "order_tracking"))
    assert snap.goal_id == "order_tracking"
    ran = [m.tool_result.name for m in snap.transcript if m.tool_result]
    assert ran == ["switch_goal", "find_order", "track_shipment"]


class Unlogged:
    """An event sink that keeps nothing: this call belongs to no workflow's log."""

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None:
        return None


async def test_a_0_1_conversation_is_never_offered_switch_goal(client, fake_llm, redis_url):
    """The frozen AgentWorkflow cannot run switch_goal: its plan call never offers it."""
    settings = stack_settings(client, fake_llm, redis_url)
    context = TurnContext(
        conversation_id=uuid.uuid4().hex,
        goal_id="travel",
        summary="",
        window=[
            Message(
                seq=1, role="user", text="Events in Tokyo in June, or I'd rather track an order"
            )
        ],
        seq=2,
        max_attempts=1,
    )
    legacy = LegacyLLMActivities(chat_model_for(settings), Unlogged(), agent_config(settings))
    step = await ActivityEnvironment().run(
        legacy.plan_turn, PlanTurnInput(context=context, call_id="call-1", show_confirm=True)
    )
    assert step.next == "confirm"
    [request] = plan_requests(fake_llm)
    assert "switch_goal" not in request.messages[0]["content"]
    assert request.tools == [
        "find_events",
        "search_flights",
        "create_invoice",
        "done",
        "refuse",
    ]
