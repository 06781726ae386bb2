"""The ``ChatModel`` port over the OpenAI SDK, for OpenAI-compatible endpoints.

``openai/<model>`` models (OpenAI itself, or any server that speaks its chat
API at ``LLM_API_BASE``: vLLM, llama.cpp, LM Studio, the fake LLM) go through
the official SDK with its own retries off, as litellm would send them; every
other provider goes through litellm (``chat_model.chat_model_for``).

Why not litellm here too: per streamed chunk, litellm's wrapper and the SDK's
typed chunk models cost about a millisecond of CPU, most of this worker's CPU
per turn (``bench/model_client_overhead.py``). This client lets the SDK send
the request (its body untouched) and map HTTP errors, then reads the stream's
``data:`` lines itself, one ``json.loads`` a chunk.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2  # the OpenAI SDK's HTTP client (a fork of httpx)
import openai

from agent_core.chat_model import ModelReply, OnText
from agent_core.errors import ModelUnavailable
from agent_core.settings import Settings
from worker_llm.model_client import ModelClient
from worker_llm.reply_builder import ReplyBuilder

__all__ = ["PREFIX", "OpenAIChatModel"]

PREFIX = "openai/"

# the SDK's HTTP client logs every request at INFO: one line per model call
for _name in ("httpx2", "openai"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class OpenAIChatModel(ModelClient):
    auth_errors = (openai.AuthenticationError, openai.PermissionDeniedError)
    refused_errors = (openai.BadRequestError, openai.UnprocessableEntityError, openai.NotFoundError)
    # a connection that fails or a stream that is cut: retry later
    unavailable_errors = (openai.APIError, httpx2.HTTPError, json.JSONDecodeError)

    def __init__(
        self, settings: Settings, model: str | None = None, api_base: str | None = None
    ) -> None:
        super().__init__(settings, model, api_base)
        self._model = self.name.removeprefix(PREFIX)
        self._client = openai.AsyncOpenAI(
            api_key=self._endpoint_key(),  # a server that wants one answers 401
            base_url=self._api_base or None,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,  # Temporal owns retrying
        )

    async def _stream(
        self, messages: list[dict[str, Any]], options: dict[str, Any], on_text: OnText | None
    ) -> ModelReply:
        reply, ended = ReplyBuilder(), False
        # Read to the end of the body even once the reply is complete: a response
        # left unread closes its connection, and the next call would connect (and,
        # with a remote provider, shake hands over TLS) again.
        #
        # The body goes in ``extra_body``, sent as it is: the SDK would otherwise walk
        # every message and tool schema to transform it by its types (a few ms of CPU
        # a call, for dicts that are already the wire format).
        body = {"messages": messages, "stream_options": {"include_usage": True}, **options}
        async with self._client.chat.completions.with_streaming_response.create(
            model=self._model, messages=(), stream=True, extra_body=body
        ) as response:
            async for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    ended = True
                    continue
                text = _add(reply, json.loads(data))
                if text and on_text is not None:
                    await on_text(text)
        if not (ended or reply.finished):
            raise ModelUnavailable("the reply stream ended early")
        return reply.build()


def _add(reply: ReplyBuilder, chunk: dict[str, Any]) -> str | None:
    """Feed one decoded chunk in; its text delta, if any, to stream on."""
    if "error" in chunk:  # an error sent inside the stream
        raise ModelUnavailable("the model reported an error mid-stream")
    usage = chunk.get("usage")
    if usage:
        reply.usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0)
    choices = chunk.get("choices")
    if not choices:
        return None
    choice = choices[0]
    delta = choice.get("delta") or {}
    for fragment in delta.get("tool_calls") or ():
        function = fragment.get("function")
        if function:
            reply.tool_fragment(
                fragment.get("index") or 0, function.get("name"), function.get("arguments")
            )
    if choice.get("finish_reason"):
        reply.finish(choice["finish_reason"])
    text: str | None = delta.get("content")
    if text:
        reply.text(text)
    return text
