"""Record workflow histories for the replay test (run by hand, not by pytest).

    uv run python -m tests.replay.record [NAME ...]    (from the repository root)

Runs a few representative conversations on a fresh dev server (the real
workers, litellm to the fake LLM, Redis from ``REDIS_URL``) and saves every
run's history as ``tests/replay/histories/<name>.json`` (a conversation that
continued-as-new gives one file per run). Recorded histories are added, never
regenerated to make a test pass: an existing file is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client

from agent_core.conversation_ids import workflow_id
from agent_core.models import BusyPolicy, ConversationSnapshot, ConversationStatus, ToolPolicy
from agent_core.registry import use_mcp
from fake_llm import FakeLLM, Reply
from tests.agent_core.scenario import kinds, planned_call_id, wait_until
from tests.support.dev_server import start_dev_server
from tests.support.mcp_servers import notes_keeper_file
from tests.support.stack import WHOLE_TRIP, AgentStack, agent_stack

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "histories"
S = ConversationStatus

#: what the fake's auto brain needs to reach the travel, HR and order proposals
EVERY_GOAL = (
    "Melbourne in April, from Sydney 10 to 14 April; I'm E1042, annual leave please; "
    "order ORD-48213 came but the shoes are too small"
)

Scenario = Callable[[AgentStack], Awaitable[str]]


async def travel_with_confirmations(stack: AgentStack) -> str:
    """The happy path: three proposals, each confirmed, then done."""
    cid = await stack.start("travel", WHOLE_TRIP)
    for _ in range(3):
        snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
        assert snap.pending_call is not None
        await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
    await stack.result(cid)
    return cid


async def rejection_and_failures(stack: AgentStack) -> str:
    """Off-topic, a rejection, a failing tool, a model auth error, a missing argument,
    a message instead of a decision, end."""
    fake = stack.fake
    cid = await stack.start("travel", "something off-topic first")
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.send(stack.tenant, cid, "An event in Melbourne in April")
    snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None
    await stack.conversations.reject(stack.tenant, cid, snap.pending_call.id, "wrong city")
    await stack.wait_status(cid, S.AWAITING_INPUT)

    fake.script("plan", Reply.call("find_events", city="Atlantis", month="April"))
    await stack.conversations.send(stack.tenant, cid, "Try Atlantis in April")
    snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None
    await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
    await stack.wait_status(cid, S.AWAITING_INPUT)

    fake.script("plan", Reply.error(401), Reply.call("find_events", city="Melbourne"))
    await stack.conversations.send(stack.tenant, cid, "Melbourne then")
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.send(stack.tenant, cid, "Melbourne, please")
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.send(stack.tenant, cid, "An event in Melbourne in April")
    await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    await stack.conversations.send(stack.tenant, cid, "Actually, not that", request_id="m-1")
    await stack.conversations.send(stack.tenant, cid, "Actually, not that", request_id="m-1")
    await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    await stack.conversations.end(stack.tenant, cid, "done for today")
    await stack.result(cid)
    return cid


async def continue_as_new(stack: AgentStack) -> str:
    """Eight prompts sent at once through runs of three turns: two roll-overs."""
    prompts = [f"message {n}: tell me about trip option {n}" for n in range(1, 9)]
    stack.fake.script("plan", *(f"Answer {n}." for n in range(1, 9)))
    cid = await stack.start("travel", prompts[0])
    for text in prompts[1:]:
        await stack.conversations.send(stack.tenant, cid, text)

    def answered(s: ConversationSnapshot) -> bool:
        return len(s.transcript) == 16 and s.status == S.AWAITING_INPUT

    await stack.wait_for(cid, answered, within=60)
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def long_conversation(stack: AgentStack) -> str:
    """Thirty-four turns one after another: a page of the transcript is archived
    (patch "transcript-archive"), then the run rolls over carrying the rest."""
    turns = 34
    stack.fake.script("plan", *(f"Answer {n}." for n in range(turns)))
    cid = await stack.start("travel", "message 0")
    for n in range(1, turns + 1):
        await stack.wait_for(
            cid, lambda s, n=n: s.last_seq >= 2 * n and s.status == S.AWAITING_INPUT
        )
        if n < turns:
            await stack.conversations.send(stack.tenant, cid, f"message {n}")
    snap = await stack.snapshot(cid)
    assert snap.archive_pages >= 1, snap.archive_pages
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def end_during_a_model_call(stack: AgentStack) -> str:
    """A confirmed tool, then the chat ends while the model is answering (patched path)."""
    cid = await stack.start("travel", "An event in Melbourne in April")
    snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None
    stack.fake.script("plan", Reply.say("This answer comes too late", hang_seconds=20))
    await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
    for _ in range(400):  # until the second plan call is with the model
        if sum(r.kind == "plan" for r in stack.fake.requests) >= 2:
            break
        await asyncio.sleep(0.05)
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def stop_and_interrupt(stack: AgentStack) -> str:
    """A turn stopped by the user, then one interrupted by a newer message, then end."""
    slow = Reply.say("A long and slow answer about April.", chunk_chars=2, chunk_delay=0.2)
    stack.fake.script("plan", slow, slow, "Sydney in May: noted.")
    cid = await stack.start("travel", "Melbourne in April")
    for _ in range(400):  # until the answer is streaming
        if sum(r.kind == "plan" for r in stack.fake.requests) >= 1:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await stack.conversations.stop(stack.tenant, cid, request_id="stop-1")
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.send(stack.tenant, cid, "Melbourne, then")
    await stack.wait_status(cid, S.THINKING)
    await asyncio.sleep(0.5)
    await stack.conversations.send(
        stack.tenant, cid, "No: Sydney in May", busy=BusyPolicy.INTERRUPT
    )
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def approval_and_goal_switch(stack: AgentStack) -> str:
    """A tool run without asking (a policy set at creation), an edit, "always allow"
    on the agent's switch_goal, a switch by the API that withdraws a proposal, end."""
    cid = await stack.start("travel", EVERY_GOAL, tool_policies={"find_events": ToolPolicy.AUTO})
    snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None and snap.pending_call.name == "search_flights"
    stack.fake.script("plan", Reply.call("switch_goal", goal="hr_time_off"))
    edited = {**snap.pending_call.args, "date_return": "2027-04-15"}
    await stack.conversations.edit(stack.tenant, cid, snap.pending_call.id, edited)
    snap = await stack.wait_for(
        cid, lambda s: s.pending_call is not None and s.pending_call.name == "switch_goal"
    )
    assert snap.pending_call is not None
    await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id, always=True)
    await stack.wait_for(
        cid, lambda s: s.pending_call is not None and s.pending_call.name == "book_leave"
    )
    await stack.conversations.switch_goal(stack.tenant, cid, "order_tracking", "g-1")
    await stack.wait_for(
        cid, lambda s: s.pending_call is not None and s.pending_call.name == "request_return"
    )
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def mcp_tools(stack: AgentStack) -> str:
    """A goal's MCP tools listed (patch "mcp-tools"), a proposal edited against the
    listed schema, the call run on the stdio notes server, then end."""
    stack.fake.script("plan", Reply.call("notes__add_note", text="milk"), "Noted.")
    cid = await stack.start("notes_keeper", "Note down: milk")
    snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
    assert snap.pending_call is not None and snap.pending_call.name == "notes__add_note"
    await stack.conversations.edit(stack.tenant, cid, snap.pending_call.id, {"text": "oat milk"})
    snap = await stack.wait_status(cid, S.AWAITING_INPUT)
    [result] = [m.tool_result for m in snap.transcript if m.tool_result]
    assert result.ok and result.output is not None and result.output["text"] == "oat milk"
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def idle_timeouts(stack: AgentStack) -> str:
    """A proposal left undecided is withdrawn, then the idle conversation closes."""
    cid = await stack.start("travel", "An event in Melbourne in April")
    await stack.result(cid, within=60)
    return cid


