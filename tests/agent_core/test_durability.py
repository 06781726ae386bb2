"""Durability: continue-as-new, workers dying mid-activity, the event log's order.

Workers are the services' own; the crash tests run them apart from the rest
of the stack so one side can die and come back while the other keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import redis.asyncio as aioredis

from agent_core.conversation_ids import workflow_id
from agent_core.event_log import EventLog
from agent_core.models import ConversationInput, ConversationStatus, EventRecord
from agent_core.object_store import FileObjectStore, open_object_store
from fake_llm import Reply
from tests.agent_core.crashing_tools_worker import FROZEN
from tests.agent_core.scenario import (
    agent_texts,
    deltas_of,
    kinds,
    last_user_text,
    read_events,
    wait_until,
)
from tests.agui.client import verify_events
from tests.support.stack import WHOLE_TRIP, AgentStack, agent_stack, run_workers
from worker_llm.main import build_workers as build_llm_workers
from worker_tools.activities import idempotency_key
from worker_tools.ledger import ledger_key

S = ConversationStatus


async def _carried_prompts(client, wid: str, run_id: str) -> list[str] | None:
    """The queued prompts a run was started with, or None for the first run."""
    history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    if not started.continued_execution_run_id:
        return None
    [input] = await client.data_converter.decode(started.input.payloads, [ConversationInput])
    assert input.state is not None
    return [p.text for p in input.state.prompts]


async def test_two_continue_as_new_cycles_keep_the_whole_conversation(client, fake_llm, redis_url):
    prompts = [f"message {n}: tell me about trip option {n}" for n in range(1, 9)]
    fake_llm.script("plan", *(f"Answer {n}." for n in range(1, 9)))
    overrides = {"agent_max_turns_per_run": 3, "agent_history_window": 4}
    async with agent_stack(client, fake_llm, redis_url, **overrides) as stack:
        cid = await stack.start("travel", prompts[0])
        for text in prompts[1:]:  # sent at once: most wait in the queue across run boundaries
            await stack.conversations.send(stack.tenant, cid, text)
        snap = await stack.wait_for(
            cid, lambda s: len(s.transcript) == 16 and s.status == S.AWAITING_INPUT, within=40
        )
        events = await read_events(stack, cid)
        runs = [
            wf
            async for wf in client.list_workflows(
                f"WorkflowId = '{workflow_id(stack.tenant, cid)}'"
            )
        ]
        carried = [await _carried_prompts(client, run.id, run.run_id) for run in runs]
        await stack.conversations.end(stack.tenant, cid)
        final = await stack.result(cid)

    assert snap.run_number >= 3
    assert len(runs) == snap.run_number
    # Prompts still queued when a run rolled over went into the next run's input.
    assert sum(1 for c in carried if c) >= 1
    assert "summarize" in kinds(fake_llm)
    assert snap.summary.startswith("Summary:")
    # Every prompt answered once, in order, and the transcript is whole.
    assert [m.text for m in snap.transcript if m.role == "user"] == prompts
    assert agent_texts(snap) == [f"Answer {n}." for n in range(1, 9)]
    assert [m.role for m in snap.transcript] == ["user", "agent"] * 8
    plans = [r for r in fake_llm.requests if r.kind == "plan"]
    assert [last_user_text(r) for r in plans] == prompts
    # What the model sees is a window plus the summary, not the whole transcript.
    late = plans[-1]
    assert any("Summary of the earlier conversation" in str(m["content"]) for m in late.messages)
    assert prompts[0] not in [m.get("content") for m in late.messages]
    # The workflow's events are numbered 1, 2, 3, ... across runs, with no gap.
    numbers = [e.n for e in events if e.n is not None]
    assert numbers == list(range(1, len(numbers) + 1))
    user_seqs = [e.seq for e in events if e.name == "user_message"]
    assert user_seqs == [m.seq for m in snap.transcript if m.role == "user"]
    assert user_seqs == sorted(set(user_seqs)) and len(user_seqs) == 8
    assert len({e.key for e in events}) == len(events)
    assert verify_events([e.data for e in events])["ok"]
    assert final.transcript == snap.transcript
    assert final.last_seq > snap.last_seq


async def test_llm_worker_stopped_mid_plan_call_resumes_on_a_new_worker(
    client, fake_llm, redis_url
):
    fake_llm.script("plan", Reply.say("This answer never arrives.", hang_seconds=60))
    async with agent_stack(client, fake_llm, redis_url, with_workers=False) as stack:
        async with run_workers(client, stack.settings, stack.events, which="tools"):
            async with run_workers(client, stack.settings, stack.events, which="llm"):
                cid = await stack.start("travel", "An event in Melbourne in April")
                await wait_until(lambda: "plan" in kinds(fake_llm))
                await asyncio.sleep(0.5)  # the model call is under way, streaming nothing
            # Leaving the block shut the workflow and LLM workers down, cancelling the call.
            stopped = time.monotonic()
            async with run_workers(client, stack.settings, stack.events, which="llm"):
                snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION, within=30)
                resumed = time.monotonic() - stopped
                events = await read_events(stack, cid)
                history = await stack.conversations.handle(stack.tenant, cid).fetch_history()

    assert resumed < 15, resumed
    assert kinds(fake_llm) == ["plan", "plan"]
    assert snap.pending_call is not None and snap.pending_call.name == "find_events"
    assert [m.role for m in snap.transcript] == ["user", "agent"]
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert max(attempts) == 2
    turn = snap.transcript[-1].seq
    voided = {e.value["messageId"] for e in events if e.name == "text_message_voided"}
    assert f"msg-{turn}-1-0" in voided
    [final] = [e for e in events if e.name == "agent_message"]
    assert final.value["messageId"] == f"msg-{turn}-2-0"
    assert (
        deltas_of(events, final.value["messageId"])
        == final.value["text"]
        == snap.transcript[-1].text
    )
    assert verify_events([e.data for e in events])["ok"]


class FreezeAfterTextEnd(EventLog):
    """An event log that, once a streamed message has ended, holds the activity
    for good: the text is out, but the activity never returns."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(redis_url)
        self.frozen = asyncio.Event()

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None:
        await super().publish(conversation_id, events)
        if any('"TEXT_MESSAGE_END"' in e.data for e in events) and not self.frozen.is_set():
            self.frozen.set()
            await asyncio.Event().wait()


