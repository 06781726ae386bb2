"""Stopping a turn and the busy policy, on the real stack (dev server, Redis, fake LLM).

A slow model answer (streamed a few characters at a time) keeps a turn in
flight long enough to stop or interrupt it half-way; a stack without a tools
worker keeps a tool "running" for as long as the test needs.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError

from agent_core.errors import ErrorType
from agent_core.models import BusyPolicy, ConversationStatus
from durable_agent.event_stream import StreamEvent
from fake_llm import Reply
from tests.agent_core.scenario import read_events
from tests.agui.client import averify_events
from tests.support.stack import AgentStack, agent_stack, run_workers

S = ConversationStatus
SLOW = {"chunk_chars": 2, "chunk_delay": 0.3}  # about 15 s for the text below
SLOW_TEXT = "Let me think about Melbourne in April for a while, slowly."


async def streamed_some(stack: AgentStack, cid: str) -> list[StreamEvent]:
    """Wait until the model's answer is part-way through (some deltas in the log)."""
    events: list[StreamEvent] = []

    async def deltas() -> bool:
        nonlocal events
        events = await read_events(stack, cid)
        return sum(e.type == "TEXT_MESSAGE_CONTENT" for e in events) >= 2

    for _ in range(200):
        if await deltas():
            return events
        await asyncio.sleep(0.05)
    raise AssertionError("the model never started answering")


def opened_messages(events: list[StreamEvent]) -> set[str]:
    return {e.data["messageId"] for e in events if e.type == "TEXT_MESSAGE_START"}


async def test_stop_voids_the_partial_answer_and_waits_for_input(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.say(SLOW_TEXT, **SLOW), "Sydney it is, then.")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "Melbourne in April")
        await streamed_some(stack, cid)
        stopped = await stack.conversations.stop(stack.tenant, cid, request_id="stop-1")
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=5)  # not the model's 15 s
        # a retry gets the first answer; naming the stopped run does too; a new stop 409s
        again = await stack.conversations.stop(stack.tenant, cid, request_id="stop-1")
        by_run = await stack.conversations.stop(stack.tenant, cid, run_id=stopped.run_id)
        with pytest.raises(WorkflowUpdateFailedError) as idle:
            await stack.conversations.stop(stack.tenant, cid)
        await stack.conversations.send(stack.tenant, cid, "Sydney instead")
        after = await stack.wait_status(cid, S.AWAITING_INPUT)
        events = await read_events(stack, cid)

    assert stopped.duplicate is False and stopped.run_id is not None
    assert again == stopped  # the same update: Temporal answers it again
    assert by_run == stopped.model_copy(update={"duplicate": True})
    assert idle.value.cause.type == ErrorType.NOTHING_RUNNING
    assert [(m.role, m.text) for m in snap.transcript] == [
        ("user", "Melbourne in April"),
        ("agent", "(stopped by the user)"),
    ]
    assert after.transcript[-1].text == "Sydney it is, then."
    [stop] = [e for e in events if e.name == "turn_stopped"]
    assert stop.value == {"turnSeq": stopped.seq, "reason": "stopped by the user", "byUser": True}
    # the partial text is closed and voided; the run the stop ended is cancelled
    partial = {m for m in opened_messages(events) if m.startswith(f"msg-{stopped.seq}-")}
    assert partial and partial == {
        e.value["messageId"] for e in events if e.name == "text_message_voided"
    }
    finished = [e for e in events if e.type == "RUN_FINISHED"]
    assert finished[0].data["runId"] == stopped.run_id
    assert finished[0].data["outcome"] == {"type": "cancelled"}
    assert "outcome" not in finished[1].data
    assert (await averify_events([e.data for e in events]))["ok"]


async def test_interrupt_stops_the_answer_and_answers_the_new_message_next(
    client, fake_llm, redis_url
):
    fake_llm.script("plan", Reply.say(SLOW_TEXT, **SLOW), "Sydney in May: noted.")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "Melbourne in April")
        await streamed_some(stack, cid)
        sent = await stack.conversations.send(
            stack.tenant, cid, "No: Sydney in May", busy=BusyPolicy.INTERRUPT
        )
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=5)
        events = await read_events(stack, cid)

    assert [(m.role, m.text) for m in snap.transcript] == [
        ("user", "Melbourne in April"),
        ("agent", "(interrupted by a newer message)"),
        ("user", "No: Sydney in May"),
        ("agent", "Sydney in May: noted."),
    ]
    [stop] = [e for e in events if e.name == "turn_stopped"]
    assert stop.value["byUser"] is False and stop.seq < sent.seq
    voided = {e.value["messageId"] for e in events if e.name == "text_message_voided"}
    assert voided and all(m.startswith(f"msg-{stop.seq}-") for m in voided)
    # one run: the interrupted turn and the new message's, finished normally
    assert [e.type for e in events].count("RUN_STARTED") == 1
    assert "outcome" not in next(e for e in events if e.type == "RUN_FINISHED").data
    # the model heard the new message, after the stopped answer's trace
    last = [r for r in fake_llm.requests if r.kind == "plan"][-1]
    assert last.messages[-1]["content"] == "No: Sydney in May"
    assert (await averify_events([e.data for e in events]))["ok"]


