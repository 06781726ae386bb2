"""The fault campaign's short version, on every change: a few conversations, one
kill -9 of each process (both workers, the gateway, Redis wiped, the dev
server), a 5 s network cut between the services and Redis, a cut model
stream, a client that sends every request twice, and the canary-secrets
search. Runs ``python -m bench.faults --short`` as a user
would and fails on any must-be-0 count (its exit code), printing the table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.faults.catalog import SHORT

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 280  # seconds; CI's limit for this test is the timeout below
#: seconds a conversation has to end: every batch ends in 5 to 20 s, so one stuck
#: conversation is counted (with its trace) well before the budget runs out
WITHIN = 90

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="kills process groups, reads /proc"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs a redis-server binary"),
]


def _campaign(out: Path) -> tuple[int, str, str]:
    """Run it as a user would; past the budget, SIGTERM (it then stops the servers it
    started, which a SIGKILL would leave running) and report what it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.faults", "--short", "--within", str(WITHIN),
         "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=BUDGET)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            stdout, stderr = proc.communicate(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        stderr += f"\n(the campaign took over {BUDGET} s and was stopped)"
    return proc.returncode, stdout, stderr


@pytest.mark.timeout(BUDGET + 60)
def test_short_fault_campaign_keeps_every_must_be_zero_count_at_zero(tmp_path: Path) -> None:
    out = tmp_path / "faults.json"
    code, stdout, stderr = _campaign(out)
    report = stdout[-6000:] + stderr[-3000:]
    assert out.exists(), report
    outcome = json.loads(out.read_text())
    assert code == 0, report
    assert outcome["failed"] == {}, report
    rows = {row["fault"]: row for row in outcome["faults"]}
    for fault in SHORT:  # every fault was injected while conversations were live
        row = rows[fault.name]
        assert row["injections"] == fault.times, (fault.name, report)
        assert row["ended"] == row["conversations"] > 0, (fault.name, report)
    assert outcome["secrets"]["searched"]["histories"] > 0, report
