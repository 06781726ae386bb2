"""``stack.json`` (what status and the next run read) and the data directory's lock."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path

import pytest

from durable_agent.stack import StackError, stack_status
from durable_agent.stack.child import Child
from durable_agent.stack.console import Console
from durable_agent.stack.plan import Part, Plan
from durable_agent.stack.probes import RedisReady
from durable_agent.stack.state import (
    STATE_FILE,
    DataDirLock,
    remove_state,
    state_document,
    write_state,
)

pytestmark = pytest.mark.fast


def a_plan(*parts: Part) -> Plan:
    return Plan(
        parts={p.name: p for p in parts},
        urls={"gateway": "http://127.0.0.1:8000"},
        facts=[],
        notes=[],
        temporal_address="127.0.0.1:7233",
        namespace="default",
    )


async def test_the_state_names_each_started_part_and_how_to_recognise_it(tmp_path: Path) -> None:
    sleeper = Part("sleeper", ["sleep", "30"], dict(os.environ), RedisReady("redis://x"))
    later = Part("later", ["true"], {}, RedisReady("redis://x"))
    plan = a_plan(sleeper, later)
    console = Console(io.StringIO(), color=False)
    children = [Child(sleeper, console), Child(later, console)]

    async def exited(child: Child, code: int) -> None:
        pass

    await children[0].spawn(exited)
    try:
        state = state_document(plan, children, marker="m", ready=True, data_dir=tmp_path)
    finally:
        await children[0].stop(asyncio.Event())
    assert state["supervisor_pid"] == os.getpid() and state["ready"] is True
    assert state["marker"] == "m" and state["data_dir"] == str(tmp_path)
    assert state["urls"] == plan.urls and state["temporal_address"] == "127.0.0.1:7233"
    assert list(state["parts"]) == ["sleeper"]  # "later" never started
    recorded = state["parts"]["sleeper"]
    assert recorded["pid"] == children[0].pid and recorded["argv"] == ["sleep", "30"]
    assert isinstance(recorded["start_ticks"], int)  # with the pid: this very process


def test_status_reads_the_state_of_a_live_supervisor_only(tmp_path: Path) -> None:
    state = state_document(a_plan(), [], marker="m", ready=False, data_dir=tmp_path)
    write_state(tmp_path, state)
    assert stack_status(tmp_path) == json.loads(json.dumps(state))
    assert not list(tmp_path.glob("*.tmp"))
    write_state(tmp_path, {**state, "supervisor_pid": 2**22 + 1})  # above Linux's pid_max
    assert stack_status(tmp_path) is None
    remove_state(tmp_path)
    remove_state(tmp_path)  # twice is fine
    assert not (tmp_path / STATE_FILE).exists() and stack_status(tmp_path) is None


def test_one_stack_per_data_dir(tmp_path: Path) -> None:
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    write_state(tmp_path, {"supervisor_pid": 4242})
    first.acquire()
    try:
        with pytest.raises(StackError, match=r"already running from .* \(pid 4242\)"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()
