"""A real uvicorn server running the gateway, in the test's event loop.

httpx's ASGI transport buffers whole responses, so streaming is only tested
against a real HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.types import ASGIApp

from agent_api.main import KEEP_ALIVE_SECONDS, create_app
from agent_core.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner owns signals
        pass


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, lifespan: str = "on") -> AsyncIterator[str]:
    """Serve an ASGI app on a free port in this event loop; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,  # as deployed: no idle close under a client
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


@contextlib.asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[str]:
    """Serve ``create_app(settings)`` on a free port; yields the base URL."""
    async with serve(create_app(settings)) as base:
        yield base


def api_client(base_url: str, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)
