"""The 0.1 agent workflow, frozen: kept so conversations started before 0.2 finish.

New conversations run ``ConversationWorkflow`` (agent_core.workflow). This
class must replay the histories recorded under 0.1 (tests/replay): change
nothing that alters its commands. Remove it, and its ``validate_prompt`` /
``plan_turn`` activities, once no ``AgentWorkflow`` is running
(``temporal workflow list --query "WorkflowType='AgentWorkflow' AND
ExecutionStatus='Running'"``). Its events come only from its activities.


The run loop waits for a queued prompt, a tool decision or the end; it
validates user prompts against the goal, plans the next step, waits for the
user to confirm a proposed tool (unless confirmation is off), runs the tool
and feeds the result back to the agent. Inputs are updates whose validators
refuse bad input before it enters history. All state lives in one
``WorkflowState`` that continue-as-new carries whole.

Deterministic by construction: no I/O, clock or randomness here; models and
activity classes come in through ``imports_passed_through``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from agent_core import activity_names as act
    from agent_core.errors import ErrorType
    from agent_core.models import (
        AgentConfig,
        AgentStep,
        ConversationSnapshot,
        ConversationStatus,
        EndChatInput,
        EndChatResult,
        Message,
        PendingDecision,
        PlanTurnInput,
        Prompt,
        PromptSource,
        RunToolInput,
        SendPromptInput,
        SendPromptResult,
        SummarizeInput,
        ToolCall,
        ToolDecisionInput,
        ToolDecisionResult,
        ToolResult,
        TurnContext,
        ValidatePromptInput,
        ValidationResult,
        WorkflowInput,
        WorkflowState,
    )

__all__ = ["AgentWorkflow"]

# workflow.patched ids: what changed for conversations already running
PATCH_END_STOPS_TURN = "end-stops-turn"

MAX_QUEUED_PROMPTS = 20
UPDATES_BEFORE_ROLLOVER = 1_000
LLM_ATTEMPTS = 5
VALIDATION_WINDOW = 6  # lines before the prompt that the validator sees
TOOL_ATTEMPTS = 5
_PLAN_FAILED = "Something went wrong while I was thinking. Please send your message again."
_TOOL_BROKEN = "the tool could not be run (it kept failing); it did not complete"


@workflow.defn
class AgentWorkflow:
    @workflow.init
    def __init__(self, input: WorkflowInput) -> None:
        self._state = input.state or WorkflowState(
            conversation_id=input.conversation_id,
            tenant=input.tenant,
            goal_id=input.goal_id,
            queues=input.queues,
        )
        self._turns_this_run = 0
        self._updates_this_run = 0

    @workflow.run
    async def run(self, input: WorkflowInput) -> ConversationSnapshot:
        state = self._state
        if state.config is None:
            state.config = await workflow.execute_activity(
                act.LOAD_CONFIG,
                result_type=AgentConfig,
                task_queue=state.queues.llm,
                start_to_close_timeout=timedelta(seconds=30),
            )
        while not state.ended:
            await workflow.wait_condition(
                lambda: bool(state.prompts) or state.decision is not None or state.ended
            )
            if state.ended:
                break
            if state.decision is not None:
                await self._apply_decision(state.decision)
            else:
                await self._converse(state.prompts.pop(0))
            await self._refresh_summary()
            if self._should_roll_over():
                await workflow.wait_condition(workflow.all_handlers_finished)
                state.run_number += 1
                workflow.continue_as_new(
                    WorkflowInput(
                        conversation_id=state.conversation_id,
                        tenant=state.tenant,
                        goal_id=state.goal_id,
                        queues=state.queues,
                        state=state,
                    )
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.history()

    # ---- updates ---------------------------------------------------------------------

    @workflow.update
    def send_prompt(self, input: SendPromptInput) -> SendPromptResult:
        self._count_update()
        seq = self._take_seq()
        self._state.prompts.append(Prompt(seq=seq, source=PromptSource.USER, text=input.text))
        return SendPromptResult(seq=seq, queued=len(self._state.prompts))

    @send_prompt.validator
    def _check_prompt(self, input: SendPromptInput) -> None:
        self._refuse_if_ended()
        if not input.text.strip():
            raise ApplicationError("the message is empty", type=ErrorType.BAD_PROMPT)
        # Before load_config has run (the first message of update-with-start) the
        # default limit applies, so no message skips the check.
        config = self._state.config or AgentConfig()
        if len(input.text) > config.max_prompt_chars:
            raise ApplicationError(
                f"the message is over {config.max_prompt_chars} characters",
                type=ErrorType.BAD_PROMPT,
            )
        if len(self._state.prompts) >= MAX_QUEUED_PROMPTS:
            raise ApplicationError(
                "too many messages are waiting; try again shortly", type=ErrorType.QUEUE_FULL
            )

    @workflow.update
    def confirm_tool(self, input: ToolDecisionInput) -> ToolDecisionResult:
        return self._decide(input, approved=True)

    @confirm_tool.validator
    def _check_confirm(self, input: ToolDecisionInput) -> None:
        self._check_decision(input)

    @workflow.update
    def reject_tool(self, input: ToolDecisionInput) -> ToolDecisionResult:
        return self._decide(input, approved=False)

    @reject_tool.validator
    def _check_reject(self, input: ToolDecisionInput) -> None:
        self._check_decision(input)

    @workflow.update
    def end_chat(self, input: EndChatInput) -> EndChatResult:
        if self._state.ended:
            return EndChatResult(seq=self._state.next_seq - 1, already_ended=True)
        self._count_update()
        self._state.ended = True
        self._state.status = ConversationStatus.ENDED
        return EndChatResult(seq=self._take_seq())

    # ---- queries ---------------------------------------------------------------------

    @workflow.query
    def history(self) -> ConversationSnapshot:
        s = self._state
        return ConversationSnapshot(
            conversation_id=s.conversation_id,
            tenant=s.tenant,
            goal_id=s.goal_id,
            status=s.status,
            transcript=s.transcript,
            pending_call=s.pending_call if not s.ended else None,
            queued_prompts=[p for p in s.prompts if p.source is PromptSource.USER],
            summary=s.summary,
            last_seq=s.next_seq - 1,
            run_number=s.run_number,
        )

    @workflow.query
    def pending_tool_call(self) -> ToolCall | None:
        return self._state.pending_call

    @workflow.query
    def status(self) -> ConversationStatus:
        return self._state.status

    # ---- the turn ----------------------------------------------------------------------

    async def _converse(self, prompt: Prompt) -> None:
        """Run a turn, given up if the chat ends meanwhile: the model's late answer
        would go to nobody. Tool runs (``_apply_decision``) are never interrupted."""
        if not workflow.patched(PATCH_END_STOPS_TURN):
            await self._handle_prompt(prompt)
            return
        turn = asyncio.create_task(self._handle_prompt(prompt))
        await workflow.wait_condition(lambda: turn.done() or self._state.ended)
        if not turn.done():
            turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await turn

    async def _handle_prompt(self, prompt: Prompt) -> None:
        self._turns_this_run += 1
        seq = self._take_seq()
        if prompt.source is PromptSource.USER:
            self._append(Message(seq=prompt.seq, role="user", text=prompt.text))
            self._state.pending_call = None  # a new message supersedes an unconfirmed proposal
            self._set_status(ConversationStatus.THINKING)
            verdict = await self._validate(prompt, seq)
            if self._turn_abandoned():
                return
            if not verdict.valid:
                self._append(Message(seq=seq, role="agent", text=verdict.reason))
                self._set_status(ConversationStatus.AWAITING_INPUT)
                return
        self._set_status(ConversationStatus.THINKING)
        step = await self._plan(seq)
        if not self._turn_abandoned():
            self._take_step(seq, step)

    def _turn_abandoned(self) -> bool:
        """The chat ended while the turn waited: its answer would go to nobody."""
        return self._state.ended and workflow.patched(PATCH_END_STOPS_TURN)

    def _take_step(self, seq: int, step: AgentStep) -> None:
        proposal = step.tool_call if step.next == "confirm" else None
        self._append(Message(seq=seq, role="agent", text=step.response, tool_call=proposal))
        early = self._state.decision
        if early is not None and (proposal is None or early.call_id != proposal.id):
            self._state.decision = None  # decided on a proposal that did not come
        if step.next == "done":
            self._state.ended = True
            self._state.status = ConversationStatus.ENDED
        elif proposal is not None and not self._state.ended:
            self._state.pending_call = proposal
            if self._config.show_confirm:
                self._set_status(ConversationStatus.AWAITING_CONFIRMATION)
            else:
                self._state.decision = PendingDecision(
                    seq=self._take_seq(), call_id=proposal.id, approved=True
                )
        else:
            self._set_status(ConversationStatus.AWAITING_INPUT)

    async def _apply_decision(self, decision: PendingDecision) -> None:
        state = self._state
        call = state.pending_call
        state.decision = None
        state.pending_call = None
        if call is None or call.id != decision.call_id:
            return
        if decision.approved:
            self._set_status(ConversationStatus.RUNNING_TOOL)
            result = await self._run_tool(call, decision.seq)
            source = PromptSource.TOOL_RESULT
        else:
            rejection = {"rejected": True, "reason": decision.reason}
            result = ToolResult(
                call_id=call.id,
                name=call.name,
                ok=False,
                output=rejection,
                error="rejected by the user",
            )
            source = PromptSource.TOOL_REJECTED
        self._append(
            Message(
                seq=decision.seq,
                role="tool",
                text=_describe(result, decision.reason),
                tool_result=result,
            )
        )
        if not state.ended:
            state.prompts.insert(
                0, Prompt(seq=decision.seq, source=source, text=_describe(result, decision.reason))
            )

    # ---- activities ----------------------------------------------------------------------

    async def _validate(self, prompt: Prompt, seq: int) -> ValidationResult:
        try:
            return await workflow.execute_activity(
                act.VALIDATE_PROMPT,
                ValidatePromptInput(
                    context=self._context(seq, size=VALIDATION_WINDOW + 1), prompt=prompt
                ),
                result_type=ValidationResult,
                **self._llm_options(),
            )
        except ActivityError:
            return ValidationResult(valid=True)  # the planner still sees the prompt

    async def _plan(self, seq: int) -> AgentStep:
        plan_input = PlanTurnInput(
            context=self._context(seq),
            call_id=f"call-{seq}",
            show_confirm=self._config.show_confirm,
        )
        # The activity announces its proposal before it returns: a client may
        # confirm this call id while the workflow is still awaiting the result.
        self._state.proposing_call_id = plan_input.call_id
        try:
            return await workflow.execute_activity(
                act.PLAN_TURN, plan_input, result_type=AgentStep, **self._llm_options()
            )
        except ActivityError:
            return AgentStep(next="question", response=_PLAN_FAILED, error="plan_failed")
        finally:
            self._state.proposing_call_id = None

    async def _run_tool(self, call: ToolCall, seq: int) -> ToolResult:
        state = self._state
        tool_input = RunToolInput(
            conversation_id=state.conversation_id,
            workflow_id=workflow.info().workflow_id,
            seq=seq,
            call=call,
            max_attempts=TOOL_ATTEMPTS,
        )
        try:
            return await workflow.execute_activity(
                act.RUN_TOOL,
                tool_input,
                result_type=ToolResult,
                task_queue=state.queues.tools,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=self._config.heartbeat_timeout_seconds),
                retry_policy=RetryPolicy(
                    maximum_attempts=TOOL_ATTEMPTS, maximum_interval=timedelta(seconds=20)
                ),
            )
        except ActivityError:
            return ToolResult(call_id=call.id, name=call.name, ok=False, error=_TOOL_BROKEN)

    async def _refresh_summary(self) -> None:
        """Fold messages that left the window into the summary, a few at a time."""
        state, window = self._state, self._config.history_window
        unsummarized = len(state.transcript) - window - state.summarized_upto
        if state.ended or unsummarized < max(2, window // 2):
            return
        end = len(state.transcript) - window
        summary_input = SummarizeInput(
            conversation_id=state.conversation_id,
            goal_id=state.goal_id,
            previous_summary=state.summary,
            messages=state.transcript[state.summarized_upto : end],
        )
        try:
            state.summary = await workflow.execute_activity(
                act.SUMMARIZE, summary_input, result_type=str, **self._llm_options()
            )
            state.summarized_upto = end
        except ActivityError:
            workflow.logger.warning("summary not refreshed; keeping the previous one")

    def _llm_options(self) -> dict[str, object]:
        config = self._config
        return {
            "task_queue": self._state.queues.llm,
            "start_to_close_timeout": timedelta(seconds=config.llm_timeout_seconds * 3 + 10),
            "heartbeat_timeout": timedelta(seconds=config.heartbeat_timeout_seconds),
            "retry_policy": RetryPolicy(
                maximum_attempts=LLM_ATTEMPTS, maximum_interval=timedelta(seconds=20)
            ),
        }

    # ---- state helpers -------------------------------------------------------------------

    @property
    def _config(self) -> AgentConfig:
        assert self._state.config is not None
        return self._state.config

    def _context(self, seq: int, size: int | None = None) -> TurnContext:
        """The turn's view: the last ``size`` lines (default: the configured window)."""
        s = self._state
        window = s.transcript[-(size or self._config.history_window) :]
        return TurnContext(
            conversation_id=s.conversation_id,
            goal_id=s.goal_id,
            summary=s.summary,
            window=window,
            seq=seq,
            max_attempts=LLM_ATTEMPTS,
        )

    def _take_seq(self) -> int:
        seq = self._state.next_seq
        self._state.next_seq += 1
        return seq

    def _count_update(self) -> None:
        self._updates_this_run += 1

    def _append(self, message: Message) -> None:
        self._state.transcript.append(message)

    def _set_status(self, status: ConversationStatus) -> None:
        if not self._state.ended:
            self._state.status = status

    def _refuse_if_ended(self) -> None:
        if self._state.ended:
            raise ApplicationError("the conversation has ended", type=ErrorType.CHAT_ENDED)

    def _check_decision(self, input: ToolDecisionInput) -> None:
        self._refuse_if_ended()
        state = self._state
        waiting = state.pending_call.id if state.pending_call else state.proposing_call_id
        if waiting is None or state.decision is not None:
            raise ApplicationError(
                "no tool call is waiting for confirmation", type=ErrorType.NOTHING_PENDING
            )
        if waiting != input.call_id:
            raise ApplicationError(
                f"tool call {input.call_id!r} is not the one waiting",
                type=ErrorType.NOTHING_PENDING,
            )

    def _decide(self, input: ToolDecisionInput, approved: bool) -> ToolDecisionResult:
        self._count_update()
        seq = self._take_seq()
        self._state.decision = PendingDecision(
            seq=seq, call_id=input.call_id, approved=approved, reason=input.reason
        )
        return ToolDecisionResult(seq=seq, call_id=input.call_id, approved=approved)

    def _should_roll_over(self) -> bool:
        if self._state.ended:
            return False
        info = workflow.info()
        return (
            self._turns_this_run >= self._config.max_turns_per_run
            or info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._config.max_history_events
            or self._updates_this_run >= UPDATES_BEFORE_ROLLOVER
        )


def _describe(result: ToolResult, reason: str | None) -> str:
    if result.output and result.output.get("rejected"):
        return f"The user rejected {result.name}" + (f": {reason}" if reason else ".")
    if result.ok:
        return f"{result.name} completed."
    return f"{result.name} failed: {result.error}"
