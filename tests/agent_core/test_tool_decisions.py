"""Tool calls: confirmation off, rejection, tool failure, bad decisions, ending the chat."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from agent_core import events as ev
from agent_core.errors import ErrorType
from agent_core.models import ConversationStatus
from fake_llm import Reply
from tests.agent_core.scenario import (
    agent_texts,
    kinds,
    planned_call_id,
    read_events,
    tool_messages,
    wait_until,
)
from tests.agui.client import verify_events
from tests.support.stack import WHOLE_TRIP, agent_stack

S = ConversationStatus
#: what the auto brain needs to go on from find_events to search_flights
FLIGHTS = "from Sydney 10 to 14 April"
TRAVEL_TOOLS = ["find_events", "search_flights", "create_invoice"]


async def test_with_confirmation_off_tools_run_without_asking(client, fake_llm, redis_url):
    async with agent_stack(client, fake_llm, redis_url, agent_show_confirm=False) as stack:
        cid = await stack.start("travel", WHOLE_TRIP)
        final = await stack.result(cid)
        events = await read_events(stack, cid)
    assert final.status == S.ENDED
    results = [m.tool_result for m in final.transcript if m.tool_result]
    assert [r.name for r in results] == TRAVEL_TOOLS
    assert all(r.ok for r in results)
    assert [e.name for e in events].count("tool_call_awaiting_confirmation") == 0
    statuses = [e.value["status"] for e in events if e.name == "status_changed"]
    assert "awaiting_confirmation" not in statuses
    assert statuses.count("running_tool") >= 3 and statuses[-1] == "ended"
    started = [e.value["name"] for e in events if e.name == "tool_started"]
    assert started == TRAVEL_TOOLS
    assert [e.data["toolCallName"] for e in events if e.type == "TOOL_CALL_START"] == TRAVEL_TOOLS
    # one model call per turn: the first (which also judges the message) and one per result
    assert kinds(fake_llm) == ["plan", "plan", "plan", "plan"]
    assert verify_events([e.data for e in events])["ok"]


async def test_rejected_tool_call_is_reported_to_the_model_and_the_chat_goes_on(
    client, fake_llm, redis_url
):
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", f"An event in Melbourne in April, {FLIGHTS}")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        call = snap.pending_call
        assert call is not None and call.name == "find_events"
        decided = await stack.conversations.reject(stack.tenant, cid, call.id, "wrong city")
        assert decided.approved is False and decided.call_id == call.id
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)

        tool = next(m for m in snap.transcript if m.role == "tool")
        assert tool.tool_result is not None and tool.tool_result.ok is False
        assert tool.tool_result.output == {"rejected": True, "reason": "wrong city"}
        assert "wrong city" in tool.text
        # The model heard about it as the answer to its own call ...
        after_reject = [r for r in fake_llm.requests if r.kind == "plan"][-1]
        [answer] = tool_messages(after_reject)
        assert answer["tool_call_id"] == call.id
        assert answer["payload"]["rejected"] is True
        assert answer["payload"]["reason"] == "wrong city"
        assert answer["payload"]["ok"] is False
        # ... and told the user (the fake says so when it sees a rejection).
        assert "rejected: wrong city" in agent_texts(snap)[-1]
        assert snap.pending_call is None
        # No tool ran.
        events = await read_events(stack, cid)
        assert not [e for e in events if e.name == "tool_started"]

        # The conversation goes on: a new message gets a new proposal, which runs.
        await stack.conversations.send(stack.tenant, cid, "Sorry, Melbourne is right after all")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None and snap.pending_call.id != call.id
        await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    results = [m.tool_result for m in snap.transcript if m.tool_result]
    assert [(r.name, r.ok) for r in results] == [("find_events", False), ("find_events", True)]


async def test_failed_tool_is_reported_as_a_failure_never_as_completed(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.call("find_events", city="Atlantis", month="April"))
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Atlantis in April")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None
        await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)

    tool = next(m for m in snap.transcript if m.role == "tool")
    assert tool.tool_result is not None
    assert tool.tool_result.ok is False
    assert "Atlantis" in (tool.tool_result.error or "")
    assert "completed" not in tool.text
    assert "failed" in tool.text

    plans = [r for r in fake_llm.requests if r.kind == "plan"]
    assert len(plans) == 2
    [answer] = tool_messages(plans[1])
    assert answer["payload"]["ok"] is False
    assert "Atlantis" in answer["payload"]["error"]
    assert all("completed" not in str(m.get("content")) for m in plans[1].messages[1:])
    assert "didn't work" in agent_texts(snap)[-1]

    failed = [e for e in events if e.name == "tool_failed"]
    assert len(failed) == 1 and "Atlantis" in failed[0].value["error"]
    assert not [e for e in events if e.type == "TOOL_CALL_RESULT"]


async def test_confirm_with_nothing_pending_or_the_wrong_call_is_refused(
    client, fake_llm, redis_url
):
    fake_llm.script("plan", "Which city would you like?")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "I want to go somewhere")
        await stack.wait_status(cid, S.AWAITING_INPUT)
        with pytest.raises(WorkflowUpdateFailedError) as nothing:
            await stack.conversations.confirm(stack.tenant, cid, "call-1")
        assert nothing.value.cause.type == ErrorType.NOTHING_PENDING
        with pytest.raises(WorkflowUpdateFailedError) as nothing_to_reject:
            await stack.conversations.reject(stack.tenant, cid, "call-1", None)
        assert nothing_to_reject.value.cause.type == ErrorType.NOTHING_PENDING

        await stack.conversations.send(stack.tenant, cid, f"Melbourne in April, {FLIGHTS}")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id + "-x")
        assert wrong.value.cause.type == ErrorType.NOTHING_PENDING
        after = await stack.snapshot(cid)
        assert after.pending_call == snap.pending_call
        assert after.last_seq == snap.last_seq

        # The right id works, once: a second confirm (a retry) gets the first answer,
        # and a reject after it is refused, because the proposal is decided.
        first = await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        again = await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        assert again == first
        with pytest.raises(WorkflowUpdateFailedError) as decided:
            await stack.conversations.reject(stack.tenant, cid, snap.pending_call.id, None)
        assert decided.value.cause.type == ErrorType.NOTHING_PENDING
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    results = [m.tool_result for m in snap.transcript if m.tool_result]
    assert [r.name for r in results] == ["find_events"]


async def test_a_decision_sent_before_the_proposal_is_made_waits_for_it(
    client, fake_llm, redis_url
):
    """A client can see a proposal before the workflow has it (its publish ran in
    a workflow task whose worker died; the retried task gets the decision before
    the model's answer). A decision for the call the model is proposing waits for
    the proposal instead of being refused; one for a turn that proposes nothing
    is refused once the turn is over, as any decision with nothing pending is."""
    fake_llm.script(
        "plan",
        Reply.call("find_events", city="Melbourne", month="April").replace(hang_seconds=2.0),
        Reply.say("Which dates suit you?", hang_seconds=2.0),
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        await wait_until(lambda: kinds(fake_llm) == ["plan"])
        call_id = await planned_call_id(stack, cid)
        with pytest.raises(WorkflowUpdateFailedError) as other:
            await stack.conversations.confirm(stack.tenant, cid, call_id + "-x")
        assert other.value.cause.type == ErrorType.NOTHING_PENDING
        decided = await stack.conversations.confirm(stack.tenant, cid, call_id)
        assert decided.approved is True and decided.call_id == call_id

        await wait_until(lambda: kinds(fake_llm) == ["plan", "plan"])
        second = await planned_call_id(stack, cid)
        assert second != call_id
        with pytest.raises(WorkflowUpdateFailedError) as never_proposed:
            await stack.conversations.reject(stack.tenant, cid, second, None)
        assert never_proposed.value.cause.type == ErrorType.NOTHING_PENDING
        snap = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)
    [tool] = [m for m in snap.transcript if m.role == "tool"]
    assert tool.tool_result is not None and tool.tool_result.ok
    assert tool.tool_call is not None and tool.tool_call.id == call_id
    assert [e.value["name"] for e in events if e.name == "tool_started"] == ["find_events"]
    names = [e.name for e in events]
    decided_at = names.index(ev.CustomName.TOOL_CALL_DECIDED)
    assert names.index(ev.CustomName.TOOL_CALL_AWAITING_CONFIRMATION) < decided_at
    assert snap.pending_call is None
    assert verify_events([e.data for e in events])["ok"]


async def test_end_chat_completes_the_workflow_and_refuses_later_prompts(
    client, fake_llm, redis_url
):
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        ended = await stack.conversations.end(stack.tenant, cid, "bye")
        assert ended.already_ended is False
        final = await stack.result(cid)
        assert final.status == S.ENDED
        assert final.pending_call is None

        # The workflow has closed: later updates fail at the service, the result stays.
        with pytest.raises(RPCError) as late_prompt:
            await stack.conversations.send(stack.tenant, cid, "are you still there?")
        assert late_prompt.value.status == RPCStatusCode.NOT_FOUND
        late_end = await stack.conversations.end(stack.tenant, cid)  # a retry of the end
        assert late_end == ended
        assert (await stack.snapshot(cid)).transcript == final.transcript


async def test_ending_twice_at_once_ends_once(client, fake_llm, redis_url):
    """Two ends racing are one request: both get the same answer, and it ends once."""
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        outcomes = await asyncio.gather(
            stack.conversations.end(stack.tenant, cid, "bye"),
            stack.conversations.end(stack.tenant, cid, "bye again"),
        )
        final = await stack.result(cid)
        events = await read_events(stack, cid)
    assert final.status == S.ENDED
    assert outcomes[0] == outcomes[1] and outcomes[0].already_ended is False
    assert [e.value["status"] for e in events if e.name == "status_changed"].count("ended") == 1


async def wait_for_plan_request(fake_llm, count: int = 1) -> None:
    for _ in range(400):
        if sum(r.kind == "plan" for r in fake_llm.requests) >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the plan call never reached the model")


async def test_a_confirm_before_the_workflow_made_its_proposal_is_refused(
    client, fake_llm, redis_url
):
    # The proposal is written by the workflow once it has the plan's result, and
    # its id is random: a confirm sent while the model is still answering, with
    # the id the 0.1 workflow would have used, names nothing.
    fake_llm.script(
        "plan", Reply.call("find_events", city="Melbourne", month="April").replace(hang_seconds=1.5)
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "Melbourne in April")
        await wait_for_plan_request(fake_llm)
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await stack.conversations.confirm(stack.tenant, cid, "call-2")
        assert early.value.cause.type == ErrorType.NOTHING_PENDING
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None and snap.pending_call.id != "call-2"
        with pytest.raises(WorkflowUpdateFailedError):
            await stack.conversations.confirm(stack.tenant, cid, "call-2")
        decided = await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        again = await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        snap = await stack.wait_for(cid, lambda s: any(m.tool_result for m in s.transcript))
    assert again == decided  # a retried decision gets the first answer, runs nothing twice
    [result] = [m.tool_result for m in snap.transcript if m.tool_result]
    assert result.name == "find_events" and result.ok


async def test_a_message_instead_of_a_decision_withdraws_the_proposal_visibly(
    client, fake_llm, redis_url
):
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        call = snap.pending_call
        assert call is not None
        await stack.conversations.send(stack.tenant, cid, "Actually, make it Sydney")
        await stack.wait_for(
            cid, lambda s: s.pending_call is not None and s.pending_call.id != call.id
        )
        with pytest.raises(WorkflowUpdateFailedError) as stale:
            await stack.conversations.confirm(stack.tenant, cid, call.id)
        events = await read_events(stack, cid)
    assert stale.value.cause.type == ErrorType.NOTHING_PENDING
    [withdrawn] = [e for e in events if e.name == "tool_call_withdrawn"]
    assert withdrawn.value["toolCallId"] == call.id
    names = [e.name or e.type for e in events]
    # in the run the message opened: the message, then the withdrawal it caused
    assert names.index("tool_call_withdrawn") == names.index("user_message", 3) + 1
    assert verify_events([e.data for e in events])["ok"]


async def test_a_proposal_made_while_a_message_waits_is_withdrawn_when_it_is_taken(
    client, fake_llm, redis_url
):
    """A message queued while the model was making a proposal is sent instead of
    deciding it, too (the user had not seen it, or saw it from a workflow task
    that died): its turn withdraws the proposal, which can no longer be confirmed."""
    fake_llm.script(
        "plan",
        Reply.call("find_events", city="Melbourne", month="April").replace(hang_seconds=2.0),
        "Sydney it is. Which month?",
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "An event in Melbourne in April")
        await wait_until(lambda: kinds(fake_llm) == ["plan"])
        call_id = await planned_call_id(stack, cid)
        await stack.conversations.send(stack.tenant, cid, "Actually, make it Sydney")
        snap = await stack.wait_for(cid, lambda s: len(agent_texts(s)) == 2)
        with pytest.raises(WorkflowUpdateFailedError) as stale:
            await stack.conversations.confirm(stack.tenant, cid, call_id)
        events = await read_events(stack, cid)
    assert stale.value.cause.type == ErrorType.NOTHING_PENDING
    assert snap.pending_call is None and snap.status is S.AWAITING_INPUT
    [withdrawn] = [e for e in events if e.name == "tool_call_withdrawn"]
    assert withdrawn.value["toolCallId"] == call_id
    names = [e.name or e.type for e in events]
    proposed = names.index(ev.CustomName.TOOL_CALL_AWAITING_CONFIRMATION)
    assert proposed < names.index("tool_call_withdrawn") < names.index("agent_message", proposed)
    assert verify_events([e.data for e in events])["ok"]


async def test_a_message_sent_while_the_final_step_is_made_is_answered(client, fake_llm, redis_url):
    fake_llm.script(
        "plan",
        Reply.call("done", summary="All set").replace(text="All set!", hang_seconds=1.5),
        "You asked one more thing: here is my answer.",
    )
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "That is all, thanks")
        await wait_for_plan_request(fake_llm)
        accepted = await stack.conversations.send(stack.tenant, cid, "Wait, one more thing")
        assert accepted.seq > 0
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=20)
        await stack.conversations.end(stack.tenant, cid)
        final = await stack.result(cid)
    assert [m.text for m in snap.transcript if m.role == "user"][-1] == "Wait, one more thing"
    assert snap.transcript[-1].text == "You asked one more thing: here is my answer."
    assert not final.queued_prompts


async def test_ending_while_the_model_answers_stops_the_turn(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.say("A very slow answer", hang_seconds=30))
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "Melbourne in April")
        await wait_for_plan_request(fake_llm)
        await stack.conversations.end(stack.tenant, cid)
        final = await stack.result(cid, within=10)  # not the model's 30 s
        handle = stack.conversations.handle(stack.tenant, cid)
        history = await handle.fetch_history()
    assert final.status == S.ENDED
    assert [m.role for m in final.transcript] == ["user"], final.transcript  # no late answer
    cancelled = [
        e for e in history.events if e.HasField("activity_task_cancel_requested_event_attributes")
    ]
    assert len(cancelled) == 1
