"""Goal declarations, one module per goal; the registry collects them here."""

from __future__ import annotations

from agent_core.goals import hr_time_off, order_tracking, travel

ALL_GOALS = (travel.GOAL, hr_time_off.GOAL, order_tracking.GOAL)
ALL_TOOLS = (*travel.TOOLS, *hr_time_off.TOOLS, *order_tracking.TOOLS)

__all__ = ["ALL_GOALS", "ALL_TOOLS"]
