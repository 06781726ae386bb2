"""Data flows one way: the workflow imports no I/O library, the gateway no model client.

Checked in a fresh interpreter, so what other tests imported does not count.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in done.stdout.split()}


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("agent_core.workflow", {"litellm", "openai", "redis", "httpx", "fastapi", "worker_llm"}),
        # the workflow calls activities by name: the gateway loads no worker code
        ("agent_api.main", {"litellm", "openai", "worker_llm", "worker_tools"}),
    ],
)
def test_module_does_not_pull_in(module: str, forbidden: set[str]) -> None:
    assert not imported_after(module) & forbidden
