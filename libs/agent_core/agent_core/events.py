"""The conversation event vocabulary, named after AG-UI where a kind matches.

Events are AG-UI pydantic events (``ag_ui.core``); what AG-UI has no kind for
is a ``CUSTOM`` event with one of the ``CustomName`` names. The stream is a
sequence of AG-UI runs: ``RUN_STARTED`` first, ``RUN_FINISHED`` or
``RUN_ERROR`` last, every event inside one; a run that stops for a
confirmation finishes with an interrupt outcome carrying the proposal.

Who writes what: the workflow authors every event that records a state
change (message accepted, status, runs, proposal and withdrawal, decision,
tool start/result/failure, whole agent messages, the end). It numbers them
``metadata.n`` = 1, 2, 3, ... (contiguous, carried across continue-as-new, so
a reader can tell a gap) and keys them ``w<n>``. Activities write only what
exists inside them while they run: text deltas (with the message's start and
end), the void of their own earlier attempts' text, tool progress; their keys
say where they belong (``<seq>/text/<message id>/<i>``).

Every event carries ``metadata = {"seq", "key"[, "n"]}``: ``seq`` is the step
it belongs to, ``key`` is deterministic and unique in the conversation.
Publishing is keyed, so a retried publish is a no-op. An event may name a key
it must come ``after``: it is appended only if that key is in the log, which
closes a text message only if it was opened. Such conditional events carry no
``n``: only events that are always written are numbered.

This module builds events and declares the ``EventSink`` port; it does no I/O
(the Redis implementation is ``agent_core.event_log``), so workflow code and
activities can both use it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunStartedEvent,
    StateSnapshotEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

from agent_core.errors import EventLogUnavailable
from agent_core.models import ConversationStatus, EventRecord, ToolCall, ToolPolicy, ToolResult

__all__ = [
    "APPROVAL_REASON",
    "FIRST_EVENT_KEY",
    "ConversationEvent",
    "CustomName",
    "EventSink",
    "agent_message",
    "attempt_messages",
    "close_messages",
    "conversation_created",
    "conversation_timed_out",
    "decision_recorded",
    "goal_changed",
    "message_id",
    "publish_quietly",
    "publish_records_quietly",
    "run_error",
    "run_finished",
    "run_started",
    "snapshot",
    "status_changed",
    "text_delta",
    "text_end",
    "text_start",
    "tool_call_proposed",
    "tool_call_withdrawn",
    "tool_failed",
    "tool_policy_changed",
    "tool_progress",
    "tool_result",
    "tool_started",
    "turn_stopped",
    "user_message",
    "whole_message",
]

APPROVAL_REASON = "tool_approval"
# the key of the first event of every log (the workflow's RUN_STARTED): a reader
# that finds it first knows the log is whole
FIRST_EVENT_KEY = "w1"


class CustomName(StrEnum):
    """Names of the CUSTOM events: kinds AG-UI does not have."""

    CONVERSATION_CREATED = "conversation_created"
    CONVERSATION_TIMED_OUT = "conversation_timed_out"
    USER_MESSAGE = "user_message"
    AGENT_MESSAGE = "agent_message"
    STATUS_CHANGED = "status_changed"
    TOOL_CALL_AWAITING_CONFIRMATION = "tool_call_awaiting_confirmation"
    TOOL_CALL_WITHDRAWN = "tool_call_withdrawn"
    TOOL_CALL_DECIDED = "tool_call_decided"
    TOOL_STARTED = "tool_started"
    TOOL_PROGRESS = "tool_progress"
    TOOL_FAILED = "tool_failed"
    TEXT_MESSAGE_VOIDED = "text_message_voided"
    TURN_STOPPED = "turn_stopped"
    TOOL_POLICY_CHANGED = "tool_policy_changed"
    GOAL_CHANGED = "goal_changed"


@dataclass(frozen=True)
class ConversationEvent:
    """One AG-UI event plus its deterministic key, as stored in the event log."""

    key: str
    seq: int
    event: BaseEvent
    n: int | None = None
    after: str | None = None
    own_key: bool = False

    @property
    def type(self) -> str:
        return str(self.event.type.value)

    def numbered(self, n: int) -> ConversationEvent:
        """The workflow's ``n``-th event, keyed by its number unless its own key
        is already unique (text events, which others refer to with ``after``)."""
        return dataclasses.replace(self, key=self.key if self.own_key else f"w{n}", n=n)

    def to_json(self) -> str:
        """Camel-case AG-UI JSON with ``metadata`` (seq, key and n) set."""
        metadata: dict[str, Any] = {"seq": self.seq, "key": self.key}
        if self.n is not None:
            metadata["n"] = self.n
        return self.event.model_copy(update={"metadata": metadata}).model_dump_json(
            by_alias=True, exclude_none=True
        )

    @property
    def tag(self) -> str:
        """A CUSTOM event's name (``status_changed:<status>`` for a status), else ""."""
        if not isinstance(self.event, CustomEvent):
            return ""
        if self.event.name == CustomName.STATUS_CHANGED:
            return f"{self.event.name}:{self.event.value['status']}"
        return self.event.name

    def record(self) -> EventRecord:
        return EventRecord(
            key=self.key,
            data=self.to_json(),
            after=self.after,
            type=self.type,
            tag=self.tag,
            n=self.n,
        )


