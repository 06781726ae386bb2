"""One child process: the restart budget, spawning, a start that fails, stopping."""

from __future__ import annotations

import asyncio
import io
import os
import socket

import pytest

from durable_agent.stack.child import Child, PartFailed, RestartBudget
from durable_agent.stack.console import Console
from durable_agent.stack.plan import Part
from durable_agent.stack.probes import HttpReady, Readiness

pytestmark = pytest.mark.fast


def test_the_budget_allows_five_restarts_in_any_minute() -> None:
    budget = RestartBudget()
    assert all(budget.allow(t) for t in (0.0, 1.0, 2.0, 3.0, 4.0))
    assert not budget.allow(5.0)  # the sixth within 60 s
    assert not budget.allow(59.0)
    assert budget.allow(121.0)  # only 59.0 is left within the window
    tight = RestartBudget(limit=1, window=10.0)
    assert tight.allow(0.0) and not tight.allow(9.9) and tight.allow(30.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child(argv: list[str], stop_timeout: float = 10.0) -> tuple[Child, io.StringIO]:
    out = io.StringIO()
    probe = HttpReady("127.0.0.1", closed_port(), "/healthz")
    part = Part("svc", argv, dict(os.environ), probe, stop_timeout=stop_timeout)
    return Child(part, Console(out, color=False)), out


async def printed(out: io.StringIO, text: str, within: float = 10.0) -> None:
    for _ in range(int(within / 0.02)):
        if text in out.getvalue():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{text!r} not printed:\n{out.getvalue()}")


async def test_a_part_that_exits_before_it_is_ready_fails_and_its_exit_is_reported() -> None:
    exits: list[int] = []

    async def exited(c: Child, code: int) -> None:
        exits.append(code)

    svc, out = child(["sh", "-c", "echo starting; exit 3"])
    await svc.spawn(exited)
    with pytest.raises(PartFailed, match="svc exited with code 3 before it was ready"):
        await svc.await_ready(Readiness("default"), within=10)
    await svc.flushed()
    assert exits == [3]
    assert "svc          | starting" in out.getvalue()


async def test_a_part_not_ready_in_time_says_the_last_check() -> None:
    svc, _ = child(["sleep", "30"])
    await svc.spawn(lambda c, code: asyncio.sleep(0))
    try:
        with pytest.raises(PartFailed, match=r"not ready after 0s \(last check: GET /healthz: no"):
            await svc.await_ready(Readiness("default"), within=0.2)
    finally:
        assert not await svc.stop(asyncio.Event())


async def test_a_part_that_ignores_sigterm_is_killed_after_its_stop_timeout() -> None:
    svc, out = child(["sh", "-c", "trap '' TERM; echo up; sleep 30"], stop_timeout=0.3)
    await svc.spawn(lambda c, code: asyncio.sleep(0))
    await printed(out, "svc          | up")  # the trap is set before SIGTERM comes
    assert await svc.stop(asyncio.Event())
    assert "killing svc (not stopped in 0s)" in out.getvalue()
    assert "svc stopped (code -9)" in out.getvalue()
