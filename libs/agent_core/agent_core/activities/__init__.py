"""Activity classes: their clients come in through the constructor."""

from agent_core.activities.llm import LLMActivities
from agent_core.activities.tools import ToolActivities

__all__ = ["LLMActivities", "ToolActivities"]