async def decision_before_proposal(stack: AgentStack) -> str:
    """A confirm sent while the model call making the proposal is in flight (it
    waits for the proposal), a reject for a turn that proposes nothing, end."""
    stack.fake.script(
        "plan",
        Reply.call("find_events", city="Melbourne", month="April").replace(hang_seconds=1.0),
        Reply.say("Which dates suit you?", hang_seconds=1.0),
    )
    cid = await stack.start("travel", "An event in Melbourne in April")
    for made in (1, 2):
        await wait_until(lambda made=made: kinds(stack.fake).count("plan") == made)
        call_id = await planned_call_id(stack, cid)
        with contextlib.suppress(Exception):  # the second proposes nothing: refused
            await stack.conversations.confirm(stack.tenant, cid, call_id)
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


async def message_while_proposing(stack: AgentStack) -> str:
    """A message sent while the model makes a proposal: its turn withdraws it
    (patch "withdraw-superseded-proposal"), then end."""
    stack.fake.script(
        "plan",
        Reply.call("find_events", city="Melbourne", month="April").replace(hang_seconds=1.0),
        "Sydney it is. Which month?",
    )
    cid = await stack.start("travel", "An event in Melbourne in April")
    await wait_until(lambda: kinds(stack.fake) == ["plan"])
    await stack.conversations.send(stack.tenant, cid, "Actually, make it Sydney")
    await wait_until(lambda: kinds(stack.fake) == ["plan", "plan"])
    await stack.wait_status(cid, S.AWAITING_INPUT)
    await stack.conversations.end(stack.tenant, cid)
    await stack.result(cid)
    return cid


