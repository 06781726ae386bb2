"""What both model clients share: the request's options (tools, tool choice, the
reply's token limit), the bound on the whole call, and the one place a
provider's exceptions become the agent core's model errors.

A client names its provider's exception classes and implements ``_stream``;
``complete`` (the ``ChatModel`` port) does the rest.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, ClassVar

from agent_core.chat_model import ModelReply, OnText
from agent_core.errors import ModelAuthError, ModelBadRequest, ModelUnavailable
from agent_core.settings import Settings

__all__ = ["ModelClient"]

Errors = tuple[type[BaseException], ...]

_AUTH_STATUSES = (401, 403)


class ModelClient:
    auth_errors: ClassVar[Errors] = ()
    refused_errors: ClassVar[Errors] = ()  # retrying will not help
    unavailable_errors: ClassVar[Errors] = ()  # retry later

    def __init__(
        self, settings: Settings, model: str | None = None, api_base: str | None = None
    ) -> None:
        """``model`` (default ``LLM_MODEL``): a fallback model shares the key, and the
        base unless it has its own ``api_base``."""
        self.name = model or settings.llm_model
        self._api_base = api_base or settings.llm_api_base
        self._api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        self._timeout = settings.llm_timeout_seconds

    def _endpoint_key(self) -> str:
        """The key for an OpenAI-compatible endpoint: ``LLM_API_KEY``, else
        ``OPENAI_API_KEY``, else a placeholder: a local server (llama.cpp, vLLM) needs
        none, but the OpenAI client, litellm's too, sends no request without one."""
        return self._api_key or os.environ.get("OPENAI_API_KEY") or "none"

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        on_text: OnText | None = None,
        force_tool: str | None = None,
        max_tokens: int | None = None,
        time_limit: float | None = None,
    ) -> ModelReply:
        """One call, bounded as a whole: a stream that keeps trickling tokens past
        ``LLM_TIMEOUT_SECONDS`` (or the shorter ``time_limit``) is cut and is unavailable,
        since the clients' own timeouts bound only the connection and each read."""
        options = _options(tools, force_tool, max_tokens)
        limit = self._timeout if time_limit is None else min(self._timeout, time_limit)
        try:
            async with asyncio.timeout(limit):
                return await self._stream(messages, options, on_text)
        except TimeoutError:
            raise ModelUnavailable(f"the call took over {limit:g} s") from None
        except self.auth_errors as exc:
            raise ModelAuthError(type(exc).__name__, _status(exc)) from None
        except self.refused_errors as exc:
            raise ModelBadRequest(type(exc).__name__, _status(exc)) from None
        except self.unavailable_errors as exc:
            if _status(exc) in _AUTH_STATUSES:  # unmapped auth refusals
                raise ModelAuthError(type(exc).__name__, _status(exc)) from None
            raise ModelUnavailable(type(exc).__name__, _status(exc)) from None

    async def _stream(
        self, messages: list[dict[str, Any]], options: dict[str, Any], on_text: OnText | None
    ) -> ModelReply:
        """Stream one completion with ``options`` (tools, tool choice), text to ``on_text``."""
        raise NotImplementedError


def _options(
    tools: list[dict[str, Any]] | None, force_tool: str | None, max_tokens: int | None
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if tools:
        options["tools"] = tools
    if force_tool:
        options["tool_choice"] = {"type": "function", "function": {"name": force_tool}}
    if max_tokens:
        options["max_tokens"] = max_tokens
    return options


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None
