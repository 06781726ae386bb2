"""A short workflow that asks the tools worker which tools MCP servers offer.

The gateway holds no MCP connection nor secret, and data flows api ->
Temporal -> workers: to show the MCP tools in ``GET /v1/goals`` it runs this
on the tools queue, where the tools worker hosts it next to the activity.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agent_core import activity_names as act
    from agent_core.models import ListMcpToolsInput, McpCatalog

__all__ = ["McpCatalogWorkflow"]


@workflow.defn
class McpCatalogWorkflow:
    @workflow.run
    async def run(self, input: ListMcpToolsInput) -> McpCatalog:
        return await workflow.execute_activity(
            act.LIST_MCP_TOOLS,
            input,
            result_type=McpCatalog,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
