"""The whole campaign: one stack, each fault's batch in turn, the secrets search, the table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.faults.batch import MUST_BE_ZERO, BatchResult, run_batch
from bench.faults.canaries import Canaries
from bench.faults.catalog import Fault
from bench.faults.exposure import scan
from bench.faults.stack import open_stack
from fake_llm import RemoteFakeLLM

__all__ = ["run_campaign"]

ROOT = Path(__file__).resolve().parents[2]


def _say(text: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {text}", flush=True)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip()


def _save_partial(rows: list[BatchResult], partial: Path) -> None:
    """The batches done so far, in case a long run is cut short."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text(json.dumps([r.row() for r in rows], indent=1) + "\n")


async def run_campaign(faults: tuple[Fault, ...], conversations: int, within: float,
                       gap: float, chunk_delay: float, partial: Path) -> dict[str, Any]:  # fmt: skip
    """Every fault's batch on one stack, then the canary search over all they produced."""
    began = time.monotonic()
    load = os.getloadavg()
    tenants = [f"fault{i:02d}" for i in range(len(faults))]
    canaries = Canaries(tenants)
    rows: list[BatchResult] = []
    errors: list[bytes] = []
    _say(f"{conversations} conversations x {len(faults)} faults; load average {load}")
    async with open_stack(canaries, chunk_delay) as stack:
        _say(f"stack up: gateway {stack.gateway}")
        fake = RemoteFakeLLM(f"http://127.0.0.1:{stack.fake_llm.port}")
        for fault, tenant in zip(faults, tenants, strict=True):
            fake.reset()
            result, bodies = await run_batch(
                stack, fault, tenant, canaries.api_keys[tenant], conversations, within, gap
            )
            rows.append(result)
            errors += bodies
            _save_partial(rows, partial)
            bad = result.failures()
            _say(f"{fault.name}: {result.ended}/{conversations} ended in {result.seconds}s"
                 + (f"; NOT 0: {bad}" if bad else ""))  # fmt: skip
        leaks, searched = await scan(stack, canaries, errors)
        _say(f"secrets: {len(leaks)} leaks in {searched}")
    return {
        "command": "python -m bench.faults",
        "conversations": conversations,
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": load,
            "loadavg_at_end": os.getloadavg(),
            "platform": platform.platform(),
        },
        "commit": _commit(),
        "seconds": round(time.monotonic() - began, 1),
        "must_be_zero": [*MUST_BE_ZERO, "secret_leaks"],
        "faults": [r.row() for r in rows],
        "secrets": {
            "leaks": [asdict(leak) for leak in leaks],
            "searched": searched,
            "secrets": sorted(canaries.needles()),
        },
        "failed": {r.fault: r.failures() for r in rows if r.failures()}
        | ({"secrets": {"secret_leaks": len(leaks)}} if leaks else {}),
    }
