"""Errors of the agent core, under one base class.

    AgentError
    ├── UnknownGoal           a goal id that is not in the registry
    ├── UnknownTool           a tool name that is not in the registry
    ├── BadToolArgs           tool arguments that fail the tool's JSON schema
    ├── ConversationNotFound  no conversation with that id (for this tenant)
    ├── ToolFailed            a tool ran and failed; the agent is told why
    ├── EventLogUnavailable   the event log (Redis) could not be written
    └── ModelError            the model could not be used
        ├── ModelAuthError      bad credentials: retrying will not help
        ├── ModelBadRequest     the provider refused the request as malformed
        └── ModelUnavailable    rate limit, timeout or server error: retry

Foreign exceptions are translated once, at the boundary where they appear
(litellm in the LLM worker, Temporal RPC errors in the gateway).
``ERROR_TYPES`` names the ``ApplicationError.type`` strings activities use, so
callers branch on a type, never on message text.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "BadToolArgs",
    "ConversationNotFound",
    "ErrorType",
    "EventLogUnavailable",
    "ModelAuthError",
    "ModelBadRequest",
    "ModelError",
    "ModelUnavailable",
    "ToolFailed",
    "UnknownGoal",
    "UnknownTool",
]


class AgentError(Exception):
    """Base class of every error the agent core raises on purpose."""


class UnknownGoal(AgentError):
    pass


class UnknownTool(AgentError):
    pass


class BadToolArgs(AgentError):
    """Arguments that fail validation; ``problems`` lists each in plain words."""

    def __init__(self, tool: str, problems: list[str]) -> None:
        self.tool = tool
        self.problems = problems
        super().__init__(f"bad arguments for {tool}: " + "; ".join(problems))


class ConversationNotFound(AgentError):
    pass


class ToolFailed(AgentError):
    """Raised by a tool for a failure the user should hear about (not retried)."""


class EventLogUnavailable(AgentError):
    """Raised by the event log for a write it could not make; callers retry or
    (for text deltas and progress, which the final message repeats) go on."""


class ModelError(AgentError):
    """``status`` is the provider's HTTP status, when it answered with one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModelAuthError(ModelError):
    pass


class ModelBadRequest(ModelError):
    pass


class ModelUnavailable(ModelError):
    pass


class ErrorType:
    """``ApplicationError.type`` values raised by activities and update handlers."""

    MODEL_AUTH = "ModelAuthError"
    MODEL_BAD_REQUEST = "ModelBadRequest"
    MODEL_UNAVAILABLE = "ModelUnavailable"
    # empty or cut off (finish_reason length) on every repair
    MODEL_BAD_REPLY = "ModelBadReply"
    CHAT_ENDED = "ChatEnded"
    NOTHING_PENDING = "NothingPending"
    BAD_PROMPT = "BadPrompt"
    QUEUE_FULL = "QueueFull"
    RUN_IN_PROGRESS = "RunInProgress"
    AGENT_BUSY = "AgentBusy"
    NOTHING_RUNNING = "NothingRunning"
    TOOL_RUNNING = "ToolRunning"
    BAD_TOOL_ARGS = "BadToolArgs"
    UNKNOWN_GOAL = "UnknownGoal"
