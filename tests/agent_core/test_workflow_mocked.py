"""The conversation workflow alone: every activity a mock, on the time-skipping server.

The activities are registered under the real names (``@activity.defn(name=...)``),
so the workflow runs as in production while the test decides what the model
plans and what a tool returns; the idle timer's day passes in well under a
second. No Redis, no model, no services: it belongs to ``make test-fast``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agent_core import activity_names as act
from agent_core.models import (
    AgentConfig,
    AgentStep,
    ConversationInput,
    ConversationSnapshot,
    ConversationStatus,
    PlanTurnInput,
    PublishEventsInput,
    RunToolInput,
    SendPromptInput,
    TaskQueues,
    ToolCall,
    ToolDecisionInput,
    ToolResult,
)
from agent_core.workflow import ConversationWorkflow
from tests.support.time_skipping import start_time_skipping

pytestmark = pytest.mark.fast

S = ConversationStatus
DAY = 24 * 3600.0
ARGS = {"city": "Melbourne", "month": "April"}


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@dataclass
class Mocks:
    """The activities, scripted: ``steps`` are the planner's answers in turn."""

    steps: list[AgentStep]
    plans: list[PlanTurnInput] = field(default_factory=list)
    tools: list[RunToolInput] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # the events published, by tag or type

    def activities(self) -> list[object]:
        @activity.defn(name=act.LOAD_CONFIG)
        async def load_config() -> AgentConfig:
            return AgentConfig(idle_timeout_seconds=DAY, confirmation_timeout_seconds=0)

        @activity.defn(name=act.PLAN_STEP)
        async def plan_step(input: PlanTurnInput) -> AgentStep:
            self.plans.append(input)
            if not self.steps:
                raise ApplicationError("the script ran out", non_retryable=True)
            return self.steps.pop(0)

        @activity.defn(name=act.RUN_TOOL)
        async def run_tool(input: RunToolInput) -> ToolResult:
            self.tools.append(input)
            output = {"events": [{"name": "Comedy Festival", "city": input.call.args["city"]}]}
            return ToolResult(call_id=input.call.id, name=input.call.name, ok=True, output=output)

        @activity.defn(name=act.PUBLISH_EVENTS)
        async def publish_events(input: PublishEventsInput) -> None:
            self.tags += [e.tag or e.type for e in input.events]

        return [load_config, plan_step, run_tool, publish_events]


async def start(env: WorkflowEnvironment, mocks: Mocks) -> tuple[Worker, WorkflowHandle]:
    queue = f"mocked-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        env.client,
        task_queue=queue,
        workflows=[ConversationWorkflow],
        activities=mocks.activities(),  # type: ignore[arg-type]
    )
    conversation = ConversationInput(
        conversation_id=uuid.uuid4().hex[:12],
        tenant="t1",
        goal_id="travel",
        queues=TaskQueues(llm="", tools=queue),  # every activity on this one worker
    )
    handle = await env.client.start_workflow(
        ConversationWorkflow.run, conversation, id=f"conv-{conversation.conversation_id}",
        task_queue=queue,
    )  # fmt: skip
    return worker, handle


async def wait_status(handle: WorkflowHandle, status: ConversationStatus) -> ConversationSnapshot:
    """The snapshot once the workflow is at ``status`` with an agent line to show.
    The activities run in real time (only timers are skipped), so this polls."""
    for _ in range(400):
        snap: ConversationSnapshot = await handle.query(ConversationWorkflow.history)
        if snap.status == status and snap.transcript and snap.transcript[-1].role == "agent":
            return snap
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {status}: {snap.model_dump_json(indent=1)}")


async def test_a_confirmed_tool_runs_its_result_is_planned_on_and_idleness_ends_the_chat(
    time_env: WorkflowEnvironment,
) -> None:
    call = ToolCall(id="call-1", name="find_events", args=ARGS)
    mocks = Mocks(
        [
            AgentStep(next="confirm", response="I'll look for events.", tool_call=call),
            AgentStep(next="question", response="The Comedy Festival is on. Flights?"),
        ]
    )
    worker, handle = await start(time_env, mocks)
    async with worker:
        prompt = SendPromptInput(text="Events in Melbourne in April", request_id="r1")
        await handle.execute_update(ConversationWorkflow.send_prompt, prompt)
        proposed = await wait_status(handle, S.AWAITING_CONFIRMATION)
        assert proposed.pending_call == call
        await handle.execute_update(
            ConversationWorkflow.confirm_tool, ToolDecisionInput(call_id="call-1")
        )
        final: ConversationSnapshot = await handle.result()  # the idle day is skipped

    assert [m.text for m in mocks.plans[0].context.window] == ["Events in Melbourne in April"]
    assert [t.call for t in mocks.tools] == [call]
    second = mocks.plans[1].context.window
    assert second[-1].tool_result is not None and second[-1].tool_result.ok
    assert final.status == S.ENDED and final.pending_call is None
    assert [m.role for m in final.transcript] == ["user", "agent", "tool", "agent"]
    assert final.transcript[-1].text == "The Comedy Festival is on. Flights?"
    assert mocks.tags[:2] == ["RUN_STARTED", "conversation_created"]
    assert mocks.tags[-3:] == ["conversation_timed_out", "status_changed:ended", "RUN_FINISHED"]
    assert "TOOL_CALL_RESULT" in mocks.tags


async def test_a_failed_plan_is_answered_and_the_chat_goes_on(
    time_env: WorkflowEnvironment,
) -> None:
    mocks = Mocks([])  # the planner fails at once (not retryable)
    worker, handle = await start(time_env, mocks)
    async with worker:
        await handle.execute_update(ConversationWorkflow.send_prompt, SendPromptInput(text="Hi"))
        answered = await wait_status(handle, S.AWAITING_INPUT)
        await handle.terminate()
    assert len(mocks.plans) == 1
    assert answered.transcript[-1].role == "agent"
    assert "went wrong" in answered.transcript[-1].text
