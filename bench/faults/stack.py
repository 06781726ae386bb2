"""The campaign's stack: the supervisor's services on servers the campaign can kill.

``make run``'s supervisor (``durable_agent.harness.LocalStack``) runs both
workers and the gateway and restarts them when they die, as a user's stack
would: their kills go through it, so recovery is measured through it.
Temporal, Redis and the fake LLM are the campaign's own (``procs``): the
supervisor does not restart Temporal or Redis, and its fake LLM takes any
key. Every service reaches Redis through a ``TcpProxy`` so the network can be
cut. Every line any part prints is kept, for the secrets search.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.faults.canaries import Canaries
from bench.faults.procs import ChildServer, dev_server, fake_llm_server, redis_server
from bench.faults.tcp_proxy import TcpProxy
from durable_agent.harness import LocalStack, RunningStack
from durable_agent.stack.processes import _bin
from durable_agent.stack.state import stack_status

__all__ = ["SUPERVISED", "FaultStack", "open_stack"]

#: parts the supervisor restarts when they die
SUPERVISED = ("worker-llm", "worker-tools", "api")
MEMORY = Path("/dev/shm")
#: data in memory where there is some: every fsync on this disk would land in the figures
DATA_PARENT = MEMORY if MEMORY.is_dir() else None


@dataclass
class FaultStack:
    """Where everything listens, and the handles to hurt it."""

    running: RunningStack
    temporal: ChildServer
    redis: ChildServer
    fake_llm: ChildServer
    proxy: TcpProxy
    data: Path
    lines: list[str] = field(default_factory=list)  # every line every service printed

    @property
    def gateway(self) -> str:
        return self.running.gateway

    @property
    def objects(self) -> Path:
        return self.running.data_dir / "objects"

    def pid(self, part: str) -> int | None:
        """The supervised part's current pid (it changes with every restart)."""
        state = stack_status(self.running.data_dir) or {}
        pid = state.get("parts", {}).get(part, {}).get("pid")
        return int(pid) if pid else None

    def _readies(self, part: str) -> int:
        return sum(1 for line in self.lines if line.startswith(f"stack | {part} ready ("))

    async def kill_supervised(self, part: str, within: float = 120.0) -> float:
        """SIGKILL the part's process group and wait until the supervisor says its new
        process is ready (so the next kill hits a running part, not a booting one);
        the seconds that took."""
        pid, readies = self.pid(part), self._readies(part)
        assert pid is not None, part
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        loop = asyncio.get_running_loop()
        began = loop.time()
        while self.pid(part) in (pid, None) or self._readies(part) == readies:
            if loop.time() - began > within:
                raise RuntimeError(f"the supervisor did not restart {part}")
            await asyncio.sleep(0.1)
        return loop.time() - began


def _service_env(canaries: Canaries, temporal: int, proxy: int, llm: int) -> dict[str, str]:
    return {
        **canaries.env(),
        "API_DEV_MODE": "false",
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
        "API_SSE_PING_SECONDS": "2",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
        "REDIS_URL": f"redis://127.0.0.1:{proxy}/0",
        "LLM_MODEL": "openai/fake-agent",
        "LLM_API_BASE": f"http://127.0.0.1:{llm}/v1",
        "LLM_TIMEOUT_SECONDS": "5",
        "API_ACCESS_LOG": "true",
    }


@contextlib.asynccontextmanager
async def open_stack(canaries: Canaries, chunk_delay: float) -> AsyncIterator[FaultStack]:
    """Start Redis, its proxy, the dev server and the fake LLM, then the supervisor."""
    with tempfile.TemporaryDirectory(prefix="fault-campaign-", dir=DATA_PARENT) as tmp:
        data = Path(tmp)
        temporal_bin = _bin("temporal")
        assert temporal_bin is not None, "the Temporal CLI is missing: uv sync"
        lines: list[str] = []
        started: list[ChildServer] = []
        proxy: TcpProxy | None = None

        async def up(server: ChildServer) -> ChildServer:
            await server.start()
            started.append(server)
            return server

        try:
            # each server takes its free port only once the one before it is up: the dev
            # server binds ports of its own as it starts, and one of them could be a port
            # picked earlier (whose server would then not start, though the port answers)
            redis = await up(redis_server(data))
            temporal = await up(dev_server(temporal_bin, data))
            llm = await up(fake_llm_server(data, canaries.values["llm_api_key"], chunk_delay))
            proxy = TcpProxy(redis.port)
            await proxy.start()
            env = _service_env(canaries, temporal.port, proxy.port, llm.port)
            local = LocalStack(
                "--without", "temporal", env=env, fake_llm=False, parent=data,
                on_line=lambda part, text: lines.append(f"{part} | {text}"),
            )  # fmt: skip
            async with local as running:
                yield FaultStack(running, temporal, redis, llm, proxy, data, lines)
        finally:
            if proxy is not None:
                await proxy.close()
            for server in reversed(started):
                await server.kill()
