"""The goals an agent can be started with, and their tools (native and MCP)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agent_api.deps import CurrentTenant, State
from agent_api.errors import error_responses
from agent_api.schemas import GoalList, GoalPublic
from agent_core.models import McpCatalog
from agent_core.registry import GOALS, Goal, goal_tools

router = APIRouter(prefix="/v1/goals", tags=["goals"])


@router.get("", responses=error_responses(401, 429))
async def list_goals(_: CurrentTenant, state: State) -> GoalList:
    catalog = await state.mcp_catalog.get()
    return GoalList(goals=[_public(g, catalog) for g in GOALS.values()])


def _public(goal: Goal, catalog: McpCatalog) -> GoalPublic:
    """A goal card: its registry tools, then those its MCP servers listed."""
    native: list[dict[str, Any]] = [
        {
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "approval": t.approval.value,
        }
        for t in goal_tools(goal.id)
    ]
    mcp = [
        {
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "approval": t.approval.value,
            "mcp_server": t.server,
        }
        for t in catalog.tools
        if t.server in goal.mcp_servers
    ]
    return GoalPublic(
        id=goal.id,
        title=goal.title,
        description=goal.description,
        category=goal.category,
        starter_prompt=goal.starter_prompt,
        tools=[*native, *mcp],
        mcp_servers=list(goal.mcp_servers),
        unavailable_mcp_servers={
            s: why for s, why in catalog.errors.items() if s in goal.mcp_servers
        },
    )
