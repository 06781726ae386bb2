"""Child servers the campaign owns, so it can kill -9 them and start them again.

The supervisor behind ``make run`` restarts the services (workers, gateway)
when they die, which is what a user gets; it does not restart Temporal or
Redis (their state is at stake), so a killed dev server or Redis would stop
the whole stack. The campaign therefore runs those two itself, on fixed
free ports, and restarts them on the same port and data: what an operator's
process manager would do. The fake LLM runs here too, so that the services
see the canary ``LLM_API_KEY`` (the supervisor's own fake LLM accepts any key).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from agent_core.conversation_ids import TENANT_SEARCH_ATTRIBUTE
from durable_agent.harness import DEV_SERVER_ARGS

__all__ = ["ChildServer", "dev_server", "fake_llm_server", "free_port", "persist", "redis_server"]


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class ChildServer:
    """One server process on a fixed port: start, ``kill()`` (SIGKILL, a crash), start again.

    ``argv_for()`` is asked at every start, so a restart may change how it
    runs (Redis without persistence starts on a wiped directory).
    """

    def __init__(self, name: str, port: int, argv: list[str], log: Path) -> None:
        self.name, self.port, self.argv, self.log = name, port, argv, log
        self.proc: asyncio.subprocess.Process | None = None
        self.before_start: list[Path] = []  # wiped before each start (no persistence)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.returncode is None else None

    async def start(self, within: float = 60.0) -> None:
        """Start and wait until the port answers."""
        for path in self.before_start:
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
        out.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await _port_open(self.port):
            if self.proc.returncode is not None or loop.time() > deadline:
                raise RuntimeError(f"{self.name} did not start; see {self.log}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL the process group and wait until it is gone and the port is free."""
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        for _ in range(200):
            if not await _port_open(self.port):
                return
            await asyncio.sleep(0.05)

    async def restart(self) -> float:
        """``kill()`` then ``start()``, as a process manager would; the seconds it took."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self.kill()
        await self.start()
        return loop.time() - began


def dev_server(temporal: Path, data: Path) -> ChildServer:
    """The Temporal dev server on its SQLite file, configured as the stack's own."""
    port = free_port()
    argv = [
        str(temporal), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), "--db-filename", str(data / "temporal.db"), "--log-level", "error",
        "--dynamic-config-value", "frontend.enableServerVersionCheck=false", *DEV_SERVER_ARGS,
        "--search-attribute", f"{TENANT_SEARCH_ATTRIBUTE}=Keyword",
    ]  # fmt: skip
    return ChildServer("temporal", port, argv, data / "temporal.log")


def redis_server(data: Path) -> ChildServer:
    """A private redis-server; persistence is chosen per restart (``persist``)."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    directory = data / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    argv = [
        server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
        "--save", "", "--appendonly", "yes", "--appendfsync", "always",
        "--daemonize", "no", "--loglevel", "warning",
    ]  # fmt: skip
    return ChildServer("redis", port, argv, data / "redis.log")


def persist(redis: ChildServer, on: bool) -> None:
    """With: every write fsynced to the AOF before it is acknowledged (a kill loses
    nothing). Without: no AOF, and the directory wiped before the next start."""
    index = redis.argv.index("--appendonly") + 1
    redis.argv[index] = "yes" if on else "no"
    directory = Path(redis.argv[redis.argv.index("--dir") + 1])
    redis.before_start = [] if on else [directory]


def fake_llm_server(data: Path, api_key: str, chunk_delay: float) -> ChildServer:
    """The fake OpenAI server, refusing any bearer token but ``api_key``."""
    port = free_port()
    argv = [
        sys.executable, "-m", "fake_llm", "--host", "127.0.0.1", "--port", str(port),
        "--api-key", api_key, "--chunk-delay", str(chunk_delay), "--log-level", "warning",
    ]  # fmt: skip
    return ChildServer("fake-llm", port, argv, data / "fake-llm.log")