# Recorded with ConversationWorkflow; the files without the prefix are the 0.1
# AgentWorkflow's, recorded before it was frozen.
SCENARIOS: list[tuple[str, Scenario, dict[str, object]]] = [
    ("conversation_end_during_a_model_call", end_during_a_model_call, {}),
    ("conversation_stop_and_interrupt", stop_and_interrupt, {}),
    (
        "conversation_idle_timeouts",
        idle_timeouts,
        {"agent_confirmation_timeout_seconds": 1, "agent_idle_timeout_seconds": 3},
    ),
    ("conversation_travel_with_confirmations", travel_with_confirmations, {}),
    ("conversation_rejection_and_failures", rejection_and_failures, {}),
    ("conversation_approval_and_goal_switch", approval_and_goal_switch, {}),
    (
        "conversation_continue_as_new",
        continue_as_new,
        {"agent_max_turns_per_run": 3, "agent_history_window": 4},
    ),
    # with the patch "one-publish-batch-per-task": one local activity per workflow task
    ("conversation_one_batch_per_task_travel", travel_with_confirmations, {}),
    # the control paths with both patches ("one-publish-batch-per-task", "idle-timers")
    ("conversation_one_batch_per_task_stop_and_interrupt", stop_and_interrupt, {}),
    (
        "conversation_one_batch_per_task_idle_timeouts",
        idle_timeouts,
        {"agent_confirmation_timeout_seconds": 1, "agent_idle_timeout_seconds": 3},
    ),
    # approval and goal switching, with both patches
    (
        "conversation_one_batch_per_task_approval_and_goal_switch",
        approval_and_goal_switch,
        {},
    ),
    # older lines archived to the object store, with all three patches
    (
        "conversation_transcript_archive",
        long_conversation,
        {"agent_max_turns_per_run": 30, "agent_history_window": 2},
    ),
    # a goal with MCP tools (patch "mcp-tools"); replayed with the same MCP file
    ("conversation_mcp_tools", mcp_tools, {}),
    # decisions accepted while the model call that makes the proposal is in flight
    ("conversation_decision_before_proposal", decision_before_proposal, {}),
    ("conversation_message_while_proposing", message_while_proposing, {}),
    # events queued before a model call ride in its input (patch "events-with-the-model-call"),
    # also through stops and interrupts, which cancel the call that holds them
    ("conversation_events_with_the_call_travel", travel_with_confirmations, {}),
    ("conversation_events_with_the_call_stop_and_interrupt", stop_and_interrupt, {}),
]


async def save_runs(client: Client, wid: str, name: str) -> list[Path]:
    """Every run of ``wid``, newest first by following the continue-as-new chain."""
    runs = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
        runs.append(history)
        previous = history.events[0].workflow_execution_started_event_attributes
        if not previous.continued_execution_run_id:
            break
        run_id = previous.continued_execution_run_id
    runs.reverse()
    saved = []
    for number, history in enumerate(runs, start=1):
        suffix = f"_run{number}" if len(runs) > 1 else ""
        path = HISTORIES / f"{name}{suffix}.json"
        if path.exists():
            print(f"kept {path.relative_to(ROOT)} (recorded histories are never regenerated)")
            continue
        path.write_text(history.to_json() + "\n")
        saved.append(path)
    return saved


async def main() -> None:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # archived pages go to a scratch directory; payloads stay inline in the histories
    os.environ["STORAGE_URL"] = f"file:{tempfile.mkdtemp(prefix='record-objects-')}"
    env = await start_dev_server()
    try:
        wanted = set(sys.argv[1:])  # names to record; none: every scenario
        for name, scenario, overrides in SCENARIOS:
            if wanted and name not in wanted:
                continue
            notes = notes_keeper_file(Path(tempfile.mkdtemp(prefix="record-notes-")))
            async with (
                FakeLLM() as fake,
                agent_stack(env.client, fake, redis_url, **overrides) as stack,
            ):
                scope = use_mcp(notes) if "mcp" in name else contextlib.nullcontext()
                with scope:
                    cid = await scenario(stack)
                for path in await save_runs(env.client, workflow_id(stack.tenant, cid), name):
                    print(f"recorded {path.relative_to(ROOT)}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # sdk-python #300: the SDK can crash at interpreter exit
