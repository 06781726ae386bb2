"""The conversation event vocabulary, named after AG-UI where a kind matches.

Events are AG-UI pydantic events (``ag_ui.core``); what AG-UI has no kind for
is a ``CUSTOM`` event with one of the ``CustomName`` names. Every event carries
``metadata = {"seq": int, "key": str}``: ``seq`` is the workflow-assigned,
per-conversation sequence number the event belongs to (carried across
continue-as-new), ``key`` is a deterministic id unique in the conversation.
Publishing is keyed on ``key``, so a retried publish (an activity retry, the
gateway and an activity both reporting the same accepted message) is a no-op.

Keys have the shape ``<seq>/<part>[/<attempt>/<n>]``: text deltas of one model
call share the turn's prefix and count up within it (``12/text/a1/0``,
``12/text/a1/1``, ...). A retried model call publishes ``text_message_voided``
for the earlier attempt's message id before it streams again.

This module builds events and declares the ``EventSink`` port; it does no I/O
(the Redis implementation is ``agent_core.event_log``), so activity classes
can depend on it without dragging I/O libraries into workflow code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    RunErrorEvent,
    RunFinishedEvent,
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

from agent_core.models import ConversationSnapshot, ConversationStatus, ToolCall, ToolResult

__all__ = [
    "FIRST_EVENT_KEY",
    "ConversationEvent",
    "CustomName",
    "EventSink",
    "agent_message",
    "conversation_created",
    "decision_recorded",
    "run_error",
    "run_finished",
    "run_started",
    "snapshot",
    "status_changed",
    "text_delta",
    "text_end",
    "text_start",
    "text_voided",
    "tool_call_proposed",
    "tool_failed",
    "tool_progress",
    "tool_result",
    "tool_started",
    "user_message",
]


class CustomName(StrEnum):
    """Names of the CUSTOM events: kinds AG-UI does not have."""

    USER_MESSAGE = "user_message"
    AGENT_MESSAGE = "agent_message"
    STATUS_CHANGED = "status_changed"
    TOOL_CALL_AWAITING_CONFIRMATION = "tool_call_awaiting_confirmation"
    TOOL_CALL_DECIDED = "tool_call_decided"
    TOOL_STARTED = "tool_started"
    TOOL_PROGRESS = "tool_progress"
    TOOL_FAILED = "tool_failed"
    TEXT_MESSAGE_VOIDED = "text_message_voided"
    CONVERSATION_CREATED = "conversation_created"


@dataclass(frozen=True)
class ConversationEvent:
    """One AG-UI event plus its deterministic key, as stored in the event log."""

    key: str
    seq: int
    event: BaseEvent

    @property
    def type(self) -> str:
        return str(self.event.type.value)

    def to_json(self) -> str:
        """Camel-case AG-UI JSON with ``metadata.seq`` and ``metadata.key`` set."""
        return self.event.model_copy(
            update={"metadata": {"seq": self.seq, "key": self.key}}
        ).model_dump_json(by_alias=True, exclude_none=True)


class EventSink(Protocol):
    """Where events go. ``publish`` must be idempotent per event key and must
    not raise for an unreachable log: the event log is a fast path, Temporal
    is the source of truth."""

    async def publish(self, conversation_id: str, events: Sequence[ConversationEvent]) -> None: ...


def _custom(seq: int, part: str, name: CustomName, value: dict[str, Any]) -> ConversationEvent:
    return ConversationEvent(f"{seq}/{part}", seq, CustomEvent(name=name.value, value=value))


FIRST_EVENT_KEY = "0/created"


def conversation_created(conversation_id: str, goal_id: str) -> ConversationEvent:
    """The first entry of every log: a reader that finds it knows the log is whole."""
    value = {"conversationId": conversation_id, "goal": goal_id}
    return ConversationEvent(
        FIRST_EVENT_KEY, 0, CustomEvent(name=CustomName.CONVERSATION_CREATED.value, value=value)
    )


def user_message(seq: int, text: str) -> ConversationEvent:
    return _custom(
        seq, "user_message", CustomName.USER_MESSAGE, {"messageId": f"user-{seq}", "text": text}
    )


def status_changed(seq: int, status: ConversationStatus, part: str = "") -> ConversationEvent:
    suffix = f"/{part}" if part else ""
    return _custom(
        seq, f"status/{status.value}{suffix}", CustomName.STATUS_CHANGED, {"status": status.value}
    )


def run_started(conversation_id: str, seq: int) -> ConversationEvent:
    event = RunStartedEvent(thread_id=conversation_id, run_id=f"turn-{seq}")
    return ConversationEvent(f"{seq}/run_started", seq, event)


def run_finished(conversation_id: str, seq: int) -> ConversationEvent:
    event = RunFinishedEvent(thread_id=conversation_id, run_id=f"turn-{seq}")
    return ConversationEvent(f"{seq}/run_finished", seq, event)


def run_error(seq: int, code: str, message: str) -> ConversationEvent:
    return ConversationEvent(f"{seq}/run_error", seq, RunErrorEvent(message=message, code=code))


def text_start(seq: int, message_id: str) -> ConversationEvent:
    event = TextMessageStartEvent(message_id=message_id, role="assistant")
    return ConversationEvent(f"{seq}/text/{message_id}/start", seq, event)


def text_delta(seq: int, message_id: str, index: int, delta: str) -> ConversationEvent:
    event = TextMessageContentEvent(message_id=message_id, delta=delta)
    return ConversationEvent(f"{seq}/text/{message_id}/{index}", seq, event)


def text_end(seq: int, message_id: str) -> ConversationEvent:
    return ConversationEvent(
        f"{seq}/text/{message_id}/end", seq, TextMessageEndEvent(message_id=message_id)
    )


def text_voided(seq: int, message_id: str) -> ConversationEvent:
    return _custom(
        seq, f"void/{message_id}", CustomName.TEXT_MESSAGE_VOIDED, {"messageId": message_id}
    )


def agent_message(seq: int, message_id: str, text: str) -> ConversationEvent:
    """The agent's whole message: equals the concatenated deltas of ``message_id``.

    Keyed by message id, not by turn: a retried model call's final message has a
    new id and must not be dropped as a duplicate of a voided attempt's.
    """
    return _custom(
        seq,
        f"agent_message/{message_id}",
        CustomName.AGENT_MESSAGE,
        {"messageId": message_id, "text": text},
    )


def tool_call_proposed(
    seq: int, call: ToolCall, awaiting_confirmation: bool
) -> list[ConversationEvent]:
    """TOOL_CALL_START/ARGS/END, plus the awaiting-confirmation card if asked."""
    events = [
        ConversationEvent(
            f"{seq}/tool_call/start",
            seq,
            ToolCallStartEvent(tool_call_id=call.id, tool_call_name=call.name),
        ),
        ConversationEvent(
            f"{seq}/tool_call/args",
            seq,
            ToolCallArgsEvent(tool_call_id=call.id, delta=json.dumps(call.args)),
        ),
        ConversationEvent(f"{seq}/tool_call/end", seq, ToolCallEndEvent(tool_call_id=call.id)),
    ]
    if awaiting_confirmation:
        value = {"toolCallId": call.id, "name": call.name, "args": call.args}
        events.append(
            _custom(seq, "awaiting_confirmation", CustomName.TOOL_CALL_AWAITING_CONFIRMATION, value)
        )
    return events


def decision_recorded(
    seq: int, call_id: str, approved: bool, reason: str | None
) -> ConversationEvent:
    value = {"toolCallId": call_id, "approved": approved, "reason": reason}
    return _custom(seq, "decision", CustomName.TOOL_CALL_DECIDED, value)


def tool_started(seq: int, call: ToolCall) -> ConversationEvent:
    value = {"toolCallId": call.id, "name": call.name, "args": call.args}
    return _custom(seq, "tool_started", CustomName.TOOL_STARTED, value)


def tool_progress(seq: int, call_id: str, index: int, message: str) -> ConversationEvent:
    value = {"toolCallId": call_id, "message": message}
    return _custom(seq, f"tool_progress/{index}", CustomName.TOOL_PROGRESS, value)


def tool_result(seq: int, result: ToolResult) -> ConversationEvent:
    event = ToolCallResultEvent(
        message_id=f"tool-{seq}",
        tool_call_id=result.call_id,
        content=json.dumps(result.output),
        role="tool",
    )
    return ConversationEvent(f"{seq}/tool_result", seq, event)


def tool_failed(seq: int, result: ToolResult) -> ConversationEvent:
    value = {"toolCallId": result.call_id, "name": result.name, "error": result.error}
    return _custom(seq, "tool_failed", CustomName.TOOL_FAILED, value)


def snapshot(state: ConversationSnapshot) -> ConversationEvent:
    """Built by the gateway from the workflow query; never stored in the log."""
    event = StateSnapshotEvent(snapshot=state.model_dump(mode="json"))
    return ConversationEvent(f"{state.last_seq}/snapshot", state.last_seq, event)