class EventSink(Protocol):
    """Where events go. ``publish`` is idempotent per event key and raises for
    an unreachable log, so that the caller (a retried activity) tries again."""

    async def publish(self, conversation_id: str, events: Sequence[EventRecord]) -> None: ...


async def publish_quietly(
    sink: EventSink, conversation_id: str, events: Sequence[ConversationEvent]
) -> bool:
    """Write events the workflow's own events make up for (text deltas, voids, tool
    progress): False when the log refused them, which the caller may shrug off."""
    return await publish_records_quietly(sink, conversation_id, [e.record() for e in events])


async def publish_records_quietly(
    sink: EventSink, conversation_id: str, records: Sequence[EventRecord]
) -> bool:
    """``publish_quietly`` for events already serialized (the workflow's, handed
    to an activity in its input)."""
    try:
        await sink.publish(conversation_id, records)
    except EventLogUnavailable:
        return False
    return True


def _event(seq: int, part: str, event: BaseEvent, after: str | None = None) -> ConversationEvent:
    return ConversationEvent(f"{seq}/{part}", seq, event, after=after)


def _custom(seq: int, name: CustomName, value: dict[str, Any]) -> ConversationEvent:
    return _event(seq, name.value, CustomEvent(name=name.value, value=value))


# ---- runs -----------------------------------------------------------------------


def run_started(thread_id: str, run_id: str, seq: int) -> ConversationEvent:
    return _event(seq, "run_started", RunStartedEvent(thread_id=thread_id, run_id=run_id))


def run_finished(
    thread_id: str,
    run_id: str,
    seq: int,
    waiting: ToolCall | None = None,
    text: str = "",
    cancelled: bool = False,
) -> ConversationEvent:
    """The end of a run; with ``waiting``, an interrupt asking to approve that call;
    ``cancelled``: the user stopped it (AG-UI's outcome for a run stopped on purpose:
    no result, nothing waited for, the next run is a new one)."""
    outcome: RunFinishedInterruptOutcome | RunFinishedCancelledOutcome | None = None
    if cancelled:
        outcome = RunFinishedCancelledOutcome()
    elif waiting is not None:
        interrupt = Interrupt(
            id=waiting.id,
            reason=APPROVAL_REASON,
            message=text or f"Run {waiting.name}?",
            tool_call_id=waiting.id,
            metadata={"name": waiting.name, "args": waiting.args},
        )
        outcome = RunFinishedInterruptOutcome(interrupts=[interrupt])
    event = RunFinishedEvent(thread_id=thread_id, run_id=run_id, outcome=outcome)
    return _event(seq, "run_finished", event)


def run_error(seq: int, code: str, message: str) -> ConversationEvent:
    return _event(seq, "run_error", RunErrorEvent(message=message, code=code))


# ---- conversation state -----------------------------------------------------------


