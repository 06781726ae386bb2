"""A worker process that cannot poll exits non-zero, so no health check keeps
answering for it: both worker services, started as their console scripts."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.support.gateway import free_port

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("service", ["worker-tools", "worker-llm"])
async def test_a_worker_on_a_namespace_that_does_not_exist_exits_non_zero(
    client, redis_url, service
):
    script = shutil.which(service, path=str(BIN))
    assert script is not None, f"{service} is not installed"
    metrics = free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "no-such-namespace",
        "REDIS_URL": redis_url,
        "METRICS_PORT": str(metrics),
        "WORKFLOW_TASK_QUEUE": "health-wf",
        "TOOLS_TASK_QUEUE": "health-tools",
    }
    proc = await asyncio.create_subprocess_exec(
        script, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"{service} kept running with nothing to poll")
    assert proc.returncode != 0, output.decode(errors="replace")
    assert b"no-such-namespace" in output or b"stopped" in output
