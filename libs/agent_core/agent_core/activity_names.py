"""The names of the activities the workflows call, in one place.

Workflows call activities by name, so the library never imports worker code
(litellm, tools) and the gateway never loads it; each worker registers its
implementations under these names with ``@activity.defn(name=...)``.
"""

from __future__ import annotations

__all__ = [
    "ARCHIVE_PAGE",
    "LIST_MCP_TOOLS",
    "LOAD_CONFIG",
    "PLAN_STEP",
    "PLAN_TURN",
    "PUBLISH_EVENTS",
    "RUN_TOOL",
    "SUMMARIZE",
    "VALIDATE_PROMPT",
]

LOAD_CONFIG = "load_config"
PLAN_STEP = "plan_step"
SUMMARIZE = "summarize"
RUN_TOOL = "run_tool"
# on the tools worker: tools/list of a goal's MCP servers
LIST_MCP_TOOLS = "list_mcp_tools"
# writes a page of older transcript lines to the object store
ARCHIVE_PAGE = "archive_transcript_page"
# a local activity of the workflow worker: writes the workflow's events to the log
PUBLISH_EVENTS = "publish_events"
# called only by the 0.1 ``AgentWorkflow``, kept until its conversations end
VALIDATE_PROMPT = "validate_prompt"
PLAN_TURN = "plan_turn"
