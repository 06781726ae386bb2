"""The ASGI app: OpenAI chat-completions endpoints plus ``/_fake`` controls.

A real HTTP server (rather than a mocked client) is what lets tests, demos
and the offline stack exercise litellm's real request, streaming and error
paths. The control endpoints let a process script a fake running elsewhere.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fake_llm.brain import auto_reply
from fake_llm.inbound import ChatRequest, RecordedRequest, classify
from fake_llm.replies import Kind, Reply, ScriptRequest
from fake_llm.state import FakeState
from fake_llm.wire import (
    SSE_DONE,
    completion_body,
    error_body,
    new_call_id,
    sse_line,
    stream_chunks,
    usage_for,
)

__all__ = ["StreamAborted", "create_app"]

_MODELS = {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "fake-llm"}]}


class StreamAborted(Exception):
    """Raised mid-stream on purpose: uvicorn then drops the connection."""


class _QuietAborts(logging.Filter):
    """Keep deliberate stream aborts out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamAborted))


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietAborts) for f in logger.filters):
        logger.addFilter(_QuietAborts())


async def pause(seconds: float, state: FakeState) -> bool:
    """Sleep ``seconds``; False if the server started closing meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not state.closing:
        left = deadline - loop.time()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, 0.05))
    return False


class ChunkStream(Response):
    """An SSE body sent chunk by chunk, with delays and an optional abort."""

    media_type = "text/event-stream"

    def __init__(self, lines: list[bytes], reply: Reply, state: FakeState):
        # Not Response.__init__: with no body it would send "content-length: 0".
        self.status_code, self.background = 200, None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})
        self.lines, self.reply, self.state = lines, reply, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        await send(start)
        for sent, line in enumerate(self.lines):
            if self.reply.abort_after_chunks is not None and sent >= self.reply.abort_after_chunks:
                raise StreamAborted(f"aborted after {sent} chunks, as scripted")
            if (
                sent
                and self.reply.chunk_delay
                and not await pause(self.reply.chunk_delay, self.state)
            ):
                raise StreamAborted("server closing")
            await send({"type": "http.response.body", "body": line, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _state(request: Request) -> FakeState:
    state: FakeState = request.app.state.fake
    return state


def _error(status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status)


def _authorized(request: Request, state: FakeState) -> bool:
    if state.api_key is None:
        return True
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {state.api_key}".encode())


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _answer(chat: ChatRequest, reply: Reply, state: FakeState) -> Response:
    if reply.error_status is not None:
        return _error(reply.error_status, reply.error_message)
    call_id = (reply.tool_call.id if reply.tool_call else None) or new_call_id()
    usage = usage_for(chat.messages, reply)
    if not chat.stream:
        body = completion_body(reply, model=chat.model, usage=usage, call_id=call_id)
        return JSONResponse(body)
    chunks = stream_chunks(
        reply, model=chat.model, usage=usage if chat.include_usage() else None, call_id=call_id
    )
    return ChunkStream([*map(sse_line, chunks), SSE_DONE], reply, state)


def _auto(chat: ChatRequest, kind: Kind, state: FakeState) -> Reply:
    reply = auto_reply(chat, kind)
    return reply.model_copy(update=state.auto_style)


async def chat_completions(request: Request) -> Response:
    state = _state(request)
    try:
        chat = ChatRequest.model_validate(await _json_body(request))
    except ValidationError as exc:
        return _error(400, f"invalid chat completions request: {exc.errors()[0]['msg']}")
    has_auth = "authorization" in request.headers
    if not _authorized(request, state):
        state.record(RecordedRequest.of(chat, has_authorization=has_auth, scripted=False))
        return _error(401)
    kind = classify(chat.tool_names())
    scripted = state.next_scripted(kind, chat.model)
    reply = scripted if scripted is not None else _auto(chat, kind, state)
    reply = reply.within(chat.token_limit())
    seen = RecordedRequest.of(chat, has_authorization=has_auth, scripted=scripted is not None)
    state.record(seen)
    if reply.hang_seconds and not await pause(reply.hang_seconds, state):
        return _error(503, "The fake LLM is shutting down.")
    return _answer(chat, reply, state)


async def script(request: Request) -> Response:
    state = _state(request)
    try:
        body = ScriptRequest.model_validate(await _json_body(request))
    except ValidationError as exc:
        return _error(400, f"invalid script: {exc.errors()[0]['msg']}")
    state.script(body.kind, body.replies)
    return JSONResponse({"queued": state.pending()})


async def queued(request: Request) -> Response:
    return JSONResponse({"queued": _state(request).pending()})


async def reset(request: Request) -> Response:
    _state(request).reset()
    return JSONResponse({"ok": True})


async def recorded(request: Request) -> Response:
    requests = [r.model_dump(mode="json") for r in _state(request).requests()]
    return JSONResponse({"requests": requests})


async def models(request: Request) -> Response:
    return JSONResponse(_MODELS)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(state: FakeState | None = None) -> Starlette:
    """The fake LLM as an ASGI app; its state is ``app.state.fake``."""
    _install_log_filter()
    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/models", models, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/_fake/script", script, methods=["POST"]),
        Route("/_fake/script", queued, methods=["GET"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/requests", recorded, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state or FakeState()
    return app
