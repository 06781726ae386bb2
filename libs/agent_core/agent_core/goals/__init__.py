"""Goal declarations, one module per goal; the registry collects them here.

``goal_choice`` comes first: the starter goal that lists the others."""

from __future__ import annotations

from agent_core.goals import goal_choice, hr_time_off, order_tracking, travel

_TASKS = (travel.GOAL, hr_time_off.GOAL, order_tracking.GOAL)
ALL_GOALS = (goal_choice.goal(_TASKS), *_TASKS)
ALL_TOOLS = (*travel.TOOLS, *hr_time_off.TOOLS, *order_tracking.TOOLS)

__all__ = ["ALL_GOALS", "ALL_TOOLS"]
