"""The litellm implementation of the ``ChatModel`` port.

Streams through litellm's async API with provider retries off (Temporal owns
retrying) and translates litellm's exceptions, at this one boundary, into the
agent core's model errors.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

# litellm imports this module lazily inside completion(), which acompletion runs in
# a worker thread; building its pydantic models there while the event loop's thread
# was collecting garbage crashed the interpreter (a segfault seen in the test suite).
# Importing it here, once, keeps that work off the worker threads.
import litellm.proxy.openai_files_endpoints.common_utils

from agent_core.chat_model import ModelReply, ModelToolCall, OnText
from agent_core.errors import ModelAuthError, ModelBadRequest, ModelUnavailable
from agent_core.settings import Settings

__all__ = ["LitellmChatModel"]

litellm.suppress_debug_info = True

_AUTH = (litellm.AuthenticationError, litellm.PermissionDeniedError)
_REFUSED = (litellm.BadRequestError, litellm.UnprocessableEntityError, litellm.NotFoundError)
_UNAVAILABLE = (
    litellm.RateLimitError,
    litellm.APIConnectionError,
    litellm.Timeout,
    litellm.InternalServerError,
    litellm.ServiceUnavailableError,
    litellm.APIError,
)


class LitellmChatModel:
    def __init__(self, settings: Settings) -> None:
        self._model = settings.llm_model
        self._api_base = settings.llm_api_base
        self._api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        self._timeout = settings.llm_timeout_seconds

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        on_text: OnText | None = None,
        force_tool: str | None = None,
    ) -> ModelReply:
        try:
            return await self._stream(messages, tools, on_text, force_tool)
        except _AUTH as exc:
            raise ModelAuthError(type(exc).__name__) from None
        except _REFUSED as exc:
            raise ModelBadRequest(type(exc).__name__) from None
        except _UNAVAILABLE as exc:
            raise ModelUnavailable(type(exc).__name__) from None

    async def _stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        on_text: OnText | None,
        force_tool: str | None,
    ) -> ModelReply:
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["tools"] = tools
        if force_tool:
            kwargs["tool_choice"] = {"type": "function", "function": {"name": force_tool}}
        response = await litellm.acompletion(
            model=self._model,
            messages=messages,
            api_base=self._api_base,
            api_key=self._api_key,
            stream=True,
            stream_options={"include_usage": True},
            timeout=self._timeout,
            num_retries=0,
            max_retries=0,
            **kwargs,
        )
        chunks = []
        async for chunk in response:
            chunks.append(chunk)
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta and on_text is not None:
                await on_text(delta)
        return _assemble(litellm.stream_chunk_builder(chunks, messages=messages))


def _assemble(response: Any) -> ModelReply:
    message = response.choices[0].message if response and response.choices else None
    calls = [
        ModelToolCall(name=c.function.name or "", arguments=c.function.arguments or "")
        for c in (getattr(message, "tool_calls", None) or [])
    ]
    usage = getattr(response, "usage", None)
    return ModelReply(
        text=(message.content or "") if message else "",
        tool_calls=calls,
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )
