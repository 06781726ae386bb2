"""``<data>/stack.json``: what a running stack wrote about itself, for status and stop;
and the data directory's lock, one stack per directory."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durable_agent.stack.config import StackError
from durable_agent.stack.plan import Plan
from durable_agent.stack.processes import _pid_alive

if TYPE_CHECKING:
    from durable_agent.stack.child import Child

STATE_FILE = "stack.json"
LOCK_FILE = ".stack.lock"


def state_document(
    plan: Plan, children: Iterable[Child], *, marker: str, ready: bool, data_dir: Path
) -> dict[str, Any]:
    """What :func:`stack_status` returns, and what the next run reads to find left-overs
    (``marker``, and each part's pid with its start ticks)."""
    return {
        "supervisor_pid": os.getpid(),
        "marker": marker,
        "ready": ready,
        "data_dir": str(data_dir),
        "urls": plan.urls,
        "temporal_address": plan.temporal_address,
        "namespace": plan.namespace,
        "parts": {
            c.name: {"pid": c.pid, "start_ticks": c.start_ticks, "argv": c.part.argv}
            for c in children
            if c.pid is not None
        },
    }


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Replace ``stack.json`` at once (a reader never sees half of it); OSError if not."""
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def remove_state(data_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (data_dir / STATE_FILE).unlink()


def _read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def stack_status(data_dir: Path | str = "data") -> dict[str, Any] | None:
    """The running stack's description (``stack.json``), or None if none runs there.

    Keys: ``supervisor_pid``, ``ready``, ``urls`` (``gateway``, ``docs``, ``chat``,
    ``temporal_ui``, ``temporal``, ``fake_llm``, ``<worker>_metrics``), ``parts`` (name -> ``pid``, ``argv``).
    """
    state = _read_state(Path(data_dir).expanduser().resolve())
    if not state or not _pid_alive(int(state.get("supervisor_pid") or 0) or -1):
        return None
    return state


def stop_stack(data_dir: Path | str = "data", timeout: float = 30.0) -> bool:
    """SIGTERM the stack running from ``data_dir`` and wait for it; False if none ran."""
    state = stack_status(data_dir)
    if state is None:
        return False
    pid = int(state["supervisor_pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _pid_alive(pid)


class DataDirLock:
    """An exclusive ``flock`` on ``<data>/.stack.lock``: two stacks on one Temporal
    database and one Redis directory would corrupt both. Released when the
    supervisor exits, however it exits."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; StackError (naming the running supervisor) if it is held."""
        import fcntl

        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            other = _read_state(self.data_dir)
            pid = f" (pid {other['supervisor_pid']})" if other else ""
            raise StackError(
                f"a stack is already running from {self.data_dir}{pid}: stop it first "
                "(Ctrl-C in its terminal), or use another --data-dir"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
