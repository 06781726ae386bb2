"""The litellm implementation of the ``ChatModel`` port, for every provider
litellm knows (``chat_model.chat_model_for`` picks it).

Streams through litellm's async API with provider retries off (Temporal owns
retrying) and translates litellm's exceptions, at this one boundary, into the
agent core's model errors.

litellm is kept for its providers, but it was most of this worker's CPU.
What it did per call that bought this worker nothing is cut here:

- The reply is assembled as the chunks stream (``ReplyBuilder``) rather
  than by ``litellm.stream_chunk_builder``, which re-walks every chunk and
  prices the reply (model-map lookups) on top.
- Reading stops at litellm's closing usage chunk, and the stream is closed.
  Reading on would only make litellm assemble and price the whole reply a
  second time, in a thread, for its success callbacks, and this worker
  registers none (if some are registered, the stream is read to the end).
- litellm's loggers are set to WARNING, which drops the INFO line
  ``completion()`` logs on every call, unless ``LITELLM_LOG`` is set to ask
  for its logs; and litellm's own stderr handlers are removed, so what it
  does log comes out once, through the worker's handler (the activity logs
  its own line per model call).

litellm's other switches were checked in its source and left alone: in this
version they act only on sync streams or on logging callbacks, or they would
change what a provider is sent (``drop_params``, ``modify_params``) or the
usage reported for providers that send none (``disable_token_counter``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

# litellm imports this module lazily inside completion(), which acompletion runs in
# a worker thread; building its pydantic models there while the event loop's thread
# was collecting garbage crashed the interpreter (a segfault seen in the test suite).
# Importing it here, once, keeps that work off the worker threads.
import litellm.proxy.openai_files_endpoints.common_utils

from agent_core.chat_model import ModelReply, OnText
from worker_llm.model_client import ModelClient
from worker_llm.openai_model import PREFIX
from worker_llm.reply_builder import ReplyBuilder

__all__ = ["LitellmChatModel"]

_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def _configure_litellm() -> None:
    """Process-wide litellm settings; this module is the worker's one litellm boundary."""
    # No provider-list banner printed to stdout for a bad model string; the error remains.
    litellm.suppress_debug_info = True
    for name in _LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        # litellm writes to stderr itself and propagates to the root too: every line
        # came out twice, once not in the worker's format. The root's handler stays.
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        if "LITELLM_LOG" not in os.environ:
            logger.setLevel(logging.WARNING)


_configure_litellm()


class LitellmChatModel(ModelClient):
    auth_errors = (litellm.AuthenticationError, litellm.PermissionDeniedError)
    refused_errors = (
        litellm.BadRequestError,
        litellm.UnprocessableEntityError,
        litellm.NotFoundError,
    )
    unavailable_errors = (
        litellm.RateLimitError,
        litellm.APIConnectionError,
        litellm.Timeout,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.APIError,  # litellm maps no 403 of its own: ModelClient checks the status
    )

    async def _stream(
        self, messages: list[dict[str, Any]], options: dict[str, Any], on_text: OnText | None
    ) -> ModelReply:
        response = await litellm.acompletion(
            model=self.name,
            messages=messages,
            api_base=self._api_base,
            # openai/ without a key: litellm fails it as a 500 before sending it
            api_key=self._endpoint_key() if self.name.startswith(PREFIX) else self._api_key,
            stream=True,
            stream_options={"include_usage": True},
            timeout=self._timeout,
            num_retries=0,
            max_retries=0,
            **options,
        )
        reply = ReplyBuilder()
        read_to_end = _success_callbacks_registered()
        try:
            async for chunk in response:
                text = _add(reply, chunk)
                if text and on_text is not None:
                    await on_text(text)
                if reply.complete and not read_to_end:
                    break
        finally:
            await response.aclose()
        return reply.build()


def _success_callbacks_registered() -> bool:
    """Whether anyone asked litellm for success events (this worker does not)."""
    return bool(
        litellm.callbacks
        or litellm.success_callback
        or getattr(litellm, "_async_success_callback", None)
    )


def _add(reply: ReplyBuilder, chunk: Any) -> str | None:
    """Feed one of litellm's chunk objects in; its text delta, if any, to stream on."""
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        reply.usage(
            getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
        )
    if not chunk.choices:
        return None
    choice = chunk.choices[0]
    delta = choice.delta
    for fragment in getattr(delta, "tool_calls", None) or ():
        function = getattr(fragment, "function", None)
        if function is not None:
            reply.tool_fragment(fragment.index or 0, function.name, function.arguments)
    if choice.finish_reason:
        reply.finish(choice.finish_reason)
    text: str | None = getattr(delta, "content", None)
    if text:
        reply.text(text)
    return text
