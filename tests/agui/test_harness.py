"""The AG-UI client harness itself: it accepts a valid stream and rejects broken ones.

``verify_events`` runs the official zod schemas and ``verifyEvents`` from
``@ag-ui/client`` 1.0.0; ``AgentSession`` drives the official ``HttpAgent`` against a
small SSE server defined here (Starlette + sse-starlette on a real uvicorn).
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from tests.agui.client import (
    VERIFY_SCRIPT,
    AgentSession,
    AguiHarnessError,
    _parse_verify_output,
    averify_events,
    ensure_installed,
    requires_node,
    run_conversation,
    verify_events,
    verify_streams,
)
from tests.support.gateway import serve

pytestmark = requires_node

THREAD = "thread-1"
INTERRUPT = {"id": "int-1", "reason": "tool_approval", "toolCallId": "tc-1"}


def run_started(run_id: str, thread_id: str = THREAD) -> dict[str, Any]:
    return {"type": "RUN_STARTED", "threadId": thread_id, "runId": run_id}


def run_finished(run_id: str, thread_id: str = THREAD, **extra: Any) -> dict[str, Any]:
    return {"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id, **extra}


def text_message(message_id: str, text: str) -> list[dict[str, Any]]:
    return [
        {"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": text},
        {"type": "TEXT_MESSAGE_END", "messageId": message_id},
    ]


def interrupted_run(run_id: str, thread_id: str = THREAD) -> list[dict[str, Any]]:
    """Text, a tool call, a CUSTOM event, and a RUN_FINISHED that asks for approval."""
    return [
        run_started(run_id, thread_id),
        *text_message(f"{run_id}-m1", "Booking that for you."),
        {
            "type": "TOOL_CALL_START",
            "toolCallId": "tc-1",
            "toolCallName": "book_flight",
            "parentMessageId": f"{run_id}-m1",
        },
        {"type": "TOOL_CALL_ARGS", "toolCallId": "tc-1", "delta": '{"to": "Paris"}'},
        {"type": "TOOL_CALL_END", "toolCallId": "tc-1"},
        {"type": "CUSTOM", "name": "status_changed", "value": {"status": "awaiting_approval"}},
        run_finished(run_id, thread_id, outcome={"type": "interrupt", "interrupts": [INTERRUPT]}),
    ]


def simple_run(run_id: str, thread_id: str = THREAD, text: str = "Done.") -> list[dict[str, Any]]:
    return [
        run_started(run_id, thread_id),
        *text_message(f"{run_id}-m1", text),
        run_finished(run_id, thread_id),
    ]


VALID = [*interrupted_run("run-1"), *simple_run("run-2")]


# --- verify_events -----------------------------------------------------------------


def test_valid_two_run_sequence_passes() -> None:
    assert verify_events(VALID) == {"ok": True, "count": len(VALID), "complete": True}


async def test_async_variant_agrees() -> None:
    assert await averify_events(VALID) == verify_events(VALID)


def test_sequence_ending_mid_run_passes_verify_but_is_not_complete() -> None:
    # verifyEvents checks nothing at end of stream; "complete" is the harness's own flag.
    result = verify_events(VALID[:3])
    assert result == {"ok": True, "count": 3, "complete": False}


def _without(events: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    return events[:index] + events[index + 1 :]


SEQUENCE_ERRORS = {
    "first event not RUN_STARTED": (VALID[1:], 0, "First event must be 'RUN_STARTED'"),
    "event after RUN_FINISHED": (
        [*simple_run("run-1"), *text_message("late", "too late")],
        5,
        "The run has already finished with 'RUN_FINISHED'",
    ),
    "text message never closed": (
        _without(simple_run("run-1"), 3),  # drop TEXT_MESSAGE_END
        3,
        "while text messages are still active: run-1-m1",
    ),
    "tool call never closed": (
        _without(interrupted_run("run-1"), 6),  # drop TOOL_CALL_END
        7,
        "while tool calls are still active: tc-1",
    ),
    "content for a message never started": (
        _without(simple_run("run-1"), 1),  # drop TEXT_MESSAGE_START
        1,
        "No active text message found with ID 'run-1-m1'",
    ),
    "second RUN_STARTED while a run is active": (
        [run_started("run-1"), *simple_run("run-2")],
        1,
        "Cannot send 'RUN_STARTED' while a run is still active",
    ),
}


@pytest.mark.parametrize(
    ("events", "index", "message"), SEQUENCE_ERRORS.values(), ids=SEQUENCE_ERRORS.keys()
)
def test_sequence_errors_are_rejected_at_their_index(
    events: list[dict[str, Any]], index: int, message: str
) -> None:
    result = verify_events(events)
    assert result["ok"] is False, result
    assert result["stage"] == "verify"
    assert result["index"] == index
    assert result["type"] == events[index]["type"]
    assert message in result["error"]


def _replace(index: int, event: dict[str, Any]) -> list[dict[str, Any]]:
    events = copy.deepcopy(VALID)
    events[index] = event
    return events


SCHEMA_ERRORS = {
    "TEXT_MESSAGE_CONTENT delta not a string": (
        _replace(2, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "run-1-m1", "delta": 5}),
        2,
        "delta",
    ),
    "TEXT_MESSAGE_CONTENT without messageId": (
        _replace(2, {"type": "TEXT_MESSAGE_CONTENT", "delta": "x"}),
        2,
        "messageId",
    ),
    "interrupt outcome with no interrupts": (
        _replace(8, run_finished("run-1", outcome={"type": "interrupt", "interrupts": []})),
        8,
        "outcome.interrupts",
    ),
    "interrupt without a reason": (
        _replace(
            8,
            run_finished("run-1", outcome={"type": "interrupt", "interrupts": [{"id": "int-1"}]}),
        ),
        8,
        "outcome.interrupts.0.reason",
    ),
    "CUSTOM without a value": (
        _replace(7, {"type": "CUSTOM", "name": "status_changed"}),
        7,
        "value",
    ),
    "unknown event type": (
        _replace(4, {"type": "TOOL_CALL_BEGIN", "toolCallId": "tc-1"}),
        4,
        "type",
    ),
}


@pytest.mark.parametrize(
    ("events", "index", "path"), SCHEMA_ERRORS.values(), ids=SCHEMA_ERRORS.keys()
)
def test_schema_errors_are_rejected_at_their_index(
    events: list[dict[str, Any]], index: int, path: str
) -> None:
    result = verify_events(events)
    assert result["ok"] is False, result
    assert result["stage"] == "schema"
    assert result["index"] == index
    assert path in {".".join(map(str, issue["path"])) for issue in result["issues"]}, result


def test_schema_stage_runs_over_the_whole_list_before_sequencing() -> None:
    # Event 0 breaks sequencing, event 2 the schema: the schema failure is reported.
    events = [*VALID[1:3], {"type": "TEXT_MESSAGE_END"}]
    result = verify_events(events)
    assert (result["stage"], result["index"]) == ("schema", 2)


def test_empty_text_delta_is_schema_valid() -> None:
    # @ag-ui/core 1.0.0 declares TEXT_MESSAGE_CONTENT.delta as z.string(): "" passes.
    events = _replace(2, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "run-1-m1", "delta": ""})
    assert verify_events(events)["ok"] is True


def test_bad_input_is_a_harness_error() -> None:
    proc = subprocess.run(
        ["node", str(VERIFY_SCRIPT)],
        cwd=ensure_installed(),
        input='{"type": "RUN_STARTED"}',
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert "must be a JSON array" in proc.stderr
    with pytest.raises(AguiHarnessError, match="exit 2"):
        _parse_verify_output(proc.returncode, proc.stdout, proc.stderr)


# --- HttpAgent against a tiny SSE server ----------------------------------------------


class Agent:
    """The test endpoint: records every RunAgentInput it is sent."""

    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    def inputs_for(self, thread_id: str) -> list[dict[str, Any]]:
        return [i for i in self.inputs if i["threadId"] == thread_id]

    def app(self) -> Starlette:
        async def lf(request: Request) -> EventSourceResponse:
            body = await self._record(request)
            return self._stream(simple_run(body["runId"], body["threadId"]), sep="\n")

        async def crlf(request: Request) -> EventSourceResponse:
            body = await self._record(request)
            # sse-starlette's default separator is "\r\n".
            return self._stream(simple_run(body["runId"], body["threadId"]), sep=None)

        async def approval(request: Request) -> EventSourceResponse:
            body = await self._record(request)
            run_id, thread_id = body["runId"], body["threadId"]
            if body.get("resume"):
                events = [
                    run_started(run_id, thread_id),
                    {
                        "type": "TOOL_CALL_RESULT",
                        "messageId": f"{run_id}-result",
                        "toolCallId": "tc-1",
                        "content": "booked",
                    },
                    *text_message(f"{run_id}-m1", "Booked."),
                    run_finished(run_id, thread_id),
                ]
            else:
                events = interrupted_run(run_id, thread_id)
            return self._stream(events, sep="\n")

        async def unclosed(request: Request) -> EventSourceResponse:
            body = await self._record(request)
            run_id, thread_id = body["runId"], body["threadId"]
            events = _without(simple_run(run_id, thread_id), 3)
            return self._stream(events, sep="\n")

        async def stall(request: Request) -> EventSourceResponse:
            body = await self._record(request)

            async def frames() -> AsyncIterator[dict[str, str]]:
                yield {"data": json.dumps(run_started(body["runId"], body["threadId"]))}
                await asyncio.sleep(3600)

            return EventSourceResponse(frames(), sep="\n")

        return Starlette(
            routes=[
                Route("/stall", stall, methods=["POST"]),
                Route("/lf", lf, methods=["POST"]),
                Route("/crlf", crlf, methods=["POST"]),
                Route("/approval", approval, methods=["POST"]),
                Route("/unclosed", unclosed, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        body["_headers"] = dict(request.headers)
        self.inputs.append(body)
        return body

    @staticmethod
    def _stream(events: list[dict[str, Any]], *, sep: str | None) -> EventSourceResponse:
        async def frames() -> AsyncIterator[dict[str, str]]:
            for event in events:
                yield {"data": json.dumps(event)}

        return EventSourceResponse(frames(), sep=sep)


@pytest.fixture(scope="module")
async def endpoint() -> AsyncIterator[tuple[str, Agent]]:
    agent = Agent()
    # No lifespan: with force_exit uvicorn skips lifespan shutdown and leaves the task
    # pending until the (session-scoped) loop closes.
    async with serve(agent.app(), lifespan="off") as base:
        yield base, agent


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


USER = {"id": "u1", "role": "user", "content": "Fly me to Paris"}


async def test_http_agent_reads_an_lf_framed_stream(endpoint: tuple[str, Agent]) -> None:
    base, agent = endpoint
    async with AgentSession(f"{base}/lf", "t-lf", {"Authorization": "Bearer k1"}) as session:
        result = await session.run({"runId": "run-1", "messages": [USER]})

    assert result["error"] is None, session.stderr
    assert _types(result["events"]) == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "RUN_FINISHED",
    ]
    assert result["events"] == result["wireEvents"] == simple_run("run-1", "t-lf")
    assert result["runId"] == "run-1"
    assert (result["finished"], result["outcome"]) == (True, None)
    assert [m["id"] for m in result["messages"]] == ["u1", "run-1-m1"]
    assert result["newMessages"] == [{"id": "run-1-m1", "role": "assistant", "content": "Done."}]
    assert verify_events(result["events"])["ok"] is True

    (sent,) = agent.inputs_for("t-lf")
    assert sent["runId"] == "run-1"
    assert sent["messages"] == [USER]
    assert "resume" not in sent
    assert sent["_headers"]["authorization"] == "Bearer k1"
    assert sent["_headers"]["accept"] == "text/event-stream"


async def test_crlf_framing_yields_no_events(endpoint: tuple[str, Agent]) -> None:
    """The known pitfall: the client splits SSE frames on "\\n\\n" only.

    With sse-starlette's default "\\r\\n" separators no frame boundary is ever found,
    so no event reaches the client while the stream is open; at end of stream the whole
    body is read as ONE frame whose data lines join into invalid JSON, and the run fails.
    """
    base, agent = endpoint
    async with AgentSession(f"{base}/crlf", "t-crlf") as session:
        result = await session.run({"runId": "run-1"})

    assert agent.inputs_for("t-crlf"), "the request was made"
    assert result["events"] == [] and result["wireEvents"] == []
    assert result["finished"] is False
    assert result["error"] is not None and "JSON" in result["error"], result["error"]


async def test_conversation_through_an_interrupt(endpoint: tuple[str, Agent]) -> None:
    base, agent = endpoint
    async with AgentSession(f"{base}/approval", "t-approval") as session:
        first = await session.run({"runId": "run-1", "messages": [USER]})
        assert first["error"] is None, session.stderr
        assert first["outcome"] == {"type": "interrupt", "interrupts": [INTERRUPT]}
        assert first["pendingInterrupts"] == [INTERRUPT]
        assert verify_events(first["events"])["ok"] is True

        # The client itself refuses to continue without answering the interrupt:
        # no request is made.
        refused = await session.run({"runId": "run-2"})
        assert "pending interrupt" in refused["error"]
        assert refused["events"] == []
        assert len(agent.inputs_for("t-approval")) == 1

        resume = [{"interruptId": INTERRUPT["id"], "status": "resolved", "payload": True}]
        second = await session.run({"runId": "run-3", "resume": resume})
        assert second["error"] is None, session.stderr
        assert (second["finished"], second["outcome"]) == (True, None)
        assert second["pendingInterrupts"] == []

    first_input, second_input = agent.inputs_for("t-approval")
    assert second_input["runId"] == "run-3"
    assert second_input["resume"] == resume
    # The agent's history carried over: the user message plus what the client
    # rebuilt from run-1's events (the assistant message with its tool call).
    assert [m["id"] for m in second_input["messages"]] == ["u1", "run-1-m1"]
    (assistant,) = [m for m in second_input["messages"] if m["role"] == "assistant"]
    assert assistant["toolCalls"][0]["function"] == {
        "name": "book_flight",
        "arguments": '{"to": "Paris"}',
    }
    assert first_input["messages"] == [USER]


async def test_client_verification_failure_is_reported(endpoint: tuple[str, Agent]) -> None:
    base, _ = endpoint
    async with AgentSession(f"{base}/unclosed", "t-unclosed") as session:
        result = await session.run({"runId": "run-1"})

    assert "while text messages are still active" in result["error"]
    assert _types(result["wireEvents"])[-1] == "RUN_FINISHED"
    assert "RUN_FINISHED" not in _types(result["events"])
    assert result["finished"] is False
    assert verify_events(result["wireEvents"])["index"] == 3


async def test_run_conversation_file_mode(endpoint: tuple[str, Agent]) -> None:
    base, agent = endpoint
    runs = [{"runId": "run-1", "messages": [USER]}, {"runId": "run-2"}]
    # Blocking helper: run it off the loop that serves the endpoint.
    results = await asyncio.to_thread(run_conversation, f"{base}/lf", "t-file", runs)

    assert [r["runId"] for r in results] == ["run-1", "run-2"]
    assert all(r["error"] is None for r in results)
    assert [i["runId"] for i in agent.inputs_for("t-file")] == ["run-1", "run-2"]


async def test_stalled_stream_is_aborted_by_time_limit(endpoint: tuple[str, Agent]) -> None:
    base, _ = endpoint
    async with AgentSession(f"{base}/stall", "t-stall") as session:
        result = await session.run({"runId": "run-1", "timeoutMs": 500})
        # The session stays usable after an aborted run.
        with pytest.raises(AguiHarnessError, match="rejected the run spec"):
            await session.run({"runId": "run-2", "messages": "not a list"})

    assert result["error"] == "timed out after 500 ms"
    assert _types(result["events"]) == ["RUN_STARTED", "RUN_ERROR"]
    assert result["events"][-1]["code"] == "abort"
    assert result["finished"] is False


def test_many_streams_are_checked_apart_in_one_process() -> None:
    started = {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
    finished = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}
    custom = {"type": "CUSTOM", "name": "note", "value": {}}
    results = verify_streams({"good": [started, custom, finished], "bad": [custom, finished]})
    assert results["good"] == {"ok": True, "count": 3, "complete": True}
    assert results["bad"]["ok"] is False and results["bad"]["index"] == 0
