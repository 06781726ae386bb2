"""worker-tools: runs the agent's tools on ``TOOLS_TASK_QUEUE``.

Tools run apart from the model side so they scale, fail and hold their
secrets on their own. Handlers are resolved from the registry at start-up;
MCP servers (``MCP_SERVERS_FILE``) are connected on first use and kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from agent_core.events import EventSink
from agent_core.object_store import ObjectStore
from agent_core.registry import TOOLS, mcp_servers
from agent_core.settings import Settings
from agent_core.tool_catalog import McpCatalogWorkflow
from agent_core.worker_host import run_service, worker_options
from worker_tools.activities import ToolActivities
from worker_tools.ledger import ObjectLedger
from worker_tools.mcp import McpActivities, McpPool
from worker_tools.tools import load_handlers

__all__ = ["build_workers", "main"]


class _ToolsWorker(Worker):
    """Closes the MCP connections (stopping stdio servers) once the worker is down."""

    def __init__(self, *args: Any, pool: McpPool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool = pool

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            await self._pool.close()


def build_workers(
    client: Client, sink: EventSink, store: ObjectStore, settings: Settings
) -> Sequence[Worker]:
    pool = McpPool(mcp_servers, settings.secret)
    handlers = load_handlers(TOOLS.values())
    activities = ToolActivities(handlers, ObjectLedger(store), sink, pool)
    listing = McpActivities(pool)
    return [
        _ToolsWorker(
            client,
            pool=pool,
            task_queue=settings.tools_task_queue,
            activities=[activities.run_tool, listing.list_mcp_tools],
            workflows=[McpCatalogWorkflow],
            **worker_options(settings),
        )
    ]


def main() -> None:
    run_service(build_workers, "worker-tools")


if __name__ == "__main__":
    main()
