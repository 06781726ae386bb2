"""One streamed model reply, assembled as its chunks arrive.

Both model clients feed it: text deltas concatenated, tool-call fragments
merged by index, usage from the chunk that carries it. It knows when the
reply is complete (a finish reason, then the usage), so a client can stop
reading there.
"""

from __future__ import annotations

from agent_core.chat_model import ModelReply, ModelToolCall

__all__ = ["ReplyBuilder"]


class _ToolCall:
    __slots__ = ("arguments", "name")

    def __init__(self) -> None:
        self.name = ""
        self.arguments: list[str] = []


class ReplyBuilder:
    """Only choice 0 is asked for, so only its parts are fed in."""

    __slots__ = (
        "_calls",
        "_completion_tokens",
        "_finish_reason",
        "_finished",
        "_prompt_tokens",
        "_text",
        "_usage",
    )

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, _ToolCall] = {}
        self._prompt_tokens = self._completion_tokens = 0
        self._finished = self._usage = False
        self._finish_reason: str | None = None

    @property
    def finished(self) -> bool:
        """The model gave a finish reason (usage may still follow)."""
        return self._finished

    @property
    def complete(self) -> bool:
        """A finish reason and then the usage have come: nothing more is to come."""
        return self._finished and self._usage

    def text(self, delta: str) -> None:
        self._text.append(delta)

    def tool_fragment(self, index: int, name: str | None, arguments: str | None) -> None:
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _ToolCall()
        if not call.name and name:
            call.name = name
        if arguments:
            call.arguments.append(arguments)

    def finish(self, reason: str | None = None) -> None:
        self._finished = True
        self._finish_reason = reason

    def usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        self._usage = True
        self._prompt_tokens, self._completion_tokens = prompt_tokens, completion_tokens

    def build(self) -> ModelReply:
        # As litellm's stream_chunk_builder does: calls in index order, a call
        # without a name dropped, one without arguments given "{}".
        calls = [
            ModelToolCall(name=call.name, arguments="".join(call.arguments) or "{}")
            for _, call in sorted(self._calls.items())
            if call.name
        ]
        return ModelReply(
            text="".join(self._text),
            tool_calls=calls,
            prompt_tokens=self._prompt_tokens,
            completion_tokens=self._completion_tokens,
            finish_reason=self._finish_reason,
        )
