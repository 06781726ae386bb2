"""What both model clients share: the request's tool options, and the one place a
provider's exceptions become the agent core's model errors.

A client names its provider's exception classes and implements ``_stream``;
``complete`` (the ``ChatModel`` port) does the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agent_core.chat_model import ModelReply, OnText
from agent_core.errors import ModelAuthError, ModelBadRequest, ModelUnavailable

__all__ = ["ModelClient"]

Errors = tuple[type[BaseException], ...]


class ModelClient:
    auth_errors: ClassVar[Errors] = ()
    refused_errors: ClassVar[Errors] = ()  # retrying will not help
    unavailable_errors: ClassVar[Errors] = ()  # retry later

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        on_text: OnText | None = None,
        force_tool: str | None = None,
    ) -> ModelReply:
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = tools
        if force_tool:
            options["tool_choice"] = {"type": "function", "function": {"name": force_tool}}
        try:
            return await self._stream(messages, options, on_text)
        except self.auth_errors as exc:
            raise ModelAuthError(type(exc).__name__) from None
        except self.refused_errors as exc:
            raise ModelBadRequest(type(exc).__name__) from None
        except self.unavailable_errors as exc:
            if getattr(exc, "status_code", None) in (401, 403):  # unmapped auth refusals
                raise ModelAuthError(type(exc).__name__) from None
            raise ModelUnavailable(type(exc).__name__) from None

    async def _stream(
        self, messages: list[dict[str, Any]], options: dict[str, Any], on_text: OnText | None
    ) -> ModelReply:
        """Stream one completion with ``options`` (tools, tool choice), text to ``on_text``."""
        raise NotImplementedError
