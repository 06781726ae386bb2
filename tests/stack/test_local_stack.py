"""``python -m durable_agent.stack`` (``make run``) as a user runs it: a real subprocess.

Each test starts the supervisor on free ports with a temporary data
directory, waits until it reports the stack up, checks every child runs,
then stops it with SIGINT and checks that it exits 0 in time and leaves no
process behind (a /proc scan over the pids and process groups it recorded
in ``stack.json``). The full-stack test needs the gateway; the others run
the rest (``--without api``).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from durable_agent.stack import PROVIDER_KEYS, stack_status, stop_stack

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="scans /proc for left-over processes"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs a redis-server binary"),
]


def _gateway_installed() -> bool:
    try:
        return importlib.util.find_spec("agent_api.main") is not None
    except ImportError:
        return False


UP = "durable-agent is up"
STOP_BUDGET = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def clean_env() -> dict[str, str]:
    """No model, no external Redis or Temporal, no keys: the offline default."""
    dropped = {
        "REDIS_URL",
        "TEMPORAL_ADDRESS",
        "LLM_MODEL",
        "LLM_API_KEY",
        "LLM_API_BASE",
        "API_KEYS",
        "API_KEYS_FILE",
        "API_DEV_MODE",
        "API_HOST",
        "API_PORT",
        "METRICS_PORT",
        "TEMPORAL_METRICS_PORT",
        *PROVIDER_KEYS,
    }
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a live process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def group_members(groups: set[int]) -> list[int]:
    """Live processes (not zombies) in any of these process groups."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and stat[0] != "Z" and stat[1] in groups:
            found.append(int(entry.name))
    return found


