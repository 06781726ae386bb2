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
    "ArchivePageInput",
    "BusyPolicy",
    "ConversationInput",
    "ConversationSnapshot",
    "ConversationState",
    "ConversationStatus",
    "EndChatInput",
    "EndChatResult",
    "EventRecord",
    "ListMcpToolsInput",
    "McpCatalog",
    "McpTool",
    "Message",
    "PendingDecision",
    "PlanTurnInput",
    "Prompt",
    "PromptSource",
    "PublishEventsInput",
    "RunError",
    "RunToolInput",
    "SendPromptInput",
    "SendPromptResult",
    "StopTurnInput",
    "StopTurnResult",
    "SummarizeInput",
    "SwitchGoalInput",
    "SwitchGoalResult",
    "TaskQueues",
    "TokenUsage",
    "ToolCall",
    "ToolDecisionInput",
    "ToolDecisionResult",
    "ToolEditInput",
    "ToolPolicy",
    "ToolResult",
    "TranscriptPage",
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


class BusyPolicy(StrEnum):
    """What a message sent while the agent is answering does: wait its turn, be
    refused, or stop the model call in flight and be answered next. A running
    tool is never cut off: ``interrupt`` is refused while one runs."""

    ENQUEUE = "enqueue"
    REJECT = "reject"
    INTERRUPT = "interrupt"


class ToolPolicy(StrEnum):
    """Whether a proposed tool call waits for the user: ``ask`` (confirm, reject or
    edit it), ``auto`` (runs at once, still shown) or ``never`` (not offered)."""

    ASK = "ask"
    AUTO = "auto"
    NEVER = "never"


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
    """One line of the user-visible transcript; ``model`` is the model that wrote an
    agent line (a fallback's name when the primary was unavailable)."""

    seq: int
    role: Literal["user", "agent", "tool"]
    text: str
    tool_call: ToolCall | None = None
    tool_result: ToolResult | None = None
    model: str | None = None


