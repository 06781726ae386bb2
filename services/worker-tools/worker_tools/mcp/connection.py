"""One MCP server's session, opened once and reused by every call.

The SDK's transports and ``ClientSession`` are context managers bound to the
task that enters them, so each connection lives in a task of its own that
opens them, hands the session over and waits to be closed. Calls from any
activity share that session. When the server dies (a call sees the
connection closed) the connection is dropped, and the next use starts the
server again: a stdio server is started once per worker, not per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mcp.client.session import ClientSession

from agent_core.mcp_config import McpServer
from worker_tools.mcp.transport import MissingSecret, SecretLookup, open_transport

__all__ = ["McpConnection", "ServerUnavailable", "describe"]

log = logging.getLogger(__name__)
START_TIMEOUT_SECONDS = 30.0


class ServerUnavailable(Exception):
    """The server could not be started or reached; the message is safe to show."""


class McpConnection:
    def __init__(self, name: str, server: McpServer, secret: SecretLookup) -> None:
        self.name = name
        self.server = server
        self._secret = secret
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._session: ClientSession | None = None
        self._closing = asyncio.Event()

    async def session(self) -> ClientSession:
        """The live session, starting the server first when there is none."""
        async with self._lock:
            if self._session is None or self._task is None or self._task.done():
                await self._start()
            assert self._session is not None
            return self._session

    async def drop(self, session: ClientSession) -> None:
        """Forget ``session`` (its server died); the next use starts a new one.
        A session already replaced by another caller is left alone."""
        async with self._lock:
            if self._session is session:
                await self._stop()

    async def close(self) -> None:
        async with self._lock:
            await self._stop()

    async def _start(self) -> None:
        await self._stop()
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._hold(ready), name=f"mcp-{self.name}")
        try:
            self._session = await asyncio.wait_for(asyncio.shield(ready), START_TIMEOUT_SECONDS)
        except Exception as exc:
            await self._stop()
            reason = describe(exc)
            log.warning("MCP server %s could not be started: %s", self.name, reason)
            raise ServerUnavailable(
                f"the MCP server {self.name!r} could not be started ({reason})"
            ) from None

    async def _hold(self, ready: asyncio.Future[ClientSession]) -> None:
        """Open the transport and the session, hand it over, keep it until closed."""
        try:
            async with (
                open_transport(self.server, self._secret) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                ready.set_result(session)
                await self._closing.wait()
        except BaseException as exc:  # the SDK's task groups raise groups; all end here
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError())
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _stop(self) -> None:
        task, self._task, self._session = self._task, None, None
        if task is None:
            return
        self._closing.set()
        try:
            await asyncio.wait_for(task, 5.0)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        except BaseException:
            pass  # the session already ended with an error: nothing left to close


def describe(exc: BaseException) -> str:
    """Why a start failed, in words with no secret in them: the exception type,
    an OS error's reason, or the name of a missing secret."""
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return describe(exc.exceptions[0])
    if isinstance(exc, MissingSecret):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, TimeoutError):
        return f"no answer in {START_TIMEOUT_SECONDS:.0f} s"
    return type(exc).__name__
