"""Replay recorded histories against today's workflow code.

Each file in ``histories/`` is a real run recorded by ``record.py``. If a code
change would make a running conversation take a different path on replay
(a different activity, a timer, a missing step), the replayer raises
``NondeterminismError`` and this test fails: such a change needs
``workflow.patched()`` or a new workflow version, never a re-recording.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from agent_core.legacy_workflow import AgentWorkflow
from agent_core.registry import use_mcp
from agent_core.workflow import ConversationWorkflow
from tests.support.mcp_servers import notes_keeper_file

with workflow.unsafe.imports_passed_through():
    from agent_core.models import ConversationInput, ConversationSnapshot, Prompt, WorkflowInput

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_histories_are_checked_in() -> None:
    names = {p.stem for p in HISTORIES}
    # 0.1 AgentWorkflow conversations, still running somewhere until they end
    assert {"travel_with_confirmations", "rejection_and_tool_failure"} <= names
    assert sum(1 for n in names if n.startswith("continue_as_new_run")) >= 3
    # ConversationWorkflow (0.2)
    assert {
        "conversation_travel_with_confirmations",
        "conversation_rejection_and_failures",
        "conversation_stop_and_interrupt",  # stop_turn and a busy_policy interrupt
        "conversation_idle_timeouts",  # the patched-in timers
        "conversation_approval_and_goal_switch",
        "conversation_one_batch_per_task_approval_and_goal_switch",  # with both patches
        "conversation_transcript_archive_run1",  # a page archived (patch "transcript-archive")
        "conversation_transcript_archive_run2",  # the run after, carrying the recent part
        "conversation_mcp_tools",  # a goal's MCP tools listed (patch "mcp-tools") and run
        "conversation_decision_before_proposal",  # a confirm waiting for its proposal
        "conversation_message_while_proposing",  # patch "withdraw-superseded-proposal"
        # events queued before a model call written by it (patch "events-with-the-model-call")
        "conversation_events_with_the_call_travel",
        "conversation_events_with_the_call_stop_and_interrupt",
    } <= names
    assert sum(1 for n in names if n.startswith("conversation_continue_as_new_run")) >= 2


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays_deterministically(path: Path, tmp_path: Path) -> None:
    replayer = Replayer(
        workflows=[ConversationWorkflow, AgentWorkflow], data_converter=pydantic_data_converter
    )
    # a goal's MCP servers decide what the workflow does: replay with the file it ran with
    mcp = use_mcp(notes_keeper_file(tmp_path)) if "mcp" in path.stem else contextlib.nullcontext()
    with mcp:
        await replayer.replay_workflow(load(path))


@workflow.defn(name="AgentWorkflow")
class PlanFirstWorkflow(AgentWorkflow):
    """A plausible, wrong change: plan user prompts without validating them first."""

    @workflow.run
    async def run(self, input: WorkflowInput) -> ConversationSnapshot:
        return await super().run(input)

    async def _handle_prompt(self, prompt: Prompt) -> None:
        self._take_seq()
        self._take_step(prompt.seq, await self._plan(prompt.seq))


async def test_replay_fails_for_a_workflow_that_changed_its_steps() -> None:
    travel = next(p for p in HISTORIES if p.stem == "travel_with_confirmations")
    replayer = Replayer(workflows=[PlanFirstWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(workflow.NondeterminismError, match="validate_prompt"):
        await replayer.replay_workflow(load(travel))


@workflow.defn(name="ConversationWorkflow")
class SilentWorkflow(ConversationWorkflow):
    """A plausible, wrong change: leave writing the events to someone else.

    What an event says is not part of history (a local activity's input is not
    recorded), so wording may change freely; whether the workflow writes is."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    def _emit(self, *events: object, run_id: str | None = None) -> None:
        return None


async def test_replay_fails_for_a_conversation_that_stops_writing_events() -> None:
    travel = next(p for p in HISTORIES if p.stem == "conversation_travel_with_confirmations")
    replayer = Replayer(workflows=[SilentWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(travel))


@workflow.defn(name="ConversationWorkflow")
class UnguardedTimersWorkflow(ConversationWorkflow):
    """A plausible, wrong change: the idle timer without ``workflow.patched()``."""

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        return await super().run(input)

    async def _wait_for_input(self) -> None:
        try:
            await workflow.wait_condition(self._has_input, timeout=timedelta(days=3))
        except TimeoutError:
            self._time_out()


async def test_replay_fails_for_timers_added_without_a_patch() -> None:
    travel = next(p for p in HISTORIES if p.stem == "conversation_travel_with_confirmations")
    replayer = Replayer(workflows=[UnguardedTimersWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(travel))