class TokenUsage(_Model):
    """Tokens the provider counted: of one step's calls, or a conversation's so far."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def plus(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class AgentConfig(_Model):
    """Behaviour settings, read once per conversation through an activity (so the
    timeouts the workflow's timers use are in its history).

    ``idle_timeout_seconds``: no input this long closes the conversation;
    ``confirmation_timeout_seconds``: a proposal left undecided this long is
    withdrawn (0: only the idle timeout applies)."""

    show_confirm: bool = True
    history_window: int = 12
    max_turns_per_run: int = 50
    max_prompt_chars: int = 8_000
    max_history_events: int = 4_000
    heartbeat_timeout_seconds: float = 10.0
    llm_timeout_seconds: float = 60.0
    max_repairs: int = 2
    # the primary model and its fallbacks: how many a call may try per attempt,
    # so the workflow knows every message id an attempt may have streamed under
    models: int = 1
    idle_timeout_seconds: float = 3 * 24 * 3600.0
    confirmation_timeout_seconds: float = 0.0
    # each tool's policy from the registry, read with the rest so replay sees the
    # same; a tool missing here (conversations started before policies) asks
    tool_policies: dict[str, ToolPolicy] = Field(default_factory=dict)


class TaskQueues(_Model):
    """Where the workflow sends its activities (deployment settings, fixed at start).

    An empty ``llm`` means the workflow's own queue (``ConversationWorkflow``)."""

    llm: str = "agent-llm"
    tools: str = "agent-tools"


class PendingDecision(_Model):
    """A confirm or reject the run loop has not acted on yet; ``args`` are the
    user's edit of the proposed arguments, which the tool runs with."""

    seq: int
    call_id: str
    approved: bool
    reason: str | None = None
    args: dict[str, Any] | None = None


class RunError(_Model):
    """Why the run in progress will end with ``RUN_ERROR``."""

    code: str
    message: str


class _ConversationFields(_Model):
    """What both workflow versions keep of a conversation."""

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
    status: ConversationStatus = ConversationStatus.AWAITING_INPUT
    ended: bool = False
    next_seq: int = 1
    run_number: int = 1


class WorkflowState(_ConversationFields):
    """All state of a 0.1 ``AgentWorkflow``, handed whole to continue-as-new."""

    proposing_call_id: str | None = None


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
    tool_policies: dict[str, ToolPolicy] = Field(default_factory=dict)
    # the transcript's older lines live in archived pages: ``transcript`` starts
    # at line ``archived_messages`` of the conversation
    archived_messages: int = 0
    archive_pages: int = 0
    usage: TokenUsage = Field(default_factory=TokenUsage)


# ---- updates -----------------------------------------------------------------


class SendPromptInput(_Model):
    """``request_id`` (the client's idempotency key) makes a retry return the first
    answer; ``run_id`` names the AG-UI run the message opens, and ``new_run_only``
    refuses the message while a run is in progress instead of queueing it."""

    text: str
    request_id: str | None = None
    run_id: str | None = None
    new_run_only: bool = False
    busy: BusyPolicy | None = None  # None: the conversation's policy


class SendPromptResult(_Model):
    seq: int
    queued: int
    duplicate: bool = False
    run_id: str | None = None


class ToolDecisionInput(_Model):
    """Confirm or reject the pending tool call named by ``call_id``; ``run_id``
    names the AG-UI run the decision starts. ``always`` (with a confirm) lets
    this tool run without asking for the rest of the conversation."""

    call_id: str
    reason: str | None = None
    run_id: str | None = None
    always: bool = False


class ToolEditInput(ToolDecisionInput):
    """Confirm the pending call with these arguments instead of the proposed ones."""

    args: dict[str, Any]


class ToolDecisionResult(_Model):
    seq: int
    call_id: str
    approved: bool


class StopTurnInput(_Model):
    """Stop the model call in flight. ``run_id`` names the run it stops (a stop of
    a run already stopped gets the first answer); ``request_id`` makes a retry
    return the first answer."""

    run_id: str | None = None
    request_id: str | None = None


class StopTurnResult(_Model):
    """``seq`` is the stopped turn's; ``run_id`` the run it was part of."""

    seq: int
    run_id: str | None
    duplicate: bool = False


class SwitchGoalInput(_Model):
    """Move the conversation to another goal; ``request_id`` as for a message."""

    goal: str
    request_id: str | None = None
    run_id: str | None = None


class SwitchGoalResult(_Model):
    seq: int
    goal: str
    unchanged: bool = False


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


class McpTool(_Model):
    """A tool an MCP server listed: ``name`` is the public ``server__tool`` the
    model calls, ``tool`` the server's own name, ``parameters`` its input schema."""

    name: str
    server: str
    tool: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    approval: ToolPolicy = ToolPolicy.ASK


class PlanTurnInput(_Model):
    """``allow_refusal``: the newest input is the user's, so the model may refuse it
    as off the goal in the same call that plans (one model call per user turn)."""

    context: TurnContext
    call_id: str
    show_confirm: bool
    allow_refusal: bool = False
    withheld_tools: list[str] = Field(default_factory=list)
    # the goal's MCP tools as the tools worker listed them (native ones come from the registry)
    mcp_tools: list[McpTool] = Field(default_factory=list)
    # the workflow's events not yet in the log, for the call to write before it asks
    # the model (best effort: the workflow's next batch repeats them)
    events: list[EventRecord] = Field(default_factory=list)


class AgentStep(_Model):
    """The planner's decision. ``tool_call`` is set when ``next`` is ``confirm``;
    ``refuse`` answers a user message that does not fit the goal.
    ``message_id`` names the streamed text message the response was sent as;
    ``stale_messages`` the ones earlier attempts and repairs of the call may
    have left open. ``model`` answered; ``usage`` counts every call the step
    made (repairs and fallbacks too)."""

    next: Literal["question", "confirm", "done", "refuse"]
    response: str
    tool_call: ToolCall | None = None
    error: str | None = None
    message_id: str | None = None
    stale_messages: list[str] = Field(default_factory=list)
    model: str | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)


