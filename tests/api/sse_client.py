"""SSE reading helpers for the gateway tests (a real uvicorn, httpx-sse)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from durable_agent.event_stream import StreamEvent, aread_events

OnFrame = Callable[[StreamEvent], Awaitable[None]]


async def read_frames(
    http: httpx.AsyncClient,
    url: str,
    *,
    limit: int | None = None,
    until: Callable[[StreamEvent], bool] | None = None,
    on_frame: OnFrame | None = None,
    headers: dict[str, str] | None = None,
) -> list[StreamEvent]:
    """Read frames until the server closes, ``limit`` frames, or ``until`` holds
    (that frame included); leaving the block disconnects."""
    frames: list[StreamEvent] = []
    async with aconnect_sse(http, "GET", url, headers=headers or {}) as source:
        assert source.response.status_code == 200, await source.response.aread()
        async for frame in aread_events(source):
            frames.append(frame)
            if on_frame is not None:
                await on_frame(frame)
            if (limit is not None and len(frames) >= limit) or (until and until(frame)):
                break
    return frames


def auto_confirm(http: httpx.AsyncClient, conversation_id: str) -> OnFrame:
    """An ``on_frame`` that confirms every tool call put up for confirmation."""

    async def confirm(frame: StreamEvent) -> None:
        if frame.name == "tool_call_awaiting_confirmation":
            call_id = frame.data["value"]["toolCallId"]
            r = await http.post(f"/v1/conversations/{conversation_id}/tool-calls/{call_id}/confirm")
            assert r.status_code == 202, r.text

    return confirm


def tenant_keys(*names: str) -> tuple[str, dict[str, str]]:
    """Unique tenants per test (rate-limit buckets live in the shared Redis):
    the ``API_KEYS`` value and each name's key (the tenant is the key minus "key-")."""
    suffix = uuid.uuid4().hex[:8]
    keys = {name: f"key-{name}-{suffix}" for name in names}
    return ",".join(f"{k}:{tenant_of(k)}" for k in keys.values()), keys


def tenant_of(key: str) -> str:
    return key.removeprefix("key-")


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has this status and the gateway's JSON error shape."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error
