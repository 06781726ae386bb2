"""The supervisor: composes the plan, the children, the banner and the state file.

It starts the parts in dependency order, restarts a service that dies (within
its :class:`RestartBudget`), and on a signal or a failure stops them stage by
stage in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from durable_agent.stack.banner import ready_lines, starting_lines
from durable_agent.stack.child import Child, PartFailed
from durable_agent.stack.config import StackConfig, StackError, parse_args
from durable_agent.stack.console import Console, _use_color
from durable_agent.stack.plan import Plan, make_plan, survey
from durable_agent.stack.probes import Readiness
from durable_agent.stack.processes import _signal_name, stop_leftovers
from durable_agent.stack.state import (
    STATE_FILE,
    DataDirLock,
    _read_state,
    remove_state,
    state_document,
    write_state,
)

#: the order parts are stopped in, stage by stage (each stage concurrently)
STOP_STAGES = (("api",), ("worker-llm", "worker-tools"), ("fake-llm", "redis", "temporal"))


class Supervisor:
    def __init__(self, config: StackConfig, stream: TextIO | None = None) -> None:
        self.config = config
        stream = stream or sys.stdout
        self.console = Console(stream, _use_color(stream, config.color))
        self.data_dir = config.data_dir.expanduser().resolve()
        self.marker = f"{os.getpid()}@{self.data_dir}"  # tags our children (MARKER_VAR)
        self.lock = DataDirLock(self.data_dir)
        self.plan: Plan | None = None
        self.children: dict[str, Child] = {}
        self._readiness: Readiness | None = None
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._stopping = False
        self._failure: str | None = None
        self._ready = False
        self._killed: list[str] = []  # parts that needed SIGKILL to stop

    # -- entry --------------------------------------------------------------------

    async def run(self) -> int:
        """The exit code :func:`run_stack` documents."""
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        for sig in handled:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            try:
                self.plan = await self._prepare()
            except StackError as exc:
                self.console.say(str(exc), "error")
                return 2
            if self._stop.is_set():
                return 0
            return await self._run_plan(self.plan)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            self.lock.release()

    async def _run_plan(self, plan: Plan) -> int:
        self._readiness = Readiness(plan.namespace)
        self.children = {name: Child(part, self.console) for name, part in plan.parts.items()}
        try:
            await self._supervise(plan)
        finally:
            await self._shutdown()
        if self._failure:
            self.console.say(f"stack stopped: {self._failure}", "error")
            return 1
        if self._killed:
            self.console.say(f"stack stopped; killed: {', '.join(self._killed)}", "warn")
        else:
            self.console.say("stack stopped cleanly", "ok")
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self._stop.is_set():
            self.console.say(f"{sig.name}: stopping everything (again to force)", "note")
            self._stopping = True  # what exits from now on is no failure
            self._stop.set()
        elif not self._force.is_set():
            self.console.say(f"{sig.name} again: killing what is left", "warn")
            self._force.set()

    def _fail(self, message: str) -> None:
        if self._failure is None and not self._stopping:
            self._failure = message
            self.console.say(message, "error")
        self._stop.set()

    async def _prepare(self) -> Plan:
        """Settings, the data directory and its lock, left-overs of a killed run, the plan."""
        from agent_core.settings import Settings

        try:
            settings = Settings()
        except Exception as exc:
            raise StackError(f"invalid settings in the environment: {exc}") from None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StackError(f"cannot use the data directory {self.data_dir}: {exc}") from None
        self.lock.acquire()
        left = _read_state(self.data_dir)
        if left:
            stop_leftovers(left, self.console.say)
            remove_state(self.data_dir)
        env = dict(os.environ)
        machine = await survey(env)
        plan = make_plan(self.config, settings, env, self.data_dir, self.marker, machine)
        for path in plan.dirs:
            path.mkdir(parents=True, exist_ok=True)
        return plan

    # -- running ------------------------------------------------------------------

    async def _supervise(self, plan: Plan) -> None:
        self._say_all(starting_lines(plan, self.data_dir))
        startup = asyncio.create_task(self._start_all())
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({startup, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if startup.done() and not startup.cancelled():
                problem = startup.exception()
                if problem is None:
                    self._ready = True
                    self._write_state()
                    self._say_all(ready_lines(plan))
                else:
                    self._fail(_first_message(problem))
            await stopped
        finally:
            for task in (startup, stopped):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _start_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            for child in self.children.values():
                group.create_task(self._bring_up(child))

    async def _bring_up(self, child: Child) -> None:
        for dep in child.part.needs:
            await self.children[dep].ready.wait()
        if self._stop.is_set():
            return
        await self._start(child)
        child.ready.set()

    async def _start(self, child: Child) -> None:
        assert self._readiness is not None
        await child.spawn(self._on_exit)
        self._write_state()
        await child.await_ready(self._readiness, self.config.ready_timeout)

    async def _on_exit(self, child: Child, code: int) -> None:
        """A service restarts, as a process manager would (conversations go on:
        Temporal retries what the dead process was doing); anything else, or a
        service over its budget, stops the stack."""
        if self._stopping:
            return
        await child.flushed()
        how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        if not self._may_restart(child):
            self._fail(f"{child.name} {how}: stopping the rest")
            return
        self.console.say(f"{child.name} {how}: restarting it", "warn")
        try:
            await self._start(child)
        except PartFailed as exc:
            self._fail(str(exc))

    def _may_restart(self, child: Child) -> bool:
        """Only services, only once the stack is up; Temporal and Redis do not
        restart (their state would be at stake)."""
        if not (child.part.restart and self._ready) or self._stop.is_set():
            return False
        return child.budget.allow(asyncio.get_running_loop().time())

    # -- stopping -----------------------------------------------------------------

    async def _shutdown(self) -> None:
        self._stopping = True
        started = [c for c in self.children.values() if c.process is not None]
        if started:
            self.console.say("stopping: " + ", ".join(c.name for c in started))
        for stage in STOP_STAGES:
            await asyncio.gather(*(self._stop_child(c) for c in started if c.name in stage))
        remove_state(self.data_dir)

    async def _stop_child(self, child: Child) -> None:
        if await child.stop(self._force):
            self._killed.append(child.name)

    # -- output and state ------------------------------------------------------------

    def _say_all(self, lines: list[tuple[str, str]]) -> None:
        for level, text in lines:
            self.console.say(text, level)

    def _write_state(self) -> None:
        assert self.plan is not None
        state = state_document(
            self.plan,
            self.children.values(),
            marker=self.marker,
            ready=self._ready,
            data_dir=self.data_dir,
        )
        try:
            write_state(self.data_dir, state)
        except OSError as exc:
            self.console.say(f"could not write {self.data_dir / STATE_FILE}: {exc}", "warn")


def _first_message(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if isinstance(inner, PartFailed):
                return str(inner)
        return _first_message(exc.exceptions[0])
    if isinstance(exc, PartFailed | StackError):
        return str(exc)
    return f"start-up failed: {type(exc).__name__}: {exc}"


def run_stack(config: StackConfig | None = None, stream: TextIO | None = None) -> int:
    """Run the stack in the foreground until a signal or a failure; the exit code.

    0: stopped by Ctrl-C/SIGTERM/SIGHUP after a clean start (or during it);
    1: a part failed or died; 2: the configuration cannot work (message printed).
    Call from the main thread (it installs signal handlers).
    """
    supervisor = Supervisor(config or StackConfig(), stream)
    try:
        return asyncio.run(supervisor.run())
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> None:
    code = run_stack(parse_args(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    # the Temporal SDK's runtime can crash at interpreter exit (sdk-python #300)
    os._exit(code)
