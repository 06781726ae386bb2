"""The two activities only the 0.1 ``AgentWorkflow`` calls, until its conversations end.

Both sit on today's one-call planning: ``validate_prompt`` lets every message
through because ``plan_turn`` now judges it in the same model call (a refusal
becomes the agent's question). Such conversations keep their answers, tools
and transcript; their live stream shows text and tool progress only. Delete
this module with ``agent_core.legacy_workflow``.
"""

from __future__ import annotations

from temporalio import activity

from agent_core import activity_names as act
from agent_core.models import AgentStep, PlanTurnInput, ValidatePromptInput, ValidationResult
from agent_core.registry import SWITCH_GOAL_TOOL
from worker_llm.activities import LLMActivities

__all__ = ["LegacyLLMActivities"]


class LegacyLLMActivities(LLMActivities):
    @activity.defn(name=act.VALIDATE_PROMPT)
    async def validate_prompt(self, input: ValidatePromptInput) -> ValidationResult:
        return ValidationResult(valid=True)

    @activity.defn(name=act.PLAN_TURN)
    async def plan_turn(self, input: PlanTurnInput) -> AgentStep:
        # a 0.1 conversation cannot switch goals: it is never offered switch_goal
        frozen = {"allow_refusal": True, "withheld_tools": [SWITCH_GOAL_TOOL]}
        step = await self.plan_step(input.model_copy(update=frozen))
        return step.model_copy(update={"next": "question"}) if step.next == "refuse" else step
