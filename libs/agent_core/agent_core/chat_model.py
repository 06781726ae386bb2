"""The port through which LLM activities reach a model.

The LLM worker implements it with litellm; tests may hand in any object with
the same method. Keeping litellm behind this port keeps it out of the
workflow's imports and out of the gateway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ChatModel", "ModelReply", "ModelToolCall", "OnText"]

OnText = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ModelToolCall:
    """A tool call as the model wrote it: ``arguments`` is raw, maybe bad, JSON."""

    name: str
    arguments: str


@dataclass(frozen=True)
class ModelReply:
    text: str
    tool_calls: list[ModelToolCall] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # the provider's finish reason: "length" means cut off at max_tokens
    finish_reason: str | None = None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class ChatModel(Protocol):
    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        on_text: OnText | None = None,
        force_tool: str | None = None,
        max_tokens: int | None = None,
        time_limit: float | None = None,
    ) -> ModelReply:
        """Run one chat completion, streaming text to ``on_text`` as it arrives;
        ``max_tokens`` bounds the reply, ``time_limit`` (seconds) the whole call.

        Raises ``ModelAuthError`` / ``ModelBadRequest`` (retrying will not
        help) or ``ModelUnavailable`` (retry later); nothing else on purpose.
        """
        ...
