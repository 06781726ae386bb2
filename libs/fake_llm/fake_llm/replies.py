"""What the fake model answers: one ``Reply`` per chat-completions request.

Tests script replies to make the model say exactly what a scenario needs
(a text, a tool call, malformed arguments, an HTTP error, a stall, a stream
that dies half-way); the auto brain builds the same objects when nothing is
scripted, so both paths share one wire encoder.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Kind", "Reply", "ScriptRequest", "ToolCallReply"]

Kind = Literal["validate", "plan", "summarize"]


class ToolCallReply(BaseModel):
    """A function call the model makes. ``raw_arguments`` is sent verbatim
    (to simulate a model that writes broken JSON); otherwise ``arguments``
    is JSON-encoded."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] | None = None
    raw_arguments: str | None = None
    id: str | None = Field(default=None, description="tool call id; a fresh one when unset")

    @model_validator(mode="after")
    def _one_argument_form(self) -> ToolCallReply:
        if self.arguments is not None and self.raw_arguments is not None:
            raise ValueError("give either arguments or raw_arguments, not both")
        return self

    def arguments_text(self) -> str:
        """The arguments string exactly as it goes on the wire."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments or {}, separators=(",", ":"))


class Reply(BaseModel):
    """One model answer, plus how to deliver it (chunking, delays, failures)."""

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    tool_call: ToolCallReply | None = None
    error_status: int | None = Field(default=None, ge=400, le=599)
    error_message: str | None = None
    chunk_chars: int = Field(default=4, ge=1)
    chunk_delay: float = Field(default=0.0, ge=0)
    hang_seconds: float = Field(default=0.0, ge=0)
    abort_after_chunks: int | None = Field(default=None, ge=0)
    # the finish reason sent, when not the natural one ("length": cut off)
    finish: str | None = None
    # answer only a request for this model (fallback tests); None: any model
    model: str | None = None

    @classmethod
    def say(cls, text: str, **options: Any) -> Reply:
        """A plain text answer; ``options`` are other Reply fields."""
        return cls(text=text, **options)

    @classmethod
    def call(cls, name: str, /, **arguments: Any) -> Reply:
        """A tool call with these JSON arguments and no text."""
        return cls(tool_call=ToolCallReply(name=name, arguments=arguments))

    @classmethod
    def call_raw(cls, name: str, raw_arguments: str, *, text: str = "") -> Reply:
        """A tool call whose arguments string is sent verbatim (e.g. broken JSON)."""
        return cls(text=text, tool_call=ToolCallReply(name=name, raw_arguments=raw_arguments))

    @classmethod
    def error(cls, status: int, message: str | None = None) -> Reply:
        """An HTTP error with an OpenAI-style error body."""
        return cls(error_status=status, error_message=message)

    def replace(self, **changes: Any) -> Reply:
        """A validated copy with some fields changed, e.g. ``.replace(text="Hi")``."""
        return Reply.model_validate({**self.model_dump(), **changes})

    @property
    def finish_reason(self) -> str:
        if self.finish is not None:
            return self.finish
        return "tool_calls" if self.tool_call is not None else "stop"

    def within(self, max_tokens: int | None) -> Reply:
        """The reply a model held to ``max_tokens`` gives: a longer one is cut (about
        four characters a token) and ends with ``length``, as a real server's does."""
        produced = self.text + (self.tool_call.arguments_text() if self.tool_call else "")
        if max_tokens is None or len(produced) <= max_tokens * 4:
            return self
        cut = self.text[: max_tokens * 4]
        return self.model_copy(update={"text": cut, "tool_call": None, "finish": "length"})


class ScriptRequest(BaseModel):
    """Body of ``POST /_fake/script``: replies appended to one kind's queue."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    replies: list[Reply]
