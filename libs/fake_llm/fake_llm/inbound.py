"""The incoming chat-completions request: parsed, classified, recorded.

The agent makes two kinds of model call and marks each by the tools it
offers (``done`` for planning, none for summaries; the 0.1 agent also made
validation calls, offering ``report_validation``). A planning call that also
offers ``refuse`` may refuse the user's message as off the goal. Classifying by tools, not by prompt wording, keeps the fake
independent of prompt changes. The record keeps what tests assert on and
never the API key itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fake_llm.replies import Kind

__all__ = [
    "DONE_TOOL",
    "REFUSE_TOOL",
    "SWITCH_GOAL_TOOL",
    "VALIDATION_TOOL",
    "ChatRequest",
    "RecordedRequest",
    "classify",
    "message_text",
]

VALIDATION_TOOL = "report_validation"
DONE_TOOL = "done"
REFUSE_TOOL = "refuse"
SWITCH_GOAL_TOOL = "switch_goal"


class ChatRequest(BaseModel):
    """The subset of an OpenAI chat-completions body the fake reads."""

    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None

    def tool_functions(self) -> list[dict[str, Any]]:
        """The ``function`` objects of the offered tools, in order."""
        out = []
        for tool in self.tools or []:
            function = tool.get("function")
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                out.append(function)
        return out

    def tool_names(self) -> list[str]:
        return [f["name"] for f in self.tool_functions()]

    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))

    def token_limit(self) -> int | None:
        """The reply's token limit, under either of the API's names for it."""
        return self.max_completion_tokens or self.max_tokens


class RecordedRequest(BaseModel):
    """What the fake saw of one request (the key itself is never kept)."""

    kind: Kind
    model: str
    messages: list[dict[str, Any]]
    tools: list[str]
    tool_choice: Any = None
    stream: bool
    max_tokens: int | None = None
    include_usage: bool = False
    has_authorization: bool
    scripted: bool = Field(description="answered from the script, not by the auto brain")

    @classmethod
    def of(cls, chat: ChatRequest, *, has_authorization: bool, scripted: bool) -> RecordedRequest:
        return cls(
            kind=classify(chat.tool_names()),
            model=chat.model,
            messages=chat.messages,
            tools=chat.tool_names(),
            tool_choice=chat.tool_choice,
            stream=chat.stream,
            max_tokens=chat.token_limit(),
            include_usage=chat.include_usage(),
            has_authorization=has_authorization,
            scripted=scripted,
        )


def classify(tool_names: list[str]) -> Kind:
    """Which agent call this is, from the names of the tools it offers."""
    if VALIDATION_TOOL in tool_names:
        return "validate"
    if DONE_TOOL in tool_names:
        return "plan"
    return "summarize"


def message_text(message: dict[str, Any]) -> str:
    """A message's text, whether ``content`` is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str) and p)
    return ""
