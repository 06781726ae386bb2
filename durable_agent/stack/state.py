"""``<data>/stack.json``: what a running stack wrote about itself, for status and stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from durable_agent.stack.processes import _pid_alive

STATE_FILE = "stack.json"


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
