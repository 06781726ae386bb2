"""Request and response bodies of the public API.

Separate from the workflow's own models: the API may grow fields or rename
things without touching workflow history. Routes map between the two.
Request models are strict (no type coercion, no unknown fields).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ag_ui.core import RunAgentInput
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from agent_core.conversation_ids import CONVERSATION_ID_PATTERN
from agent_core.models import (
    BusyPolicy,
    ConversationSnapshot,
    ConversationStatus,
    Message,
    TokenUsage,
    ToolCall,
    ToolPolicy,
)
from agent_core.registry import GOALS, SWITCH_GOAL_TOOL, TOOLS

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
    "GoalSwitch",
    "GoalSwitched",
    "MessageCreate",
    "RunInput",
    "SnapshotState",
    "StopRequest",
    "ToolConfirmation",
    "ToolEdit",
    "ToolRejection",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


_REQUEST_ID = r"^[A-Za-z0-9_.:-]{1,128}$"
# a goal named in a request body: creating a conversation, switching its goal
GoalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="A goal id from GET /v1/goals (any other answers 422 unknown_goal)",
        json_schema_extra={"enum": sorted(GOALS)},
    ),
]
_BUSY = (
    "What a message sent while the agent is answering does: `enqueue` waits its turn, "
    "`reject` is refused (409 agent_busy), `interrupt` stops the model call in flight and "
    "is answered next. While a tool runs, `interrupt` is refused (409 tool_running): a "
    "tool is never cut off."
)

# a message's text: documented here, checked by the routes (check_message) so that a
# blank one gets its own answer, 422 bad_message
_NOT_BLANK = {"pattern": r"\S"}

# a policy by its name ("auto"): the one lax field of the strict request models
_Policy = Annotated[ToolPolicy, Field(strict=False)]


class ConversationCreate(_Request):
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        description="Choose the conversation's id: a retried create with the same id "
        "returns the same conversation (see also the Idempotency-Key header)",
    )
    goal: GoalId = Field(examples=["travel"])
    message: str | None = Field(
        default=None,
        description="Optional first message, not blank (422 bad_message): leave it out to "
        "start the conversation without one",
        examples=["Hi!"],
        json_schema_extra=_NOT_BLANK,
    )
    busy_policy: BusyPolicy = Field(
        default=BusyPolicy.ENQUEUE, strict=False, description=_BUSY + " The default is enqueue."
    )
    tool_policies: dict[str, _Policy] | None = Field(
        default=None,
        examples=[{"find_events": "auto", "create_invoice": "never"}],
        description="Override the registry's approval policy of these tools (names from "
        "GET /v1/goals) for this conversation: ask (confirm first), auto (run without "
        "asking) or never (not offered to the agent; for switch_goal, the agent cannot move "
        "the conversation). A tool the registry says never stays so",
        json_schema_extra={"propertyNames": {"enum": sorted({*TOOLS, SWITCH_GOAL_TOOL})}},
    )


class MessageCreate(_Request):
    text: str = Field(
        min_length=1,
        description="Not blank (422 bad_message)",
        examples=["I'd like to go to Melbourne in April"],
        json_schema_extra=_NOT_BLANK,
    )
    message_id: str | None = Field(
        default=None,
        pattern=_REQUEST_ID,
        description="Client-chosen id: a retry with the same id is applied once and gets "
        "the first answer (the Idempotency-Key header does the same)",
    )
    busy_policy: BusyPolicy | None = Field(
        default=None, strict=False, description=_BUSY + " Unset: the conversation's policy."
    )


class StopRequest(_Request):
    run_id: str | None = Field(
        default=None,
        max_length=128,
        description="The run to stop (from RUN_STARTED): a stop of a run already stopped "
        "gets the first answer; unset stops whatever turn is running",
    )


class ToolRejection(_Request):
    reason: str | None = Field(default=None, max_length=2_000)


class ToolConfirmation(_Request):
    always: bool = Field(
        default=False,
        description="Always allow this tool in this conversation: later calls run without asking",
    )


class ToolEdit(ToolConfirmation):
    args: dict[str, Any] = Field(
        description="The arguments to run the tool with instead of the proposed ones; "
        "they must fit the tool's JSON schema (else 422 bad_tool_args)",
        examples=[{"city": "Sydney", "month": "April"}],
    )


# an id the AG-UI route checks itself (422 bad_thread_id, bad_run_id): documented here
_AGUI_ID = {"pattern": CONVERSATION_ID_PATTERN}


class RunInput(RunAgentInput):
    """AG-UI's ``RunAgentInput``, its ids documented as this endpoint takes them."""

    thread_id: str = Field(
        description="The conversation (started when new)", json_schema_extra=_AGUI_ID
    )
    run_id: str = Field(
        description="Names the run; a retried POST with it is applied once",
        json_schema_extra=_AGUI_ID,
    )