class Stack:
    """The supervisor as a child process, its output collected line by line."""

    def __init__(self, data_dir: Path, *flags: str) -> None:
        self.data_dir = data_dir
        self.lines: list[str] = []
        self.up = threading.Event()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "durable_agent.stack",
                "--data-dir",
                str(data_dir),
                "--no-color",
                *flags,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            text=True,
            errors="replace",
            start_new_session=True,  # a Ctrl-C at the test's terminal is the test's to handle
        )
        self.pids: dict[str, int] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if UP in line:
                self.up.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines[-200:])

    def wait_up(self, timeout: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.up.wait(0.2):
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the stack exited with {self.proc.returncode} before it was up:\n{self.output}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the stack was not up after {timeout:.0f}s:\n{self.output}")
        state = json.loads((self.data_dir / "stack.json").read_text())
        assert state["ready"] is True
        assert state["supervisor_pid"] == self.proc.pid
        self.pids = {name: info["pid"] for name, info in state["parts"].items()}
        return state

    def stop(
        self, sig: signal.Signals = signal.SIGINT, budget: float = STOP_BUDGET
    ) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(budget)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"the stack did not exit within {budget:.0f}s of {sig.name}:\n{self.output}"
            )
        self._reader.join(5)
        return code, time.monotonic() - started

    def kill_all(self) -> None:
        """Last-resort cleanup after a failed test."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in group_members(set(self.pids.values())):
            os.kill(pid, signal.SIGKILL)

    def assert_nothing_left(self) -> None:
        assert self.pids, "no child pids were recorded"
        deadline = time.monotonic() + 2
        while True:
            left = [pid for pid in self.pids.values() if alive(pid)]
            left += group_members(set(self.pids.values()))
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not left, f"processes left behind: {left}\n{self.output}"
        assert not (self.data_dir / "stack.json").exists()


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    started: list[Stack] = []
    yield started
    for stack in started:
        stack.kill_all()


def ports_flags(**ports: int) -> list[str]:
    flags = []
    for name, port in ports.items():
        flags += [f"--{name.replace('_', '-')}", str(port)]
    return flags


def test_stack_comes_up_stops_cleanly_and_restarts_at_once(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    ports = {
        "temporal_port": free_port(),
        "temporal_ui_port": free_port(),
        "redis_port": free_port(),
    }
    # worker-llm (slow to import litellm) is covered by the full-stack test
    flags = ["--without", "api,worker-llm", *ports_flags(**ports)]

    for run in (1, 2):  # the second run starts at once on the same ports and data
        stack = Stack(tmp_path, *flags)
        stacks.append(stack)
        state = stack.wait_up()
        assert set(stack.pids) == {"temporal", "redis", "fake-llm", "worker-tools"}
        for name, pid in stack.pids.items():
            assert alive(pid), f"{name} (pid {pid}) is not running\n{stack.output}"
        assert state["urls"]["temporal"] == f"127.0.0.1:{ports['temporal_port']}"
        assert state["urls"]["temporal_ui"] == f"http://127.0.0.1:{ports['temporal_ui_port']}"
        assert httpx.get(state["urls"]["temporal_ui"], timeout=5).status_code == 200
        assert "FAKE LLM" in stack.output
        if run == 2:
            assert "left over" not in stack.output

        code, took = stack.stop(signal.SIGINT)
        assert code == 0, stack.output
        assert "stack stopped cleanly" in stack.output
        stack.assert_nothing_left()
        for port in ports.values():
            assert port_bindable(port), f"port {port} still held after the stack stopped"
        print(f"run {run}: stopped in {took:.1f}s")

    assert (tmp_path / "temporal.db").exists()
    assert (tmp_path / "redis").is_dir()


def test_a_dead_service_is_restarted_and_dead_infrastructure_stops_the_stack(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    stack = Stack(tmp_path, "--without", "api,worker-llm", "--headless", "--temporal-port", "0")
    stacks.append(stack)
    stack.wait_up()
    old_pid = stack.pids["worker-tools"]
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    killed = "worker-tools was killed by SIGKILL: restarting it"
    while killed not in stack.output or "worker-tools ready" not in stack.output.split(killed)[-1]:
        assert stack.proc.poll() is None, (
            f"the stack stopped instead of restarting:\n{stack.output}"
        )
        assert time.monotonic() < deadline, f"worker-tools was not restarted:\n{stack.output}"
        time.sleep(0.2)
    state = json.loads((stack.data_dir / "stack.json").read_text())
    new_pid = state["parts"]["worker-tools"]["pid"]
    assert new_pid != old_pid and alive(new_pid)
    stack.pids["worker-tools"] = new_pid

    os.kill(stack.pids["redis"], signal.SIGKILL)  # Temporal and Redis are not restarted
    try:
        code = stack.proc.wait(STOP_BUDGET)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the stack kept running after Redis died:\n{stack.output}")
    stack._reader.join(5)
    assert code == 1, stack.output
    assert "redis was killed by SIGKILL" in stack.output
    stack.assert_nothing_left()


def test_a_second_stack_on_the_same_data_dir_is_refused(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    first = Stack(
        tmp_path, "--without", "api,worker-llm,worker-tools", "--headless", "--temporal-port", "0"
    )
    stacks.append(first)
    first.wait_up()
    second = Stack(tmp_path, "--without", "api", "--temporal-port", "0")
    stacks.append(second)
    assert second.proc.wait(30) == 2
    second._reader.join(5)
    assert "already running" in second.output

    status = stack_status(tmp_path)  # what `durable-agent status` / `down` use
    assert status is not None and status["ready"] and status["supervisor_pid"] == first.proc.pid
    assert stop_stack(tmp_path, timeout=STOP_BUDGET)
    assert first.proc.wait(5) == 0, first.output
    first._reader.join(5)
    first.assert_nothing_left()
    assert stack_status(tmp_path) is None


@pytest.mark.timeout(100)
@pytest.mark.skipif(
    not _gateway_installed(), reason="the gateway (agent_api.main) is not built yet"
)
def test_full_stack_serves_the_gateway_and_the_demo_runs(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    api_port = free_port()
    stack = Stack(
        tmp_path,
        *ports_flags(api_port=api_port, temporal_port=free_port(), temporal_ui_port=free_port()),
    )
    stacks.append(stack)
    state = stack.wait_up(timeout=80)  # litellm alone takes seconds to import on a busy machine
    base = f"http://127.0.0.1:{api_port}"
    assert state["urls"]["gateway"] == base
    assert set(stack.pids) == {"temporal", "redis", "fake-llm", "worker-llm", "worker-tools", "api"}
    for name, pid in stack.pids.items():
        assert alive(pid), f"{name} (pid {pid}) is not running\n{stack.output}"
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    assert "DEV MODE" in stack.output
    # the gateway's metrics: on the port the banner names, not on the API's
    metrics = re.search(r"Metrics .*api :(\d+)", stack.output)
    assert metrics, stack.output
    scraped = httpx.get(f"http://127.0.0.1:{metrics.group(1)}/metrics", timeout=5)
    assert scraped.status_code == 200 and "api_requests" in scraped.text
    assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404

    from durable_agent.demo import run_demo

    printed = io.StringIO()
    assert run_demo(base, api_key="", stream=printed, timeout=20, color=False) == 0, (
        printed.getvalue()
    )
    transcript = printed.getvalue()
    for tool in ("find_events", "search_flights", "create_invoice"):
        assert f"confirm {tool}" in transcript, transcript
    assert "The conversation has ended." in transcript

    # Ctrl-C with a stream open: the stream ends cleanly, nothing is logged as an error
    created = httpx.post(f"{base}/v1/conversations", json={"goal": "travel"}, timeout=10)
    with httpx.stream("GET", f"{base}{created.json()['events_url']}", timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event: RUN_FINISHED"))
        code, _ = stack.stop(signal.SIGINT)
        list(lines)  # a response cut short would raise here (incomplete chunked body)
    assert code == 0, stack.output
    assert "ERROR" not in stack.output, stack.output
    assert '"POST /v1/conversations' not in stack.output  # no access line per request
    stack.assert_nothing_left()
    assert port_bindable(api_port)


def test_a_killed_supervisors_children_are_stopped_by_the_next_run(
    tmp_path: Path, stacks: list[Stack]
) -> None:
    flags = ["--without", "api,worker-llm", "--headless", "--temporal-port", str(free_port())]
    first = Stack(tmp_path, *flags)
    stacks.append(first)
    first.wait_up()
    first.proc.kill()  # SIGKILL: no clean-up; its children run on in their own sessions
    first.proc.wait(5)
    orphans = dict(first.pids)
    assert all(alive(pid) for pid in orphans.values())

    second = Stack(tmp_path, *flags)
    stacks.append(second)
    second.wait_up()
    assert "left over from a killed run" in second.output
    assert not [pid for pid in orphans.values() if alive(pid)], second.output
    code, _ = second.stop(signal.SIGINT)
    assert code == 0, second.output
    second.assert_nothing_left()