def conversation_created(conversation_id: str, goal_id: str) -> ConversationEvent:
    value = {"conversationId": conversation_id, "goal": goal_id}
    return _custom(0, CustomName.CONVERSATION_CREATED, value)


def conversation_timed_out(seq: int, idle_seconds: float) -> ConversationEvent:
    """Why the conversation closes by itself: no input for ``idle_seconds``."""
    value = {"reason": "idle_timeout", "idleSeconds": idle_seconds}
    return _custom(seq, CustomName.CONVERSATION_TIMED_OUT, value)


def user_message(seq: int, text: str) -> ConversationEvent:
    value = {"messageId": f"user-{seq}", "text": text}
    return _custom(seq, CustomName.USER_MESSAGE, value)


def status_changed(seq: int, status: ConversationStatus) -> ConversationEvent:
    return _custom(seq, CustomName.STATUS_CHANGED, {"status": status.value})


def goal_changed(seq: int, goal: str, previous: str) -> ConversationEvent:
    """The conversation serves ``goal`` from its next turn on (one transcript goes on)."""
    return _custom(seq, CustomName.GOAL_CHANGED, {"goal": goal, "previous": previous})


# ---- model text -----------------------------------------------------------------


def message_id(seq: int, attempt: int, repair: int) -> str:
    """The id of the text a model call streams: one per attempt and repair."""
    return f"msg-{seq}-{attempt}-{repair}"


def attempt_messages(seq: int, attempts: int, max_repairs: int, models: int = 1) -> list[str]:
    """The ids of every message attempts 1..``attempts`` of a model call may have
    streamed, each with its repairs on each of ``models`` models (the primary and
    its fallbacks): what a later attempt or the workflow closes."""
    slots = range((max_repairs + 1) * models)
    return [message_id(seq, a, s) for a in range(1, attempts + 1) for s in slots]


def model_slot(model_index: int, repair: int, max_repairs: int) -> int:
    """The last part of a message id: the primary's repairs keep 0..``max_repairs``
    (the ids before fallbacks existed); fallback ``k`` takes the next block."""
    return model_index * (max_repairs + 1) + repair


def _text_key(seq: int, mid: str, part: str) -> str:
    return f"{seq}/text/{mid}/{part}"


def text_start(seq: int, mid: str) -> ConversationEvent:
    event = TextMessageStartEvent(message_id=mid, role="assistant")
    return ConversationEvent(_text_key(seq, mid, "start"), seq, event, own_key=True)


def text_delta(seq: int, mid: str, index: int, delta: str) -> ConversationEvent:
    """Written only after the message's start, so no delta is left without one."""
    event = TextMessageContentEvent(message_id=mid, delta=delta)
    return ConversationEvent(
        _text_key(seq, mid, str(index)),
        seq,
        event,
        after=_text_key(seq, mid, "start"),
        own_key=True,
    )


def text_end(seq: int, mid: str) -> ConversationEvent:
    """Written once, and only after the message's start."""
    event = TextMessageEndEvent(message_id=mid)
    return ConversationEvent(
        _text_key(seq, mid, "end"), seq, event, after=_text_key(seq, mid, "start"), own_key=True
    )


def close_messages(seq: int, mids: Iterable[str]) -> list[ConversationEvent]:
    """End and void each message that was opened: the text of a failed attempt.

    Each event comes ``after`` the message's start, so nothing is written for a
    message that never started, and keys make a second close a no-op."""
    events: list[ConversationEvent] = []
    for mid in mids:
        void = CustomEvent(name=CustomName.TEXT_MESSAGE_VOIDED.value, value={"messageId": mid})
        start = _text_key(seq, mid, "start")
        events += [
            text_end(seq, mid),
            ConversationEvent(f"{seq}/void/{mid}", seq, void, after=start, own_key=True),
        ]
    return events


def turn_stopped(seq: int, reason: str, by_user: bool) -> ConversationEvent:
    """The turn ``seq`` was given up before the model answered: its text is voided.
    ``byUser``: stopped by the user; else interrupted by a newer message."""
    return _custom(
        seq, CustomName.TURN_STOPPED, {"turnSeq": seq, "reason": reason, "byUser": by_user}
    )


