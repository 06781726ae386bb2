"""Typed models that cross the workflow boundary.

Everything here travels through Temporal's pydantic data converter: workflow
input and state, update inputs and results, activity inputs and results. The
gateway has its own request/response models and maps to these at the route.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AgentConfig",
    "AgentStep",
    "ConversationSnapshot",
    "ConversationStatus",
    "EndChatInput",
    "EndChatResult",
    "Message",
    "PendingDecision",
    "PlanTurnInput",
    "Prompt",
    "PromptSource",
    "RunToolInput",
    "SendPromptInput",
    "SendPromptResult",
    "SummarizeInput",
    "TaskQueues",
    "ToolCall",
    "ToolDecisionInput",
    "ToolDecisionResult",
    "ToolResult",
    "TurnContext",
    "ValidatePromptInput",
    "ValidationResult",
    "WorkflowInput",
    "WorkflowState",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationStatus(StrEnum):
    """Where the conversation is; published as status-change events."""

    AWAITING_INPUT = "awaiting_input"
    THINKING = "thinking"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    RUNNING_TOOL = "running_tool"
    ENDED = "ended"


class PromptSource(StrEnum):
    """Who made a prompt. Only user prompts are validated against the goal."""

    USER = "user"
    TOOL_RESULT = "tool_result"
    TOOL_REJECTED = "tool_rejected"


class Prompt(_Model):
    """A queued input for the agent, with the event sequence number it was given."""

    seq: int
    source: PromptSource
    text: str


class ToolCall(_Model):
    """A tool call the agent proposed; ``id`` is deterministic per conversation."""

    id: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ToolResult(_Model):
    """Outcome of a tool run. ``ok=False`` is a failure the agent is told about."""

    call_id: str
    name: str
    ok: bool
    output: dict[str, Any] | None = None
    error: str | None = None


class Message(_Model):
    """One line of the user-visible transcript."""

    seq: int
    role: Literal["user", "agent", "tool"]
    text: str
    tool_call: ToolCall | None = None
    tool_result: ToolResult | None = None


class AgentConfig(_Model):
    """Behaviour settings, read once per conversation through an activity."""

    show_confirm: bool = True
    history_window: int = 12
    max_turns_per_run: int = 50
    max_prompt_chars: int = 8_000
    max_history_events: int = 4_000
    heartbeat_timeout_seconds: float = 10.0
    llm_timeout_seconds: float = 60.0


class TaskQueues(_Model):
    """Where the workflow sends its activities (deployment settings, fixed at start)."""

    llm: str = "agent-llm"
    tools: str = "agent-tools"


class PendingDecision(_Model):
    """A confirm or reject the run loop has not acted on yet."""

    seq: int
    call_id: str
    approved: bool
    reason: str | None = None


class WorkflowState(_Model):
    """All state of a conversation, handed whole to continue-as-new."""

    conversation_id: str
    tenant: str
    goal_id: str
    queues: TaskQueues = Field(default_factory=TaskQueues)
    config: AgentConfig | None = None
    transcript: list[Message] = Field(default_factory=list)
    summary: str = ""
    summarized_upto: int = 0
    prompts: list[Prompt] = Field(default_factory=list)
    pending_call: ToolCall | None = None
    decision: PendingDecision | None = None
    proposing_call_id: str | None = None
    status: ConversationStatus = ConversationStatus.AWAITING_INPUT
    ended: bool = False
    next_seq: int = 1
    run_number: int = 1


class WorkflowInput(_Model):
    """Start a conversation, or carry one across continue-as-new (``state`` set)."""

    conversation_id: str
    tenant: str
    goal_id: str
    queues: TaskQueues = Field(default_factory=TaskQueues)
    state: WorkflowState | None = None


class ConversationSnapshot(_Model):
    """What the history query returns: enough to rebuild any client's view."""

    conversation_id: str
    tenant: str
    goal_id: str
    status: ConversationStatus
    transcript: list[Message]
    pending_call: ToolCall | None
    queued_prompts: list[Prompt]
    summary: str
    last_seq: int
    run_number: int


# ---- updates -----------------------------------------------------------------


class SendPromptInput(_Model):
    text: str


class SendPromptResult(_Model):
    seq: int
    queued: int


class ToolDecisionInput(_Model):
    """Confirm or reject the pending tool call named by ``call_id``."""

    call_id: str
    reason: str | None = None


class ToolDecisionResult(_Model):
    seq: int
    call_id: str
    approved: bool


class EndChatInput(_Model):
    reason: str | None = None


class EndChatResult(_Model):
    seq: int
    already_ended: bool = False


# ---- activities ---------------------------------------------------------------


class TurnContext(_Model):
    """What an LLM activity sees of the conversation: a window plus a summary.

    ``seq`` is the turn's event sequence number; ``max_attempts`` mirrors the
    retry policy so the last attempt answers the user instead of failing.
    """

    conversation_id: str
    goal_id: str
    summary: str
    window: list[Message]
    seq: int
    max_attempts: int


class ValidatePromptInput(_Model):
    context: TurnContext
    prompt: Prompt


class ValidationResult(_Model):
    """``error`` is set (with ``valid=False``) when the model could not be used."""

    valid: bool
    reason: str = ""
    error: str | None = None


class PlanTurnInput(_Model):
    context: TurnContext
    call_id: str
    show_confirm: bool


class AgentStep(_Model):
    """The planner's decision. ``tool_call`` is set when ``next`` is ``confirm``."""

    next: Literal["question", "confirm", "done"]
    response: str
    tool_call: ToolCall | None = None
    error: str | None = None


class SummarizeInput(_Model):
    conversation_id: str
    goal_id: str
    previous_summary: str
    messages: list[Message]


class RunToolInput(_Model):
    """``max_attempts`` mirrors the retry policy: the last attempt reports an
    unexpected error as a failed result instead of raising."""

    conversation_id: str
    workflow_id: str
    seq: int
    call: ToolCall
    max_attempts: int = 5
