"""Running the fake on loopback: in the caller's event loop or in a thread.

Tests run inside an event loop, so ``FakeLLM`` serves uvicorn as a task of
that loop (``async with FakeLLM() as fake``); synchronous callers (scripts,
benchmarks) get the same server in a thread of its own via
``FakeLLM.start_in_thread()``. Both bind a free port before serving, so the
address is known at once and parallel runs never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Generator
from types import TracebackType
from typing import Any, Self

import uvicorn

from fake_llm.app import create_app
from fake_llm.inbound import RecordedRequest
from fake_llm.replies import Kind, Reply
from fake_llm.state import FakeState

__all__ = ["FakeLLM", "ThreadedFakeLLM"]

_STARTUP_TIMEOUT = 10.0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handlers: the host process keeps Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. Its protocol is named, so that asyncio sets
    TCP_NODELAY on each accepted connection (it does only for IPPROTO_TCP):
    without it every reply after the first chunk waited ~40 ms for the
    client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class _Controls:
    """Addresses and scripting, shared by the in-loop and threaded runners."""

    host: str
    port: int
    state: FakeState

    @property
    def base_url(self) -> str:
        """``http://host:port``, with a wildcard bind address made connectable."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What litellm takes as ``api_base``: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.base_url}/v1"

    def script(self, kind: Kind, *replies: Reply | str) -> None:
        """Queue replies for the next requests of ``kind`` (a str is ``Reply.say``)."""
        self.state.script(kind, [Reply.say(r) if isinstance(r, str) else r for r in replies])

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every chat request seen so far, oldest first."""
        return self.state.requests()

    def pending(self) -> dict[str, int]:
        """Scripted replies not yet consumed, per kind."""
        return self.state.pending()

    def reset(self) -> None:
        """Drop queued replies and recorded requests."""
        self.state.reset()


class FakeLLM(_Controls):
    """The fake served by uvicorn as a task of the running event loop.

    ``port=0`` picks a free port. ``api_key`` makes the fake require that
    bearer token (401 otherwise). ``chunk_chars``/``chunk_delay`` shape how
    auto-brain replies stream (scripted replies carry their own).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        chunk_chars: int = 4,
        chunk_delay: float = 0.0,
    ) -> None:
        self.host, self.port = host, port
        style = {"chunk_chars": chunk_chars, "chunk_delay": chunk_delay}
        self.state = FakeState(api_key=api_key, auto_style=style)
        self.app = create_app(self.state)
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Self:
        """Bind, serve in the background, return once connections are accepted."""
        if self._task is not None:
            raise RuntimeError("FakeLLM already started")
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_config=None, log_level=None, access_log=False, lifespan="off",
            timeout_graceful_shutdown=2,
        )  # fmt: skip
        self.state.closing = False
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="fake-llm")
        await self._wait_started()
        return self

    async def _wait_started(self) -> None:
        assert self._server is not None and self._task is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STARTUP_TIMEOUT
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("fake LLM server exited during startup")
            if loop.time() > deadline:
                raise TimeoutError("fake LLM server did not start")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop serving; stalled replies give up at once. Safe to call twice."""
        if self._server is None or self._task is None:
            return
        self.state.closing = True
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._server, self._task = None, None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    def start_in_thread(
        cls, host: str = "127.0.0.1", port: int = 0, **options: Any
    ) -> ThreadedFakeLLM:
        """Serve from a thread of its own; call ``.stop()`` (or use ``with``) to end it."""
        return ThreadedFakeLLM(cls(host, port, **options)).start()


class ThreadedFakeLLM(_Controls):
    """A ``FakeLLM`` running its own event loop in a daemon thread."""

    def __init__(self, fake: FakeLLM) -> None:
        self.fake, self.host, self.port, self.state = fake, fake.host, fake.port, fake.state
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-llm", daemon=True)

    def start(self) -> ThreadedFakeLLM:
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise TimeoutError("fake LLM server did not start")
        if self._failure is not None:
            raise RuntimeError("fake LLM server failed to start") from self._failure
        self.port = self.fake.port
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the starting thread
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with self.fake:
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        """Stop the server and join its thread. Safe to call twice."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> ThreadedFakeLLM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
