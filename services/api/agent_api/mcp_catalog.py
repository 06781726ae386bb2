"""The MCP tools the gateway shows, asked of the tools worker and kept briefly.

Listing runs through Temporal (``McpCatalogWorkflow`` on the tools queue):
the gateway never connects to an MCP server nor holds its secrets. A listing
is kept ``TTL_SECONDS`` so a page of goal cards costs no round trip each; a
listing that fails is not kept, and its servers show as unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

from temporalio.client import Client

from agent_core.models import ListMcpToolsInput, McpCatalog
from agent_core.registry import GOALS
from agent_core.tool_catalog import McpCatalogWorkflow

__all__ = ["McpCatalogCache"]

log = logging.getLogger(__name__)
TTL_SECONDS = 30.0
LIST_TIMEOUT_SECONDS = 20.0


class McpCatalogCache:
    def __init__(self, temporal: Client, tools_queue: str) -> None:
        self._temporal = temporal
        self._queue = tools_queue
        self._kept: tuple[float, tuple[str, ...], McpCatalog] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> McpCatalog:
        """The tools of every server a goal names (empty when none does)."""
        servers = tuple(sorted({s for g in GOALS.values() for s in g.mcp_servers}))
        if not servers:
            return McpCatalog()
        async with self._lock:
            kept = self._kept
            if kept is not None and kept[1] == servers and time.monotonic() - kept[0] < TTL_SECONDS:
                return kept[2]
            catalog = await self._list(servers)
            if not catalog.errors:
                self._kept = (time.monotonic(), servers, catalog)
            return catalog

    async def _list(self, servers: tuple[str, ...]) -> McpCatalog:
        try:
            return await self._temporal.execute_workflow(
                McpCatalogWorkflow.run,
                ListMcpToolsInput(servers=list(servers)),
                id=f"mcp-catalog-{uuid.uuid4().hex}",
                task_queue=self._queue,
                execution_timeout=timedelta(seconds=LIST_TIMEOUT_SECONDS),
                result_type=McpCatalog,
            )
        except Exception as exc:  # any failure: show the goals without those tools
            log.warning("MCP tools could not be listed (%s)", type(exc).__name__)
            why = "the tools worker did not answer"
            return McpCatalog(errors=dict.fromkeys(servers, why))
