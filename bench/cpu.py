"""CPU time per process from ``/proc`` (Linux): what each part spends per turn.

Every part runs as its own process, so reading ``utime + stime`` of each pid
before and after a phase and dividing by the turns the phase made says where
the CPU goes. Clock ticks are 10 ms, so phases must be long enough to count.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CpuMeter", "cpu_seconds"]

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of ``pid`` (all its threads) so far; 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


class CpuMeter:
    """``start()``, run a phase, ``per(units)``: CPU ms per unit for each named pid."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def per(self, units: float) -> dict[str, float]:
        """CPU ms since ``start()`` divided by ``units``, per name."""
        used = {n: cpu_seconds(p) - self._before.get(n, 0.0) for n, p in self.pids.items()}
        return {name: round(seconds * 1000 / max(units, 1e-9), 2) for name, seconds in used.items()}
