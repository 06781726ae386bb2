"""Child processes: liveness, process-group signals, start ticks, left-overs, console scripts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: set in every child's environment to the supervisor's marker, to find orphans
MARKER_VAR = "DURABLE_AGENT_STACK"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), or None without /proc."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _marked_processes(marker: str) -> list[int]:
    """Live processes whose environment has ``MARKER_VAR=marker`` (Linux /proc)."""
    wanted = f"{MARKER_VAR}={marker}".encode()
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0") and _pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _bin(name: str) -> Path | None:
    """A console script of this environment (``uv run`` or not, venv activated or not)."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return here
    found = shutil.which(name)
    return Path(found) if found else None


def _console_script(name: str, module: str) -> list[str]:
    path = _bin(name)
    if path is not None and path.parent == Path(sys.executable).parent:
        return [str(path)]
    return [sys.executable, "-c", f"import sys; from {module} import main; sys.exit(main())"]


def stop_leftovers(state: dict[str, Any], say: Callable[[str, str], None]) -> None:
    """Stop what a supervisor that was killed (SIGKILL) left running, as its
    ``stack.json`` (``state``) describes it; ``say(text, level)`` tells the user.

    Its children carry ``MARKER_VAR=<marker>`` in their environment (which,
    unlike a command line, no process rewrites), so exactly they and their own
    children are found, whatever became of the pids since.
    """
    marker = state.get("marker")
    pids = set(_marked_processes(marker) if isinstance(marker, str) and marker else [])
    names: dict[int, str] = {}
    for name, info in state.get("parts", {}).items():
        pid, ticks = info.get("pid"), info.get("start_ticks")
        if isinstance(pid, int) and ticks is not None and _start_ticks(pid) == ticks:
            pids.add(pid)  # the very process (some, like redis, rewrite their environ)
        if isinstance(pid, int):
            names[pid] = name
    groups: set[int] = set()
    for pid in sorted(pids):
        label = names.get(pid, "a child process")
        say(f"stopping {label} (pid {pid}) left over from a killed run", "warn")
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    groups.discard(os.getpgid(0))
    _stop_groups(groups, say)


def _stop_groups(groups: set[int], say: Callable[[str, str], None]) -> None:
    """SIGTERM each group, SIGKILL what is left after 15 s."""
    for pgid in groups:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pgid in groups:
        if _group_alive(pgid):
            say(f"process group {pgid} did not stop in 15s: killing it", "warn")
            _signal_group(pgid, signal.SIGKILL)