def whole_message(seq: int, mid: str, text: str) -> list[ConversationEvent]:
    """A message that was not streamed (a fallback answer) as start, content, end."""
    return [text_start(seq, mid), text_delta(seq, mid, 0, text), text_end(seq, mid)]


def agent_message(seq: int, mid: str, text: str) -> ConversationEvent:
    """The agent's whole message: equals the concatenated deltas of ``mid``."""
    return _custom(seq, CustomName.AGENT_MESSAGE, {"messageId": mid, "text": text})


# ---- tools ----------------------------------------------------------------------


def tool_call_proposed(
    seq: int, call: ToolCall, awaiting_confirmation: bool, parent: str | None = None
) -> list[ConversationEvent]:
    """TOOL_CALL_START/ARGS/END, plus the awaiting-confirmation card if asked."""
    events = [
        _event(
            seq,
            "tool_call_start",
            ToolCallStartEvent(
                tool_call_id=call.id, tool_call_name=call.name, parent_message_id=parent
            ),
        ),
        _event(seq, "tool_call_args", ToolCallArgsEvent(tool_call_id=call.id, delta=_args(call))),
        _event(seq, "tool_call_end", ToolCallEndEvent(tool_call_id=call.id)),
    ]
    if awaiting_confirmation:
        value = {"toolCallId": call.id, "name": call.name, "args": call.args}
        events.append(_custom(seq, CustomName.TOOL_CALL_AWAITING_CONFIRMATION, value))
    return events


def tool_call_withdrawn(seq: int, call_id: str, why: str) -> ConversationEvent:
    return _custom(seq, CustomName.TOOL_CALL_WITHDRAWN, {"toolCallId": call_id, "reason": why})


def decision_recorded(
    seq: int,
    call_id: str,
    approved: bool,
    reason: str | None,
    automatic: bool = False,
    edited_args: dict[str, Any] | None = None,
) -> ConversationEvent:
    """The user's (or the policy's) decision; ``editedArgs`` when the user changed
    the proposed arguments: the tool runs with those."""
    value = {"toolCallId": call_id, "approved": approved, "reason": reason, "automatic": automatic}
    if edited_args is not None:
        value["editedArgs"] = edited_args
    return _custom(seq, CustomName.TOOL_CALL_DECIDED, value)


def tool_policy_changed(seq: int, name: str, policy: ToolPolicy) -> ConversationEvent:
    """This conversation's policy for tool ``name`` (e.g. "always allow": ``auto``)."""
    return _custom(seq, CustomName.TOOL_POLICY_CHANGED, {"name": name, "policy": policy.value})


def tool_started(seq: int, call: ToolCall) -> ConversationEvent:
    value = {"toolCallId": call.id, "name": call.name, "args": call.args}
    return _custom(seq, CustomName.TOOL_STARTED, value)


def tool_progress(seq: int, call_id: str, index: int, message: str) -> ConversationEvent:
    value = {"toolCallId": call_id, "message": message}
    return ConversationEvent(
        f"{seq}/tool_progress/{index}",
        seq,
        CustomEvent(name=CustomName.TOOL_PROGRESS.value, value=value),
    )


def tool_result(seq: int, result: ToolResult) -> ConversationEvent:
    event = ToolCallResultEvent(
        message_id=f"tool-{seq}",
        tool_call_id=result.call_id,
        content=json.dumps(result.output),
        role="tool",
    )
    return _event(seq, "tool_result", event)


def tool_failed(seq: int, result: ToolResult) -> ConversationEvent:
    value = {"toolCallId": result.call_id, "name": result.name, "error": result.error}
    return _custom(seq, CustomName.TOOL_FAILED, value)


def snapshot(seq: int, state: dict[str, Any]) -> ConversationEvent:
    """Built by the gateway from the workflow query; never stored in the log."""
    return _event(seq, "snapshot", StateSnapshotEvent(snapshot=state))


def _args(call: ToolCall) -> str:
    return json.dumps(call.args)
