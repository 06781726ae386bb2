"""Request and response bodies of the public API.

Separate from the workflow's own models: the API may grow fields or rename
things without touching workflow history. Routes map between the two.
Request models are strict (no type coercion, no unknown fields).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent_core.models import ConversationSnapshot, ConversationStatus, Message, ToolCall
from agent_core.registry import GOALS

__all__ = [
    "Accepted",
    "ConversationCreate",
    "ConversationCreated",
    "ConversationList",
    "ConversationListItem",
    "ConversationPublic",
    "ErrorBody",
    "ErrorResponse",
    "GoalList",
    "GoalPublic",
    "MessageCreate",
    "ToolRejection",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ConversationCreate(_Request):
    goal: str = Field(
        min_length=1,
        max_length=64,
        examples=["travel"],
        description="A goal id from GET /v1/goals (any other answers 422 unknown_goal)",
        json_schema_extra={"enum": sorted(GOALS)},
    )
    message: str | None = Field(
        default=None, description="Optional first message", examples=["Hi!"]
    )


class MessageCreate(_Request):
    text: str = Field(min_length=1, examples=["I'd like to go to Melbourne in April"])


class ToolRejection(_Request):
    reason: str | None = Field(default=None, max_length=2_000)


class ConversationCreated(BaseModel):
    id: str
    goal: str
    status: ConversationStatus
    events_url: str
    message_seq: int | None = None


class Accepted(BaseModel):
    """202: the workflow accepted the input (queued), not that the turn finished."""

    conversation_id: str
    seq: int
    queued: int | None = None
    tool_call_id: str | None = None


class ConversationPublic(BaseModel):
    id: str
    goal: str
    status: ConversationStatus
    transcript: list[Message]
    pending_tool_call: ToolCall | None
    queued_messages: list[str]
    last_seq: int
    events_url: str

    @classmethod
    def from_snapshot(cls, snap: ConversationSnapshot, events_url: str) -> ConversationPublic:
        return cls(
            id=snap.conversation_id,
            goal=snap.goal_id,
            status=snap.status,
            transcript=snap.transcript,
            pending_tool_call=snap.pending_call,
            queued_messages=[p.text for p in snap.queued_prompts],
            last_seq=snap.last_seq,
            events_url=events_url,
        )


class ConversationListItem(BaseModel):
    id: str
    goal: str | None
    running: bool
    started_at: datetime | None


class ConversationList(BaseModel):
    conversations: list[ConversationListItem]


class GoalPublic(BaseModel):
    id: str
    title: str
    description: str
    category: str
    starter_prompt: str
    tools: list[dict[str, Any]]


class GoalList(BaseModel):
    goals: list[GoalPublic]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