async def test_llm_worker_stopped_after_publishing_its_answer_leaves_one_final_message(
    client, fake_llm, redis_url
):
    """The retry may answer differently; the log must end with the retry's message."""
    fake_llm.script("plan", "First attempt's answer.", "Second attempt's answer.")
    async with agent_stack(client, fake_llm, redis_url, with_workers=False) as stack:
        async with run_workers(client, stack.settings, stack.events, which="tools"):
            async with contextlib.AsyncExitStack() as running:
                sink = await running.enter_async_context(FreezeAfterTextEnd(redis_url))
                store = await running.enter_async_context(open_object_store(stack.settings))
                for worker in build_llm_workers(client, sink, store, stack.settings):
                    await running.enter_async_context(worker)
                cid = await stack.start("travel", "An event in Melbourne in April")
                await asyncio.wait_for(sink.frozen.wait(), 20)
            async with run_workers(client, stack.settings, stack.events, which="llm"):
                snap = await stack.wait_status(cid, S.AWAITING_INPUT, within=30)
                events = await read_events(stack, cid)

    assert agent_texts(snap) == ["Second attempt's answer."]
    voided = {e.value["messageId"] for e in events if e.name == "text_message_voided"}
    finals = [e for e in events if e.name == "agent_message"]
    assert [f.value["text"] for f in finals if f.value["messageId"] not in voided] == [
        "Second attempt's answer."
    ]
    assert [f.value["text"] for f in finals] == ["Second attempt's answer."]
    streamed = [e.data["messageId"] for e in events if e.type == "TEXT_MESSAGE_START"]
    assert [m for m in streamed if m not in voided] == [finals[0].value["messageId"]]
    assert deltas_of(events, finals[0].value["messageId"]) == "Second attempt's answer."
    assert verify_events([e.data for e in events])["ok"]


def _worker_env(stack: AgentStack, client) -> dict[str, str]:
    settings = stack.settings
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": client.namespace,
        "TOOLS_TASK_QUEUE": settings.tools_task_queue,
        "REDIS_URL": settings.redis_url,
        "METRICS_PORT": "0",
        "TEMPORAL_METRICS_PORT": "0",
    }


def _own_redis_db(redis_url: str) -> str:
    """The same Redis, another database: this test may wipe it whole."""
    base, _, _ = redis_url.rpartition("/")
    return f"{base}/7"


