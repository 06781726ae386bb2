"""MCP tool servers on the tools worker: one long-lived connection per server,
their tools listed and called through the official ``mcp`` SDK."""

from __future__ import annotations

from worker_tools.mcp.activity import McpActivities
from worker_tools.mcp.pool import McpPool

__all__ = ["McpActivities", "McpPool"]
