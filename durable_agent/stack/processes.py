"""Child processes: liveness, process-group signals, start ticks, left-overs, console scripts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from pathlib import Path

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
