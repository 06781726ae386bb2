"""OpenAI chat-completions wire shapes: completions, stream chunks, errors.

Kept apart from the server so the exact JSON the fake emits is in one place
and matches what the OpenAI SDK (and so litellm) parses: a ``chat.completion``
object, ``chat.completion.chunk`` deltas ending in a finish chunk, an optional
usage chunk, and ``{"error": {...}}`` bodies with the usual type and code.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fake_llm.replies import Reply

__all__ = [
    "SSE_DONE",
    "completion_body",
    "error_body",
    "new_call_id",
    "new_completion_id",
    "sse_line",
    "stream_chunks",
    "usage_for",
]

SSE_DONE = b"data: [DONE]\n\n"

_ERROR_KINDS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("authentication_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "Permission denied."),
    404: ("not_found_error", "model_not_found", "The model does not exist."),
    429: ("rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached. Retry later."),
}


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def new_call_id() -> str:
    """A unique tool call id: the product derives idempotency keys from it."""
    return f"call_{uuid.uuid4().hex[:24]}"


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """OpenAI-style error JSON for an HTTP status."""
    if status >= 500:
        kind: tuple[str, str | None, str] = ("server_error", "server_error", "Server error.")
    else:
        kind = _ERROR_KINDS.get(status, ("invalid_request_error", None, "Request failed."))
    error_type, code, default_message = kind
    return {
        "error": {
            "message": message or default_message,
            "type": error_type,
            "param": None,
            "code": code,
        }
    }


def usage_for(messages: list[dict[str, Any]], reply: Reply) -> dict[str, int]:
    """Deterministic token counts (about four characters a token)."""
    prompt = len(json.dumps(messages)) // 4 + 1
    produced = reply.text + (reply.tool_call.arguments_text() if reply.tool_call else "")
    completion = len(produced) // 4 + 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_calls(reply: Reply, call_id: str) -> list[dict[str, Any]]:
    assert reply.tool_call is not None
    function = {"name": reply.tool_call.name, "arguments": reply.tool_call.arguments_text()}
    return [{"id": call_id, "type": "function", "function": function}]


def completion_body(
    reply: Reply, *, model: str, usage: dict[str, int], call_id: str
) -> dict[str, Any]:
    """A whole non-streaming ``chat.completion``."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_call is not None:
        message["content"] = reply.text or None
        message["tool_calls"] = _tool_calls(reply, call_id)
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": reply.finish_reason,
    }
    return {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _deltas(reply: Reply, call_id: str) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in _pieces(reply.text, reply.chunk_chars)]
    if reply.tool_call is not None:
        head = {"name": reply.tool_call.name, "arguments": ""}
        deltas.append(
            {"tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": head}]}
        )
        for piece in _pieces(reply.tool_call.arguments_text(), reply.chunk_chars):
            deltas.append({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    return deltas


def stream_chunks(
    reply: Reply, *, model: str, usage: dict[str, int] | None, call_id: str
) -> list[dict[str, Any]]:
    """Every ``chat.completion.chunk`` of a streamed answer, in order."""
    base: dict[str, Any] = {"id": new_completion_id(), "object": "chat.completion.chunk"}
    base |= {"created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    chunks = [chunk(delta) for delta in _deltas(reply, call_id)]
    chunks.append(chunk({}, reply.finish_reason))
    if usage is not None:
        chunks.append({**base, "choices": [], "usage": usage})
    return chunks


def sse_line(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