def _ledger_records(store: FileObjectStore, wid: str) -> list[str]:
    folder = store.root.joinpath("ledger", *wid.split("/"))
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def test_tools_worker_killed_after_the_invoice_was_made_does_not_invoice_twice(
    client, fake_llm, redis_url, object_store
):
    """Killed after the invoice was made, before its result reached Temporal, with
    Redis wiped before the retry (the ledger is in the object store, not Redis):
    the retry finds the first invoice and makes none."""
    script = Path(__file__).with_name("crashing_tools_worker.py")
    redis_url = _own_redis_db(redis_url)
    async with (
        agent_stack(
            client, fake_llm, redis_url, with_workers=False, agent_show_confirm=False
        ) as stack,
        aioredis.from_url(redis_url, decode_responses=True) as redis,
    ):
        doomed = await asyncio.create_subprocess_exec(
            sys.executable, str(script), env=_worker_env(stack, client),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert doomed.stdout is not None
            assert (await asyncio.wait_for(doomed.stdout.readline(), 30)).strip() == b"READY"
            async with run_workers(client, stack.settings, stack.events, which="llm"):
                cid = await stack.start("travel", WHOLE_TRIP)
                line = await asyncio.wait_for(doomed.stdout.readline(), 30)
                assert line.decode().strip() == FROZEN
                wid = workflow_id(stack.tenant, cid)
                records = _ledger_records(object_store, wid)
                assert len(records) == 1  # the side effect happened; the activity never returned

                doomed.send_signal(signal.SIGKILL)
                await doomed.wait()
                await redis.flushdb()  # Redis forgets everything: event log, streams, all
                killed = time.monotonic()
                async with run_workers(client, stack.settings, stack.events, which="tools"):
                    final = await stack.result(cid, within=30)
                    recovered = time.monotonic() - killed
                events = await read_events(stack, cid)
                after = _ledger_records(object_store, wid)
        finally:
            if doomed.returncode is None:
                doomed.kill()
                await doomed.wait()

    # Noticed through the 2 s heartbeat timeout, not the 5 min start-to-close one.
    assert recovered < 20, recovered
    assert final.status == S.ENDED
    results = {m.tool_result.name: m.tool_result for m in final.transcript if m.tool_result}
    invoice = results["create_invoice"]
    assert invoice.ok and invoice.output is not None
    key = ledger_key(idempotency_key(wid, invoice.call_id))
    assert after == records == [key.rsplit("/", 1)[1]]
    stored = json.loads(await object_store.read(key) or b"{}")
    # The retry found the first attempt's invoice: same id, not created again.
    assert invoice.output["created"] is False
    assert stored["invoice_id"] == invoice.output["invoice_id"]
    progress = [e.value["message"] for e in events if e.name == "tool_progress"]
    # what the log kept after the wipe: the retry's own lines, saying the invoice existed
    assert (
        f"Invoice {invoice.output['invoice_id']} was already sent to {invoice.output['email']}"
        in progress
    )
    assert not any(" sent to " in m and "already" not in m for m in progress)


async def test_event_log_order_for_a_confirmed_conversation(client, fake_llm, redis_url):
    async with agent_stack(client, fake_llm, redis_url) as stack:
        cid = await stack.start("travel", WHOLE_TRIP)
        calls = []
        for _ in range(3):
            snap = await stack.wait_status(cid, S.AWAITING_CONFIRMATION)
            assert snap.pending_call is not None
            calls.append(snap.pending_call)
            await stack.conversations.confirm(stack.tenant, cid, snap.pending_call.id)
        final = await stack.result(cid)
        events = await read_events(stack, cid)

    assert final.status == S.ENDED
    keys = [e.key for e in events]
    assert len(set(keys)) == len(keys)
    ids = [tuple(map(int, e.id.split("-"))) for e in events]
    assert ids == sorted(ids)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs)

    # The stream is AG-UI runs, one after another: the first opens with the
    # conversation and its first message; each confirm opens the next.
    assert [events[0].type, events[1].name, events[2].name] == [
        "RUN_STARTED", "conversation_created", "user_message",
    ]  # fmt: skip
    assert events[2].value["text"] == WHOLE_TRIP
    opened: str | None = None
    for e in events:
        if e.type == "RUN_STARTED":
            assert opened is None, f"run {e.data['runId']} opened inside {opened}"
            opened = e.data["runId"]
        elif e.type == "RUN_FINISHED":
            assert opened == e.data["runId"]
            opened = None
        else:
            assert opened is not None, f"{e.type} {e.name} outside a run"
    assert opened is None
    # A run that waits for a decision ends with an interrupt naming the proposal.
    interrupts = [e.data["outcome"]["interrupts"][0] for e in events if e.data.get("outcome")]
    assert [i["toolCallId"] for i in interrupts] == [c.id for c in calls]
    assert verify_events([e.data for e in events])["ok"]
    # Each proposal: announced, awaiting confirmation, then run, then its result.
    for call in calls:

        def at(predicate, call_id=call.id) -> int:
            return next(i for i, e in enumerate(events) if predicate(e, call_id))

        start = at(lambda e, c: e.type == "TOOL_CALL_START" and e.data["toolCallId"] == c)
        waiting = at(
            lambda e, c: e.name == "tool_call_awaiting_confirmation" and e.value["toolCallId"] == c
        )
        running = at(lambda e, c: e.name == "tool_started" and e.value["toolCallId"] == c)
        result = at(lambda e, c: e.type == "TOOL_CALL_RESULT" and e.data["toolCallId"] == c)
        assert start < waiting < running < result
        assert events[waiting].value["args"] == call.args
    statuses = [e.value["status"] for e in events if e.name == "status_changed"]
    assert statuses == [
        "thinking", "awaiting_confirmation", "running_tool",
        "thinking", "awaiting_confirmation", "running_tool",
        "thinking", "awaiting_confirmation", "running_tool",
        "thinking", "ended",
    ]  # fmt: skip
    # Every agent message equals the deltas streamed under its message id.
    messages = [e for e in events if e.name == "agent_message"]
    assert [m.value["text"] for m in messages] == agent_texts(final)
    for m in messages:
        assert deltas_of(events, m.value["messageId"]) == m.value["text"]
