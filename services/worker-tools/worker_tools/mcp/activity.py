"""The activity that lists a goal's MCP tools for the workflow.

The workflow does no I/O, so it asks the tools worker, which holds the
servers' connections and secrets; the answer (names, schemas, policies) is
recorded in history and becomes the model's tool definitions.
"""

from __future__ import annotations

from temporalio import activity

from agent_core import activity_names as act
from agent_core.models import ListMcpToolsInput, McpCatalog
from worker_tools.mcp.pool import McpPool

__all__ = ["McpActivities"]


class McpActivities:
    def __init__(self, pool: McpPool) -> None:
        self._pool = pool

    @activity.defn(name=act.LIST_MCP_TOOLS)
    async def list_mcp_tools(self, input: ListMcpToolsInput) -> McpCatalog:
        """Every tool of the named servers; one that cannot answer is named in
        ``errors`` (the workflow lists it again on a later turn)."""
        return await self._pool.catalog(input.servers)
