"""Approval policy (ask, auto, never; "always allow"; a policy at creation) and edits."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from agent_core.approval import edit_problems, policy_of, withheld_tools
from agent_core.errors import ErrorType
from agent_core.models import AgentConfig, ConversationStatus, ToolPolicy
from agent_core.registry import TOOLS
from agent_core.specs import ToolSpec
from fake_llm import Reply
from tests.agent_core.scenario import read_events, tool_messages
from tests.agui.client import verify_events
from tests.support.stack import agent_stack

S = ConversationStatus
P = ToolPolicy


@pytest.mark.fast
def test_policy_resolution() -> None:
    config = AgentConfig(tool_policies={"find_events": P.AUTO, "create_invoice": P.NEVER})
    assert policy_of("find_events", config, {}) is P.AUTO
    assert policy_of("search_flights", config, {}) is P.ASK  # not declared: ask
    assert policy_of("search_flights", config, {"search_flights": P.AUTO}) is P.AUTO
    assert policy_of("find_events", config, {"find_events": P.NEVER}) is P.NEVER
    # the registry's never is final; with confirmation off, ask means auto
    assert policy_of("create_invoice", config, {"create_invoice": P.AUTO}) is P.NEVER
    off = config.model_copy(update={"show_confirm": False})
    assert policy_of("search_flights", off, {}) is P.AUTO
    assert withheld_tools(config, {"find_events": P.NEVER}) == ["create_invoice", "find_events"]
    # a config recorded before policies existed asks for every tool, as it did then
    assert policy_of("find_events", AgentConfig(), {}) is P.ASK


@pytest.mark.fast
def test_the_registry_declares_policies_and_edits_are_checked_against_schemas() -> None:
    assert TOOLS["find_order"].approval is P.AUTO
    assert all(t.approval is P.ASK for t in TOOLS.values() if t.side_effects)
    with pytest.raises(ValueError, match="side effects"):
        ToolSpec("x", "d", {}, "h:x", side_effects=True, approval=P.AUTO)
    assert edit_problems("find_events", {"city": "Sydney", "month": "April"}) == []
    assert edit_problems("find_events", {"city": "Sydney"}) == ["missing month"]
    assert edit_problems("switch_goal", {"goal": "nowhere"}) != []


async def test_an_auto_tool_is_proposed_decided_and_run_inside_one_run(client, fake_llm, redis_url):
    fake_llm.script(
        "plan", Reply.call("find_order", email="sam.rivera@example.com"), "Here are your orders."
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("order_tracking", "Where are my orders? sam.rivera@example.com")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)
    [result] = [m.tool_result for m in snap.transcript if m.tool_result]
    assert result.name == "find_order" and result.ok
    names = [e.name or e.type for e in events]
    assert "tool_call_awaiting_confirmation" not in names
    [decided] = [e for e in events if e.name == "tool_call_decided"]
    assert decided.value["automatic"] is True and decided.value["approved"] is True
    assert names.count("RUN_STARTED") == 1  # no interrupt: one run, proposal to answer
    assert not [e for e in events if e.type == "RUN_FINISHED" and e.data.get("outcome")]
    assert verify_events([e.data for e in events])["ok"]


async def test_policies_set_at_creation_apply_to_that_conversation(client, fake_llm, redis_url):
    policies = {"find_events": P.AUTO, "create_invoice": P.NEVER, "switch_goal": P.NEVER}
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start(
            "travel", "Melbourne in April, from Sydney 10 to 14 April", tool_policies=policies
        )
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        events = await read_events(stack, cid)
    assert snap.tool_policies == policies
    # find_events ran without asking; search_flights, still "ask", waits
    assert [m.tool_result.name for m in snap.transcript if m.tool_result] == ["find_events"]
    assert snap.pending_call is not None and snap.pending_call.name == "search_flights"
    cards = [e.value["name"] for e in events if e.name == "tool_call_awaiting_confirmation"]
    assert cards == ["search_flights"]
    # a never tool is not offered to the model at all (switch_goal neither: it stays put)
    plans = [r for r in fake_llm.requests if r.kind == "plan"]
    assert plans[0].tools == ["find_events", "search_flights", "done", "refuse"]
    assert all("create_invoice" not in r.tools and "switch_goal" not in r.tools for r in plans)
    assert verify_events([e.data for e in events])["ok"]


async def test_always_allow_from_the_card_lets_later_calls_run_without_asking(
    client, fake_llm, redis_url
):
    fake_llm.script(
        "plan",
        Reply.call("find_events", city="Melbourne", month="April"),
        Reply.call("find_events", city="Sydney", month="April"),
        "Both searches are done.",
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "Events in Melbourne, then Sydney, in April")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None
        await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id, always=True)
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)
    assert snap.tool_policies == {"find_events": P.AUTO}
    results = [m.tool_result for m in snap.transcript if m.tool_result]
    assert [(r.name, r.ok) for r in results] == [("find_events", True), ("find_events", True)]
    [changed] = [e for e in events if e.name == "tool_policy_changed"]
    assert changed.value == {"name": "find_events", "policy": "auto"}
    decided = [e.value["automatic"] for e in events if e.name == "tool_call_decided"]
    assert decided == [False, True]
    assert [e.name for e in events].count("tool_call_awaiting_confirmation") == 1
    assert verify_events([e.data for e in events])["ok"]


async def test_an_edit_is_checked_then_runs_and_the_transcript_keeps_both(
    client, fake_llm, redis_url
):
    fake_llm.script("plan", Reply.call("find_events", city="Melbourne", month="April"))
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start(
            "travel", "Events in Melbourne in April, from Sydney 10 to 14 April"
        )
        before = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        call = before.pending_call
        assert call is not None
        with pytest.raises(WorkflowUpdateFailedError) as bad:
            await stack.conversations.edit(stack.tenant, cid, call.id, {"city": "Sydney"})
        assert bad.value.cause.type == ErrorType.BAD_TOOL_ARGS
        assert "missing month" in str(bad.value.cause.message)
        assert (await stack.snapshot(cid)).last_seq == before.last_seq  # never entered history

        edited = {"city": "Sydney", "month": "April"}
        first = await stack.conversations.edit(stack.tenant, cid, call.id, edited)
        again = await stack.conversations.edit(stack.tenant, cid, call.id, edited)
        assert again == first and first.approved
        with pytest.raises(WorkflowUpdateFailedError) as late:
            await stack.conversations.confirm(stack.tenant, cid, call.id)
        assert late.value.cause.type == ErrorType.NOTHING_PENDING
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        events = await read_events(stack, cid)

    proposal = next(m for m in snap.transcript if m.tool_call and m.role == "agent")
    ran = next(m for m in snap.transcript if m.role == "tool")
    assert proposal.tool_call.args == {"city": "Melbourne", "month": "April"}
    assert ran.tool_call is not None and ran.tool_call.args == edited
    assert ran.tool_result is not None and ran.tool_result.ok
    assert "edited" in ran.text
    [decided] = [e for e in events if e.name == "tool_call_decided"]
    assert decided.value["editedArgs"] == edited
    [started] = [e for e in events if e.name == "tool_started"]
    assert started.value["args"] == edited
    # the model hears what ran
    [answer] = tool_messages([r for r in fake_llm.requests if r.kind == "plan"][1])
    assert answer["payload"]["edited_by_user"] == {"args": edited}
    assert verify_events([e.data for e in events])["ok"]
