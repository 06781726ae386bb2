"""The conversation workflow: one per conversation, the source and the one author of it.

The run loop waits for a queued prompt, a tool decision or the end. A turn is
one model call: it plans the next step and, for a user's message, may refuse
it as off the goal. A proposed tool waits for the user's decision (unless
confirmation is off), runs, and its result goes back to the model. Inputs are
updates whose validators refuse bad input before it enters history; a
request id makes a retried update return its first answer. A turn can be
stopped, or interrupted by a newer message (the busy policy); a tool run
never is. With nothing to do, durable timers withdraw an undecided proposal
and close an idle conversation. Whether a proposal waits for the user is its
tool's approval policy (``approval``): the registry's, read with the config,
or the conversation's override. A goal's MCP tools are listed by the tools
worker (an activity, so their schemas are in history) before its first turn.
The user confirms, rejects or edits a proposal (a decision that arrives while
the model call that makes it is still in flight waits for it); an approved
``switch_goal`` (or the ``switch_goal`` update) moves the conversation to
another goal, in the workflow, for the turns after it.

Every event that records a state change is written here, in the order the
workflow decided it, as AG-UI runs: a run opens with the first event after
the agent was idle and finishes when it waits again (with an interrupt when
it waits for a confirmation). Events go to an outbox that one background
task drains through the ``publish_events`` local activity, retried until
the log has them. Activities add only what exists inside them (text deltas,
tool progress). Summaries of older turns are made in the background, off the
turn's path, and lines that neither the summary nor the model's window needs
any more are archived in pages to the object store, so the state, which
continue-as-new carries whole, stays small however long the conversation.

Deterministic by construction: no I/O, clock or randomness outside
Temporal's APIs; models and event builders come in through
``imports_passed_through``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from agent_core import activity_names as act
    from agent_core import approval
    from agent_core import events as ev
    from agent_core import turn_control as tc
    from agent_core.errors import ErrorType
    from agent_core.models import (
        AgentConfig,
        AgentStep,
        ArchivePageInput,
        BusyPolicy,
        ConversationInput,
        ConversationSnapshot,
        ConversationState,
        ConversationStatus,
        EndChatInput,
        EndChatResult,
        ListMcpToolsInput,
        McpCatalog,
        McpTool,
        Message,
        PendingDecision,
        PlanTurnInput,
        Prompt,
        PromptSource,
        PublishEventsInput,
        RunError,
        RunToolInput,
        SendPromptInput,
        SendPromptResult,
        StopTurnInput,
        StopTurnResult,
        SummarizeInput,
        SwitchGoalInput,
        SwitchGoalResult,
        ToolCall,
        ToolDecisionInput,
        ToolDecisionResult,
        ToolEditInput,
        ToolPolicy,
        ToolResult,
        TurnContext,
    )
    from agent_core.registry import GOALS, SWITCH_GOAL_TOOL

__all__ = ["ConversationWorkflow"]

MAX_QUEUED_PROMPTS = 20
UPDATES_BEFORE_ROLLOVER = 1_000
REMEMBERED_REQUESTS = 500
LLM_ATTEMPTS = 5
TOOL_ATTEMPTS = 5
_PLAN_FAILED = "Something went wrong while I was thinking. Please send your message again."
_TOOL_BROKEN = "the tool could not be run (it kept failing); it did not complete"
_ENDED_UNANSWERED = "The conversation was ended before I could answer this message."
_ONE_BATCH_PER_TASK = "one-publish-batch-per-task"  # patch: conversations before it replay
# the events queued before a model call ride in its input: histories before it replay
# the local activity that wrote them
_EVENTS_WITH_THE_CALL = "events-with-the-model-call"
_UNDECIDED = "no decision came in time"
_SUPERSEDED = "the user sent a message instead of deciding"
# a proposal made while a message waited is withdrawn when the message is taken
_SUPERSEDED_PATCH = "withdraw-superseded-proposal"
# the idle and confirmation timers: histories recorded before them wait without one
_TIMERS_PATCH = "idle-timers"
# older transcript lines archived to the object store: histories before it keep them all
_ARCHIVE_PATCH = "transcript-archive"
ARCHIVE_PAGE_SIZE = 50
# a goal's MCP tools listed by the tools worker before its turns: histories before it never list
_MCP_PATCH = "mcp-tools"
MCP_LIST_ATTEMPTS = 3
_PUBLISH_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=0,  # until the log has them: nothing the workflow decided is dropped
)


@workflow.defn
class ConversationWorkflow:
    @workflow.init
    def __init__(self, input: ConversationInput) -> None:
        self._state = input.state or ConversationState(
            conversation_id=input.conversation_id,
            tenant=input.tenant,
            goal_id=input.goal_id,
            queues=input.queues,
            busy_policy=input.busy_policy,
            tool_policies=input.tool_policies,
        )
        self._turns_this_run = 0
        self._updates_this_run = 0
        self._outbox: list[ev.ConversationEvent] = []
        self._handed: list[ev.ConversationEvent] = []  # written by the model call in flight
        self._publishing = False
        self._closing = False
        self._housekeeping: asyncio.Task[None] | None = None
        self._turn: tc.TurnInFlight | None = None
        self._idle_until: datetime | None = None
        if input.state is None:
            self._emit(
                ev.conversation_created(input.conversation_id, input.goal_id), run_id=input.run_id
            )

    @workflow.run
    async def run(self, input: ConversationInput) -> ConversationSnapshot:
        publisher = asyncio.create_task(self._publish_loop())
        state = self._state
        if state.config is None:
            state.config = await workflow.execute_activity(
                act.LOAD_CONFIG,
                result_type=AgentConfig,
                task_queue=self._llm_queue,
                start_to_close_timeout=timedelta(seconds=30),
            )
        while not state.ended:
            if not state.prompts and state.decision is None:
                self._finish_run()
            await self._wait_for_input()
            if state.ended:
                break
            if not self._has_input():
                continue  # a timer withdrew an undecided proposal
            if state.decision is not None:
                await self._apply_decision(state.decision)
            else:
                await self._converse(state.prompts.pop(0))
            self._start_housekeeping()
            if self._should_roll_over():
                await self._roll_over(publisher)
        await self._close(publisher)
        return self.history()

    # ---- updates ---------------------------------------------------------------------

    @workflow.update
    def send_prompt(self, input: SendPromptInput) -> SendPromptResult:
        state = self._state
        if input.request_id in state.answered:
            seq = state.answered[input.request_id]
            return SendPromptResult(seq=seq, queued=len(state.prompts), duplicate=True)
        self._updates_this_run += 1
        seq = self._take_seq()
        self._remember(input.request_id, seq)
        self._emit(ev.user_message(seq, input.text), run_id=input.run_id)
        if state.pending_call is not None and state.decision is None:
            self._withdraw(seq, _SUPERSEDED)
        prompt = Prompt(seq=seq, source=PromptSource.USER, text=input.text)
        if self._busy_policy(input) is BusyPolicy.INTERRUPT and self._turn is not None:
            self._turn.interrupted = True
            state.prompts.insert(0, prompt)  # the new message starts the next turn
        else:
            state.prompts.append(prompt)
        return SendPromptResult(seq=seq, queued=len(state.prompts), run_id=state.run_id)

    @send_prompt.validator
    def _check_prompt(self, input: SendPromptInput) -> None:
        if input.request_id in self._state.answered:
            return  # a retry: answered with the first result
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
        state = self._state
        if input.new_run_only and state.run_id is not None:
            raise tc.progress_refusal(
                "the agent is still answering; wait for its run to finish",
                ErrorType.RUN_IN_PROGRESS,
                state.events_written,
                run_id=state.run_id,
            )
        policy, run_id, written = self._busy_policy(input), state.run_id, state.events_written
        refusal = tc.busy_refusal(policy, self._turn, self._tool_running, run_id, written)
        if refusal is not None:
            raise refusal

    @workflow.update
    async def confirm_tool(self, input: ToolDecisionInput) -> ToolDecisionResult:
        return await self._decide_when_proposed(input, approved=True)

    @confirm_tool.validator
    def _check_confirm(self, input: ToolDecisionInput) -> None:
        self._check_decision(input)

    @workflow.update
    async def reject_tool(self, input: ToolDecisionInput) -> ToolDecisionResult:
        return await self._decide_when_proposed(input, approved=False)

    @reject_tool.validator
    def _check_reject(self, input: ToolDecisionInput) -> None:
        self._check_decision(input)

    @workflow.update
    def stop_turn(self, input: StopTurnInput) -> StopTurnResult:
        """Mark the model call in flight stopped; the run loop cancels it, voids its
        text and records the stop. A repeat gets the first answer."""
        state, turn = self._state, self._turn
        known = tc.known_stop(input, state.stops, turn, state.run_id)
        if known is not None:
            return known.model_copy(update={"duplicate": True})
        assert turn is not None
        self._updates_this_run += 1
        turn.stop = StopTurnResult(seq=turn.seq, run_id=state.run_id)
        for key in tc.stop_keys(input, turn.stop):
            tc.remember(state.stops, key, turn.stop, REMEMBERED_REQUESTS)
        return turn.stop

    @stop_turn.validator
    def _check_stop(self, input: StopTurnInput) -> None:
        state = self._state
        if tc.known_stop(input, state.stops, self._turn, state.run_id) is not None:
            return
        self._refuse_if_ended()
        if self._tool_running:
            raise ApplicationError(
                "a tool is running and is never cut off; stop once it is done",
                type=ErrorType.TOOL_RUNNING,
            )
        if self._turn is None or input.run_id not in (None, state.run_id):
            raise ApplicationError("no turn is running", type=ErrorType.NOTHING_RUNNING)

    @workflow.update
    async def edit_tool(self, input: ToolEditInput) -> ToolDecisionResult:
        """Approve the pending call with the user's arguments instead of the proposed ones."""
        return await self._decide_when_proposed(input, approved=True, edited_args=input.args)

    @edit_tool.validator
    def _check_edit(self, input: ToolEditInput) -> None:
        self._check_decision(input)
        if not self._awaiting_proposal(input.call_id):
            self._check_edited_args(input.args)

    def _check_edited_args(self, args: dict[str, Any]) -> None:
        call = self._state.pending_call
        assert call is not None  # _check_decision refuses a decision with nothing pending
        listed = self._state.mcp_tools.get(call.name)
        schema = listed.parameters if listed is not None else None
        problems = approval.edit_problems(call.name, args, schema)
        if problems:
            raise ApplicationError(
                f"the edited arguments do not fit {call.name}: " + "; ".join(problems),
                type=ErrorType.BAD_TOOL_ARGS,
            )

    @workflow.update
    def switch_goal(self, input: SwitchGoalInput) -> SwitchGoalResult:
        """Move the conversation to another goal (a proposal waiting is withdrawn);
        the agent of the new goal takes the next turn."""
        state = self._state
        if input.request_id in state.answered:
            seq = state.answered[input.request_id]
            return SwitchGoalResult(seq=seq, goal=state.goal_id, unchanged=True)
        if input.goal == state.goal_id:
            return SwitchGoalResult(seq=state.next_seq - 1, goal=input.goal, unchanged=True)
        self._updates_this_run += 1
        seq = self._take_seq()
        self._remember(input.request_id, seq)
        result = self._change_goal(seq, f"switch-{seq}", input.goal, run_id=input.run_id)
        if state.pending_call is not None and state.decision is None:
            self._withdraw(seq, "the user moved the conversation to another goal")
        self._record_result(seq, result, PromptSource.TOOL_RESULT)
        return SwitchGoalResult(seq=seq, goal=input.goal)

    @switch_goal.validator
    def _check_switch(self, input: SwitchGoalInput) -> None:
        if input.request_id in self._state.answered:
            return  # a retry: answered with the first result
        self._refuse_if_ended()
        if input.goal not in GOALS:
            raise ApplicationError(f"unknown goal {input.goal!r}", type=ErrorType.UNKNOWN_GOAL)

    @workflow.update
    def end_chat(self, input: EndChatInput) -> EndChatResult:
        """Mark the end at once (later messages get refused); the run loop writes it."""
        state = self._state
        if state.ended:
            return EndChatResult(seq=state.next_seq - 1, already_ended=True)
        self._updates_this_run += 1
        state.ended = True
        return EndChatResult(seq=self._take_seq())

    # ---- queries ---------------------------------------------------------------------

    @workflow.query
    def history(self) -> ConversationSnapshot:
        s = self._state
        return ConversationSnapshot(
            conversation_id=s.conversation_id,
            tenant=s.tenant,
            goal_id=s.goal_id,
            status=ConversationStatus.ENDED if s.ended else s.status,
            transcript=s.transcript,
            pending_call=s.pending_call if not s.ended else None,
            queued_prompts=[p for p in s.prompts if p.source is PromptSource.USER],
            summary=s.summary,
            last_seq=s.next_seq - 1,
            run_number=s.run_number,
            tool_policies=s.tool_policies,
            archived_messages=s.archived_messages,
            archive_pages=s.archive_pages,
            usage=s.usage,
        )

    # ---- waiting, and the timers ----------------------------------------------------

    async def _wait_for_input(self) -> None:
        """Wait for a prompt, a decision or the end. With nothing to do, durable timers
        (from the config in history) withdraw a proposal left undecided and, after
        the idle timeout, close the conversation: a lost user holds nothing open."""
        if self._has_input() or not workflow.patched(_TIMERS_PATCH):
            await workflow.wait_condition(self._has_input)
            return
        config, now = self._config, workflow.now()
        if self._idle_until is None:
            self._idle_until = now + timedelta(seconds=config.idle_timeout_seconds)
        idle_left = max((self._idle_until - now).total_seconds(), 1.0)
        undecided = self._state.pending_call is not None and self._state.decision is None
        decide_left = config.confirmation_timeout_seconds if undecided else 0.0
        withdraw = 0 < decide_left < idle_left
        try:
            await workflow.wait_condition(
                self._has_input, timeout=decide_left if withdraw else idle_left
            )
        except TimeoutError:
            if withdraw:
                self._withdraw_undecided()
            else:
                self._time_out()
            return
        self._idle_until = None

    def _has_input(self) -> bool:
        state = self._state
        return bool(state.prompts) or state.decision is not None or state.ended

    def _withdraw_undecided(self) -> None:
        seq = self._state.next_seq - 1
        self._withdraw(seq, _UNDECIDED)
        self._set_status(seq, ConversationStatus.AWAITING_INPUT)

    def _time_out(self) -> None:
        """Close for lack of input: the reason goes in the log before the end."""
        self._emit(ev.conversation_timed_out(self._take_seq(), self._config.idle_timeout_seconds))
        self._state.ended = True

    # ---- the turn ----------------------------------------------------------------------

    async def _converse(self, prompt: Prompt) -> None:
        """Run a turn, given up if the chat ends (the model's late answer would go to
        nobody), the user stops it or a newer message interrupts it. Tool runs
        (``_apply_decision``) are never interrupted."""
        self._turns_this_run += 1
        self._turn = turn = tc.TurnInFlight(seq=self._take_seq())
        task = asyncio.create_task(self._take_turn(prompt, turn))
        await workflow.wait_condition(lambda: task.done() or self._given_up(turn))
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._turn = None
        if turn.given_up and not self._state.ended:
            self._record_stop(turn)

    async def _take_turn(self, prompt: Prompt, turn: tc.TurnInFlight) -> None:
        seq = turn.seq
        self._state.run_stopped = False
        from_user = prompt.source is PromptSource.USER
        if from_user:
            self._state.transcript.append(Message(seq=prompt.seq, role="user", text=prompt.text))
            self._withdraw_superseded(prompt.seq)
        self._set_status(seq, ConversationStatus.THINKING)
        try:
            await self._list_mcp_tools()
            turn.call_id = f"call-{workflow.uuid4().hex}"
            step = await self._plan(seq, turn.call_id, allow_refusal=from_user)
        finally:
            if self._given_up(turn):  # close what the model call left open
                self._emit(*ev.close_messages(seq, self._attempt_messages(seq)))
        if not self._given_up(turn):
            self._take_step(seq, step)

    def _withdraw_superseded(self, seq: int) -> None:
        """A message that waited while the model made a proposal is sent instead of
        deciding it, like one sent after it. Histories before the patch kept it."""
        state = self._state
        if state.pending_call is not None and workflow.patched(_SUPERSEDED_PATCH):
            self._withdraw(seq, _SUPERSEDED)

    def _given_up(self, turn: tc.TurnInFlight) -> bool:
        return self._state.ended or turn.given_up

    def _record_stop(self, turn: tc.TurnInFlight) -> None:
        """The stopped turn's trace: a transcript line (the model sees it too) and
        the event; a turn the user stopped leaves the agent waiting for input."""
        state, by_user = self._state, turn.stop is not None
        state.transcript.append(Message(seq=turn.seq, role="agent", text=f"({turn.reason})"))
        self._emit(ev.turn_stopped(turn.seq, turn.reason, by_user))
        if by_user:
            state.run_stopped = True
            self._set_status(turn.seq, ConversationStatus.AWAITING_INPUT)

    def _take_step(self, seq: int, step: AgentStep) -> None:
        state = self._state
        proposal = step.tool_call if step.next == "confirm" else None
        state.transcript.append(
            Message(seq=seq, role="agent", text=step.response, tool_call=proposal, model=step.model)
        )
        state.usage = state.usage.plus(step.usage)
        self._announce(seq, step)
        if step.error:
            state.run_error = RunError(code=step.error, message=step.response)
        if step.next == "done" and not self._user_waiting():
            state.ended = True
        elif proposal is not None:
            self._propose(seq, proposal, step.message_id)
        else:
            self._set_status(seq, ConversationStatus.AWAITING_INPUT)

    def _announce(self, seq: int, step: AgentStep) -> None:
        """The agent's whole message; a fallback that was never streamed is sent whole.

        Text that other attempts or repairs of the call may have left open is
        closed and voided (every attempt's, when the call failed), and the
        answer's own message ended: each a no-op when already written."""
        mid = step.message_id or f"msg-{seq}-fallback"
        stale = step.stale_messages if step.message_id else self._attempt_messages(seq)
        self._emit(*ev.close_messages(seq, stale))
        if step.message_id is None:
            self._emit(*ev.whole_message(seq, mid, step.response))
        else:
            self._emit(ev.text_end(seq, mid))
        self._emit(ev.agent_message(seq, mid, step.response))

    def _propose(self, seq: int, call: ToolCall, parent: str | None) -> None:
        state = self._state
        policy = self._policy(call.name)
        confirm = policy is not ToolPolicy.AUTO
        state.pending_call = call
        self._emit(*ev.tool_call_proposed(seq, call, awaiting_confirmation=confirm, parent=parent))
        if confirm:
            self._set_status(seq, ConversationStatus.AWAITING_CONFIRMATION)
            return
        decision_seq = self._take_seq()
        state.decision = PendingDecision(seq=decision_seq, call_id=call.id, approved=True)
        self._emit(ev.decision_recorded(decision_seq, call.id, True, None, automatic=True))

    def _policy(self, name: str) -> ToolPolicy:
        """The tool's approval policy; an MCP tool's declared one is what the file says."""
        listed = self._state.mcp_tools.get(name)
        declared = listed.approval if listed is not None else ToolPolicy.ASK
        return approval.policy_of(name, self._config, self._state.tool_policies, declared)

    def _mcp_servers(self) -> tuple[str, ...]:
        goal = GOALS.get(self._state.goal_id)
        return goal.mcp_servers if goal is not None else ()

    def _offered_mcp_tools(self) -> list[McpTool]:
        """The goal's MCP tools the model may call in this conversation (not ``never``)."""
        servers = self._mcp_servers()
        return [
            t
            for t in self._state.mcp_tools.values()
            if t.server in servers and self._policy(t.name) is not ToolPolicy.NEVER
        ]

    def _withdraw(self, seq: int, why: str) -> None:
        call = self._state.pending_call
        assert call is not None
        self._state.pending_call = None
        self._emit(ev.tool_call_withdrawn(seq, call.id, why))

    async def _apply_decision(self, decision: PendingDecision) -> None:
        state = self._state
        call = state.pending_call
        state.decision = None
        state.pending_call = None
        if call is None or call.id != decision.call_id:
            return
        seq = decision.seq
        if decision.args is not None:
            call = call.model_copy(update={"args": decision.args})
        if not decision.approved:
            rejection = {"rejected": True, "reason": decision.reason}
            result = ToolResult(
                call_id=call.id,
                name=call.name,
                ok=False,
                output=rejection,
                error="rejected by the user",
            )
            self._record_result(seq, result, PromptSource.TOOL_REJECTED, reason=decision.reason)
            return
        if call.name == SWITCH_GOAL_TOOL:
            result = self._change_goal(seq, call.id, str(call.args.get("goal")))
            self._emit(ev.tool_result(seq, result))
        else:
            self._set_status(seq, ConversationStatus.RUNNING_TOOL)
            self._emit(ev.tool_started(seq, call))
            result = await self._run_tool(call, seq)
            self._emit(ev.tool_result(seq, result) if result.ok else ev.tool_failed(seq, result))
        edited = "The user edited the arguments. " if decision.args is not None else ""
        self._record_result(seq, result, PromptSource.TOOL_RESULT, edited, ran=call)

    def _record_result(
        self,
        seq: int,
        result: ToolResult,
        source: PromptSource,
        prefix: str = "",
        reason: str | None = None,
        ran: ToolCall | None = None,
    ) -> None:
        """The transcript's tool line (with the call as it ran, which an edit may have
        changed from the proposal), and the prompt that has the agent go on."""
        state = self._state
        text = prefix + _describe(result, reason)
        line = Message(seq=seq, role="tool", text=text, tool_call=ran, tool_result=result)
        state.transcript.append(line)
        if not state.ended:
            state.prompts.insert(0, Prompt(seq=seq, source=source, text=text))

    def _change_goal(
        self, seq: int, call_id: str, goal: str, run_id: str | None = None
    ) -> ToolResult:
        """Serve ``goal`` from the next turn on: its tools, its prompt, the same transcript."""
        state = self._state
        previous, state.goal_id = state.goal_id, goal
        self._emit(ev.goal_changed(seq, goal, previous), run_id=run_id)
        output = {"goal": goal, "previous": previous}
        return ToolResult(call_id=call_id, name=SWITCH_GOAL_TOOL, ok=True, output=output)

    # ---- activities ----------------------------------------------------------------------

    async def _plan(self, seq: int, call_id: str, allow_refusal: bool) -> AgentStep:
        handed = self._hand_over()
        plan_input = PlanTurnInput(
            context=self._context(seq),
            call_id=call_id,
            show_confirm=self._config.show_confirm,
            allow_refusal=allow_refusal,
            withheld_tools=approval.withheld_tools(self._config, self._state.tool_policies),
            mcp_tools=self._offered_mcp_tools(),
            events=[e.record() for e in handed],
        )
        try:
            return await workflow.execute_activity(
                act.PLAN_STEP, plan_input, result_type=AgentStep, **self._llm_options()
            )
        except ActivityError:
            return AgentStep(next="question", response=_PLAN_FAILED, error="plan_failed")
        finally:
            self._outbox[:0], self._handed = handed, []

    def _hand_over(self) -> list[ev.ConversationEvent]:
        """The queued events, for the model call to write before it asks the model: it
        is dispatched eagerly to this worker, so the task that schedules it needs no
        local activity (one less round trip before the 202 and the first token).
        While the call runs, every batch the workflow writes repeats them first, so
        nothing overtakes them; after it they are queued again, since the call wrote
        them best effort (keys make each repeat a no-op). Not while a batch is being
        written: the call could write its events before that batch's."""
        eager = self._llm_queue == workflow.info().task_queue
        patched = self._outbox and eager and workflow.patched(_EVENTS_WITH_THE_CALL)
        if not patched or self._publishing:
            return []
        self._handed, self._outbox = self._outbox, []
        return self._handed

    async def _list_mcp_tools(self) -> None:
        """List the tools of the goal's MCP servers not listed yet, on the tools
        worker (the workflow does no I/O); a server that cannot answer is listed
        again next turn, and its tools are meanwhile not offered."""
        state = self._state
        have = {t.server for t in state.mcp_tools.values()}
        missing = [s for s in self._mcp_servers() if s not in have]
        if not missing or not workflow.patched(_MCP_PATCH):
            return
        try:
            catalog = await workflow.execute_activity(
                act.LIST_MCP_TOOLS,
                ListMcpToolsInput(servers=missing),
                result_type=McpCatalog,
                task_queue=state.queues.tools,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=MCP_LIST_ATTEMPTS),
            )
        except ActivityError:
            workflow.logger.warning("MCP servers %s could not be listed", missing)
            return
        for tool in catalog.tools:
            state.mcp_tools.setdefault(tool.name, tool)
        for server, why in catalog.errors.items():
            workflow.logger.warning("MCP server %s not listed: %s", server, why)

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

    def _start_housekeeping(self) -> None:
        """Fold lines that left the window into the summary, then archive what
        neither the summary nor the window needs, in the background: the next
        turn does not wait (it sees the unsummarised lines)."""
        state, window = self._state, self._config.history_window
        if state.ended or (self._housekeeping is not None and not self._housekeeping.done()):
            return
        end = len(state.transcript) - window
        summary_due = end - state.summarized_upto >= max(2, window // 2)
        if summary_due or self._archive_due():
            self._housekeeping = asyncio.create_task(self._housekeep(end if summary_due else None))

    async def _housekeep(self, summary_end: int | None) -> None:
        if summary_end is not None:
            await self._summarize(summary_end)
        while self._archive_due():
            if not await self._archive_page():
                break

    async def _summarize(self, end: int) -> None:
        state = self._state
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

    def _archive_due(self) -> bool:
        """A page of lines is both summarised and outside any turn's window.
        Histories from before the archive existed never archive on replay."""
        archivable = min(self._state.summarized_upto, self._context_start())
        return archivable >= ARCHIVE_PAGE_SIZE and workflow.patched(_ARCHIVE_PATCH)

    async def _archive_page(self) -> bool:
        """Write the oldest page to the object store, then drop it from the state;
        on failure the lines stay (the next turn tries again)."""
        state = self._state
        page = ArchivePageInput(
            workflow_id=workflow.info().workflow_id,
            page=state.archive_pages,
            first_index=state.archived_messages,
            messages=state.transcript[:ARCHIVE_PAGE_SIZE],
        )
        try:
            await workflow.execute_activity(
                act.ARCHIVE_PAGE,
                page,  # on the worker that runs this workflow (where the archiver is)
                task_queue=workflow.info().task_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_attempts=5, maximum_interval=timedelta(seconds=10)
                ),
            )
        except ActivityError:
            workflow.logger.warning("transcript page %d not archived yet", page.page)
            return False
        del state.transcript[:ARCHIVE_PAGE_SIZE]
        state.summarized_upto -= ARCHIVE_PAGE_SIZE
        state.archived_messages += ARCHIVE_PAGE_SIZE
        state.archive_pages += 1
        return True

    def _llm_options(self) -> dict[str, object]:
        config = self._config
        return {
            "task_queue": self._llm_queue,
            "start_to_close_timeout": timedelta(seconds=config.llm_timeout_seconds * 3 + 10),
            "heartbeat_timeout": timedelta(seconds=config.heartbeat_timeout_seconds),
            "retry_policy": RetryPolicy(
                maximum_attempts=LLM_ATTEMPTS, maximum_interval=timedelta(seconds=20)
            ),
            # a call given up (the end) settles before the workflow goes on, so the
            # workflow never completes while the call's own outcome is on its way
            "cancellation_type": workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        }

    @property
    def _llm_queue(self) -> str:
        """LLM activities run on the workflow's own queue unless a queue is named:
        there the worker that runs the workflow takes them at once (eager dispatch)."""
        return self._state.queues.llm or workflow.info().task_queue

    # ---- events ----------------------------------------------------------------------

    def _emit(self, *events: ev.ConversationEvent, run_id: str | None = None) -> None:
        """Queue events for the log, inside a run (opening one, named ``run_id``
        if given, when none is open). Unconditional events are numbered."""
        state = self._state
        if state.run_id is None:
            state.run_id = run_id or f"run-{state.events_written + 1}"
            self._number(ev.run_started(state.conversation_id, state.run_id, state.next_seq - 1))
        for event in events:
            if event.after is None:
                self._number(event)
            else:
                self._outbox.append(event)

    def _number(self, event: ev.ConversationEvent) -> None:
        self._state.events_written += 1
        self._outbox.append(event.numbered(self._state.events_written))

    def _finish_run(self) -> None:
        """The agent waits: close the run, with an interrupt if it waits for a decision."""
        state = self._state
        if state.run_id is None:
            return
        seq = state.next_seq - 1
        if state.run_error is not None:
            last = ev.run_error(seq, state.run_error.code, state.run_error.message)
        else:
            waiting = state.pending_call if state.decision is None else None
            text = state.transcript[-1].text if waiting is not None else ""
            last = ev.run_finished(
                state.conversation_id, state.run_id, seq, waiting, text, state.run_stopped
            )
        state.run_error = None
        state.run_stopped = False
        self._number(last)
        state.run_id = None

    async def _publish_loop(self) -> None:
        state = self._state
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox))
            if workflow.patched(_ONE_BATCH_PER_TASK):
                # Let the rest of this workflow task run first (the run loop wakes in
                # the same pass as this loop): its events join this batch instead of
                # costing a local activity of their own.
                await workflow.wait_condition(lambda: True)
            if not self._outbox:  # the model call took them (_hand_over)
                continue
            batch, self._outbox = [*self._handed, *self._outbox], []
            self._publishing = True
            try:
                await workflow.execute_local_activity(
                    act.PUBLISH_EVENTS,
                    PublishEventsInput(
                        conversation_id=state.conversation_id,
                        events=[e.record() for e in batch],
                        final=self._closing,
                    ),
                    start_to_close_timeout=timedelta(seconds=10),
                    retry_policy=_PUBLISH_RETRY,
                )
            finally:
                self._publishing = False

    async def _drained(self, publisher: asyncio.Task[None]) -> None:
        await workflow.wait_condition(lambda: not self._outbox and not self._publishing)
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher

    # ---- ending and rolling over -------------------------------------------------------

    async def _close(self, publisher: asyncio.Task[None]) -> None:
        """The end: answer what is still queued, write the end, let handlers finish."""
        state = self._state
        if self._housekeeping is not None:  # nobody will read it; let the cancel settle
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await workflow.wait_condition(workflow.all_handlers_finished)
        seq = state.next_seq - 1
        if state.pending_call is not None:
            self._withdraw(seq, "the conversation ended")
        for prompt in [p for p in state.prompts if p.source is PromptSource.USER]:
            state.transcript.append(Message(seq=prompt.seq, role="user", text=prompt.text))
            state.transcript.append(Message(seq=prompt.seq, role="agent", text=_ENDED_UNANSWERED))
            mid = f"msg-{prompt.seq}-unanswered"
            self._emit(*ev.whole_message(prompt.seq, mid, _ENDED_UNANSWERED))
            self._emit(ev.agent_message(prompt.seq, mid, _ENDED_UNANSWERED))
        state.prompts.clear()
        state.status = ConversationStatus.ENDED
        self._emit(ev.status_changed(seq, ConversationStatus.ENDED))
        self._finish_run()
        self._closing = True
        await self._drained(publisher)

    async def _roll_over(self, publisher: asyncio.Task[None]) -> None:
        if self._housekeeping is not None:
            await self._housekeeping
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._drained(publisher)
        state = self._state
        state.run_number += 1
        workflow.continue_as_new(
            ConversationInput(
                conversation_id=state.conversation_id,
                tenant=state.tenant,
                goal_id=state.goal_id,
                queues=state.queues,
                state=state,
            )
        )

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

    # ---- state helpers -------------------------------------------------------------------

    @property
    def _config(self) -> AgentConfig:
        assert self._state.config is not None
        return self._state.config

    def _context(self, seq: int) -> TurnContext:
        """The turn's view: the summary plus every line it does not cover yet, at
        least the configured window and at most twice it."""
        s = self._state
        return TurnContext(
            conversation_id=s.conversation_id,
            goal_id=s.goal_id,
            summary=s.summary,
            window=s.transcript[self._context_start() :],
            seq=seq,
            max_attempts=LLM_ATTEMPTS,
        )

    def _context_start(self) -> int:
        s, window = self._state, self._config.history_window
        count = len(s.transcript)
        return max(min(s.summarized_upto, count - window), count - 2 * window, 0)

    def _attempt_messages(self, seq: int) -> list[str]:
        """Every text message a model call of this turn may have opened."""
        config = self._config
        return ev.attempt_messages(seq, LLM_ATTEMPTS, config.max_repairs, config.models)

    def _user_waiting(self) -> bool:
        return any(p.source is PromptSource.USER for p in self._state.prompts)

    def _take_seq(self) -> int:
        seq = self._state.next_seq
        self._state.next_seq += 1
        return seq

    def _remember(self, request_id: str | None, seq: int) -> None:
        if request_id is not None:
            tc.remember(self._state.answered, request_id, seq, REMEMBERED_REQUESTS)

    def _busy_policy(self, input: SendPromptInput) -> BusyPolicy:
        return input.busy or self._state.busy_policy

    @property
    def _tool_running(self) -> bool:
        return self._state.status is ConversationStatus.RUNNING_TOOL

    def _set_status(self, seq: int, status: ConversationStatus) -> None:
        state = self._state
        if state.ended or state.status == status:
            return
        state.status = status
        self._emit(ev.status_changed(seq, status))

    def _refuse_if_ended(self) -> None:
        if self._state.ended:
            raise ApplicationError("the conversation has ended", type=ErrorType.CHAT_ENDED)

    def _check_decision(self, input: ToolDecisionInput) -> None:
        self._refuse_if_ended()
        if self._awaiting_proposal(input.call_id):
            return  # the handler waits for the proposal (see _decide_when_proposed)
        state = self._state
        if state.pending_call is None or state.decision is not None:
            raise ApplicationError(
                "no tool call is waiting for confirmation", type=ErrorType.NOTHING_PENDING
            )
        if state.pending_call.id != input.call_id:
            raise ApplicationError(
                f"tool call {input.call_id!r} is not the one waiting",
                type=ErrorType.NOTHING_PENDING,
            )

    def _awaiting_proposal(self, call_id: str) -> bool:
        """The model call in flight will name its proposal ``call_id``, not made yet."""
        turn, pending = self._turn, self._state.pending_call
        return (
            turn is not None
            and turn.call_id == call_id
            and (pending is None or pending.id != call_id)
        )

    async def _decide_when_proposed(
        self,
        input: ToolDecisionInput,
        approved: bool,
        edited_args: dict[str, Any] | None = None,
    ) -> ToolDecisionResult:
        """Decide the proposal, first waiting for it if the model call in flight is
        making it. A client can see a proposal before the workflow has it: the
        publish ran in a workflow task whose worker died before completing it, and
        the retried task delivers the decision before the model's answer. Once the
        turn is over, the decision is checked as the validator checks it."""
        if self._awaiting_proposal(input.call_id):
            await workflow.wait_condition(lambda: not self._awaiting_proposal(input.call_id))
            self._check_decision(input)
            if edited_args is not None:
                self._check_edited_args(edited_args)
        return self._decide(input, approved, edited_args)

    def _decide(
        self,
        input: ToolDecisionInput,
        approved: bool,
        edited_args: dict[str, Any] | None = None,
    ) -> ToolDecisionResult:
        state = self._state
        self._updates_this_run += 1
        seq = self._take_seq()
        state.decision = PendingDecision(
            seq=seq, call_id=input.call_id, approved=approved, reason=input.reason, args=edited_args
        )
        decided = ev.decision_recorded(
            seq, input.call_id, approved, input.reason, edited_args=edited_args
        )
        self._emit(decided, run_id=input.run_id)
        if approved and input.always and state.pending_call is not None:
            name = state.pending_call.name
            state.tool_policies[name] = ToolPolicy.AUTO
            self._emit(ev.tool_policy_changed(seq, name, ToolPolicy.AUTO))
        return ToolDecisionResult(seq=seq, call_id=input.call_id, approved=approved)


def _describe(result: ToolResult, reason: str | None) -> str:
    if result.name == SWITCH_GOAL_TOOL and result.ok and result.output:
        moved = result.output
        return f"The conversation moved from goal {moved['previous']} to {moved['goal']}."
    if result.output and result.output.get("rejected"):
        return f"The user rejected {result.name}" + (f": {reason}" if reason else ".")
    if result.ok:
        return f"{result.name} completed."
    return f"{result.name} failed: {result.error}"
