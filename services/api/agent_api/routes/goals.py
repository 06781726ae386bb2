"""The goals an agent can be started with."""

from __future__ import annotations

from fastapi import APIRouter

from agent_api.deps import CurrentTenant
from agent_api.errors import error_responses
from agent_api.schemas import GoalList, GoalPublic
from agent_core.registry import GOALS, goal_tools

router = APIRouter(prefix="/v1/goals", tags=["goals"])


@router.get("", responses=error_responses(401, 429))
async def list_goals(_: CurrentTenant) -> GoalList:
    return GoalList(
        goals=[
            GoalPublic(
                id=g.id,
                title=g.title,
                description=g.description,
                category=g.category,
                starter_prompt=g.starter_prompt,
                tools=[
                    {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                        "approval": t.approval.value,
                    }
                    for t in goal_tools(g.id)
                ],
            )
            for g in GOALS.values()
        ]
    )