async def test_reject_policy_refuses_a_message_while_the_agent_answers(client, fake_llm, redis_url):
    fake_llm.script("plan", Reply.say(SLOW_TEXT, **SLOW), "Sure.")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = "busy-" + stack.tenant
        await stack.conversations.start(
            stack.tenant, cid, "travel", "Melbourne in April", busy_policy=BusyPolicy.REJECT
        )
        await streamed_some(stack, cid)
        with pytest.raises(WorkflowUpdateFailedError) as busy:
            await stack.conversations.send(stack.tenant, cid, "hello?")
        # the message may ask for another policy than the conversation's
        queued = await stack.conversations.send(
            stack.tenant, cid, "queue this one", busy=BusyPolicy.ENQUEUE
        )
        snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=30)
    assert busy.value.cause.type == ErrorType.AGENT_BUSY
    [details] = busy.value.cause.details
    assert details["busy"] == "thinking" and details["run_id"] and details["turn_seq"] > 0
    assert queued.queued == 1
    assert [m.text for m in snap.transcript if m.role == "user"] == [
        "Melbourne in April",
        "queue this one",
    ]
    assert "hello?" not in str(snap.model_dump())


async def test_a_new_run_is_refused_while_one_is_open_and_taken_once_it_finished(
    client, fake_llm, redis_url
):
    """An AG-UI run starts only when none is open: the message that asks for a
    new run while the agent answers is refused, and nothing of it is kept."""
    fake_llm.script("plan", Reply.say(SLOW_TEXT, chunk_chars=8, chunk_delay=0.3), "Sure.")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "Melbourne in April")
        await streamed_some(stack, cid)
        with pytest.raises(WorkflowUpdateFailedError) as open_run:
            await stack.conversations.send(
                stack.tenant, cid, "too early", run_id="run-b", new_run_only=True
            )
        await stack.wait_status(cid, S.AWAITING_INPUT, within=30)
        taken = await stack.conversations.send(
            stack.tenant, cid, "now", run_id="run-c", new_run_only=True
        )
        snap = await stack.wait_for(cid, lambda s: len(s.transcript) == 4, within=30)
        events = await read_events(stack, cid)
    assert open_run.value.cause.type == ErrorType.RUN_IN_PROGRESS
    assert taken.run_id == "run-c" and not taken.duplicate
    assert [m.text for m in snap.transcript if m.role == "user"] == ["Melbourne in April", "now"]
    runs = [e.data["runId"] for e in events if e.type == "RUN_STARTED"]
    assert len(runs) == 2 and runs[1] == "run-c"
    assert (await averify_events([e.data for e in events]))["ok"]


async def test_a_running_tool_is_never_cut_off(client, fake_llm, redis_url):
    """No tools worker: the approved tool stays "running" until one starts."""
    fake_llm.script(
        "plan", Reply.call("find_events", city="Melbourne", month="April"), "Found some.", "Sure."
    )
    async with agent_stack(client, fake_llm, redis_url, with_workers=False) as stack:
        async with run_workers(client, stack.settings, stack.events, which="llm"):
            cid = await stack.start("travel", "Melbourne in April")
            snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
            assert snap.pending_call is not None
            await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
            await stack.wait_status(cid, S.RUNNING_TOOL)
            refusals = []
            for attempt in (
                stack.conversations.stop(stack.tenant, cid),
                stack.conversations.send(stack.tenant, cid, "now!", busy=BusyPolicy.INTERRUPT),
                stack.conversations.send(stack.tenant, cid, "now?", busy=BusyPolicy.REJECT),
            ):
                with pytest.raises(WorkflowUpdateFailedError) as refused:
                    await attempt
                refusals.append(refused.value.cause.type)
            await stack.conversations.send(stack.tenant, cid, "after the tool, please")
            async with run_workers(client, stack.settings, stack.events, which="tools"):
                snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=30)
    assert refusals == [ErrorType.TOOL_RUNNING, ErrorType.TOOL_RUNNING, ErrorType.AGENT_BUSY]
    [result] = [m.tool_result for m in snap.transcript if m.tool_result]
    assert result.ok
    assert [m.text for m in snap.transcript if m.role == "user"][-1] == "after the tool, please"


async def test_a_stop_with_nothing_running_changes_nothing(client, fake_llm, redis_url):
    fake_llm.script("plan", "Which city?")
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", "A trip")
        before = await stack.wait_status(cid, S.AWAITING_INPUT)
        refusals = []
        for run_id in (None, "run-1"):
            with pytest.raises(WorkflowUpdateFailedError) as idle:
                await stack.conversations.stop(stack.tenant, cid, run_id=run_id)
            refusals.append(idle.value.cause.type)
        after = await stack.snapshot(cid)
        events = await read_events(stack, cid)
    assert refusals == [ErrorType.NOTHING_RUNNING] * 2
    assert after == before
    assert not [e for e in events if e.name == "turn_stopped"]
