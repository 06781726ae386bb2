"""One running part: its process (spawned in a group of its own), its output, its stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from durable_agent.stack.console import Console
from durable_agent.stack.plan import Part
from durable_agent.stack.probes import Readiness
from durable_agent.stack.processes import _group_alive, _signal_group, _start_ticks

_MAX_LINE = 1 << 20  # bytes of a child's output line held before printing anyway
#: exit codes of a process that stopped because it was asked to
_CLEAN_EXITS = (None, 0, -signal.SIGTERM, -signal.SIGINT, 128 + signal.SIGTERM)


class PartFailed(Exception):
    """A part could not start, or was not ready in time; the message says which."""


@dataclass
class RestartBudget:
    """At most ``limit`` restarts in any ``window`` seconds, so a service that keeps
    dying stops the stack instead of looping. Restarts are immediate: Temporal
    retries what the dead process was doing once the new one polls."""

    limit: int = 5
    window: float = 60.0
    times: list[float] = field(default_factory=list)

    def allow(self, now: float) -> bool:
        """Count a restart at ``now`` (loop time); whether it is within the budget."""
        self.times = [t for t in self.times if now - t < self.window] + [now]
        return len(self.times) <= self.limit


ExitHook = Callable[["Child", int], Awaitable[None]]


class Child:
    """A part's process across restarts: spawn, wait until ready, stop."""

    def __init__(self, part: Part, console: Console) -> None:
        self.part = part
        self.name = part.name
        self.console = console
        self.process: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()  # set once, at the first start
        self.started_at = 0.0
        self.start_ticks: int | None = None  # with the pid, identifies the process (Linux)
        self.last_error = ""
        self.budget = RestartBudget()
        self._pump: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def spawn(self, on_exit: ExitHook) -> None:
        """Start the process, in a session of its own so that its whole group can be
        signalled; ``on_exit(child, code)`` runs when it exits."""
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.part.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=self.part.env,
                cwd=str(Path.cwd()),
                start_new_session=True,
            )
        except OSError as exc:
            raise PartFailed(f"{self.name} could not start: {exc}") from None
        self.started_at = asyncio.get_running_loop().time()
        self.start_ticks = _start_ticks(self.process.pid)
        self.console.say(f"started {self.name} (pid {self.pid})")
        assert self.process.stdout is not None
        self._pump = asyncio.create_task(self._print(self.process.stdout))
        self._watcher = asyncio.create_task(self._watch(self.process, on_exit))

    async def _watch(self, process: asyncio.subprocess.Process, on_exit: ExitHook) -> None:
        await on_exit(self, await process.wait())

    async def flushed(self) -> None:
        """Let the process's last words print (within a second) before ours about it."""
        if self._pump is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._pump), 1)

    async def await_ready(self, readiness: Readiness, within: float) -> None:
        """Probe until ready; PartFailed if the process exits first or time runs out."""
        loop = asyncio.get_running_loop()
        deadline = self.started_at + within
        assert self.process is not None
        while True:
            if self.process.returncode is not None:
                raise PartFailed(
                    f"{self.name} exited with code {self.process.returncode} before it was ready"
                )
            try:
                problem = await asyncio.wait_for(readiness.check(self.part.probe, self.pid), 10)
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is None:
                took = loop.time() - self.started_at
                self.console.say(f"{self.name} ready ({took:.1f}s)", "ok")
                return
            self.last_error = problem
            if loop.time() > deadline:
                raise PartFailed(
                    f"{self.name} was not ready after {within:.0f}s (last check: {problem})"
                )
            await asyncio.sleep(0.15)

    async def _print(self, stream: asyncio.StreamReader) -> None:
        """Every line of the output, prefixed; read in chunks so no line is too long
        (an unread pipe would stall the child)."""
        pending = b""
        while True:
            try:
                chunk = await stream.read(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > _MAX_LINE:  # no newline in sight: print what there is
                lines.append(pending)
                pending = b""
            for line in lines:
                self.console.line(self.name, line.decode(errors="replace").rstrip("\r"))
        if pending:
            self.console.line(self.name, pending.decode(errors="replace").rstrip("\r"))

    async def stop(self, force: asyncio.Event) -> bool:
        """SIGTERM the group, SIGKILL after the part's stop timeout (or at once when
        ``force`` is set); then whatever it left in its group. True if it was killed."""
        proc = self.process
        assert proc is not None
        pgid = proc.pid  # leader of its own session and group
        killed = False
        if proc.returncode is None:
            _signal_group(pgid, signal.SIGTERM)
            if not await _exited(proc, self.part.stop_timeout, force):
                limit = self.part.stop_timeout
                why = "forced" if force.is_set() else f"not stopped in {limit:.0f}s"
                self.console.say(f"killing {self.name} ({why})", "warn")
                killed = True
                _signal_group(pgid, signal.SIGKILL)
                await proc.wait()
        await _reap_group(pgid)
        for task in (self._pump, self._watcher):
            if task is not None and not task.done():
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 2)
        code = proc.returncode
        self.console.say(
            f"{self.name} stopped" + ("" if code in _CLEAN_EXITS else f" (code {code})")
        )
        return killed


async def _exited(proc: asyncio.subprocess.Process, within: float, force: asyncio.Event) -> bool:
    """Whether ``proc`` exits within ``within`` seconds, giving up early on ``force``."""
    waiter = asyncio.create_task(proc.wait())
    forced = asyncio.create_task(force.wait())
    try:
        await asyncio.wait({waiter, forced}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        forced.cancel()
    if waiter.done():
        return True
    waiter.cancel()
    return False


async def _reap_group(pgid: int) -> None:
    """Stop what a part left behind in its group (helpers, reloaders): 2 s, then SIGKILL."""
    if not _group_alive(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    for _ in range(20):
        await asyncio.sleep(0.1)
        if not _group_alive(pgid):
            return
    _signal_group(pgid, signal.SIGKILL)