class SummarizeInput(_Model):
    conversation_id: str
    goal_id: str
    previous_summary: str
    messages: list[Message]


class ArchivePageInput(_Model):
    """A page of the transcript to keep in the object store: page ``page`` of the
    conversation, its lines from ``first_index`` on."""

    workflow_id: str
    page: int
    first_index: int
    messages: list[Message]


class TranscriptPage(_Model):
    """An archived page as the object store keeps it."""

    page: int
    first_index: int
    messages: list[Message]


class ListMcpToolsInput(_Model):
    servers: list[str]


class McpCatalog(_Model):
    """What the servers listed; ``errors`` names each server that could not
    answer, with a reason fit for a user (no secrets)."""

    tools: list[McpTool] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)


class RunToolInput(_Model):
    """``max_attempts`` mirrors the retry policy: the last attempt reports an
    unexpected error as a failed result instead of raising."""

    conversation_id: str
    workflow_id: str
    seq: int
    call: ToolCall
    max_attempts: int = 5


# ---- the conversation workflow (one author of its events) ----------------------


class ConversationState(_ConversationFields):
    """All state of a ``ConversationWorkflow``, handed whole to continue-as-new.

    ``events_written`` counts the events the workflow has authored: each gets the
    next number as ``metadata.n`` (contiguous, so a reader can tell a gap).
    ``run_id`` is the AG-UI run in progress, if any. ``answered`` maps recent
    request ids to the seq they were given, so a retried request returns its
    first answer across continue-as-new too (Temporal dedups only within a run);
    ``stops`` does the same for stops, by request id and by the run stopped.
    ``run_stopped``: the user stopped the run's turn, so it finishes cancelled.
    ``busy_policy`` is what a message sent while the agent answers does, unless
    the message names its own. ``tool_policies`` are this conversation's
    overrides of the registry's. ``transcript`` is the recent part only: older
    lines are written to the object store in pages (``archive_pages`` of them,
    ``archived_messages`` lines), so the state stays small at any length.
    """

    events_written: int = 0
    archived_messages: int = 0
    archive_pages: int = 0
    run_id: str | None = None
    run_error: RunError | None = None
    run_stopped: bool = False
    # the MCP tools listed for this conversation's goals, by public name
    mcp_tools: dict[str, McpTool] = Field(default_factory=dict)
    answered: dict[str, int] = Field(default_factory=dict)
    busy_policy: BusyPolicy = BusyPolicy.ENQUEUE
    stops: dict[str, StopTurnResult] = Field(default_factory=dict)
    tool_policies: dict[str, ToolPolicy] = Field(default_factory=dict)
    usage: TokenUsage = Field(default_factory=TokenUsage)


class ConversationInput(_Model):
    """Start a conversation, or carry one across continue-as-new (``state`` set).

    ``run_id`` names the AG-UI run the conversation's creation opens;
    ``busy_policy`` is the conversation's (see ``BusyPolicy``); ``tool_policies``
    override the registry's for this conversation."""

    conversation_id: str
    tenant: str
    goal_id: str
    queues: TaskQueues = Field(default_factory=TaskQueues)
    state: ConversationState | None = None
    run_id: str | None = None
    busy_policy: BusyPolicy = BusyPolicy.ENQUEUE
    tool_policies: dict[str, ToolPolicy] = Field(default_factory=dict)


class EventRecord(_Model):
    """One serialized event: its deterministic key and its AG-UI JSON.

    ``after`` (optional) is a key that must already be in the log for this
    event to be appended: closing a text message only if it was opened.
    ``type``, ``tag`` and ``n`` are stored beside the JSON, so readers route
    an event without parsing it: ``tag`` is a CUSTOM event's name, with the
    status for ``status_changed`` (``status_changed:ended``)."""

    key: str
    data: str
    after: str | None = None
    type: str = ""
    tag: str = ""
    n: int | None = None


class PublishEventsInput(_Model):
    """``final``: the batch ends the conversation, so its log may expire sooner."""

    conversation_id: str
    events: list[EventRecord]
    final: bool = False
