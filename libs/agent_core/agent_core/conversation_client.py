"""Drive conversations from outside: start, prompt, decide, end, read, list.

The one place that knows how a conversation maps to a workflow (id, task
queue, search attribute, update names). The gateway, the tests and the
benchmarks all go through it, so none of them calls an update by string.

Requests are idempotent: a request id becomes the Temporal update id (and
the workflow remembers it across continue-as-new), a conversation id the
workflow id, so a retry after a timeout or a cut connection gets the first
answer and never applies twice. A 0.1 ``AgentWorkflow`` takes the same
updates and queries by name, so it is driven through the same handle.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from agent_core.conversation_ids import TENANT_SEARCH_ATTRIBUTE, workflow_id
from agent_core.models import (
    BusyPolicy,
    ConversationInput,
    ConversationSnapshot,
    EndChatInput,
    EndChatResult,
    SendPromptInput,
    SendPromptResult,
    StopTurnInput,
    StopTurnResult,
    SwitchGoalInput,
    SwitchGoalResult,
    TaskQueues,
    ToolDecisionInput,
    ToolDecisionResult,
    ToolEditInput,
    ToolPolicy,
)
from agent_core.workflow import ConversationWorkflow

__all__ = ["TENANT_KEY", "ConversationClient", "ConversationSummary"]

TENANT_KEY = SearchAttributeKey.for_keyword(TENANT_SEARCH_ATTRIBUTE)


@dataclass(frozen=True)
class ConversationSummary:
    conversation_id: str
    goal_id: str | None
    running: bool
    started_at: datetime | None


class ConversationClient:
    def __init__(self, client: Client, workflow_queue: str, queues: TaskQueues) -> None:
        self._client = client
        self._workflow_queue = workflow_queue
        self._queues = queues

    def handle(
        self, tenant: str, conversation_id: str
    ) -> WorkflowHandle[ConversationWorkflow, ConversationSnapshot]:
        return self._client.get_workflow_handle_for(
            ConversationWorkflow.run, workflow_id(tenant, conversation_id)
        )

    async def start(
        self,
        tenant: str,
        conversation_id: str,
        goal_id: str,
        first_message: str | None = None,
        request_id: str | None = None,
        run_id: str | None = None,
        busy_policy: BusyPolicy = BusyPolicy.ENQUEUE,
        tool_policies: dict[str, ToolPolicy] | None = None,
    ) -> SendPromptResult | None:
        """Start the workflow; with a first message, in one call (update-with-start).

        Starting a conversation that exists (a retried create) attaches to it:
        its first message is the same update, so it is applied once.
        ``tool_policies`` override the registry's for this conversation."""
        start = {
            "id": workflow_id(tenant, conversation_id),
            "task_queue": self._workflow_queue,
            "search_attributes": TypedSearchAttributes([SearchAttributePair(TENANT_KEY, tenant)]),
            "memo": {"goal_id": goal_id},
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        }
        args = ConversationInput(
            conversation_id=conversation_id,
            tenant=tenant,
            goal_id=goal_id,
            queues=self._queues,
            run_id=run_id,
            busy_policy=busy_policy,
            tool_policies=tool_policies or {},
        )
        if first_message is None:
            await self._client.start_workflow(
                ConversationWorkflow.run,
                args,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                **start,
            )
            return None
        operation = WithStartWorkflowOperation(
            ConversationWorkflow.run,
            args,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            **start,
        )
        request_id = request_id or f"first-{conversation_id}"
        try:
            return await self._client.execute_update_with_start_workflow(
                ConversationWorkflow.send_prompt,
                SendPromptInput(text=first_message, request_id=request_id, run_id=run_id),
                start_workflow_operation=operation,
                id=_update_id("message", request_id),
            )
        except WorkflowAlreadyStartedError:
            # the SDK set the same error on the operation's handle: retrieve it there
            # too, or asyncio logs a "Future exception was never retrieved" traceback
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await operation.workflow_handle()
            raise

    async def send(
        self,
        tenant: str,
        conversation_id: str,
        text: str,
        request_id: str | None = None,
        run_id: str | None = None,
        new_run_only: bool = False,
        busy: BusyPolicy | None = None,
    ) -> SendPromptResult:
        """Send a message; ``busy`` overrides the conversation's busy policy for it."""
        prompt = SendPromptInput(
            text=text, request_id=request_id, run_id=run_id, new_run_only=new_run_only, busy=busy
        )
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.send_prompt, prompt, id=_update_id("message", request_id)
        )

    async def confirm(
        self,
        tenant: str,
        conversation_id: str,
        call_id: str,
        run_id: str | None = None,
        always: bool = False,
    ) -> ToolDecisionResult:
        """Approve the proposal ``call_id``: a retry gets the first answer (the update
        id), a reject after it is refused (the proposal is decided). ``always``:
        the tool runs without asking for the rest of the conversation."""
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.confirm_tool,
            ToolDecisionInput(call_id=call_id, run_id=run_id, always=always),
            id=_update_id("confirm", call_id),
        )

    async def edit(
        self,
        tenant: str,
        conversation_id: str,
        call_id: str,
        args: dict[str, Any],
        run_id: str | None = None,
        always: bool = False,
    ) -> ToolDecisionResult:
        """Approve the proposal ``call_id`` with ``args`` instead of the proposed ones
        (refused unless they fit the tool's schema); a retry gets the first answer."""
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.edit_tool,
            ToolEditInput(call_id=call_id, args=args, run_id=run_id, always=always),
            id=_update_id("edit", call_id),
        )

    async def switch_goal(
        self,
        tenant: str,
        conversation_id: str,
        goal: str,
        request_id: str | None = None,
        run_id: str | None = None,
    ) -> SwitchGoalResult:
        """Move the conversation to ``goal``: its agent takes the next turn."""
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.switch_goal,
            SwitchGoalInput(goal=goal, request_id=request_id, run_id=run_id),
            id=_update_id("goal", request_id),
        )

    async def reject(
        self,
        tenant: str,
        conversation_id: str,
        call_id: str,
        reason: str | None,
        run_id: str | None = None,
    ) -> ToolDecisionResult:
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.reject_tool,
            ToolDecisionInput(call_id=call_id, reason=reason, run_id=run_id),
            id=_update_id("reject", call_id),
        )

    async def stop(
        self,
        tenant: str,
        conversation_id: str,
        run_id: str | None = None,
        request_id: str | None = None,
    ) -> StopTurnResult:
        """Stop the turn in flight (of run ``run_id``, if named): a retry with the same
        request id, or naming a run already stopped, gets the first answer."""
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.stop_turn,
            StopTurnInput(run_id=run_id, request_id=request_id),
            id=_update_id("stop", request_id),
        )

    async def end(
        self, tenant: str, conversation_id: str, reason: str | None = None
    ) -> EndChatResult:
        return await self.handle(tenant, conversation_id).execute_update(
            ConversationWorkflow.end_chat, EndChatInput(reason=reason), id="end"
        )

    async def exists(self, tenant: str, conversation_id: str) -> bool:
        """Whether the workflow exists at all (running or closed) for this tenant."""
        try:
            await self.handle(tenant, conversation_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def snapshot(self, tenant: str, conversation_id: str) -> ConversationSnapshot:
        return await self.handle(tenant, conversation_id).query(ConversationWorkflow.history)

    async def list(self, tenant: str, limit: int = 100) -> AsyncIterator[ConversationSummary]:
        types = "('ConversationWorkflow', 'AgentWorkflow')"
        query = f"{TENANT_SEARCH_ATTRIBUTE} = '{_quote(tenant)}' AND WorkflowType IN {types}"
        seen: set[str] = set()
        prefix = workflow_id(tenant, "")
        async for wf in self._client.list_workflows(query, limit=limit):
            if wf.id in seen:  # older runs of a conversation that continued-as-new
                continue
            seen.add(wf.id)
            memo = await wf.memo()
            goal = memo.get("goal_id")
            yield ConversationSummary(
                conversation_id=wf.id.removeprefix(prefix),
                goal_id=goal if isinstance(goal, str) else None,
                running=wf.close_time is None,
                started_at=wf.start_time,
            )


def _update_id(kind: str, request_id: str | None) -> str | None:
    """The Temporal update id of a request: the same for every retry of it."""
    return f"{kind}-{request_id}" if request_id else None


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
