"""SSE reading helpers for the gateway tests (a real uvicorn, httpx-sse)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import aconnect_sse


@dataclass(frozen=True)
class Frame:
    id: str
    event: str
    data: dict[str, Any]

    @property
    def key(self) -> str | None:
        return (self.data.get("metadata") or {}).get("key")

    @property
    def kind(self) -> str:
        return self.data.get("name", self.event) if self.event == "CUSTOM" else self.event

    @property
    def is_end(self) -> bool:
        return self.kind == "status_changed" and self.data["value"]["status"] == "ended"


OnFrame = Callable[[Frame], Awaitable[None]]


async def read_frames(
    http: httpx.AsyncClient,
    url: str,
    *,
    limit: int | None = None,
    until: Callable[[Frame], bool] | None = None,
    on_frame: OnFrame | None = None,
    headers: dict[str, str] | None = None,
) -> list[Frame]:
    """Read frames until the server closes, ``limit`` frames, or ``until`` holds
    (that frame included); leaving the block disconnects."""
    frames: list[Frame] = []
    async with aconnect_sse(http, "GET", url, headers=headers or {}) as source:
        assert source.response.status_code == 200, await source.response.aread()
        async for sse in source.aiter_sse():
            if not sse.data:
                continue  # keep-alive comment
            frame = Frame(sse.id, sse.event, json.loads(sse.data))
            frames.append(frame)
            if on_frame is not None:
                await on_frame(frame)
            if (limit is not None and len(frames) >= limit) or (until and until(frame)):
                break
    return frames


def auto_confirm(http: httpx.AsyncClient, conversation_id: str) -> OnFrame:
    """An ``on_frame`` that confirms every tool call put up for confirmation."""

    async def confirm(frame: Frame) -> None:
        if frame.kind == "tool_call_awaiting_confirmation":
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