class GoalSwitch(_Request):
    goal: GoalId = Field(examples=["hr_time_off"])
    request_id: str | None = Field(
        default=None,
        pattern=_REQUEST_ID,
        description="Client-chosen id: a retry with the same id is applied once "
        "(the Idempotency-Key header does the same)",
    )


class GoalSwitched(BaseModel):
    """202: the conversation serves ``goal`` from its next turn on."""

    conversation_id: str
    seq: int
    goal: str
    unchanged: bool = Field(
        default=False, description="it had that goal already (or this is a retry): nothing new"
    )


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
    run_id: str | None = Field(default=None, description="the run a stop stopped")
    duplicate: bool = Field(
        default=False, description="a retry of a request already accepted: nothing new was done"
    )


PAGE_CURSOR = r"^page-[0-9]{1,9}$"


def page_cursor(page: int) -> str | None:
    """The cursor that fetches archived page ``page`` (none before the first)."""
    return f"page-{page}" if page >= 0 else None


def page_of(cursor: str) -> int:
    """The page number a cursor from ``page_cursor`` names (``PAGE_CURSOR`` checked it)."""
    return int(cursor.removeprefix("page-"))


class ConversationPublic(BaseModel):
    id: str
    goal: str
    status: ConversationStatus
    transcript: list[Message] = Field(
        description="The recent part of the transcript; older lines come page by page "
        "from GET .../messages?before=older_messages"
    )
    first_index: int = Field(description="The position of transcript[0] in the whole conversation")
    older_messages: str | None = Field(
        description="Cursor for the page before transcript[0]; null when nothing is older"
    )
    pending_tool_call: ToolCall | None
    queued_messages: list[str]
    last_seq: int
    events_url: str
    tool_policies: dict[str, ToolPolicy] = Field(
        description="This conversation's overrides of the registry's tool policies"
    )
    usage: TokenUsage = Field(
        default_factory=TokenUsage,
        description="Tokens the model provider counted for this conversation's answers",
    )

    @classmethod
    def from_snapshot(cls, snap: ConversationSnapshot, events_url: str) -> ConversationPublic:
        return cls(
            id=snap.conversation_id,
            goal=snap.goal_id,
            status=snap.status,
            transcript=snap.transcript,
            first_index=snap.archived_messages,
            older_messages=page_cursor(snap.archive_pages - 1),
            pending_tool_call=snap.pending_call,
            queued_messages=[p.text for p in snap.queued_prompts],
            last_seq=snap.last_seq,
            events_url=events_url,
            tool_policies=snap.tool_policies,
            usage=snap.usage,
        )


class MessagePage(BaseModel):
    """A stretch of the transcript, oldest line first, and the cursor to the one before."""

    messages: list[Message]
    first_index: int = Field(description="The position of messages[0] in the whole conversation")
    older_messages: str | None = Field(
        description="Cursor for the page before this one; null at the conversation's start"
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
    mcp_servers: list[str] = Field(
        default_factory=list, description="MCP servers whose tools this goal also offers"
    )
    unavailable_mcp_servers: dict[str, str] = Field(
        default_factory=dict,
        description="MCP servers whose tools could not be listed just now, with the reason",
    )


class GoalList(BaseModel):
    goals: list[GoalPublic]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


# ---- the STATE_SNAPSHOT payload: camelCase like every event, nothing the caller did not send or see


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class SnapshotToolCall(_Camel):
    id: str
    name: str
    args: dict[str, Any]


class SnapshotToolResult(_Camel):
    call_id: str
    name: str
    ok: bool
    output: dict[str, Any] | None = None
    error: str | None = None


class SnapshotMessage(_Camel):
    seq: int
    role: str
    text: str
    tool_call: SnapshotToolCall | None = None
    tool_result: SnapshotToolResult | None = None


class SnapshotState(_Camel):
    """What a ``STATE_SNAPSHOT`` carries: the conversation as the workflow holds it."""

    conversation_id: str
    goal: str
    status: ConversationStatus
    transcript: list[SnapshotMessage]
    first_index: int  # transcript[0]'s line in the whole conversation
    older_messages: str | None  # cursor for GET .../messages, for the lines before
    pending_tool_call: SnapshotToolCall | None
    queued_messages: list[str]
    last_seq: int

    @classmethod
    def from_snapshot(cls, snap: ConversationSnapshot) -> SnapshotState:
        return cls.model_validate(
            {
                "conversation_id": snap.conversation_id,
                "goal": snap.goal_id,
                "status": snap.status,
                "transcript": [m.model_dump() for m in snap.transcript],
                "first_index": snap.archived_messages,
                "older_messages": page_cursor(snap.archive_pages - 1),
                "pending_tool_call": snap.pending_call.model_dump() if snap.pending_call else None,
                "queued_messages": [p.text for p in snap.queued_prompts],
                "last_seq": snap.last_seq,
            }
        )

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
